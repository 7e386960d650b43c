"""Shared fixtures: a tiny scenario file, and small linkage tasks with a known answer."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from bench.linkage.config import parse_benchmark
from bench.pages import small_pages
from synthetic.scenario import RECORD_FIELDS, LinkageTask, build_task


def pytest_configure(config: pytest.Config) -> None:
    small_pages()  # as the linkrisk command runs (bench.pages): the tests run its code in-process
    # A shell starts a background job (`cmd &` without job control) with SIGINT ignored, and
    # every process inherits that: the tests that deliver Ctrl-C need Python's own handler.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spark", action="store_true", help="run the Spark tests (need pyspark and Java 17+)"
    )


#: The suite's longest files, longest first (about 25-50 s each on 2 cores). They are collected
#: first, and `python3 dev.py test` hands files to its two workers in collection order
#: (--no-loadscope-reorder), so that no worker is left alone with a long file at the end.
LONGEST_FIRST = (
    "test_determinism.py",
    "test_calibration.py",
    "test_kill.py",
    "test_install.py",
    "test_bigfiles.py",
    "test_report_sections.py",
    "test_replicates.py",
    "test_html.py",
    "test_projection.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected
    if config.getoption("--spark"):
        return
    skip = pytest.mark.skip(reason="Spark tests run with --spark (python3 dev.py spark)")
    for item in items:
        if item.get_closest_marker("spark") is not None:
            item.add_marker(skip)


TINY = """
[scenario]
name = "tiny"
description = "A tiny scenario for tests."
seed = 11

[population]
size = 6000
people_per_zip = 2000

[register]
coverage = 0.8

[register.noise]
typo = { rate = 0.01 }

[query]
size = 300
share_in_register = 0.5

[query.noise]
stale_address = { rate = 0.2 }
typo = { rate = 0.02 }
"""


@pytest.fixture(scope="session")
def tiny_run_shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny scenario run once per test session (its seed, one replicate, ``bench.runner.run``)
    for the modules that only read a run: the xdist workers of one session share it through a
    lock in their common temporary directory. Never write into it: take :func:`copy_run`."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # gw0, gw1, ...: their parent is this session's
        base = base.parent
    out = base / "tiny-run-shared"
    try:
        import fcntl
    except ImportError:  # no file locks (Windows): one run per worker
        fcntl = None  # type: ignore[assignment]
        out = tmp_path_factory.getbasetemp() / "tiny-run-shared"
    with open(base / "tiny-run-shared.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "manifest.json").exists():
            from bench.runner import run

            run(parse_benchmark(read_toml_text(TINY)), out_dir=out, progress=False)
    return out


def copy_run(run_dir: Path, to: Path) -> Path:
    """A private copy of ``run_dir`` at ``to`` (to edit or rebuild)."""
    shutil.copytree(run_dir, to)
    return to


def clean_task(seed: int = 3, n_people: int = 4000, n_query: int = 200) -> LinkageTask:
    """A task in which queried people in the register are recorded identically on both sides,
    and queried people outside the register have names, dates and addresses found nowhere else
    ("clearly different people")."""
    data = read_toml_text(TINY)
    data["population"]["size"] = n_people
    data["query"]["size"] = n_query
    for side in ("register", "query"):
        data[side]["noise"] = {name: {"rate": 0.0} for name in _noise_names()}
    bench = parse_benchmark(data)
    task = build_task(bench.scenario, seed)
    outside = np.flatnonzero(~task.query_people["in_register"].to_numpy())
    query = task.query.copy()
    for field in RECORD_FIELDS:
        query.loc[outside, field] = [f"ZQX{field[:2].upper()}{i:05d}" for i in outside]
    query.loc[outside, "dob"] = [f"18{i % 100:02d}-0{1 + i % 9}-1{i % 10}" for i in outside]
    query.loc[outside, "zip"] = [f"{99000 + i % 1000:05d}" for i in outside]
    return LinkageTask(
        query, task.register, task.truth, task.query_people, task.register_people, task.noise_log
    )


def read_toml_text(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def _noise_names() -> list[str]:
    from synthetic.noise import NOISE

    return list(NOISE)
