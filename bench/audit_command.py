"""``linkrisk audit``: plan a review of an agency's declared links, estimate its wrong-person
links from the filled form, and what the models say without labels.

:func:`add_parser` adds the subcommand to ``linkrisk``'s parser; :func:`main` runs it. Errors in
the input raise one-line :class:`~synthetic.errors.ConfigError` s (file, field, problem: exit
status 2) before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from bench.inputs import arguments as pair
from bench.inputs.arguments import add_file_pair_arguments
from bench.usage import integer, scenario_integer
from synthetic.errors import ConfigError

EPILOG = """\
workflow (example files under examples/audit/):
  linkrisk audit plan --links examples/audit/links.csv --strata path \\
      --query examples/evaluate/query.csv --register examples/evaluate/register.csv \\
      --map examples/evaluate/map.toml --margin 15% --seed 7 --out audit-plan
  (a reviewer fills the verdict column of audit-plan/review_form.csv)
  linkrisk audit estimate audit-plan --form examples/audit/review_form_filled.csv
  (with --unlinked examples/audit/unlinked.csv on the plan, a second form of unlinked queries;
   then --unlinked-form examples/audit/review_form_unlinked_filled.csv: the missed matches)

without labels, and on known truth:
  linkrisk audit model results/irs-ice              the models' own FDR and FNMR
  linkrisk audit calibrate-model irs-ice --out DIR  model FDR against true FDR over seeds
  linkrisk audit simulate results/irs-ice --method irs-two-path --audits 1000
                                                    coverage of the intervals on known truth
"""


def _share(text: str) -> float:
    """A share in (0, 1): ``0.03`` or ``3%``."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or percentage: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (or 0% and 100%): {text!r}")
    return value


