"""What the report's sections read: one run, read once through
:class:`bench.runs.rundir.RunDir` and :mod:`bench.measurement`, each derived table computed on
first use and shared by every section that asks for it.

A section declares the attributes of :class:`ReportContext` it reads (``Section.reads``) and is
given a view that refuses the others, so the declaration cannot drift from the code. What the
run offers (a synthetic scenario or user files, a population, examples) are
:data:`CAPABILITIES`, which a section may require (``Section.needs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from bench.measurement.causes import PEOPLE_NEEDED
from bench.measurement.derive import (
    Attributions,
    attribute_run,
    compute_metrics,
    compute_replicates,
    compute_summary,
)
from bench.runs.rundir import RunDir, is_user_run
from synthetic.precision import round_frame

T = TypeVar("T")

#: ``status`` of a method in the metrics files: it ran, or ``not run: <reason>``.
RUN, NOT_RUN = "run", "not run"

#: What a run may offer: name -> (description, test on the context). A section lists those it
#: needs in ``Section.needs``; it is left out (and its tables removed) on a run without them.
CAPABILITIES: dict[str, tuple[str, Callable[[ReportContext], bool]]] = {
    "synthetic": (
        "a run on a synthetic scenario (population, noise and assumptions are known)",
        lambda ctx: not ctx.user,
    ),
    "user-files": ("a run on user files (`linkrisk evaluate`)", lambda ctx: ctx.user),
    "population": (
        "raw/population.json: the facts of the synthetic population",
        lambda ctx: ctx.run.population is not None,
    ),
    "examples": (
        "raw/examples.parquet: record values of the first errors (--include-examples)",
        lambda ctx: ctx.run.examples() is not None,
    ),
    "explanations": (
        "raw/explanations.parquet: the terms of the scores of some false matches",
        lambda ctx: ctx.run.explanations() is not None,
    ),
    "paths": (
        "a method with named passes (paths), whose links raw/ records per path",
        lambda ctx: any("paths" in meta for meta in ctx.methods.values()),
    ),
}


def is_not_run(rec: dict[str, Any]) -> bool:
    """Whether a metrics row is that of a method that did not run (tables before the status
    column have none: every method in them ran)."""
    status = rec.get("status")
    return isinstance(status, str) and status.startswith(NOT_RUN)


def with_status(
    frame: pd.DataFrame, not_run: dict[str, str], metas: dict[str, dict[str, Any]]
) -> pd.DataFrame:
    """``frame`` (metrics of the methods that ran) with a ``status`` column after ``resolve``:
    ``run``, and one row per method that did not run, ``not run: <reason>``, its figures empty
    (counts stay integers: nullable)."""
    out = frame.copy()
    out.insert(out.columns.get_loc("resolve") + 1, "status", RUN)
    if not not_run:
        return out
    ints = [c for c in out.columns if pd.api.types.is_integer_dtype(out[c])]
    n = len(out)
    out = out.reindex(range(n + len(not_run))).astype({c: "Int64" for c in ints})  # rows empty
    for i, (name, reason) in enumerate(not_run.items()):
        meta = metas[name]
        text = f"{NOT_RUN}: {reason}"
        out.loc[n + i, ["method", "kind", "resolve", "status"]] = [
            name, meta["kind"], meta["resolve"], text
        ]  # fmt: skip
    return out


def fmt_cell(value: Any, kind: str) -> str:
    """A cell of a report table: ``s`` text, ``pct...`` a percentage with two decimals, else a
    whole number with thousands separators; ``n/a`` for a missing number."""
    if kind == "s":
        return str(value)
    if value is None or pd.isna(value):
        return "n/a"
    if kind.startswith("pct"):
        return f"{100 * value:.2f}%"
    return f"{round(value):,}"


#: Replicates a divergence check needs at least (with two, neither can be called the odd one).
DIVERGENCE_MIN_REPLICATES = 3
#: A replicate diverges when its declared links differ from the median over the method's
#: replicates by more than this share of the median (and by more than DIVERGENCE_SD Poisson
#: standard deviations, so that small counts are not flagged for chance variation).
DIVERGENCE_SHARE = 0.25
DIVERGENCE_SD = 4.0
DIVERGENCE_DEFINITION = (
    "a replicate is flagged as diverging when the method declared a number of links d far from "
    "the median m over its replicates: |d - m| > max(25% of m, 4 sqrt(m)) (at least "
    f"{DIVERGENCE_MIN_REPLICATES} replicates). The replicates are independent draws of the "
    "same scenario, so their counts differ by chance by a few sqrt(m); a larger difference "
    "means the method behaved differently, e.g. a model trained to another solution."
)


def divergent_replicates(per: pd.DataFrame) -> list[str]:
    """One warning line per replicate whose declared links diverge from the method's others
    (:data:`DIVERGENCE_DEFINITION`), naming the method, the replicate and the counts."""
    lines = []
    ran = per if "status" not in per.columns else per[per["status"] == RUN]
    for method, rows in ran.groupby("method", sort=False):
        if len(rows) < DIVERGENCE_MIN_REPLICATES:
            continue
        declared = rows["declared"].to_numpy(dtype=float)
        median = float(np.median(declared))
        limit = max(DIVERGENCE_SHARE * median, DIVERGENCE_SD * np.sqrt(median))
        for rec in rows.to_dict("records"):
            if abs(rec["declared"] - median) > limit:
                lines.append(
                    f"Warning: {method} diverged in replicate {rec['replicate']} (seed "
                    f"{rec['seed']}): {int(rec['declared']):,} declared links against a median "
                    f"of {median:,.0f} over its {len(rows)} replicates (FNMR "
                    f"{fmt_cell(rec['FNMR'], 'pct')}); its pooled figures include this replicate."
                )
    return lines


class ReportContext:
    """One run as the sections see it. Every attribute is computed on first use and kept, so
    that sections sharing a table (the per-replicate metrics, the error attributions) compute
    it once. Frames are at the published precision (:mod:`synthetic.precision`) before any use,
    so that the report, its figures and the files show the same numbers."""

    # declared here: CAPABILITIES (above the class) reads it before mypy sees __init__
    run: RunDir

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._memo: dict[Callable[..., Any], Any] = {}

    @property
    def path(self) -> Path:
        """The run directory (what the :mod:`bench.measurement` functions take)."""
        return self.run.path

    @cached_property
    def info(self) -> dict[str, Any]:
        """``raw/run.json``, checked."""
        return self.run.info

    @cached_property
    def config(self) -> dict[str, Any]:
        """``config.json``, checked."""
        return self.run.config

    @cached_property
    def user(self) -> bool:
        """Whether the run is on user files (``linkrisk evaluate``), not a synthetic scenario."""
        return is_user_run(self.info)

    @cached_property
    def not_run(self) -> dict[str, str]:
        """Methods that did not run: name -> reason."""
        return dict(self.info.get("not_run", {}))

    @cached_property
    def methods(self) -> dict[str, dict[str, Any]]:
        """Every configured method's ``raw/<name>.json``, those that ran first (run order)."""
        return {name: self.run.method(name) for name in (*self.info["methods"], *self.not_run)}

    @cached_property
    def capabilities(self) -> frozenset[str]:
        """The :data:`CAPABILITIES` this run offers."""
        return frozenset(name for name, (_, has) in CAPABILITIES.items() if has(self))

    @cached_property
    def _per_replicate(self) -> pd.DataFrame:
        return compute_replicates(self.path)  # replicate 1 is the run's own metrics

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Every method's metrics of the run's own seed with Wilson intervals, and ``status``."""
        raw = compute_metrics(self.path, self._per_replicate)
        return with_status(round_frame(raw), self.not_run, self.methods)

    @cached_property
    def replicates(self) -> pd.DataFrame:
        """Every method's metrics in every replicate, with ``status``."""
        return with_status(self._per_replicate, self.not_run, self.methods)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per method: counts pooled over the replicates, intervals and upper bounds, ``status``
        (:func:`bench.measurement.derive.compute_summary`)."""
        per = self.replicates
        pooled = compute_summary(self.path, per[per["status"] == RUN])
        return with_status(round_frame(pooled), self.not_run, self.methods)

    @cached_property
    def notes(self) -> list[str]:
        """Lines to show under the headline: methods not run, diverging replicates."""
        return [
            *(f"Not run: {name}: {reason}" for name, reason in self.not_run.items()),
            *divergent_replicates(self.replicates),
        ]

    @cached_property
    def attributions(self) -> Attributions | None:
        """Every method's attribution of its false and missed matches
        (:func:`bench.measurement.derive.attribute_run`), or None when the run's people carry
        nothing to attribute errors to (user files) or ``raw/`` predates the files it needs."""
        if not self.run.has_people():
            return None
        if not set(PEOPLE_NEEDED) <= set(self.run.query_people().columns):
            return None
        return attribute_run(self.path)

    def memo(self, compute: Callable[[ReportContext], T]) -> T:
        """``compute(self)``, computed once per run: a section's own derived tables, used by its
        tables, its Markdown and its figures."""
        if compute not in self._memo:
            self._memo[compute] = compute(self)
        return cast(T, self._memo[compute])

    def view(self, reads: Iterable[str], owner: str) -> ReportContext:
        """This context as section ``owner`` may see it: only the attributes in ``reads`` (and
        :meth:`memo`, whose computations see the same view)."""
        return cast(ReportContext, _View(self, frozenset(reads), owner))


#: Attributes a section may read (``Section.reads``): the public ones of the context.
READABLE = frozenset(
    name for name in dir(ReportContext) if not name.startswith("_") and name not in {"memo", "view"}
) | {"run"}


class _View:
    """A context restricted to the attributes a section declared it reads."""

    def __init__(self, ctx: ReportContext, reads: frozenset[str], owner: str) -> None:
        self._ctx, self._reads, self._owner = ctx, reads, owner

    def memo(self, compute: Callable[[Any], T]) -> T:
        memo = self._ctx._memo
        if compute not in memo:
            memo[compute] = compute(self)
        return cast(T, memo[compute])

    def __getattr__(self, name: str) -> Any:
        if name not in self._reads:
            raise AttributeError(
                f"section {self._owner!r} reads {name!r} without declaring it in its `reads`"
            )
        return getattr(self._ctx, name)
