"""The projection table: analytic and simulated projections to the target, misses, and the
assumptions behind each row."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bench.linkage.config import Benchmark, load_benchmark
from bench.scale.projection.analytic import analytic_rate
from bench.scale.projection.fitting import fit_passes
from bench.scale.projection.keys import (
    APPROACHES,
    DEFAULT_FRACTIONS,
    DEFAULT_SIZES,
    LEVEL,
    M_REGISTER,
    N_QUERIES,
    US_POPULATION,
    Target,
)
from bench.scale.projection.simulation import Simulation, simulate
from synthetic.errors import LinkriskError
from synthetic.rng import stream


# ----------------------------------------------------------------------------- projection
def _pool(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and its standard error over independent populations."""
    w = weights / weights.sum()
    mean = float(w @ values)
    k = len(values)
    if k < 2:
        return mean, float("nan")
    se = math.sqrt(float((w**2 * (values - mean) ** 2).sum()) * k / (k - 1))
    return mean, se


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _analytic_projection(
    sim: Simulation, rule: str, target: Target, mated: float, level: float
) -> list[tuple[str, dict[str, Any]]]:
    """Analytic rows of one rule, pooled over the generated populations."""
    z = float(stats.norm.ppf((1 + level) / 2))
    a = sim.analytic
    a = a[a["rule"] == rule] if len(a) else a
    if not len(a) or a["reason"].notna().all():
        reason = a["reason"].dropna().iloc[0] if len(a) else "not computed"
        return [(APPROACHES[0], {"assumptions": f"not projected analytically: {reason}"})]
    # the largest populations: the most ZIPs (see fit_passes) and the most precise frequencies
    a = a[a["size"] == a["size"].max()]
    n = target.n_queries

    def pooled(values: np.ndarray, weights: np.ndarray, note: str, **kw: Any) -> dict[str, Any]:
        fpq, se = _pool(values, weights)  # se: NaN with a single population
        return {
            "fp": n * fpq,
            "fp_lo": max(0.0, n * (fpq - z * se)) if np.isfinite(se) else np.nan,
            "fp_hi": n * (fpq + z * se) if np.isfinite(se) else np.nan,
            "fp_per_query": fpq,
            "assumptions": note,
            **kw,
        }

    out = []
    spread = "; interval: spread over the largest generated populations (model error not included)"
    notes = {
        "census": "clean keys; names and dates from the Census/SSA tables, independent within "
        "group, sex and birth year; ZIP/address and household terms from the population model"
        + spread,
        "population": "clean keys; the generated populations' own name and date frequencies "
        "(pairs of different households) under the same independence model" + spread,
    }
    for source, approach in (("census", APPROACHES[0]), ("population", APPROACHES[1])):
        s = a[a["source"] == source]
        w = s["population"].to_numpy(np.float64)
        fn = n * float(s["fn_per_query"].mean())
        out.append((approach, pooled(s["fp_per_query"].to_numpy(), w, notes[source], fn=fn)))
    # the Census value with the simulated (noisy) keys' presence and the simulated pass reach
    p = sim.passes
    if len(p):
        p = p[(p["variant"] == "noisy") & (p["rule"] == rule) & (p["fraction"] == 1.0)]
    if len(p):
        g = p.assign(share=p["reach"] / p["queries"]).groupby("pass")
        presence = (g["present_q"].mean() * g["present_r"].mean()).to_numpy()
        reach = g["share"].mean().to_numpy()
        if presence.min() > 0.999:  # no missing keys: the same as the Census row
            return out
        s = a[a["source"] == "census"]
        vals = [
            analytic_rate(
                sim.specs[rule], r.p_names, r.pieces, target=target, population=r.population,
                adult_share=r.adult_share, mated=mated, reach=reach, presence=presence,
            )[0]
            for r in s.itertuples()
        ]  # fmt: skip
        note = (
            "Census value x share of pairs with every key present under the scenario's noise "
            "(missing values never collide) and the simulated pass reach; other noise assumed "
            "not to change collision rates"
        )
        out.append((APPROACHES[2], pooled(np.asarray(vals), s["population"].to_numpy(), note)))
    return out


