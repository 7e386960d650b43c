"""Published bytes do not depend on the CPU: fixed precision, CPU-independent arithmetic, and
the default preset reproduced byte for byte with numpy's optional CPU features disabled."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.linkage import em
from bench.measurement import subgroups, uncertainty
from bench.runs.writers import write_json, write_parquet
from synthetic import precision
from synthetic.precision import SIGNIFICANT_DIGITS, round_array, round_float, round_frame
from synthetic.safe_csv import write_csv
from tests.reproduce import RESULTS, ROOT, differences, runtime


def _ulp_off(values: np.ndarray) -> np.ndarray:
    """``values`` one unit in the last place up: what another CPU's kernel may return."""
    return np.nextafter(values, np.inf)


# --- the fixed precision ---------------------------------------------------------------------


def test_round_float_keeps_twelve_significant_digits() -> None:
    assert SIGNIFICANT_DIGITS == 12
    assert round_float(0.05866905225689655) == 0.0586690522569
    assert round_float(0.05866905225689656) == 0.0586690522569
    assert round_float(1224.7815425301724) == 1224.78154253
    assert round_float(4.6797102323424135e-09) == 4.67971023234e-09
    assert repr(round_float(2 / 3)) == "0.666666666667"


def test_round_float_keeps_exact_values() -> None:
    # NaN, infinities, integers and float32 values (stored scores, thresholds) stay exactly
    assert math.isnan(round_float(math.nan))
    assert round_float(-math.inf) == -math.inf
    assert round_float(2107.0) == 2107.0 and round_float(0.5) == 0.5
    threshold = float(np.float32(0.3030303))
    assert round_float(threshold) == threshold
    assert repr(round_float(-0.0)) == "-0.0"


def test_round_float_is_idempotent() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 6, 2000)
    once = round_array(values)
    assert np.array_equal(round_array(once), once)
    assert np.allclose(once, values, rtol=10.0 ** (1 - SIGNIFICANT_DIGITS), atol=0)


def test_round_frame_rounds_float_columns_and_float_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "rate": [1 / 3, np.nan],
            "score": np.array([1 / 3, 0.7], dtype=np.float32),
            "mixed": pd.Series(["a", 2 / 3], dtype=object),
        }
    )
    out = round_frame(frame)
    assert out["rate"].iloc[0] == 0.333333333333 and math.isnan(out["rate"].iloc[1])
    assert out["score"].dtype == np.float32 and out["score"].equals(frame["score"])
    assert out["mixed"].tolist() == ["a", 0.666666666667]
    assert out["n"].dtype == np.int64
    assert frame["rate"].iloc[0] == 1 / 3  # the input is not modified
    assert round_frame(out) is out  # already at the published precision: no copy


