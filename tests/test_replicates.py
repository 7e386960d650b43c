"""Replicates: K independently seeded populations, pooled, with exact per-replicate metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.linkage.config import parse_benchmark
from bench.measurement.derive import compute_replicates, compute_summary
from bench.runner import replicate_seed, run
from tests.conftest import TINY, read_toml_text


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three replicates of the tiny scenario, and its replicate 2 run on its own. Through the
    runner without report.html: no test here reads the figures (the CLI's --replicates is
    tested on the published preset and below)."""
    base = tmp_path_factory.mktemp("reps")
    bench = parse_benchmark(read_toml_text(TINY))
    quiet = {"progress": False, "html": False}
    run(bench, 11, base / "k3", replicates=3, **quiet)
    run(bench, replicate_seed(11, 1), base / "second", **quiet)  # replicate 2 on its own
    return {"k3": base / "k3", "second": base / "second"}


def test_replicates_are_written_compactly(runs: dict[str, Path]) -> None:
    # That a rerun reproduces them byte for byte is tested on the published preset, which
    # pools replicates too (test_published, test_determinism).
    k3 = runs["k3"]
    assert sorted(p.name for p in (k3 / "raw" / "replicates").iterdir()) == ["1", "2"]
    assert replicate_seed(11, 0) == 11 and len({replicate_seed(11, k) for k in range(5)}) == 5


def test_compact_replicate_metrics_equal_a_full_run(runs: dict[str, Path]) -> None:
    per = compute_replicates(runs["k3"])
    assert sorted(set(per["replicate"])) == [1, 2, 3]
    second = pd.read_csv(runs["second"] / "metrics.csv")
    rep2 = per[per["replicate"] == 2].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    cols = list(rep2.columns)
    # the logistic model is trained once, on the run's own seed: compare the others exactly
    keep = rep2["method"] != "logistic"
    pd.testing.assert_frame_equal(
        rep2[keep].reset_index(drop=True),
        second.loc[keep.to_numpy(), cols].reset_index(drop=True),
        check_dtype=False,
    )
    first = pd.read_csv(runs["k3"] / "metrics.csv")
    rep1 = per[per["replicate"] == 1].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rep1, first[cols], check_dtype=False)


def test_summary_pools_the_replicates(runs: dict[str, Path]) -> None:
    per = compute_replicates(runs["k3"])
    summary = compute_summary(runs["k3"]).set_index("method")
    sums = per.groupby("method")[["FP", "TP", "FN", "queries", "declared"]].sum()
    for col in sums.columns:
        assert (summary.loc[sums.index, col] == sums[col]).all(), col
    s = summary.loc["fellegi-sunter"]
    assert s["replicates"] == 3
    assert s["FDR"] == pytest.approx(s["FP"] / s["declared"])
    assert s["FDR_upper"] >= max(s["FDR_hi"], s["FDR"])
    assert s["FP_per_1M_upper"] > s["FP_per_1M"]
    report = (runs["k3"] / "report.md").read_text(encoding="utf-8")
    assert "Pooled over 3 replicates" in report and "--replicates 3" in report
    assert "## Uncertainty" in report and "(≤ " in report


def test_bad_replicates_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY, encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["run", str(toml), "--replicates", "0", "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    assert not (tmp_path / "x").exists()
    capsys.readouterr()
    bad = TINY.replace('name = "tiny"', 'name = "tiny"\nreplicates = 0')
    toml.write_text(bad, encoding="utf-8")
    assert main(["run", str(toml), "--out", str(tmp_path / "y"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scenario.replicates" in err[0]
    assert not (tmp_path / "y").exists()


def test_subgroups_pool_the_replicates_as_the_headline(runs: dict[str, Path]) -> None:
    """'Who bears the errors' pools like the headline: the counts of subgroups.csv are the
    sums over the replicates, and each label's counts add up to the pooled summary's."""
    from bench.measurement.subgroups import COUNTS, subgroup_metrics
    from bench.runs.rundir import RunDir

    k3 = runs["k3"]
    groups = pd.read_csv(k3 / "subgroups.csv")
    summary = pd.read_csv(k3 / "summary.csv")
    by_group = groups[groups["dimension"] == "group"].groupby("method", sort=False)
    for col in ("queries", "TP", "FP", "FN", "wrong_people"):
        assert by_group[col].sum().to_dict() == summary.set_index("method")[col].to_dict(), col
    # replicate 2, run on its own, is one of the three parts
    run = RunDir(k3)
    alone = subgroup_metrics(
        {m: run.pairs(m, 1) for m in run.info["methods"]},
        run.truth(1),
        run.query_people(replicate=1),
        run.replicate(1)["register_records"],
        ["group"],
    )
    second = pd.read_csv(runs["second"] / "subgroups.csv")
    second = second[second["dimension"] == "group"].reset_index(drop=True)
    keep = second["method"] != "logistic"  # trained once, on the run's own seed
    pd.testing.assert_frame_equal(
        alone.loc[keep.to_numpy(), list(COUNTS)].reset_index(drop=True),
        second.loc[keep.to_numpy(), list(COUNTS)].reset_index(drop=True),
        check_dtype=False,
    )
    assert "Rates pooled over the 3 replicates" in (k3 / "report.md").read_text(encoding="utf-8")
