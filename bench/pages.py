"""Memory pages of linkrisk's own processes: small ones.

numpy asks the kernel for transparent huge pages (2 MB) for every array of 4 MB or more
(``madvise``). On a virtual machine whose host backs the guest's memory lazily and takes freed
memory back (free page reporting, ballooning: common on cloud machines), each huge page touched
anew costs a fault in the host and 2 MB of zeroing, and linkrisk allocates and frees arrays of
tens of megabytes at every stage. On the 2-core machine of ``results/perf`` the linkage of the
speed workload spent 1.7 s more in the kernel with numpy's default than without it (at 237da92,
median of 8 paired fresh processes: 4.70 s against 3.35 s; README, Speed). Speed only: no result
depends on page size.
"""

from __future__ import annotations


def small_pages() -> None:
    """Stop numpy from asking for huge pages for the arrays this process allocates from now on
    (what ``NUMPY_MADVISE_HUGEPAGE=0`` does at numpy's import). A numpy without the switch is
    left as it is."""
    import numpy as np

    core = getattr(np, "_core", None) or getattr(np, "core", None)  # numpy 2 / numpy 1
    switch = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)
