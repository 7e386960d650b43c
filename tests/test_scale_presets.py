"""Scale presets are another scenario at another size: a scenario with ``[scenario] scale_of =
"<preset>"`` (``irs-ice-1in10``, and the 1:100 example beside it) must differ from that preset
only in what sets the size and the run's bookkeeping, so that a direct simulation at scale
checks the same case that is calibrated and projected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bench.linkage.config import load_benchmark, parse_benchmark, presets
from synthetic.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
#: What a scale preset may set differently: its name and words, its size, how it is run.
SCALE_KEYS = {
    "scenario.name",
    "scenario.description",
    "scenario.replicates",
    "scenario.project",
    "scenario.shard_size",
    "scenario.scale_of",
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


#: What a scale preset may also set, because candidate pairs grow with the square of the size:
#: the scored methods' blocking, the methods it leaves out (never a rule: rules are what is
#: calibrated and projected) and the pair limits of the rules it keeps
#: (:func:`test_a_scale_preset_keeps_every_rule_as_it_is`).
SIZE_BOUND_KEYS = {"blocking.passes", "blocking.max_pairs", "methods"}


def _differences(preset: str, base_name: str = "irs-ice") -> list[str]:
    base = _flat(load_benchmark(base_name).data)
    other = _flat(load_benchmark(preset).data)
    allowed = SCALE_KEYS | SIZE_BOUND_KEYS
    return sorted(
        k for k in set(base) | set(other) if k not in allowed and base.get(k) != other.get(k)
    )


def test_the_comparison_sees_a_difference() -> None:
    assert _differences("crosscheck")  # another case: many differences


#: Every scenario that declares itself a scaled copy: presets and the scale examples.
SCALED = [
    name
    for name in [*presets(), *map(str, sorted((ROOT / "examples" / "scale").glob("*.toml")))]
    if load_benchmark(name).scenario.scale_of is not None
]


def test_the_scale_presets_declare_their_base() -> None:
    assert "irs-ice-1in10" in SCALED
    assert str(ROOT / "examples" / "scale" / "irs-ice-1in100.toml") in SCALED


@pytest.mark.parametrize("preset", SCALED, ids=[Path(p).stem for p in SCALED])
def test_scale_presets_are_their_base_at_another_size(preset: str) -> None:
    base = load_benchmark(preset).scenario.scale_of
    assert base is not None and _differences(preset, base) == []


@pytest.mark.parametrize("preset", SCALED, ids=[Path(p).stem for p in SCALED])
def test_a_scale_preset_keeps_every_rule_as_it_is(preset: str) -> None:
    """It may leave scored methods out, and raise a rule's pair limit; nothing else."""
    base_name = load_benchmark(preset).scenario.scale_of
    assert base_name is not None
    base = {m["name"]: m for m in load_benchmark(base_name).data["methods"]}
    own = {m["name"]: m for m in load_benchmark(preset).data["methods"]}
    assert set(own) <= set(base)
    assert all(base[name]["kind"] != "rule" for name in set(base) - set(own))
    for name, method in own.items():
        assert {k: v for k, v in method.items() if k != "max_pairs"} == {
            k: v for k, v in base[name].items() if k != "max_pairs"
        }, name


def test_the_full_preset_is_the_real_size_with_bounded_passes() -> None:
    full, base = load_benchmark("irs-ice-full"), load_benchmark("irs-ice")
    assert full.scenario.query.size == 1_280_000
    assert full.scenario.population.size == 331_000_000
    assert full.scenario.scale_of == "irs-ice" and full.scenario.shard_size is not None
    assert {m.name for m in base.methods} - {m.name for m in full.methods} == {
        "ecm-recordlinkage",
        "logistic",
    }
    assert full.max_pairs > base.max_pairs  # the first + last name pass, ~120 million pairs
    assert len(full.blocking) == len(base.blocking)


def test_scale_of_must_name_a_scenario() -> None:
    data = copy.deepcopy(load_benchmark("irs-ice-1in10").data)
    data["scenario"]["scale_of"] = "irs ice"
    with pytest.raises(ConfigError, match=r"scenario\.scale_of"):
        parse_benchmark(data, "x")
