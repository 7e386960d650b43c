"""Issue 11's classes, black box: one case or more per class of "What to build" 1-6, through the
CLI surface the code had before the fix (``bench.cli.main`` in process, files under
``tmp_path``), so that this file also runs against the code before the fix (71dd7cc), where
every case fails; tests/FAIL_BEFORE.md records how.

Two classes are proven by reference rather than rerun here (each costs a minute):
byte-identical output with numpy's CPU features disabled (tests/test_determinism.py; the fixed
precision it rests on is checked below on a tiny run) and the non-editable install
(tests/test_install.py, which runs unchanged against 71dd7cc and fails there).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "evaluate"

# A scenario small enough for a run in about 2 s, with one rule (no training).
TINY = """
[scenario]
name = "tiny"
seed = 11

[population]
size = 1500
people_per_zip = 500

[register]
coverage = 0.8

[register.noise]
typo = { rate = 0.01 }

[query]
size = 60
share_in_register = 0.5

[query.noise]
stale_address = { rate = 0.2 }
typo = { rate = 0.02 }
"""
RULE = '\n[[methods]]\nname = "exact"\nkind = "rule"\npasses = [[{ field = "name" }]]\n'

# A hand-made file pair for `evaluate` (names, date of birth, ZIP, a shared person id).
QUERY = """\
QID,FNAME,LNAME,BDATE,ZIPC,PID
q1,Anna,Zoltek,01/02/1980,10001,P1
q2,Boris,Yamada,03/04/1975,10002,P2
q3,Carla,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB,05/06/1990,10003,P3
q4,David,Wexler,07/08/1985,10004,P4
"""
REGISTER = """\
RID,FIRST,LAST,DOB,ZIP,PERSON
r1,Anna,Zoltek,01/02/1980,10001,P1
r2,Borys,Yamada,03/04/1975,10002,P2
r3,Carla,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB,05/06/1990,10003,P3
r4,David,Wexler,07/08/1985,10004,P9
"""
MAP = """\
[columns]
record_id = { query = "QID", register = "RID" }
first_name = { query = "FNAME", register = "FIRST" }
last_name = { query = "LNAME", register = "LAST" }
dob = { query = "BDATE", register = "DOB" }
zip = { query = "ZIPC", register = "ZIP" }

[truth]
column = { query = "PID", register = "PERSON" }

[dates]
format = "%m/%d/%Y"
"""
CONFIG = """\
[blocking]
passes = [[{ field = "zip" }]]

