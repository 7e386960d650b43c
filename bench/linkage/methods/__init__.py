"""Linkage methods, one per module; importing this package registers all of them, and the
methods of other installed packages that declare an entry point in the group
``linkrisk.methods`` (its value a module, or a :class:`Method` subclass, ``pkg.mod:Class``;
loading the module registers its ``@register`` classes)."""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from bench.linkage.methods.base import METHODS, Candidates, Method, Param, Scored, register
from synthetic.errors import ConfigError

#: The entry point group through which other packages add method kinds.
ENTRY_POINT_GROUP = "linkrisk.methods"

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def _load_entry_points() -> None:
    """Import every ``linkrisk.methods`` entry point; a class it names is registered unless its
    module registered it already. One that cannot be loaded is refused on one line."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:
            raise ConfigError(
                f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP})",
                f"cannot be loaded: {type(exc).__name__}: {exc}",
            ) from exc
        is_method = isinstance(loaded, type) and issubclass(loaded, Method)
        if is_method and METHODS.get(loaded.kind) is not loaded:
            register(loaded)


_load_entry_points()

__all__ = ["ENTRY_POINT_GROUP", "METHODS", "Candidates", "Method", "Param", "Scored", "register"]
