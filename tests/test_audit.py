"""``linkrisk audit``: the plan's sizes and draw, the estimates and their coverage on known truth,
the model-based estimate, and bad review forms (one line, exit 2, nothing written)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.audit.design import allocate, expected_margin
from bench.audit.estimate import Tally, estimate, stratified_share
from bench.audit.modelbased import model_estimate
from bench.audit.simulate import Population, simulate
from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PLAN_ARGS = [
    "audit", "plan", "--links", str(EXAMPLES / "audit" / "links.csv"), "--strata", "path",
    "--query", str(EXAMPLES / "evaluate" / "query.csv"),
    "--register", str(EXAMPLES / "evaluate" / "register.csv"),
    "--map", str(EXAMPLES / "evaluate" / "map.toml"), "--margin", "15%", "--seed", "7",
]  # fmt: skip
FILLED = EXAMPLES / "audit" / "review_form_filled.csv"


# --- design ----------------------------------------------------------------------------------


def test_proportional_without_priors_meets_the_margin() -> None:
    plan = allocate({"a": 9000, "b": 1000}, 0.03, 0.95)
    sizes = {s.label: s.sample for s in plan}
    assert sizes["a"] / sizes["b"] == pytest.approx(9, rel=0.02)
    assert expected_margin(plan, 0.95) <= 0.03
    # about 1,000 at p = 1/2 (1.96^2 / 4 / 0.03^2 = 1,067, less the finite-population correction)
    assert 900 < sum(sizes.values()) < 1100


def test_neyman_with_priors_puts_reviews_where_the_variance_is() -> None:
    plan = allocate({"a": 5000, "b": 5000}, 0.02, 0.95, {"a": 0.3, "b": 0.01})
    sizes = {s.label: s.sample for s in plan}
    assert sizes["a"] > 3 * sizes["b"]
    assert expected_margin(plan, 0.95) <= 0.02
    # a small stratum is taken whole when the margin needs it; never more than it holds
    small = allocate({"a": 3, "b": 10_000}, 0.01, 0.95)
    assert small[0].label == "a" and small[0].sample <= 3


def test_a_tiny_population_is_reviewed_whole_and_known_exactly() -> None:
    plan = allocate({"all": 5}, 0.01, 0.95)
    assert plan[0].sample == 5
    share = stratified_share([5], [5], [2], 0.95)
    assert (share.share, share.low, share.high) == (0.4, 0.4, 0.4)


# --- estimates -------------------------------------------------------------------------------


def test_cannot_tell_bounds_hold_the_estimate_under_missing_at_random() -> None:
    tallies = [Tally("a", 1000, 100, 10, 5), Tally("b", 500, 50, 1, 0)]
    total = estimate(tallies, 0.95)[-1]
    assert total.label == "all" and total.size == 1500
    assert total.mar.share == pytest.approx((1000 * 10 / 95 + 500 * 1 / 50) / 1500)
    low, high = total.bounds
    assert low <= total.cannot_tell_right.share <= total.mar.share
    assert total.mar.share <= total.cannot_tell_wrong.share <= high
    # no wrong link seen: the interval still reaches above 0 (Wilson, not Wald)
    none = stratified_share([1000], [100], [0], 0.95)
    assert none.low == 0 and 0.01 < none.high < 0.05


def test_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    # The fast version of `linkrisk audit simulate` (the benchmark runs >= 1,000 audits):
    # 300 audits of 3,000 links in two strata; the coverage is itself estimated, so the bound
    # is tolerant (0.90 - 0.99).
    rng = np.random.default_rng(5)
    stratum = np.array(["A"] * 2400 + ["B"] * 600)
    wrong = np.concatenate([rng.random(2400) < 0.12, rng.random(600) < 0.03])
    pop = Population(stratum, wrong)
    cov, frame = simulate(pop, audits=300, margin=0.03, seed=1)
    assert len(frame) == 300
    assert 0.90 <= cov.rate <= 0.99, cov
    cov_ct, _ = simulate(pop, audits=100, margin=0.04, cannot_tell=0.1, seed=1)
    assert cov_ct.rate >= 0.85  # missing at random holds here: unsure links drawn at random
    assert cov_ct.covered_bounds >= 95  # the bounds hold whatever the unsure links are


def test_model_based_estimate_is_the_posterior_mass() -> None:
    pairs = pd.DataFrame({"score": [0.99, 0.9, 0.6, 0.2], "link": [True, True, True, False]})
    est = model_estimate(pairs)
    assert est["declared"] == 3
    assert est["model_false"] == pytest.approx(0.01 + 0.1 + 0.4)
    assert est["model_FNMR"] == pytest.approx(0.2 / 2.69)


# --- the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit") / "plan"
    assert main([*PLAN_ARGS, "--out", str(out)]) == 0
    return out


def test_plan_writes_plan_form_and_readme_reproducibly(plan_dir: Path, tmp_path: Path) -> None:
    form = (plan_dir / "review_form.csv").read_text(encoding="utf-8")
    assert "HOLDS RECORD VALUES BY DESIGN" in form.splitlines()[1]
    assert "record values, by design" in (plan_dir / "README.md").read_text(encoding="utf-8")
    again = tmp_path / "again"
    assert main([*PLAN_ARGS, "--out", str(again)]) == 0
    for name in ("plan.json", "review_form.csv"):
        assert (again / name).read_bytes() == (plan_dir / name).read_bytes()
    # the example filled form is the review of this very plan
    assert [r.split(",")[0] for r in form.splitlines()[3:]] == [
        r.split(",")[0] for r in FILLED.read_text(encoding="utf-8").splitlines()[3:]
    ]


def test_estimate_on_the_example_form(
    plan_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    capsys.readouterr()
    out = tmp_path / "estimate.json"
    assert main(["audit", "estimate", str(plan_dir), "--form", str(FILLED), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| all " in text and "missing at random" in text
    import json

    doc = json.loads(out.read_text(encoding="utf-8"))
    total = doc["estimates"][-1]
    assert total["stratum"] == "all" and total["declared"] == 29 and total["reviewed"] == 19
    assert total["different"] == 8 and total["cannot_tell"] == 1
    assert total["wrong_low"] <= total["wrong"] <= total["wrong_high"]
    assert total["bounds_share_low"] <= total["share_low"]


def _form_lines() -> list[str]:
    return FILLED.read_text(encoding="utf-8").splitlines(keepends=True)


def _bad_form(kind: str) -> str:
    lines = _form_lines()
    head, header, rows = lines[:3], lines[3], lines[4:]
    if kind == "unknown id":
        rows[0] = rows[0].replace(",C-", ",X-", 1)
    elif kind == "duplicate row":
        rows.append(rows[2])
    elif kind == "unknown verdict":
        cells = rows[1].split(",")
        cells[1] = "maybe"
        rows[1] = ",".join(cells)
    elif kind == "empty verdict":
        cells = rows[1].split(",")
        cells[1] = ""
        rows[1] = ",".join(cells)
    elif kind == "other seed (notice)":
        head[0] = head[0].replace("plan seed 7", "plan seed 8")
    elif kind == "other seed (ids)":
        head = []
        rows = [row.replace("S7-", "S8-", 1) for row in rows]
    elif kind == "missing row":
        rows = rows[:-1]
    return "".join([*head, header, *rows])


@pytest.mark.parametrize(
    ("kind", "field", "words"),
    [
        ("unknown id", "query_id", "unknown id"),
        ("duplicate row", "sample_id", "duplicate row"),
        ("unknown verdict", "verdict", "'maybe' is not one of same, different, cannot_tell"),
        ("empty verdict", "verdict", "empty (not reviewed)"),
        ("other seed (notice)", "seed", "drawn with seed 8, the plan with seed 7"),
        ("other seed (ids)", "sample_id", "drawn with seed 8, not the plan's seed 7"),
        ("missing row", "sample_id", "is not on the form"),
    ],
)
def test_bad_form_one_line_exit_2_nothing_written(
    kind: str,
    field: str,
    words: str,
    plan_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    form = tmp_path / "form.csv"
    form.write_text(_bad_form(kind), encoding="utf-8")
    out = tmp_path / "estimate.json"
    capsys.readouterr()
    status = main(["audit", "estimate", str(plan_dir), "--form", str(form), "--out", str(out)])
    _assert_form_refused(status, capsys, f"{form}: {field}", words)


def _assert_form_refused(
    status: int, capsys: pytest.CaptureFixture, where: str, words: str
) -> None:
    """One line naming the form and its column, exit 2, and nothing beside the form."""
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"linkrisk: error: {where}: "), lines[0]
    assert words in lines[0]
    form = Path(where.split(": ")[0])
    assert sorted(p.name for p in form.parent.iterdir()) == [form.name]


def test_an_edited_plan_is_refused(plan_dir: Path, tmp_path: Path, capsys) -> None:
    edited = tmp_path / "plan"
    shutil.copytree(plan_dir, edited)
    path = edited / "plan.json"
    path.write_text(path.read_text().replace('"seed": 7', '"seed": 8'), encoding="utf-8")
    capsys.readouterr()
    assert main(["audit", "estimate", str(edited), "--form", str(FILLED)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: sample: " in err and "is not the sample seed 8 draws" in err


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (["--links", "LINKS_DUP"], "links.csv: query_id: row"),
        (["--links", "LINKS_UNKNOWN"], "links.csv: register_id: row 1: 'R-9999' is not a"),
        (["--prior", "A: name + address=0.1"], "--prior: no prior for stratum"),
    ],
)
def test_bad_plan_input_one_line_exit_2_nothing_written(
    extra: list[str], where: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = (EXAMPLES / "audit" / "links.csv").read_text(encoding="utf-8").splitlines(True)
    links = tmp_path / "links.csv"
    if extra[1] == "LINKS_DUP":
        links.write_text("".join([*rows, rows[1]]), encoding="utf-8")
    elif extra[1] == "LINKS_UNKNOWN":
        links.write_text(rows[0] + rows[1].replace("R-1001", "R-9999") + "".join(rows[2:]))
    args = [a if a not in ("LINKS_DUP", "LINKS_UNKNOWN") else str(links) for a in extra]
    out = tmp_path / "plan"
    capsys.readouterr()
    status = main([*PLAN_ARGS, *args, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and where in err[0], err
    assert not out.exists()


def test_wilson_interval_is_nan_free() -> None:
    share = stratified_share([10, 10], [2, 2], [0, 2], 0.95)
    assert not any(math.isnan(x) for x in (share.share, share.low, share.high))


def test_readme_shows_the_example_workflow_as_it_runs(
    plan_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Audit an agency's output") :]
    capsys.readouterr()
    assert main(["audit", "estimate", str(plan_dir), "--form", str(FILLED)]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 6
    for line in table:
        assert line in section, line


def test_model_estimate_from_scored_pairs_without_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("match_probability,link\n0.99,true\n0.9,true\n0.6,true\n0.2,false\n")
    capsys.readouterr()
    assert main(["audit", "model", "--scores", str(scores)]) == 0
    out = capsys.readouterr().out
    assert "0.5 (17.00%)" in out  # (0.01 + 0.1 + 0.4) / 3
    assert main(["audit", "model", "--scores", str(scores), "--threshold", "0.95"]) == 0
    assert "0.0 (1.00%)" in capsys.readouterr().out  # one declared link, posterior 0.99
    scores.write_text("match_probability,link\n0.99,true\n1.5,true\n")
    assert main(["audit", "model", "--scores", str(scores)]) == 2
    err = capsys.readouterr().err
    assert f"{scores}: match_probability: row 2: '1.5' is not a probability" in err
    scores.write_text("match_probability,link\n0.99,true\n0.5,Maybe\n")
    assert main(["audit", "model", "--scores", str(scores)]) == 2
    err = capsys.readouterr().err  # the value as written, not numpy's repr of it
    assert f"{scores}: link: row 2: 'maybe' is not true/false" in err


FS_ONLY = '\n[[methods]]\nname = "fs"\nkind = "fellegi-sunter"\nthreshold = 0.9\n'


def test_calibrate_model_writes_chart_table_and_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from tests.conftest import TINY

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY + FS_ONLY, encoding="utf-8")
    out = tmp_path / "cal"
    args = ["audit", "calibrate-model", str(scenario), "--seeds", "2", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "model_calibration.md", "model_calibration.png", "model_points.csv",
    ]  # fmt: skip
    points = pd.read_csv(out / "model_points.csv")
    assert list(points["seed"]) == [11, 12] and set(points["method"]) == {"fs"}
    assert (points["model_FDR"] >= 0).all() and (points["true_FDR"] >= 0).all()
    md = (out / "model_calibration.md").read_text(encoding="utf-8")
    assert "**Verdict.** fs's own (label-free) estimate" in md
    assert "the FDR" in capsys.readouterr().out
    # a rule-only scenario has nothing to calibrate: one line, exit 2
    scenario.write_text(TINY + '\n[[methods]]\nname = "r"\nkind = "rule"\n'
                        'passes = [[{ field = "name" }]]\n', encoding="utf-8")  # fmt: skip
    assert main([*args, "--no-progress"]) == 2
    assert "no method scores pairs with posterior probabilities" in capsys.readouterr().err


# --- unlinked queries: the missed matches ----------------------------------------------------

UNLINKED = EXAMPLES / "audit" / "unlinked.csv"
UNLINKED_FILLED = EXAMPLES / "audit" / "review_form_unlinked_filled.csv"


@pytest.fixture(scope="module")
def unlinked_plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit-unlinked") / "plan"
    assert main([*PLAN_ARGS, "--unlinked", str(UNLINKED), "--out", str(out)]) == 0
    return out


def test_plan_with_unlinked_queries_adds_a_second_form(
    plan_dir: Path, unlinked_plan_dir: Path
) -> None:
    import json

    # the unlinked sample draws from its own streams: the links' sample and form do not change
    assert (unlinked_plan_dir / "review_form.csv").read_bytes() == (
        plan_dir / "review_form.csv"
    ).read_bytes()
    doc = json.loads((unlinked_plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert "unlinked" not in json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert doc["unlinked"]["rows"] == 4 and doc["unlinked"]["sample_size"] == 4
    form = (unlinked_plan_dir / "review_form_unlinked.csv").read_text(encoding="utf-8")
    lines = form.splitlines()
    assert "HOLDS RECORD VALUES BY DESIGN" in lines[1] and "in_register" in lines[2]
    assert lines[3].startswith("sample_id,verdict,note,query_id,query_first_name")
    assert "register_" not in lines[3]
    # the example filled form is the review of this very plan
    assert [r.split(",")[0] for r in lines[4:]] == [
        r.split(",")[0] for r in UNLINKED_FILLED.read_text(encoding="utf-8").splitlines()[4:]
    ]
    assert "review_form_unlinked.csv" in (unlinked_plan_dir / "README.md").read_text("utf-8")


def test_estimate_of_the_missed_matches_on_the_example(
    unlinked_plan_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import json

    out = tmp_path / "estimate.json"
    args = ["audit", "estimate", str(unlinked_plan_dir), "--form", str(FILLED)]
    capsys.readouterr()
    assert main([*args, "--unlinked-form", str(UNLINKED_FILLED), "--out", str(out)]) == 0
    assert "Missed matches" in capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["estimates"][-1]["wrong"] == pytest.approx(29 * 0.4823, abs=0.05)
    (total,) = doc["missed"]  # one stratum: the total only
    assert total["unlinked"] == 4 and total["reviewed"] == 4 and total["in_register"] == 0
    assert total["missed"] == total["missed_low"] == total["missed_high"] == 0  # a census
    # without the unlinked form: the links only, and a note
    assert main(args) == 0
    assert "--unlinked-form" in capsys.readouterr().out


def _bad_unlinked_form(kind: str) -> str:
    lines = UNLINKED_FILLED.read_text(encoding="utf-8").splitlines(keepends=True)
    head, header, rows = lines[:3], lines[3], lines[4:]
    if kind == "unknown id":
        rows[0] = rows[0].replace(",C-2", ",X-2", 1)
    elif kind == "duplicate row":
        rows.append(rows[1])
    elif kind == "unknown verdict":
        rows[1] = rows[1].replace("not_in_register", "same", 1)
    elif kind == "other seed":
        head[0] = head[0].replace("plan seed 7", "plan seed 8")
    elif kind == "a links form":
        return FILLED.read_text(encoding="utf-8")
    return "".join([*head, header, *rows])


@pytest.mark.parametrize(
    ("kind", "field", "words"),
    [
        ("unknown id", "query_id", "unknown id"),
        ("duplicate row", "sample_id", "duplicate row"),
        ("unknown verdict", "verdict", "'same' is not one of in_register, not_in_register"),
        ("other seed", "seed", "drawn with seed 8, the plan with seed 7"),
        ("a links form", "sample_id", "is not a sampled unlinked query of the plan"),
    ],
)
def test_bad_unlinked_form_one_line_exit_2_nothing_written(
    kind: str,
    field: str,
    words: str,
    unlinked_plan_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    form = tmp_path / "form.csv"
    form.write_text(_bad_unlinked_form(kind), encoding="utf-8")
    out = tmp_path / "estimate.json"
    capsys.readouterr()
    status = main(["audit", "estimate", str(unlinked_plan_dir), "--form", str(FILLED),
                   "--unlinked-form", str(form), "--out", str(out)])  # fmt: skip
    _assert_form_refused(status, capsys, f"{form}: {field}", words)


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        (
            "query_id\nC-25\nC-26\nC-25\n",
            "unlinked.csv: query_id: row 3 repeats the query of row 1",
        ),
        ("query_id\nC-25\nC-01\n", "unlinked.csv: query_id: row 2: 'C-01' is the query of a"),
        ("query_id\nC-25\nC-99\n", "unlinked.csv: query_id: row 2: 'C-99' is not a record_id"),
        ("id\nC-25\n", "unlinked.csv: query_id"),
    ],
)
def test_bad_unlinked_file_one_line_exit_2_nothing_written(
    rows: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    unlinked = tmp_path / "unlinked.csv"
    unlinked.write_text(rows, encoding="utf-8")
    out = tmp_path / "plan"
    capsys.readouterr()
    status = main([*PLAN_ARGS, "--unlinked", str(unlinked), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and where in err[0], err
    assert not out.exists()


def test_unlinked_form_without_an_unlinked_plan_is_refused(
    plan_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    capsys.readouterr()
    args = ["audit", "estimate", str(plan_dir), "--form", str(FILLED)]
    assert main([*args, "--unlinked-form", str(UNLINKED_FILLED)]) == 2
    err = capsys.readouterr().err
    assert f"{plan_dir / 'plan.json'}: unlinked: the plan sampled no unlinked queries" in err


def test_an_edited_unlinked_sample_is_refused(
    unlinked_plan_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    edited = tmp_path / "plan"
    shutil.copytree(unlinked_plan_dir, edited)
    path = edited / "plan.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"query_id": "C-26"', '"query_id": "C-29"'), encoding="utf-8")
    capsys.readouterr()
    args = ["audit", "estimate", str(edited), "--form", str(FILLED)]
    assert main([*args, "--unlinked-form", str(UNLINKED_FILLED)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: unlinked.sample_sha256: does not match the sample" in err, err


RULE_NAME_ADDRESS = (
    '\n[[methods]]\nname = "exact"\nkind = "rule"\n'
    'passes = [[{ field = "name" }, { field = "address" }]]\n'
)


def test_missed_match_intervals_cover_the_truth_of_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Known truth: a tiny run whose exact name-and-address rule misses the queried people who
    # moved; 200 simulated audits of its unlinked queries, "reviewed" with the run's truth.
    import json

    from bench.audit.design import UNLINKED_STREAM
    from bench.audit.simulate import run_unlinked
    from bench.runs.rundir import RunDir
    from tests.conftest import TINY

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY + RULE_NAME_ADDRESS, encoding="utf-8")
    run = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(run), "--no-progress", "--no-html"]) == 0
    pop = run_unlinked(RunDir(run), "exact")
    missed = int(pop.wrong.sum())
    assert 10 < missed < len(pop.wrong) / 2, (missed, len(pop.wrong))
    cov, _ = simulate(pop, audits=200, margin=0.08, seed=1, sample_stream=UNLINKED_STREAM)
    assert cov.true_wrong == missed
    assert 0.88 <= cov.rate <= 0.99, cov
    capsys.readouterr()
    args = ["audit", "simulate", str(run), "--method", "exact", "--unlinked"]
    assert main([*args, "--audits", "20", "--margin", "0.08", "--seed", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["audited"] == "unlinked queries" and out["true_missed"] == missed


def test_model_sums_are_exact_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's sums over every pair are math.fsum's (exact, any CPU), taken a chunk of
    Python floats at a time: the same bytes as one list of them all."""

    import bench.audit.modelbased as M

    rng = np.random.default_rng(7)
    values = np.concatenate([rng.random(5000), [1e16, 1.0, -1e16], rng.random(3) * 1e-9])
    assert sum(values.tolist()) != math.fsum(values.tolist())  # naive summation differs here
    monkeypatch.setattr(M, "FSUM_CHUNK", 7)
    assert M._fsum(values) == math.fsum(values.tolist())
    assert M._fsum(values[:0]) == 0.0
    assert M._fsum([values[:100], values[100:]]) == math.fsum(values.tolist())  # in parts


def test_model_estimates_of_a_run_read_in_parts_are_those_of_its_whole_pairs(
    tiny_run_shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """model_estimates reads a run's declared links alone and sums every pair's score a part
    of the pairs file at a time: the same numbers as model_estimate of the whole pairs."""
    import bench.runs.rundir as R
    from bench.audit.modelbased import model_estimates, posterior_methods
    from bench.runs.rundir import RunDir

    run = RunDir(tiny_run_shared)
    assert posterior_methods(run)
    whole = {
        name: model_estimate(run.pairs(name, 0, ["score", "link"]))
        for name in posterior_methods(run)
    }
    for rows in (None, 5):
        if rows is not None:
            monkeypatch.setattr(R, "CHECK_ROWS", rows)
        got = model_estimates(RunDir(tiny_run_shared), replicates=False).set_index("method")
        for name, est in whole.items():
            assert got.loc[name, list(est)].to_dict() == est, (rows, name)