[[methods]]
name = "name-dob"
kind = "rule"
passes = [[{ field = "first_name" }, { field = "last_name" }, { field = "dob" }]]
"""


class Hung(Exception):
    """Raised by :func:`within` when its block outlives its time: a hang becomes a failure."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (raise :class:`Hung`) if the block takes longer than ``seconds``: SIGALRM also
    interrupts a blocking ``open`` of a FIFO and Python's ``re`` matching loop."""

    def alarm(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _main(argv: list[str]) -> int:
    """``main``'s exit status, whether returned or raised (argparse errors exit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _one_line(err: str) -> str:
    """The single ``linkrisk: error:`` line of ``err`` (no traceback, no staging name)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("linkrisk: error: "), err
    assert ".linkrisk-" not in err, err  # the user's path, not a staging directory's
    return lines[0]


def _snapshot(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def _pair(tmp: Path, config: str = CONFIG) -> dict[str, Path]:
    files = {"query": tmp / "q.csv", "register": tmp / "r.csv", "map": tmp / "map.toml"}
    files["config"] = tmp / "cfg.toml"
    for key, text in zip(files, (QUERY, REGISTER, MAP, config), strict=True):
        files[key].write_text(text, encoding="utf-8")
    return files


def _evaluate(files: dict[str, Path], out: Path, *extra: str) -> int:
    argv = ["evaluate", "--query", str(files["query"]), "--register", str(files["register"])]
    argv += ["--map", str(files["map"]), "--config", str(files["config"])]
    return _main([*argv, "--out", str(out), "--no-progress", *extra])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the tiny scenario (one rule); read only: copy it to edit it. (Not the
    session's shared run of tests/conftest.py: this file also runs against the code before the
    fix, and alone in about 15 s.)"""
    base = tmp_path_factory.mktemp("fresh")
    (base / "tiny.toml").write_text(TINY + RULE, encoding="utf-8")
    out = base / "run"
    assert _main(["run", str(base / "tiny.toml"), "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the tiny scenario, a user's directory and a results/ of theirs."""
    work = tmp_path / "work"
    (work / "mine").mkdir(parents=True)
    (work / "mine" / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    (work / "results").mkdir()
    (work / "results" / "notes.txt").write_text("mine too\n", encoding="utf-8")
    (work / "tiny.toml").write_text(TINY + RULE, encoding="utf-8")
    monkeypatch.chdir(work)
    return work


# --- 1. byte-identical on any machine (the rerun with CPU features off: test_determinism) ----

NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def test_1_written_floats_have_at_most_12_significant_digits(tiny_run: Path) -> None:
    # 17 digits (repr) carry a CPU kernel's last bit into a published byte; 12 absorb it
    # (synthetic/precision.py).
    for path in sorted([*tiny_run.glob("*.csv"), *tiny_run.glob("*.json")]):
        for number in NUMBER.findall(path.read_text(encoding="utf-8")):
            digits = re.split("[eE]", number)[0].lstrip("-").replace(".", "").lstrip("0")
            float32 = float(np.float32(number)) == float(number)  # stored scores: kept exact
            assert len(digits) <= 12 or float32, f"{path.name}: {number}"


# --- 3. runs with other options do not write over the default (published) directory ---------


def test_3_other_options_do_not_write_over_the_default_run(tiny_run: Path, work: Path) -> None:
    shutil.rmtree(work / "results")
    shutil.copytree(tiny_run, work / "results" / "tiny")  # as `linkrisk run tiny.toml` wrote it
    before = _snapshot(work / "results" / "tiny")
    assert _main(["run", "tiny.toml", "--seed", "12", "--no-progress"]) == 0
    assert _snapshot(work / "results" / "tiny") == before


# --- 4. outputs never destroy what linkrisk did not write ------------------------------------


@pytest.mark.parametrize("out", ["mine", "results", "."])
def test_4_out_into_a_directory_linkrisk_did_not_write_is_refused(
    out: str, work: Path, capsys: pytest.CaptureFixture
) -> None:
    before = _snapshot(work)
    code = _main(["run", "tiny.toml", "--out", out, "--no-progress"])
    assert set(_snapshot(work)) >= set(before), "files linkrisk did not write were deleted"
    assert _snapshot(work) == before
    assert code == 2
    _one_line(capsys.readouterr().err)
    assert sorted(p.name for p in work.iterdir()) == ["mine", "results", "tiny.toml"]


def test_4_failed_generate_leaves_the_earlier_output_whole(
    work: Path, capsys: pytest.CaptureFixture
) -> None:
    out = work / "data"
    assert _main(["generate", "tiny.toml", "--out", str(out), "--format", "csv"]) == 0
    before = _snapshot(out)
    # A write fails after the first file (the disk fills, the process hits its file size limit):
    # the query file (about 5 KB) fits, the register (about 80 KB) does not.
    limit = 4 * len(before["query.csv"])
    assert limit < len(before["register.csv"])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        code = _main(
            ["generate", "tiny.toml", "--out", str(out), "--format", "csv", "--seed", "12"]
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert code != 0
    assert _snapshot(out) == before  # whole: not the new seed's query file beside the old rest


# --- 5. every class fixed at its root --------------------------------------------------------


def _rehash(run: Path, rel: str) -> None:
    """Write the edited file's SHA-256 into the manifest, as a careful editor would."""
    manifest = run / "manifest.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["files"][rel] = hashlib.sha256((run / rel).read_bytes()).hexdigest()
    manifest.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _negative_truth_row(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[0, "query_row"] = -1
    return frame


EDITS = {
    "negative truth row": ("truth", _negative_truth_row, "query_row"),
    "column dropped": ("a method's pairs", lambda f: f.drop(columns=["link"]), "link"),
}
NOT_PAIRS = {"truth", "query_people", "register_people", "noise_log"}


@pytest.mark.parametrize("case", list(EDITS))
def test_5_report_refuses_an_edited_raw_file(
    case: str, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    which, edit, field = EDITS[case]
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    pairs = sorted(p.stem for p in (run / "raw").glob("*.parquet") if p.stem not in NOT_PAIRS)
    rel = f"raw/{'truth' if which == 'truth' else pairs[0]}.parquet"
    edit(pd.read_parquet(run / rel)).to_parquet(run / rel, index=False)
    _rehash(run, rel)
    before = _snapshot(tmp_path)
    assert _main(["report", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{run / rel}: {field}" in line, line
    assert _snapshot(tmp_path) == before


def test_5_backtracking_pattern_matches_in_linear_time(tmp_path: Path) -> None:
    # (A+)+$ against 'AAA...AB' takes 2^41 steps with a backtracking engine.
    config = CONFIG + (
        '\n[[methods]]\nname = "pattern"\nkind = "rule"\n'
        'passes = [[{ field = "last_name" }, '
        '{ field = "last_name", compare = "pattern", regex = "(A+)+$" }]]\n'
    )
    files = _pair(tmp_path, config)
    with within(15):
        assert _evaluate(files, tmp_path / "out") == 0
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv").set_index("method")
    assert metrics.loc["pattern", "declared"] == 1  # Yamada ends in A; the long name in B


def test_5_fifo_scenario_refused_not_hung(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    with within(15):
        code = _main(["run", str(fifo), "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert str(fifo) in _one_line(capsys.readouterr().err)
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]


def test_5_unknown_strftime_directive_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    files = _pair(tmp_path)
    files["map"].write_text(MAP.replace('"%m/%d/%Y"', '"%m/%d/%Y %Q"'), encoding="utf-8")
    assert _evaluate(files, tmp_path / "out") == 2
    line = _one_line(capsys.readouterr().err)
    assert "map.toml" in line and "dates.format" in line, line
    assert not (tmp_path / "out").exists()


def test_5_query_and_register_the_same_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    files = _pair(tmp_path)
    argv = ["evaluate", "--query", str(files["query"]), "--register", str(files["query"])]
    argv += ["--column", "record_id=QID", "--column", "first_name=FNAME"]
    argv += ["--column", "last_name=LNAME", "--truth-column", "PID", "--config"]
    argv += [str(files["config"]), "--out", str(tmp_path / "out"), "--no-progress"]
    assert _main(argv) == 2
    assert "q.csv" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_5_short_csv_row_refused_not_padded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    files = _pair(tmp_path)
    files["query"].write_text(QUERY.replace(",10004,P4", ",10004"), encoding="utf-8")
    assert _evaluate(files, tmp_path / "out") == 2
    assert "q.csv" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_5_cli_flag_has_the_scenario_keys_bound(work: Path, capsys: pytest.CaptureFixture) -> None:
    # scenario.seed is at most 2**63 - 1 (int64 in manifests and parquet metadata)
    assert _main(["describe", "tiny.toml", "--seed", str(2**63)]) == 2
    assert "--seed" in _one_line(capsys.readouterr().err)
    text = TINY.replace("seed = 11", f"seed = {2**63}")
    (work / "big.toml").write_text(text, encoding="utf-8")
    assert _main(["describe", "big.toml"]) == 2
    assert "scenario.seed" in _one_line(capsys.readouterr().err)


def test_5_project_out_on_a_file_is_one_line(work: Path, capsys: pytest.CaptureFixture) -> None:
    (work / "afile").write_text("x\n", encoding="utf-8")
    scenario = ROOT / "tests" / "data" / "projection-small.toml"
    assert _main(["project", str(scenario), "--out", "afile"]) == 2
    assert "afile" in _one_line(capsys.readouterr().err)
    assert (work / "afile").read_text(encoding="utf-8") == "x\n"


# --- 6. methods fail alone -------------------------------------------------------------------


def _example_map(tmp: Path, keep: tuple[str, ...]) -> Path:
    """The example pair's column map with only the ``keep`` fields (and its truth)."""
    lines = (EXAMPLE / "map.toml").read_text(encoding="utf-8").splitlines()
    fields = [ln for ln in lines if " = " in ln and not ln.startswith(("column", "format"))]
    drop = {ln for ln in fields if not ln.startswith(keep)}
    drop |= {ln for ln in lines if ln.startswith(("[dates]", "format"))}
    path = tmp / "map.toml"
    path.write_text("\n".join(ln for ln in lines if ln not in drop) + "\n", encoding="utf-8")
    return path


def _evaluate_example(map_file: Path, out: Path) -> int:
    argv = ["evaluate", "--query", str(EXAMPLE / "query.csv"), "--methods", "first-last-dob,splink"]
    argv += ["--register", str(EXAMPLE / "register.csv"), "--map", str(map_file)]
    return _main([*argv, "--out", str(out), "--no-progress"])


def test_6_evaluate_without_dates_of_birth_reports_every_method(tmp_path: Path) -> None:
    everything_but_dob = ("record_id", "first_name", "middle_name", "last_name", "suffix")
    keep = (*everything_but_dob, "house_number", "street", "unit", "city", "state", "zip")
    assert _evaluate_example(_example_map(tmp_path, keep), tmp_path / "out") == 0
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv").set_index("method")
    assert sorted(metrics.index) == ["first-last-dob", "splink"]
    assert all(s == "run" or s.startswith("not run: ") for s in metrics["status"])


def test_6_a_method_that_cannot_run_is_not_run_and_the_others_written(tmp_path: Path) -> None:
    # Names only: no training block of Splink's can estimate its m probabilities.
    map_file = _example_map(tmp_path, ("record_id", "first_name", "last_name"))
    out = tmp_path / "out"
    assert _evaluate_example(map_file, out) == 0
    status = pd.read_csv(out / "metrics.csv").set_index("method")["status"]
    assert status["splink"].startswith("not run: ") and status["first-last-dob"] == "run"
    assert (out / "raw" / "first-last-dob.parquet").is_file()
    assert status["splink"] in (out / "report.md").read_text(encoding="utf-8")


def test_6_nan_method_parameter_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    scenario = tmp_path / "nan.toml"
    method = '\n[[methods]]\nname = "m"\nkind = "fuzzy"\nweights = { first_name = nan }\n'
    scenario.write_text(TINY + method, encoding="utf-8")
    assert tomllib.loads(scenario.read_text(encoding="utf-8"))["methods"][0]["weights"]
    assert _main(["run", str(scenario), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "methods[0].weights.first_name" in _one_line(capsys.readouterr().err)
    assert [p.name for p in tmp_path.iterdir()] == ["nan.toml"]
