"""Output directories: linkrisk never replaces what it did not write, refuses unsafe paths before
any work, gives non-default runs of a preset their own directory, and names the user's path (not
its staging directory) in every error while writing."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from bench import runner
from bench.cli import default_run_dir, main
from bench.linkage.config import load_benchmark
from bench.runs.store import atomic_dir, check_out_dir, is_linkrisk_output
from bench.runs.writers import STAGING_PREFIX
from synthetic.errors import LinkriskError
from tests.conftest import TINY

RULE = '\n[[methods]]\nname = "exact"\nkind = "rule"\npasses = [[{ field = "name" }]]\n'


def _snapshot(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("linkrisk: error: "), err
    assert "Traceback" not in err and STAGING_PREFIX not in err, err
    return lines[0]


def _main(argv: list[str]) -> int:
    """``main``'s exit status, whether returned or raised (argparse errors exit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the tiny scenario, a user's directory and an empty one; no
    generation may start (every refusal must come before any work)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.toml").write_text(TINY + RULE, encoding="utf-8")
    (work / "mine").mkdir()
    (work / "mine" / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    (work / "results").mkdir()
    (work / "results" / "notes.txt").write_text("mine too\n", encoding="utf-8")
    monkeypatch.chdir(work)

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(runner, "generate_population", no_work)
    monkeypatch.setattr("synthetic.scenario.build_task", no_work)
    monkeypatch.setattr("bench.scale.projection.cli.project", no_work)
    return work


UNSAFE = {
    "the current directory": (".", "the current directory"),
    "empty": ("", "the current directory"),
    "the root": ("/", "root"),
    "x/..": ("x/..", "the current directory"),
    "an ancestor of the current directory": ("..", "contains the current directory"),
    "results itself": ("results", "results directory itself"),
    "a directory linkrisk did not write": ("mine", "not written by linkrisk"),
}

COMMANDS = {
    "run": ["run", "tiny.toml", "--no-progress", "--out"],
    "generate": ["generate", "tiny.toml", "--out"],
    "evaluate": ["evaluate", "--query", "q.csv", "--register", "r.csv", "--column", "f=f", "--out"],
    "project": ["project", "tiny.toml", "--out"],
}


@pytest.mark.parametrize("case", list(UNSAFE))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_unsafe_out_refused_up_front_on_one_line(
    case: str, command: str, cwd: Path, capsys: pytest.CaptureFixture
) -> None:
    path, fragment = UNSAFE[case]
    before = _snapshot(cwd.parent)
    code = _main([*COMMANDS[command], path])
    err = capsys.readouterr().err
    assert code == 2, err
    line = _one_line(err)
    assert fragment in line, line
    assert _snapshot(cwd.parent) == before
    assert sorted(p.name for p in cwd.iterdir()) == ["mine", "results", "tiny.toml"]


def test_report_refuses_the_current_directory_before_rebuilding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY + RULE, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(toml), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    before = _snapshot(tmp_path)
    monkeypatch.chdir(out)
    assert main(["report", "."]) == 2
    assert "the current directory" in _one_line(capsys.readouterr().err)
    assert _snapshot(tmp_path) == before


def test_what_linkrisk_may_replace() -> None:
    assert not is_linkrisk_output(Path("/nonexistent/linkrisk/x"))


def test_recognised_outputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check_out_dir(empty)  # empty: fine
    check_out_dir(tmp_path / "new" / "deep")  # does not exist yet: fine
    run = tmp_path / "run"
    (run / "raw").mkdir(parents=True)
    (run / "raw" / "run.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LinkriskError, match="not written by linkrisk"):
        check_out_dir(run)  # raw/run.json alone is not a run
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    assert is_linkrisk_output(run)
    check_out_dir(run)
    task = tmp_path / "task"
    task.mkdir()
    (task / "manifest.json").write_text('{"format": "a user\'s"}', encoding="utf-8")
    assert not is_linkrisk_output(task)
    (task / "manifest.json").write_text('{"format": "linkrisk task"}', encoding="utf-8")
    assert is_linkrisk_output(task)
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(LinkriskError, match="not a directory"):
        check_out_dir(afile)


def test_atomic_dir_itself_refuses_foreign_directories(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    with pytest.raises(LinkriskError, match="not written by linkrisk"), atomic_dir(mine):
        raise AssertionError("never reached")
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "years of work\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_generate_replaces_its_own_output_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY, encoding="utf-8")
    out = tmp_path / "g"
    assert main(["generate", str(toml), "--out", str(out), "--format", "csv"]) == 0
    first = capsys.readouterr().out
    assert str(out / "query.csv") in first and STAGING_PREFIX not in first
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "linkrisk task" and manifest["seed"] == 11
    assert main(["generate", str(toml), "--out", str(out), "--seed", "12"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert not any(n.endswith(".csv") for n in names), names  # nothing of the earlier output
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["seed"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g", "tiny.toml"]


def test_non_default_runs_of_a_preset_get_their_own_directory() -> None:
    bench = load_benchmark("irs-ice")
    own = bench.scenario
    assert default_run_dir(bench) == Path("results/irs-ice")
    assert default_run_dir(bench, seed=own.seed, replicates=own.replicates) == Path(
        "results/irs-ice"
    )
    assert default_run_dir(bench, replicates=20) == Path("results/irs-ice@replicates=20")
    assert default_run_dir(bench, seed=7, replicates=20) == Path(
        "results/irs-ice@seed=7,replicates=20"
    )
    assert default_run_dir(bench, engine="duckdb") == Path("results/irs-ice@engine=duckdb")


def test_an_edited_copy_of_a_preset_does_not_write_over_it(tmp_path: Path) -> None:
    text = load_benchmark("irs-ice").text
    assert text is not None
    copy = tmp_path / "my.toml"
    copy.write_text(text, encoding="utf-8")
    assert default_run_dir(load_benchmark(str(copy))) == Path("results/irs-ice")  # the same
    copy.write_text(text.replace("size = 10000 ", "size = 123 ", 1), encoding="utf-8")
    edited = load_benchmark(str(copy))
    assert edited.name == "irs-ice" and edited.scenario.query.size == 123
    assert default_run_dir(edited) == Path(f"results/irs-ice@config={edited.config_hash[:8]}")


def test_run_with_other_options_writes_beside_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY + RULE, encoding="utf-8")
    assert main(["run", "tiny.toml", "--replicates", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "report: results/tiny@replicates=2/report.md" in out
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["tiny@replicates=2"]


def test_no_space_left_names_the_users_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY + RULE, encoding="utf-8")
    out = tmp_path / "out"

    class Full:  # a parquet writer whose writes fail as on a full disk: no file name
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def write_table(self, *args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self) -> None:
            pass

    monkeypatch.setattr("bench.runs.writers.pq.ParquetWriter", Full)
    # a full disk is not bad input: exit 1 (bench.cli), still one line naming the user's path
    assert main(["run", str(toml), "--out", str(out), "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert f"{out}/raw/truth.parquet: No space left on device" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


def test_os_errors_inside_the_staging_directory_name_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OSError) as info, atomic_dir(out) as tmp:
        (tmp / "missing" / "x").read_text()
    assert info.value.filename == str(out / "missing" / "x")
    assert info.value.errno == errno.ENOENT


def test_publish_checks_every_output_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "crosscheck").mkdir(parents=True)
    (tmp_path / "results" / "crosscheck" / "notes.txt").write_text("mine\n", encoding="utf-8")

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("ran before checking every output")

    monkeypatch.setattr("bench.publish.run", no_run)
    assert main(["publish"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "results/crosscheck" in line and "not written by linkrisk" in line
    assert (tmp_path / "results" / "crosscheck" / "notes.txt").exists()


def test_publish_big_only_runs_the_named_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    ran: list[str] = []

    class Stop(Exception):
        pass

    def fake_run(bench: object, **kwargs: object) -> None:
        ran.append(bench.name)  # type: ignore[attr-defined]
        shards.append(kwargs["shards"])
        raise Stop

    shards: list[object] = []
    monkeypatch.setattr("bench.publish.run", fake_run)
    with pytest.raises(Stop):
        main(["publish", "--big", "--only", "irs-ice-full"])
    with pytest.raises(Stop):
        main(["publish", "--big", "--only", "irs-ice-full", "--shards", "gen"])
    assert ran == ["irs-ice-full"] * 2 and shards == [None, Path("gen")]
    assert main(["publish", "--big", "--shards", "gen"]) == 2  # whose shards?
    assert "--shards: goes with --big and one --only" in _one_line(capsys.readouterr().err)
    assert main(["publish", "--big", "--only", "irs-ice"]) == 2
    assert "--only: not a big-file preset: 'irs-ice'" in _one_line(capsys.readouterr().err)
    assert main(["publish", "--only", "irs-ice-full"]) == 2
    assert "--only: goes with --big" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "results").exists()
