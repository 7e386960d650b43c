"""Where run outputs go: atomic output directories (staged, then swapped in), the checks made
before any work starts, and copies of a run for rebuilding its derived files.

Raw outputs (pairs, scores, truth, the people behind each record, the noise log) are kept apart
from derived metrics and cause tables (:mod:`bench.measurement.derive`), so that those and the
reports can be recomputed from ``raw/`` alone without rerunning any method.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.runs.rundir import RunDir
from bench.runs.writers import (
    RETIRED_PREFIX,
    STAGING_PREFIX,
    is_staging_dir,
)
from synthetic.errors import LinkriskError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def staging_dirs(out_dir: Path) -> list[Path]:
    """The staging and retired siblings of ``out_dir`` (:func:`atomic_dir`), live or stale."""
    out = []
    for prefix in (STAGING_PREFIX, RETIRED_PREFIX):
        stem = f"{prefix}{out_dir.name}-"
        if out_dir.parent.is_dir():
            out += [
                p
                for p in out_dir.parent.iterdir()
                if p.name.startswith(stem) and p.name[len(stem) :].isdigit()
            ]
    return sorted(out)


#: Where results go by default (relative to the current directory): ``results/<scenario>``.
RESULTS_DIR = Path("results")
#: The ``format`` of the manifest of ``linkrisk generate``'s output (one file per table, sharded).
TASK_FORMATS = ("linkrisk task", "linkrisk sharded task")


def is_linkrisk_output(path: Path) -> bool:
    """Whether ``path`` is a directory linkrisk wrote, which a new output may replace whole:

    - a run (``run``, ``evaluate``, ``report``): both ``raw/run.json`` and ``manifest.json``;
    - generated files (``generate``): a ``manifest.json`` whose ``format`` is ``"linkrisk task"``
      or ``"linkrisk sharded task"``;
    - a projection (``project --out``): ``projection.md`` and ``projection.csv``;
    - a calibration (``calibrate``): ``calibration.md`` and ``points.csv``;
    - a model calibration (``audit calibrate-model``): ``model_calibration.md`` and
      ``model_points.csv``;
    - speed results or a cached workload (``dev.py perf``): ``perf.json`` or ``workload.json``;
    - scale results (``python -m bench.perf.scale``): ``scale.md`` and ``scale.json``.

    Anything else that holds files is someone else's and is never replaced.
    """
    if not path.is_dir():
        return False
    if (path / "raw" / "run.json").is_file() and (path / "manifest.json").is_file():
        return True
    if (path / "projection.md").is_file() and (path / "projection.csv").is_file():
        return True
    if (path / "calibration.md").is_file() and (path / "points.csv").is_file():
        return True
    if (path / "model_calibration.md").is_file() and (path / "model_points.csv").is_file():
        return True  # linkrisk audit calibrate-model
    if (path / "perf.json").is_file() or (path / "workload.json").is_file():
        return True
    if (path / "scale.md").is_file() and (path / "scale.json").is_file():
        return True
    try:
        manifest = json.loads((path / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") in TASK_FORMATS


def check_out_dir(path: Path | str) -> None:
    """Refuse (:class:`LinkriskError`, ``<path>: <problem>``) an output directory that linkrisk
    must not replace, before any work: the current directory, a root or an ancestor of the
    current directory (however spelled: ``.``, ``''``, ``x/..``), the results directory itself,
    a path that exists and is not a directory, and a directory that holds files linkrisk did not
    write (:func:`is_linkrisk_output`). A directory that does not exist yet, or is empty, is
    fine."""
    shown = str(path) if str(path) else "''"
    path = Path(path)
    target = Path(os.path.abspath(path))  # `..` undone by name, as the swap would see it
    here = Path.cwd()
    for resolved in {target, target.resolve()}:
        if resolved == here:
            raise LinkriskError(f"{shown}: is the current directory; name a directory inside it")
        if resolved == Path(resolved.anchor):
            raise LinkriskError(f"{shown}: is the root directory; name a directory inside it")
        if here.is_relative_to(resolved):
            raise LinkriskError(
                f"{shown}: contains the current directory; name a directory inside it"
            )
        if resolved == Path(os.path.abspath(RESULTS_DIR)):
            raise LinkriskError(
                f"{shown}: is the results directory itself, which holds every run; name a "
                f"directory inside it (e.g. {RESULTS_DIR / 'my-run'})"
            )
    if path.name == "..":
        raise LinkriskError(f"{shown}: ends in `..`; name the directory itself")
    if not target.exists():
        return
    if not target.is_dir():
        raise LinkriskError(f"{shown}: exists and is not a directory")
    if is_staging_dir(target):
        raise LinkriskError(f"{shown}: is the staging directory of an unfinished run")
    if any(target.iterdir()) and not is_linkrisk_output(target):
        raise LinkriskError(
            f"{shown}: exists and was not written by linkrisk (no raw/run.json and "
            "manifest.json, nor generated files' manifest.json); linkrisk replaces only its "
            "own outputs: name a new or empty directory"
        )


def _outside_staging(exc: OSError, tmp: Path, out_dir: Path) -> OSError:
    """``exc`` naming the user's ``out_dir`` where it named the staging directory ``tmp`` (or no
    file at all, as pyarrow's errors): the staging directory is an internal detail."""

    def shown(name: object) -> object:
        if name is None:
            return None
        try:
            rel = Path(os.fsdecode(name)).relative_to(tmp)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return name
        return str(out_dir / rel)

    filename = shown(exc.filename) if exc.filename is not None else str(out_dir)
    if filename == exc.filename and exc.filename2 == shown(exc.filename2):
        return exc
    strerror = exc.strerror or str(exc)
    for name in (exc.filename, exc.filename2):  # pyarrow puts the path in the message
        if name is not None:
            strerror = strerror.replace(os.fsdecode(name), str(shown(name)))
    strerror = strerror.replace(str(tmp), str(out_dir))
    new = OSError(exc.errno, strerror, filename, None, shown(exc.filename2))
    return new


