"""Big-file scenarios (shard_size): shards, categoricals and DuckDB joins give the same results
as the in-memory path."""

from __future__ import annotations

import filecmp
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import synthetic.population as P
from bench.linkage.config import parse_benchmark
from bench.runner import run
from synthetic.errors import ConfigError
from tests.conftest import TINY

DEFAULTS = Path(__file__).parents[1] / "bench" / "defaults.toml"


def _scenario(shard_size: int | None) -> dict:
    data = tomllib.loads(TINY)
    defaults = tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))
    data["blocking"] = defaults["blocking"]
    # A big-file run builds no training task: every default method but the supervised one.
    data["methods"] = [m for m in defaults["methods"] if m["kind"] != "logistic"]
    if shard_size is not None:
        data["scenario"]["shard_size"] = shard_size
    return data


def _quiet(out_dir: Path) -> dict:
    return {"out_dir": out_dir, "progress": False, "html": False}


def test_sharded_run_equals_in_memory_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(P, "BLOCK_SIZE", 2500)  # the 6,000-person scenario spans 3 blocks
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the working shards go
    # No report.html: its figures are drawn from the files compared below, and took a third of
    # the test's time.
    memory = run(parse_benchmark(_scenario(None), "tiny"), **_quiet(tmp_path / "a"))
    sharded = run(parse_benchmark(_scenario(700), "tiny"), **_quiet(tmp_path / "b"))
    pd.testing.assert_frame_equal(memory.metrics, sharded.metrics)
    files = ["metrics.csv", "causes.csv", "missed_causes.csv", "subgroups.csv", "sweeps.csv"]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "tmp"]
    assert list(scratch.iterdir()) == []  # the working shards are removed


def test_sharded_run_refuses_trained_methods_and_replicates(tmp_path: Path) -> None:
    data = _scenario(700)
    data["methods"].append({"name": "logistic", "kind": "logistic"})
    with pytest.raises(ConfigError, match="training task"):
        run(parse_benchmark(data, "tiny"), out_dir=tmp_path / "x", progress=False)
    with pytest.raises(ConfigError, match="one replicate"):
        run(parse_benchmark(_scenario(700), "tiny"), out_dir=tmp_path / "y", replicates=2)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
