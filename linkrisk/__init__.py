"""linkrisk's Python API: generate a scenario's files as DataFrames, run the methods on a task,
score anyone's declared links, evaluate DataFrames or files; results come back as DataFrames.

Importing this package has no side effects (nothing is read, drawn or written). Files are
written only where the caller passes ``out=`` (the full run directory, ``report.html``
included); without it a run works in a temporary directory that is removed before the call
returns (the run directory is the one format every metric, cause, subgroup and sweep is
computed from, :mod:`bench.runs.rundir`), and no figures are drawn.

>>> import linkrisk
>>> files = linkrisk.generate("crosscheck")          # doctest: +SKIP
>>> files.query.head()                               # doctest: +SKIP
"""

from __future__ import annotations

from linkrisk.api import Generated, Results, evaluate, generate, run, score

__all__ = ["Generated", "Results", "evaluate", "generate", "run", "score"]
