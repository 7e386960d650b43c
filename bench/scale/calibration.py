"""Calibration to published counts: which values of a scenario's unknowns reproduce what was
published, and what error counts those values imply (``linkrisk calibrate SCENARIO``).

A scenario declares ``[calibration]``::

    [calibration]
    list_size = 1_280_000        # the real list's size: every count is scaled to it
    points = 64                  # design size (points of the space-filling design)
    seed = 2025                  # optional (default: the scenario's seed)
    replicates_per_point = 1     # optional: populations pooled at each point
    dispersion_runs = 5          # optional: populations at the box's centre measuring dispersion
    size_scale = 1.0             # optional: simulate population.size and query.size times this
    waves = 1                    # optional: 2 = history matching (a second, refined design)

    [[calibration.targets]]      # published counts, each with its precision and source
    name = "verified"
    method = "name-control-zip"  # a method of the scenario
    metric = "verified"          # a count of summary.csv (COUNT_METRICS)
    path = "1"                   # optional: one pass of a rule (PATH_METRICS only)
    value = 47289
    rel_precision = 0.01         # or precision = 473 (absolute); a 95% half-width
    source = "IRS declaration, 2026-02-11"

    [[calibration.unknowns]]     # what was not published: a range each, and why
    key = "query.share_in_register"
    low = 0.05
    high = 0.6
    why = "not public"

    [[calibration.outputs]]      # optional: the counts to answer (default: FP and wrong_people
    name = "fp"                  #   of every target's method)
    method = "name-control-zip"
    metric = "FP"

The loop (:func:`calibrate`):

1. **Design**: a scrambled Latin hypercube (``scipy.stats.qmc``, seeded from the calibration
   seed) of ``points`` points over the unknowns' box.
2. **Simulation**: at each point, the scenario with those values (``size_scale`` applied) is
   generated and only the methods the targets and outputs name are run, on the same population
   seeds at every point (common random numbers: the points differ by their unknowns only).
   Counts are those of ``summary.csv`` (:func:`bench.measurement.metrics.confusion`), pooled over
   ``replicates_per_point`` populations.
3. **Dispersion** (:func:`dispersion`): counts vary between populations more than a Poisson
   count does (false matches cluster in households, ZIP codes and common surnames: one
   population's name + ZIP false matches can differ from another's by 20%). Before the design,
   the scenario at the centre of the box is simulated on ``dispersion_runs`` populations; each
   count's dispersion factor is ``phi = max(1, s**2 / mean) x (t / z)**2``: the variance across
   populations over the Poisson variance, times the squared ratio of the t quantile (K - 1
   degrees of freedom) to the normal one, because s is estimated from K populations only. It is
   assumed the same over the box.
4. **Scaling**: a simulated count c over n queries stands for ``c / n x list_size``; its
   sampling interval is the exact (Garwood) Poisson interval of c with both half-widths times
   ``sqrt(phi)`` (quasi-Poisson), scaled the same way.
5. **Consistency** (:func:`consistent`): a point reproduces a target when
   ``|scaled - value| <= sqrt(precision**2 + h**2)``, h being the half-width of the scaled
   interval on the side of the value (the precision is read as a 95% half-width of the published
   count; both half-widths at the same level add in quadrature). The *consistent region* is the
   set of points that reproduce every target (rejection sampling under a uniform prior over the
   box).
6. **Implied counts** (:func:`implied`): for each output, every consistent point contributes
   :data:`DRAWS` draws of its count at the real list size: a rate per query from the Jeffreys
   posterior of its simulated count c (quasi-Poisson: Gamma(c / phi + 1/2, scale phi / n)), then
   a Poisson count of list_size queries at that rate (seeded per output). The pooled draws' 2.5%
   and 97.5% quantiles are the interval: it carries the spread over the consistent region, the
   sampling error and the variation between populations.
7. **Sensitivity**: a tornado (each unknown at its low and high end, the others at the median
   of the consistent region, or the box's centre if no point is consistent: ``2d + 1`` extra
   runs) and first-order global indices over the design runs (SALib's RBD-FAST, which accepts
   any sample; at least :data:`MIN_GLOBAL_POINTS` points).

With ``waves = 2`` (history matching), step 5 first screens the first wave: a point whose
count lies more than :data:`IMPLAUSIBILITY_CUTOFF` standard deviations from some target is
*implausible* (:func:`implausibility`); a second design of as many points fills the box around
the points that are not (:func:`refine`), and steps 6 and 7 rest on the second wave's consistent
points: a uniform sample of a box that holds every consistent point of the first wave, so the
rejection-sampling reading of step 5 still holds, with more points where the answer lies.

The link to the metrics is one function, :func:`target_count`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import itertools
import math
import multiprocessing
import platform
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from tabulate import tabulate
from tqdm import tqdm

from bench.interrupts import sigint_held
from bench.linkage.blocking import block
from bench.linkage.config import Benchmark, load_benchmark, parse_benchmark, presets, scenario_path
from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method
from bench.measurement.metrics import confusion
from bench.measurement.uncertainty import garwood
from bench.report.calibration import region_figure, save_png, tornado_figure
from bench.runs.store import RESULTS_DIR, atomic_dir
from bench.runs.writers import write_csv, write_json
from bench.tasks import replicate_seed, scored_frame, training_seed
from synthetic.config import check_keys, identifier, join, number, shown, string
from synthetic.errors import ConfigError
from synthetic.precision import round_float
from synthetic.rng import stable_hash, stream
from synthetic.scenario import build_task, config_hash

#: Where ``linkrisk calibrate`` writes by default: ``results/calibration/<scenario>``.
CALIBRATION_DIR = RESULTS_DIR / "calibration"
#: Counts a target or output may name: those of ``summary.csv`` that grow with the list.
COUNT_METRICS: tuple[str, ...] = (
    "declared",
    "verified",
    "TP",
    "FP",
    "FN",
    "wrong_people",
    "blocking_loss",
    "true_links",
    "unverified_address",
)
#: Counts of one path (one pass of a rule): what the pass declared. FN has no meaning per path.
PATH_METRICS: tuple[str, ...] = (
    "declared",
    "verified",
    "TP",
    "FP",
    "wrong_people",
    "unverified_address",
)
#: Confidence level of every interval (sampling, implied counts) and of the precisions.
LEVEL = 0.95
#: Draws per consistent point of an implied count (:func:`implied`).
DRAWS = 2000
#: Fewest design points for global sensitivity indices (RBD-FAST needs a few per harmonic).
MIN_GLOBAL_POINTS = 16
#: Most unknowns (the corners of their box are all validated: 2**d scenarios).
MAX_UNKNOWNS = 10
MAX_POINTS = 100_000
FORMAT = "linkrisk calibration"

_CAL_KEYS = (
    "list_size",
    "points",
    "seed",
    "replicates_per_point",
    "dispersion_runs",
    "size_scale",
    "waves",
)
_TARGET_KEYS = (
    "name", "method", "metric", "path", "label", "value", "precision", "rel_precision", "source",
)  # fmt: skip
_UNKNOWN_KEYS = ("key", "low", "high", "why")
_OUTPUT_KEYS = ("name", "method", "metric", "path", "label")


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Quantity:
    """A count of one method (optionally of one path of it) scaled to the list size."""

    name: str
    method: str
    metric: str
    path: str | None = None
    #: What the count is, in words a non-programmer reads (default: the name).
    label: str = ""

    @property
    def words(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Target(Quantity):
    """A published count: ``value`` within ``precision`` (absolute, a 95% half-width)."""

    value: float = 0.0
    precision: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class Unknown:
    """An unpublished scenario value (dotted ``key`` into the scenario) and its range."""

    key: str
    low: float
    high: float
    why: str
    integer: bool = False

    def at(self, u: float) -> float | int:
        """The value at the unit coordinate ``u`` (0: low, 1: high)."""
        x = self.low + float(u) * (self.high - self.low)
        return round(x) if self.integer else round_float(x)


@dataclass(frozen=True)
class Calibration:
    """A validated ``[calibration]`` section."""

    list_size: int
    points: int
    seed: int
    replicates: int
    size_scale: float
    targets: tuple[Target, ...]
    unknowns: tuple[Unknown, ...]
    outputs: tuple[Quantity, ...]
    dispersion_runs: int = 5
    #: 1: one design over the whole box. 2: history matching in two waves: the second design
    #: fills the box around the first wave's points that are not implausible (:func:`refine`).
    waves: int = 1

    @property
    def quantities(self) -> tuple[Quantity, ...]:
        return (*self.targets, *self.outputs)

    @property
    def methods(self) -> list[str]:
        """The methods to run at each point (targets' and outputs'), in first-named order."""
        return list(dict.fromkeys(q.method for q in self.quantities))

    def unknown(self, key: str) -> Unknown:
        """The unknown of ``key``."""
        return next(u for u in self.unknowns if u.key == key)


def load_calibration(
    name_or_path: str, points: int | None = None, seed: int | None = None
) -> tuple[Benchmark, Calibration]:
    """Read a scenario and validate its ``[calibration]``; errors name the file, the field and
    the problem. ``points``/``seed``: override the section's."""
    bench = load_benchmark(name_or_path)
    try:
        cal = parse_calibration(bench, points=points, seed=seed)
    except ConfigError as exc:
        named = shown(scenario_path(name_or_path))
        raise ConfigError(f"{named}: {exc.where}" if exc.where else named, exc.problem) from None
    return bench, cal


