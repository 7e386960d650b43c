"""Published results: README tables come from results/, and results/ come from the code.

That rerunning the default preset reproduces results/irs-ice byte for byte is tested once, in
tests/test_determinism.py, with numpy's optional CPU features off: `linkrisk publish` wrote
results/ with them on, so a difference made by the code or by a CPU-specific kernel shows there
(a second rerun here with the features on checked nothing more, for a minute of the suite).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from bench.linkage.config import load_benchmark, presets
from bench.measurement.derive import compute_metrics
from bench.publish import (
    BLOCK,
    CALIBRATION_BLOCK,
    CAUSES_BLOCK,
    CHECK_BLOCK,
    NOISE_BLOCK,
    PROJECTION_BLOCK,
    TARGETS_BLOCK,
    big_presets,
    calibration_block,
    causes_block,
    check_block,
    check_name,
    noise_table,
    projection_block,
    published_presets,
    readme_block,
    targets_block,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def _published() -> list[str]:
    # not runs with other options than a preset's own (results/<scenario>@<option>=<value>);
    # not big-file runs, published without their record-level raw tables (below)
    runs = [
        p for p in RESULTS.iterdir() if (p / "raw" / "truth.parquet").exists() and "@" not in p.name
    ]
    # not `linkrisk evaluate`'s runs on a user's own files (results/evaluate/ by default)
    return sorted(
        p.name
        for p in runs
        if json.loads((p / "raw" / "run.json").read_text(encoding="utf-8")).get("source")
        != "user files"
    )


def test_every_preset_is_published() -> None:
    assert _published() == published_presets()
    assert set(presets()) - set(published_presets()) == set(big_presets())
    assert set(big_presets()) == {"irs-ice-1in10", "irs-ice-full"}


@pytest.mark.parametrize("name", big_presets())
def test_big_presets_are_published_without_raw_tables_and_with_their_check(name: str) -> None:
    run_dir = RESULTS / name
    info = json.loads((run_dir / "raw" / "run.json").read_text(encoding="utf-8"))
    assert info["scenario"] == name and info["shards"]["files"] > 1
    assert not list((run_dir / "raw").glob("*.parquet"))  # hundreds of megabytes: not kept
    files = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert "raw/truth.parquet" in files  # ... but their SHA-256, to check a rerun against
    metrics = pd.read_csv(run_dir / "metrics.csv")
    ran = metrics[metrics["status"] == "run"]
    trained = [m.name for m in load_benchmark(name).methods if m.needs_training]
    # all but a supervised method (no training task)
    assert sorted(metrics.loc[metrics["status"] != "run", "method"]) == sorted(trained)
    check = RESULTS / "projections" / check_name(name) / "projection.md"
    text = check.read_text(encoding="utf-8")
    assert f"--against results/{name}`" in text and "Checked against the direct simulation" in text
    assert text.count(f"| direct simulation: {name} ") == ran["kind"].eq("rule").sum()


def test_readme_projection_checks_and_direct_targets_come_from_results() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(CHECK_BLOCK.finditer(text))
    assert [m["name"] for m in blocks] == big_presets()
    for m in blocks:
        assert text[m.end(1) : m.start(3)] == check_block(m["name"], RESULTS / "projections")
    blocks = list(TARGETS_BLOCK.finditer(text))
    assert [m["name"] for m in blocks] == big_presets()
    for m in blocks:
        body = text[m.end(1) : m.start(3)]
        assert body == targets_block(m["name"], RESULTS) and "addresses disclosed" in body


@pytest.mark.parametrize("name", _published())
def test_metrics_recompute_from_raw(name: str) -> None:
    recomputed = compute_metrics(RESULTS / name)
    published = pd.read_csv(RESULTS / name / "metrics.csv")
    assert (published.pop("status") == "run").all()  # every published method ran
    pd.testing.assert_frame_equal(recomputed, published, check_dtype=False, rtol=1e-11)


def test_readme_headline_blocks_match_results() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    assert blocks, "README has no headline block"
    for m in blocks:
        body = text[m.end(1) : m.start(3)]
        assert body == readme_block(m["name"], RESULTS), (
            f"README headline for {m['name']} is stale: run `linkrisk publish`"
        )


def test_readme_cause_blocks_match_results() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(CAUSES_BLOCK.finditer(text))
    assert blocks, "README has no causes block"
    for m in blocks:
        assert text[m.end(1) : m.start(3)] == causes_block(m["name"], RESULTS), "stale"


def test_readme_calibration_blocks_match_results() -> None:
    """The README's headline (the calibrated answer) is the published calibration's summary,
    which its manifest vouches for, of a calibration of the preset as it stands."""
    from bench.linkage.config import load_benchmark
    from bench.scale.calibration import SUMMARY_FILE
    from synthetic.scenario import config_hash

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(CALIBRATION_BLOCK.finditer(text))
    assert blocks, "README has no calibration block"
    for m in blocks:
        out = RESULTS / "calibration" / m["name"]
        assert text[m.end(1) : m.start(3)] == calibration_block(m["name"], RESULTS / "calibration")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        summary = (out / SUMMARY_FILE).read_bytes()
        assert manifest["files"][SUMMARY_FILE] == hashlib.sha256(summary).hexdigest()
        bench = load_benchmark(m["name"])
        config = {**bench.data, "calibration": bench.calibration}
        assert manifest["config_sha256"] == config_hash(config), (
            f"results/calibration/{m['name']} is of another configuration: run `linkrisk publish`"
        )


def test_readme_audit_model_blocks_match_results() -> None:
    from bench.publish import AUDIT_BLOCK, audit_block, published_presets

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = {m["name"]: m for m in AUDIT_BLOCK.finditer(text)}
    assert sorted(blocks) == sorted(published_presets())  # one verdict per published preset
    for name, m in blocks.items():
        body = text[m.end(1) : m.start(3)]
        assert body == audit_block(name, RESULTS / "audit"), "stale: run `linkrisk publish`"
        assert (RESULTS / "audit" / name / "model_calibration.png").is_file()


def test_readme_projection_and_figure_come_from_results() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(PROJECTION_BLOCK.finditer(text))
    assert blocks, "README has no projection block"
    for m in blocks:
        body = text[m.end(1) : m.start(3)]
        assert body == projection_block(m["name"], RESULTS / "projections"), "stale"
        assert "first-last-dob" in body
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (ROOT / image).is_file(), image


def test_readme_lists_every_noise_type() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = NOISE_BLOCK.search(text)
    assert m, "README has no noise-types block"
    assert text[m.end(1) : m.start(2)] == noise_table(), "stale: run `linkrisk publish`"


def test_published_default_report_opens_in_headless_chromium() -> None:
    from bench.report.checks import check_in_browser, find_browser

    if find_browser() is None:
        pytest.skip("no Chromium found (install one, or set LINKRISK_CHROMIUM)")
    check = check_in_browser(RESULTS / "irs-ice" / "report.html")
    assert check.ok, check.problems
    assert "ratios-group" in check.figures and len(check.figures) >= 10
