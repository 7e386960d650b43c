"""How far the label-free, model-based error estimates are from the truth, over seeded runs.

``linkrisk audit calibrate-model PRESET --out DIR`` runs the preset's methods whose scores are
posterior probabilities (Fellegi-Sunter, Splink) on ``--seeds`` independently seeded
populations, and for each run and method sets the model's own FDR and FNMR
(:mod:`bench.audit.modelbased`) beside the true ones, with the share of the true false links
whose first cause is a household member (:mod:`bench.measurement.causes`). It writes
``model_points.csv`` (one row per run and method), ``model_calibration.md`` (the table and a
verdict sentence) and ``model_calibration.png`` (model-estimated FDR against true FDR).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.audit.modelbased import model_estimates
from bench.linkage.config import Benchmark, load_benchmark
from bench.measurement.derive import attribute_run
from bench.report.calibration import save_png
from bench.report.sections.audit import model_calibration_figure
from bench.runs.rundir import RunDir
from bench.runs.store import atomic_dir
from bench.tasks import run_task
from synthetic.errors import ConfigError
from synthetic.precision import round_frame
from synthetic.scenario import build_task, effective_parameters

POINTS_FILE = "model_points.csv"
MARKDOWN_FILE = "model_calibration.md"
FIGURE_FILE = "model_calibration.png"
#: The cause whose share of the false links the verdict names.
HOUSEHOLD = "household"
#: How the verdict names the causes it names most often (others by their cause name).
_CAUSE_WORDS = {
    "household": "a member of the sought person's household, whose fields agree as the "
    "person's would",
    "twin": "a twin",
    "jr_sr": "a father or son with the same name",
}


def posterior_benchmark(bench: Benchmark) -> Benchmark:
    """``bench`` with only its methods whose scores are posterior probabilities."""
    keep = [m for m in bench.methods if m.posterior_scores]
    if not keep:
        raise ConfigError(
            f"{bench.source}: methods",
            "no method scores pairs with posterior probabilities (fellegi-sunter, splink)",
        )
    names = {m.name for m in keep}
    data = {**bench.data, "methods": [e for e in bench.data["methods"] if e["name"] in names]}
    return dataclasses.replace(bench, methods=keep, data=data)


def points_for_run(run_dir: Path, seed: int) -> pd.DataFrame:
    """One row per posterior method of one run: model-based and true rates, household share."""
    est = model_estimates(RunDir(run_dir), replicates=False)
    causes = attribute_run(run_dir) or {}
    shares: list[float] = []
    counts: list[dict[str, int]] = []
    for name in est["method"]:
        attribution = causes.get(name)
        fp = None if attribution is None else attribution.false_matches
        if fp is None or len(fp) == 0:
            shares.append(np.nan)
            counts.append({})
            continue
        shares.append(float((fp["cause"] == HOUSEHOLD).mean()))
        counts.append(fp["cause"].value_counts().to_dict())
    est.insert(1, "seed", seed)
    est["household_share_of_false"] = shares
    est["false_by_cause"] = [";".join(f"{k}={v}" for k, v in sorted(c.items())) for c in counts]
    return est.drop(columns=["replicate"])


def _main_cause(g: pd.DataFrame) -> tuple[str, float]:
    """The first cause of most of a method's false links over the runs, and its share."""
    total: dict[str, int] = {}
    for text in g["false_by_cause"].fillna(""):
        for item in filter(None, str(text).split(";")):
            key, _, value = item.rpartition("=")
            total[key] = total.get(key, 0) + int(value)
    if not total:
        return "none", 0.0
    key = max(sorted(total), key=lambda k: total[k])
    return key, total[key] / sum(total.values())


class _RawWritten(Exception):
    """Stops a run once ``raw/`` is written: the calibration reads raw/ and needs no report."""


