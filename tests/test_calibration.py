"""Calibration (``linkrisk calibrate``): a planted truth is recovered, bad sections are one-line
errors with exit 2, outputs are byte-identical for a seed (whatever the number of workers) and
written atomically, and the metric contract refuses what it does not know."""

from __future__ import annotations

import copy
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.linkage.config import parse_benchmark
from bench.scale.calibration import (
    PointResult,
    Target,
    calibrate,
    consistent,
    garwood,
    load_calibration,
    parse_calibration,
    point_benchmark,
    scaled,
    simulate_point,
    target_count,
)
from synthetic.errors import ConfigError

SMALL = Path(__file__).parent / "data" / "calibration-small.toml"
TEXT = SMALL.read_text(encoding="utf-8")
TRUE_SHARE = 0.3
#: The planted truth is simulated on another population seed than the calibration's, so that
#: its counts carry sampling error the calibration does not share.
TRUTH_SEED = 99


def _cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _truth(bench, cal) -> PointResult:
    b = point_benchmark(bench, {"query.share_in_register": TRUE_SHARE}, methods=cal.methods)
    return simulate_point({"data": b.data, "source": b.source, "seeds": [TRUTH_SEED]})


def test_calibration_recovers_a_planted_truth() -> None:
    bench, cal = load_calibration(str(SMALL))
    truth = _truth(bench, cal)
    count, n = target_count(truth, "first-last-dob", "verified")
    planted = count / n * cal.list_size
    data = copy.deepcopy({**bench.data, "calibration": bench.calibration})
    data["calibration"]["targets"][0]["value"] = planted
    bench = parse_benchmark(data, source=str(SMALL))
    cal = parse_calibration(bench, points=24)
    res = calibrate(bench, cal, workers=1, progress=False)

    pts = res.points
    ok = pts["consistent"].to_numpy()
    assert 0 < ok.sum() < len(ok)  # the target rules points out
    # The true share lies in the consistent region (known to the design's spacing).
    share = pts.loc[ok, "query.share_in_register"]
    u = cal.unknowns[0]
    spacing = (u.high - u.low) / cal.points
    assert share.min() - spacing <= TRUE_SHARE <= share.max() + spacing
    assert share.max() - share.min() < 0.2  # and the region is narrow on it
    # The implied counts' intervals cover the planted truth's counts.
    for out in cal.outputs:
        c, n = target_count(truth, out.method, out.metric, out.path)
        true = c / n * cal.list_size
        row = res.implied.set_index("output").loc[out.name]
        assert row["lo"] <= true <= row["hi"], (out.name, true, row.to_dict())
    # Sensitivity: the share drives true links (TP), the addresses' age does not.
    tp = res.tornado[res.tornado["quantity"] == "tp"].set_index("unknown")
    assert tp.loc["query.share_in_register", "swing"] > 10 * max(
        tp.loc["query.noise.stale_address.rate", "swing"], 1
    )
    s1 = res.indices[res.indices["quantity"] == "tp"].set_index("unknown")["S1"]
    assert s1["query.share_in_register"] > 0.8


def test_consistency_rule_and_intervals() -> None:
    lo, hi = garwood(np.array([0, 10]))
    assert lo[0] == 0 and hi[0] == pytest.approx(3.689, abs=1e-3)  # the classic 95% bound
    assert lo[1] == pytest.approx(4.795, abs=1e-3) and hi[1] == pytest.approx(18.39, abs=1e-2)
    frame = scaled(np.array([10, 10, 0]), np.array([1000, 1000, 1000]), 100_000)
    assert frame["scaled"].tolist() == [1000.0, 1000.0, 0.0]

    # 1000 published exactly: the simulated 1000 reproduces it, 0 does not (its interval's
    # upper half-width is 369 once scaled).
    exact = Target("t", "m", "FP", value=1000.0, precision=0.0)
    assert consistent(frame, exact).tolist() == [True, True, False]
    # 3000 ± 100 is beyond the upper half-width (18.39 - 10 -> 839) combined with 100.
    far = Target("t", "m", "FP", value=3000.0, precision=100.0)
    assert not consistent(frame, far).any()
    near = Target("t", "m", "FP", value=1800.0, precision=100.0)  # gap 800 < sqrt(100²+839²)
    assert consistent(frame, near).tolist() == [True, True, False]


def test_target_count_contract() -> None:
    result = PointResult(
        queries=100,
        metrics={"rule": {"declared": 7, "verified": 6, "FP": 2}},
        paths={"rule": {"1": {"declared": 5}}},
    )
    assert target_count(result, "rule", "declared") == (7, 100)
    assert target_count(result, "rule", "declared", path="1") == (5, 100)
    with pytest.raises(ConfigError, match="unknown metric 'ssn'"):
        target_count(result, "rule", "ssn")
    with pytest.raises(ConfigError, match="unknown path 'B'"):
        target_count(result, "rule", "declared", path="B")
    with pytest.raises(ConfigError, match="unknown metric 'FN'"):
        target_count(result, "rule", "FN", path="1")  # no misses per path