def _simulated_projection(
    sim: Simulation,
    variant: str,
    free: bool,
    target: Target,
    mated: float,
    level: float,
    rng: np.random.Generator,
) -> dict[str, dict[str, Any]]:
    """Simulated rows (one variant, free or fixed exponent), by rule."""
    out = {}
    fits = fit_passes(sim, variant, free=free)
    n = target.n_queries
    for rule in sim.specs:
        fr = [f for f in fits if f.rule == rule]
        if not fr:
            continue
        point = sum(f.point() for f in fr)
        draws = [f.draws(rng) for f in fr]
        lo = _interval(n * np.sum([low for _, low in draws], axis=0), level)[0]
        hi = _interval(n * np.sum([up for up, _ in draws], axis=0), level)[1]
        dom = max(fr, key=lambda f: f.point())
        fn, fn_lo, fn_hi = _fn_projection(sim, rule, variant, target, mated, level)
        detail = "; ".join(
            f"pass {f.pass_index + 1}: "
            + (f"b = {f.other.b:.3f} ± {f.other.b_se:.3f}" if f.other.free else "b = 1")
            + f", {int(f.other.count)} FP + {int(f.household.count)} household FP simulated"
            for f in fr
        )
        noise = "scenario noise as configured" if variant == "noisy" else "no noise"
        out[rule] = {
            "fp": n * point,
            "fp_lo": lo,
            "fp_hi": hi,
            "fp_per_query": point,
            "fn": fn,
            "fn_lo": fn_lo,
            "fn_hi": fn_hi,
            "exponent": dom.other.b if dom.other.free else np.nan,
            "exponent_se": dom.other.b_se,
            "assumptions": f"{noise}; {detail}",
        }
    return out


def project(
    bench_or_scenario: Benchmark | str,
    n_queries: int = N_QUERIES,
    n_register: int = M_REGISTER,
    *,
    population: int = US_POPULATION,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: int | Sequence[int] = 3,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    queries: int | None = None,
    clean: bool = False,
    run_rules: bool = True,
    cohort: bool = True,
    level: float = LEVEL,
    progress: bool | None = None,
    simulation: Simulation | None = None,
) -> pd.DataFrame:
    """Projected false matches (and misses) of each rule for ``n_queries`` queries against
    ``n_register`` register records drawn from a population of ``population`` people.

    One row per rule x approach (:data:`APPROACHES`): ``fp`` (expected false matches),
    ``fp_lo``/``fp_hi`` (``level`` interval), ``fp_per_query``, ``fn``/``fn_lo``/``fn_hi``
    (expected misses, where meaningful), ``exponent``/``exponent_se`` (the fitted b of the pass
    that dominates at the target; NaN when fixed at 1), ``scale`` (each pass's scale variable)
    and ``assumptions`` (a short statement; the full list is :func:`assumptions`, also in
    ``df.attrs["assumptions"]``). ``df.attrs["simulation"]`` holds the raw :class:`Simulation`
    (pass ``simulation=`` to re-project it to another target without rerunning).
    """
    target = Target(n_queries, n_register, population)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    bench = (
        load_benchmark(bench_or_scenario)
        if isinstance(bench_or_scenario, str)
        else bench_or_scenario
    )
    variants = ["noisy", "clean"] if clean else ["noisy"]
    if simulation is not None and simulation.target != target:
        # the analytic rows were computed at the simulation's target: recompute them
        simulation = _retarget(simulation, bench, target)
    sim = simulation or simulate(
        bench, sizes, seeds, fractions, queries=queries, variants=variants, target=target,
        run_rules=run_rules, cohort=cohort, progress=progress,
    )  # fmt: skip
    rng = stream(bench.scenario.seed, "projection", "draws")
    mated = mated_share(bench, sim)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in sim.specs:
        for approach, values in _analytic_projection(sim, rule, target, mated, level):
            cells[rule, approach] = values
    present = set(sim.passes["variant"]) if len(sim.passes) else set()
    for variant in (v for v in ("noisy", "clean") if v in present):
        for free in (True, False):
            name = ("simulated" if variant == "noisy" else "simulated clean") + (
                "" if free else ", b=1"
            )
            for rule, values in _simulated_projection(
                sim, variant, free, target, mated, level, rng
            ).items():
                cells[rule, name] = values
    rows = []
    for rule in sim.specs:
        for approach in APPROACHES:
            if (rule, approach) in cells:
                row: dict[str, Any] = dict.fromkeys(COLUMNS, np.nan)
                row.update(rule=rule, approach=approach, assumptions="")
                row["scale"] = " / ".join(s.scale for s in sim.specs[rule])
                row.update(cells[rule, approach])
                rows.append(row)
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df.attrs["assumptions"] = assumptions(bench, target)
    df.attrs["simulation"] = sim
    df.attrs["target"] = target
    return df


