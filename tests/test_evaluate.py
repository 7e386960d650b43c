"""`linkrisk evaluate`: methods, metrics and report on a user's own file pair.

The small pair below is built so that every count can be derived by hand (see PAIR); the
example pair shipped in examples/evaluate/ has its rule counts derived by hand in its README.
"""

from __future__ import annotations

import dataclasses
import filecmp
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.evaluate import evaluate, load_config
from bench.inputs.userfiles import map_from_flags, parse_dates, read_map
from synthetic.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "evaluate"

QUERY = """\
QID,FNAME,LNAME,BDATE,ZIPC,PID
q1,Anna,Zoltek,01/02/1980,10001,P1
q2,Boris,Yamada,03/04/1975,10002,P2
q3,Carla,Ximenes,05/06/1990,10003,P3
q4,David,Wexler,07/08/1985,10004,P4
q5,Emma,Voss,09/10/1970,10005,P5
q6,Frank,Umber,11/12/1965,10006,
q7,Greta,Tully,02/03/1988,10007,P7
q8,Henry,Solberg,04/05/1960,10008,P8
"""
# Row 7 (r9, Henry Solberg Jr) comes before his father r8: the fuzzy method's tie goes to it.
REGISTER = """\
RID,FIRST,LAST,DOB,ZIP,PERSON
r1,Anna,Zoltek,01/02/1980,10001,P1
r2,Borys,Yamada,03/04/1975,10002,P2
r3,Carla,Ximenes,05/06/1990,20003,P3
r4,David,Wexler,07/08/1985,10004,P9
r5,Emma,Voss,09/10/1970,10005,P5
r6,Ella,Voss,09/10/1970,10005,P10
r7,Greta,Tully-Ross,02/03/1988,10007,P7
r9,Henry,Solberg,06/07/1990,10008,P11
r8,Henry,Solberg,04/05/1960,10008,P8
r10,Iris,Quell,08/09/1999,10009,P12
"""
MAP = """\
[columns]
record_id = { query = "QID", register = "RID" }
first_name = { query = "FNAME", register = "FIRST" }
last_name = { query = "LNAME", register = "LAST" }
dob = { query = "BDATE", register = "DOB" }
zip = { query = "ZIPC", register = "ZIP" }

[truth]
column = { query = "PID", register = "PERSON" }

[dates]
format = "%m/%d/%Y"
"""
CONFIG = """\
[blocking]
passes = [[{ field = "zip" }]]

[[methods]]
name = "name-dob"
kind = "rule"
resolve = "all"
passes = [[{ field = "first_name" }, { field = "last_name" }, { field = "dob" }]]

[[methods]]
name = "names-fuzzy"
kind = "fuzzy"
threshold = 0.5
weights = { first_name = 1.0, last_name = 1.0 }
fields = { first_name = "exact", last_name = "exact" }
"""
PAIRS = "query_id,register_id\nq1,r1\nq2,r2\nq3,r3\nq5,r5\nq7,r7\nq8,r8\n"

# The answer, by hand. True links (equal PID): q1-r1, q2-r2, q3-r3, q5-r5, q7-r7, q8-r8 (6);
# q4's P4 and q6 (no id) are not in the register.
#
# name-dob (exact first, last and date of birth, on all pairs): q1-r1, q3-r3 (the ZIP is not
# compared), q5-r5 (r6 is the twin Ella), q8-r8 (r9 has another date) are right; q4-r4 is a
# stranger with the same name and date (FP); q2 (Boris/Borys) and q7 (Tully/Tully-Ross) are
# missed. Rules see every pair: no blocking loss.
#
# names-fuzzy (blocked on ZIP; score = share of equal first and last names; >= 0.5; best):
# candidates q1-r1, q2-r2, q4-r4, q5-r5/r6, q7-r7, q8-r9/r8 (q3's true record has another ZIP:
# blocking loss). Best: q1-r1 (1), q2-r2 (0.5), q4-r4 (1, FP), q5-r5 (1 beats the twin's 0.5),
# q7-r7 (0.5), q8: r9 and r8 tie at 1, the first register row (r9, the son) wins: FP, and
# q8-r8 is missed.
EXPECTED = {
    "name-dob": {"declared": 5, "TP": 4, "FP": 1, "FN": 2, "blocking_loss": 0},
    "names-fuzzy": {"declared": 6, "TP": 4, "FP": 2, "FN": 2, "blocking_loss": 1},
}

