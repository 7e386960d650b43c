"""Benchmark configuration: a scenario file's data sections plus blocking and methods.

A scenario TOML may carry ``[blocking]`` and ``[[methods]]``; when it does not, the defaults in
``bench/defaults.toml`` apply. Presets are the TOML files in ``bench/scenarios/``; a scenario is
named either by preset name or by path.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.linkage.blocking import DEFAULT_MAX_PAIRS, Key, blocking_max_pairs, validate_blocking
from bench.linkage.methods import METHODS, Method
from bench.linkage.methods.base import RESOLVE_MODES
from synthetic.config import check_keys, identifier, read_toml, read_toml_text, shown
from synthetic.errors import ConfigError
from synthetic.scenario import DATA_SECTIONS, ScenarioConfig, config_hash, parse_scenario

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # bench/: the presets and defaults
SCENARIO_DIR = PACKAGE_DIR / "scenarios"
DEFAULTS_FILE = PACKAGE_DIR / "defaults.toml"
LINKAGE_SECTIONS = ("blocking", "methods")
#: Sections of a scenario file read by other commands than ``run``, never by ``synthetic``:
#: ``[calibration]`` (``linkrisk calibrate``, :mod:`bench.scale.calibration`). They are kept apart
#: from the run's configuration (``Benchmark.data``), so adding one changes no run's bytes.
COMMAND_SECTIONS = ("calibration",)


@dataclass(frozen=True)
class Benchmark:
    """Everything needed to run one scenario: validated data config, blocking and methods."""

    name: str
    source: str  # preset name or the path given by the user
    data: dict[str, Any]  # the effective configuration (defaults filled in), for hashing
    scenario: ScenarioConfig
    blocking: list[list[Key]]
    methods: list[Method]
    #: The scenario file's text (its comments cite the sources of the values), when read from one.
    text: str | None = None
    #: The scenario's ``[calibration]`` table as written (validated by
    #: :func:`bench.scale.calibration.parse_calibration`), None when it has none.
    calibration: dict[str, Any] | None = None
    #: The most pairs one blocking pass may propose (``[blocking] max_pairs``).
    max_pairs: int = DEFAULT_MAX_PAIRS

    @property
    def config_hash(self) -> str:
        return config_hash(self.data)


def presets() -> list[str]:
    """Names of the shipped scenario presets."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def scenario_path(name_or_path: str) -> Path:
    """Resolve a preset name or a TOML path."""
    if name_or_path in presets():
        return SCENARIO_DIR / f"{name_or_path}.toml"
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        known = ", ".join(presets())
        raise ConfigError(shown(name_or_path), f"no such preset or file (presets: {known})")
    return path


def load_benchmark(name_or_path: str) -> Benchmark:
    """Read, validate and complete a scenario; errors name the file and the offending key."""
    path = scenario_path(name_or_path)
    data, text = read_toml_text(path)  # read once: a second read could see another file
    try:
        bench = parse_benchmark(data, source=name_or_path)
    except ConfigError as exc:
        named = shown(path)
        raise ConfigError(f"{named}: {exc.where}" if exc.where else named, exc.problem) from None
    return dataclasses.replace(bench, text=text)


def parse_benchmark(data: dict[str, Any], source: str = "<config>") -> Benchmark:
    """Validate a parsed scenario mapping and fill in default blocking and methods."""
    check_keys(data, (*DATA_SECTIONS, *LINKAGE_SECTIONS, *COMMAND_SECTIONS), "")
    defaults = read_toml(DEFAULTS_FILE)
    effective = copy.deepcopy(data)
    calibration = effective.pop("calibration", None)  # not the run's: bench.calibration's
    for section in LINKAGE_SECTIONS:
        effective.setdefault(section, copy.deepcopy(defaults[section]))
    scenario = parse_scenario(effective)
    blocking = validate_blocking(effective["blocking"], "blocking")
    methods = parse_methods(effective["methods"], "methods")
    max_pairs = blocking_max_pairs(effective["blocking"], "blocking")
    return Benchmark(
        scenario.name,
        source,
        effective,
        scenario,
        blocking,
        methods,
        calibration=calibration,
        max_pairs=max_pairs,
    )


def parse_methods(spec: Any, where: str) -> list[Method]:
    """Instantiate ``[[methods]]`` entries (each: name, kind, optional resolve, parameters)."""
    if not isinstance(spec, list) or not spec:
        raise ConfigError(where, "must be a non-empty array of tables ([[methods]])")
    methods: list[Method] = []
    for i, entry in enumerate(spec):
        w = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(w, "must be a table")
        name = identifier(entry, "name", w, "it names the method's raw files")
        kind = entry.get("kind")
        if any(m.name == name for m in methods):
            raise ConfigError(f"{w}.name", f"duplicate method name {name!r}")
        if kind not in METHODS:
            raise ConfigError(f"{w}.kind", f"unknown method kind {kind!r} ({', '.join(METHODS)})")
        cls = METHODS[kind]
        resolve = entry.get("resolve", cls.default_resolve)
        if resolve not in RESOLVE_MODES:
            raise ConfigError(f"{w}.resolve", f"must be one of {', '.join(RESOLVE_MODES)}")
        params = {k: v for k, v in entry.items() if k not in ("name", "kind", "resolve")}
        methods.append(cls(name, cls.validate(params, w), resolve))
    return methods


__all__ = [
    "COMMAND_SECTIONS",
    "Benchmark",
    "load_benchmark",
    "parse_benchmark",
    "parse_methods",
    "presets",
]
