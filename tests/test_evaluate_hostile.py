"""Hostile inputs of `linkrisk evaluate` (column maps, data files, truth, methods): each gives
one line naming the file, the field and the problem, exit status 2, no traceback, and no output
directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.cli import main
from tests.test_evaluate import write_pair

Edit = Callable[[dict[str, Path]], list[str]]


def _rewrite(key: str, old: str, new: str) -> Edit:
    """Replace ``old`` by ``new`` in one of the pair's files; no extra arguments."""

    def edit(files: dict[str, Path]) -> list[str]:
        text = files[key].read_text(encoding="utf-8")
        assert old in text, old
        files[key].write_text(text.replace(old, new), encoding="utf-8")
        return []

    return edit


def _write(key: str, data: bytes) -> Edit:
    def edit(files: dict[str, Path]) -> list[str]:
        files[key].write_bytes(data)
        return []

    return edit


def _bytes(key: str, old: bytes, new: bytes) -> Edit:
    def edit(files: dict[str, Path]) -> list[str]:
        files[key].write_bytes(files[key].read_bytes().replace(old, new))
        return []

    return edit


def _empty_column(key: str, index: int) -> Edit:
    """Empty every data cell of column ``index`` of one of the pair's files."""

    def edit(files: dict[str, Path]) -> list[str]:
        header, *rows = files[key].read_text(encoding="utf-8").splitlines()
        cells = [row.split(",") for row in rows]
        for row in cells:
            row[index] = ""
        files[key].write_text("\n".join([header, *map(",".join, cells)]) + "\n", "utf-8")
        return []

    return edit


def _chain(*edits: Edit) -> Edit:
    return lambda files: [a for edit in edits for a in edit(files)]


def _args(*extra: str) -> Edit:
    return lambda files: list(extra)


def _pairs(text: str) -> Edit:
    def edit(files: dict[str, Path]) -> list[str]:
        files["pairs"].write_text(text, encoding="utf-8")
        return ["--truth-pairs", str(files["pairs"])]

    return edit


QUERY_HEADER = "QID,FNAME,LNAME,BDATE,ZIPC,PID\n"