# The example pair's rules, derived by hand in examples/evaluate/README.md.
EXAMPLE_RULES = {
    "exact-name-address": {"declared": 12, "TP": 11, "FP": 1, "FN": 7},
    "name-control-zip": {"declared": 39, "TP": 17, "FP": 22, "FN": 1},
    "first-last-dob": {"declared": 12, "TP": 11, "FP": 1, "FN": 7},
    "name-any-5-digits": {"declared": 16, "TP": 14, "FP": 2, "FN": 4},
    "cascade": {"declared": 16, "TP": 14, "FP": 2, "FN": 4},
}


def write_pair(tmp: Path) -> dict[str, Path]:
    """The small pair, its map, config and true-pairs file in ``tmp``."""
    files = {
        "query": (tmp / "q.csv", QUERY),
        "register": (tmp / "r.csv", REGISTER),
        "map": (tmp / "map.toml", MAP),
        "config": (tmp / "cfg.toml", CONFIG),
        "pairs": (tmp / "pairs.csv", PAIRS),
    }
    for path, text in files.values():
        path.write_text(text, encoding="utf-8")
    return {k: p for k, (p, _) in files.items()}


def _counts(metrics: pd.DataFrame) -> dict[str, dict[str, int]]:
    cols = ["declared", "TP", "FP", "FN", "blocking_loss"]
    return {r["method"]: {c: int(r[c]) for c in cols} for r in metrics.to_dict("records")}


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    tmp = tmp_path_factory.mktemp("pair")
    files = write_pair(tmp)
    bench = load_config(str(files["config"]))
    out = evaluate(files["query"], files["register"], read_map(files["map"]), bench=bench,
                   out_dir=tmp / "out", progress=False).out_dir  # fmt: skip
    return files, out


def test_small_pair_gives_the_hand_derived_counts(pair_run: tuple[dict, Path]) -> None:
    _, out = pair_run
    metrics = pd.read_csv(out / "metrics.csv")
    assert _counts(metrics) == EXPECTED
    info = json.loads((out / "raw" / "run.json").read_text(encoding="utf-8"))
    assert (info["queries"], info["register_records"], info["true_links"]) == (8, 10, 6)
    truth = pd.read_parquet(out / "raw" / "truth.parquet")
    assert list(zip(truth["query_row"], truth["register_row"], strict=True)) == [
        (0, 0), (1, 1), (2, 2), (4, 4), (6, 6), (7, 8),
    ]  # fmt: skip


def test_run_json_records_source_and_hashes_not_contents(pair_run: tuple[dict, Path]) -> None:
    import hashlib

    files, out = pair_run
    info = json.loads((out / "raw" / "run.json").read_text(encoding="utf-8"))
    assert info["source"] == "user files"
    for side in ("query", "register"):
        data = files[side].read_bytes()
        assert info["inputs"][side]["sha256"] == hashlib.sha256(data).hexdigest()
        assert info["inputs"][side]["file"] == str(files[side])
        assert info["inputs"][side]["date_format"] == "%m/%d/%Y"
    assert info["training_scenario"] is None  # no supervised method configured
    assert not (out / "raw" / "population.json").exists()
    # Only membership is known of the queried people; nothing of the register people.
    assert list(pd.read_parquet(out / "raw" / "query_people.parquet").columns) == ["in_register"]
    assert list(pd.read_parquet(out / "raw" / "register_people.parquet").columns) == [
        "register_row"
    ]
    assert len(pd.read_parquet(out / "raw" / "noise_log.parquet")) == 0


