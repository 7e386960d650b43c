"""The house's rules, read from the source: no import cycles, and ``synthetic`` never imports
``bench``.

Imports are read with :mod:`ast` (module level *and* inside functions, since a function-level
import back up is still a cycle in the design), so the test needs nothing to be importable.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "synthetic")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if ".venv" not in p.parts
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``name`` imports (resolved to the longest known module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            parts = target.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != name:
                found.add(".".join(parts))
    return found


@functools.cache  # parsing every module takes ~0.7 s, and each parametrized case asks
def _graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    # a package's __init__ is imported with any of its modules: not an edge of the design
    return {
        name: frozenset(t for t in deps if not name.startswith(t + "."))
        for name, deps in graph.items()
    }


def _cycles(graph: Mapping[str, AbstractSet[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative-safe size)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_reader_sees_known_edges() -> None:
    graph = _graph()
    assert "synthetic.scenario" in graph["bench.runner"] or any(
        d.startswith("synthetic") for d in graph["bench.runner"]
    )
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(n for n in _modules() if n.startswith("synthetic")))
def test_synthetic_never_imports_bench(name: str) -> None:
    bench = sorted(d for d in _graph()[name] if d.split(".")[0] == "bench")
    assert bench == [], f"{name} imports {bench}"


#: The floors of ``bench``, lowest first: a module may import its own floor and those below,
#: never one above (the data flow of the README's "How it works": linkage -> raw run directories
#: -> measurement -> report, with the orchestration on top). Modules not listed are on top.
FLOORS = (
    ("bench.usage", "bench.interrupts", "bench.memory", "bench.apart"),
    ("bench.linkage",),
    ("bench.runs",),
    ("bench.inputs",),
    # an audit's computations (design, estimates, model-based estimates, simulated audits) read
    # raw/ and user files as measurement does, and the report shows them; its commands and its
    # calibration over seeded runs (bench.audit_command, bench.audit_calibration) are on top
    ("bench.measurement", "bench.audit"),
    ("bench.report",),
)


def _floor(name: str) -> int:
    for level, prefixes in enumerate(FLOORS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    return len(FLOORS)


@pytest.mark.parametrize("name", sorted(n for n in _modules() if n.startswith("bench")))
def test_bench_imports_point_down(name: str) -> None:
    up = sorted(d for d in _graph()[name] if d.startswith("bench") and _floor(d) > _floor(name))
    assert up == [], f"{name} (floor {_floor(name)}) imports upward: {up}"


def test_report_never_imports_the_user_file_reader() -> None:
    graph = _graph()
    report = [n for n in graph if n.startswith("bench.report")]
    assert report
    for name in report:
        assert not any(d.startswith("bench.inputs") for d in graph[name]), name


def test_floors_catch_an_upward_import() -> None:
    assert (
        _floor("bench.linkage.fields") < _floor("bench.measurement.metrics") < _floor("bench.cli")
    )


def test_audit_floors() -> None:
    assert _floor("bench.audit.estimate") == _floor("bench.measurement.metrics")
    assert _floor("bench.audit.estimate") < _floor("bench.report.sections.audit")
    assert _floor("bench.audit_command") == _floor("bench.audit_calibration") == _floor("bench.cli")
    package = [n for n in _modules() if n.startswith("bench.audit.")]
    assert len(package) >= 5 and {_floor(n) for n in package} == {_floor("bench.measurement")}


def _third_party(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_report_draws() -> None:
    # Figures are apart from computation: measurement (and everything else) computes tables,
    # bench.report.document draws them; matplotlib is imported nowhere else.
    drawing = sorted(
        name
        for name, path in _modules().items()
        if "matplotlib" in _third_party(path) and not name.startswith("bench.report")
    )
    assert drawing == []
    assert "matplotlib" in _third_party(ROOT / "bench" / "report" / "figures.py")
