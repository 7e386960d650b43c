"""The common interface of linkage methods, their parameter schemas and the method registry.

A method is one small file in ``bench/linkage/methods/`` holding one :class:`Method` subclass
decorated
with :func:`register`. The runner, the CLI and the contract tests discover it from the registry;
no central code names a method.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bench.linkage.blocking import Candidates
from bench.linkage.fields import PreparedTask
from synthetic.config import like
from synthetic.errors import ConfigError, LinkriskError

RESOLVE_MODES = ("all", "best", "unique-only")
#: Upper bound of every integer parameter that gives none (sample sizes, pair caps,
#: iterations): a count beyond it could not be allocated (1e8 pairs are 1.6 GB of row numbers),
#: so it is refused when the configuration is read rather than failing hours later.
MAX_COUNT = 100_000_000


def _finite(value: Any, where: str) -> None:
    """Refuse NaN and infinities anywhere inside a structured value (TOML has nan and inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(where, f"must be a finite number, got {value!r}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _finite(item, f"{where}[{i}]")


def weights(value: Any, where: str) -> dict[str, float]:
    """A table ``field = weight``: non-empty, finite numbers >= 0, at least one > 0 (else the
    method would score every pair 0 and silently declare nothing)."""
    if not value:
        raise ConfigError(where, "must weight at least one field")
    out = {}
    for key, w in value.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"{where}.{key}", f"must be a finite number >= 0, got {w!r}")
        out[key] = float(w)
    if not any(out.values()):
        raise ConfigError(where, "all weights are 0: the method would declare nothing")
    return out


class MethodNotRun(LinkriskError):
    """A method cannot train or run on this input (e.g. no pairs to train on); the message says
    why, in one line. The runner reports the method as "not run: <message>" and goes on with
    the others (:func:`not_run_reason`)."""


#: Longest reason kept for a method that did not run (the report shows it in a table cell).
REASON_CHARS = 300


def not_run_reason(exc: Exception) -> str:
    """One line saying why a method did not run: the message of a :class:`MethodNotRun`, else
    the exception's type and the first line of its message (an unforeseen failure)."""
    text = " ".join(str(exc).split("\n")[0].split())
    if not isinstance(exc, MethodNotRun):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


@dataclass(frozen=True)
class Param:
    """Schema of one method parameter: its default, type and allowed range or choices."""

    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    #: Further checks of structured values: (value, where) -> normalised value or ConfigError.
    validator: Callable[[Any, str], Any] | None = None

    def check(self, value: Any, where: str) -> Any:
        """The validated value at ``where``: type, range, choices, finite numbers throughout."""
        integer = isinstance(self.default, int) and not isinstance(self.default, bool)
        hi = MAX_COUNT if integer and self.hi is None else self.hi
        value = like(value, self.default, where, self.lo, hi)
        _finite(value, where)
        if self.choices is not None and value not in self.choices:
            raise ConfigError(where, f"must be one of {', '.join(self.choices)}; got {value!r}")
        return self.validator(value, where) if self.validator is not None else value


@dataclass(frozen=True)
class Scored:
    """A method's raw output: the pairs it considered, their scores and its accept decision.

    ``accept`` is the method's decision before multiple-hit resolution. Pairs absent from a
    ``Scored`` were never considered (for blocked methods: lost at blocking). ``path``: for a
    method with named paths (:meth:`Method.path_names`), the index of the path that produced each
    pair; None otherwise.
    """

    query_row: np.ndarray
    register_row: np.ndarray
    score: np.ndarray
    accept: np.ndarray
    path: np.ndarray | None = None


class Method(ABC):
    """A linkage method: configured by validated parameters, it scores and accepts pairs."""

    #: Registry key used in scenario files (``kind = "..."``).
    kind: ClassVar[str]
    #: One-line description for listings and reports.
    summary: ClassVar[str]
    #: True if :meth:`fit` must be given a separately seeded, labelled training task.
    needs_training: ClassVar[bool] = False
    #: Parameters beyond the common ones (name, kind, resolve).
    params_schema: ClassVar[Mapping[str, Param]] = {}
    #: Parameters of a minimal working instance (for contract tests and documentation).
    example_params: ClassVar[Mapping[str, Any]] = {}
    #: Default multiple-hit resolution for this kind.
    default_resolve: ClassVar[str] = "best"
    #: The parameter whose value is the score a pair needs to be accepted (None: no threshold,
    #: e.g. rules). Threshold sweeps and reports read it through this name, never by guessing.
    threshold_param: ClassVar[str | None] = None
    #: What the score is: ``score`` (any increasing scale) or ``probability`` (a posterior match
    #: probability, whose threshold reports show as a match weight, log2 of the odds, as Splink
    #: does).
    score_scale: ClassVar[str] = "score"
    #: True if :meth:`explain` gives each field's contribution to a pair's score (a waterfall
    #: in the report, as Splink draws it).
    explains: ClassVar[bool] = False
    #: Engines the method can run on, its default first; a kind with more than one declares an
    #: ``engine`` parameter (``linkrisk run --engine`` sets it).
    engines: ClassVar[tuple[str, ...]] = ("numpy",)
    #: False for a method that compares no records but reports pairs decided elsewhere (the
    #: declared links of another linker): the contract tests of record comparison skip it.
    scores_records: ClassVar[bool] = True
    #: True if a pair's score is the model's posterior probability that the two records are the
    #: same person: its own estimate of false links without labels reads it (bench.audit).
    posterior_scores: ClassVar[bool] = False

    def __init__(self, name: str, params: Mapping[str, Any], resolve: str) -> None:
        self.name = name
        self.params = dict(params)
        self.resolve = resolve

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Check ``params`` against the schema; fill defaults. Subclasses may check more."""
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key not in cls.params_schema:
                allowed = ", ".join(("name", "kind", "resolve", *cls.params_schema))
                raise ConfigError(f"{where}.{key}", f"unknown parameter (allowed: {allowed})")
            out[key] = cls.params_schema[key].check(value, f"{where}.{key}")
        for key, p in cls.params_schema.items():
            out.setdefault(key, p.default)
        return out

    def uses_blocking(self) -> bool:
        """True if the method scores only blocked candidate pairs (so blocking loss applies)."""
        return True

    def reads(self) -> frozenset[str] | None:
        """The record fields (a composite by its name) that :meth:`score` and :meth:`explain`
        read from the task. A run frees a field's codes, keys and scores once no later method
        reads it (at the real size, gigabytes); a field read after all is coded again, so a
        wrong answer costs time, never results. None: not known (everything is kept)."""
        return None

    def path_names(self) -> list[str] | None:
        """Names of the method's paths (e.g. a rule's named passes), whose index each pair of
        :attr:`Scored.path` carries, so that links are counted per path; None: no paths."""
        return None

    def meta(self) -> dict[str, Any]:
        """The method's ``raw/<method>.json``: what the report shows of it (``paths`` only for
        a method with named paths)."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "resolve": self.resolve,
            "uses_blocking": self.uses_blocking(),
            "params": self.params,
        }
        paths = self.path_names()
        if paths is not None:
            out["paths"] = list(paths)
        return out

    def fit(self, train: PreparedTask, candidates: Candidates, labels: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Learn from a labelled training task (only called when ``needs_training``)."""

    def explain(
        self, prep: PreparedTask, query_row: np.ndarray, register_row: np.ndarray
    ) -> list[list[tuple[str, int, str, float]]]:
        """Per pair (after :meth:`score` on the same ``prep``): the terms of its score as
        (term, level, level label, match weight), the prior first (term ``prior``, level -1),
        then one per compared field; their sum is the pair's match weight, log2 of the odds.
        Only for methods that declare ``explains``."""
        raise NotImplementedError(f"{self.kind} does not explain its scores")

    @abstractmethod
    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        """Score pairs of ``prep``: blocked ``candidates`` if :meth:`uses_blocking`, else None."""


METHODS: dict[str, type[Method]] = {}


def use_engine(methods: list[Method], engine: str, where: str = "--engine") -> None:
    """Run every method that declares ``engine`` on it (its parameters revalidated)."""
    known = sorted({e for cls in METHODS.values() for e in cls.engines})
    if engine not in known:
        raise ConfigError(where, f"unknown engine {engine!r} (known: {', '.join(known)})")
    takers = [m for m in methods if engine in m.engines]
    if not takers:
        raise ConfigError(where, f"no method of this scenario runs on {engine}")
    for m in takers:
        if len(m.engines) > 1:
            m.params = m.validate({**m.params, "engine": engine}, f"method {m.name}")


def register(cls: type[Method]) -> type[Method]:
    """Class decorator adding a method kind to the registry."""
    if cls.kind in METHODS:
        raise ValueError(f"method kind {cls.kind!r} registered twice")
    METHODS[cls.kind] = cls
    return cls
