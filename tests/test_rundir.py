"""Edited run directories: ``linkrisk report`` refuses every malformed raw file with one line
``linkrisk: error: <file>: <field>: <problem>``, exit status 2, nothing written, whether or not
the editor also fixed the file's SHA-256 in ``manifest.json`` (:mod:`bench.runs.rundir`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bench.cli import main
from bench.runs.rundir import RunDir
from bench.runs.writers import write_parquet
from synthetic.errors import LinkriskError
from tests.conftest import TINY
from tests.test_hostile import _cli, _one_error_line, _snapshot

METHODS = """
[[methods]]
name = "exact"
kind = "rule"
passes = [[{ field = "name" }]]

[[methods]]
name = "jw"
kind = "fuzzy"
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of the tiny scenario: a rule, a blocked scored method, 2 replicates."""
    base = tmp_path_factory.mktemp("rundir")
    toml = base / "tiny.toml"
    toml.write_text(TINY + METHODS, encoding="utf-8")
    out = base / "run"
    assert (
        main(
            ["run", str(toml), "--out", str(out), "--replicates", "2", "--no-progress", "--no-html"]
        )
        == 0
    )
    return out


# --------------------------------------------------------------------------- edits
def _frame(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    write_parquet(edit(pd.read_parquet(path)), path)


def _set(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    frame = frame.copy()
    if value is None or isinstance(value, float):
        frame[column] = frame[column].astype("float64" if value is not None else "Int64")
    frame.loc[row, column] = value if value is not None else pd.NA
    return frame


def _json(path: Path, edit: Callable[[dict], object]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = edit(doc)
    path.write_text(json.dumps(doc if out is None else out), encoding="utf-8")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# case -> (file edited, relative to the run; the edit; fragments of the error line after the
# file's path). Each case runs twice: with the manifest as it was (the SHA-256 check refuses)
# and with the edited file's SHA-256 written into the manifest (the structure check refuses).
CASES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "truncated pairs": ("raw/jw.parquet", _truncate, ": not a readable parquet file"),
    "truncated truth of a replicate": (
        "raw/replicates/1/truth.parquet", _truncate, ": not a readable parquet file",
    ),
    "empty file": ("raw/exact.parquet", lambda p: p.write_bytes(b""), ": not a readable parquet"),
    "column dropped": (
        "raw/exact.parquet", lambda p: _frame(p, lambda f: f.drop(columns=["link"])),
        ": link: column missing",
    ),
    "negative truth row": (
        "raw/truth.parquet", lambda p: _frame(p, lambda f: _set(f, "query_row", 0, -1)),
        ": query_row: row 0: -1 is outside 0..299",
    ),
    "register row past the register": (
        "raw/jw.parquet", lambda p: _frame(p, lambda f: _set(f, "register_row", 3, 10**9)),
        ": register_row: row 3: 1000000000 is outside",
    ),
    "out-of-range row in a replicate": (
        "raw/replicates/1/exact.parquet",
        lambda p: _frame(p, lambda f: _set(f, "query_row", 1, 300)),
        ": query_row: row 1: 300 is outside 0..299",
    ),
    "text in the truth's integer column": (
        "raw/truth.parquet",
        lambda p: _frame(p, lambda f: f.assign(register_row=f["register_row"].astype(str))),
        ": register_row: expected integers, got string",
    ),
    "missing value in pairs": (
        "raw/jw.parquet", lambda p: _frame(p, lambda f: _set(f, "query_row", 0, None)),
        ": query_row: 1 missing values",
    ),
    "truth rows dropped": (
        "raw/truth.parquet", lambda p: _frame(p, lambda f: f.iloc[:-5]),
        ": 145 rows, but run.json states 150 true_links",
    ),
    "duplicate pair": (
        "raw/exact.parquet", lambda p: _frame(p, lambda f: pd.concat([f, f.iloc[:1]])),
        ": query_row+register_row: row 125: a duplicate of an earlier row",
    ),
    "link not accepted": (
        "raw/jw.parquet", lambda p: _frame(p, lambda f: _set(f, "accept", 0, False).assign(
            link=lambda g: g["link"].where(g.index != 0, True))),
        ": link: row 0: a link that was not accepted",
    ),
    "infinite score": (
        "raw/jw.parquet", lambda p: _frame(p, lambda f: _set(f, "score", 0, float("inf"))),
        ": score: row 0: inf is not a finite number",
    ),
    "noise on a register row past the register": (
        "raw/noise_log.parquet",
        lambda p: _frame(p, lambda f: _set(f, "row", int((f["side"] == "register").idxmax()),
                                           10**7)),
        ": row: row ",
    ),
    "register people past the register": (
        "raw/register_people.parquet",
        lambda p: _frame(p, lambda f: _set(f, "register_row", 0, -3)),
        ": register_row: row 0: -3 is outside",
    ),
    "query people rows dropped": (
        "raw/query_people.parquet", lambda p: _frame(p, lambda f: f.iloc[:10]),
        ": 10 rows, but run.json states 300 queries",
    ),
    "run.json not an object": ("raw/run.json", lambda p: _json(p, lambda d: [d]),
                               ": expected an object, got a list"),
    "run.json methods a string": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(methods="exact")),
        ": methods: expected a non-empty list, got text",
    ),
    "run.json zero queries": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(queries=0)),
        ": queries: 0 is below 1",
    ),
    "run.json zero register records": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(register_records=0)),
        ": register_records: 0 is below 1",
    ),
    "run.json queries as text": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(queries="300")),
        ": queries: expected an integer, got text",
    ),
    "run.json NaN": (
        "raw/run.json",
        lambda p: p.write_text(p.read_text().replace('"queries": 300', '"queries": NaN')),
        ": not valid JSON (NaN is not a JSON number)",
    ),
    "run.json method named by a path": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(methods=["../run"])),
        ": methods[0]: '../run' is not a method name",
    ),
    "run.json more replicates than stored": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(replicates=3)),
        "raw/replicates/2/run.json: missing",
    ),
    "run.json true links above queries": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(true_links=301)),
        ": true_links: 301 exceeds the 300 queries",
    ),
    "run.json engine unknown": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(engine="abacus")),
        ": engine: unknown engine 'abacus'",
    ),
    "run.json engine a list": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(engine=["duckdb"])),
        ": engine: expected text, got a list",
    ),
    "method JSON resolve unknown": (
        "raw/jw.json", lambda p: _json(p, lambda d: d.update(resolve="some")),
        ": resolve: 'some' is not one of",
    ),
    "method JSON uses_blocking text": (
        "raw/jw.json", lambda p: _json(p, lambda d: d.update(uses_blocking="yes")),
        ": uses_blocking: expected a boolean, got text",
    ),
    "method JSON of another method": (
        "raw/jw.json", lambda p: _json(p, lambda d: d.update(name="exact")),
        ": name: 'exact' is not the file's method 'jw'",
    ),
    "replicate considered pairs negative": (
        "raw/replicates/1/run.json",
        lambda p: _json(p, lambda d: d["considered_pairs"].update(jw=-1)),
        ": considered_pairs.jw: -1 is below 0",
    ),
    "replicate considered pairs a list": (
        "raw/replicates/1/run.json",
        lambda p: _json(p, lambda d: d.update(considered_pairs=[1, 2])),
        ": considered_pairs: expected an object, got a list",
    ),
    "noise counts negative": (
        "raw/run.json", lambda p: _json(p, lambda d: d["noise_cells"]["query"].update(typo=-2)),
        ": noise_cells.query.typo: -2 is below 0",
    ),
    "config.json scenario value out of range": (
        "config.json",
        lambda p: _json(p, lambda d: d["register"].update(coverage=7)),
        ": register.coverage",
    ),
    "scenario.toml not TOML": (
        "raw/scenario.toml", lambda p: p.write_text("[[[ x = =\n"), ": invalid TOML",
    ),
    "run.json parameters edited": (
        "raw/run.json",
        lambda p: _json(p, lambda d: d["parameters"].update(population=5)),
        ": parameters: differ from the scenario in config.json",
    ),
    "run.json blocking pass pairs gone": (
        "raw/run.json", lambda p: _json(p, lambda d: d.pop("blocking_pass_pairs") and None),
        ": blocking_pass_pairs: missing",
    ),
    "run.json source null": (
        "raw/run.json", lambda p: _json(p, lambda d: d.update(source=None)),
        ": source: expected text, got null",
    ),
    "method JSON params edited": (
        "raw/jw.json", lambda p: _json(p, lambda d: d["params"].update(threshold=0.1)),
        ": params: differs from the method configured in config.json",
    ),
    "population summary of another shape": (
        "raw/population.json", lambda p: _json(p, lambda d: {"counts": 3}),
        ": not a population summary linkrisk writes",
    ),
    "scenario.toml not UTF-8": (
        "raw/scenario.toml", lambda p: p.write_bytes(b"\xff\xfe"), ": not UTF-8 text",
    ),
}  # fmt: skip


def _rehash(run: Path, rel: str) -> None:
    """Write the edited file's SHA-256 into the manifest, as a careful editor would."""
    manifest = run / "manifest.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["files"][rel] = hashlib.sha256((run / rel).read_bytes()).hexdigest()
    manifest.write_text(json.dumps(doc, indent=2), encoding="utf-8")


