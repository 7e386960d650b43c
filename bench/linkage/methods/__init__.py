"""Linkage methods, one per module; importing this package registers all of them."""

from __future__ import annotations

import importlib
import pkgutil

from bench.linkage.methods.base import METHODS, Candidates, Method, Param, Scored, register

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "Candidates", "Method", "Param", "Scored", "register"]
