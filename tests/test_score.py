"""``linkrisk score`` and the round trip from ``linkrisk generate``: another linker's links
scored as a method; generate's output taken by evaluate and score as it is; a method added by
another package through the ``linkrisk.methods`` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from tests.conftest import TINY

FS = '\n[[methods]]\nname = "fellegi-sunter"\nkind = "fellegi-sunter"\nthreshold = 0.9\n'
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scenario with fellegi-sunter only, generated (parquet) and run."""
    base = tmp_path_factory.mktemp("score")
    (base / "fs.toml").write_text(TINY + FS, encoding="utf-8")
    assert main(["generate", str(base / "fs.toml"), "--out", str(base / "g")]) == 0
    return base


def test_generate_then_evaluate_and_score(generated: Path, capsys: pytest.CaptureFixture) -> None:
    g = generated / "g"
    truth = pd.read_parquet(g / "truth.parquet")
    assert list(truth.columns) == ["query_row", "register_row", "query_id", "register_id"]
    files = ["--query", str(g / "query.parquet"), "--register", str(g / "register.parquet")]
    ev = ["evaluate", *files, "--map", str(g / "map.toml"), "--methods", "exact-name-address"]
    assert main([*ev, "--out", str(generated / "ev"), "--no-progress", "--no-html"]) == 0
    truth.iloc[::2, 2:].to_csv(generated / "links.csv", index=False)  # half the true links
    sc = ["score", *files, "--map", str(g / "map.toml"), "--links", str(generated / "links.csv")]
    assert main([*sc, "--out", str(generated / "sf"), "--no-progress", "--no-html"]) == 0
    metrics = pd.read_csv(generated / "sf" / "metrics.csv")
    assert metrics[["method", "kind", "TP", "FP"]].values.tolist() == [
        ["declared", "declared-links", (len(truth) + 1) // 2, 0]
    ]
    capsys.readouterr()


def test_score_of_fellegi_sunter_links_equals_run(generated: Path) -> None:
    run_dir, out = generated / "run", generated / "sc"
    assert (
        main(
            ["run", str(generated / "fs.toml"), "--out", str(run_dir), "--no-progress", "--no-html"]
        )
        == 0
    )
    raw = pd.read_parquet(run_dir / "raw" / "fellegi-sunter.parquet")
    q = pd.read_parquet(generated / "g" / "query.parquet")["record_id"].to_numpy()
    r = pd.read_parquet(generated / "g" / "register.parquet")["record_id"].to_numpy()
    links = pd.DataFrame(
        {
            "query_id": q[raw["query_row"]],
            "register_id": r[raw["register_row"]],
            "score": raw["score"],
            "link": raw["link"],
        }
    )
    links.to_parquet(generated / "fs_links.parquet")
    argv = ["score", "--task", str(generated / "g"), "--links", str(generated / "fs_links.parquet")]
    assert (
        main([*argv, "--name", "fellegi-sunter", "--out", str(out), "--no-progress", "--no-html"])
        == 0
    )
    ran, scored = (pd.read_csv(d / "metrics.csv") for d in (run_dir, out))
    assert scored["kind"].tolist() == ["declared-links"]
    same = [c for c in ran.columns if c not in ("kind", "resolve")]
    pd.testing.assert_frame_equal(ran[same], scored[same])
    # Causes and subgroups too; not the noise flags or the missed matches' noise, which count
    # only the noise of the fields a method compares (declared links name none).
    for table in ("causes.csv", "subgroups.csv"):
        a, b = (pd.read_csv(d / table) for d in (run_dir, out))
        keep = [c for c in a.columns if c not in ("kind", "resolve", "flagged")]
        pd.testing.assert_frame_equal(a[keep], b[keep])
    assert (out / "sweeps.csv").is_file() and len(pd.read_csv(out / "sweeps.csv")) > 0


def test_score_refuses_unknown_ids(generated: Path, capsys: pytest.CaptureFixture) -> None:
    pd.DataFrame({"query_id": ["Q0000001"], "register_id": ["nobody"]}).to_csv(
        generated / "bad.csv", index=False
    )
    argv = ["score", "--task", str(generated / "g"), "--links", str(generated / "bad.csv")]
    assert main([*argv, "--out", str(generated / "bad"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: register_id: 1 row (first: row 1) name no register record" in err
    assert not (generated / "bad").exists()


PLUGIN = '''
"""A method from another package: exact first name, last name and date of birth."""
import numpy as np
from bench.linkage.methods.base import Method, Scored, register


@register
class TinyExact(Method):
    kind = "tiny-exact"
    summary = "exact first + last name + dob (a test plugin)"
    default_resolve = "all"

    def uses_blocking(self) -> bool:
        return True

    def score(self, prep, candidates):
        q, r = candidates.query_row, candidates.register_row
        same = np.ones(len(q), dtype=bool)
        for f in ("first_name", "last_name", "dob"):
            a = prep.task.query[f].to_numpy(dtype=object)[q]
            b = prep.task.register[f].to_numpy(dtype=object)[r]
            same &= (a == b) & (a != None)  # noqa: E711
        return Scored(q, r, same.astype(float), same)
'''


def test_entry_point_method_is_registered_and_passes_the_contract(tmp_path: Path) -> None:
    (tmp_path / "tiny_linker.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = tmp_path / "tiny_linker-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-linker\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[linkrisk.methods]\ntiny-exact = tiny_linker\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    listed = subprocess.run(
        [sys.executable, "-m", "bench.cli", "methods"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "tiny-exact\texact first + last name + dob (a test plugin)" in listed.stdout
    contract = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/test_methods_contract.py",
            "-k",
            "tiny-exact",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert contract.returncode == 0, contract.stdout[-3000:]
    assert " passed" in contract.stdout and "deselected" in contract.stdout


def test_api_scores_links_against_a_directory_and_dataframes(generated: Path) -> None:
    import linkrisk

    g = generated / "g"
    truth = pd.read_parquet(g / "truth.parquet")
    links = truth[["query_id", "register_id"]].iloc[::2]
    kept = linkrisk.score(links, g, name="half", out=generated / "api")
    assert kept.out_dir == generated / "api" and (kept.out_dir / "report.html").is_file()
    row = kept.accuracy.iloc[0]
    assert (row["method"], row["TP"], row["FP"], row["precision"]) == ("half", len(links), 0, 1.0)
    assert row["recall"] == len(links) / len(truth) and pd.isna(row["reduction_ratio"])
    frames = {n: pd.read_parquet(g / f"{n}.parquet") for n in ("query", "register")}
    mine = linkrisk.score(
        links,
        query=frames["query"],
        register=frames["register"],
        truth_pairs=truth,
        dates={"unreadable": "missing"},
    )
    assert mine.out_dir is None
    same = ["TP", "FP", "FN", "wrong_people", "declared"]
    assert mine.metrics[same].values.tolist() == kept.metrics[same].values.tolist()
