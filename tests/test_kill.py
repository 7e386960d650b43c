"""Nothing half-written: a run (or a report) killed at any moment leaves the previous results
of its directory intact and nothing that `report` would read; the next run cleans up."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.cli import main
from bench.runs import store
from bench.runs.store import atomic_dir, staging_dirs
from bench.runs.writers import RETIRED_PREFIX, STAGING_PREFIX
from tests.conftest import TINY

LINKRISK = Path(sys.executable).with_name("linkrisk")
# The tiny scenario with one rule: a whole run takes a few seconds.
SCENARIO = TINY + '\n[[methods]]\nname = "exact"\nkind = "rule"\npasses = [[{ field = "name" }]]\n'


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _own_staging(out: Path, pid: int) -> Path:
    return out.parent / f"{STAGING_PREFIX}{out.name}-{pid}"


def _kill_when(cmd: list[str], ready: Callable[[int], bool], delay: float = 0.0) -> None:
    """Start ``cmd``, SIGKILL it as soon as ``ready(pid)`` holds (plus ``delay`` seconds), and
    check it was killed before it finished."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not ready(proc.pid):
            assert proc.poll() is None, "finished before the moment to kill it"
            assert time.monotonic() < deadline, "the moment to kill it never came"
            time.sleep(0.002)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _assert_intact(out: Path, before: dict[str, str], capsys: pytest.CaptureFixture) -> None:
    """``out`` holds exactly the earlier files, and every other directory beside it is a
    staging directory that `report` refuses."""
    assert _snapshot(out) == before
    others = [p for p in out.parent.iterdir() if p.is_dir() and p != out]
    for path in others:
        assert path.name.startswith(STAGING_PREFIX), path
        assert main(["report", str(path)]) == 2
        assert "staging directory" in capsys.readouterr().err


def test_killed_runs_leave_the_previous_results_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "results" / "out"
    run = [str(LINKRISK), "run", str(toml), "--out", str(out), "--no-progress"]
    # Runs that are not killed run in this process (it has the name tables loaded already).
    assert main([*run[1:], "--seed", "11"]) == 0
    before = _snapshot(out)
    assert "manifest.json" in before and "raw/truth.parquet" in before

    moments: dict[str, tuple[Callable[[int], bool], float]] = {
        "as soon as its staging directory appears": (
            lambda pid: _own_staging(out, pid).exists(),
            0.0,
        ),
        "while it writes metrics and report": (
            lambda pid: (_own_staging(out, pid) / "metrics.csv").exists(),
            0.0,
        ),
        "after the manifest, just before the swap": (
            lambda pid: (_own_staging(out, pid) / "manifest.json").exists(),
            0.0,
        ),
    }
    for ready, delay in moments.values():
        _kill_when([*run, "--seed", "12"], ready, delay)
        _assert_intact(out, before, capsys)
    # A `report` killed while it rebuilds (in its own staging copy) changes nothing either.
    _kill_when(
        [str(LINKRISK), "report", str(out)],
        lambda pid: (_own_staging(out, pid) / "raw" / "run.json").exists(),
        0.3,
    )
    _assert_intact(out, before, capsys)
    assert staging_dirs(out)  # what the kills left behind ...

    assert main([*run[1:], "--seed", "12"]) == 0
    assert staging_dirs(out) == []  # ... the next run removed
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    info = json.loads((out / "raw" / "run.json").read_text(encoding="utf-8"))
    assert info["seed"] == 12 and _snapshot(out) != before


def _write(directory: Path, text: str) -> None:
    """A result linkrisk may replace (its manifest says linkrisk wrote it), holding ``text``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text('{"format": "linkrisk task"}', encoding="utf-8")
    (directory / "result.txt").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_replaces_the_previous_result_whole(
    exchange: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not exchange:  # the fallback where renameat2(RENAME_EXCHANGE) is unsupported
        monkeypatch.setattr(store, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _write(out, "old")
    with atomic_dir(out) as tmp:
        assert tmp.parent == out.parent and tmp.name.startswith(STAGING_PREFIX)
        assert list(tmp.iterdir()) == []
        assert (out / "result.txt").read_text() == "old"  # untouched until complete
        _write(tmp, "new")
    assert (out / "result.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_block_keeps_the_previous_result_and_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, "old")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        _write(tmp, "half")
        raise RuntimeError("killed half-way")
    assert (out / "result.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    deep = tmp_path / "a" / "b" / "out"
    with pytest.raises(KeyboardInterrupt), atomic_dir(deep):
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no parents left behind


def test_kill_between_the_two_renames_of_the_fallback_swap_is_repaired(tmp_path: Path) -> None:
    # The fallback swap renames the previous result aside, then the new one in; killed between
    # the two, `out` is missing and the previous result sits in the retired directory.
    out = tmp_path / "out"
    _write(tmp_path / f"{RETIRED_PREFIX}out-123", "old")
    _write(tmp_path / f"{STAGING_PREFIX}out-123", "new but never swapped in")
    with pytest.raises(RuntimeError), atomic_dir(out):
        assert (out / "result.txt").read_text() == "old"  # restored before the new work
        raise RuntimeError
    assert (out / "result.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_directories_are_removed_but_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, "old")
    stale = tmp_path / f"{STAGING_PREFIX}out-1"
    live = tmp_path / f"{STAGING_PREFIX}out-2"
    other = tmp_path / f"{STAGING_PREFIX}out-b-3"  # the staging directory of `out-b`
    for d in (stale, live, other):
        _write(d, "partial")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the run writing into it holds it
        with atomic_dir(out) as tmp:
            _write(tmp, "new")
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == sorted(["out", live.name, other.name])
    finally:
        os.close(fd)
    assert staging_dirs(out) == [live]
    with atomic_dir(out) as tmp:  # its owner is gone now: removed
        _write(tmp, "newer")
    assert staging_dirs(out) == [] and (out / "result.txt").read_text() == "newer"


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    from synthetic.errors import LinkriskError

    path = tmp_path / "out"
    path.write_text("precious", encoding="utf-8")
    with pytest.raises(LinkriskError, match="not a directory"), atomic_dir(path):
        pass
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_killed_generate_leaves_the_earlier_output_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Killed at any moment, `generate` over an earlier output leaves exactly that output (one
    # seed's files, never a mix of two), and the next generate replaces it whole.
    toml = tmp_path / "tiny.toml"  # ten times the tiny population: a few seconds to write
    bigger = SCENARIO.replace("size = 6000", "size = 60000").replace("size = 300", "size = 3000")
    toml.write_text(bigger, encoding="utf-8")
    out = tmp_path / "data" / "g"
    gen = [str(LINKRISK), "generate", str(toml), "--out", str(out), "--format", "csv"]
    assert main([*gen[1:], "--seed", "11"]) == 0  # in this process: it is not killed
    before = _snapshot(out)
    assert "query.csv" in before and "manifest.json" in before
    for ready in (
        lambda pid: _own_staging(out, pid).exists(),
        lambda pid: (_own_staging(out, pid) / "query.csv").exists(),  # mid-way
        lambda pid: (_own_staging(out, pid) / "noise_log.csv").exists(),  # the last table
    ):
        _kill_when([*gen, "--seed", "12"], ready)
        assert _snapshot(out) == before
        others = [p for p in out.parent.iterdir() if p != out]
        assert all(p.name.startswith(STAGING_PREFIX) for p in others), others
    assert main([*gen[1:], "--seed", "12"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["g"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 12 and _snapshot(out) != before
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