def test_report_without_people_attributes(pair_run: tuple[dict, Path]) -> None:
    _, out = pair_run
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Not available for user files" in report  # causes: skipped, with the reason
    assert "Not computed, for lack of these attributes" in report  # subgroups but one
    assert "Wrong-person rate by whether the person is in the register" in report
    assert "## Inputs" in report and "Assumptions ledger" not in report
    assert "## Examples" not in report
    assert not (out / "causes.csv").exists()
    groups = pd.read_csv(out / "subgroups.csv")
    assert set(groups["dimension"]) == {"in_register"}
    # in register: 6 queries; name-dob links none of them wrongly, names-fuzzy one (q8)
    inside = groups[groups["label"] == "in register"].set_index("method")
    assert inside["wrong_people"].to_dict() == {"name-dob": 0, "names-fuzzy": 1}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="ratios-in_register"' in html


def test_rebuilding_the_report_from_raw_gives_the_same_files(
    pair_run: tuple[dict, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    _, out = pair_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert main(["report", str(copy)]) == 0
    capsys.readouterr()
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(out, copy, files, shallow=False)
    assert mismatch == [] and errors == []


def test_truth_from_pairs_file_gives_the_same_result(
    pair_run: tuple[dict, Path], tmp_path: Path
) -> None:
    files, out = pair_run
    cmap = read_map(files["map"]).with_truth(pairs=files["pairs"])
    bench = load_config(str(files["config"]))
    other = evaluate(files["query"], files["register"], cmap, bench=bench,
                     out_dir=tmp_path / "out", progress=False, html=False).out_dir  # fmt: skip
    for name in ("metrics.csv", "raw/truth.parquet", "raw/name-dob.parquet"):
        assert (other / name).read_bytes() == (out / name).read_bytes(), name


def test_parquet_inputs_give_the_same_result_as_csv(
    pair_run: tuple[dict, Path], tmp_path: Path
) -> None:
    files, out = pair_run
    paths = {}
    for side in ("query", "register"):
        frame = pd.read_csv(files[side], dtype=str, keep_default_na=False)
        paths[side] = tmp_path / f"{side}.parquet"
        frame.to_parquet(paths[side], index=False)
    # parquet keeps types: the ZIP as integers, the register's dates as dates
    reg = pd.read_parquet(paths["register"])
    reg["ZIP"] = reg["ZIP"].astype("int64")
    reg["DOB"] = pd.to_datetime(reg["DOB"], format="%m/%d/%Y").dt.date
    reg.to_parquet(paths["register"], index=False)
    cmap = dataclasses.replace(read_map(files["map"]), date_format={"query": "%m/%d/%Y"})
    bench = load_config(str(files["config"]))
    other = evaluate(paths["query"], paths["register"], cmap, bench=bench,
                     out_dir=tmp_path / "out", progress=False, html=False).out_dir  # fmt: skip
    for name in ("metrics.csv", "raw/truth.parquet", "raw/name-dob.parquet"):
        assert (other / name).read_bytes() == (out / name).read_bytes(), name
    assert (other / "raw" / "names-fuzzy.parquet").read_bytes() == (
        out / "raw" / "names-fuzzy.parquet"
    ).read_bytes()


def _input_values(paths: list[Path]) -> set[str]:
    """Every cell of the input files (and its upper-case and ISO-date forms), 2+ characters."""
    out: set[str] = set()
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            for value in frame[column].str.strip():
                if len(value) < 2:
                    continue
                out |= {value, value.upper()}
                if re.fullmatch(r"\d\d/\d\d/\d{4}", value):
                    out.add(f"{value[6:]}-{value[:2]}-{value[3:5]}")
    return out


def _leaks(out_dir: Path, values: set[str]) -> dict[str, list[str]]:
    """Input values found in the files of a run: parquet cells and column names, and the text
    of every other file (the base64 of embedded figures left out: it is not text)."""
    found = {}
    for path in out_dir.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            cells = {str(v) for c in frame.columns for v in frame[c]} | set(frame.columns)
            hits = values & cells
            hits |= {v for v in values for c in cells if len(v) >= 4 and v in c}
        else:
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
            hits = {v for v in values if v in text}
        if hits:
            found[str(path.relative_to(out_dir))] = sorted(hits)
    return found


def test_no_input_value_in_any_output_without_the_flag(
    pair_run: tuple[dict, Path], tmp_path: Path
) -> None:
    files, out = pair_run
    values = _input_values([files["query"], files["register"]])
    assert {"Zoltek", "ZOLTEK", "r9", "1960-04-05", "10008"} <= values
    assert _leaks(out, values) == {}
    # with the flag: the examples (false and missed matches) carry record values
    bench = load_config(str(files["config"]))
    shown = evaluate(
        files["query"], files["register"], read_map(files["map"]), bench=bench,
        out_dir=tmp_path / "out", include_examples=True, progress=False,
    ).out_dir  # fmt: skip
    leaks = _leaks(shown, values)
    assert {"report.md", "report.html", "raw/examples.parquet"} <= set(leaks)
    for name in ("report.md", "report.html"):
        # q8 linked to his son r9 (a false match), and the twin-free miss q3 (never a candidate)
        assert {"Solberg", "r9", "1990-06-07", "Ximenes", "20003"} <= set(leaks[name])
    report = (shown / "report.md").read_text(encoding="utf-8")
    assert "## Examples" in report and "missed match (never a candidate)" in report
    # and the same metrics: examples add rows, not counts
    assert (shown / "metrics.csv").read_bytes() == (out / "metrics.csv").read_bytes()


def test_cli_with_column_flags_and_a_pairs_file_is_deterministic(
    pair_run: tuple[dict, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    files, _ = pair_run
    flags = []
    for field, (q, r) in {
        "record_id": ("QID", "RID"),
        "first_name": ("FNAME", "FIRST"),
        "last_name": ("LNAME", "LAST"),
        "zip": ("ZIPC", "ZIP"),
    }.items():
        flags += ["--column", f"query.{field}={q}", "--column", f"register.{field}={r}"]
    # the date of birth left unmapped: missing on both sides
    args = ["evaluate", "--query", str(files["query"]), "--register", str(files["register"]),
            *flags, "--truth-pairs", str(files["pairs"]), "--config", str(files["config"]),
            "--methods", "name-dob", "--no-progress"]  # fmt: skip
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 0
    stdout = capsys.readouterr().out
    assert "linkrisk evaluate: 8 queries, 10 register records, 6 true links" in stdout
    # without the date of birth, name-dob never matches: every true link missed
    assert re.search(
        r"\| name-dob +\| +0 \(≤\s[\d,]+\) \| +1,000 \(≤\s1,000\) \| +n/a \|", stdout
    ), stdout
    a, b = tmp_path / "a", tmp_path / "b"
    files_a = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(a, b, files_a, shallow=False)
    assert mismatch == [] and errors == []
    info = json.loads((a / "raw" / "run.json").read_text(encoding="utf-8"))
    assert info["methods"] == ["name-dob"]
    assert "--methods name-dob" in info["command"] and "--out" not in info["command"]
    metrics = pd.read_csv(a / "metrics.csv").set_index("method")
    assert metrics.loc["name-dob", "declared"] == 0 and metrics.loc["name-dob", "FN"] == 6


def test_example_pair_rules_give_the_hand_derived_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rules = ",".join(EXAMPLE_RULES)
    code = main(["evaluate", "--query", str(EXAMPLE / "query.csv"),
                 "--register", str(EXAMPLE / "register.csv"), "--map", str(EXAMPLE / "map.toml"),
                 "--methods", rules, "--out", str(tmp_path / "out"), "--no-progress",
                 "--no-html"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv")
    keys = ("declared", "TP", "FP", "FN")
    got = {m: {k: v[k] for k in keys} for m, v in _counts(metrics).items()}
    assert got == EXAMPLE_RULES
    assert set(metrics["queries"]) == {30} and set(metrics["true_links"]) == {18}


def test_example_readme_command_is_the_one_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        "linkrisk evaluate --query examples/evaluate/query.csv "
        "--register examples/evaluate/register.csv --map examples/evaluate/map.toml"
    ) in " ".join(readme.replace("\\\n", " ").split())


@pytest.mark.parametrize(
    ("values", "label", "expected"),
    [
        (["1985-03-14", "", "2001-12-31"], "%Y-%m-%d", ["1985-03-14", None, "2001-12-31"]),
        (["3/14/1985", "12/31/2001"], "%m/%d/%Y", ["1985-03-14", "2001-12-31"]),
        (["14/3/1985", "31/12/2001"], "%d/%m/%Y", ["1985-03-14", "2001-12-31"]),
        (["14.03.1985", "01.02.2001"], "%d.%m.%Y", ["1985-03-14", "2001-02-01"]),
        (["19850314", "20011231"], "%Y%m%d", ["1985-03-14", "2001-12-31"]),
        (["01/01/1990", "02/02/1990"], "%m/%d/%Y", ["1990-01-01", "1990-02-02"]),  # same both ways
    ],
)
def test_dates_in_common_formats(values: list[str], label: str, expected: list) -> None:
    out, fmt, unread = parse_dates(np.asarray(values, dtype=object), None, "f.csv: dob")
    assert unread == 0
    assert fmt == label and out.tolist() == expected


def test_ambiguous_and_bad_dates_say_so() -> None:
    with pytest.raises(ConfigError, match="ambiguous day/month order"):
        parse_dates(np.asarray(["03/04/1985", "05/06/1990"], dtype=object), None, "f.csv: dob")
    bad = np.asarray(["1985-02-03", "1985-02-30", "", "1985-13-01"], dtype=object)
    with pytest.raises(ConfigError, match=r"2 rows \(first: row 2\) not dates.*'1985-02-30'"):
        parse_dates(bad, None, "f.csv: dob")
    out, fmt, unread = parse_dates(bad, None, "f.csv: dob", unreadable="missing")
    assert (out.tolist(), fmt, unread) == (["1985-02-03", None, None, None], "%Y-%m-%d", 2)
    with pytest.raises(ConfigError, match="not dates in any one format"):  # none at all
        parse_dates(np.asarray(["yesterday"], dtype=object), None, "f.csv: dob", "missing")
    out, fmt, _ = parse_dates(np.asarray(["03/04/1985"], dtype=object), "%d/%m/%Y", "f: dob")
    assert out.tolist() == ["1985-04-03"] and fmt == "%d/%m/%Y"


def test_map_from_flags() -> None:
    cmap = map_from_flags(["first_name=FN", "query.last_name=LN", "register.last_name=SURNAME"])
    assert cmap.columns == {
        "first_name": {"query": "FN", "register": "FN"},
        "last_name": {"query": "LN", "register": "SURNAME"},
    }


def test_map_file_pairs_path_is_relative_to_the_map(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    path = tmp_path / "maps" / "m.toml"
    path.write_text(
        '[columns]\nlast_name = "L"\n[truth]\npairs = "t.csv"\nquery = "A"\nregister = "B"\n',
        encoding="utf-8",
    )
    cmap = read_map(path)
    assert cmap.truth_pairs == tmp_path / "maps" / "t.csv"
    assert cmap.pair_columns == ("A", "B") and cmap.truth_column is None
    assert cmap.where == str(path)


def test_unreadable_dates_made_missing_are_counted(tmp_path: Path) -> None:
    files = write_pair(tmp_path)
    files["query"].write_text(QUERY.replace("07/08/1985", "07/48/1985"), encoding="utf-8")
    files["map"].write_text(MAP + 'unreadable = "missing"\n', encoding="utf-8")
    bench = load_config(str(files["config"]), ["name-dob"])
    out = evaluate(files["query"], files["register"], read_map(files["map"]), bench=bench,
                   out_dir=tmp_path / "out", progress=False, html=False).out_dir  # fmt: skip
    info = json.loads((out / "raw" / "run.json").read_text(encoding="utf-8"))
    assert info["inputs"]["query"]["unreadable_dates"] == 1
    assert info["inputs"]["register"]["unreadable_dates"] == 0
    assert "%m/%d/%Y (1 unreadable: missing)" in (out / "report.md").read_text(encoding="utf-8")
    # q4's date is now missing: the namesake's false match is gone
    assert _counts(pd.read_csv(out / "metrics.csv"))["name-dob"] == {
        "declared": 4, "TP": 4, "FP": 0, "FN": 2, "blocking_loss": 0,
    }  # fmt: skip
