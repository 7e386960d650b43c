"""Big-file scenarios (shard_size): shards, categoricals and DuckDB joins give the same results
as the in-memory path."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthetic.population as P
from bench.bigfiles import NO_TRAINING, ShardSide, load_task
from bench.linkage.config import parse_benchmark
from bench.linkage.fields import PreparedTask, read_records
from bench.runner import run
from synthetic.errors import ConfigError
from synthetic.scenario import RECORD_FIELDS
from synthetic.shards import write_sharded_task
from tests.conftest import TINY

DEFAULTS = Path(__file__).parents[1] / "bench" / "defaults.toml"


def _scenario(shard_size: int | None) -> dict:
    data = tomllib.loads(TINY)
    defaults = tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))
    data["blocking"] = defaults["blocking"]
    # A big-file run builds no training task: every default method but the supervised one.
    data["methods"] = [m for m in defaults["methods"] if m["kind"] != "logistic"]
    if shard_size is not None:
        data["scenario"]["shard_size"] = shard_size
    return data


def _quiet(out_dir: Path) -> dict:
    return {"out_dir": out_dir, "progress": False, "html": False}


def test_sharded_run_equals_in_memory_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(P, "BLOCK_SIZE", 2500)  # the 6,000-person scenario spans 3 blocks
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the working shards go
    # No report.html: its figures are drawn from the files compared below, and took a third of
    # the test's time.
    memory = run(parse_benchmark(_scenario(None), "tiny"), **_quiet(tmp_path / "a"))
    sharded = run(parse_benchmark(_scenario(700), "tiny"), **_quiet(tmp_path / "b"))
    pd.testing.assert_frame_equal(memory.metrics, sharded.metrics)
    files = ["metrics.csv", "causes.csv", "missed_causes.csv", "subgroups.csv", "sweeps.csv"]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []
    # attribution's inputs, read from the shards (ShardSide) rather than held in memory
    info = [json.loads((tmp_path / d / "raw" / "run.json").read_text()) for d in "ab"]
    assert info[0]["noise_cells"] == info[1]["noise_cells"]
    for name in ("register_people", "noise_log"):
        a, b = (pd.read_parquet(tmp_path / d / "raw" / f"{name}.parquet") for d in "ab")
        pd.testing.assert_frame_equal(a, b, check_categorical=False, check_dtype=False)
    # explanations: the register's values read from the shards (ShardSide.records)
    a, b = (pd.read_parquet(tmp_path / d / "raw" / "explanations.parquet") for d in "ab")
    assert len(a) > 0 and (a["register_value"] != "").any()
    pd.testing.assert_frame_equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "tmp"]
    assert list(scratch.iterdir()) == []  # the working shards are removed


def _plain(values: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in values]


def test_a_sharded_register_is_read_a_field_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """The linkage of a big-file run holds no register column: it reads each field from the
    shards when it codes it, and gets the codes of the register held in memory."""
    monkeypatch.setattr(P, "BLOCK_SIZE", 2500)
    cfg = parse_benchmark(_scenario(700), "tiny").scenario
    write_sharded_task(cfg, 3, tmp_path, 700, False)
    side = ShardSide(tmp_path)
    held = read_records([tmp_path / s["file"] for s in side.shards], list(RECORD_FIELDS))
    task = load_task(tmp_path)
    assert len(task.register) == len(held) > 2100 and task.register.columns.empty
    lazy = PreparedTask(task, 3, read_register=side.column)
    whole = PreparedTask(dataclasses.replace(task, register=held), 3)
    for name in ("first_name", "last_name", "dob", "tin", "street", "full_address"):
        a, b = lazy.field(name), whole.field(name)
        np.testing.assert_array_equal(a.q, b.q)
        np.testing.assert_array_equal(a.r, b.r)
        assert list(a.values) == list(b.values)
    for key in (("last_name", "soundex"), ("first_name", "initial")):
        a, b = lazy.key(*key), whole.key(*key)
        np.testing.assert_array_equal(a.r, b.r)
        assert list(a.values) == list(b.values)
    # a query-only coding needs no register column either
    assert list(lazy.query_field("zip").values) == list(whole.query_field("zip").values)
    # records in any order, with repeats, across shards
    rows = np.array([len(held) - 1, 0, 5, 701, 5, 1400])
    records = side.records(rows)
    assert len(records) == len(rows)
    for name in RECORD_FIELDS:
        assert _plain(records[name]) == _plain(held[name].iloc[rows]), name
    assert side.records(np.zeros(0, np.int64)).empty


def test_sharded_run_reports_trained_methods_as_not_run_and_refuses_replicates(
    tmp_path: Path,
) -> None:
    # A supervised method needs a second (training) population of the same size: the run
    # goes on without it, and the report says why.
    data = _scenario(700)
    data["methods"] = [m for m in data["methods"] if m["kind"] in ("rule", "fuzzy")]
    data["methods"].append({"name": "logistic", "kind": "logistic"})
    result = run(parse_benchmark(data, "tiny"), **_quiet(tmp_path / "x"))
    info = json.loads((tmp_path / "x" / "raw" / "run.json").read_text())
    assert info["not_run"] == {"logistic": NO_TRAINING}
    assert "logistic" not in info["methods"] and len(info["methods"]) == len(data["methods"]) - 1
    assert "training_seed" in info and info["training_seed"] is None
    assert "logistic" in result.metrics["method"].tolist()  # a row that says it did not run
    assert NO_TRAINING in (tmp_path / "x" / "report.md").read_text()
    # each step's peak memory, for the user (sampled where the system tells: Linux)
    if Path("/proc/self/statm").exists():
        assert result.peaks.keys() == result.timings.keys()
        assert "generating shards" in result.peaks and min(result.peaks.values()) > 10
    with pytest.raises(ConfigError, match="one replicate"):
        run(parse_benchmark(_scenario(700), "tiny"), out_dir=tmp_path / "y", replicates=2)
    assert not (tmp_path / "y").exists()


def test_generation_in_a_child_process_gives_the_same_run(tmp_path: Path, monkeypatch) -> None:
    """A big population is generated in a child process (bench.bigfiles.generate), and its
    report made in another: the same run, whatever the working directory holds, and a
    user-input error from the child still comes back as raised."""
    import bench.apart as A
    import bench.bigfiles as B

    data = _scenario(700)
    data["methods"] = [m for m in data["methods"] if m["kind"] in ("rule", "fellegi-sunter")]
    here = run(parse_benchmark(data, "tiny"), **_quiet(tmp_path / "here"))
    monkeypatch.setattr(B, "APART_MIN_PEOPLE", 0)  # the tiny scenario, generated apart
    # run from a folder holding a package named bench: the child still imports linkrisk's
    (tmp_path / "cwd" / "bench").mkdir(parents=True)
    (tmp_path / "cwd" / "bench" / "__init__.py").write_text("raise SystemExit('not ours')\n")
    monkeypatch.chdir(tmp_path / "cwd")
    started = []
    real_run = subprocess.run
    monkeypatch.setattr(A.subprocess, "run", lambda *a, **k: started.append(a) or real_run(*a, **k))
    apart = run(parse_benchmark(data, "tiny"), **_quiet(tmp_path / "apart"))
    assert len(started) == 2  # one child did the generating, another the report
    pd.testing.assert_frame_equal(here.metrics, apart.metrics)
    files = ["metrics.csv", "causes.csv", "subgroups.csv", "sweeps.csv", "manifest.json"]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "here", tmp_path / "apart", files, False)
    assert mismatch == [] and errors == []
    data["query"]["size"] = 5_900  # more adults outside the register than there are: refused
    with pytest.raises(ConfigError, match=r"^query\.size: needs"):
        run(parse_benchmark(data, "tiny"), **_quiet(tmp_path / "refused"))
    assert len(started) == 3 and not (tmp_path / "refused").exists()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_memory_watch_counts_child_processes() -> None:
    """Generation's child process counts in a step's peak memory."""
    from bench.tasks import MemoryWatch

    watch = MemoryWatch.start()
    assert watch is not None
    try:
        before = watch._resident()
        code = "import sys; b = bytearray(300 * 2**20); print(flush=True); sys.stdin.read()"
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert child.stdout is not None and child.stdin is not None
        child.stdout.readline()  # the child holds its 300 MB now
        grown = (watch._resident() - before) / 2**20
        child.stdin.close()
        child.wait()
    finally:
        watch.stop()
    assert grown > 250, grown


#: Runs a big-file scenario (JSON in argv[1]) in blocks of 25,000 people into argv[2], without
#: report.html (a fixed cost), and prints the process's peak resident memory (VmHWM, as
#: bench.perf measures it) in MB.
_PEAK_SCRIPT = """
import json, sys
from pathlib import Path
import synthetic.population as P
P.BLOCK_SIZE = 25_000
from bench.bigfiles import NO_TRAINING
from bench.linkage.config import parse_benchmark
from bench.runner import run
bench = parse_benchmark(json.loads(sys.argv[1]), "memory")
run(bench, out_dir=Path(sys.argv[2]), progress=False, html=False)
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024)
"""


#: Two populations 4x apart: registers of about 8,000 and 32,000 records.
PEOPLE = (12_500, 50_000)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_streaming_peak_memory_does_not_grow_with_the_register(tmp_path: Path) -> None:
    # Registers of ~8,000 and ~32,000 records against the same 300 queries, each run in a
    # fresh process. At these sizes the fixed part (interpreter, libraries, the query side)
    # is most of the peak, so this catches what grows fast with the register (a table of a
    # row per register record in the report, the register's people held in memory), not the
    # linkage's few bytes per record (see the README's Big files section for real sizes).
    peaks = []
    for people in PEOPLE:
        data = _scenario(shard_size=10_000)
        # Splink's import and start-up are a fixed cost, not the register's: left out for time
        data["methods"] = [m for m in data["methods"] if m["kind"] != "splink"]
        data["population"]["size"] = people
        data["population"]["people_per_zip"] = 2_000
        cmd = [sys.executable, "-c", _PEAK_SCRIPT, json.dumps(data), str(tmp_path / str(people))]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
        peaks.append(float(out.stdout.split()[-1]))
    registers = [json.loads((tmp_path / str(p) / "raw" / "run.json").read_text()) for p in PEOPLE]
    assert registers[1]["register_records"] >= 3.8 * registers[0]["register_records"]
    assert peaks[1] <= 1.3 * peaks[0], f"peak memory {peaks[0]:.0f} MB -> {peaks[1]:.0f} MB"


@pytest.mark.parametrize("shard_size", [None, 700], ids=["numpy", "duckdb"])
def test_a_blocking_pass_over_max_pairs_is_refused(
    tmp_path: Path, monkeypatch, shard_size: int | None
) -> None:
    """``[blocking] max_pairs`` bounds each pass, on either join engine, before any output."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = _scenario(shard_size)
    data["blocking"]["max_pairs"] = 1000
    with pytest.raises(ConfigError, match=r"blocking pass 1.*\(limit 1,000\)"):
        run(parse_benchmark(data, "tiny"), **_quiet(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    data["blocking"]["max_pairs"] = 10**8  # the default would do as well
    assert parse_benchmark(data, "tiny").max_pairs == 10**8


def test_parquet_in_parts_is_the_file_written_at_once(tmp_path: Path, monkeypatch) -> None:
    from bench.runs import writers

    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 4)
    frame = pd.DataFrame(
        {"a": np.arange(10), "s": np.linspace(0, 1, 10).astype(np.float32), "b": np.arange(10) > 4}
    )
    writers.write_parquet(frame, tmp_path / "whole.parquet")
    writers.write_parquet_parts([frame[:8], frame[8:]], tmp_path / "parts.parquet")
    assert (tmp_path / "whole.parquet").read_bytes() == (tmp_path / "parts.parquet").read_bytes()
    with pytest.raises(ValueError, match="no part"):
        writers.write_parquet_parts([], tmp_path / "none.parquet")


def test_a_run_writes_each_methods_pairs_in_parts_as_at_once(tmp_path: Path, monkeypatch) -> None:
    """A method's pairs are written a part at a time (memory at the real size): the same files."""
    from bench import tasks
    from bench.runs import writers

    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 64)  # several row groups, several parts
    data = _scenario(None)
    data["methods"] = [m for m in data["methods"] if m["kind"] in ("rule", "fuzzy", "ecm")]
    bench = parse_benchmark(data, "tiny")
    run(bench, **_quiet(tmp_path / "a"))
    monkeypatch.setattr(tasks, "PAIR_PART_ROWS", 128)
    run(bench, **_quiet(tmp_path / "b"))
    names = sorted(p.name for p in (tmp_path / "a" / "raw").glob("*.parquet"))
    pairs = pd.read_parquet(tmp_path / "a" / "raw" / "fuzzy-jw.parquet")
    assert len(pairs) > 3 * 128 and "fuzzy-jw.parquet" in names
    for name in names:
        a, b = (tmp_path / d / "raw" / name for d in "ab")
        assert a.read_bytes() == b.read_bytes(), name