def parse_calibration(
    bench: Benchmark, *, points: int | None = None, seed: int | None = None
) -> Calibration:
    """Validate ``bench.calibration`` against the scenario: methods, metrics and paths exist;
    every unknown's key exists and every value of its range (both ends, and every corner of the
    unknowns' box) gives a valid scenario."""
    w = "calibration"
    spec = bench.calibration
    if spec is None:
        raise ConfigError(w, "missing section: the scenario declares no [calibration]")
    if not isinstance(spec, Mapping):
        raise ConfigError(w, "must be a table")
    check_keys(spec, (*_CAL_KEYS, "targets", "unknowns", "outputs"), w)
    list_size = int(number(spec, "list_size", w, lo=1, hi=10**10, integer=True))
    n_points = int(number(spec, "points", w, lo=2, hi=MAX_POINTS, integer=True))
    cal_seed = int(
        number(spec, "seed", w, default=bench.scenario.seed, lo=0, hi=2**63 - 1, integer=True)
    )
    replicates = int(number(spec, "replicates_per_point", w, default=1, lo=1, hi=100, integer=True))
    dispersion_runs = int(number(spec, "dispersion_runs", w, default=5, lo=2, hi=100, integer=True))
    waves = int(number(spec, "waves", w, default=1, lo=1, hi=2, integer=True))
    scale = float(number(spec, "size_scale", w, default=1.0, lo=0.0, hi=1.0))
    if scale <= 0:
        raise ConfigError(join(w, "size_scale"), "must be > 0")
    methods = {m.name: m for m in bench.methods}
    targets = tuple(
        _target(t, f"{w}.targets[{i}]", methods) for i, t in enumerate(_array(spec, "targets", w))
    )
    outputs_spec = spec.get("outputs")
    if outputs_spec is None:  # the answer by default: false matches and wrong people
        outputs = tuple(
            Quantity(f"{m}.{metric}", m, metric)
            for m in dict.fromkeys(t.method for t in targets)
            for metric in ("FP", "wrong_people")
        )
    else:
        outputs = tuple(
            _quantity(o, f"{w}.outputs[{i}]", methods, _OUTPUT_KEYS)
            for i, o in enumerate(_array(spec, "outputs", w))
        )
    names = [q.name for q in (*targets, *outputs)]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(w, f"duplicate target/output name {name!r}")
    unknowns = tuple(
        _unknown(u, f"{w}.unknowns[{i}]", bench) for i, u in enumerate(_array(spec, "unknowns", w))
    )
    keys = [u.key for u in unknowns]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ConfigError(f"{w}.unknowns[{i}].key", f"duplicate unknown {key!r}")
    if len(unknowns) > MAX_UNKNOWNS:
        raise ConfigError(join(w, "unknowns"), f"at most {MAX_UNKNOWNS} unknowns")
    for corner in itertools.product((0.0, 1.0), repeat=len(unknowns)):
        values = {u.key: u.at(c) for u, c in zip(unknowns, corner, strict=True)}
        try:
            point_benchmark(bench, values)
        except ConfigError as exc:
            shown_values = ", ".join(f"{k} = {v}" for k, v in values.items())
            raise ConfigError(
                join(w, "unknowns"), f"the corner {shown_values} is not a valid scenario ({exc})"
            ) from None
    if points is not None:
        if not 2 <= points <= MAX_POINTS:
            raise ConfigError("--points", f"must be in [2, {MAX_POINTS:,}], got {points}")
        n_points = points
    return Calibration(
        list_size,
        n_points,
        cal_seed if seed is None else seed,
        replicates,
        scale,
        targets,
        unknowns,
        outputs,
        dispersion_runs,
        waves,
    )