# case -> (edit of the inputs, returning extra CLI arguments; file named; text the error holds)
CASES: dict[str, tuple[Edit, str, str]] = {
    "unknown map key": (
        _rewrite("map", "zip = {", 'ssn = "SSN"\nzip = {'),
        "map",
        "columns.ssn: unknown key",
    ),
    "unknown map section": (
        _rewrite("map", "[dates]", "[extra]\nx = 1\n[dates]"),
        "map",
        "extra: unknown key",
    ),
    "wrong type in map": (
        _rewrite("map", 'first_name = { query = "FNAME", register = "FIRST" }', "first_name = 3"),
        "map",
        "columns.first_name: must be a column name or a table",
    ),
    "wrong type in map side table": (
        _rewrite("map", 'register = "FIRST"', "register = true"),
        "map",
        "columns.first_name.register: must be a non-empty column name, got True",
    ),
    "two-digit year format": (
        _rewrite("map", 'format = "%m/%d/%Y"', 'format = "%m/%d/%y"'),
        "map",
        "dates.format: two-digit years (%y) are ambiguous",
    ),
    "bad unreadable-dates choice": (
        _rewrite("map", "[dates]\n", '[dates]\nunreadable = "guess"\n'),
        "map",
        'dates.unreadable: must be "error" or "missing"',
    ),
    "both truth forms in map": (
        _rewrite("map", "[truth]\n", '[truth]\npairs = "p.csv"\n'),
        "map",
        "truth: give either column = ... or pairs = ...",
    ),
    "no name field": (
        _rewrite(
            "map",
            'first_name = { query = "FNAME", register = "FIRST" }\n'
            'last_name = { query = "LNAME", register = "LAST" }\n',
            "",
        ),
        "map",
        "columns: map a name field (first_name or last_name) for the query file",
    ),
    "mapped column absent": (
        _rewrite("map", 'query = "LNAME"', 'query = "SURNAME"'),
        "query",
        "last_name: column 'SURNAME' is not in the file (columns: 'QID', 'FNAME'",
    ),
    "required column empty": (
        _empty_column("register", 1),
        "register",
        "first_name: column 'FIRST' is empty in every row",
    ),
    "empty file": (_write("query", b""), "query", "file is empty"),
    "blank file": (_write("register", b"\n  \n"), "register", "file is empty"),
    "header-only file": (
        _write("query", QUERY_HEADER.encode()),
        "query",
        "no data rows (a header only)",
    ),
    "duplicate header": (
        _write("query", b"QID,FNAME,FNAME\nq1,A,B\n"),
        "query",
        "header: column 'FNAME' appears more than once",
    ),
    "ragged csv row": (
        _rewrite("query", "07/08/1985,10004,P4", "07/08/1985,1,2,3"),
        "query",
        "malformed CSV (row 4 has 7 fields, the header 6)",
    ),
    "short csv row (not padded)": (
        _rewrite("query", "07/08/1985,10004,P4", "07/08/1985,10004"),
        "query",
        "malformed CSV (row 4 has 5 fields, the header 6)",
    ),
    "NUL byte in a name": (
        _bytes("query", b"Zoltek", b"Zol\x00tek"),
        "query",
        "last_name: 1 row (first: row 1) contain a NUL byte",
    ),
    "unknown strftime directive": (
        _rewrite("map", 'format = "%m/%d/%Y"', 'format = "%m/%d/%Y %Q"'),
        "map",
        "dates.format: not a strptime format ('Q' is a bad directive",
    ),
    "placeholder truth id": (
        _chain(_rewrite("query", ",P2\n", ",P1\n"), _rewrite("register", ",P2\n", ",P1\n")),
        "query",
        "truth: id 'P1' is on several rows of both files (1 such id): a placeholder",
    ),
    "query and register the same file": (
        lambda files: ["--register", str(files["query"])],
        "query",
        "is the same file as the query file",
    ),
    "duplicate record ids": (
        _rewrite("register", "r5,Emma", "r4,Emma"),
        "register",
        "record_id: column 'RID' has duplicate ids: 'r4' appears 2 times (1 id duplicated)",
    ),
    "empty record id": (
        _rewrite("query", "q3,Carla", ",Carla"),
        "query",
        "record_id: column 'QID' is empty in 1 row (first: row 3)",
    ),
    "non-UTF-8 bytes": (
        _bytes("query", b"Zoltek", b"Zolt\xe9k"),  # Latin-1
        "query",
        "not UTF-8 text (byte 43, line 2)",
    ),
    "unparseable date": (
        _rewrite("query", "07/08/1985", "13/45/1985"),
        "query",
        "dob: 1 row (first: row 4) not dates in format '%m/%d/%Y', e.g. '13/45/1985'",
    ),
    "ambiguous dates": (
        _rewrite("map", '[dates]\nformat = "%m/%d/%Y"\n', ""),
        "query",
        "dob: dates read as both MM/DD/YYYY and DD/MM/YYYY",
    ),
    "truth column with no matches": (
        _rewrite("map", 'register = "PERSON"', 'register = "RID"'),
        "query",
        "truth: no id of column 'PID' occurs in column 'RID'",
    ),
    "truth column absent": (
        _rewrite("map", 'column = { query = "PID", register = "PERSON" }', 'column = "ZZ"'),
        "query",
        "truth: column 'ZZ' is not in the file",
    ),
    "truth column empty": (
        _empty_column("register", 5),
        "register",
        "truth: column 'PERSON' is empty in every row",
    ),
    "pairs file naming unknown ids": (
        _pairs("query_id,register_id\nq1,r1\nq2,r99\n"),
        "pairs",
        "register_id: 1 row (first: row 2) name no register record (record_id of",
    ),
    "pairs file without its columns": (
        _pairs("q,r\nq1,r1\n"),
        "pairs",
        "query id: column 'query_id' is not in the file",
    ),
    "unknown method": (
        _args("--methods", "name-dob,magic"),
        "config",
        "methods: no method named 'magic' (configured: name-dob, names-fuzzy)",
    ),
    "unknown file type": (
        lambda files: ["--query", str(files["query"].with_suffix(".xlsx"))],
        "",
        "q.xlsx: unknown file type '.xlsx'",
    ),
    "missing file": (
        lambda files: ["--register", str(files["register"].with_name("nope.csv"))],
        "",
        "nope.csv: cannot read file (No such file or directory)",
    ),
    "unknown field in --column": (
        lambda files: ["--column-instead", "ssn=SSN"],
        "",
        "--column ssn: unknown field",
    ),
}


def _run_case(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    edit, _, _ = CASES[case]
    files = write_pair(tmp_path)
    extra = edit(files)
    args = {
        "--query": str(files["query"]),
        "--register": str(files["register"]),
        "--map": str(files["map"]),
        "--config": str(files["config"]),
    }
    rest: list[str] = []
    i = 0
    while i < len(extra):  # overrides of the defaults above, or further arguments
        if extra[i] in args:
            args[extra[i]] = extra[i + 1]
        elif extra[i] == "--column-instead":
            del args["--map"]
            rest += ["--column", extra[i + 1]]
        else:
            rest += extra[i : i + 2]
        i += 2
    argv = ["evaluate", *(x for kv in args.items() for x in kv), *rest]
    argv += ["--out", str(tmp_path / "out")]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_one_line_exit_2_nothing_written(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    code, out, err = _run_case(case, tmp_path, capsys)
    _, key, expected = CASES[case]
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("linkrisk: error: ") and "Traceback" not in err
    assert expected in err, err
    if key:  # the file is named
        named = {"map": "map.toml", "query": "q.csv", "register": "r.csv", "pairs": "pairs.csv",
                 "config": "cfg.toml"}[key]  # fmt: skip
        assert named in err, err
    assert not (tmp_path / "out").exists()
    assert {p.name for p in tmp_path.iterdir()} == before | {
        "q.csv", "r.csv", "map.toml", "cfg.toml", "pairs.csv",
    }  # fmt: skip


def test_there_are_at_least_twelve_distinct_cases() -> None:
    assert len(CASES) >= 12
