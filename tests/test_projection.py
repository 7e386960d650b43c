"""Projection to real scale: collision probabilities against brute force, the analytic expectation
against simulated false matches on a small noise-free scenario, the fitted scaling law, and input
validation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.linkage.config import load_benchmark
from bench.scale.projection import (
    APPROACHES,
    Key,
    PassSpec,
    Simulation,
    Target,
    assumptions,
    collision_probability,
    expected_false_matches,
    main,
    nesting_factor,
    project,
    rule_passes,
    simulate,
)
from bench.scale.projection.strata import _pair_matrix

SMALL = str(Path(__file__).parent / "data" / "projection-small.toml")
MODERATE = Target(n_queries=6_000, n_register=1_000_000, population=1_600_000)


@pytest.fixture(scope="module")
def sim():
    """Two population sizes x four seeds x three nested sub-registers (~15 s)."""
    return simulate(SMALL, sizes=(30_000, 60_000), seeds=4, progress=False)


# ----------------------------------------------------------------------------- brute force
def test_collision_probability_matches_brute_force_count():
    list_keys = ["GARCIA", "GARCIA", "SMITH", "LEE", "NGUYEN"]
    reg_keys = ["GARCIA", "SMITH", "SMITH", "KIM", "LEE", "LEE", "JONES"]
    brute = sum(a == b for a, b in itertools.product(list_keys, reg_keys))
    p = pd.Series(list_keys).value_counts(normalize=True)
    q = pd.Series(reg_keys).value_counts(normalize=True)
    # aligned on the key (NGUYEN, KIM, JONES are on one side only)
    assert collision_probability(p, q) == pytest.approx(brute / (len(list_keys) * len(reg_keys)))
    # expected false matches of N queries against M records: N x (M - mated) x p
    assert expected_false_matches(1000, 5000, 1e-4, 0.4) == pytest.approx(1000 * 4999.6 * 1e-4)


def test_pair_matrix_matches_brute_force_over_different_households():
    rng = np.random.default_rng(5)
    n = 300
    codes = rng.integers(0, 6, n)  # a few key values: many collisions
    codes[rng.random(n) < 0.1] = -1  # some people have no key
    cats = rng.integers(0, 3, n)
    household = rng.integers(0, 120, n)  # households of ~2.5
    got = _pair_matrix(codes, cats, 3, household)
    same = (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)
    other_hh = household[:, None] != household[None, :]
    for c, d in itertools.product(range(3), range(3)):
        pair = (cats[:, None] == c) & (cats[None, :] == d) & other_hh
        assert got[c, d] == pytest.approx((same & pair).sum() / pair.sum())


def test_nesting_factor_is_the_variance_inflation_of_nested_counts():
    assert nesting_factor([1.0]) == 1.0
    assert nesting_factor([0.25, 0.5, 1.0]) == pytest.approx(15 / 7)
    # Monte Carlo: Poisson pairs of the full register, thinned into nested sub-registers
    rng = np.random.default_rng(0)
    pairs = rng.poisson(50, 20_000)
    totals = np.array([(np.add.outer(rng.random(k), np.zeros(1)) < [0.25, 0.5, 1.0]).sum()
                       for k in pairs[:4000]])  # fmt: skip
    assert totals.var() / totals.mean() == pytest.approx(15 / 7, rel=0.08)


# ----------------------------------------------------------------------------- analytic vs sim
def test_analytic_expectation_agrees_with_simulated_false_matches(sim):
    """At the simulated scale, the analytic expectation from the population's own frequencies
    (independence within group, sex and birth year; household term apart) matches the false
    matches the rules declare, within their sampling uncertainty."""
    full = sim.passes[sim.passes["fraction"] == 1.0]
    ana = sim.analytic[sim.analytic["source"] == "population"]
    for rule in ("first-last-dob", "first-last-year", "first-last", "name-control-zip"):
        p = full[full["rule"] == rule]
        a = ana[ana["rule"] == rule]
        observed = int((p["fp_other_raw"] + p["fp_household_raw"]).sum())
        expected = float((a["own_fp_per_query"] * a["own_queries"]).sum())
        if expected < 30:  # few events: a Poisson interval of the expected count
            lo, hi = stats.poisson.ppf([0.0005, 0.9995], expected)
            assert lo <= observed <= hi, (rule, observed, expected)
        else:  # overdispersed: per-query counts are clustered on common names
            phi = max(1.0, float(p["dispersion"].mean()))
            z = (observed - expected) / math.sqrt(expected * phi)
            assert abs(z) < 3, (rule, observed, expected, z)
    # exact DOB collisions are far too rare to see at this scale: the reason for projecting
    dob = ana[ana["rule"] == "first-last-dob"]
    assert float((dob["own_fp_per_query"] * dob["own_queries"]).sum()) < 1


def test_fitted_exponent_near_one_and_projection_covers_analytic(sim):
    df = project(SMALL, *_nm(MODERATE), population=MODERATE.population, simulation=sim,
                 level=0.99)  # fmt: skip
    assert set(df["approach"]) <= set(APPROACHES)

    def cell(rule: str, approach: str) -> pd.Series:
        return df[(df["rule"] == rule) & (df["approach"] == approach)].iloc[0]

    for rule, max_se in (("first-last", 0.15), ("first-last-year", 0.6)):
        free = cell(rule, "simulated")
        # name and date keys: collisions per query grow linearly with the register
        assert free["exponent_se"] < max_se
        assert abs(free["exponent"] - 1) < 3 * free["exponent_se"], free["assumptions"]
        analytic = cell(rule, "analytic: population")["fp"]
        for approach in ("simulated", "simulated, b=1"):
            c = cell(rule, approach)
            assert c["fp_lo"] <= analytic <= c["fp_hi"], (rule, approach, analytic, dict(c))
        # at the moderate target, the tables and the population's own frequencies agree
        assert cell(rule, "analytic: Census tables")["fp"] == pytest.approx(analytic, rel=0.15)
    # name + ZIP: scale variable is the density (sub-registers), exponent 1 too
    z = cell("name-control-zip", "simulated")
    assert abs(z["exponent"] - 1) < 3 * z["exponent_se"]
    analytic = cell("name-control-zip", "analytic: population")["fp"]
    assert z["fp_lo"] <= analytic <= z["fp_hi"]
    assert "M/population" in z["scale"]
    # no noise: nothing is missed
    assert cell("first-last", "simulated")["fn"] == 0


def _nm(t: Target) -> tuple[int, int]:
    return t.n_queries, t.n_register


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_queries": 0}, "n_queries must be a positive integer"),
        ({"n_register": -5}, "n_register must be a positive integer"),
        ({"population": 0}, "population must be a positive integer"),
        ({"n_queries": 1.5}, "n_queries must be a positive integer"),
    ],
)
def test_target_sizes_must_be_positive(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Target(**kwargs)
    with pytest.raises(ValueError, match=message):
        project(SMALL, **kwargs)


def test_invalid_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        collision_probability([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="sums to"):
        collision_probability([0.7, 0.7], [0.5, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        collision_probability([-0.1, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="mated"):
        expected_false_matches(10, 10, 0.1, 1.5)
    with pytest.raises(ValueError, match="n_register"):
        expected_false_matches(10, 0, 0.1, 0.5)
    with pytest.raises(ValueError, match="sizes"):
        simulate(SMALL, sizes=[])
    with pytest.raises(ValueError, match="fractions"):
        simulate(SMALL, sizes=[1000], fractions=[0.0, 1.0])
    with pytest.raises(ValueError, match="seeds"):
        simulate(SMALL, sizes=[1000], seeds=0)
    with pytest.raises(ValueError, match="level"):
        project(SMALL, level=1.5)


def test_rule_passes_and_unsupported_keys():
    bench = load_benchmark("irs-ice")
    rules = {m.name: m for m in bench.methods if m.kind == "rule"}
    zip_pass = rule_passes(rules["name-control-zip"])[0]
    assert zip_pass.geo and zip_pass.scale == "M/population" and zip_pass.unsupported is None
    dob_pass = rule_passes(rules["first-last-dob"])[0]
    assert not dob_pass.geo and dob_pass.scale == "M" and dob_pass.unsupported is None
    assert [len(p.keys) for p in rule_passes(rules["cascade"])] == [5, 3]
    # a TIN belongs to one person: the TIN path's collisions scale with density, not with M
    tin_pass, address_pass = rule_passes(rules["irs-two-path"])
    assert tin_pass.owned and not tin_pass.geo and tin_pass.scale == "M/population"
    assert not address_pass.owned and address_pass.scale == "M/population"
    fuzzy = PassSpec((Key("last_name"),), ({"field": "first_name", "compare": "jw", "min": 0.9},))
    assert "Jaro-Winkler" in fuzzy.unsupported
    assert "middle_name" in PassSpec((Key("middle_name"),), ()).unsupported
    assert "not independent" in PassSpec((Key("name"), Key("last_name", "soundex")), ()).unsupported
    with pytest.raises(ValueError, match="not a rule"):
        rule_passes(next(m for m in bench.methods if m.kind != "rule"))


def test_assumptions_cite_the_defaults():
    items = {a["assumption"]: a["value_and_source"] for a in assumptions()}
    assert "1,280,000" in items["N (queries)"]
    assert "160,000,000" in items["M (register records)"]
    assert "Statistics of Income" in items["M (register records)"]
    assert "331,449,281" in items["Population"]


def test_main_prints_the_table(capsys):
    code = main(
        [SMALL, "--sizes", "20000", "--seeds", "1", "--fractions", "1", "--queries", "2000"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| rule" in out and "analytic: Census tables" in out and "simulated, b=1" in out
    assert "Assumptions" in out and "Run time" in out
    assert main([SMALL, "-N", "0"]) == 2
    assert "n_queries must be a positive integer" in capsys.readouterr().err


def test_against_a_direct_run_projects_to_its_size_and_sets_its_counts_beside(
    tmp_path: Path, capsys
) -> None:
    from bench.cli import main as linkrisk
    from bench.measurement.uncertainty import garwood

    run_dir, small = tmp_path / "direct", tmp_path / "small.toml"
    small.write_text(Path(SMALL).read_text().replace("size = 60000", "size = 20000"))
    argv = ["run", str(small), "--replicates", "1", "--no-html", "--no-progress"]
    assert linkrisk([*argv, "--out", str(run_dir)]) == 0
    capsys.readouterr()
    metrics = pd.read_csv(run_dir / "metrics.csv").set_index("method")
    cheap = ["--sizes", "20000", "--seeds", "1", "--fractions", "1", "--queries", "2000"]
    assert main([str(small), "--against", str(run_dir), "--analytic-only", *cheap]) == 0
    out = capsys.readouterr().out
    registered = int(metrics["register_records"].iloc[0])
    assert f"{int(metrics['queries'].iloc[0]):,} queries against {registered:,} register" in out
    assert "(population 20,000)" in out and f"--against {run_dir}" in out
    rules = [m for m in metrics.index if metrics.loc[m, "kind"] == "rule"]
    assert rules and out.count("| direct simulation: projection-small (seed 7)") == len(rules)
    assert "Checked against the direct simulation" in out and "projected misses" in out
    for rule in rules:  # the direct row: the run's own false matches
        assert f"| {rule} " in out
    fp = float(metrics.loc[rules[0], "FP"])
    lo, hi = garwood(fp, 0.95)
    assert lo <= fp <= hi and (lo == 0) == (fp == 0)
    # not a run directory, or one without its metrics: one line, exit 2
    assert main([str(small), "--against", str(tmp_path), "--analytic-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run.json: not found" in err
    (run_dir / "metrics.csv").unlink()
    assert main([str(small), "--against", str(run_dir), "--analytic-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "metrics.csv: cannot be read (FileNotFoundError)" in err


# ----------------------------------------------------------------------------- intervals
def _sim_with_counts(counts: dict[str, list[tuple[int, int]]], fn: dict[str, int]) -> Simulation:
    """A hand-made simulation: per rule, per pass (other, household) false matches in every run
    (2 sizes x 2 seeds x 2 nested fractions), and the rule's misses out of 100 true links."""
    passes, rules = [], []
    for rule, per_pass in counts.items():
        for size, seed, fraction in itertools.product((20_000, 40_000), (1, 2), (1.0, 0.5)):
            for k, (other, household) in enumerate(per_pass):
                passes.append(
                    {
                        "variant": "noisy", "size": size, "seed": seed, "fraction": fraction,
                        "rule": rule, "pass": k, "queries": 1_000, "reach": 800,
                        "register": int(size * 0.6 * fraction), "population": size,
                        "fp_other": other, "fp_household": household, "dispersion": 1.0,
                    }
                )  # fmt: skip
            rules.append(
                {"variant": "noisy", "size": size, "seed": seed, "fraction": fraction,
                 "rule": rule, "fn": fn[rule], "true_links": 100}
            )  # fmt: skip
    spec = PassSpec(keys=(Key("first_name"), Key("last_name"), Key("dob")), filters=())
    specs = {rule: [spec] * len(per_pass) for rule, per_pass in counts.items()}
    return Simulation(pd.DataFrame(passes), pd.DataFrame(rules), pd.DataFrame(), Target(), specs)