def _seed(text: str) -> int:
    return scenario_integer("scenario.seed")(text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``audit`` and its subcommands to ``linkrisk``'s subparsers."""
    audit = sub.add_parser(
        "audit",
        help="audit an agency's declared links: plan a review, estimate from it, model-based",
        description="Audit an agency's declared links without its truth: plan a stratified "
        "review sample, estimate the wrong-person links from the reviewers' verdicts, and the "
        "probabilistic models' own label-free estimates (with their calibration on known truth).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="STEP")

    plan = asub.add_parser(
        "plan",
        help="propose and draw a stratified review sample; write the plan and the review form",
        description="Size a stratified sample of declared links for a target margin on the "
        "share of wrong-person links (Neyman allocation with prior rates, proportional "
        "without), draw it from a seed, and write plan.json, review_form.csv (the two records "
        "side by side: the one linkrisk output that holds record values, by design) and a "
        "README into --out.",
    )
    plan.add_argument("--links", type=Path, required=True, help="declared links (.csv, .parquet)")
    plan.add_argument("--query-column", default="query_id", help="query record id column")
    plan.add_argument("--register-column", default="register_id", help="register id column")
    plan.add_argument(
        "--strata", metavar="A,B", help="columns of the links file whose values form the strata"
    )
    add_file_pair_arguments(plan, required=False)  # to show the records on the form
    plan.add_argument(
        "--margin", type=_share, required=True, help="target half-width on the share (0.03 or 3%%)"
    )
    plan.add_argument("--confidence", type=_share, default=0.95, help="default 0.95")
    priors = plan.add_mutually_exclusive_group()
    priors.add_argument(
        "--prior",
        action="append",
        metavar="STRATUM=RATE",
        help="prior wrong-person rate of a stratum (every stratum); Neyman allocation",
    )
    priors.add_argument(
        "--prior-run",
        type=Path,
        metavar="RUN_DIR",
        help="priors from a linkrisk run: its --prior-method's wrong-link rate per path "
        "(strata named as the paths), else overall",
    )
    plan.add_argument("--prior-method", metavar="NAME", help="the method of --prior-run")
    plan.add_argument(
        "--unlinked",
        type=Path,
        metavar="FILE",
        help="query ids the agency did not link (.csv, .parquet): also sample them, on a second "
        "form, to estimate the missed matches",
    )
    plan.add_argument(
        "--unlinked-column", metavar="NAME", help="query id column of --unlinked (default: "
        "--query-column)"
    )  # fmt: skip
    plan.add_argument(
        "--unlinked-strata", metavar="A,B", help="columns of --unlinked whose values form strata"
    )
    plan.add_argument(
        "--unlinked-margin", type=_share, help="target half-width on the share of missed matches "
        "among the unlinked queries (default: --margin)"
    )  # fmt: skip
    plan.add_argument("--seed", type=_seed, default=1, help="seed of the draw (default 1)")
    plan.add_argument("--out", type=Path, required=True, help="new or empty directory")

    est = asub.add_parser(
        "estimate",
        help="wrong-person links among all declared links, from the filled review form",
        description="Read the plan and the filled review form; print the number and share of "
        "wrong-person links per stratum and in total, with design-based intervals at the "
        "plan's confidence; 'cannot tell' as bounds and under missing-at-random.",
    )
    est.add_argument("plan", type=Path, help="the plan directory (or its plan.json)")
    est.add_argument("--form", type=Path, required=True, help="the filled review form (CSV)")
    est.add_argument(
        "--unlinked-form",
        type=Path,
        help="the filled review form of the unlinked queries (plan --unlinked): also estimate "
        "the missed matches",
    )
    est.add_argument("--out", type=Path, help="also write the estimates as JSON to this file")

    mod = asub.add_parser(
        "model",
        help="the probabilistic methods' own (label-free) FDR and FNMR in a run",
    )
    src = mod.add_mutually_exclusive_group(required=True)
    src.add_argument("run_dir", type=Path, nargs="?", help="a linkrisk run directory")
    src.add_argument(
        "--scores",
        type=Path,
        help="a model's scored candidate pairs (.csv, .parquet; no truth needed), e.g. "
        "Splink's predictions: a posterior column and which pairs were declared",
    )
    mod.add_argument(
        "--score-column", default="match_probability", help="posterior column of --scores"
    )
    mod.add_argument(
        "--threshold",
        type=float,
        help="declared = posterior >= this (default: the --link-column says which are declared)",
    )
    mod.add_argument("--link-column", default="link", help="declared-link flag column of --scores")

    cal = asub.add_parser(
        "calibrate-model",
        help="model-estimated FDR against true FDR over seeded runs of a preset (chart)",
    )
    cal.add_argument("scenario", help="preset name or a .toml path")
    cal.add_argument("--out", type=Path, required=True, help="directory to write into")
    cal.add_argument(
        "--seeds", type=integer(1, name="count"), default=10, help="seeded runs (default 10)"
    )
    cal.add_argument("--first-seed", type=_seed, help="default: the scenario's seed")
    cal.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    sim = asub.add_parser(
        "simulate",
        help="coverage of the audit's intervals over simulated audits of a run (known truth)",
    )
    sim.add_argument("run_dir", type=Path, help="a linkrisk run directory")
    sim.add_argument("--method", required=True, help="the method whose declared links to audit")
    sim.add_argument(
        "--audits",
        type=integer(1, name="count"),
        default=1000,
        help="simulated audits (default 1000)",
    )
    sim.add_argument("--margin", type=_share, default=0.03, help="default 0.03")
    sim.add_argument("--confidence", type=_share, default=0.95, help="default 0.95")
    sim.add_argument(
        "--priors-from-truth", action="store_true", help="Neyman allocation with the true rates"
    )
    sim.add_argument(
        "--cannot-tell", type=float, default=0.0, help="share of reviews answered cannot_tell"
    )
    sim.add_argument(
        "--unlinked",
        action="store_true",
        help="audit the method's unlinked queries instead: coverage of the missed matches",
    )
    sim.add_argument("--replicate", type=int, default=0, help="population of the run (default 0)")
    sim.add_argument("--seed", type=_seed, default=1, help="seed of the first audit")


def main(args: argparse.Namespace) -> int:
    """Run ``linkrisk audit <step>``."""
    step = args.audit_command
    if step == "plan":
        return _plan(args)
    if step == "estimate":
        return _estimate(args)
    if step == "model":
        return _model(args)
    if step == "calibrate-model":
        return _calibrate(args)
    return _simulate(args)


# --- plan ------------------------------------------------------------------------------------


def _priors_from_flags(flags: list[str], labels: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for flag in flags:
        label, sep, rate = flag.rpartition("=")
        if not sep:
            raise ConfigError(f"--prior {flag}", "expected STRATUM=RATE")
        try:
            value = float(rate)
        except ValueError:
            raise ConfigError(f"--prior {flag}", f"rate {rate!r} is not a number") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"--prior {flag}", f"rate {value} is not between 0 and 1")
        if label not in labels:
            raise ConfigError(
                f"--prior {flag}", f"no stratum {label!r} (strata: {', '.join(labels)})"
            )
        out[label] = value
    missing = [label for label in labels if label not in out]
    if missing:
        raise ConfigError("--prior", f"no prior for stratum {missing[0]!r} (give one per stratum)")
    return out


def _priors_from_run(run_dir: Path, method: str | None, labels: list[str]) -> dict[str, float]:
    import numpy as np

    from bench.audit.simulate import Population, run_links
    from bench.runs.rundir import RunDir

    if method is None:
        raise ConfigError("--prior-method", "name the method of --prior-run whose rates to use")
    run = RunDir(run_dir)
    pops = [run_links(run, method, k) for k in range(int(run.info["replicates"]))]
    pop = Population(
        np.concatenate([p.stratum for p in pops]), np.concatenate([p.wrong for p in pops])
    )
    rates = pop.rates()
    overall = float(pop.wrong.mean())
    return {label: rates.get(label, overall) for label in labels}


def _plan(args: argparse.Namespace) -> int:
    from bench.audit import forms
    from bench.audit.design import allocate, expected_margin
    from bench.runs.store import atomic_dir, check_out_dir

    check_out_dir(args.out)
    if (args.query is None) != (args.register is None):
        raise ConfigError("--query/--register", "give both record files, or neither")
    if args.query is not None and args.map is None and not args.column:
        raise ConfigError("--map", "the record files need a column map (--map or --column)")
    if args.prior_method is not None and args.prior_run is None:
        raise ConfigError("--prior-method", "goes with --prior-run")
    for flag in ("unlinked_column", "unlinked_strata", "unlinked_margin"):
        if getattr(args, flag) is not None and args.unlinked is None:
            raise ConfigError(f"--{flag.replace('_', '-')}", "goes with --unlinked")
    strata = _columns(args.strata)
    links = forms.read_links(args.links, (args.query_column, args.register_column), strata)
    unlinked = None
    if args.unlinked is not None:
        unlinked = forms.read_links(
            args.unlinked, (args.unlinked_column or args.query_column,),
            _columns(args.unlinked_strata), forms.UNLINKED,
        )  # fmt: skip
        forms.check_unlinked(unlinked, links)
    records = None
    if args.query is not None:
        records = forms.load_records(args.query, args.register, pair.column_map(args))
        files = {"query": args.query, "register": args.register}
        forms.check_records(links, records, files)
        if unlinked is not None:
            forms.check_records(unlinked, records, files)
    sizes = links.frame["stratum"].value_counts().to_dict()
    labels = sorted(sizes)
    priors, source = None, None
    if args.prior:
        priors, source = _priors_from_flags(args.prior, labels), "--prior"
    elif args.prior_run is not None:
        priors = _priors_from_run(args.prior_run, args.prior_method, labels)
        source = f"{args.prior_run} ({args.prior_method})"
    plan = allocate(
        {str(k): int(v) for k, v in sizes.items()}, args.margin, args.confidence, priors
    )
    sample = forms.sample_links(links, plan, args.seed)
    expected = expected_margin(plan, args.confidence)
    u_plan, u_doc, u_form = None, None, None
    if unlinked is not None:
        u_margin = args.unlinked_margin or args.margin
        u_sizes = unlinked.frame["stratum"].value_counts().to_dict()
        u_plan = allocate({str(k): int(v) for k, v in u_sizes.items()}, u_margin, args.confidence)
        u_sample = forms.sample_links(unlinked, u_plan, args.seed)
        u_doc = forms.unlinked_document(
            unlinked, u_plan, u_sample, u_margin, expected_margin(u_plan, args.confidence)
        )
        u_form = forms.form_frame(u_sample, args.seed, records, forms.UNLINKED)
    doc = forms.plan_document(
        links, plan, sample, seed=args.seed, margin=args.margin, confidence=args.confidence,
        expected=expected, priors_source=source,
        records={"query": args.query, "register": args.register} if records else None,
        unlinked=u_doc,
    )  # fmt: skip
    form = forms.form_frame(sample, args.seed, records)
    with atomic_dir(args.out) as tmp:
        forms.write_plan_dir(tmp, doc, form, str(args.out), u_form)
    names = [forms.PLAN_FILE, forms.FORM_FILE, forms.FORM_README]
    if u_form is not None:
        names.insert(2, forms.UNLINKED_FORM_FILE)
    for name in names:
        print(args.out / name)
    rows: list[list[Any]] = [
        [s.label, f"{s.size:,}", f"{s.sample:,}", "-" if s.prior is None else f"{s.prior:.2%}"]
        for s in plan
    ]
    rows.append(["all", f"{len(links.frame):,}", f"{sum(s.sample for s in plan):,}", ""])
    print(
        f"\n{'Neyman' if priors else 'proportional'} allocation for ±{args.margin:.2%} at "
        f"{args.confidence:.0%} confidence (seed {args.seed}); expected margin "
        f"±{expected:.2%}{'' if priors else ' if every stratum were 50% wrong (the worst case)'}:"
    )
    _table(rows, ["stratum", "declared links", "to review", "prior rate"])
    if u_plan is not None and u_doc is not None:
        print(
            f"\nUnlinked queries (missed matches), proportional allocation for "
            f"±{u_doc['margin']:.2%}; expected margin ±{u_doc['expected_margin']:.2%} if every "
            f"stratum were 50% in the register (the worst case):"
        )
        u_rows: list[list[Any]] = [[s.label, f"{s.size:,}", f"{s.sample:,}"] for s in u_plan]
        if len(u_plan) > 1:
            u_rows.append(["all", f"{u_doc['rows']:,}", f"{u_doc['sample_size']:,}"])
        _table(u_rows, ["stratum", "unlinked queries", "to review"])
    if records:
        print(
            "\nThe review form holds the records' values by design: keep it as you keep the "
            "records.",
            file=sys.stderr,
        )
    return 0


def _columns(flag: str | None) -> list[str]:
    """The column names of a ``A,B`` flag."""
    return [c.strip() for c in flag.split(",") if c.strip()] if flag else []


def _table(rows: list[list[Any]], headers: list[str]) -> None:
    from tabulate import tabulate

    print(tabulate(rows, headers=headers, tablefmt="github",
                   colalign=["left"] + ["right"] * (len(headers) - 1)))  # fmt: skip


# --- estimate --------------------------------------------------------------------------------


def _estimate(args: argparse.Namespace) -> int:
    from bench.audit import forms
    from bench.audit.estimate import estimate

    if args.out is not None and args.out.is_dir():
        raise ConfigError(str(args.out), "is a directory; name a JSON file to write")
    plan = forms.read_plan(args.plan)
    confidence = float(plan["target"]["confidence"])
    tallies = forms.read_form(args.form, plan)
    u_tallies = None
    if args.unlinked_form is not None:
        if "unlinked" not in plan["_parts"]:
            raise ConfigError(
                f"{plan['_path']}: unlinked", "the plan sampled no unlinked queries (plan "
                "--unlinked), so --unlinked-form has nothing to check against"
            )  # fmt: skip
        u_tallies = forms.read_form(args.unlinked_form, plan, forms.UNLINKED)
    rows, doc = _estimate_rows(estimate(tallies, confidence), ESTIMATE_KEYS)
    level = f"{confidence:.0%}"
    print(
        f"Wrong-person links among the declared links (plan {args.plan}, form {args.form}), "
        f"{level} intervals:"
    )
    _table(rows, ["stratum", "declared", "reviewed", "different", "cannot tell",
                  f"share wrong ({level})", f"wrong links ({level})",
                  "bounds: cannot tell all right - all wrong"])  # fmt: skip
    u_doc = None
    if u_tallies is not None:
        u_results = estimate(u_tallies, confidence)
        if len(u_tallies) == 1:  # one stratum: it is the total
            u_results = u_results[-1:]
        u_rows, u_doc = _estimate_rows(u_results, UNLINKED_KEYS)
        print(
            f"\nMissed matches: unlinked queries whose person is in the register (form "
            f"{args.unlinked_form}), {level} intervals:"
        )
        _table(u_rows, ["stratum", "unlinked", "reviewed", "in register", "cannot tell",
                        f"share in register ({level})", f"missed matches ({level})",
                        "bounds: cannot tell all not in register - all in"])  # fmt: skip
    elif "unlinked" in plan["_parts"]:
        print("\n(The plan also sampled unlinked queries: give their filled form with "
              "--unlinked-form to estimate the missed matches.)")  # fmt: skip
    print(
        f"\nShares and counts assume 'cannot tell' answers are missing at random within their "
        f"stratum; the bounds hold whatever they are ({level} intervals with all of them right, "
        f"and with all of them wrong). Intervals: stratified, finite-population corrected, Wilson "
        f"on the effective sample size."
    )
    if args.out is not None:
        from bench.runs.writers import write_json

        meta = {"plan": str(args.plan), "form": str(args.form), "confidence": confidence}
        out: dict[str, Any] = {**meta, "estimates": doc}
        if u_doc is not None:
            out.update(unlinked_form=str(args.unlinked_form), missed=u_doc)
        tmp = args.out.with_name(f".{args.out.name}.tmp-{os.getpid()}")
        try:
            write_json(out, tmp)
            os.replace(tmp, args.out)
        finally:
            tmp.unlink(missing_ok=True)
        print(args.out)
    return 0


#: The estimate JSON's keys for the population, the counted verdict and the count estimated.
ESTIMATE_KEYS = ("declared", "different", "wrong")
UNLINKED_KEYS = ("unlinked", "in_register", "missed")


def _estimate_rows(
    results: list[Any], keys: tuple[str, str, str]
) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """The printed rows and the JSON entries of :func:`bench.audit.estimate.estimate`'s
    results."""
    population, counted, count = keys
    rows, doc = [], []
    for e in results:
        lo, hi = e.bounds
        mar = e.mar
        rows.append(
            [
                e.label,
                f"{e.size:,}",
                f"{e.reviewed:,}",
                f"{e.different:,}",
                f"{e.cannot_tell:,}",
                _pct(mar.share, mar.low, mar.high),
                _count_text(e.size, mar.share, mar.low, mar.high),
                f"{_n(e.size * lo)} - {_n(e.size * hi)} ({lo:.1%} - {hi:.1%})",
            ]
        )
        doc.append(
            {
                "stratum": e.label,
                population: e.size,
                "reviewed": e.reviewed,
                counted: e.different,
                "cannot_tell": e.cannot_tell,
                "share": mar.share,
                "share_low": mar.low,
                "share_high": mar.high,
                count: e.size * mar.share,
                f"{count}_low": e.size * mar.low,
                f"{count}_high": e.size * mar.high,
                "bounds_share_low": lo,
                "bounds_share_high": hi,
                "share_cannot_tell_right": e.cannot_tell_right.share,
                "share_cannot_tell_wrong": e.cannot_tell_wrong.share,
            }
        )
    return rows, doc


def _pct(p: float, lo: float, hi: float) -> str:
    if math.isnan(p):
        return "n/a (no judged review)"
    return f"{p:.1%} ({lo:.1%} - {hi:.1%})"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _count_text(size: int, p: float, lo: float, hi: float) -> str:
    if math.isnan(p):
        return "n/a"
    return f"{_n(size * p)} ({_n(size * lo)} - {_n(size * hi)})"


# --- model, calibrate-model, simulate --------------------------------------------------------


def _model_scores(args: argparse.Namespace) -> int:
    from bench.audit.forms import read_scores
    from bench.audit.modelbased import model_estimate

    pairs = read_scores(args.scores, args.score_column, args.link_column, args.threshold)

    est = model_estimate(pairs)
    declared = est["declared"]
    print(f"Model-based (label-free) estimates from {args.scores} ({len(pairs):,} scored pairs):")
    _table(
        [[f"{declared:,}", f"{est['model_false']:,.1f} ({est['model_FDR']:.2%})",
          f"{est['model_missed']:,.1f} ({est['model_FNMR']:.2%})"]],
        ["declared", "expected false links (FDR)", "expected missed matches (FNMR)"],
    )  # fmt: skip
    print(f"\n{MODEL_NOTE}")
    return 0


MODEL_NOTE = (
    "Model FDR: sum over declared links of (1 - posterior) / declared links; model FNMR: "
    "posterior mass of the candidate pairs not declared / of all candidate pairs (blocking "
    "loss unseen). Both hold only as far as the posteriors are calibrated: on synthetic runs "
    "with known truth they underestimate the FDR several-fold (`linkrisk audit calibrate-model`)."
)


def _model(args: argparse.Namespace) -> int:
    from bench.audit.modelbased import model_estimates
    from bench.runs.rundir import RunDir

    if args.scores is not None:
        return _model_scores(args)

    est = model_estimates(RunDir(args.run_dir))
    if est.empty:
        raise ConfigError(f"{args.run_dir}: methods", "no method with posterior match scores")
    rows = []
    for name, g in est.groupby("method", sort=False):
        declared = int(g["declared"].sum())
        rows.append(
            [
                name,
                f"{declared:,}",
                f"{g['model_false'].sum():,.0f} ({g['model_false'].sum() / declared:.2%})",
                f"{g['true_false'].sum():,} ({g['true_false'].sum() / declared:.2%})",
                f"{g['model_FNMR'].iloc[0]:.2%}",
                f"{g['true_FNMR'].iloc[0]:.2%}",
            ]
        )
    print(f"Model-based (label-free) estimates in {args.run_dir}, pooled over the replicates:")
    _table(rows, ["method", "declared", "model: expected false (FDR)", "truth: false (FDR)",
                  "model FNMR (1st population)", "true FNMR (1st)"])  # fmt: skip
    print(f"\n{MODEL_NOTE}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from bench.audit_calibration import FIGURE_FILE, MARKDOWN_FILE, POINTS_FILE, calibrate_model
    from bench.audit_calibration import verdict as verdict_text
    from bench.linkage.config import load_benchmark
    from bench.runs.store import check_out_dir

    check_out_dir(args.out)
    first = (
        load_benchmark(args.scenario).scenario.seed if args.first_seed is None else args.first_seed
    )
    seeds = [first + i for i in range(args.seeds)]
    points = calibrate_model(
        args.scenario, seeds, args.out, progress=False if args.no_progress else None
    )
    for name in (MARKDOWN_FILE, FIGURE_FILE, POINTS_FILE):
        print(args.out / name)
    print(verdict_text(points))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from bench.audit.design import UNLINKED_STREAM
    from bench.audit.simulate import run_links, run_unlinked, simulate
    from bench.runs.rundir import RunDir

    if not 0 <= args.cannot_tell < 1:
        raise ConfigError("--cannot-tell", f"{args.cannot_tell} is not in [0, 1)")
    if args.unlinked:
        pop = run_unlinked(RunDir(args.run_dir), args.method, args.replicate)
        extra = {"sample_stream": UNLINKED_STREAM}
    else:
        pop = run_links(RunDir(args.run_dir), args.method, args.replicate)
        extra = {}
    priors = pop.rates() if args.priors_from_truth else None
    cov, _ = simulate(
        pop, audits=args.audits, margin=args.margin, confidence=args.confidence, priors=priors,
        cannot_tell=args.cannot_tell, seed=args.seed, **extra,
    )  # fmt: skip
    lo, hi = cov.interval()
    out = {
        "run": str(args.run_dir),
        "method": args.method,
        "audited": "unlinked queries" if args.unlinked else "declared links",
        "strata": pop.sizes(),
        "true_missed" if args.unlinked else "true_wrong": cov.true_wrong,
        "audits": cov.audits,
        "mean_sample": cov.mean_sample,
        "coverage": cov.rate,
        "coverage_95ci": [lo, hi],
        "bounds_coverage": cov.covered_bounds / cov.audits,
        "mean_half_width": cov.mean_half_width,
    }
    print(json.dumps(out, indent=2))
    return 0
