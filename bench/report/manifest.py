"""``manifest.json``: versions, seeds, the configuration hash and the SHA-256 of every output
file of a run."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.runs.rundir import reproduce_command
from bench.runs.writers import write_json
from synthetic.scenario import config_hash

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
    "scipy",
    "matplotlib",
)


def write_manifest(run_dir: Path, info: dict[str, Any], config: dict[str, Any]) -> None:
    """Versions, seeds, configuration hash and SHA-256 of every output file."""
    # report.html is built after the manifest (it shows it), so it cannot be listed in it
    skip = {"manifest.json", "report.html"}
    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name not in skip)
    manifest = {
        "scenario": info["scenario"],
        "command": reproduce_command(info),
        "seed": info["seed"],
        "training_seed": info["training_seed"],
        "config_sha256": config_hash(config),
        "python": platform.python_version(),
        "packages": {p: package_version(p) for p in PACKAGES},
        "files": {
            str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        },
    }
    write_json(manifest, run_dir / "manifest.json")


def package_version(package: str) -> str:
    """The installed version of ``package``, or ``not installed``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
