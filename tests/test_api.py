"""The Python API (:mod:`linkrisk`): the README's example runs as it is against the installed
package, and importing the package does nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import TINY

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- api-example[^\n]*-->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md has no API example block"
    return found.group(1)


def test_readme_api_example_runs(tmp_path: Path) -> None:
    (tmp_path / "small.toml").write_text(TINY, encoding="utf-8")
    (tmp_path / "example.py").write_text(_example(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exact-name-address" in done.stdout and "wrong_person_rate" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.py", "small.toml"]


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import sys, linkrisk; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bench', 'synthetic')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []
