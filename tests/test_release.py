"""A run holds what later methods read only: blocking waits for the first method that needs
candidates, the candidates go after the last, and a field's codes go once no later method reads
it (Method.reads). None of it changes a byte of the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.linkage.config import DEFAULTS_FILE, parse_benchmark
from bench.linkage.fields import PreparedTask
from bench.runner import run
from synthetic.config import read_toml
from tests.conftest import TINY, read_toml_text

#: Rules first (they read the address and the TIN-less name fields), then scored methods.
METHODS = ("exact-name-address", "name-control-zip", "fuzzy-jw", "fellegi-sunter")


def _bench():
    data = read_toml_text(TINY)
    defaults = read_toml(DEFAULTS_FILE)
    data["blocking"] = defaults["blocking"]
    by_name = {m["name"]: m for m in defaults["methods"]}
    data["methods"] = [by_name[name] for name in METHODS]
    return parse_benchmark(data)


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("report.html", "manifest.json")
    }


def test_fields_and_candidates_are_freed_without_changing_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before: list[set[str]] = []
    kept: list[set[str]] = []
    release = PreparedTask.release

    def recording(self: PreparedTask, keep) -> None:  # type: ignore[no-untyped-def]
        before.append(set(self._fields))
        release(self, keep)
        kept.append(set(self._fields))

    monkeypatch.setattr(PreparedTask, "release", recording)
    freed = run(_bench(), out_dir=tmp_path / "freed", progress=False, html=False)
    # blocking came after the rules, before the first scored method
    steps = list(freed.timings)
    assert steps.index("blocking") == steps.index("method fuzzy-jw") - 1
    assert steps.index("blocking") > steps.index("method name-control-zip")
    # the unit, which only the first rule compares, goes after it...
    assert "unit" in before[0] and "unit" not in kept[0]
    # ...the names stay for the later methods, and after the last method everything goes
    assert {"first_name", "last_name"} <= kept[0] and before[-1] and kept[-1] == set()

    monkeypatch.setattr(PreparedTask, "release", lambda self, keep: None)  # everything kept
    whole = run(_bench(), out_dir=tmp_path / "whole", progress=False, html=False)
    assert _files(tmp_path / "freed") == _files(tmp_path / "whole")
    assert freed.metrics.equals(whole.metrics)


def test_later_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.tasks import later_reads

    bench = _bench()
    rule, fuzzy = bench.methods[1], bench.methods[2]  # name-control-zip, fuzzy-jw
    blocking = {field for keys in bench.blocking for field, _, _ in keys}
    assert later_reads([rule], bench, blocked=False) == {"last_name", "zip"}  # no blocking ahead
    assert (
        later_reads([rule, fuzzy], bench, blocked=False) == rule.reads() | fuzzy.reads() | blocking
    )
    assert later_reads([fuzzy], bench, blocked=True) == fuzzy.reads()
    assert later_reads([], bench, blocked=True) == set()
    monkeypatch.setattr(rule, "reads", lambda: None)
    assert later_reads([rule, fuzzy], bench, blocked=True) is None  # unknown: keep everything


def test_freed_memory_is_given_back_where_the_c_library_can() -> None:
    """glibc's malloc_trim is found on Linux with glibc (where big runs are measured), and
    giving memory back leaves the process working."""
    import platform
    import sys

    from bench.memory import _malloc_trim, give_back_memory

    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert _malloc_trim() is not None
    big = [bytearray(1 << 20) for _ in range(64)]  # 64 MB freed just before
    del big
    give_back_memory()
    assert sum(bytearray(10)) == 0
