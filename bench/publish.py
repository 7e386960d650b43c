"""Regenerate the published results of every preset and the README tables built from them.

``linkrisk publish`` runs each preset in ``bench/scenarios/`` with its own seed into
``results/<preset>/`` and replaces every block of README.md delimited by
``<!-- headline:<preset> -->`` and ``<!-- /headline -->`` with that run's headline table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bench.config import load_benchmark, presets
from bench.report import headline_table
from bench.runner import RESULTS_DIR, run

BLOCK = re.compile(r"(<!-- headline:(?P<name>[\w.+-]+) -->\n).*?(<!-- /headline -->)", re.S)


def readme_block(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """The README headline table of a published preset."""
    metrics = pd.read_csv(results_dir / name / "metrics.csv")
    return headline_table(metrics) + "\n"


def update_readme(readme: Path, results_dir: Path = RESULTS_DIR) -> list[str]:
    """Refill every headline block of ``readme``; return the preset names filled."""
    text = readme.read_text(encoding="utf-8")
    filled: list[str] = []

    def fill(m: re.Match[str]) -> str:
        filled.append(m["name"])
        return m.group(1) + readme_block(m["name"], results_dir) + m.group(3)

    readme.write_text(BLOCK.sub(fill, text), encoding="utf-8")
    return filled


def publish(readme: Path | None, progress: bool | None = None) -> list[Path]:
    """Run every preset into ``results/`` and refresh the README blocks."""
    out = []
    for name in presets():
        bench = load_benchmark(name)
        out.append(run(bench, out_dir=RESULTS_DIR / name, progress=progress).out_dir)
    if readme is not None and readme.exists():
        update_readme(readme)
    return out