def test_mated_share_of_a_status_drawn_list_counts_whole_registers_only():
    """A random sub-register holds only part of a list's true links: the share of the list in
    the register is measured where the register is whole (pooling the sub-registers once
    halved the projected misses of irs-ice against a direct simulation at 1:10 of real
    scale)."""
    from bench.scale.projection.estimates import mated_share

    rows = [
        {"variant": "noisy", "size": 20_000, "seed": 1, "fraction": f, "rule": "r",
         "fn": 0, "true_links": int(170 * f), "queries": 1_000}
        for f in (0.25, 0.5, 1.0)
    ]  # fmt: skip
    sim = Simulation(pd.DataFrame(), pd.DataFrame(rows), pd.DataFrame(), Target(), {})
    assert mated_share(load_benchmark("irs-ice"), sim) == pytest.approx(0.17)


def test_intervals_contain_their_point_even_for_zero_counts():
    """A count of zero has a point estimate of zero: its interval must start at zero (the
    Jeffreys interval's positive lower end for x = 0 excludes the estimate; README had 0 false
    matches with 10.2 - 26,619). Likewise misses of 0 or of every true link."""
    sim = _sim_with_counts(
        {
            "all-zero": [(0, 0), (0, 0)],
            "zero-pass-beside-counts": [(0, 0), (3, 0)],
            "zero-household": [(40, 0)],
            "few": [(1, 0), (0, 1), (1, 1)],
        },
        fn={"all-zero": 0, "zero-pass-beside-counts": 100, "zero-household": 3, "few": 50},
    )
    df = project(load_benchmark(SMALL), simulation=sim)
    df = df[df["approach"].str.startswith("simulated")]
    assert len(df) == 8
    for r in df.itertuples():
        assert r.fp_lo <= r.fp <= r.fp_hi, (r.rule, r.approach, r.fp_lo, r.fp, r.fp_hi)
        assert r.fn_lo <= r.fn <= r.fn_hi, (r.rule, r.approach, r.fn_lo, r.fn, r.fn_hi)
    zero = df[df["rule"] == "all-zero"]
    assert (zero["fp"] == 0).all() and (zero["fp_lo"] == 0).all() and (zero["fp_hi"] > 0).all()
    assert (zero["fn"] == 0).all() and (zero["fn_lo"] == 0).all() and (zero["fn_hi"] > 0).all()
    every = df[df["rule"] == "zero-pass-beside-counts"]
    assert (every["fn_hi"] == every["fn"]).all()  # all 100 true links missed: the upper end


def test_argparse_errors_are_one_line(capsys):
    for argv in ([], [SMALL, "--seeds", "x"], [SMALL, "--bogus"], [SMALL, "--sizes"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("linkrisk: error: "), captured.err
        assert captured.out == ""
