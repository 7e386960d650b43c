"""Splink on Spark (local mode): it runs, finds the true links of clean data, and agrees with
the DuckDB engine. Run with ``python3 dev.py spark`` (``pytest -m spark --spark``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.linkage.blocking import block
from bench.linkage.fields import PreparedTask
from bench.linkage.methods import METHODS, Method
from tests.conftest import TINY, clean_task
from tests.test_splink import BLOCKING, SPLINK_ONLY

pytestmark = pytest.mark.spark


def _method(engine: str) -> Method:
    cls = METHODS["splink"]
    params = cls.validate({"u_max_pairs": 100_000, "engine": engine}, "m")
    return cls(f"splink-{engine}", params, "best")


@pytest.fixture(scope="module")
def scored():
    """The clean task's candidates scored by the same model on both engines."""
    task = clean_task(seed=3)
    prep = PreparedTask(task, seed=1)
    cands, _ = block(prep, BLOCKING)
    return task, {e: _method(e).score(prep, cands) for e in ("duckdb", "spark")}


def test_spark_finds_the_true_links_of_clean_data(scored) -> None:
    task, by_engine = scored
    s = by_engine["spark"]
    truth = set(zip(task.truth.query_row.tolist(), task.truth.register_row.tolist(), strict=True))
    accepted = set(
        zip(s.query_row[s.accept].tolist(), s.register_row[s.accept].tolist(), strict=True)
    )
    assert accepted == truth


def test_spark_agrees_with_duckdb(scored) -> None:
    _, by_engine = scored
    d, s = by_engine["duckdb"], by_engine["spark"]
    assert np.array_equal(d.query_row, s.query_row) and np.array_equal(
        d.register_row, s.register_row
    )
    assert np.array_equal(d.accept, s.accept)
    # Both sample u by hashing record ids, but with each engine's own hash: close, not equal.
    assert np.abs(d.score.astype(np.float64) - s.score).max() < 0.01


def test_cli_run_engine_spark(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY + SPLINK_ONLY, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", str(scenario), "--engine", "spark", "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "raw" / "run.json").read_text())["engine"] == "spark"
    assert json.loads((out / "raw" / "splink.json").read_text())["params"]["engine"] == "spark"
