"""Big-file scenarios (shard_size): shards, categoricals and DuckDB joins give the same results
as the in-memory path."""

from __future__ import annotations

import filecmp
import json
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


def test_sharded_run_equals_in_memory_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(P, "BLOCK_SIZE", 2500)  # the 6,000-person scenario spans 3 blocks
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the working shards go
    memory = run(parse_benchmark(_scenario(None), "tiny"), out_dir=tmp_path / "a", progress=False)
    sharded = run(parse_benchmark(_scenario(700), "tiny"), out_dir=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(memory.metrics, sharded.metrics)
    files = ["metrics.csv", "causes.csv", "missed_causes.csv", "subgroups.csv", "sweeps.csv"]
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []
    # attribution's inputs, read from the shards (ShardSide) rather than held in memory
    info = [json.loads((tmp_path / d / "raw" / "run.json").read_text()) for d in "ab"]
    assert info[0]["noise_cells"] == info[1]["noise_cells"]
    for name in ("register_people", "noise_log"):
        a, b = (pd.read_parquet(tmp_path / d / "raw" / f"{name}.parquet") for d in "ab")
        pd.testing.assert_frame_equal(a, b, check_categorical=False, check_dtype=False)
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