def test_a_run_reads_shards_linkrisk_generate_wrote(tmp_path: Path, capsys) -> None:
    """`linkrisk run --shards DIR` reads a big-file scenario's shards as `linkrisk generate`
    wrote them (the same results as generating them again, DIR left as it was), and refuses
    shards of another seed or of a scenario without shards, in one line."""
    from bench.cli import main

    methods = """
[[methods]]
name = "exact-name-address"
kind = "rule"
passes = [[{ field = "first_name" }, { field = "last_name" }, { field = "zip" }]]

[[methods]]
name = "fellegi-sunter"
kind = "fellegi-sunter"
"""
    big = TINY.replace("[scenario]\n", "[scenario]\nshard_size = 700\n", 1)
    toml = tmp_path / "tiny.toml"
    toml.write_text(big + methods, encoding="utf-8")
    shards = tmp_path / "shards"
    assert main(["generate", str(toml), "--out", str(shards), "--no-progress"]) == 0
    before = sorted((p.name, p.stat().st_mtime_ns) for p in shards.rglob("*"))
    quiet = ["--no-progress", "--no-html"]
    assert main(["run", str(toml), "--out", str(tmp_path / "a"), *quiet]) == 0
    argv = ["run", str(toml), "--shards", str(shards), "--out", str(tmp_path / "b"), *quiet]
    assert main(argv) == 0
    files = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*.*"))
    assert "raw/fellegi-sunter.parquet" in files and "manifest.json" in files
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []
    assert sorted((p.name, p.stat().st_mtime_ns) for p in shards.rglob("*")) == before
    other = [
        "run",
        str(toml),
        "--seed",
        "12",
        "--shards",
        str(shards),
        "--out",
        str(tmp_path / "c"),
    ]
    capsys.readouterr()
    assert main(other) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another seed than this run's (11, not 12)" in err
    toml.write_text(TINY + methods, encoding="utf-8")
    assert main(["run", str(toml), "--shards", str(shards), "--out", str(tmp_path / "d")]) == 2
    assert "--shards: only a big-file scenario" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()
