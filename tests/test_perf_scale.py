"""The scale benchmark (``bench.perf.scale``): the case it runs at 1:N, its carrying of each
step to 1:1, and its files. The runs themselves are minutes long: a benchmark, not a test."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.linkage.config import load_benchmark
from bench.perf import scale
from bench.runs.store import is_linkrisk_output
from tests.test_scale_presets import SCALE_KEYS, _flat


@pytest.mark.parametrize("fraction", [1000, 100, 10, 1])
def test_the_case_at_1_in_n_is_irs_ice_with_other_sizes(fraction: int) -> None:
    bench = scale.scaled(fraction)
    base = _flat(load_benchmark("irs-ice").data)
    other = _flat(bench.data)
    assert (
        sorted(
            k for k in set(base) | set(other) if k not in SCALE_KEYS and base.get(k) != other.get(k)
        )
        == []
    )
    assert bench.scenario.population.size == round(331_000_000 / fraction)
    assert bench.scenario.query.size == round(1_280_000 / fraction)
    assert bench.scenario.shard_size == max(10_000, 10_000_000 // fraction)


def test_the_preset_is_the_case_at_1_in_10() -> None:
    preset, derived = load_benchmark("irs-ice-1in10").data, scale.scaled(10).data
    derived["scenario"]["description"] = preset["scenario"]["description"]
    assert derived == preset


def _run(
    fraction: int, steps: dict[str, tuple[float, float]], wall: float, peak: float
) -> dict[str, Any]:
    size = 1 / fraction
    return {
        "fraction": fraction,
        "population": 331_000_000 // fraction,
        "queries": 1_280_000 // fraction,
        "register_records": 113_000_000 // fraction,
        # a million pairs per unit of size and 300 million per unit squared
        "candidates": round(1e6 * size + 3e8 * size**2),
        "wall_s": wall,
        "peak_mb": peak,
        "steps": [{"step": k, "time_s": t, "peak_mb": m} for k, (t, m) in steps.items()],
    }


def _pairs(fraction: int) -> float:
    return 1e6 / fraction + 3e8 / fraction**2


def _runs() -> list[dict[str, Any]]:
    # "records": 100 s per unit of size; "pairs": 50 s per unit of size and 2 s per million
    # pairs; memory 500 MB + 10 GB x size; "short": under MIN_FIT_S in the smaller run, carried
    # linearly whatever its ratio
    def steps(n: int) -> dict[str, tuple[float, float]]:
        return {
            "records": (100 / n, 500 + 10240 / n),
            "pairs": (50 / n + 2e-6 * _pairs(n), 500 + 10240 / n),
            "short": (0.1 if n == 100 else 0.9 if n == 10 else 0.01, 500 + 100 / n),
        }

    walls = {10: (400.0, 2000.0), 100: (20.0, 700.0), 1000: (5.0, 600.0)}
    return [_run(n, steps(n), *walls[n]) for n in (10, 100, 1000)]


def test_candidate_pairs_are_carried_to_full_size_as_size_and_its_square() -> None:
    assert scale.pairs_at_full(_runs()) == pytest.approx(1e6 + 3e8, rel=1e-6)
    # pairs within a ZIP code only: linear, no square term made up
    linear = [dict(r, candidates=round(2e6 / r["fraction"])) for r in _runs()]
    assert scale.pairs_at_full(linear) == pytest.approx(2e6, rel=1e-6)


def test_each_step_is_carried_to_full_size_by_its_work_per_record_and_per_pair() -> None:
    table = scale.project(_runs()).set_index("step")
    records, pairs = table.loc["records"], table.loc["pairs"]
    short, whole = table.loc["short"], table.loc["whole run"]
    assert records["s at 1:1 (projected)"] == pytest.approx(100.0)
    assert records["of which from pairs"] == pytest.approx(0.0, abs=1e-6)
    # 2 s per million pairs: 602 s at 1:1 from 301 million pairs, beside 50 s of the size
    assert pairs["of which from pairs"] == pytest.approx(2e-6 * (1e6 + 3e8), rel=1e-6)
    assert pairs["s at 1:1 (projected)"] == pytest.approx(50 + 2e-6 * (1e6 + 3e8), rel=1e-6)
    assert records["GB at 1:1 (projected)"] == pytest.approx((500 + 10240) / 1024)
    assert short["s at 1:1 (projected)"] == pytest.approx(9.0)  # 0.1 s at 1:100: linearly
    assert short["of which from pairs"] == 0.0
    assert whole["s at 1:1 (projected)"] == pytest.approx(
        records["s at 1:1 (projected)"] + pairs["s at 1:1 (projected)"] + 9.0
    )
    assert whole["GB at 1:1 (projected)"] == pytest.approx(
        max(table.iloc[:-1]["GB at 1:1 (projected)"])
    )
    assert whole["s at 1:1000"] == 5.0 and whole["GB at 1:10"] == pytest.approx(2000 / 1024)
    # the largest run's steps, in its order; a step absent from a smaller run shows no figure
    runs = _runs()
    runs[1]["steps"] = runs[1]["steps"][:1]
    table = scale.project(runs).set_index("step")
    assert list(table.index) == ["records", "pairs", "short", "whole run"]
    assert math.isnan(table.loc["short", "s at 1:100"])
    assert table.loc["short", "s at 1:1 (projected)"] == pytest.approx(9.0)


def test_a_step_growing_as_the_size_gets_no_time_from_pairs() -> None:
    # 9.5 times the time for 10 times the size (and 40 times the pairs): no share of the pairs'
    # square made up; carried about linearly from the larger run
    total, from_pairs = scale.time_at_full((10.0, 95.0), (0.01, 0.1), (1e5, 4e6), 4e8)
    assert from_pairs == 0.0 and total == pytest.approx(950.0, rel=1e-3)


def test_the_verdict_names_the_targets_the_heaviest_steps_and_the_pairs() -> None:
    runs = _runs()
    table = scale.project(runs)
    text = scale.verdict(table, runs)
    minutes = table.iloc[-1]["s at 1:1 (projected)"] / 60
    assert f"about {minutes:.0f} minutes (target 45)" in text
    assert "peak at about 10 GB (target 16)" in text
    assert "the longest steps: pairs 11 min, records 2 min, short 0 min" in text
    assert "3.1 million at 1:10, about 301 million at 1:1" in text
    assert "10 of the 13 minutes are work per pair" in text
    assert "(their row numbers alone are 4.8 GB at 1:1): a floor" in text


def test_results_are_written_rewritten_and_shown_in_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scale, "measure", lambda fractions: _runs())
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- scale:start -->\nold\n<!-- scale:end -->\nafter\n", encoding="utf-8"
    )
    out = tmp_path / "scale"
    for _ in range(2):  # a second run replaces the first's files
        assert scale.main(["--out", str(out), "--readme", str(readme)]) == 0
    assert is_linkrisk_output(out)
    assert sorted(p.name for p in out.iterdir()) == ["scale.csv", "scale.json", "scale.md"]
    meta = json.loads((out / "scale.json").read_text(encoding="utf-8"))
    assert [r["fraction"] for r in meta["runs"]] == [10, 100, 1000]
    assert f"- code: commit {meta['commit']}" in (out / "scale.md").read_text(encoding="utf-8")
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and text.endswith("<!-- scale:end -->\nafter\n")
    assert "| pairs " in text and "(target 45)" in text
    assert "(target 45)" in capsys.readouterr().out


def test_earlier_runs_are_carried_again_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "measure", lambda fractions: _runs())
    first = tmp_path / "first"
    assert scale.main(["--out", str(first)]) == 0

    def never(fractions: list[int]) -> list[dict[str, Any]]:
        raise AssertionError("ran")

    monkeypatch.setattr(scale, "measure", never)
    again = tmp_path / "again"
    assert scale.main(["--runs", str(first / "scale.json"), "--out", str(again)]) == 0
    before = json.loads((first / "scale.json").read_text(encoding="utf-8"))
    after = json.loads((again / "scale.json").read_text(encoding="utf-8"))
    assert after["runs"] == before["runs"] and after["commit"] == before["commit"]
    assert (again / "scale.csv").read_bytes() == (first / "scale.csv").read_bytes()
    assert f"(carried to 1:1 at {after['projected_at']})" in (again / "scale.md").read_text(
        encoding="utf-8"
    )
    (tmp_path / "bad.json").write_text('{"runs": []}', encoding="utf-8")
    for bad in ("bad.json", "missing.json"):
        with pytest.raises(SystemExit) as exc:
            scale.main(["--runs", str(tmp_path / bad), "--out", str(tmp_path / "o")])
        assert exc.value.code == 2
    assert not (tmp_path / "o").exists()


def test_bad_arguments_stop_before_any_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(fractions: list[int]) -> list[dict[str, Any]]:
        raise AssertionError("ran")

    monkeypatch.setattr(scale, "measure", never)
    for argv in (["--fractions", "10"], ["--fractions", "10,x"], ["--fractions", "0,10"]):
        with pytest.raises(SystemExit) as exc:
            scale.main([*argv, "--out", str(tmp_path / "o")])
        assert exc.value.code == 2
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(Exception, match="was not written by linkrisk"):
        scale.main(["--out", str(foreign)])
    readme = tmp_path / "R.md"
    readme.write_text("no block\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        scale.main(["--out", str(tmp_path / "o"), "--readme", str(readme)])
    assert exc.value.code == 2


def test_readme_scale_block_comes_from_results() -> None:
    found = scale.SCALE_BLOCK.search(scale.README.read_text(encoding="utf-8"))
    assert found is not None
    shown = found.group(0)[len(found.group(1)) : -len(found.group(2))]
    assert shown == scale.readme_block(scale.OUT_DIR)
    assert "| whole run " in shown and "(target 45)" in shown
