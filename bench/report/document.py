"""A run's derived outputs, all rebuilt from its raw outputs: the tables, ``report.md``,
``manifest.json`` and ``report.html``, assembled from the registered sections
(:mod:`bench.report.sections`) in their order. Nothing here knows what a section says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.memory import give_back_memory
from bench.report.context import ReportContext
from bench.report.html import Placement, write_html_report
from bench.report.manifest import write_manifest
from bench.report.markdown import inline_to_html, plain
from bench.report.sections import ReportFigure, Section, sections
from bench.runs.rundir import RunDir
from bench.runs.writers import write_csv, write_json

#: The report's closing line.
FOOTER = "See `manifest.json` for package versions, the configuration hash and file hashes."


def write_outputs(run_dir: Path, html: bool = True) -> pd.DataFrame:
    """(Re)compute every section's tables from ``run_dir/raw`` and write them, then
    ``report.md``, ``manifest.json`` and ``report.html`` (unless not ``html``: then an earlier
    ``report.html`` is removed); return the summary table (one row per
    method). ``raw/`` is read through :class:`bench.runs.rundir.RunDir` (checked: a malformed
    file is refused with one line)."""
    ctx = ReportContext(RunDir(run_dir))
    _ = ctx.info, ctx.methods, ctx.config  # the run's JSON checked before any work
    every = sections()
    applying = [s for s in every if s.applies(ctx)]
    for section in every:
        write_tables(section, ctx, run_dir, applies=section in applying)
        give_back_memory()  # what the section's work freed, before the next one's peak
    texts = {s.name: markdown(s, ctx) for s in applying}
    lines = [line for s in applying for line in texts[s.name]]
    (run_dir / "report.md").write_text("\n".join([*lines, FOOTER, ""]), encoding="utf-8")
    write_manifest(run_dir, ctx.info, ctx.config)
    if not html:  # nor an earlier page that would no longer match report.md
        (run_dir / "report.html").unlink(missing_ok=True)
        return ctx.summary
    in_figure_order = sorted(
        applying, key=lambda s: s.order if s.figure_order is None else s.figure_order
    )
    placed = [
        (spec, Placement(spec.after or _heading(texts[s.name], s.name), spec.beside))
        for s in in_figure_order
        for spec in figures(s, ctx)
    ]
    write_html_report(
        run_dir,
        [(f.id, f.caption, f.draw()) for f, _ in placed],
        {f.id: where for f, where in placed},
    )
    return ctx.summary


def _heading(lines: list[str], section: str) -> str:
    """The text of a section's first heading, as the page shows it (inline markup dropped)."""
    if not lines or not lines[0].startswith("#"):
        raise ValueError(f"report section {section!r} has figures but no heading to put them")
    return plain(inline_to_html(lines[0].lstrip("#").strip()))


def write_tables(
    section: Section, ctx: ReportContext, out: Path, applies: bool = True
) -> list[str]:
    """Write the tables ``section`` declares into ``out`` (CSV, or JSON records) and return
    their names; remove those it cannot back (None, or the section does not apply to the run),
    so that no table outlives what ``raw/`` says."""
    tables = section.tables(ctx.view(section.reads, section.name)) if applies else {}
    if applies and set(tables) != set(section.writes):
        raise ValueError(
            f"report section {section.name!r} built tables {sorted(tables)}, "
            f"not those it declares {sorted(section.writes)}"
        )
    written = []
    for name in section.writes:
        frame = tables.get(name)
        path = out / name
        if frame is None:
            path.unlink(missing_ok=True)
        elif name.endswith(".json"):
            write_json(_json_records(frame), path)
            written.append(name)
        else:
            write_csv(frame, path)
            written.append(name)
    return written


def markdown(section: Section, ctx: ReportContext) -> list[str]:
    """``section``'s lines of ``report.md``."""
    return section.markdown(ctx.view(section.reads, section.name))


def figures(section: Section, ctx: ReportContext) -> list[ReportFigure]:
    """``section``'s figures of ``report.html``."""
    return section.figures(ctx.view(section.reads, section.name))


def _json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows for a JSON file: missing values (NaN, or NA of nullable columns) as null."""
    records = frame.to_dict("records")
    return [{k: None if v is pd.NA else v for k, v in rec.items()} for rec in records]