def _array(spec: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = spec.get(key)
    if value is None:
        raise ConfigError(join(where, key), f"missing: declare at least one [[{where}.{key}]]")
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ConfigError(
            join(where, key), f"must be a non-empty array of tables ([[{where}.{key}]])"
        )
    return value


def _quantity(
    spec: dict[str, Any], w: str, methods: Mapping[str, Method], keys: Sequence[str]
) -> Quantity:
    check_keys(spec, keys, w)
    name = identifier(spec, "name", w, "it names columns of points.csv")
    method = string(spec, "method", w)
    if method not in methods:
        raise ConfigError(join(w, "method"), f"not a method of the scenario ({', '.join(methods)})")
    path = spec.get("path")
    if path is not None:
        path = string(spec, "path", w)
        known = paths_of(methods[method])
        if path not in known:
            have = f"its paths: {', '.join(known)}" if known else "it has no paths"
            raise ConfigError(join(w, "path"), f"unknown path {path!r} of {method} ({have})")
    allowed = COUNT_METRICS if path is None else PATH_METRICS
    metric = string(spec, "metric", w, choices=allowed)
    label = string(spec, "label", w).strip() if "label" in spec else ""
    return Quantity(name, method, metric, path, label)


def _target(spec: dict[str, Any], w: str, methods: Mapping[str, Method]) -> Target:
    q = _quantity(spec, w, methods, _TARGET_KEYS)
    value = float(number(spec, "value", w, lo=0.0))
    if ("precision" in spec) == ("rel_precision" in spec):
        raise ConfigError(
            w, "give one of precision (absolute, ±) or rel_precision (share of value)"
        )
    if "precision" in spec:
        precision = float(number(spec, "precision", w, lo=0.0))
    else:
        precision = value * float(number(spec, "rel_precision", w, lo=0.0, hi=1.0))
    source = string(spec, "source", w)
    if not source.strip():
        raise ConfigError(join(w, "source"), "must cite where the value was published")
    return Target(q.name, q.method, q.metric, q.path, q.label, value, precision, source.strip())


def _unknown(spec: dict[str, Any], w: str, bench: Benchmark) -> Unknown:
    check_keys(spec, _UNKNOWN_KEYS, w)
    key = string(spec, "key", w)
    parts = key.split(".")
    if len(parts) < 2 or not all(parts) or parts[0] not in ("population", "register", "query"):
        raise ConfigError(
            join(w, "key"),
            f"must be a dotted key of [population], [register] or [query], got {key!r}",
        )
    low = number(spec, "low", w)
    high = number(spec, "high", w)
    if not low < high:
        raise ConfigError(w, f"low must be below high, got low = {low}, high = {high}")
    why = string(spec, "why", w)
    if not why.strip():
        raise ConfigError(join(w, "why"), "must say why the value is unknown")
    unknown = Unknown(key, float(low), float(high), why.strip())
    # An integer key (e.g. population.people_per_zip) refuses the fractional values of a design:
    # its points are rounded to whole numbers.
    mid = float(low + (high - low) / 2)
    try:
        point_benchmark(bench, {key: mid})
    except ConfigError:
        with contextlib.suppress(ConfigError):
            point_benchmark(bench, {key: round(mid)})
            unknown = dataclasses.replace(unknown, integer=True)
    for end, u in (("low", 0.0), ("high", 1.0), ("middle", 0.5)):
        try:
            point_benchmark(bench, {key: unknown.at(u)})
        except ConfigError as exc:
            where = join(w, end) if end != "middle" else w
            raise ConfigError(
                where, f"{unknown.at(u)} is not a valid value of {key} ({exc})"
            ) from None
    return unknown


# ----------------------------------------------------------------------------- the metrics
def paths_of(method: Method) -> list[str]:
    """The paths of a method that targets may name: the names of a rule's named passes
    (:meth:`bench.linkage.methods.base.Method.path_names`), else none."""
    return list(method.path_names() or [])


@dataclass
class PointResult:
    """What one simulated point keeps: counts per method (``metrics``: the Confusion counts of
    summary.csv) and per path (``paths[method][path]``), pooled over its populations."""

    queries: int
    metrics: dict[str, dict[str, int]]
    paths: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def target_count(
    result: PointResult, method: str, metric: str, path: str | None = None
) -> tuple[int, int]:
    """The simulated count of ``metric`` of ``method`` (of one of its paths when ``path``) at a
    point, and the number of queries it was counted over. The one link between calibration and
    the metrics: add a metric to :data:`COUNT_METRICS` (or :data:`PATH_METRICS`) and to what
    :func:`method_counts` stores, and targets can name it."""
    allowed = COUNT_METRICS if path is None else PATH_METRICS
    if metric not in allowed:
        raise ConfigError("metric", f"unknown metric {metric!r} (known: {', '.join(allowed)})")
    if method not in result.metrics:
        raise ConfigError("method", f"{method!r} was not run at this point")
    if path is None:
        return int(result.metrics[method][metric]), result.queries
    paths = result.paths.get(method, {})
    if path not in paths:
        raise ConfigError("path", f"unknown path {path!r} of {method} (paths: {', '.join(paths)})")
    return int(paths[path][metric]), result.queries


def method_counts(
    m: Method, frame: pd.DataFrame, truth: pd.DataFrame, n_query: int, n_register: int
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """A method's counts on one task from its scored frame (as ``summary.csv`` counts them),
    and per path (:func:`paths_of`) the counts of the links that path declared."""
    q, r = frame["query_row"].to_numpy(), frame["register_row"].to_numpy()
    link = frame["link"].to_numpy()
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    considered = (q, r) if m.uses_blocking() else None
    agree = frame["address_match"].to_numpy()
    conf = confusion(
        q[link], r[link], tq, tr, n_query, n_register, considered=considered,
        address_match=agree[link],
    )  # fmt: skip
    counts = {k: int(v) for k, v in conf.as_dict().items() if k in COUNT_METRICS}
    paths: dict[str, dict[str, int]] = {}
    names = paths_of(m)
    if names:
        path = frame["path"].to_numpy()
        for k, name in enumerate(names):
            sel = link & (path == k)
            c = confusion(
                q[sel], r[sel], tq, tr, n_query, n_register, address_match=agree[sel]
            ).as_dict()
            paths[name] = {key: int(c[key]) for key in PATH_METRICS}
    return counts, paths


def run_point(run_dir: Path) -> PointResult:
    """A finished run's counts (``metrics.csv``, ``paths.csv``) as a calibration point: to set
    a direct simulation at another size beside the published targets (:func:`direct_targets`)."""
    metrics = pd.read_csv(Path(run_dir) / "metrics.csv")
    ran = metrics[metrics["status"] == "run"]
    counts = {
        str(r["method"]): {m: int(r[m]) for m in COUNT_METRICS} for r in ran.to_dict("records")
    }
    paths: dict[str, dict[str, dict[str, int]]] = {}
    if (Path(run_dir) / "paths.csv").exists():
        for r in pd.read_csv(Path(run_dir) / "paths.csv").to_dict("records"):
            paths.setdefault(str(r["method"]), {})[str(r["path"])] = {
                m: int(r[m]) for m in PATH_METRICS
            }
    return PointResult(int(ran["queries"].iloc[0]), counts, paths)


def direct_targets(cal: Calibration, run_dir: Path) -> pd.DataFrame:
    """Each published target beside a direct run's count, scaled to the real list size with
    its exact Poisson interval, and whether it lies within the target's precision."""
    point = run_point(run_dir)
    rows = []
    for t in cal.targets:
        k, n = target_count(point, t.method, t.metric, t.path)
        s = scaled(np.array([k]), np.array([n]), cal.list_size).iloc[0]
        rows.append(
            {
                "target": t.words, "published": t.value, "precision": t.precision,
                "simulated": k, "queries": n, "scaled": s["scaled"], "lo": s["lo"],
                "hi": s["hi"], "within": bool(abs(s["scaled"] - t.value) <= t.precision),
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def direct_targets_markdown(cal: Calibration, run_dir: Path) -> str:
    """:func:`direct_targets` as a Markdown table."""
    table = direct_targets(cal, run_dir)
    rows = [
        [r.target, _count(r.published), f"± {_count(r.precision)}",
         f"{r.simulated:,} of {r.queries:,}", _count(r.scaled), _range(r.lo, r.hi),
         "yes" if r.within else "no"]
        for r in table.itertuples()
    ]  # fmt: skip
    headers = [
        "published count",
        "value",
        "precision",
        "direct simulation",
        f"scaled to {cal.list_size:,} queries",
        "interval",
        "within precision",
    ]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + "\n"


# ----------------------------------------------------------------------------- simulation
def _set_key(data: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` of a scenario mapping (creating the tables on its way)."""
    *tables, last = key.split(".")
    node = data
    for i, part in enumerate(tables):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(".".join(tables[: i + 1]), "is not a table")
        node = child
    node[last] = value


def point_benchmark(
    bench: Benchmark,
    values: Mapping[str, Any],
    *,
    size_scale: float = 1.0,
    methods: Sequence[str] | None = None,
) -> Benchmark:
    """The scenario with the unknowns at ``values`` (validated as any scenario file),
    population.size and query.size times ``size_scale``, and only ``methods`` (default all)."""
    data = copy.deepcopy(bench.data)
    for key, value in values.items():
        _set_key(data, key, value)
    if size_scale != 1.0:
        data["population"]["size"] = max(1, round(bench.scenario.population.size * size_scale))
        data["query"]["size"] = max(1, round(bench.scenario.query.size * size_scale))
    if methods is not None:
        data["methods"] = [m for m in data["methods"] if m.get("name") in methods]
    return parse_benchmark(data, source=bench.source)


def simulate_point(job: dict[str, Any]) -> PointResult:
    """Simulate one point (a picklable job: ``data``, the scenario mapping with the point's
    values; ``seeds``, the populations to pool): run its methods, keep their counts."""
    bench = parse_benchmark(job["data"], source=job["source"])
    methods = bench.methods
    totals: dict[str, dict[str, int]] = {}
    paths: dict[str, dict[str, dict[str, int]]] = {}
    queries = 0
    for seed in job["seeds"]:
        task = build_task(bench.scenario, seed)
        prep = PreparedTask(task, seed)
        cands = Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64))
        if any(m.uses_blocking() for m in methods):
            cands = block(prep, bench.blocking, bench.max_pairs)[0]
        if any(m.needs_training for m in methods):
            tseed = training_seed(seed)
            train = PreparedTask(build_task(bench.scenario, tseed), tseed)
            train_cands = block(train, bench.blocking, bench.max_pairs)[0]
            width = max(len(train.task.register), 1)
            truth = train.task.truth
            keys = truth["query_row"].to_numpy() * width + truth["register_row"].to_numpy()
            labels = np.isin(train_cands.query_row * width + train_cands.register_row, keys)
        queries += prep.n_query
        for m in methods:
            if m.needs_training:
                m.fit(train, train_cands, labels)
            frame = scored_frame(m, prep, cands if m.uses_blocking() else None)
            counts, by_path = method_counts(m, frame, task.truth, prep.n_query, prep.n_register)
            for k, v in counts.items():
                totals.setdefault(m.name, {}).setdefault(k, 0)
                totals[m.name][k] += v
            for p, pc in by_path.items():
                slot = paths.setdefault(m.name, {}).setdefault(p, dict.fromkeys(pc, 0))
                for k, v in pc.items():
                    slot[k] += v
    return PointResult(queries, totals, paths)


def _start_worker(ready: Any) -> None:
    # Ctrl-C reaches the whole process group: the parent alone ends the run (terminating us).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # pending ones are dropped
    ready.wait()


class PointRunner:
    """Simulates jobs in order, in this process or in one pool of ``workers`` processes kept
    for the whole calibration (the results do not depend on which), each batch with a
    progress bar with ETA on a terminal. A context manager: leaving it ends the pool."""

    def __init__(self, workers: int, progress: bool | None) -> None:
        self.workers = workers
        self.show = sys.stderr.isatty() if progress is None else progress
        self.pool: Any = None

    def __enter__(self) -> PointRunner:
        if self.workers > 1:
            ctx = multiprocessing.get_context("spawn")  # no forked DuckDB or thread state
            # Ctrl-C is held until every worker has started and ignores it: one that reached
            # them while they still import or unpickle would print tracebacks.
            ready = ctx.Barrier(self.workers + 1)
            try:
                with sigint_held():
                    self.pool = ctx.Pool(self.workers, initializer=_start_worker, initargs=(ready,))
                    ready.wait(timeout=600)
            except BaseException:  # a Ctrl-C delivered on unblocking: __exit__ will not run
                if self.pool is not None:
                    self.pool.terminate()
                    self.pool.join()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            if exc[0] is None:
                self.pool.close()
            else:  # interrupted or failed: end the workers now
                self.pool.terminate()
            self.pool.join()

    def run(self, jobs: list[dict[str, Any]], desc: str) -> list[PointResult]:
        bar = tqdm(total=len(jobs), desc=desc, disable=not self.show, file=sys.stderr)
        out: list[PointResult] = []
        try:
            results = (
                map(simulate_point, jobs)
                if self.pool is None
                else self.pool.imap(simulate_point, jobs)
            )
            for result in results:
                out.append(result)
                bar.update(1)
        finally:
            bar.close()
        return out


# ----------------------------------------------------------------------------- analysis
def design(cal: Calibration, wave: int = 1) -> np.ndarray:
    """The unit-cube design (points x unknowns) of a wave: a scrambled Latin hypercube, seeded
    (its own stream per wave)."""
    from scipy.stats import qmc

    parts = ("calibration", "design") if wave == 1 else ("calibration", "design", f"wave {wave}")
    rng = stream(cal.seed, *parts)
    return qmc.LatinHypercube(len(cal.unknowns), rng=rng).random(cal.points)


#: Implausibility cutoff of history matching, in standard deviations: Pukelsheim's three-sigma
#: rule (any unimodal distribution has 95% of its mass within 3 sd), as in Vernon, Goldstein and
#: Bower (2010, Bayesian Analysis 5(4)) and Andrianakis et al. (2015, PLOS Comput Biol 11(1)).
IMPLAUSIBILITY_CUTOFF = 3.0


def implausibility(frame: pd.DataFrame, target: Target) -> np.ndarray:
    """How many standard deviations each scaled count lies from the target: ``|scaled -
    value| / sd``, ``sd = sqrt(precision**2 + h**2) / z`` with h the 95% half-width on the
    side of the value (so :func:`consistent` is ``implausibility <= z``, z = 1.96)."""
    s = frame["scaled"].to_numpy()
    gap = target.value - s
    h = np.where(gap > 0, frame["hi"].to_numpy() - s, s - frame["lo"].to_numpy())
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    sd = np.sqrt(target.precision**2 + h**2) / z
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, np.abs(gap) / sd, np.where(gap == 0, 0.0, np.inf))


def refine(unit: np.ndarray, plausible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box (unit coordinates, low and high per unknown) of the second wave: the smallest
    box holding the first wave's not-implausible points, widened by one design spacing (1 /
    points) on each side, within the unit cube; the whole cube when no point is plausible."""
    if not plausible.any():
        return np.zeros(unit.shape[1]), np.ones(unit.shape[1])
    pad = 1.0 / len(unit)
    kept = unit[plausible]
    return np.clip(kept.min(axis=0) - pad, 0, 1), np.clip(kept.max(axis=0) + pad, 0, 1)


def scaled(
    counts: np.ndarray, queries: np.ndarray, list_size: int, phi: float = 1.0
) -> pd.DataFrame:
    """Counts scaled to ``list_size`` queries, with their scaled Garwood intervals, half-widths
    times ``sqrt(phi)`` (the dispersion factor, :func:`dispersion`)."""
    counts = np.asarray(counts, dtype=float)
    factor = list_size / np.asarray(queries, dtype=float)
    lo, hi = garwood(counts)
    root = math.sqrt(phi)
    lo, hi = np.maximum(counts - root * (counts - lo), 0.0), counts + root * (hi - counts)
    return pd.DataFrame({"scaled": counts * factor, "lo": lo * factor, "hi": hi * factor})


def dispersion(counts: np.ndarray, level: float = LEVEL) -> float:
    """The dispersion factor of a count from its values on K populations (module docstring):
    ``max(1, s**2 / mean) x (t_{K-1} / z)**2``."""
    counts = np.asarray(counts, dtype=float)
    k = counts.size
    if k < 2:
        raise ValueError("need counts of at least 2 populations")
    mean = counts.mean()
    ratio = counts.var(ddof=1) / mean if mean > 0 else 1.0
    q = 0.5 + level / 2
    return max(1.0, ratio) * (stats.t.ppf(q, k - 1) / stats.norm.ppf(q)) ** 2


def consistent(frame: pd.DataFrame, target: Target) -> np.ndarray:
    """Whether each scaled count (``scaled``, ``lo``, ``hi``) reproduces ``target``:
    ``|scaled - value| <= sqrt(precision**2 + h**2)``, h the interval's half-width on the side
    of the value."""
    s = frame["scaled"].to_numpy()
    gap = target.value - s
    h = np.where(gap > 0, frame["hi"].to_numpy() - s, s - frame["lo"].to_numpy())
    return np.abs(gap) <= np.sqrt(target.precision**2 + h**2)


def implied(
    counts: np.ndarray,
    queries: np.ndarray,
    list_size: int,
    rng: np.random.Generator,
    phi: float = 1.0,
) -> dict[str, float]:
    """The implied count at ``list_size`` over consistent points (their pooled counts and
    queries): median and 95% interval of :data:`DRAWS` draws per point (module docstring),
    and the range of the points' own scaled counts (the calibration spread alone)."""
    counts = np.asarray(counts, dtype=float)
    queries = np.asarray(queries, dtype=float)
    if counts.size == 0:
        return dict.fromkeys(("median", "lo", "hi", "points_min", "points_max"), math.nan)
    rate = rng.gamma(np.repeat(counts / phi + 0.5, DRAWS), phi / np.repeat(queries, DRAWS))
    draws = rng.poisson(rate * list_size)
    a = (1 - LEVEL) / 2
    lo, med, hi = np.quantile(draws, [a, 0.5, 1 - a], method="inverted_cdf")
    point = counts / queries * list_size
    return {
        "median": float(med),
        "lo": float(lo),
        "hi": float(hi),
        "points_min": float(point.min()),
        "points_max": float(point.max()),
    }


def global_indices(x: np.ndarray, y: np.ndarray, names: list[str], seed: int) -> pd.DataFrame:
    """First-order sensitivity indices of ``y`` to each column of ``x`` (RBD-FAST, Tarantola et
    al. 2006, with Tissot and Prieur's bias correction, as SALib computes it), with their 95%
    bootstrap half-widths; NaN where y does not vary."""
    from SALib.analyze import rbd_fast

    n = len(y)
    if n < MIN_GLOBAL_POINTS or np.ptp(y) == 0:
        return pd.DataFrame({"unknown": names, "S1": math.nan, "S1_conf": math.nan})
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    harmonics = max(1, min(10, n // 10))
    res = rbd_fast.analyze(problem, x, np.asarray(y, float), M=harmonics, seed=seed)
    return pd.DataFrame({"unknown": names, "S1": res["S1"], "S1_conf": res["S1_conf"]})


@dataclass
class CalibrationResult:
    """Everything ``calibrate`` writes: tables and the texts of the summary."""

    bench: Benchmark
    cal: Calibration
    points: pd.DataFrame
    implied: pd.DataFrame
    tornado: pd.DataFrame
    indices: pd.DataFrame
    centre: dict[str, float]
    dispersion: pd.DataFrame


def _quantity_columns(
    results: Sequence[PointResult], cal: Calibration, phi: Mapping[str, float]
) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    queries = np.array([r.queries for r in results], dtype=np.int64)
    cols["queries"] = queries
    for q in cal.quantities:
        counts = np.array(
            [target_count(r, q.method, q.metric, q.path)[0] for r in results], dtype=np.int64
        )
        frame = scaled(counts, queries, cal.list_size, phi[q.name])
        cols[f"{q.name}.count"] = counts
        cols[f"{q.name}.scaled"] = frame["scaled"].to_numpy()
        cols[f"{q.name}.lo"] = frame["lo"].to_numpy()
        cols[f"{q.name}.hi"] = frame["hi"].to_numpy()
        if isinstance(q, Target):
            cols[f"{q.name}.consistent"] = consistent(frame, q)
            cols[f"{q.name}.implausibility"] = implausibility(frame, q)
    return pd.DataFrame(cols)


def _job(
    bench: Benchmark,
    cal: Calibration,
    values: Mapping[str, Any],
    seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    b = point_benchmark(bench, values, size_scale=cal.size_scale, methods=cal.methods)
    if seeds is None:
        seeds = [replicate_seed(cal.seed, k) for k in range(cal.replicates)]
    return {"data": b.data, "source": b.source, "seeds": list(seeds)}


def calibrate(
    bench: Benchmark, cal: Calibration, *, workers: int = 2, progress: bool | None = None
) -> CalibrationResult:
    """Run the calibration loop (module docstring) and return its tables."""
    with PointRunner(workers, progress) as runner:
        return _calibrate(bench, cal, runner)


def _wave(
    bench: Benchmark,
    cal: Calibration,
    runner: PointRunner,
    unit: np.ndarray,
    phi: Mapping[str, float],
    wave: int,
    first: int = 1,
) -> pd.DataFrame:
    """Simulate one wave's design (unit coordinates): a row per point with the unknowns' values,
    every count raw and scaled with its interval, consistent or not, and its implausibility."""
    values = [
        {u.key: u.at(c) for u, c in zip(cal.unknowns, row, strict=True)} for row in unit.tolist()
    ]
    label = "calibration points" if cal.waves == 1 else f"calibration points, wave {wave}"
    results = runner.run([_job(bench, cal, v) for v in values], label)
    table = pd.DataFrame(values, columns=[u.key for u in cal.unknowns])
    table.insert(0, "point", np.arange(first, first + len(values)))
    table.insert(1, "wave", wave)
    table = pd.concat([table, _quantity_columns(results, cal, phi)], axis=1)
    ok = np.ones(len(table), dtype=bool)
    for t in cal.targets:
        ok &= table[f"{t.name}.consistent"].to_numpy()
    table["consistent"] = ok
    return table


def _calibrate(bench: Benchmark, cal: Calibration, runner: PointRunner) -> CalibrationResult:
    # Dispersion between populations, at the centre of the box, one population a run.
    middle = {u.key: u.at(0.5) for u in cal.unknowns}
    seeds = [replicate_seed(cal.seed, k) for k in range(cal.dispersion_runs)]
    spread = runner.run([_job(bench, cal, middle, [s]) for s in seeds], "dispersion runs")
    drows = []
    for q in cal.quantities:
        c = np.array([target_count(r, q.method, q.metric, q.path)[0] for r in spread], float)
        drows.append(
            {
                "quantity": q.name,
                "runs": len(c),
                "mean": c.mean(),
                "sd": c.std(ddof=1),
                "poisson_sd": math.sqrt(c.mean()),
                "phi": dispersion(c),
            }
        )
    disp = pd.DataFrame(drows)
    phi = dict(zip(disp["quantity"], disp["phi"], strict=True))

    unit = design(cal)
    table = _wave(bench, cal, runner, unit, phi, 1)
    if cal.waves == 2:
        # History matching: the second wave fills the box around the first wave's points that
        # are not implausible; the answer rests on the second wave alone (a uniform sample of
        # that box, which holds every consistent point of the first).
        worst = np.max([table[f"{t.name}.implausibility"] for t in cal.targets], axis=0)
        low, high = refine(unit, worst <= IMPLAUSIBILITY_CUTOFF)
        second = low + design(cal, 2) * (high - low)
        table = pd.concat(
            [table, _wave(bench, cal, runner, second, phi, 2, first=len(table) + 1)],
            ignore_index=True,
        )
    ok = table["consistent"].to_numpy() & (table["wave"] == cal.waves).to_numpy()

    # Implied counts over the consistent points, each output's draws from its own stream.
    rows = []
    for q in cal.outputs:
        rng = stream(cal.seed, "calibration", "implied", q.name)
        stats_ = implied(
            table.loc[ok, f"{q.name}.count"].to_numpy(),
            table.loc[ok, "queries"].to_numpy(),
            cal.list_size,
            rng,
            phi[q.name],
        )
        rows.append(
            {
                "output": q.name,
                "method": q.method,
                "metric": q.metric,
                "path": q.path or "",
                "consistent_points": int(ok.sum()),
                **stats_,
            }
        )
    implied_table = pd.DataFrame(rows)

    # Tornado: the centre of the consistent region, then each unknown at its two ends.
    if ok.any():
        centre = {u.key: float(np.median(table.loc[ok, u.key])) for u in cal.unknowns}
    else:
        centre = {u.key: (u.low + u.high) / 2 for u in cal.unknowns}
    centre = {
        u.key: (round(centre[u.key]) if u.integer else round_float(centre[u.key]))
        for u in cal.unknowns
    }
    runs = [("centre", "", centre)]
    for u in cal.unknowns:
        for end, v in (("low", u.low), ("high", u.high)):
            runs.append((u.key, end, {**centre, u.key: int(v) if u.integer else v}))
    extra = runner.run([_job(bench, cal, v) for _, _, v in runs], "sensitivity runs")
    extra_q = _quantity_columns(extra, cal, phi)
    trows = []
    for q in cal.quantities:
        base = float(extra_q[f"{q.name}.scaled"].iloc[0])
        for i, u in enumerate(cal.unknowns):
            lo_v = float(extra_q[f"{q.name}.scaled"].iloc[1 + 2 * i])
            hi_v = float(extra_q[f"{q.name}.scaled"].iloc[2 + 2 * i])
            trows.append(
                {
                    "quantity": q.name,
                    "unknown": u.key,
                    "centre_value": centre[u.key],
                    "low": u.low,
                    "high": u.high,
                    "at_centre": base,
                    "at_low": lo_v,
                    "at_high": hi_v,
                    "swing": abs(hi_v - lo_v),
                }
            )
    tornado = pd.DataFrame(trows)

    frames = []
    names = [u.key for u in cal.unknowns]
    for q in cal.quantities:
        seed = stable_hash(f"calibration:indices:{cal.seed}:{q.name}") % 2**32
        y = table.loc[table["wave"] == 1, f"{q.name}.scaled"].to_numpy()  # the whole box
        g = global_indices(unit, y, names, seed)
        frames.append(g.assign(quantity=q.name, method="rbd_fast", points=len(y)))
    indices = pd.concat(frames, ignore_index=True)
    indices = indices[["quantity", "unknown", "method", "points", "S1", "S1_conf"]]
    return CalibrationResult(bench, cal, table, implied_table, tornado, indices, centre, disp)


# ----------------------------------------------------------------------------- outputs
def kept(res: CalibrationResult) -> np.ndarray:
    """The points the answer rests on: the consistent points of the last wave."""
    pts = res.points
    return pts["consistent"].to_numpy() & (pts["wave"] == res.cal.waves).to_numpy()


def _count(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:,.0f}"


def _range(lo: float, hi: float, fmt: Any = None) -> str:
    fmt = _count if fmt is None else fmt
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "-"
    return f"{fmt(lo)} - {fmt(hi)}"


def _value(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:.4g}"


def reproduce_command(res: CalibrationResult, points: int | None, seed: int | None) -> str:
    parts = ["linkrisk calibrate", res.bench.source]
    if points is not None:
        parts.append(f"--points {points}")
    if seed is not None:
        parts.append(f"--seed {seed}")
    return " ".join(parts)


def calibration_markdown(res: CalibrationResult, command: str) -> str:
    """``calibration.md``: the targets, the consistent region, the implied counts with their
    intervals and the sensitivity, in plain words."""
    cal, pts = res.cal, res.points
    ok = kept(res)
    scale = "" if cal.size_scale == 1 else f" (sizes x {cal.size_scale:g})"
    lines = [
        f"# Calibration of {res.bench.name}",
        "",
        f"Reproduce: `{command}`",
        "",
        f"{cal.points} points of a seeded Latin hypercube (seed {cal.seed}) over "
        f"{len(cal.unknowns)} unknown(s); at each point the scenario{scale} was simulated "
        f"({cal.replicates} population(s), {int(pts['queries'].iloc[0]):,} queries) and every "
        f"count scaled to the real list of {cal.list_size:,} queries. A point is *consistent* "
        "when it reproduces every target: |scaled - published| <= sqrt(precision^2 + h^2), h "
        "the half-width of the scaled count's 95% interval on the side of the published "
        "value.",
        ""
        if cal.waves == 1
        else " History matching in two waves: the first design covers the whole box; a "
        f"point is *implausible* when a target lies more than {IMPLAUSIBILITY_CUTOFF:g} "
        "standard deviations from its scaled count (the three-sigma rule); the second design "
        "(as many points) fills the box around the first wave's points that are not "
        "implausible, widened by one design spacing, and the consistent region, the implied "
        "counts and the tornado rest on the second wave alone.",
        "",
        "Each count's interval is its exact Poisson interval widened by the count's variation "
        f"between populations, measured on {cal.dispersion_runs} populations at the centre of "
        "the box (dispersion factor phi: variance across populations over the Poisson "
        "variance, at least 1, times (t/z)^2 for the few populations; half-widths times "
        "sqrt(phi)):",
        "",
        tabulate(
            [
                [
                    r.quantity,
                    f"{r.mean:,.1f}",
                    f"{r.sd:,.1f}",
                    f"{r.poisson_sd:,.1f}",
                    f"{r.phi:.2f}",
                ]
                for r in res.dispersion.itertuples()
            ],
            headers=["count", "mean (simulated)", "sd across populations", "Poisson sd", "phi"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## Targets: published and simulated",
        "",
    ]
    rows = []
    for t in cal.targets:
        s = pts[f"{t.name}.scaled"]
        c = pts[f"{t.name}.consistent"].to_numpy()
        what = f"{t.method} {t.metric}" + (f" (path {t.path})" if t.path else "")
        rows.append(
            [
                t.name,
                what,
                f"{t.value:,.0f} ± {t.precision:,.0f}",
                _range(s.min(), s.max()),
                _range(s[ok].min(), s[ok].max()) if ok.any() else "-",
                f"{int(c.sum())} of {len(c)}",
                t.source,
            ]
        )
    lines.append(
        tabulate(
            rows,
            headers=[
                "target",
                "count",
                "published",
                "simulated (all points)",
                "simulated (consistent)",
                "points reproducing it",
                "source",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    lines += ["", "## Unknowns and the consistent region", ""]
    lines.append(
        f"{int(ok.sum())} of {int((pts['wave'] == cal.waves).sum())} points"
        + (" of the second wave" if cal.waves == 2 else "")
        + " are consistent with every target."
        + (
            ""
            if ok.any()
            else " No point reproduces every target: widen the ranges, add unknowns, or "
            "check the targets; the implied counts below are empty."
        )
    )
    lines.append("")
    rows = []
    for u in cal.unknowns:
        v = pts.loc[ok, u.key]
        region = f"{_value(v.min())} - {_value(v.max())}" if ok.any() else "-"
        rows.append(
            [u.key, f"{_value(u.low)} - {_value(u.high)}", region, _value(res.centre[u.key]), u.why]
        )
    lines.append(
        tabulate(
            rows,
            headers=[
                "unknown",
                "range explored",
                "consistent region",
                "centre (median)",
                "why unknown",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    lines += ["", "![Consistent region](region.png)", "", "## Implied counts", ""]
    lines.append(
        f"Counts at the real list size ({cal.list_size:,} queries) over the consistent points: "
        f"median and 95% interval of {DRAWS:,} draws per point (a rate from the Jeffreys "
        "posterior of the point's simulated count, widened by its dispersion phi, then a "
        "Poisson count at the list size), so the interval carries the spread over the "
        "consistent region, the sampling error and the variation between populations; and the "
        "range of the consistent points' own scaled counts."
    )
    lines.append("")
    rows = []
    for r in res.implied.itertuples():
        what = f"{r.method} {r.metric}" + (f" (path {r.path})" if r.path else "")
        rows.append(
            [
                r.output,
                what,
                _count(r.median),
                _range(r.lo, r.hi),
                _range(r.points_min, r.points_max),
            ]
        )
    lines.append(
        tabulate(
            rows,
            headers=["output", "count", "implied", "95% interval", "consistent points' range"],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    lines += ["", "## Sensitivity", ""]
    lines.append(
        "One at a time (tornado): each unknown at the low and high end of its range, the others "
        "at the centre of the consistent region; the swing is the change of the count between "
        "the two ends. Global: first-order indices (RBD-FAST, SALib) over all design points: "
        "the share of the count's variance over the box that each unknown explains alone."
    )
    lines.append("")
    rows = []
    for q in cal.outputs:
        t = res.tornado[res.tornado["quantity"] == q.name].sort_values("swing", ascending=False)
        g = res.indices[res.indices["quantity"] == q.name].set_index("unknown")
        for r in t.itertuples():
            s1 = g.loc[r.unknown, "S1"]
            conf = g.loc[r.unknown, "S1_conf"]
            gtext = "-" if not math.isfinite(s1) else f"{s1:.2f} ± {conf:.2f}"
            rows.append(
                [
                    q.name,
                    r.unknown,
                    _count(r.at_low),
                    _count(r.at_centre),
                    _count(r.at_high),
                    _count(r.swing),
                    gtext,
                ]
            )
    lines.append(
        tabulate(
            rows,
            headers=["output", "unknown", "at low", "at centre", "at high", "swing", "S1 (global)"],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    if rows:
        top = res.tornado[res.tornado["quantity"].isin([q.name for q in cal.outputs])]
        top = top.sort_values("swing", ascending=False).iloc[0]
        lines += [
            "",
            f"The count most sensitive to an unknown: {top['quantity']} to "
            f"{top['unknown']} (swing {_count(top['swing'])}).",
        ]
    lines += ["", "![Tornado](tornado.png)", ""]
    lines += [
        "## Limitations",
        "",
        "- Counts are scaled by the list size only: per-query rates are those of the simulated "
        "register, whose key collisions (name + ZIP, name + date of birth) grow with its size "
        "(see `linkrisk project`).",
        "- The consistent region is the design points that reproduce the targets: its edges "
        "are known to the spacing of the design, and unknowns not declared stay at the "
        "scenario's values.",
        "- Every point uses the same population seeds (common random numbers), so points "
        "differ by their unknowns only; the intervals still carry each point's sampling error.",
        "",
        "Files: `points.csv` (every point: unknowns, each count raw and scaled with its "
        "interval, consistent or not), `dispersion.csv`, `implied.csv`, `tornado.csv`, "
        "`indices.csv`, "
        "`region.png`, `tornado.png`, `manifest.json`.",
    ]
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    from bench.report.manifest import PACKAGES, package_version

    return {p: package_version(p) for p in (*PACKAGES, "SALib")}


#: The calibration's short summary: the README block of a published calibration.
SUMMARY_FILE = "summary.md"


def summary_markdown(res: CalibrationResult, command: str) -> str:
    """The published counts beside the simulated ones, the implied counts with their intervals
    and a plain sentence on what they depend on: the README's headline of a calibrated preset."""
    cal, pts = res.cal, res.points
    ok = kept(res)
    rows = []
    for t in cal.targets:
        s = pts.loc[ok, f"{t.name}.scaled"]
        rows.append([t.words, f"{t.value:,.0f}", _range(s.min(), s.max()) if ok.any() else "none"])
    lines = [
        f"`{command}`: {int(ok.sum())} of {int((pts['wave'] == cal.waves).sum())} combinations "
        f"of the unknowns{' (second wave)' if cal.waves == 2 else ''} reproduce every "
        f"published count (list of {cal.list_size:,} names; precision and sources in "
        f"`calibration.md`).",
        "",
        tabulate(
            rows,
            headers=["published count", "published", "simulated (consistent combinations)"],
            tablefmt="github",
            colalign=["left", "right", "right"],
            disable_numparse=True,
        ),
        "",
    ]
    if not ok.any():
        return "\n".join([*lines, "No combination of the unknowns reproduces every count."]) + "\n"
    imp = res.implied.set_index("output")
    rows = [
        [
            q.words,
            _count(imp.loc[q.name, "median"]),
            _range(imp.loc[q.name, "lo"], imp.loc[q.name, "hi"]),
        ]
        for q in cal.outputs
    ]
    lines += [
        tabulate(
            rows,
            headers=[f"implied, of {cal.list_size:,} names", "count", "95% interval"],
            tablefmt="github",
            colalign=["left", "right", "right"],
            disable_numparse=True,
        ),
        "",
    ]
    first = cal.outputs[0]
    r = imp.loc[first.name]
    swing = res.tornado[res.tornado["quantity"] == first.name].sort_values(
        "swing", ascending=False, kind="stable"
    )
    top = [res.cal.unknown(k) for k in swing["unknown"].head(2)]
    lines.append(
        f"In plain words: had the matching been run on a population like the simulated one, "
        f"with every unpublished value set anywhere that reproduces the published counts, "
        f"{first.words} would number about {_count(r['median'])} (95% interval "
        f"{_range(r['lo'], r['hi'])}). That figure depends on values that were not "
        "published, most on " + " and ".join(f"{u.key} ({u.why})" for u in top) + "."
    )
    return "\n".join(lines) + "\n"


def readme_summary(out_dir: Path) -> str:
    """The published summary of a calibration directory (:data:`SUMMARY_FILE`)."""
    return (Path(out_dir) / SUMMARY_FILE).read_text(encoding="utf-8")


def write_calibration(res: CalibrationResult, out_dir: Path, command: str) -> Path:
    """Write every output to ``out_dir`` atomically (staged, swapped in whole when complete)."""
    with atomic_dir(out_dir) as tmp:
        write_csv(res.points, tmp / "points.csv")
        write_csv(res.implied, tmp / "implied.csv")
        write_csv(res.tornado, tmp / "tornado.csv")
        write_csv(res.indices, tmp / "indices.csv")
        write_csv(res.dispersion, tmp / "dispersion.csv")
        save_png(region_figure(res), tmp / "region.png")
        save_png(tornado_figure(res), tmp / "tornado.png")
        (tmp / "calibration.md").write_text(calibration_markdown(res, command), encoding="utf-8")
        (tmp / SUMMARY_FILE).write_text(summary_markdown(res, command), encoding="utf-8")
        config = {**res.bench.data, "calibration": res.bench.calibration}
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT,
            "scenario": res.bench.name,
            "command": command,
            "seed": res.cal.seed,
            "points": res.cal.points,
            "calibration": dataclasses.asdict(res.cal),
            "config_sha256": config_hash(config),
            "python": platform.python_version(),
            "packages": _versions(),
            "files": {
                str(p.relative_to(tmp)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
            },
        }
        write_json(manifest, tmp / "manifest.json")
    return out_dir


def default_out_dir(bench: Benchmark, points: int | None, seed: int | None) -> Path:
    """``results/calibration/<scenario>``, or ``...@<option>=<value>,...`` when ``--points`` or
    ``--seed`` differ from the scenario's own (or a file shares a preset's name but not its
    configuration), as ``linkrisk run`` names its outputs."""
    differs = []
    own = bench.calibration if isinstance(bench.calibration, Mapping) else {}
    if bench.name in presets():
        preset = load_benchmark(bench.name)
        mine = config_hash({**bench.data, "calibration": bench.calibration})
        if mine != config_hash({**preset.data, "calibration": preset.calibration}):
            differs.append(f"config={mine[:8]}")
    if points is not None and points != own.get("points"):
        differs.append(f"points={points}")
    if seed is not None and seed != own.get("seed", bench.scenario.seed):
        differs.append(f"seed={seed}")
    return CALIBRATION_DIR / (bench.name + ("@" + ",".join(differs) if differs else ""))


__all__ = [
    "CALIBRATION_DIR",
    "COUNT_METRICS",
    "PATH_METRICS",
    "Calibration",
    "CalibrationResult",
    "PointResult",
    "Quantity",
    "Target",
    "Unknown",
    "calibrate",
    "calibration_markdown",
    "consistent",
    "default_out_dir",
    "design",
    "garwood",
    "global_indices",
    "implied",
    "load_calibration",
    "method_counts",
    "parse_calibration",
    "paths_of",
    "point_benchmark",
    "simulate_point",
    "target_count",
    "write_calibration",
]