@pytest.mark.parametrize("rehash", [False, True], ids=["manifest-as-was", "manifest-fixed"])
@pytest.mark.parametrize("case", list(CASES))
def test_report_refuses_edited_raw_files(
    case: str, rehash: bool, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rel, edit, expected = CASES[case]
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    edit(run / rel)
    if rehash:
        _rehash(run, rel)
    before = _snapshot(tmp_path)
    code, stdout, err = _cli(capsys, "report", str(run))
    line = _one_error_line(err)
    assert code == 2, line
    if rehash:  # the file named (another file where the edit says so), then field: problem
        where = f"{run}/{expected}" if expected.startswith("raw/") else f"{run / rel}{expected}"
        assert where in line, line
    else:
        assert f"{run / rel}: SHA-256 differs from manifest.json" in line, line
    assert stdout == ""
    assert _snapshot(tmp_path) == before  # nothing written, nothing left behind
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_the_cases_change_the_files_they_name(run_dir: Path, tmp_path: Path) -> None:
    """Each edit really changes its file (a case that edits nothing could not fail)."""
    for i, (rel, edit, _) in enumerate(CASES.values()):
        run = tmp_path / str(i)
        shutil.copytree(run_dir, run)
        before = (run / rel).read_bytes()
        edit(run / rel)
        assert (run / rel).read_bytes() != before, rel


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("a raw file the manifest does not list", "raw/extra.parquet: not listed in manifest"),
        ("a manifest path outside the run", "files.raw/../../x: not a path inside the run"),
        ("manifest files a list", "manifest.json: files: expected an object, got a list"),
    ],
)
def test_report_refuses_a_manifest_that_does_not_vouch(
    case: str, expected: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    manifest = run / "manifest.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    if "does not list" in case:
        shutil.copy(run / "raw" / "truth.parquet", run / "raw" / "extra.parquet")
    elif "outside" in case:
        doc["files"]["raw/../../x"] = "0" * 64
    else:
        doc["files"] = list(doc["files"])
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    before = _snapshot(tmp_path)
    code, stdout, err = _cli(capsys, "report", str(run))
    line = _one_error_line(err)
    assert code == 2 and expected in line and stdout == "", line
    assert _snapshot(tmp_path) == before


def test_a_pairs_file_is_checked_again_once_it_changes(run_dir: Path, tmp_path: Path) -> None:
    """Readers skip the repeat check of a pairs file already checked, but not once it changed."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    reader = RunDir(run)
    path = run / "raw" / "exact.parquet"
    first = reader.pairs("exact")
    assert len(RunDir(run).pairs("exact")) == len(first)  # checked once, read again
    _frame(path, lambda f: pd.concat([f, f.iloc[:1]]))
    for again in (reader, RunDir(run)):
        with pytest.raises(LinkriskError, match="a duplicate of an earlier row"):
            again.pairs("exact")


def test_a_checked_pairs_file_is_read_again_for_the_columns_asked(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a pairs file passed every check, readers read only the columns they ask for (the
    same values); a changed file is read and checked whole again."""
    import bench.runs.rundir as R

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    whole = RunDir(run).pairs("jw")
    read: list[object] = []
    real = R.pq.read_table
    monkeypatch.setattr(
        R.pq,
        "read_table",
        lambda p, columns=None, **k: read.append(columns) or real(p, columns=columns, **k),
    )
    asked = ["query_row", "score", "link"]
    again = RunDir(run).pairs("jw", columns=asked)
    assert read == [asked]
    pd.testing.assert_frame_equal(again, whole[asked])
    _frame(run / "raw" / "jw.parquet", lambda f: _set(f, "score", 0, float("nan")))
    with pytest.raises(LinkriskError, match=r"jw\.parquet: score: "):
        RunDir(run).pairs("jw", columns=["query_row"])
    assert read[-1] is None  # read whole


def test_reader_accepts_the_run_and_returns_typed_tables(run_dir: Path) -> None:
    run = RunDir(run_dir).validate()
    assert run.info["methods"] == ["exact", "jw"] and run.info["replicates"] == 2
    assert run.method("jw")["uses_blocking"] is True
    assert list(run.pairs("jw", columns=["query_row", "link"]).columns) == ["query_row", "link"]
    assert len(run.truth()) == run.info["true_links"]
    assert len(run.truth(1)) == run.replicate(1)["true_links"]
    assert run.replicate(1)["considered_pairs"]["exact"] is None
    assert pq.read_schema(run_dir / "raw" / "jw.parquet").names == list(run.pairs("jw").columns)


def test_links_and_compact_pairs_are_the_rows_of_the_whole_file_they_keep(
    run_dir: Path, tmp_path: Path
) -> None:
    """``links`` and ``compact_pairs`` read a pairs file in parts and keep the rows a whole read
    filtered would (declared links; declared links and considered true links, the replicates'
    stored form), as the same frames; ``pair_count`` is the file's rows. Both check the file
    first, as ``pairs`` does."""
    import bench.runs.rundir as R

    run = RunDir(run_dir)
    for name in ("exact", "jw"):
        for k in (0, 1):
            whole = run.pairs(name, k)
            link = whole["link"].to_numpy()
            declared = whole[link].reset_index(drop=True)
            pd.testing.assert_frame_equal(run.links(name, k), declared)
            asked = ["register_row", "address_match"]
            pd.testing.assert_frame_equal(run.links(name, k, asked), declared[asked])
            pair = pd.MultiIndex.from_frame(whole[["query_row", "register_row"]])
            true = pair.isin(pd.MultiIndex.from_frame(run.truth(k)))
            compact = whole[link | true].reset_index(drop=True)
            pd.testing.assert_frame_equal(run.compact_pairs(name, k), compact)
            pd.testing.assert_frame_equal(run.compact_pairs(name, k, asked), compact[asked])
            assert run.pair_count(name, k) == len(whole)
    jw = run.pairs("jw")
    assert 0 < len(run.compact_pairs("jw")) < len(jw)  # the run's own seed keeps every pair
    # the replicates' files are compact already: compact_pairs keeps them whole
    assert len(run.compact_pairs("jw", 1)) == run.pair_count("jw", 1)
    # read in parts of a few rows: the same rows
    small = tmp_path / "run"
    shutil.copytree(run_dir, small)
    R.CHECK_ROWS, before = 7, R.CHECK_ROWS
    try:
        pd.testing.assert_frame_equal(RunDir(small).compact_pairs("jw"), run.compact_pairs("jw"))
    finally:
        R.CHECK_ROWS = before
    _frame(small / "raw" / "jw.parquet", lambda f: _set(f, "score", 0, float("nan")))
    for read in (RunDir(small).links, RunDir(small).compact_pairs, RunDir(small).pair_count):
        with pytest.raises(LinkriskError, match=r"jw\.parquet: score: "):
            read("jw")


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run on the example user files, with examples (record values) in raw/."""
    examples = Path(__file__).parents[1] / "examples" / "evaluate"
    out = tmp_path_factory.mktemp("user") / "run"
    args = ["evaluate", "--query", str(examples / "query.csv"), "--register",
            str(examples / "register.csv"), "--map", str(examples / "map.toml"),
            "--methods", "exact-name-address", "--include-examples", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.mark.parametrize(
    ("rel", "edit", "expected"),
    [
        (
            "raw/run.json",
            lambda p: _json(p, lambda d: d["inputs"]["query"].update(rows="many")),
            ": inputs.query.rows: expected an integer, got text",
        ),
        (
            "raw/run.json",
            lambda p: _json(p, lambda d: d["inputs"].update(truth=[])),
            ": inputs.truth: expected an object, got a list",
        ),
        (
            "raw/examples.parquet",
            lambda p: _frame(p, lambda f: f.drop(columns=["error"])),
            ": error: column missing",
        ),
        (
            "config.json",
            lambda p: _json(p, lambda d: d.update(methods=[{"name": "x", "kind": "nope"}])),
            ": methods",
        ),
    ],
    ids=["inputs rows text", "inputs truth a list", "examples column dropped", "config methods"],
)
def test_report_refuses_edited_user_runs(
    rel: str, edit: Callable[[Path], None], expected: str, user_run: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:  # fmt: skip
    run = tmp_path / "run"
    shutil.copytree(user_run, run)
    assert _cli(capsys, "report", str(run))[0] == 0  # the run as written is accepted
    edit(run / rel)
    _rehash(run, rel)
    before = _snapshot(tmp_path)
    code, stdout, err = _cli(capsys, "report", str(run))
    line = _one_error_line(err)
    assert code == 2 and f"{run / rel}{expected}" in line and stdout == "", line
    assert _snapshot(tmp_path) == before


def _pairs_error(run: Path, rel: str) -> str:
    parts = Path(rel).parts  # raw/<name>.parquet or raw/replicates/<k>/<name>.parquet
    replicate = int(parts[2]) if parts[1] == "replicates" else 0
    with pytest.raises(LinkriskError) as err:
        RunDir(run).pairs(Path(rel).stem, replicate)
    return str(err.value)


PAIRS_CASES = [c for c, (rel, _, _) in CASES.items() if Path(rel).stem in ("jw", "exact")]


@pytest.mark.parametrize("case", PAIRS_CASES)
def test_a_pairs_file_checked_in_small_batches_fails_as_checked_in_one(
    case: str, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks of a pairs file made a few rows at a time (problems in later batches, repeats
    across batches) give the error line of the file checked in one batch."""
    import bench.runs.rundir as R

    rel, edit, expected = CASES[case]
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    edit(run / rel)
    whole = _pairs_error(run, rel)
    assert expected.split(": ", 2)[-1] in whole
    monkeypatch.setattr(R, "CHECK_ROWS", 7)
    R._CHECKED.clear()
    assert _pairs_error(run, rel) == whole


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: _set(_set(f, "register_row", 2, -1), "register_row", 40, -5),
         "register_row: row 2: -1 is outside 0..3829 (the run has 3,830 register records); "
         "2 such rows"),
        (lambda f: pd.concat([f, f.iloc[[20]]], ignore_index=True),
         "query_row+register_row: row LAST: a duplicate of an earlier row"),
        (lambda f: _set(_set(f, "score", 30, float("-inf")), "score", 31, float("inf")),
         "score: row 30: -inf is not a finite number"),
        (lambda f: _set(f, "query_row", 33, None), "query_row: 1 missing values"),
    ],
    ids=["outside twice", "repeat across batches", "scores", "missing"],
)  # fmt: skip
def test_problems_found_in_later_batches_are_counted_and_placed_in_the_whole_file(
    edit: Callable[[pd.DataFrame], pd.DataFrame],
    expected: str,
    run_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench.runs.rundir as R

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    path = run / "raw" / "jw.parquet"
    _frame(path, edit)
    rows = pq.read_metadata(path).num_rows
    assert rows > 3 * 7  # several batches
    monkeypatch.setattr(R, "CHECK_ROWS", 7)
    R._CHECKED.clear()
    with pytest.raises(LinkriskError) as err:
        RunDir(run).pairs("jw")
    assert str(err.value) == f"{path}: {expected.replace('LAST', str(rows - 1))}"