@pytest.mark.parametrize("value", [0.05866905225689655, 1.087731644373059, 1224.7815425301724])
def test_writers_hide_a_last_ulp_difference(tmp_path, value: float) -> None:
    # the class of the reported failure: two CPUs' kernels differ in the last bit
    a, b = np.array([value]), _ulp_off(np.array([value]))
    assert a[0] != b[0]
    for tag, v in (("a", a), ("b", b)):
        write_csv(pd.DataFrame({"x": v}), tmp_path / f"{tag}.csv")
        write_json({"x": v[0], "xs": [v[0]]}, tmp_path / f"{tag}.json")
        write_parquet(pd.DataFrame({"x": v}), tmp_path / f"{tag}.parquet")
    for ext in ("csv", "json", "parquet"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes(), ext
    assert json.loads((tmp_path / "a.json").read_text())["x"] == round_float(value)


# --- CPU-independent arithmetic --------------------------------------------------------------


def test_exp_and_log_are_correctly_rounded() -> None:
    for x in (-700.0, -3.2, -1e-300, 0.0, 1e-12, 0.5, 1.0, 2.0, 88.7, 709.0):
        assert abs(precision.exp(x) - math.exp(x)) <= math.ulp(math.exp(x))
    assert precision.exp(1.0) == 2.718281828459045
    assert precision.log(10.0) == 2.302585092994046
    assert precision.exp(1000.0) == math.inf and precision.exp(-math.inf) == 0.0
    assert math.isnan(precision.exp(math.nan)) and precision.log(0.0) == -math.inf
    assert math.isnan(precision.log(-1.0))
    for x in (1e-300, 1e-6, 0.3, 3.7, 1234.5, 1e300):
        assert abs(precision.log2(x) - math.log2(x)) <= math.ulp(math.log2(x))
    assert precision.log2(8.0) == 3.0 and precision.log2(0.5) == -1.0
    assert precision.log2(0.0) == -math.inf and math.isnan(precision.log2(-1.0))


def test_exp2_exp10_log1p_and_their_arrays_are_correctly_rounded() -> None:
    for x in (-1000.0, -20.5, -1.0, -1e-9, 0.0, 0.3, 1.0, 10.25, 1023.0):
        assert abs(precision.exp2(x) - 2.0**x) <= math.ulp(2.0**x)
    assert precision.exp2(3.0) == 8.0 and precision.exp2(-1.0) == 0.5
    assert precision.exp2(2000.0) == math.inf and math.isnan(precision.exp2(math.nan))
    for x in (-0.999, -0.05, -1e-9, -1e-300, 0.0, 1e-12, 0.5, 1e300):
        assert abs(precision.log1p(x) - math.log1p(x)) <= math.ulp(math.log1p(x))
    assert precision.log1p(-1.0) == -math.inf and math.isnan(precision.log1p(-2.0))
    assert precision.exp10(-2.0) == 0.01 and precision.exp10(3.0) == 1000.0
    # the EM's starting m: np.geomspace(0.01, 1, 4) correctly rounded (numpy's may differ)
    assert precision.exp10_array(np.linspace(-2.0, 0.0, 4)).tolist() == [
        0.01, 0.046415888336127774, 0.21544346900318834, 1.0,
    ]  # fmt: skip
    values = np.array([[0.25, 2.0], [8.0, 1e-9]])
    for array, scalar in (
        (precision.exp10_array, precision.exp10),
        (precision.exp_array, precision.exp),
        (precision.exp2_array, precision.exp2),
        (precision.log_array, precision.log),
        (precision.log2_array, precision.log2),
    ):
        out = array(values)
        assert out.shape == values.shape and out.dtype == np.float64
        assert out.ravel().tolist() == [scalar(v) for v in values.ravel().tolist()]


def _perturbed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make numpy's ``name`` return results one ULP off, as another CPU's SIMD kernel may."""
    real = getattr(np, name)
    monkeypatch.setattr(np, name, lambda *a, **k: _ulp_off(np.asarray(real(*a, **k))))


@pytest.mark.parametrize("kernel", ["exp", "log", "exp2", "log2", "power"])
def test_subgroup_rate_ratio_does_not_use_cpu_specific_kernels(
    monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    k1, n1 = np.array([167, 6, 0, 3, 40]), np.array([1392, 102, 50, 9, 4000])
    k0, n0 = np.array([385, 28, 7, 3, 0]), np.array([552, 42, 60, 9, 3000])
    before = subgroups.rate_ratio(k1, n1, k0, n0)
    _perturbed(kernel, monkeypatch)
    after = subgroups.rate_ratio(k1, n1, k0, n0)
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y, equal_nan=True)


@pytest.mark.parametrize("kernel", ["exp", "log", "exp2", "log2", "power"])
def test_intervals_do_not_use_cpu_specific_kernels(
    monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    k, n = np.array([0, 1, 55, 501658, 20000]), np.array([10, 50000, 6376, 517435, 20000])
    before = (*uncertainty.wilson(k, n), uncertainty.poisson_upper(k))
    _perturbed(kernel, monkeypatch)
    after = (*uncertainty.wilson(k, n), uncertainty.poisson_upper(k))
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y, equal_nan=True)


@pytest.mark.parametrize("kernel", ["exp", "log", "exp2", "log2", "log1p", "power"])
def test_fellegi_sunter_em_does_not_use_cpu_specific_kernels(
    monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    rng = np.random.default_rng(5)
    truth = rng.random(4000) < 0.1  # matches agree more often, on every field
    levels = np.stack(
        [np.where(truth, rng.integers(2, 4, 4000), rng.integers(-1, 3, 4000)) for _ in range(3)]
        + [np.where(truth, 1, rng.integers(0, 2, 4000))],
        axis=1,
    ).astype(np.int8)

    def fitted() -> tuple[np.ndarray, ...]:
        pat = em.patterns(levels)
        model = em.fit_em(pat, [4, 4, 4, 2])
        prob = model.match_probability(pat.levels)
        return (np.array([model.lam]), *model.m, *model.u, prob)

    before = fitted()
    _perturbed(kernel, monkeypatch)
    after = fitted()
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y)


# --- the default preset on generic CPU kernels -----------------------------------------------

#: The fully generic OpenBLAS kernels (no AVX at all), unlike the native ones of any machine
#: that runs the tests (the logistic method's fit is CPU-independent:
#: bench/linkage/methods/logistic.py).
GENERIC_BLAS = "Prescott"


def test_default_preset_reproduces_published_files_with_cpu_features_disabled(
    tmp_path: Path,
) -> None:
    """The default preset, rerun with every optional CPU feature numpy found disabled and
    OpenBLAS on generic kernels, equals results/irs-ice byte for byte (every file; the
    regenerated replicates as tests/reproduce.py). The suite's one byte-for-byte rerun of a
    preset: results/ were written with the features on, so it checks the code and the CPU
    independence at once."""
    found = runtime()["numpy_features"]
    env = {**os.environ, "OPENBLAS_CORETYPE": GENERIC_BLAS}
    if found:  # with those this process already runs without (a suite run with some off)
        off = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(dict.fromkeys([*off, *found]))
    out = tmp_path / "irs-ice"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reproduce", "irs-ice", str(out), "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    used = json.loads(proc.stdout.strip().splitlines()[-1])
    assert used["numpy_features"] == [], used  # the features really were off
    # OpenBLAS on other kernels than in this process (unless these are already generic)
    native = runtime()["openblas"]
    # (a suite itself run on the generic kernels, e.g. to check a whole run with the features
    # off, has nothing else to compare: OpenBLAS names Prescott's kernels "Katmai")
    generic = os.environ.get("OPENBLAS_CORETYPE") == GENERIC_BLAS
    assert (
        used["openblas"] != native or not native or generic or native[0] in ("Haswell", "Prescott")
    )
    diff = differences(out, RESULTS / "irs-ice")
    assert diff == [], f"differs from published results: {diff}"
