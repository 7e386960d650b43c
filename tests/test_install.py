"""A plain (non-editable) install runs: the wheel holds every data file the code reads, and the
installed ``linkrisk`` works from any directory, writing where the README says (``./results``).

Builds the wheel (``pip wheel --no-deps``) from a clean copy of the source and installs it into a
fresh virtual environment. That environment takes its dependencies from the test environment
(installed from ``constraints.txt``) through a path file, and ``pip check`` proves the wheel's
declared requirements are met by them: installing pandas, scipy, matplotlib ... a second time
took 80 s of the suite's budget and tested pip, not linkrisk. The test environment's own
(editable) linkrisk stays out of reach: a directory named in a path file is added to
``sys.path`` without processing its own path files, so the editable finder never loads, and
the test below checks where ``bench`` and ``synthetic`` are imported from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_kill import SCENARIO

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "evaluate"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a fresh virtual environment with linkrisk's wheel installed."""
    base = tmp_path_factory.mktemp("install")
    # Built from a clean copy: an in-tree build/ left by an earlier build would hide a data file
    # missing from the package data.
    src = base / "src"
    skip = (".git", ".venv", "build", "*.egg-info", "results", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*skip))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", str(src), "-w", str(base)], check=True)
    (wheel,) = base.glob("linkrisk-*.whl")
    # pip runs from the test environment on the new one (--python): no pip of its own to install
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    bin_dir = base / "venv" / "bin"
    site = _site_packages(bin_dir / "python")
    deps = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (site / "linkrisk-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    target = [*pip, "--python", str(bin_dir / "python")]
    subprocess.run([*target, "install", "--no-compile", "--no-deps", str(wheel)], check=True)
    subprocess.run([*target, "check"], check=True)  # the wheel's requirements are all met
    return bin_dir


def _site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory outside the source tree, holding a small scenario file."""
    work = tmp_path_factory.mktemp("elsewhere")
    (work / "tiny.toml").write_text(SCENARIO, encoding="utf-8")
    return work


def test_linkrisk_comes_from_the_wheel_not_the_source_tree(
    installed: Path, elsewhere: Path
) -> None:
    code = "import bench, synthetic; print(bench.__file__); print(synthetic.__file__)"
    paths = _ok(_run(installed, elsewhere, "python", "-c", code)).split()
    site = installed.parent / "lib"
    assert all(Path(p).is_relative_to(site) for p in paths), paths


def test_run_writes_results_under_the_current_directory(installed: Path, elsewhere: Path) -> None:
    out = _ok(_run(installed, elsewhere, "linkrisk", "run", "tiny.toml", "--no-progress"))
    assert "report: results/tiny/report.md" in out
    for name in ("report.md", "report.html", "manifest.json", "raw/run.json", "metrics.csv"):
        assert (elsewhere / "results" / "tiny" / name).is_file(), name
    manifest = json.loads((elsewhere / "results" / "tiny" / "manifest.json").read_text())
    assert manifest["packages"]["linkrisk"] == "0.1.0"


def test_presets_describe_generate_and_perf_workload(installed: Path, elsewhere: Path) -> None:
    assert "irs-ice" in _ok(_run(installed, elsewhere, "linkrisk", "scenarios"))
    out = _ok(_run(installed, elsewhere, "linkrisk", "describe", "irs-ice", "--size", "2000"))
    assert "linkrisk describe irs-ice" in out
    out = _ok(_run(installed, elsewhere, "linkrisk", "generate", "tiny.toml", "--out", "data"))
    assert (elsewhere / "data" / "manifest.json").is_file() and "data/query.parquet" in out
    code = "from bench.perf.linkage import workload_config; print(workload_config(0.01).name)"
    assert _ok(_run(installed, elsewhere, "python", "-c", code)).strip()


def test_evaluate_the_example_files(installed: Path, elsewhere: Path) -> None:
    args = ["--query", EXAMPLES / "query.csv", "--register", EXAMPLES / "register.csv"]
    # one method: the packaged defaults load either way, and Splink's start-up is most of a run
    args += ["--map", EXAMPLES / "map.toml", "--methods", "exact-name-address", "--no-progress"]
    out = _ok(_run(installed, elsewhere, "linkrisk", "evaluate", *map(str, args)))
    assert "report: results/evaluate/report.md" in out
    assert (elsewhere / "results" / "evaluate" / "raw" / "run.json").is_file()