def _points(bench: Benchmark, seed: int, tmp: Path, progress: bool | None) -> pd.DataFrame:
    """One seeded run of ``bench`` (as ``linkrisk run`` does it, without its report): the
    points of :func:`points_for_run`."""
    got: list[pd.DataFrame] = []

    def read_raw(run_dir: Path) -> None:
        got.append(points_for_run(run_dir, seed))
        raise _RawWritten

    info = {
        "scenario": bench.name,
        "source": bench.source,
        "population": bench.scenario.population.size,
        "parameters": effective_parameters(bench.scenario),
    }
    task = build_task(bench.scenario, seed)
    with contextlib.suppress(_RawWritten):  # its staging directory is removed
        run_task(bench, task, tmp / f"seed-{seed}", seed=seed, info=info, progress=progress,
                 before_report=read_raw)  # fmt: skip
    return got[0]


def calibrate_model(
    preset: str, seeds: list[int], out_dir: Path, progress: bool | None = None
) -> pd.DataFrame:
    """Run the calibration (module docstring) and write its files to ``out_dir``."""
    bench = posterior_benchmark(load_benchmark(preset))
    with tempfile.TemporaryDirectory(prefix="linkrisk-audit-") as tmp:
        frames = [_points(bench, seed, Path(tmp), progress) for seed in seeds]
    points = round_frame(pd.concat(frames, ignore_index=True))
    with atomic_dir(out_dir) as stage:
        points.to_csv(stage / POINTS_FILE, index=False, lineterminator="\n")
        (stage / MARKDOWN_FILE).write_text(markdown(bench.name, points), encoding="utf-8")
        save_png(model_calibration_figure(points, bench.name), stage / FIGURE_FILE)
    return points


def verdict(points: pd.DataFrame) -> str:
    """One sentence per method: by what factor the model's own FDR misses the true one."""
    out = []
    for name, g in points.groupby("method", sort=False):
        model, true = float(g["model_false"].sum()), float(g["true_false"].sum())
        declared = float(g["declared"].sum())
        cause, share = _main_cause(g)
        m_fdr, t_fdr = model / declared, true / declared
        if model > 0 and true / model >= 1.25:
            how = f"underestimates the FDR by a factor of {true / model:.1f}"
        elif true > 0 and model / true >= 1.25:
            how = f"overestimates the FDR by a factor of {model / true:.1f}"
        else:
            how = "comes within 25% of the true FDR"
        out.append(
            f"{name}'s own (label-free) estimate {how} (model {m_fdr:.2%}, true {t_fdr:.2%}, "
            f"pooled over {len(g)} seeded runs); the main cause of its false links is "
            f"{_CAUSE_WORDS.get(cause, f'`{cause}`')} ({share:.0%} of them)."
        )
    return " ".join(out)


def markdown(name: str, points: pd.DataFrame) -> str:
    """``model_calibration.md``."""
    rows = [
        [
            rec["method"],
            rec["seed"],
            f"{rec['declared']:,}",
            f"{rec['model_FDR']:.2%}",
            f"{rec['true_FDR']:.2%}",
            f"{rec['model_FNMR']:.2%}",
            f"{rec['true_FNMR']:.2%}",
            "n/a" if pd.isna(rec["household_share_of_false"])
            else f"{rec['household_share_of_false']:.0%}",
        ]
        for rec in points.to_dict("records")
    ]  # fmt: skip
    headers = ["method", "seed", "declared", "model FDR", "true FDR", "model FNMR", "true FNMR",
               "household share of false links"]  # fmt: skip
    return "\n".join(
        [
            f"# Label-free error estimates against the truth: `{name}`",
            "",
            f"`linkrisk audit calibrate-model {name}`: the preset's probabilistic methods on "
            f"{points['seed'].nunique()} independently seeded populations. *Model FDR* = sum "
            "over declared links of (1 - posterior) / declared links; *model FNMR* = sum over "
            "candidate pairs not declared of the posterior / sum over all candidate pairs of "
            "the posterior (fastLink's estimates; the model cannot see pairs blocking never "
            "proposed, so its FNMR leaves out blocking loss, which the true FNMR includes).",
            "",
            f"**Verdict.** {verdict(points)}",
            "",
            f"![Model-estimated FDR against true FDR]({FIGURE_FILE})",
            "",
            tabulate(
                rows,
                headers=headers,
                tablefmt="github",
                colalign=["left"] + ["right"] * (len(headers) - 1),
            ),
            "",
            f"Every column: `{POINTS_FILE}`.",
            "",
        ]
    )
