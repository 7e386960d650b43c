"""The contract of a report section, and the registry the report is built from.

A section is one module under :mod:`bench.report.sections` holding one subclass of
:class:`Section`, decorated with :func:`register`. It declares:

- ``name``, and ``order``: its place in ``report.md`` and ``report.html`` (smaller first);
- ``needs``: the run capabilities it applies to (:data:`bench.report.context.CAPABILITIES`);
- ``reads``: the attributes of :class:`~bench.report.context.ReportContext` it reads (it is
  given a view that refuses the others);
- ``writes``: the derived tables it writes into the run directory (``.csv``, or ``.json`` as
  a list of records), built by :meth:`Section.tables`;
- its Markdown (:meth:`Section.markdown`: lines, the first a heading, or none);
- its figures (:meth:`Section.figures`: id, caption and a factory that draws the figure, so
  that computing stays apart from plotting), each placed in ``report.html`` under one of the
  section's headings (:class:`ReportFigure`); ``figure_order`` orders figures placed at the
  same spot (default: ``order``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import pandas as pd

from bench.report.context import CAPABILITIES, READABLE, ReportContext

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ReportFigure:
    """One figure of ``report.html``: its id (an HTML id), caption, and what draws it.

    It is placed beside what it illustrates: at the end of the block under the heading whose
    text is ``after`` (default: the section's own first heading), or, with ``beside``, right
    after that heading, floated beside the text that follows it."""

    id: str
    caption: str
    draw: Callable[[], Figure]
    after: str | None = None
    beside: bool = False


class Section:
    """One part of the report (see the module docstring); subclass it and :func:`register`."""

    name: ClassVar[str]
    order: ClassVar[float]
    figure_order: ClassVar[float | None] = None
    needs: ClassVar[frozenset[str]] = frozenset()
    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[tuple[str, ...]] = ()

    def applies(self, ctx: ReportContext) -> bool:
        """Whether the run offers every capability the section needs."""
        return self.needs <= ctx.capabilities

    def tables(self, ctx: ReportContext) -> Mapping[str, pd.DataFrame | None]:
        """The tables of :attr:`writes`, by file name; None for one the run cannot back (it is
        then removed, never left stale)."""
        return {}

    def markdown(self, ctx: ReportContext) -> list[str]:
        """The section's lines of ``report.md``, the first a heading (``#``); [] for none."""
        return []

    def figures(self, ctx: ReportContext) -> list[ReportFigure]:
        """The section's figures of ``report.html``, in order."""
        return []


#: Every registered section: name -> instance (see :func:`sections` for the report's order).
SECTIONS: dict[str, Section] = {}


def register(cls: type[Section]) -> type[Section]:
    """Class decorator adding a section to the report."""
    name = cls.name
    if name in SECTIONS:
        raise ValueError(f"report section {name!r} registered twice")
    if any(s.order == cls.order for s in SECTIONS.values()):
        raise ValueError(f"report section {name!r}: order {cls.order} already taken")
    unknown = sorted(set(cls.needs) - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"report section {name!r} needs unknown capabilities {unknown}")
    unreadable = sorted(set(cls.reads) - READABLE)
    if unreadable:
        raise ValueError(f"report section {name!r} reads unknown context attributes {unreadable}")
    bad = [t for t in cls.writes if not t.endswith((".csv", ".json")) or "/" in t]
    if bad:
        raise ValueError(f"report section {name!r}: tables must be .csv or .json files: {bad}")
    SECTIONS[name] = cls()
    return cls


def sections() -> list[Section]:
    """Every registered section in report order."""
    return sorted(SECTIONS.values(), key=lambda s: s.order)
