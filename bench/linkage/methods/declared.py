"""Links declared by another linker (an agency's production rule, a vendor's system, a
researcher's model), scored as a method of their own (``linkrisk score``, ``linkrisk.score``).

The method scores no records: :mod:`bench.score` reads the user's file of declared links,
resolves its record ids to rows and hands them to the method (:attr:`DeclaredLinks.pairs`);
everything downstream (raw/, metrics, causes, subgroups, sweeps, the report) is the code every
built-in method goes through. Its parameters record where the links came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method, MethodNotRun, Param, Scored, register


@register
class DeclaredLinks(Method):
    """The pairs another linker declared, as given (``resolve = "all"``: nothing re-decided)."""

    kind = "declared-links"
    summary = "links declared by another linker, read from a file (linkrisk score)"
    scores_records = False
    default_resolve = "all"
    params_schema: ClassVar[Mapping[str, Param]] = {
        "file": Param("", "the file the links were read from (or <DataFrame>)"),
        "sha256": Param("", "SHA-256 of that file ('' for a DataFrame)"),
        "candidates": Param(
            False,
            "the links come with every pair the linker considered (a `link` column marks the "
            "declared ones), so blocking loss and the reduction ratio are known",
        ),
        "scored": Param(False, "the linker gave a score per pair (threshold sweeps)"),
    }

    def __init__(self, name: str, params: Mapping[str, Any], resolve: str) -> None:
        super().__init__(name, params, resolve)
        #: query_row, register_row, score, link of the user's pairs (set by bench.score).
        self.pairs: pd.DataFrame | None = None

    def uses_blocking(self) -> bool:
        return bool(self.params["candidates"])

    def reads(self) -> frozenset[str]:
        return frozenset()  # the pairs come as given

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        if self.pairs is None:
            raise MethodNotRun("declared links are given through linkrisk score, not a scenario")
        p = self.pairs
        return Scored(
            query_row=p["query_row"].to_numpy(np.int64),
            register_row=p["register_row"].to_numpy(np.int64),
            score=p["score"].to_numpy(np.float64),
            accept=p["link"].to_numpy(bool),
        )
