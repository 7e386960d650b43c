"""The speed benchmark's harness (bench.perf.linkage) end to end at a tiny scale.

No timing assertions: timings depend on the machine and its load. The checks are that every
system runs, the table has its columns, the three systems see the same candidate pairs, the rates
are rates, and the README block shows the results' table.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.perf import linkage as perf_linkage
from bench.publish import markdown_table

ROOT = Path(__file__).resolve().parent.parent
#: About 4,700 people: ~150 queries against ~3,000 register records.
SCALE = 0.003
HEADERS = ["system", "runs", "wall s (median)", "spread s (min–max)", "vs linkrisk", "cpu s"]
HEADERS += [
    "load s",
    "peak MB",
    "above input MB",
    "candidate pairs",
    "links",
    "precision",
    "recall",
]


def _block(text: str) -> str:
    m = perf_linkage.PERF_BLOCK.search(text)
    assert m is not None, "no <!-- perf:start --> ... <!-- perf:end --> block"
    return text[m.end(1) : m.start(2)]


def test_harness_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- perf:start -->\nold\n<!-- perf:end -->\n\nafter\n")
    out = tmp_path / "perf"
    args = ["--scale", str(SCALE), "--out", str(out), "--cache", str(tmp_path / "cache")]
    assert perf_linkage.main([*args, "--readme", str(readme)]) == 0

    table = pd.read_csv(out / "perf.csv")
    assert list(table["system"]) == list(perf_linkage.SYSTEMS)
    for col in (
        "wall_s",
        "cpu_s",
        "ratio",
        "peak_mb",
        "candidate_pairs",
        "links",
        "precision",
        "recall",
    ):
        assert table[col].notna().all(), col
    assert table["precision"].between(0, 1).all() and table["recall"].between(0, 1).all()
    assert (table["wall_s"] > 0).all() and (table["peak_mb"] > 0).all()
    assert table.loc[table["system"] == "linkrisk", "ratio"].item() == pytest.approx(1.0)
    assert (table["runs"] == 1).all() and (table["wall_min_s"] == table["wall_max_s"]).all()
    # The same blocking passes in every system propose the same pairs.
    assert table["candidate_pairs"].nunique() == 1 and table["candidate_pairs"].iloc[0] > 0
    assert (table["links"] > 0).all()

    md = (out / "perf.md").read_text(encoding="utf-8")
    lines = markdown_table(out / "perf.md").splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == HEADERS
    assert [line.split("|")[1].strip() for line in lines[2:]] == list(perf_linkage.SYSTEMS)
    assert "logical CPUs" in md and "load average" in md
    meta = json.loads((out / "perf.json").read_text(encoding="utf-8"))
    assert meta["workload"]["scale"] == SCALE and len(meta["systems"]) == 4
    assert meta["blocking"] == [perf_linkage.pass_label(p) for p in perf_linkage.BLOCKING]

    text = readme.read_text(encoding="utf-8")
    assert _block(text) == markdown_table(out / "perf.md")
    assert text.endswith("<!-- perf:end -->\n\nafter\n")
    assert markdown_table(out / "perf.md") in capsys.readouterr().out  # printed at the end


def test_workload_is_cached_and_deterministic(tmp_path: Path) -> None:
    a = perf_linkage.prepare_workload(0.001, tmp_path / "a")
    b = perf_linkage.prepare_workload(0.001, tmp_path / "b")
    assert a.name == b.name
    for name in ("query.parquet", "register.parquet", "truth.parquet", "workload.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    stamp = (a / "query.parquet").stat().st_mtime_ns
    assert perf_linkage.prepare_workload(0.001, tmp_path / "a") == a  # reused, not rewritten
    assert (a / "query.parquet").stat().st_mtime_ns == stamp
    query = pd.read_parquet(a / "query.parquet")
    assert list(query.columns) == list(perf_linkage.FIELDS)
    names = query["last_name"].dropna()
    assert names.str.fullmatch(r"[A-Z0-9# ]+").all()  # normalized: no accents, hyphens, case


def test_score_links() -> None:
    truth = pd.DataFrame({"query_row": [0, 1, 2, 3], "register_row": [5, 6, 7, 8]})
    links = pd.DataFrame({"query_row": [0, 1, 4], "register_row": [5, 9, 1]})
    got = perf_linkage.score_links(links, truth, n_register=10)
    assert got == {"links": 3, "true_positives": 1, "precision": 1 / 3, "recall": 1 / 4}
    none = perf_linkage.score_links(links.iloc[:0], truth, n_register=10)
    assert none["links"] == 0 and np.isnan(none["precision"]) and none["recall"] == 0


def test_measure_runs_every_system_repeatedly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each system runs ``repeat`` times in interleaved rounds; the median and spread are shown."""
    workload = tmp_path / "w"
    workload.mkdir()
    (workload / "workload.json").write_text(json.dumps({"register_records": 10}))
    truth = pd.DataFrame({"query_row": [0, 1], "register_row": [5, 6]})
    truth.to_parquet(workload / "truth.parquet")
    calls: list[str] = []
    walls = {"linkrisk": iter([3.0, 1.0, 2.0]), "splink": iter([10.0, 30.0, 20.0])}

    def child(system: str, workload: Path, out: Path) -> dict:
        calls.append(system)
        links = pd.DataFrame({"query_row": [0, 1], "register_row": [5, 7]})
        wall = next(walls[system])
        return {"wall_s": wall, "cpu_s": wall, "load_s": 0.1, "peak_mb": 100.0,
                "rss_loaded_mb": 50.0, "candidate_pairs": 4, "links": links}  # fmt: skip

    monkeypatch.setattr(perf_linkage, "_child", child)
    table = perf_linkage.measure(["linkrisk", "splink"], workload, repeat=3, log=lambda s: None)
    assert calls == ["linkrisk", "splink"] * 3  # interleaved rounds
    row = table.set_index("system")
    assert row.loc["linkrisk", "wall_s"] == 2.0 and row.loc["splink", "wall_s"] == 20.0
    assert (row.loc["splink", "wall_min_s"], row.loc["splink", "wall_max_s"]) == (10.0, 30.0)
    assert row.loc["splink", "ratio"] == pytest.approx(10.0)
    assert row.loc["linkrisk", "precision"] == 0.5 and row["same_links"].all()
    assert (row["failed"] == "").all()


