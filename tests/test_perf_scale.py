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
    return {
        "fraction": fraction,
        "population": 331_000_000 // fraction,
        "queries": 1_280_000 // fraction,
        "register_records": 113_000_000 // fraction,
        "candidates": 1000,
        "wall_s": wall,
        "peak_mb": peak,
        "steps": [{"step": k, "time_s": t, "peak_mb": m} for k, (t, m) in steps.items()],
    }


def _runs() -> list[dict[str, Any]]:
    # "grows": time as size^1.5 (10 s at 1:100 -> 10 * 10**1.5 at 1:10); memory 500 MB + 10 GB
    # x size; "short": under MIN_FIT_S in the smaller run, carried linearly whatever its ratio
    return [
        _run(10, {"grows": (10 * 10**1.5, 500 + 10240 / 10), "short": (0.9, 600)}, 400.0, 2000.0),
        _run(100, {"grows": (10.0, 500 + 10240 / 100), "short": (0.1, 550)}, 20.0, 700.0),
        _run(
            1000, {"grows": (10 * 10**-1.5, 500 + 10240 / 1000), "short": (0.01, 520)}, 5.0, 600.0
        ),
    ]


def test_each_step_is_carried_to_full_size_from_the_two_largest_runs() -> None:
    table = scale.project(_runs()).set_index("step")
    grows, short, whole = table.loc["grows"], table.loc["short"], table.loc["whole run"]
    assert grows["time grows as size^"] == pytest.approx(1.5)
    assert grows["s at 1:1 (projected)"] == pytest.approx(10 * 100**1.5)
    assert grows["GB at 1:1 (projected)"] == pytest.approx((500 + 10240) / 1024)
    assert short["time grows as size^"] == 1.0  # 0.1 s at 1:100: too short to fit
    assert short["s at 1:1 (projected)"] == pytest.approx(9.0)
    assert whole["s at 1:1 (projected)"] == pytest.approx(10 * 100**1.5 + 9.0)
    assert whole["GB at 1:1 (projected)"] == pytest.approx(
        max(grows["GB at 1:1 (projected)"], short["GB at 1:1 (projected)"])
    )
    assert whole["s at 1:1000"] == 5.0 and whole["GB at 1:10"] == pytest.approx(2000 / 1024)
    assert math.isnan(whole["time grows as size^"])
    # the largest run's steps, in its order; a step absent from a smaller run shows no figure
    runs = _runs()
    runs[1]["steps"] = runs[1]["steps"][:1]
    table = scale.project(runs).set_index("step")
    assert list(table.index) == ["grows", "short", "whole run"]
    assert math.isnan(table.loc["short", "s at 1:100"])
    assert table.loc["short", "time grows as size^"] == 1.0


def test_the_verdict_names_the_targets_and_the_heaviest_steps() -> None:
    text = scale.verdict(scale.project(_runs()))
    assert "about 167 minutes (target 45)" in text  # (10,000 + 9) s
    assert "peak at about 10 GB (target 16)" in text
    assert "the longest steps: grows 167 min, short 0 min" in text


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
    assert "| grows " in text and "(target 45)" in text
    assert "(target 45)" in capsys.readouterr().out


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
