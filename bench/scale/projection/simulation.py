"""The simulated estimate: the scenario's rules run on tasks at several population sizes, seeds
and sub-registers."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from bench.linkage.config import Benchmark, load_benchmark, parse_benchmark
from bench.linkage.fields import PreparedTask, combine
from bench.linkage.methods.base import Method
from bench.linkage.resolve import resolve
from bench.scale.projection.analytic import analytic_rate, pass_pieces
from bench.scale.projection.keys import (
    DEFAULT_FRACTIONS,
    DEFAULT_SIZES,
    PassSpec,
    Target,
    projectable_rules,
    rule_passes,
)
from bench.scale.projection.strata import CensusNames, PopulationNames, _Adults, _groups
from synthetic import names as N
from synthetic.errors import ConfigError
from synthetic.noise import NOISE
from synthetic.population import (
    Population,
    generate_population,
)
from synthetic.rng import stream
from synthetic.scenario import LinkageTask, ScenarioConfig, build_task


# ----------------------------------------------------------------------------- simulation
def _variant(bench: Benchmark, size: int, queries: int | None, clean: bool) -> Benchmark:
    """The benchmark at another population size (and query count), optionally without noise.
    A list drawn by residence status (``status_mix``) keeps the scenario's list-to-population
    ratio at smaller sizes (a small population holds too few people of a rare status for the
    full list), unless ``queries`` is given."""
    data = copy.deepcopy(bench.data)
    data["population"]["size"] = int(size)
    sc = bench.scenario
    if queries is None and sc.query.status_mix is not None:
        queries = max(1, min(sc.query.size, round(sc.query.size * size / sc.population.size)))
    if queries is not None:
        data["query"]["size"] = int(queries)
    if clean:
        for side in ("register", "query"):
            data[side]["noise"] = {name: {"rate": 0.0} for name in NOISE}
    data["methods"] = [m for m in data["methods"] if m.get("kind") == "rule"]
    return parse_benchmark(data, source=bench.source)


def _subsample(task: LinkageTask, keep: np.ndarray) -> LinkageTask:
    """The task with only the register rows ``keep`` (sorted), truth renumbered."""
    new = np.full(len(task.register), -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    reg_row = new[task.truth["register_row"].to_numpy()]
    ok = reg_row >= 0
    truth = pd.DataFrame(
        {"query_row": task.truth["query_row"].to_numpy()[ok], "register_row": reg_row[ok]}
    )
    return LinkageTask(
        task.query,
        task.register.iloc[keep].reset_index(drop=True),
        truth,
        task.query_people,
        task.register_people.iloc[keep].reset_index(drop=True),
        task.noise_log.iloc[:0],
    )


def _poststrata(task: LinkageTask, mix: Mapping[str, float] | None) -> tuple[np.ndarray, float]:
    """Per-query weights that re-weight the simulated list to the intended group ``mix`` (a small
    population cannot always supply it: the non-register pool of a group runs out), and the total
    variation distance between the realized and the intended mix."""
    g = _groups(task.query_people)
    n = len(g)
    realized = np.bincount(g, minlength=len(N.GROUPS)) / max(n, 1)
    if not mix or n == 0:
        return np.ones(n), 0.0
    want = np.array([mix[x] for x in N.GROUPS])
    want = np.where(realized > 0, want, 0.0)  # a group absent from the list cannot be restored
    want = want / want.sum()
    w = np.divide(want, realized, out=np.zeros_like(want), where=realized > 0)[g]
    return w, float(0.5 * np.abs(realized - np.array([mix[x] for x in N.GROUPS])).sum())


def _run_rule(
    m: Method, prep: PreparedTask, weights: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run a rule; count declared false matches per pass, split into household and other ones,
    raw and post-stratified by ``weights`` (per query)."""
    task = prep.task
    scored = m.score(prep, None)
    link = resolve(scored.query_row, scored.register_row, scored.score, scored.accept, m.resolve)
    n_passes = len(m.params["passes"])
    q, r = scored.query_row.astype(np.int64), scored.register_row.astype(np.int64)
    pass_of = (n_passes - np.rint(scored.score)).astype(np.int64)  # rules score n_passes - k
    width = max(prep.n_register, 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    is_true = np.isin(q * width + r, truth)
    hh_q = task.query_people["household_id"].to_numpy()[q]
    hh_r = task.register_people["household_id"].to_numpy()[r]
    fp = link & ~is_true
    household = fp & (hh_q == hh_r)
    rows = []
    for k, spec in enumerate(rule_passes(m)):
        reaching = np.ones(prep.n_query, dtype=bool)
        reaching[q[pass_of < k]] = False  # cascade: linked by an earlier pass
        other = fp & ~household & (pass_of == k)
        hh_k = household & (pass_of == k)
        per_q = np.bincount(q[other], minlength=prep.n_query)[reaching] * weights[reaching]
        mean = per_q.mean() if per_q.size else 0.0
        coded = [prep.key(kk.field, kk.compare, **kk.kwargs) for kk in spec.keys]
        kq, kr = combine(coded)
        rows.append(
            {
                "pass": k,
                "reach": float(weights[reaching].sum()),
                "reach_raw": int(reaching.sum()),
                "fp_household": float(weights[q[hh_k]].sum()),
                "fp_other": float(per_q.sum()),
                "fp_household_raw": int(hh_k.sum()),
                "fp_other_raw": int(other.sum()),
                # index of dispersion of the per-query counts (1 for Poisson)
                "dispersion": float(per_q.var() / mean) if mean > 0 else 1.0,
                "present_q": float((kq >= 0).mean()) if kq.size else float("nan"),
                "present_r": float((kr >= 0).mean()) if kr.size else float("nan"),
            }
        )
    tp = int((link & is_true).sum())
    rule = {"tp": tp, "fn": len(truth) - tp, "true_links": len(truth), "fp": int(fp.sum())}
    return rows, rule


@dataclass
class Simulation:
    """Raw material of the simulated projection and of the analytic one.

    passes: one row per (variant, size, seed, fraction, rule, pass) with the run's sizes and the
        false matches of the pass (household / other), reach, dispersion and key presence.
    rules: one row per (variant, size, seed, fraction, rule) with TP, FN, true links.
    analytic: one row per (size, seed, rule, source) with the analytic expectation at ``target``
        (``fp_per_query``, ``fn_per_query``) and at the simulated task's own scale (``own_*``:
        its list size, full register and population).
    specs: the passes of each projected rule.
    """

    passes: pd.DataFrame
    rules: pd.DataFrame
    analytic: pd.DataFrame
    target: Target
    specs: dict[str, list[PassSpec]]
    seconds: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)