#: The projection table's columns, one row per rule x approach.
COLUMNS = (
    "rule", "approach", "fp", "fp_lo", "fp_hi", "fp_per_query", "fn", "fn_lo", "fn_hi",
    "exponent", "exponent_se", "scale", "assumptions",
)  # fmt: skip


def mated_share(bench: Benchmark, sim: Simulation) -> float:
    """The share of the list truly in the register: the scenario's ``share_in_register``, or,
    for a list drawn by residence status (``status_mix``), the share realized in the simulated
    lists (true links per query over the simulated tasks with their whole register: a random
    sub-register holds only part of each list's true links)."""
    share = bench.scenario.query.share_in_register
    if share is not None:
        return float(share)
    r = sim.rules
    if not len(r):
        raise LinkriskError(
            f"{bench.source}: query.status_mix: the projection needs the simulated lists to "
            "measure the share in the register (run the simulations)"
        )
    r = r[r["fraction"] == 1.0]
    if not len(r):
        raise LinkriskError(
            f"{bench.source}: query.status_mix: the projection measures the share in the "
            "register on simulations with the whole register (include 1 in --fractions)"
        )
    return float(r["true_links"].sum() / r["queries"].sum())


def _retarget(sim: Simulation, bench: Benchmark, target: Target) -> Simulation:
    """The simulation with its analytic rows recomputed at another target."""
    a = sim.analytic
    if len(a):
        a = a.copy()
        mated = mated_share(bench, sim)
        for i, r in a.iterrows():
            if r["reason"] is None or (isinstance(r["reason"], float) and np.isnan(r["reason"])):
                fp, fn, per = analytic_rate(
                    sim.specs[r["rule"]], r["p_names"], r["pieces"], target=target,
                    population=r["population"], adult_share=r["adult_share"], mated=mated,
                )  # fmt: skip
                a.at[i, "fp_per_query"], a.at[i, "fn_per_query"] = fp, fn
                a.at[i, "pass_fp_per_query"] = per
    return Simulation(sim.passes, sim.rules, a, target, sim.specs, sim.seconds, sim.skipped)


def _fn_projection(
    sim: Simulation, rule: str, variant: str, target: Target, mated: float, level: float
) -> tuple[float, float, float]:
    """Misses at the target: N x mated share x the pooled miss rate of the full-register runs
    (scale-free when every agreeing pair is declared; a Jeffreys interval on the pooled counts)."""
    r = sim.rules
    r = r[(r["rule"] == rule) & (r["variant"] == variant) & (r["fraction"] == 1.0)]
    if not len(r) or r["true_links"].sum() == 0:
        return (np.nan,) * 3
    fn, links = float(r["fn"].sum()), float(r["true_links"].sum())
    scale = target.n_queries * mated
    lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], fn + 0.5, links - fn + 0.5)
    # Jeffreys' interval excludes its own estimate at 0 and at every link missed: there the
    # bound is the estimate itself (Brown, Cai & DasGupta 2001, the modified Jeffreys interval)
    lo = 0.0 if fn == 0 else float(lo)
    hi = 1.0 if fn == links else float(hi)
    return scale * fn / links, scale * lo, scale * hi


