"""Reports: metrics files, the Markdown report and the manifest, all derived from raw outputs."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.metrics import DEFINITIONS
from bench.store import compute_metrics, write_json

PACKAGES = (
    "linkrisk",
    "numpy",
    "pandas",
    "pyarrow",
    "rapidfuzz",
    "jellyfish",
    "recordlinkage",
    "scikit-learn",
    "faker",
    "nicknames",
    "tabulate",
)

#: Headline columns: (metrics column, header, formatter).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("method", "method", "s"),
    ("resolve", "resolve", "s"),
    ("verified_rate", "verified", "pct"),
    ("declared", "declared", "int"),
    ("TP", "TP", "int"),
    ("FP", "FP", "int"),
    ("FN", "FN", "int"),
    ("FDR", "FDR", "pct"),
    ("wrong_person_rate", "wrong-person", "pct"),
    ("FNMR", "FNMR", "pct"),
    ("blocking_loss", "blocking loss", "int"),
    ("FP_per_1M", "FP per 1M q", "int"),
    ("FN_per_1M", "FN per 1M q", "int"),
)


def _fmt(value: Any, kind: str) -> str:
    if kind == "s":
        return str(value)
    if value is None or pd.isna(value):
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.2f}%"
    return f"{round(value):,}"


def headline_table(metrics: pd.DataFrame, fmt: str = "github") -> str:
    """The headline table: one row per method."""
    rows = [
        [_fmt(rec[col], kind) for col, _, kind in HEADLINE] for rec in metrics.to_dict("records")
    ]
    align = ["left" if kind == "s" else "right" for _, _, kind in HEADLINE]
    return tabulate(rows, headers=[h for _, h, _ in HEADLINE], tablefmt=fmt, colalign=align)


def reproduce_command(info: dict[str, Any]) -> str:
    return f"linkrisk run {info['source']} --seed {info['seed']}"


def write_outputs(run_dir: Path) -> pd.DataFrame:
    """(Re)compute metrics from ``run_dir/raw`` and write metrics, report.md and manifest.json."""
    metrics = compute_metrics(run_dir)
    metrics.to_csv(run_dir / "metrics.csv", index=False, lineterminator="\n")
    write_json(metrics.to_dict("records"), run_dir / "metrics.json")
    info = json.loads((run_dir / "raw" / "run.json").read_text(encoding="utf-8"))
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    methods = [
        json.loads((run_dir / "raw" / f"{name}.json").read_text(encoding="utf-8"))
        for name in info["methods"]
    ]
    (run_dir / "report.md").write_text(
        render_markdown(metrics, info, config, methods), encoding="utf-8"
    )
    write_manifest(run_dir, info, config)
    return metrics


def render_markdown(
    metrics: pd.DataFrame, info: dict[str, Any], config: dict[str, Any], methods: list[dict]
) -> str:
    """The Markdown report of one run."""
    scen = config["scenario"]
    lines = [
        f"# linkrisk report: {info['scenario']}",
        "",
        scen.get("description", "").strip(),
        "",
        f"Reproduce: `{reproduce_command(info)}` (same versions as in `manifest.json`).",
        "",
        "## Headline",
        "",
        f"{info['queries']:,} queries against a register of {info['register_records']:,} "
        f"records; {info['true_links']:,} queries are truly in the register. Synthetic "
        f"population of {info['population']:,} people, seed {info['seed']}.",
        "",
        headline_table(metrics),
        "",
        "## Definitions",
        "",
        *(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()),
        "- Rules are evaluated on *all* record pairs (joins on their exact keys); scored methods "
        "only on blocked candidates, so their misses split into blocking loss and model misses.",
        "- Resolution of multiple hits per query: `all` keeps every accepted pair; `best` the "
        "highest-scoring one (ties: first register record); `unique-only` verifies a query only "
        "if exactly one register record was accepted.",
        "",
        "## Scope and limitations",
        "",
        "- One synthetic population and one seed: the counts above carry sampling error that "
        "this report does not yet quantify (no intervals).",
        "- Simulation scale: the register and list are far smaller than real ones. Rules that "
        "collide on common keys (name + date of birth, name + ZIP) collide more often in larger "
        "registers, so their false-match rates here understate those at full scale.",
        "- All rates not cited in the scenario file are labelled assumptions; change them in the "
        "file and rerun to see their effect.",
        "- Supervised models are trained on labelled pairs from the same simulated process (a "
        "different population): an optimistic reference, since agencies rarely have labels.",
        "",
        "## Methods",
        "",
        tabulate(
            [[m["name"], m["kind"], m["resolve"], _params_text(m["params"])] for m in methods],
            headers=["method", "kind", "resolve", "parameters"],
            tablefmt="github",
        ),
        "",
        "## Blocking (scored methods)",
        "",
        tabulate(
            [
                [i + 1, _keys_text(p), f"{n:,}"]
                for i, (p, n) in enumerate(
                    zip(config["blocking"]["passes"], info["blocking_pass_pairs"], strict=False)
                )
            ],
            headers=["pass", "keys", "pairs"],
            tablefmt="github",
        ),
        "",
        f"Candidate pairs after union: {info['candidates']:,}.",
        "",
        "## Parameters in force",
        "",
        "Every value below was used, defaults included; the scenario file cites a source or "
        "labels an assumption for each value it sets.",
        "",
        *_parameter_tables(info["parameters"], info["noise_cells"]),
        "",
        "See `manifest.json` for package versions, the configuration hash and file hashes.",
        "",
    ]
    return "\n".join(lines)


def _parameter_tables(params: dict[str, Any], cells: dict[str, dict[str, int]]) -> list[str]:
    """Population, sampling and noise parameters as Markdown tables."""
    sampling = [
        [side, k, json.dumps(v) if isinstance(v, dict) else v]
        for side in ("register", "query")
        for k, v in params[side].items()
        if k != "noise"
    ]
    noise = [
        [
            side,
            name,
            s["rate"],
            ", ".join(f"{f}={r}" for f, r in s["field_rates"].items()) or "-",
            ", ".join(s["fields"]),
            ", ".join(f"{k}={v}" for k, v in s["params"].items()) or "-",
            f"{cells.get(side, {}).get(name, 0):,}",
        ]
        for side in ("register", "query")
        for name, s in params[side]["noise"].items()
    ]
    population = [[k, v] for k, v in params["population"].items()]
    return [
        "### Population",
        "",
        tabulate(population, headers=["parameter", "value"], tablefmt="github"),
        "",
        "### Register and query list",
        "",
        tabulate(sampling, headers=["side", "parameter", "value"], tablefmt="github"),
        "",
        "### Noise (each side records the population with its own errors)",
        "",
        tabulate(
            noise,
            headers=[
                "side",
                "noise",
                "rate",
                "per-field rates",
                "fields",
                "parameters",
                "cells changed",
            ],
            tablefmt="github",
        ),
    ]


def _params_text(params: dict[str, Any]) -> str:
    if "passes" in params:
        return " THEN ".join(" AND ".join(_cond_text(c) for c in p) for p in params["passes"])
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "fields")


def _cond_text(c: dict[str, Any]) -> str:
    extra = ",".join(f"{k}={v}" for k, v in c.items() if k not in ("field", "compare"))
    return f"{c['compare']}({c['field']}{',' + extra if extra else ''})"


def _keys_text(keys: list[dict[str, Any]]) -> str:
    return " + ".join(_cond_text({"compare": "exact", **k}) for k in keys)


def write_manifest(run_dir: Path, info: dict[str, Any], config: dict[str, Any]) -> None:
    """Versions, seeds, configuration hash and SHA-256 of every output file."""
    from synthetic.scenario import config_hash

    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "scenario": info["scenario"],
        "command": reproduce_command(info),
        "seed": info["seed"],
        "training_seed": info["training_seed"],
        "config_sha256": config_hash(config),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "files": {
            str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        },
    }
    write_json(manifest, run_dir / "manifest.json")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