def _seeds(bench: Benchmark, seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return [bench.scenario.seed + i for i in range(int(seeds))]
    out = [int(s) for s in seeds]
    if not out or min(out) < 0:
        raise ValueError(f"seeds must be non-negative integers, got {seeds}")
    return out


def _analytic_rows(
    pop: Population,
    scenario: ScenarioConfig,
    rules: Sequence[Method],
    census: CensusNames,
    census_p: dict[tuple[str, int], float],
    target: Target,
    cohort: bool,
    *,
    own: Target,
    own_list: pd.DataFrame,
    own_mated: float,
) -> list[dict[str, Any]]:
    """The analytic expectation of every rule on one population, both sources, at ``target``;
    and, from the population's own frequencies, at the simulated task's own scale (``own``) for
    its realized list (``own_list``: composition; ``own_mated``: share in the register)."""
    adults = _Adults.of(pop, scenario)
    popnames = PopulationNames(adults, scenario, cohort)
    ownnames = PopulationNames(adults, scenario, cohort, list_people=own_list)
    own_mix = np.bincount(_groups(own_list), minlength=len(N.GROUPS)) / max(len(own_list), 1)
    kw: dict[str, Any] = {
        "population": len(pop.people),
        "adult_share": float(adults.register_ok.sum()) / len(pop.people),
    }
    # A list drawn by residence status has no declared share in the register: its realized one.
    mated = scenario.query.share_in_register
    mated = own_mated if mated is None else mated
    out: list[dict[str, Any]] = []
    for m in rules:
        specs = rule_passes(m)
        reason = next((s.unsupported for s in specs if s.unsupported), None)
        if reason:
            out.append({"rule": m.name, "reason": reason})
            continue
        pieces = [pass_pieces(adults, s, scenario) for s in specs]
        own_pieces = [pass_pieces(adults, s, scenario, own_mix) for s in specs]
        own_names = [ownnames.probability(s.name_keys) for s in specs]
        fp_o, _, per_o = analytic_rate(
            specs, own_names, own_pieces, target=own, mated=own_mated, **kw
        )
        for source in ("census", "population"):
            if source == "census":
                for k, s in enumerate(specs):  # tables: the same for every population
                    if (m.name, k) not in census_p:
                        census_p[m.name, k] = census.probability(s.name_keys)
                p_names = [census_p[m.name, k] for k in range(len(specs))]
            else:
                p_names = [popnames.probability(s.name_keys) for s in specs]
            fp_t, fn_t, per_t = analytic_rate(
                specs, p_names, pieces, target=target, mated=mated, **kw
            )
            out.append(
                {
                    "rule": m.name,
                    "source": source,
                    **kw,
                    "fp_per_query": fp_t,
                    "fn_per_query": fn_t,
                    "pass_fp_per_query": per_t,
                    "p_names": p_names,
                    "pieces": pieces,
                    "own_queries": own.n_queries,
                    "own_register": own.n_register,
                    # own scale: from the population's frequencies, whatever the source
                    "own_fp_per_query": fp_o,
                    "own_pass_fp_per_query": per_o,
                    "reason": None,
                }
            )
    return out


def simulate(
    bench: Benchmark | str,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: int | Sequence[int] = 3,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    queries: int | None = None,
    variants: Sequence[str] = ("noisy",),
    target: Target | None = None,
    run_rules: bool = True,
    analytic: bool = True,
    cohort: bool = True,
    progress: bool | None = None,
) -> Simulation:
    """Run the benchmark's rules at several population sizes, seeds and sub-register fractions.

    ``variants``: "noisy" (the scenario as configured) and/or "clean" (every noise rate 0).
    ``queries``: the simulated list size (default: the scenario's; it is kept fixed across
    sizes). With ``analytic``, the analytic expectation (both sources) is computed on every
    generated population, at ``target`` and at the task's own scale; ``run_rules=False`` skips
    the rules (analytic only).
    """
    bench = load_benchmark(bench) if isinstance(bench, str) else bench
    target = target or Target()
    sizes = [int(s) for s in sizes]
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"sizes must be positive population sizes, got {sizes}")
    fractions = sorted({float(f) for f in fractions})
    if not fractions or not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must lie in (0, 1], got {fractions}")
    if not variants or not set(variants) <= {"noisy", "clean"}:
        raise ValueError(f"variants must be among 'noisy', 'clean', got {variants}")
    if queries is not None and queries <= 0:
        raise ValueError(f"queries must be positive, got {queries}")
    seed_list = _seeds(bench, seeds)
    rules = projectable_rules(bench)
    names = {m.name for m in rules}
    skipped = {
        m.name: "not a rule, or a rule with a pass that needs blocked candidates"
        for m in bench.methods
        if m.name not in names
    }
    if not rules:
        raise ValueError(f"scenario {bench.name!r} has no rule that runs without blocking")
    census = CensusNames(bench.scenario, cohort)
    census_p: dict[tuple[str, int], float] = {}
    start = time.perf_counter()
    pass_rows: list[dict[str, Any]] = []
    rule_rows: list[dict[str, Any]] = []
    ana_rows: list[dict[str, Any]] = []
    jobs = [(s, sd) for s in sizes for sd in seed_list]
    show = sys.stderr.isatty() if progress is None else progress
    for size, seed in tqdm(jobs, disable=not show, file=sys.stderr, desc="projection runs"):
        benches = {v: _variant(bench, size, queries, v == "clean") for v in variants}
        first = benches[variants[0]]
        pop = generate_population(first.scenario.population, seed)
        own: Target | None = None
        own_list, own_mated = pd.DataFrame(), 0.0
        for variant, b in benches.items():
            try:
                task = build_task(b.scenario, seed, population=pop)
            except ConfigError as exc:
                raise ConfigError(
                    f"population size {size:,}", f"{exc.problem} ({exc.where})"
                ) from None
            if own is None:
                own = Target(len(task.query), max(len(task.register), 1), len(pop.people))
                own_list = task.query_people
                own_mated = len(task.truth) / max(len(task.query), 1)
            if not run_rules:
                break
            weights, mix_tv = _poststrata(task, b.scenario.query.group_mix)
            order = stream(seed, "projection", "sub-register").permutation(len(task.register))
            for f in fractions:
                keep = np.sort(order[: max(1, round(f * len(task.register)))])
                prep = PreparedTask(task if f == 1.0 else _subsample(task, keep), seed)
                base = {
                    "variant": variant,
                    "size": size,
                    "seed": seed,
                    "fraction": f,
                    "population": len(pop.people),
                    "register": prep.n_register,
                    "queries": prep.n_query,
                    "mix_tv": mix_tv,
                }
                for m in b.methods:
                    if m.name in names:
                        rows, rule = _run_rule(m, prep, weights)
                        pass_rows += [{**base, "rule": m.name, **r} for r in rows]
                        rule_rows.append({**base, "rule": m.name, **rule})
        if analytic:
            assert own is not None
            rows = _analytic_rows(
                pop, first.scenario, rules, census, census_p, target, cohort,
                own=own, own_list=own_list, own_mated=own_mated,
            )  # fmt: skip
            ana_rows += [{"size": size, "seed": seed, **r} for r in rows]
    return Simulation(
        pd.DataFrame(pass_rows),
        pd.DataFrame(rule_rows),
        pd.DataFrame(ana_rows),
        target,
        {m.name: rule_passes(m) for m in rules},
        time.perf_counter() - start,
        skipped,
    )