# ----------------------------------------------------------------------------- assumptions
def assumptions(
    bench: Benchmark | None = None, target: Target | None = None
) -> list[dict[str, str]]:
    """Every assumption of the projection, with its source (or "assumption")."""
    t = target or Target()
    sc = bench.scenario if bench is not None else None
    ppz = f"{sc.population.people_per_zip:,}" if sc else "the scenario's people_per_zip"
    if sc is None:
        mated = "the scenario's share_in_register"
    elif sc.query.share_in_register is None:
        mated = "the share realized in the simulated lists (drawn by residence status)"
    else:
        mated = f"{sc.query.share_in_register:g}"
    out = [
        ("N (queries)", f"{t.n_queries:,}: about 1.28 million names sent in the 2025-26 IRS-ICE "
         "case, as reported (bench/scenarios/irs-ice.toml)"),
        ("M (register records)", f"{t.n_register:,}: roughly 160 million individual income tax "
         "returns a year (IRS Statistics of Income; IRS filing-season statistics counted ~164M "
         "individual returns received in 2022). Records are treated as people; if the register "
         "holds everyone named on a return (~208M people incl. spouses on joint returns), "
         "M-scaled false matches grow by ~1.3x"),
        ("Population", f"{t.population:,}: 2020 Census apportionment count; sets the register "
         f"density M / population = {t.density:.3f} and the number of ZIPs "
         f"(population / {ppz} people per ZIP)"),
        ("Scale variables", "name and date keys: false matches per query grow linearly with M; "
         "ZIP and address keys: with the register records per ZIP or address, i.e. the density "
         "M / population (at a fixed people_per_zip the ZIP count grows with the population); "
         "identifier (TIN) keys: with the density too, as a TIN belongs to one person and a "
         "record carrying another person's number (borrowed, a relative's) matches that person "
         "only if that person is in the register (a mistyped number that happens to be someone "
         "else's would grow with M, but is rarer by orders of magnitude); household false "
         "matches: with the density too (chance a housemate is in the register)"),
        ("Resolution", "every agreeing pair is declared (the rules' resolve = all): false matches "
         "are pairs, one per colliding register record"),
        ("Independence", "first and last names independent given the name-origin group; first "
         "names depend on sex and birth year (SSA counts), surnames on group only; dates of "
         "birth independent of names given the birth year, by the daily US birth pattern "
         "(CDC/NCHS and SSA counts 1994-2014, their average elsewhere) with placeholder dates "
         "(January 1, 1st of the month, July 1) for a share of people born abroad; names "
         "independent of addresses "
         "(no residential clustering of groups: real name+ZIP collisions are higher where a "
         "group is concentrated)"),
        ("Census tables", "Census 2010 surnames and 2020 first names by group (synthetic/names.py);"
         " rare (tail) names never collide on an exact key; under a prefix or phonetic key their "
         "keys follow the group's listed names counted once each"),
        ("Compound surnames", "recorded in full (GARCIA LOPEZ) with the scenario's "
         "compound_surname_by_group share, colliding only with the same pair of surnames; under a"
         " prefix key they key like their paternal part"),
        ("Dates of birth", "uniform within the year (no birth seasonality, which adds a few "
         "percent); birth years from the 2020 age pyramid for every group (Census source)"),
        ("Geography", f"ZIP sizes as in the synthetic geography (gamma, shape 2: a person's ZIP "
         f"holds 1.5x the mean); real ZCTAs are more unequal, so real name+ZIP collisions are "
         f"likely higher. {ppz} people per ZIP"),
        ("Households", "false matches with the query person's own housemates (Jr/Sr namesakes, "
         "a spouse or child with the same surname) come from the population model (its Jr/Sr "
         "and surname-inheritance assumptions), not from the name tables"),
        ("Mated share", f"{mated} of the queries are in the register (not public): sets the "
         "projected misses, and a cascade's later passes"),
        ("Noise", "the analytic values are for clean keys; the 'x key presence' row scales them "
         "by the share of pairs whose keys are present (missing values never collide), assuming "
         "other noise (typos, stale addresses, nicknames) moves keys to values about as common. "
         "The simulated rows include the scenario's noise (and 'clean' rows none)"),
        ("Simulated fit", "per pass, other false matches ~ Poisson(reach x a x^b) fitted on all "
         "runs (sizes, seeds, sub-registers); the exponent is fitted where the counts identify "
         "it (>= 10 false matches at 3+ points over a 2x range of x), else fixed at 1; "
         "intervals from Monte Carlo over the fit (covariance: the larger of overdispersed-"
         "Poisson and cluster-robust by task). Household false matches: b = 1 in density. "
         "Extrapolation over 2-3 orders of magnitude assumes the law holds beyond the data"),
        ("Misses", "per mated query, scale-free (rules declare every agreeing pair): N x mated "
         "share x the simulated miss rate; the analytic miss count is 0 for clean keys"),
    ]  # fmt: skip
    return [{"assumption": a, "value_and_source": s} for a, s in out]