def _lock(path: Path) -> int | None:
    """An exclusive lock on a directory, held until the returned descriptor is closed (or the
    process dies, even by SIGKILL); None when another live process holds it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _clean_stale(out_dir: Path) -> None:
    """Remove what killed runs left beside ``out_dir``; if a run was killed between moving the
    previous result aside and moving the new one in (the fallback swap), put the previous
    result back. Directories of live runs (locked) are left alone."""
    for path in staging_dirs(out_dir):
        try:
            fd = _lock(path)
        except OSError:  # vanished meanwhile, or not a directory
            continue
        if fd is None:
            continue
        try:
            if path.name.startswith(RETIRED_PREFIX) and not out_dir.exists():
                path.rename(out_dir)  # a complete previous result: restore it
            else:
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the system or file system does not support it."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Move the complete ``tmp`` to ``out_dir``. At every instant ``out_dir`` is either the
    previous result or the new one: an atomic exchange where supported; otherwise the previous
    result is renamed aside first and, if the process dies before the second rename, the next
    :func:`atomic_dir` on ``out_dir`` puts it back."""
    if not out_dir.exists():
        tmp.rename(out_dir)
        return
    if _exchange(tmp, out_dir):
        shutil.rmtree(tmp)  # now the previous result
        return
    old = out_dir.parent / f"{RETIRED_PREFIX}{out_dir.name}-{os.getpid()}"
    fd = _lock(out_dir)  # a killed swap leaves `old` unlocked: restorable
    try:
        out_dir.rename(old)
        tmp.rename(out_dir)
    finally:
        if fd is not None:
            os.close(fd)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(out_dir: Path) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``out_dir`` only if the block completes.

    The staging directory is a hidden sibling (``.linkrisk-tmp-<name>-<pid>``), locked while
    the process lives. The previous ``out_dir`` stays in place, untouched, until the new one is
    complete, and the swap never leaves a moment without a complete result (:func:`_swap_in`).
    If the block raises, the staging directory and any parents this call created are removed.
    A process killed outright (SIGKILL, a crash) leaves its staging directory behind; the next
    ``atomic_dir`` on the same ``out_dir`` removes it. (Files are not fsynced: this guards
    against killed processes, not against the loss of the machine's power.)
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir)  # the callers check before any work; this is the last guard
    created = [p for p in (out_dir.parent, *out_dir.parent.parents) if not p.exists()]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out_dir)
    tmp = out_dir.parent / f"{STAGING_PREFIX}{out_dir.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fd = _lock(tmp)
    try:
        try:
            yield tmp
            _swap_in(tmp, out_dir)
        except OSError as exc:
            translated = _outside_staging(exc, tmp, out_dir)
            if translated is exc:
                raise
            raise translated from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in created:  # deepest first; only if still empty
            try:
                parent.rmdir()
            except OSError:
                break
        raise
    finally:
        if fd is not None:
            os.close(fd)


def check_run_dir(run_dir: Path) -> None:
    """Refuse (:class:`LinkriskError`, one line naming the file, the field and the problem) a
    directory that is not a complete, unaltered and well-formed run: a staging directory, one
    without ``raw/run.json`` or ``manifest.json``, one whose input files are missing or differ
    from the SHA-256 the manifest lists, or whose raw files do not hold what a run writes
    (:meth:`bench.runs.rundir.RunDir.validate`). Nothing is computed before this passes."""
    RunDir(run_dir).validate()


def copy_run(src: Path, dst: Path) -> None:
    """Copy a run directory into an empty ``dst`` to rebuild its derived files there: ``raw/``
    hard-linked where possible (never rewritten), every other file copied (rewritten in place,
    which must not touch ``src``)."""
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.relative_to(src).parts[0] == "raw":
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        else:
            shutil.copy2(path, target)
