"""Regenerate the published results of every preset and the README tables built from them.

``linkrisk publish`` runs each preset in ``bench/scenarios/`` with its own seed into
``results/<preset>/`` and replaces every block of README.md delimited by
``<!-- headline:<preset> -->`` and ``<!-- /headline -->`` with that run's headline table, and
the block ``<!-- noise-types -->`` ... ``<!-- /noise-types -->`` with the noise registry, and
``<!-- causes:<preset> -->`` ... ``<!-- /causes -->`` with the preset's false matches by cause.
A preset with a ``[calibration]`` section is also calibrated (``linkrisk calibrate``) into
``results/calibration/<preset>/``, and ``<!-- calibration:<preset> -->`` ...
``<!-- /calibration -->`` gets its published-against-simulated counts and implied counts.
Every preset's label-free model estimates are checked against its truth over
:data:`AUDIT_SEEDS` seeded runs (``linkrisk audit calibrate-model``) into
``results/audit/<preset>/``, and ``<!-- audit-model:<preset> -->`` ... ``<!-- /audit-model -->``
gets the verdict.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.audit_calibration import MARKDOWN_FILE as AUDIT_MARKDOWN
from bench.audit_calibration import calibrate_model
from bench.audit_calibration import verdict as audit_verdict
from bench.linkage.config import load_benchmark, presets
from bench.measurement.causes import FALSE_MATCH_CAUSES
from bench.report.figures import plot_ratios
from bench.report.sections.causes import cause_matrix
from bench.report.sections.headline import headline_table
from bench.runner import RESULTS_DIR, run
from bench.runs.store import check_out_dir
from bench.scale.calibration import (
    CALIBRATION_DIR,
    calibrate,
    direct_targets_markdown,
    load_calibration,
    readme_summary,
    reproduce_command,
    write_calibration,
)
from bench.scale.projection import main as project_main
from synthetic.errors import ConfigError
from synthetic.noise import ADDRESS_FIELDS, NOISE, RECORD_FIELDS, ROW_NOISE

BLOCK = re.compile(r"(<!-- headline:(?P<name>[\w.+-]+) -->\n).*?(<!-- /headline -->)", re.S)
NOISE_BLOCK = re.compile(r"(<!-- noise-types -->\n).*?(<!-- /noise-types -->)", re.S)
PROJECTIONS_DIR = RESULTS_DIR / "projections"
AUDIT_DIR = RESULTS_DIR / "audit"
#: Seeded runs behind a published check of the models' label-free estimates.
AUDIT_SEEDS = 10
AUDIT_BLOCK = re.compile(
    r"(<!-- audit-model:(?P<name>[\w.+-]+) -->\n).*?(<!-- /audit-model -->)", re.S
)
PROJECTION_BLOCK = re.compile(
    r"(<!-- projection:(?P<name>[\w.+-]+) -->\n).*?(<!-- /projection -->)", re.S
)


def markdown_tables(path: Path) -> list[str]:
    """The tables of a Markdown file, in order, each as its lines (a README block showing a
    result file's table)."""
    tables, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            current += line + "\n"
        elif current:
            tables.append(current)
            current = ""
    return [*tables, current] if current else tables


def markdown_table(path: Path) -> str:
    """The first table of a Markdown file."""
    return markdown_tables(path)[0]


def projection_block(name: str, projections_dir: Path = PROJECTIONS_DIR) -> str:
    """The README table of a published projection (the table of its projection.md)."""
    return markdown_table(projections_dir / name / "projection.md")


CHECK_BLOCK = re.compile(
    r"(<!-- projection-check:(?P<name>[\w.+-]+) -->\n).*?(<!-- /projection-check -->)", re.S
)


def check_block(name: str, projections_dir: Path = PROJECTIONS_DIR) -> str:
    """The README table of a published projection check (``publish --big``): each projection
    beside the direct simulation (the last table of its projection.md)."""
    return markdown_tables(projections_dir / check_name(name) / "projection.md")[-1]


TARGETS_BLOCK = re.compile(
    r"(<!-- direct-targets:(?P<name>[\w.+-]+) -->\n).*?(<!-- /direct-targets -->)", re.S
)


def targets_block(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """The README table of a published big-file preset's direct counts beside the published
    targets of its ``[calibration]``, scaled to the real list size."""
    _, cal = load_calibration(name)
    return direct_targets_markdown(cal, results_dir / name)


CALIBRATION_BLOCK = re.compile(
    r"(<!-- calibration:(?P<name>[\w.+-]+) -->\n).*?(<!-- /calibration -->)", re.S
)


def calibration_block(name: str, calibration_dir: Path = CALIBRATION_DIR) -> str:
    """The README block of a published calibration (from its ``calibration.json``)."""
    return readme_summary(calibration_dir / name)


CAUSES_BLOCK = re.compile(r"(<!-- causes:(?P<name>[\w.+-]+) -->\n).*?(<!-- /causes -->)", re.S)


def causes_block(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """The README table of a published preset's false matches by primary cause."""
    table = pd.read_csv(results_dir / name / "causes.csv")
    named = {c.name for c in FALSE_MATCH_CAUSES.values() if not c.per_noise}
    return cause_matrix(table, "FP", named, describe=False) + "\n"


def noise_table() -> str:
    """Markdown table of the registered noise types, in application order, with defaults."""
    rows = []
    for nt in NOISE.values():
        rate = f"{nt.default_rate:g}"
        if nt.default_field_rates:
            rate += " (" + ", ".join(f"{f} {r:g}" for f, r in nt.default_field_rates.items()) + ")"
        if nt.default_group_rates:
            rate += " (" + ", ".join(f"{g} {r:g}" for g, r in nt.default_group_rates.items()) + ")"
        scope = "person" if nt.joint else "cell"
        if nt.unit == "household":
            scope = "household"
        fields = {RECORD_FIELDS: "every record field", ADDRESS_FIELDS: "the address"}.get(
            nt.fields, ", ".join(nt.fields)
        )
        rows.append([f"`{nt.name}`", fields, rate, scope, nt.description])
    for rt in ROW_NOISE.values():  # whole records, register only ([register.row_noise])
        rows.append(
            [f"`{rt.name}`", "the whole record", f"{rt.default_rate:g}", "record", rt.description]
        )
    headers = ["noise", "fields", "default rate", "drawn per", "what it does"]
    return tabulate(rows, headers=headers, tablefmt="github") + "\n"


def readme_block(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """The README headline table of a published preset."""
    metrics = pd.read_csv(results_dir / name / "summary.csv")
    return headline_table(metrics) + "\n"


def update_readme(readme: Path, results_dir: Path = RESULTS_DIR) -> list[str]:
    """Refill every headline block of ``readme``; return the preset names filled."""
    text = readme.read_text(encoding="utf-8")
    filled: list[str] = []

    def fill(m: re.Match[str]) -> str:
        filled.append(m["name"])
        return m.group(1) + readme_block(m["name"], results_dir) + m.group(3)

    text = NOISE_BLOCK.sub(lambda m: m.group(1) + noise_table() + m.group(2), text)
    text = PROJECTION_BLOCK.sub(
        lambda m: (
            m.group(1) + projection_block(m["name"], results_dir / "projections") + m.group(3)
        ),
        text,
    )
    text = TARGETS_BLOCK.sub(
        lambda m: m.group(1) + targets_block(m["name"], results_dir) + m.group(3), text
    )
    text = CHECK_BLOCK.sub(
        lambda m: m.group(1) + check_block(m["name"], results_dir / "projections") + m.group(3),
        text,
    )
    text = CALIBRATION_BLOCK.sub(
        lambda m: (
            m.group(1) + calibration_block(m["name"], results_dir / "calibration") + m.group(3)
        ),
        text,
    )
    text = CAUSES_BLOCK.sub(
        lambda m: m.group(1) + causes_block(m["name"], results_dir) + m.group(3), text
    )
    text = AUDIT_BLOCK.sub(
        lambda m: m.group(1) + audit_block(m["name"], results_dir / "audit") + m.group(3), text
    )
    readme.write_text(BLOCK.sub(fill, text), encoding="utf-8")
    return filled


def audit_block(name: str, audit_dir: Path = AUDIT_DIR) -> str:
    """The README block of a published check of the models' label-free estimates: its verdict,
    with a link to the chart."""
    points = pd.read_csv(audit_dir / name / "model_points.csv")
    link = f"results/audit/{name}/{AUDIT_MARKDOWN}"
    return f"{audit_verdict(points)} ([chart and points]({link}))\n"


def published_presets() -> list[str]:
    """The presets ``publish`` runs: all but big-file ones (``shard_size``), whose raw outputs
    run to hundreds of megabytes (``linkrisk publish --big`` publishes them without those)."""
    return [n for n in presets() if load_benchmark(n).scenario.shard_size is None]


def big_presets() -> list[str]:
    """The big-file presets (``shard_size``), which ``linkrisk publish --big`` runs."""
    return [n for n in presets() if load_benchmark(n).scenario.shard_size is not None]


def check_name(name: str) -> str:
    """Where ``publish --big`` writes a scaled preset's projection check."""
    return f"{name}-check"


def drop_raw_pairs(run_dir: Path) -> None:
    """Remove the record-level tables of ``raw/`` (links, truth, people, noise: hundreds of
    megabytes for a big-file run), keeping its small JSON and TOML files; the manifest keeps
    every removed file's SHA-256, so a rerun can be checked against them."""
    raw = run_dir / "raw"
    for path in raw.glob("*.parquet"):
        path.unlink()
    shutil.rmtree(raw / "replicates", ignore_errors=True)


def publish_big(
    readme: Path | None,
    progress: bool | None = None,
    only: Sequence[str] | None = None,
    shards: Path | None = None,
) -> list[Path]:
    """Run every big-file preset (or those in ``only``) into ``results/<preset>/`` without its
    record-level raw tables (:func:`drop_raw_pairs`; ``linkrisk report`` cannot rebuild such a
    directory, ``linkrisk run <preset>`` regenerates it whole), check the projection of the
    scenario it scales (``scale_of``) against it into ``results/projections/<preset>-check/``,
    and refresh the README blocks. ``shards``: the one preset's shards (:func:`bench.runner.run`).
    """
    names = big_presets()
    for name in only or ():
        if name not in names:
            raise ConfigError("--only", f"not a big-file preset: {name!r} ({', '.join(names)})")
    names = [n for n in names if not only or n in only]
    for name in names:
        check_out_dir(RESULTS_DIR / name)
        if load_benchmark(name).scenario.scale_of is not None:
            check_out_dir(PROJECTIONS_DIR / check_name(name))
    out = []
    for name in names:
        bench = load_benchmark(name)
        result = run(bench, out_dir=RESULTS_DIR / name, progress=progress, shards=shards)
        print(f"{name}:", *result.step_lines(), sep="\n", file=sys.stderr)
        drop_raw_pairs(result.out_dir)
        out.append(result.out_dir)
        if (base := bench.scenario.scale_of) is not None:
            target = PROJECTIONS_DIR / check_name(name)
            argv = [base, "--against", str(RESULTS_DIR / name), "--out", str(target)]
            if project_main(argv) != 0:
                raise RuntimeError(f"projection check of {name} failed")
            out.append(target)
    if readme is not None and readme.exists():
        update_readme(readme)
    return out


def publish(readme: Path | None, progress: bool | None = None) -> list[Path]:
    """Run every published preset into ``results/`` and refresh the README blocks. Every output
    directory is checked (:func:`bench.runs.store.check_out_dir`) before the first run starts."""
    names = published_presets()
    for name in names:
        check_out_dir(RESULTS_DIR / name)
        if load_benchmark(name).scenario.project:
            check_out_dir(PROJECTIONS_DIR / name)
        if load_benchmark(name).calibration is not None:
            check_out_dir(CALIBRATION_DIR / name)
        check_out_dir(AUDIT_DIR / name)
    out = []
    for name in names:
        bench = load_benchmark(name)
        result = run(
            bench,
            out_dir=RESULTS_DIR / name,
            progress=progress,
            replicates=bench.scenario.replicates,
        )
        out.append(result.out_dir)
        if bench.scenario.project:
            target = PROJECTIONS_DIR / name
            if project_main([name, "--clean", "--out", str(target)]) != 0:
                raise RuntimeError(f"projection of {name} failed")
            out.append(target)
        if bench.calibration is not None:
            cbench, cal = load_calibration(name)
            res = calibrate(cbench, cal, progress=progress)
            write_calibration(res, CALIBRATION_DIR / name, reproduce_command(res, None, None))
            out.append(CALIBRATION_DIR / name)
        first = bench.scenario.seed
        seeds = [first + i for i in range(AUDIT_SEEDS)]
        calibrate_model(name, seeds, AUDIT_DIR / name, progress=progress)
        out.append(AUDIT_DIR / name)
    for name in published_presets():
        out.append(write_readme_figure(name))
    if readme is not None and readme.exists():
        update_readme(readme)
    return out


FIGURES_DIR = RESULTS_DIR / "figures"


def write_readme_figure(name: str, results_dir: Path = RESULTS_DIR) -> Path:
    """The README's figure of a published preset: its wrong-person rate by name-origin group as
    a ratio to the reference group (``results/figures/<preset>-wrong-person-by-group.png``)."""
    groups = pd.read_csv(results_dir / name / "subgroups.csv")
    fig = plot_ratios(groups, "wrong_person_rate", "group")
    path = results_dir / "figures" / f"{name}-wrong-person-by-group.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=90, metadata={"Software": None})  # deterministic bytes
    return path
