"""The scale presets are the default case at another size: ``irs-ice-1in10`` (and the 1:100
example beside it) must differ from ``irs-ice`` only in what sets the size and the run's
bookkeeping, so that a direct simulation at scale checks the same case that is calibrated and
projected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.linkage.config import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
#: What a scale preset may set differently: its name and words, its size, how it is run.
SCALE_KEYS = {
    "scenario.name",
    "scenario.description",
    "scenario.replicates",
    "scenario.project",
    "scenario.shard_size",
    "population.size",
    "query.size",
}


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _differences(preset: str) -> list[str]:
    base = _flat(load_benchmark("irs-ice").data)
    other = _flat(load_benchmark(preset).data)
    return sorted(
        k for k in set(base) | set(other) if k not in SCALE_KEYS and base.get(k) != other.get(k)
    )


def test_the_comparison_sees_a_difference() -> None:
    assert _differences("crosscheck")  # another case: many differences


@pytest.mark.parametrize(
    "preset",
    ["irs-ice-1in10", str(ROOT / "examples" / "scale" / "irs-ice-1in100.toml")],
    ids=["1in10", "1in100"],
)
def test_scale_presets_are_the_default_case_at_another_size(preset: str) -> None:
    assert _differences(preset) == []
