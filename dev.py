#!/usr/bin/env python3
"""Set up a local virtual environment and run linkrisk's main job or its tests.

Needs nothing but Python 3.11+. Usage::

    python3 dev.py demo     # create .venv, install linkrisk, run the default scenario
    python3 dev.py test     # create .venv, install linkrisk with test tools, lint, type-check, test
    python3 dev.py perf     # the speed benchmark: linkrisk against Splink and recordlinkage
    python3 dev.py scale    # the real case at 1:1000, 1:100, 1:10, each step carried to 1:1
    python3 dev.py spark    # also install the [spark] extra, then run the Spark tests (local mode)

Dependencies are installed with ``constraints.txt`` so that everyone gets the versions the
published results were made with (byte-identical outputs need identical versions).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")
STAMP = VENV / ".linkrisk-installed"


def _run(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def _setup(extras: str = "test") -> None:
    """Create .venv and install linkrisk (editable) with ``extras``; skip if already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit(f"linkrisk needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    inputs = b"".join((ROOT / f).read_bytes() for f in ("pyproject.toml", "constraints.txt"))
    digest = hashlib.sha256(inputs).hexdigest() + ("" if extras == "test" else f"+{extras}")
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing linkrisk and its dependencies into .venv ...", flush=True)
    pip = (BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q")
    # pip compiles every installed module up front: keep it. Where PYTHONDONTWRITEBYTECODE is
    # set (as on the CI machines) Python never caches a module it compiles on import, so without
    # pip's .pyc files every process would recompile pandas, scipy, ... (the suite: +100 s).
    _run(*pip, "install", "-c", "constraints.txt", "-e", f".[{extras}]")
    STAMP.write_text(digest)


def main(argv: list[str]) -> None:
    if len(argv) < 1 or argv[0] not in {"demo", "test", "perf", "scale", "spark"}:
        sys.exit(__doc__)
    _setup("test,spark" if argv[0] == "spark" else "test")
    # pip compiles the installed packages but not an editable project's own sources; where
    # PYTHONDONTWRITEBYTECODE is set, every process would compile them again (~0.2 s each).
    _run(BIN / "python", "-m", "compileall", "-q", "bench", "synthetic")
    if argv[0] == "demo":
        _run(BIN / "linkrisk", "run", *(argv[1:] or ["irs-ice"]))
    elif argv[0] == "perf":
        _run(BIN / "python", "-m", "bench.perf.linkage", *argv[1:])
    elif argv[0] == "scale":
        _run(BIN / "python", "-m", "bench.perf.scale", *argv[1:])
    elif argv[0] == "spark":
        _run(BIN / "python", "-m", "pytest", "-q", "-m", "spark", "--spark", *argv[1:])
    else:
        _run(BIN / "ruff", "check", ".")
        _run(BIN / "ruff", "format", "--check", ".")
        _run(BIN / "mypy")  # files and settings: [tool.mypy] in pyproject.toml
        # two workers (the machines have two cores); one file's tests stay in one worker so
        # that a module's shared run is made once; files go out in collection order, the
        # longest first (tests/conftest.py)
        _run(
            *(BIN / "python", "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile"),
            *("--no-loadscope-reorder", *argv[1:]),
        )


if __name__ == "__main__":
    main(sys.argv[1:])
