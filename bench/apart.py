"""A step of a big run in a fresh Python process, so that the memory it takes goes with it.

A long process keeps memory it has freed: the allocator's arenas stay fragmented after a step
that held tens of millions of rows, and the next step's peak sits on top of them (at the real
size the report peaked 2.7 GB higher after the linkage than in a process of its own).
:func:`call_apart` runs a module-level function in a new interpreter (nothing of this one is
copied, no module of the caller is imported again) and hands back its result or its error.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from synthetic.errors import LinkriskError

T = TypeVar("T")

_JOB, _RESULT, _ERROR = "job.pickle", "result.pickle", "error.pickle"


def call_apart(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a child Python process; its return value (pickled back).

    ``func`` must be importable by name (a module-level function) and its arguments and result
    picklable. A :class:`LinkriskError` the child raises is raised here as it was (a user-input
    error stays one line); any other failure of the child raises :class:`RuntimeError` naming
    its exit status (its traceback went to stderr). Ctrl-C reaches both processes.
    """
    with tempfile.TemporaryDirectory(prefix="linkrisk-apart-") as tmp:
        where = Path(tmp)
        job = (func.__module__, func.__qualname__, args, kwargs)
        (where / _JOB).write_bytes(pickle.dumps(job))
        # -P: the working directory is not put on the child's path (a folder named bench there
        # would be imported instead of linkrisk's)
        done = subprocess.run([sys.executable, "-P", "-m", "bench.apart", tmp], check=False)
        if (where / _ERROR).exists():
            raise pickle.loads((where / _ERROR).read_bytes())
        if done.returncode != 0 or not (where / _RESULT).exists():
            name = f"{func.__module__}.{func.__qualname__}"
            raise RuntimeError(f"{name} stopped with exit status {done.returncode}")
        result: T = pickle.loads((where / _RESULT).read_bytes())
        return result


def _child(where: Path) -> int:
    """The child of :func:`call_apart`: run the job; its result or user-input error pickled."""
    module, name, args, kwargs = pickle.loads((where / _JOB).read_bytes())
    func: Any = importlib.import_module(module)
    for part in name.split("."):
        func = getattr(func, part)
    try:
        result = func(*args, **kwargs)
    except LinkriskError as exc:
        (where / _ERROR).write_bytes(pickle.dumps(exc))
        return 2
    except KeyboardInterrupt:  # the parent got the Ctrl-C too, and says so
        return 130
    (where / _RESULT).write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
