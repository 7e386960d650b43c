"""Hostile input to the command line: every case exits with status 2, prints exactly one line
``linkrisk: error: <file>: <field>: <problem>`` on stderr (no traceback) and writes nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.cli import main
from bench.runs.writers import STAGING_PREFIX
from synthetic.errors import ConfigError
from tests.conftest import TINY

LINKRISK = Path(sys.executable).with_name("linkrisk")
Edit = Callable[[str], str]


def _cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run ``linkrisk ARGS`` in-process: (exit status, stdout, stderr). Usage errors leave
    argparse through SystemExit; both ways count as the exit status."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _sub(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _add(extra: str) -> Edit:
    return lambda text: text + extra


METHOD = '\n[[methods]]\nname = "m"\n'
MIX = "share_in_register = 0.5\ngroup_mix = "

# case -> (the scenario file's bytes from TINY, fragments the error line must contain: the
# field's path and the problem). The file's path must be in the line too.
SCENARIOS: dict[str, tuple[Callable[[str], bytes], tuple[str, ...]]] = {
    "not TOML": (lambda t: b"this is = = not TOML\n", ("invalid TOML",)),
    "empty file": (lambda t: b"", ("file is empty",)),
    "only whitespace": (lambda t: b" \n\t\n", ("file is empty",)),
    "non-UTF-8 bytes": (
        lambda t: t.replace('"tiny"', '"ti\udcffny"').encode("utf-8", "surrogateescape"),
        ("not UTF-8 text",),
    ),
    "duplicate key (invalid TOML)": (_sub("seed = 11", "seed = 11\nseed = 12"), ("invalid TOML",)),
    "unknown top-level table": (_add("[extra]\nx = 1\n"), ("extra: unknown key",)),
    "unknown key in [population]": (
        _sub("people_per_zip = 2000", "people_per_zip = 2000\ncolour = 1"),
        ("population.colour: unknown key",),
    ),
    "unknown key in [register]": (
        _sub("coverage = 0.8", "coverage = 0.8\ncoverag = 0.9"),
        ("register.coverag: unknown key", "allowed: coverage, min_age, noise"),
    ),
    "unknown key in [query]": (
        _sub("size = 300", 'size = 300\ncolour = "red"'),
        ("query.colour: unknown key",),
    ),
    "unknown key in [query.noise] type": (
        _sub("typo = { rate = 0.02 }", "typo = { rate = 0.02, rat = 1 }"),
        ("query.noise.typo.rat: unknown key",),
    ),
    "unknown noise type": (
        _sub("[query.noise]", "[query.noise]\nsmudge = { rate = 0.1 }"),
        ("query.noise.smudge: unknown noise type",),
    ),
    "noise on a field it cannot change": (
        _sub("typo = { rate = 0.02 }", 'typo = { rate = 0.02, fields = ["zip"] }'),
        ("query.noise.typo.fields", "'zip' is not a field this noise applies to"),
    ),
    "rate 1.5": (
        _sub("typo = { rate = 0.02 }", "typo = { rate = 1.5 }"),
        ("query.noise.typo.rate: must be a number in [0, 1], got 1.5",),
    ),
    "rate -0.1": (
        _sub("coverage = 0.8", "coverage = -0.1"),
        ("register.coverage: must be a number in [0, 1], got -0.1",),
    ),
    'rate "high"': (
        _sub("typo = { rate = 0.02 }", 'typo = { rate = "high" }'),
        ("query.noise.typo.rate: must be a number in [0, 1], got 'high'",),
    ),
    "rate nan": (
        _sub("share_in_register = 0.5", "share_in_register = nan"),
        ("query.share_in_register: must be a number in [0, 1], got nan",),
    ),
    "string for a size": (
        _sub("size = 300", 'size = "300"'),
        ("query.size: must be an integer", "got '300'"),
    ),
    "bool for an int": (
        _sub("people_per_zip = 2000", "people_per_zip = true"),
        ("population.people_per_zip: must be an integer", "got True"),
    ),
    "date for an int": (
        _sub("seed = 11", "seed = 2025-01-01"),
        ("scenario.seed: must be an integer",),
    ),
    "negative seed": (_sub("seed = 11", "seed = -1"), ("scenario.seed", "got -1")),
    "query size 0": (_sub("size = 300", "size = 0"), ("query.size", "got 0")),
    "population size 0": (_sub("size = 6000", "size = 0"), ("population.size", "got 0")),
    "population beyond any country": (
        _sub("size = 6000", "size = 999999999999"),
        ("population.size: must be at most",),
    ),
    "replicates 0 in the file": (
        _sub("seed = 11", "seed = 11\nreplicates = 0"),
        ("scenario.replicates", "got 0"),
    ),
    "project not a boolean": (
        _sub("seed = 11", 'seed = 11\nproject = "yes"'),
        ("scenario.project: must be true or false",),
    ),
    "scenario name escaping the results directory": (
        _sub('name = "tiny"', 'name = "../../etc"'),
        ("scenario.name: must be a name",),
    ),
    "empty scenario name": (_sub('name = "tiny"', 'name = ""'), ("scenario.name",)),
    "missing section": (
        _sub("[population]\nsize = 6000\npeople_per_zip = 2000\n", ""),
        ("population: missing section",),
    ),
    "query larger than the population": (
        _sub("size = 300", "size = 7000"),
        ("query.size", "cannot be drawn from a population of 6,000"),
    ),
    "query larger than the eligible people (found while drawing)": (
        _sub("size = 300", "size = 5000"),
        ("query.size: needs 2500 people outside the register",),
    ),
    "group_mix not summing to 1": (
        _sub("share_in_register = 0.5", MIX + "{ hispanic = 0.5, white = 0.2 }"),
        ("query.group_mix: shares must sum to 1, got 0.7",),
    ),
    "group_mix naming an unknown group": (
        _sub("share_in_register = 0.5", MIX + "{ martian = 1.0 }"),
        ("query.group_mix.martian: unknown key",),
    ),
    "method of unknown kind": (
        _add(METHOD + 'kind = "magic"\n'),
        ("methods[0].kind: unknown method kind 'magic'",),
    ),
    "method parameter unknown": (
        _add(METHOD + 'kind = "fuzzy"\nthreshhold = 0.5\n'),
        ("methods[0].threshhold: unknown parameter",),
    ),
    "method parameter out of range": (
        _add(METHOD + 'kind = "fuzzy"\nthreshold = 2\n'),
        ("methods[0].threshold: must be a number in [0, 1], got 2",),
    ),
    "rule condition out of range": (
        _add(METHOD + 'kind = "rule"\npasses = [[{ field = "name", compare = "jw", min = 7 }]]\n'),
        ("methods[0].passes[0][0].min",),
    ),
    "blocking on an unknown field": (
        _add('[blocking]\npasses = [[{ field = "ssn" }]]\n'),
        ("blocking.passes[0][0].field", "got 'ssn'"),
    ),
    "blocking pass limit out of range": (
        _add('[blocking]\npasses = [[{ field = "zip" }]]\nmax_pairs = 0\n'),
        ("blocking.max_pairs: must be an integer from 1 to 1,000,000,000; got 0",),
    ),
    "blocking pass limit not an integer": (
        _add('[blocking]\npasses = [[{ field = "zip" }]]\nmax_pairs = "many"\n'),
        ("blocking.max_pairs: must be an integer",),
    ),
    "duplicate method names": (
        _add((METHOD + 'kind = "fuzzy"\n') * 2),
        ("methods[1].name: duplicate method name 'm'",),
    ),
    "method name that is a spreadsheet formula": (
        _add('\n[[methods]]\nname = "=HYPERLINK(1)"\nkind = "fuzzy"\n'),
        ("methods[0].name: must be a name",),
    ),
}


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("linkrisk: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("case", list(SCENARIOS))
@pytest.mark.parametrize("command", ["run", "generate"])
def test_hostile_scenario_file(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make, fragments = SCENARIOS[case]
    content = make(TINY)
    content = content if isinstance(content, bytes) else content.encode("utf-8")
    assert content != TINY.encode("utf-8")
    path = tmp_path / "scenario.toml"
    path.write_bytes(content)
    out = tmp_path / "results" / "out"  # neither it nor its parent may be created
    args = ["run", str(path), "--no-progress"] if command == "run" else ["generate", str(path)]
    code, stdout, err = _cli(capsys, *args, "--out", str(out))
    assert code == 2, err
    line = _one_error_line(err)
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


def test_hostile_scenario_cases_are_many_and_distinct() -> None:
    assert len(SCENARIOS) >= 20
    bodies = [make(TINY) for make, _ in SCENARIOS.values()]
    assert len(set(bodies)) == len(bodies)


# case -> (arguments, with {tmp} for the test's directory; fragments of the error line)
ARGUMENTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "scenario file that does not exist": (
        ["run", "{tmp}/nope.toml"],
        ("{tmp}/nope.toml: cannot read file (No such file or directory)",),
    ),
    "scenario path that is a directory": (
        ["run", "{tmp}/adir"],
        ("{tmp}/adir: cannot read file (Is a directory)",),
    ),
    "unknown preset": (["run", "no-such-preset"], ("no-such-preset: no such preset or file",)),
    "--replicates 0": (
        ["run", "tiny.toml", "--replicates", "0"],
        ("argument --replicates: must be > 0",),
    ),
    "--replicates not a number": (
        ["run", "tiny.toml", "--replicates", "many"],
        ("argument --replicates: not an integer: 'many'",),
    ),
    "--seed negative": (["run", "tiny.toml", "--seed", "-3"], ("argument --seed",)),
    "--out is a file": (
        ["run", "tiny.toml", "--out", "{tmp}/afile"],
        ("argument --out: {tmp}/afile: exists and is not a directory",),
    ),
    "unknown command": (["frobnicate"], ("argument COMMAND: invalid choice: 'frobnicate'",)),
    "generate in an unknown format": (
        ["generate", "tiny.toml", "--out", "{tmp}/g", "--format", "xlsx"],
        ("argument --format: invalid choice: 'xlsx'",),
    ),
    "describe with size 0": (["describe", "tiny.toml", "--size", "0"], ("argument --size",)),
    "report on a directory that does not exist": (
        ["report", "{tmp}/nothing-here"],
        ("{tmp}/nothing-here: no such run directory",),
    ),
    "report on a directory that is not a run": (
        ["report", "{tmp}/adir"],
        ("{tmp}/adir/raw/run.json: missing: not a complete run directory",),
    ),
}


@pytest.mark.parametrize("case", list(ARGUMENTS))
def test_hostile_arguments(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "notes.txt").write_text("not a run\n", encoding="utf-8")
    (tmp_path / "afile").write_text("precious\n", encoding="utf-8")
    (tmp_path / "tiny.toml").write_text(TINY, encoding="utf-8")
    before = _snapshot(tmp_path)
    args, fragments = ARGUMENTS[case]
    args = [a.replace("{tmp}", str(tmp_path)).replace("tiny.toml", str(tmp_path / "tiny.toml"))
            for a in args]  # fmt: skip
    code, stdout, err = _cli(capsys, *args)
    assert code == 2, err
    line = _one_error_line(err)
    for fragment in fragments:
        assert fragment.replace("{tmp}", str(tmp_path)) in line, (fragment, line)
    assert stdout == ""
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "tiny.toml"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of the tiny scenario (only its rules: fast)."""
    base = tmp_path_factory.mktemp("hostile-run")
    toml = base / "tiny.toml"
    rules = '\n[[methods]]\nname = "exact"\nkind = "rule"\npasses = [[{ field = "name" }]]\n'
    toml.write_text(TINY + rules, encoding="utf-8")
    assert main(["run", str(toml), "--out", str(base / "run"), "--no-progress", "--no-html"]) == 0
    return base / "run"


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("half-written: no manifest", "manifest.json: missing: not a complete run directory"),
        ("half-written: staging directory", "the staging directory of an unfinished run"),
        ("raw file changed since the run", "raw/truth.parquet: SHA-256 differs from manifest"),
        ("raw file missing", "raw/exact.parquet: missing (listed in manifest.json)"),
        ("manifest not JSON", "manifest.json: not valid JSON"),
    ],
)
def test_report_refuses_incomplete_or_altered_runs(
    case: str, expected: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    name = f"{STAGING_PREFIX}run-4242" if "staging" in case else "run"
    bad = _copy(run_dir, tmp_path / name)
    if "no manifest" in case or "staging" in case:
        (bad / "manifest.json").unlink()
    elif "changed" in case:
        (bad / "raw" / "truth.parquet").write_bytes(b"PAR1 not really")
    elif "missing" in case:
        (bad / "raw" / "exact.parquet").unlink()
    else:
        (bad / "manifest.json").write_text("{ half", encoding="utf-8")
    before = _snapshot(tmp_path)
    code, stdout, err = _cli(capsys, "report", str(bad))
    assert code == 2
    line = _one_error_line(err)
    assert str(bad) in line and expected in line, line
    assert stdout == "" and _snapshot(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_report_rebuilds_a_complete_run_in_place(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = _copy(run_dir, tmp_path / "run")
    before = _snapshot(good)
    (good / "metrics.csv").unlink()
    code, stdout, _ = _cli(capsys, "report", str(good), "--no-html")  # as it was run
    assert code == 0 and "exact" in stdout
    assert _snapshot(good) == before  # rebuilt byte for byte from raw/
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging directory left


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(TINY.replace("coverage = 0.8", "coverage = 1.5"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"register\.coverage"):
        main(["--debug", "run", str(path), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
    result = subprocess.run(
        [str(LINKRISK), "--debug", "run", str(path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "register.coverage" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (TINY.replace('"tiny"', '"t\udcffiny"'), [], "not UTF-8 text"),
        (TINY, ["--replicates", "0"], "argument --replicates: must be > 0"),
    ],
)
def test_console_script_one_line_exit_2(
    content: str, args: list[str], expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    out = tmp_path / "out"
    result = subprocess.run(
        [str(LINKRISK), "run", str(path), "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert expected in line and result.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]


# ---------------------------------------------------------------------------------------------
# Formula-safe CSV: text a spreadsheet would evaluate is written with a leading apostrophe
# ---------------------------------------------------------------------------------------------


def _cells(path: Path) -> list[list[str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _formula_cells(path: Path) -> list[str]:
    """Cells that start like a formula and are not plain numbers."""

    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    return [
        c
        for row in _cells(path)
        for c in row
        if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not number(c)
    ]


def test_write_csv_neutralizes_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    import pandas as pd

    from bench.runs.writers import write_csv

    text = ["=1+1", "+1", "-1", "@SUM(A1)", " =x", "\tTAB", "\rCR", "plain", None, "a-b=c"]
    frame = pd.DataFrame(
        {
            "text": text,
            "number": [-0.5, 1.25, -3.0, 0.0, 2.0, -1e-9, 5.0, 6.0, 7.0, -8.5],
            "count": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "=label": ["ok"] * 10,
        }
    )
    original = frame.copy()
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    rows = _cells(path)
    assert rows[0] == ["text", "number", "count", "'=label"]
    expected = ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "' =x", "'\tTAB", "'\rCR", "plain", "", "a-b=c"]
    assert [r[0] for r in rows[1:]] == expected
    assert [r[1] for r in rows[1:]] == [str(v) for v in frame["number"]]  # still numbers
    assert [r[2] for r in rows[1:]] == [str(v) for v in frame["count"]]
    pd.testing.assert_frame_equal(frame, original)  # the caller's frame is not modified
    plain = frame.drop(columns=["text", "=label"])
    write_csv(plain, path)  # nothing to neutralize: exactly what pandas writes
    assert path.read_text(encoding="utf-8") == plain.to_csv(index=False, lineterminator="\n")


def test_generated_csv_files_are_formula_safe(tmp_path: Path) -> None:
    import pandas as pd

    from bench.linkage.config import parse_benchmark
    from synthetic.scenario import build_task
    from tests.conftest import read_toml_text

    task = build_task(parse_benchmark(read_toml_text(TINY)).scenario, 3)
    query = task.query.copy()
    query.loc[0, "first_name"] = '=HYPERLINK("http://x","y")'
    query.loc[1, "street"] = "@SUM(1)"
    bad = type(task)(
        query, task.register, task.truth, task.query_people, task.register_people, task.noise_log
    )
    bad.write(tmp_path / "csv", "csv")
    bad.write(tmp_path / "parquet", "parquet")
    for path in (tmp_path / "csv").iterdir():
        assert _formula_cells(path) == [], path
    back = pd.read_csv(tmp_path / "csv" / "query.csv", dtype=str, keep_default_na=False)
    assert back.loc[0, "first_name"] == "'" + query.loc[0, "first_name"]
    assert back.loc[1, "street"] == "'@SUM(1)"
    # parquet keeps the values as they are (no spreadsheet reads it)
    raw = pd.read_parquet(tmp_path / "parquet" / "query.parquet")
    assert raw.loc[0, "first_name"] == query.loc[0, "first_name"]


def test_run_outputs_with_a_formula_method_name_are_neutralized(
    run_dir: Path, tmp_path: Path
) -> None:
    # Method names are validated (letters and digits first), so such a name could reach the
    # outputs only through a raw/ edited by hand: the run-directory reader refuses it, and the
    # CSV writer would still defuse it.
    import json

    import pandas as pd

    from bench.report.document import write_outputs
    from bench.runs.writers import write_csv
    from synthetic.errors import LinkriskError

    run = _copy(run_dir, tmp_path / "run")
    raw = run / "raw"
    for ext in ("parquet", "json"):
        (raw / f"exact.{ext}").rename(raw / f"=exact.{ext}")
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    info["methods"] = ["=exact"]
    (raw / "run.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(LinkriskError, match="=exact"):
        write_outputs(run)
    write_csv(pd.DataFrame({"method": ["=exact"], "FP": [1]}), tmp_path / "m.csv")
    assert _formula_cells(tmp_path / "m.csv") == []
    assert _cells(tmp_path / "m.csv")[1][0] == "'=exact"
