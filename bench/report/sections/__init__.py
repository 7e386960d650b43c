"""The report's sections, one per module; importing this package registers all of them."""

from __future__ import annotations

import importlib
import pkgutil

from bench.report.sections.base import SECTIONS, ReportFigure, Section, register, sections

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SECTIONS", "ReportFigure", "Section", "register", "sections"]
