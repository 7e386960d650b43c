"""Reproduce a published run cheaply, for the byte-for-byte tests (in process or as a script).

A published preset runs K replicates (the default preset 5). Rerunning all of them twice (in
the test process and with numpy's optional CPU features disabled) would take most of the
suite's time budget, so :func:`reproduce` reruns the seed run and the first ``replicates - 1``
replicates, takes the remaining replicates' raw files from the published run (the same
``bench.runner`` code wrote them, with other seeds), sets the replicate count in
``raw/run.json`` back to K and rewrites every derived file from ``raw/``. The result holds every
file of the published run and must equal it byte for byte.

Run as ``python -m tests.reproduce PRESET OUT_DIR REPLICATES`` from the repository root; it
prints one JSON line: the CPU features numpy uses and OpenBLAS's kernel architecture.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def reproduce(preset: str, out: Path, replicates: int) -> Path:
    """Rerun ``results/<preset>`` into ``out`` (module docstring) and return ``out``: the seed
    run and replicates 1 .. ``replicates`` - 1 regenerated, the others copied from the
    published raw files, every derived file rewritten."""
    from bench.linkage.config import load_benchmark
    from bench.report.document import write_outputs
    from bench.runner import run
    from bench.runs.writers import write_json

    published = RESULTS / preset
    info = json.loads((published / "raw" / "run.json").read_text(encoding="utf-8"))
    total = int(info.get("replicates", 1))
    replicates = max(1, min(replicates, total))
    bench = load_benchmark(preset)
    # The report is drawn once, at the end: when replicates are copied in, a first one is
    # rewritten anyway.
    again = replicates < total
    out = run(
        bench, seed=info["seed"], out_dir=out, progress=False, replicates=replicates,
        html=not again,
    ).out_dir  # fmt: skip
    if again:
        for k in range(replicates, total):
            rel = Path("raw", "replicates", str(k))
            shutil.copytree(published / rel, out / rel)
        doc = json.loads((out / "raw" / "run.json").read_text(encoding="utf-8"))
        write_json({**doc, "replicates": total}, out / "raw" / "run.json")
        write_outputs(out)
    return out


def differences(out: Path, published: Path) -> list[str]:
    """Relative paths of the files that only one of the two directories holds or that differ
    in a byte; empty when the two are identical."""

    def files(d: Path) -> set[str]:
        return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}

    ours, theirs = files(out), files(published)
    common = sorted(ours & theirs)
    _, mismatch, errors = filecmp.cmpfiles(out, published, common, shallow=False)
    return sorted((ours ^ theirs) | set(mismatch) | set(errors))


def runtime() -> dict[str, object]:
    """The optional CPU features numpy uses in this process and OpenBLAS's kernels."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    from threadpoolctl import threadpool_info

    blas = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return {
        "numpy_features": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
        "openblas": blas,
    }


if __name__ == "__main__":
    preset, out_dir, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    reproduce(preset, out_dir, count)
    print(json.dumps(runtime()))
