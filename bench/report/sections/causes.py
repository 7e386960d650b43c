"""*False matches by cause* and *Missed matches by noise*: each error counted once under its
first cause; the cause tables, also by subgroup."""

from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from bench.measurement.attributed import sample_sentence, sampled_methods
from bench.measurement.causes import FALSE_MATCH_CAUSES, NO_NOISE, cause_descriptions
from bench.measurement.derive import compute_causes
from bench.measurement.subgroups import subgroup_causes_run
from bench.report.context import ReportContext
from bench.report.sections.base import Section, register
from synthetic.precision import round_frame


def _cell(count: int, share: float, interval: tuple[int, int] | None = None) -> str:
    text = f"{count:,}" if count == 0 or pd.isna(share) else f"{count:,} ({100 * share:.1f}%)"
    return text if interval is None else f"{text} [{interval[0]:,}-{interval[1]:,}]"


def cause_matrix(
    table: pd.DataFrame, count: str, keep: set[str], describe: bool = True, fmt: str = "github"
) -> str:
    """A cause table as a matrix: rows = causes in order (those in ``keep``, or with a non-zero
    count for some method), columns = methods, cells = count (share of the method's total), and
    a closing total row; ``describe`` adds each cause's description. A method whose counts are
    estimated from a sample of its errors (``sampled`` < ``of``) has each count's 95% interval
    in brackets."""
    methods = list(dict.fromkeys(table["method"]))
    by = table.set_index(["cause", "method"])
    descriptions = cause_descriptions() if describe else {}
    estimated = sampled_methods(table)

    def interval(name: str, m: str) -> tuple[int, int] | None:
        if m not in estimated:
            return None
        return int(by.loc[(name, m), f"{count}_lo"]), int(by.loc[(name, m), f"{count}_hi"])

    rows = []
    for name in dict.fromkeys(table["cause"]):
        counts = [int(by.loc[(name, m), count]) for m in methods]
        if name not in keep and not any(counts):
            continue  # e.g. a noise type this scenario does not apply
        cells = [
            _cell(n, by.loc[(name, m), "share"], interval(name, m))
            for n, m in zip(counts, methods, strict=True)
        ]
        rows.append([name, *([descriptions.get(name, "")] if describe else []), *cells])
    totals = table.groupby("method", sort=False)[count].sum()
    rows.append(
        [f"all ({count})", *([""] if describe else []), *(f"{totals[m]:,}" for m in methods)]
    )
    headers = ["cause", *(["description"] if describe else []), *methods]
    align = ["left"] * (2 if describe else 1) + ["right"] * len(methods)
    return tabulate(rows, headers=headers, tablefmt=fmt, colalign=align)


def _causes(ctx: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(false matches, missed matches) by cause, or None without attributions."""
    if ctx.attributions is None:
        return None
    tables = compute_causes(ctx.path, ctx.attributions)
    assert tables is not None
    return round_frame(tables[0]), round_frame(tables[1])


def sample_lines(table: pd.DataFrame) -> list[str]:
    """A paragraph naming each method whose false matches are attributed from a sample
    (``sampled`` < ``of`` in ``table``) and how to read its estimates; none otherwise."""
    estimated = sampled_methods(table)
    if not estimated:
        return []
    sentences = [sample_sentence(m, n, total) for m, (n, total) in estimated.items()]
    return [
        " ".join(sentences)
        + " Their counts are the sample's scaled to all of the method's false matches, with "
        "the 95% Wilson interval of each in brackets (the sampled share's interval times the "
        "false matches); the CSV files mark their rows with `sampled` and `of`, and give each "
        "count's interval (`_lo`, `_hi`).",
        "",
    ]


@register
class Causes(Section):
    name = "causes"
    order = 30
    reads = frozenset({"path", "user", "attributions"})
    writes = ("causes.csv", "missed_causes.csv", "subgroup_causes.csv")

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        causes = ctx.memo(_causes)
        by_group = (
            None
            if ctx.attributions is None
            else round_frame(subgroup_causes_run(ctx.path, attributions=ctx.attributions))
        )
        fp, fn = causes if causes is not None else (None, None)
        return {"causes.csv": fp, "missed_causes.csv": fn, "subgroup_causes.csv": by_group}

    def markdown(self, ctx: ReportContext) -> list[str]:
        causes = ctx.memo(_causes)
        if causes is None and ctx.user:
            return [
                "## False matches by cause",
                "",
                "Not available for user files: attributing an error needs facts about the people "
                "behind both records (twins, Jr/Sr, households, true names, moves) and a log of "
                "the data-entry errors in each record, which only a simulation knows.",
                "",
            ]
        if causes is None:
            return [
                "## False matches by cause",
                "",
                "Not available: this run's `raw/` predates `register_people.parquet` and "
                "`noise_log.parquet`; rerun it to attribute errors.",
                "",
            ]
        fp, fn = causes
        # Causes about who the people are always show (a zero is informative); noise causes
        # only when some method has one.
        named = {c.name for c in FALSE_MATCH_CAUSES.values() if not c.per_noise}
        return [
            "## False matches by cause",
            "",
            "Each false match counted once, under the first cause that holds (priority = row "
            "order; see the definitions). Cells: false matches (share of the method's false "
            "matches). Noise types that caused none are omitted. Per method and with per-1M-query "
            "rates: `causes.csv`.",
            "",
            *sample_lines(fp),
            cause_matrix(fp, "FP", named),
            "",
            "### Missed matches by noise",
            "",
            "Each missed true link counted once, under the first noise type (registry order) that "
            "changed either of its records; `none`: neither record was changed. Per method: "
            "`missed_causes.csv` (with blocking loss per cause).",
            "",
            cause_matrix(fn, "FN", {NO_NOISE}, describe=False),
            "",
        ]