def test_failure_names_the_worse_rate() -> None:
    assert perf_linkage.failure(0.86, 0.95) == ""
    assert perf_linkage.failure(0.0246, 0.0609) == "failed: precision 0.025"
    assert perf_linkage.failure(0.9, 0.3) == "failed: recall 0.3"
    assert perf_linkage.failure(0.0035, 0.008) == "failed: precision 0.0035"
    assert perf_linkage.failure(float("nan"), 0.0) == "failed: no precision (no link declared)"


def test_failed_system_shows_no_ratio() -> None:
    table = pd.DataFrame(
        {
            "system": ["linkrisk", "recordlinkage"],
            "runs": [3, 3],
            "wall_s": [1.0, 100.0],
            "wall_min_s": [0.9, 90.0],
            "wall_max_s": [1.2, 110.0],
            "ratio": [1.0, 100.0],
            "failed": ["", "failed: precision 0.03"],
            "cpu_s": [1.5, 120.0],
            "load_s": [0.5, 0.5],
            "peak_mb": [900.0, 2500.0],
            "above_input_mb": [400.0, 2000.0],
            "candidate_pairs": [7, 7],
            "links": [4, 9],
            "precision": [0.86, 0.03],
            "recall": [0.95, 0.06],
        }
    )
    md = perf_linkage.markdown(table)
    assert "| failed: precision 0.03 |" in md.replace("  ", " ").replace("  ", " ")
    assert "faster" not in md and "0.90–1.20" in md


def test_readme_perf_block_matches_results() -> None:
    """The README's table is results/perf/perf.md's, once that has been measured."""
    perf_md = ROOT / perf_linkage.OUT_DIR / "perf.md"
    block = _block((ROOT / "README.md").read_text(encoding="utf-8"))
    if not perf_md.exists() or not re.search(r"^\|", block, re.M):
        pytest.skip("speed benchmark not published yet (python3 dev.py perf --readme)")
    assert block == markdown_table(perf_md), "stale: rerun python3 dev.py perf --readme"


def test_stage_clock_own_times_sum_to_the_total() -> None:
    from bench.linkage.stages import OTHER, profiling, stage

    with stage("outside"):  # no clock: records nothing, costs nothing
        pass
    with profiling() as clock:
        with stage("a"):
            time.sleep(0.02)
            with stage("b"):
                time.sleep(0.03)
            with stage("a"):  # the same name nested in itself: one path
                pass
        with stage("b"):
            pass
    table = {name: (wall, calls) for name, wall, _, calls in clock.table()}
    assert list(table) == ["a / b", "a", "b", OTHER]
    assert table["a / b"][0] >= 0.03 and 0.02 <= table["a"][0] < 0.03 + 0.02
    assert table["a"][1] == 2 and table["b"][1] == 1
    assert sum(w for w, _ in table.values()) == pytest.approx(clock.total_wall)


def test_profile_has_every_stage_and_sums_to_the_total(tmp_path: Path) -> None:
    workload = perf_linkage.prepare_workload(SCALE, tmp_path / "cache")
    perf_linkage.run_child("linkrisk", workload, tmp_path, profile=True)
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    prof = result["profile"]
    walls = {s["stage"]: s["wall_s"] for s in prof["stages"]}
    leaves = {name.rpartition(" / ")[2] for name in walls}
    stages = ["load", "field coding", "blocking", "comparisons", "u estimation", "EM training"]
    assert {*stages, "scoring", "resolution", "other"} <= leaves
    for key in ("wall_s", "cpu_s"):
        own = [s[key] for s in prof["stages"]]
        assert sum(own) == pytest.approx(prof["total"][key])
        # the named stages hold nearly all of it (other: setting up the task and the method)
        assert sum(own[:-1]) >= 0.8 * prof["total"][key]
    assert prof["total"]["wall_s"] >= result["wall_s"]  # load + linkage
    assert [p["part"] for p in prof["floor"]][-1] == "floor"
    assert 0 < prof["floor"][-1]["wall_s"] < prof["total"]["wall_s"]
    assert "u estimation / comparisons" in perf_linkage.profile_text(result)


def test_linkrisk_processes_ask_numpy_for_small_pages() -> None:
    # The switch is private to numpy: if a numpy renames it, small_pages() would silently do
    # nothing and linkrisk's runs would slow down by seconds (bench.pages): this test says so.
    import subprocess
    import sys

    code = (
        "import numpy as np; from bench.pages import small_pages; small_pages(); "
        "core = getattr(np, '_core', None) or np.core; "  # numpy 2 / numpy 1
        "print(core.multiarray._set_madvise_hugepage(False))"  # the state it had: off
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
