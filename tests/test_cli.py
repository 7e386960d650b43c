"""The command line: listings, bad input (one line, exit 2, nothing written), end-to-end runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.linkage.config import load_benchmark, presets
from bench.linkage.methods import METHODS
from synthetic.noise import NOISE, ROW_NOISE
from tests.conftest import TINY, copy_run


def _cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_listings(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _cli(capsys, "methods")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == list(METHODS)
    code, out, _ = _cli(capsys, "scenarios")
    assert [line.split("\t")[0] for line in out.splitlines()] == presets()
    assert "irs-ice" in presets()
    code, out, _ = _cli(capsys, "noise")
    assert code == 0
    names = [line.split("|")[1].strip(" `") for line in out.splitlines()[2:]]
    assert names == [*NOISE, *ROW_NOISE]


@pytest.mark.parametrize("name", presets())
def test_presets_are_valid(name: str) -> None:
    bench = load_benchmark(name)
    assert bench.methods and bench.scenario.query.size > 0


def _sub(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


def _add(extra: str):
    return lambda text: text + extra


# case -> (edit of the tiny scenario text, text the error must contain)
BAD = {
    "unknown top-level key": (_add("[extra]\nx = 1\n"), "extra: unknown key"),
    "unknown key in section": (
        _sub("size = 300", 'size = 300\ncolour = "red"'),
        "query.colour: unknown key",
    ),
    "rate above one": (
        _sub("typo = { rate = 0.01 }", "typo = { rate = 1.5 }"),
        "register.noise.typo.rate",
    ),
    "rate negative": (
        _sub("share_in_register = 0.5", "share_in_register = -0.1"),
        "query.share_in_register",
    ),
    "rate as text": (_sub("coverage = 0.8", 'coverage = "most"'), "register.coverage"),
    "rate as boolean": (_sub("coverage = 0.8", "coverage = true"), "register.coverage"),
    "integer as float": (_sub("size = 300", "size = 300.5"), "query.size"),
    "unknown noise type": (
        _sub("[query.noise]", "[query.noise]\nsmudge = { rate = 0.1 }"),
        "query.noise.smudge",
    ),
    "unknown method kind": (_add('[[methods]]\nname = "x"\nkind = "magic"\n'), "methods[0].kind"),
    "bad rule field": (
        _add('[[methods]]\nname = "x"\nkind = "rule"\npasses = [[{ field = "ssn" }]]\n'),
        "methods[0].passes[0][0].field",
    ),
    "rule without passes": (
        _add('[[methods]]\nname = "x"\nkind = "rule"\n'),
        "methods[0].passes: must be a non-empty list of passes",
    ),
    "bad threshold": (
        _add('[[methods]]\nname = "x"\nkind = "fuzzy"\nthreshold = 2\n'),
        "methods[0].threshold",
    ),
    "bad blocking": (
        _add('[blocking]\npasses = [[{ field = "zip", compare = "sorta" }]]\n'),
        "blocking.passes[0][0].compare",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_one_line_exit_2_nothing_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    edit, expected = BAD[case]
    path = tmp_path / "bad.toml"
    bad = edit(TINY)
    assert bad != TINY
    path.write_text(bad, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "run", str(path), "--out", str(out))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("linkrisk: error: ") and expected in err and str(path) in err
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "file is empty"),
        ("[scenario\n", "invalid TOML"),
        (
            TINY.replace("[population]\nsize = 6000\npeople_per_zip = 2000\n", ""),
            "population: missing section",
        ),
    ],
)
def test_broken_files(
    content: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(content, encoding="utf-8")
    code, _, err = _cli(capsys, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_file_and_unknown_preset(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, _, err = _cli(capsys, "run", str(tmp_path / "nope.toml"))
    assert code == 2 and "cannot read file" in err
    code, _, err = _cli(capsys, "run", "no-such-preset")
    assert code == 2 and "no such preset" in err


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, tiny_run_shared: Path) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    toml = base / "tiny.toml"
    toml.write_text(TINY, encoding="utf-8")
    # Seed 11 is the session's shared tiny run (a copy: the tests below rebuild it); seed 12
    # runs through the CLI here. That a run in a fresh process reproduces every byte is tested
    # on a whole preset (test_published, test_determinism).
    a = copy_run(tiny_run_shared, base / "a")
    c = base / "c"
    assert (
        main(["run", str(toml), "--seed", "12", "--out", str(c), "--no-progress", "--no-html"]) == 0
    )
    return a, c


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


def test_other_seed_differs(two_runs: tuple[Path, Path]) -> None:
    a, c = two_runs
    assert (a / "raw" / "truth.parquet").read_bytes() != (c / "raw" / "truth.parquet").read_bytes()
    assert (a / "metrics.csv").read_bytes() != (c / "metrics.csv").read_bytes()
    # --no-html: every file but the page and its figures
    assert set(_files(a)) - set(_files(c)) == {"report.html"}


def test_run_outputs_and_report_rebuild(
    two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    a, _ = two_runs
    metrics = pd.read_csv(a / "metrics.csv")
    assert list(metrics["method"]) == json.loads((a / "raw" / "run.json").read_text())["methods"]
    assert (metrics["TP"] + metrics["FN"] == metrics["true_links"]).all()
    report = (a / "report.md").read_text()
    assert "false discovery rate = FP / declared links" in report
    assert "linkrisk run" in report and "--seed 11" in report
    assert "## The synthetic population" in report and "### Surname concentration" in report
    assert "## False matches by cause" in report
    assert "## Who bears the errors" in report and "## Uncertainty" in report
    for f in (
        "subgroups.csv", "subgroup_causes.csv", "match_matrix.csv", "summary.csv",
        "replicates.csv", "sweeps.csv", "operating_points.csv", "report.html",
    ):  # fmt: skip
        assert (a / f).exists(), f
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["seed"] == 11 and len(manifest["config_sha256"]) == 64
    assert "raw/truth.parquet" in manifest["files"]
    before = {f: (a / f).read_bytes() for f in ("metrics.csv", "report.md", "causes.csv")}
    for f in before:
        (a / f).unlink()
    code, out, _ = _cli(capsys, "report", str(a), "--no-html")
    assert code == 0 and "fellegi-sunter" in out
    assert {f: (a / f).read_bytes() for f in before} == before  # rebuilt from raw/ alone
    assert not (a / "report.html").exists()  # the earlier page would no longer match report.md


def test_generate_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY, encoding="utf-8")
    code, _, _ = _cli(
        capsys, "generate", str(toml), "--out", str(tmp_path / "g"), "--format", "csv"
    )
    assert code == 0
    q = pd.read_csv(tmp_path / "g" / "query.csv", dtype=str)
    assert len(q) == 300 and q["record_id"].is_unique
    assert len(pd.read_csv(tmp_path / "g" / "truth.csv")) == 150


def test_describe_prints_population_facts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY, encoding="utf-8")
    code, out, err = _cli(capsys, "describe", str(toml))
    assert code == 0
    assert out.startswith("linkrisk describe tiny (seed 11): 6,000 people")
    for heading in ("Surname concentration", "Name uniqueness", "Household sizes"):
        assert f"### {heading}" in out
    assert "| first, last, DOB |" in out and "moved (has a previous address)" in out
    assert "time: generate" in err
    code, out, _ = _cli(capsys, "describe", str(toml), "--json", "--seed", "5", "--size", "2000")
    assert code == 0
    doc = json.loads(out)
    assert (doc["scenario"], doc["seed"]) == ("tiny", 5)
    assert doc["summary"]["counts"]["people"] == 2000
    assert doc["summary"]["surname_concentration"]["top_n"] == [10, 100, 1000]
    # the same seed gives the same population, hence the same JSON
    assert _cli(capsys, "describe", str(toml), "--json", "--seed", "5", "--size", "2000")[1] == out


def test_describe_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = _cli(capsys, "describe", "no-such-preset")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("linkrisk: error: ") and "no such preset" in err
    path = tmp_path / "bad.toml"
    path.write_text(TINY.replace("size = 6000", "size = -5"), encoding="utf-8")
    code, _, err = _cli(capsys, "describe", str(path))
    assert code == 2 and "population.size" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:  # argparse rejects a size that is not positive
        main(["describe", "irs-ice", "--size", "0"])
    assert exc.value.code == 2


def test_console_script_help() -> None:
    exe = Path(sys.executable).with_name("linkrisk")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "run" in result.stdout and "examples" in result.stdout
    assert "describe" in result.stdout
    result = subprocess.run(
        [str(exe), "run", "no-such"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