def test_section_is_not_part_of_the_run() -> None:
    """A scenario with [calibration] runs as without it (same configuration, same hash), and
    synthetic never sees the section."""
    data = tomllib.loads(TEXT)
    with_cal = parse_benchmark(copy.deepcopy(data))
    data.pop("calibration")
    without = parse_benchmark(data)
    assert with_cal.config_hash == without.config_hash and "calibration" not in with_cal.data
    assert with_cal.calibration is not None and without.calibration is None


def _edit(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _drop_targets(text: str) -> str:
    start = text.index("[[calibration.targets]]")
    end = text.index("[[calibration.unknowns]]")
    return text[:start] + text[end:]


BAD = {
    "unknown key": (
        _edit('key = "query.share_in_register"', 'key = "query.share_in_registry"'),
        "calibration.unknowns[0].low: 0.05 is not a valid value of query.share_in_registry",
    ),
    "key outside the scenario": (
        _edit('key = "query.share_in_register"', 'key = "methods.threshold"'),
        "calibration.unknowns[0].key: must be a dotted key",
    ),
    "range outside the key's bounds": (
        _edit("high = 0.6", "high = 1.4"),
        "calibration.unknowns[0].high: 1.4 is not a valid value of query.share_in_register",
    ),
    "low above high": (_edit("low = 0.05", "low = 0.7"), "low must be below high"),
    "missing source": (
        _edit('source = "planted: a simulation at query.share_in_register = 0.3"\n', ""),
        "calibration.targets[0].source: missing value",
    ),
    "empty why": (_edit('why = "not public"', 'why = " "'), "calibration.unknowns[0].why"),
    "no targets": (_drop_targets, "calibration.targets: missing"),
    "unknown metric": (
        _edit('metric = "verified"', 'metric = "verifed"'),
        "calibration.targets[0].metric: must be one of",
    ),
    "unknown method": (
        _edit(
            'method = "first-last-dob"\nmetric = "verified"', 'method = "x"\nmetric = "verified"'
        ),
        "calibration.targets[0].method: not a method of the scenario",
    ),
    "unknown path": (_edit('path = "2"', 'path = "3"'), "calibration.outputs[2].path"),
    "both precisions": (
        _edit("rel_precision = 0.03", "rel_precision = 0.03\nprecision = 10"),
        "give one of precision",
    ),
    "unknown calibration key": (
        _edit("points = 24", "points = 24\npoint = 3"),
        "calibration.point: unknown key",
    ),
    "too few points": (_edit("points = 24", "points = 1"), "calibration.points"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_section_one_line_exit_2_nothing_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    edit, expected = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(edit(TEXT), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "calibrate", str(path), "--out", str(out), "--no-progress")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("linkrisk: error: ") and expected in err and str(path) in err, err
    assert list(tmp_path.iterdir()) == [path]


def test_scenario_without_section(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(TEXT[: TEXT.index("[calibration]")], encoding="utf-8")
    code, _, err = _cli(capsys, "calibrate", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "calibration: missing section" in err


TINY_RUN = ("--points", "6", "--no-progress")


def _tiny(tmp_path: Path) -> Path:
    """The small scenario at a third of its size: a few seconds a calibration."""
    path = tmp_path / "tiny.toml"
    path.write_text(
        TEXT.replace("points = 24", "points = 6\nsize_scale = 0.3\ndispersion_runs = 3"),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def tiny_calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny scenario file and its calibration on one worker (read only: copy it to change
    it)."""
    base = tmp_path_factory.mktemp("calibrated")
    path, out = _tiny(base), base / "a"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", *TINY_RUN]) == 0
    return path, out


def test_same_seed_byte_identical_whatever_the_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture, tiny_calibrated: tuple[Path, Path]
) -> None:
    path, a = tiny_calibrated  # the same file: its path is in the report
    b, c = tmp_path / "b", tmp_path / "c"
    assert (
        _cli(capsys, "calibrate", str(path), "--out", str(b), "--workers", "2", *TINY_RUN)[0] == 0
    )
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(
        ["calibration.md", "implied.csv", "indices.csv", "manifest.json", "points.csv",
         "region.png", "tornado.csv", "tornado.png", "dispersion.csv", "summary.md"]
    )  # fmt: skip
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    args = ("calibrate", str(path), "--out", str(c), "--seed", "5", "--workers", "1", *TINY_RUN)
    assert _cli(capsys, *args)[0] == 0
    assert (a / "points.csv").read_bytes() != (c / "points.csv").read_bytes()
    points = pd.read_csv(a / "points.csv")
    assert len(points) == 6 and points["consistent"].dtype == bool
    assert "linkrisk calibrate" in (a / "calibration.md").read_text(encoding="utf-8")


def test_atomic_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tiny_calibrated: tuple[Path, Path],
) -> None:
    path = _tiny(tmp_path)
    # Someone else's directory is refused before any work.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:  # refused while parsing the arguments
        main(["calibrate", str(path), "--out", str(theirs), *TINY_RUN])
    assert exit_.value.code == 2 and "was not written by linkrisk" in capsys.readouterr().err
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]
    # A failure while writing leaves the earlier output whole, and no staging directory.
    out = shutil.copytree(tiny_calibrated[1], tmp_path / "out")  # a calibration's output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import bench.scale.calibration as cal_module

    def broken(res):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cal_module, "tornado_figure", broken)
    args = ("calibrate", str(path), "--out", str(out), "--seed", "3", "--workers", "1", *TINY_RUN)
    code, _, err = _cli(capsys, *args)
    assert code == 1 and "No space left on device" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "theirs", "tiny.toml"]


def test_default_out_dir_names_non_default_options(tmp_path: Path) -> None:
    from bench.scale.calibration import default_out_dir

    bench, _ = load_calibration(str(SMALL))
    assert default_out_dir(bench, None, None) == Path("results/calibration/calibration-small")
    assert default_out_dir(bench, 24, 11) == Path("results/calibration/calibration-small")
    assert default_out_dir(bench, 8, 3) == Path(
        "results/calibration/calibration-small@points=8,seed=3"
    )


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_exits_130_ends_the_workers_and_writes_nothing(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    path = _tiny(tmp_path)
    out = tmp_path / "out"
    linkrisk = Path(sys.executable).with_name("linkrisk")
    cmd = [str(linkrisk), "calibrate", str(path), "--out", str(out), "--workers", "2"]
    # Its own process group, as a shell's foreground job: Ctrl-C reaches every process in it.
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2:  # the worker pool is up
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = _children(proc.pid)
    time.sleep(1.0)  # into the simulations
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "linkrisk: error: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]

    def running(pid: int) -> bool:  # a zombie (state Z) has ended; only its parent can reap it
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10  # the pool's resource tracker leaves once its pipe closes
    while any(running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if running(w)], "workers left running"


def test_paths_partition_a_cascades_links() -> None:
    """Per-path counts (a rule's passes) add up to the method's own counts."""
    bench, _cal = load_calibration(str(SMALL))
    b = point_benchmark(bench, {}, size_scale=0.3, methods=["cascade", "first-last-dob"])
    cascade = next(m for m in b.methods if m.name == "cascade")
    assert cascade.path_names() == ["1", "2"]
    res = simulate_point({"data": b.data, "source": b.source, "seeds": [5]})
    for metric in ("declared", "verified", "TP", "FP", "wrong_people", "unverified_address"):
        parts = [target_count(res, "cascade", metric, p)[0] for p in ("1", "2")]
        assert sum(parts) == target_count(res, "cascade", metric)[0], metric
    assert all(target_count(res, "cascade", "declared", p)[0] > 0 for p in ("1", "2"))
    # The first pass is first-last-dob itself.
    assert target_count(res, "cascade", "declared", "1") == target_count(
        res, "first-last-dob", "declared"
    )


def test_implausibility_agrees_with_consistency() -> None:
    """A count is consistent exactly when it lies within z = 1.96 standard deviations."""
    from bench.scale.calibration import Target, implausibility

    t = Target("x", "m", "verified", value=100.0, precision=10.0)
    frame = pd.DataFrame(
        {"scaled": [100.0, 80.0, 130.0, 0.0], "lo": [90.0, 60.0, 110.0, 0.0],
         "hi": [110.0, 95.0, 150.0, 5.0]}
    )  # fmt: skip
    imp = implausibility(frame, t)
    assert imp[0] == 0
    assert np.array_equal(imp <= 1.959963984540054, consistent(frame, t))
    assert imp[3] > 3  # far away: ruled out by the first wave


def test_second_wave_box_holds_the_plausible_points() -> None:
    from bench.scale.calibration import refine

    unit = np.array([[0.1, 0.9], [0.4, 0.5], [0.6, 0.2], [0.9, 0.1]])
    low, high = refine(unit, np.array([False, True, True, False]))
    # the plausible points' box widened by one spacing (1/4), within the unit cube
    assert np.allclose(low, [0.15, 0.0]) and np.allclose(high, [0.85, 0.75])
    low, high = refine(unit, np.zeros(4, bool))  # nothing plausible: the whole box again
    assert (low == 0).all() and (high == 1).all()
