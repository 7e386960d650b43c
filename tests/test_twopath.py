"""The IRS's two match paths: name control, TIN joins with one transposition, ``absent``, named
passes (declared links per path) and the disclosure outcomes (wrong person, unverified address).

Until ``tin`` is a record field of ``synthetic/`` (issue 13, identifiers), the fixture
:func:`tin_field` adds it to the fields bench accepts; the tasks here carry a ``tin`` column.
"""

from __future__ import annotations

import itertools
import json
import tomllib

import numpy as np
import pandas as pd
import pytest

import bench.linkage.fields as fields
from bench.linkage.config import parse_benchmark
from bench.linkage.fields import PreparedTask, name_control, normalize
from bench.linkage.methods.rule import Rule
from bench.linkage.resolve import resolve
from bench.measurement.derive import compute_paths
from bench.measurement.metrics import confusion
from bench.runs.rundir import RunDir
from bench.runs.writers import write_parquet
from synthetic.errors import ConfigError, LinkriskError
from synthetic.scenario import RECORD_FIELDS, LinkageTask
from tests.conftest import TINY, clean_task, read_toml_text

# The method configuration of issue 13 (given to the lead for bench/scenarios/irs-ice.toml).
IRS_TWO_PATH = """
[[methods]]
name = "irs-two-path"
kind = "rule"
# The IRS's two match paths of 2025 (IRS declaration of 2026-02-11; D.D.C. opinion of
# 2026-02-26; TIGTA report of 2026-06-08). Path A: the TIN and the name control agree, and ICE's
# address field is only tested for being present (a "Failed to Provide" or a bare ZIP code
# passed). Path B, for queries without a TIN: the name and the street address agree exactly.
passes = [
  { name = "A: TIN + name control", conditions = [
    { field = "tin" },
    { field = "last_name", compare = "name_control" },
    { field = "full_address", compare = "present", side = "query" },
  ] },
  { name = "B: name + address", conditions = [
    { field = "tin", compare = "absent", side = "query" },
    { field = "first_name" }, { field = "last_name" },
    { field = "house_number" }, { field = "street" }, { field = "unit" }, { field = "zip" },
  ] },
]
"""


# --------------------------------------------------------------------------- name control
# Published examples: (name as written, the last-name field, name control, source). Where the
# source prints the names but its name-control column did not survive in the text we could
# retrieve, the expected control is the one its stated rule gives (marked "rule").
IRS = "https://www.irs.gov/businesses/small-businesses-self-employed/how-your-name-control-is-assigned"
IRS_INDIVIDUALS = (
    "IRS instructions for name control, individuals, as reproduced by tax-software vendors "
    "(support.cch.com TaxWise/ATX 'IRS instructions for Name Control'; UltimateTax; SureFire): "
    "'first four characters of the last name'; hyphenated: 'the first four characters from "
    "the first of the two last names' (rule)"
)
INTUIT = (
    "accountants.intuit.com 'Internal Revenue Service Name Control': individuals, hyphenated "
    "'the first of the two last names' (rule)"
)
LEGALCLARITY = "legalclarity.org 'IRS Name Control Rules for Individuals and Businesses'"
PUBLISHED = [
    ("John Q. Public", "Public", "PUBL", IRS),
    ("Jane Doe", "Doe", "DOE", IRS + " ('fewer than four characters: your last name')"),
    ("Ralph Teak", "Teak", "TEAK", IRS_INDIVIDUALS),
    ("Dorothy Willow", "Willow", "WILL", IRS_INDIVIDUALS),
    ("Joe McCedar", "McCedar", "MCCE", IRS_INDIVIDUALS),
    ("Brandy Cedar-Hawthorn", "Cedar-Hawthorn", "CEDA", IRS_INDIVIDUALS),
    ("Victoria Windsor-Maple", "Windsor-Maple", "WIND", IRS_INDIVIDUALS),
    ("John Brown", "Brown", "BROW", INTUIT),
    ("William Leed", "Leed", "LEED", INTUIT),
    ("Judy Johnson", "Johnson", "JOHN", INTUIT),
    ("Mary Anderson-Jensen", "Anderson-Jensen", "ANDE", INTUIT),
    ("Sally Garica-Biupo", "Garica-Biupo", "GARI", INTUIT),
    ("Washington", "Washington", "WASH", LEGALCLARITY),
    ("Jefferson", "Jefferson", "JEFF", LEGALCLARITY),
    ("Lee", "Lee", "LEE", LEGALCLARITY),
    ("Smith-Jones", "Smith-Jones", "SMIT", LEGALCLARITY),
]
# The rules' other cases, as the rule texts state them (blanks, punctuation, titles and
# suffixes dropped; the first of two surnames; particles belong to their surname). No IRS text
# with these examples could be retrieved (IRM 3.13.5, IRM 3.24.37, Publication 4164's exhibits
# for Hispanic and Asian names, Document 7071-A): they are this implementation's reading.
RULE_CASES = [
    ("John A. Smith", "Smith", "SMIT"),
    ("Joan Smith-Jones", "Smith-Jones", "SMIT"),
    ("Robert O'Neil", "O'Neil", "ONEI"),
    ("Juan De La Rosa", "De La Rosa", "DELA"),
    ("Martin Van Buren", "Van Buren", "VANB"),
    ("Joe Mc Cedar", "Mc Cedar", "MCCE"),
    ("Wes Kern Jr", "Kern Jr.", "KERN"),  # ustaxservices.ca: "omits suffixes"
    ("José García López", "García López", "GARC"),  # accents dropped; the first surname
    ("Ana Paz García", "Paz García", "PAZ"),  # a short first surname is kept as it is
    ("Ana Garcia y Lopez", "Garcia y Lopez", "GARC"),
    ("Dr. Li", "Dr Li", "LI"),
    ("", "", None),
]


def _nc(last_name: str) -> str | None:
    return name_control(normalize(pd.Series([last_name]), "last_name")[0])


@pytest.mark.parametrize(
    ("name", "last", "control", "source"), PUBLISHED, ids=[p[0] for p in PUBLISHED]
)
def test_name_control_published_examples(name: str, last: str, control: str, source: str) -> None:
    assert _nc(last) == control, f"{name}: {source}"


@pytest.mark.parametrize(
    ("name", "last", "control"), RULE_CASES, ids=[c[0] or "empty" for c in RULE_CASES]
)
def test_name_control_rule_cases(name: str, last: str, control: str | None) -> None:
    assert _nc(last) == control


def test_name_control_key_joins_a_compound_surname_to_its_first_part() -> None:
    """The register holds compound surnames in full: both sides get the same transform."""
    task = _task(
        [{"last_name": "Garcia"}, {"last_name": "Smith"}],
        [{"last_name": "GARCIA LOPEZ"}, {"last_name": "Smith-Jones"}, {"last_name": "Garcilaso"}],
    )
    prep = PreparedTask(task)
    key = prep.key("last_name", "name_control")
    pairs = set(zip(*fields.join(key.q.astype(np.int64), key.r.astype(np.int64)), strict=True))
    assert pairs == {(0, 0), (0, 2), (1, 1)}  # GARC, GARC (Garcilaso), SMIT


# --------------------------------------------------------------------------- hand-built tasks
def _task(
    query: list[dict], register: list[dict], truth: list[tuple[int, int]] = ()
) -> LinkageTask:
    """A linkage task from a few records (every record field, ``tin`` too; missing: None)."""
    cols = list(RECORD_FIELDS)

    def frame(rows: list[dict], prefix: str) -> pd.DataFrame:
        # no unit: an empty string (a value, as the generator writes it), not a missing entry
        filled = [{c: r.get(c, "" if c == "unit" else None) for c in cols} for r in rows]
        out = pd.DataFrame(filled, columns=cols, dtype=object)
        out.insert(0, "record_id", [f"{prefix}{i}" for i in range(len(rows))])
        return out

    q, r = frame(query, "Q"), frame(register, "R")
    t = pd.DataFrame(list(truth), columns=["query_row", "register_row"], dtype=np.int64)
    people = [pd.DataFrame({"person_id": np.arange(len(x))}) for x in (q, r)]
    log = pd.DataFrame(columns=["side", "row", "field", "noise"])
    return LinkageTask(q, r, t, people[0], people[1], log)


def _rule(passes: list, name: str = "r") -> Rule:
    return Rule(name, Rule.validate({"passes": passes}, name), "all")


def _pairs(rule: Rule, task: LinkageTask) -> set[tuple[int, int]]:
    s = rule.score(PreparedTask(task), None)
    return set(zip(s.query_row.tolist(), s.register_row.tolist(), strict=True))


def test_tin_keeps_digits_only() -> None:
    got = normalize(pd.Series(["123-45-6789", " 987 65 4321 ", "n/a", None]), "tin")
    assert got.tolist() == ["123456789", "987654321", None, None]


# --------------------------------------------------------------------------- transpositions
def _one_swap(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


@pytest.mark.parametrize("seed", range(4))
def test_transposition_join_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def records(n: int) -> list[dict]:
        out = []
        for _ in range(n):
            tin = "".join(rng.choice(list("0123"), size=int(rng.integers(3, 6))))
            out.append({
                "tin": None if rng.random() < 0.1 else tin,
                "last_name": str(rng.choice(["ROSA", "LEE", "PAZ"])) if rng.random() > 0.05
                else None,
            })  # fmt: skip
        return out

    query, register = records(60), records(200)
    rule = _rule([[{"field": "tin", "transpositions": 1}, {"field": "last_name"}]])
    expected = {
        (i, j)
        for (i, a), (j, b) in itertools.product(enumerate(query), enumerate(register))
        if a["tin"] and b["tin"] and a["last_name"] and a["last_name"] == b["last_name"]
        and (a["tin"] == b["tin"] or _one_swap(a["tin"], b["tin"]))
    }  # fmt: skip
    assert expected  # the data makes both kinds of pairs
    assert any(query[i]["tin"] != register[j]["tin"] for i, j in expected)
    task = _task(query, register)
    assert _pairs(rule, task) == expected
    exact = _rule([[{"field": "tin"}, {"field": "last_name"}]])
    assert _pairs(exact, task) == {
        (i, j) for i, j in expected if query[i]["tin"] == register[j]["tin"]
    }


def test_transposition_pairs_are_sorted_and_unique() -> None:
    task = _task(
        [{"tin": "1122"}, {"tin": "2121"}], [{"tin": "1212"}, {"tin": "1122"}, {"tin": "2112"}]
    )
    s = _rule([[{"field": "tin", "transpositions": 1}]]).score(PreparedTask(task), None)
    keys = s.query_row * 10 + s.register_row
    assert keys.tolist() == sorted(set(keys.tolist()))
    assert set(zip(s.query_row.tolist(), s.register_row.tolist(), strict=True)) == {
        (0, 0), (0, 1), (1, 2),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("passes", "where"),
    [
        ([[{"field": "tin", "transpositions": 2}]], "r.passes[0][0].transpositions"),
        ([[{"field": "tin", "transpositions": True}]], "r.passes[0][0].transpositions"),
        (
            [[{"field": "tin", "transpositions": 1}, {"field": "dob", "transpositions": 1}]],
            "r.passes[0]",
        ),
        (
            [[{"field": "tin", "compare": "jw", "min": 0.9, "transpositions": 1}]],
            "r.passes[0][0].transpositions",
        ),
        ([[{"field": "tin", "compare": "absent", "side": "middle"}]], "r.passes[0][0].side"),
        ([{"name": "A", "conditions": [{"field": "tin"}]}, [{"field": "dob"}]], "r.passes[1]"),
        (
            [
                {"name": "A", "conditions": [{"field": "tin"}]},
                {"name": "A", "conditions": [{"field": "dob"}]},
            ],
            "r.passes[1].name",
        ),
        ([{"name": "", "conditions": [{"field": "tin"}]}], "r.passes[0].name"),
        ([{"name": "A", "condition": [{"field": "tin"}]}], "r.passes[0].condition"),
        ([{"name": "A"}], "r.passes[0].conditions"),
    ],
)
def test_bad_conditions_are_refused_in_one_line(passes: list, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        Rule.validate({"passes": passes}, "r")
    assert err.value.where == where
    assert "\n" not in str(err.value)


def test_path_names_cannot_be_given_apart() -> None:
    with pytest.raises(ConfigError, match="path_names"):
        Rule.validate({"passes": [[{"field": "tin"}]], "path_names": ["A"]}, "r")


# --------------------------------------------------------------------------- absent
def test_absent_is_the_complement_of_present() -> None:
    task = _task(
        [{"tin": "123456789", "last_name": "ROSA"}, {"last_name": "ROSA"}],
        [{"tin": "1", "last_name": "ROSA"}, {"last_name": "ROSA"}],
    )
    everything = {(q, r) for q in range(2) for r in range(2)}
    for side, hit in (("query", {1}), ("register", {1}), ("both", {1})):
        absent = _pairs(
            _rule([[{"field": "last_name"}, {"field": "tin", "compare": "absent", "side": side}]]),
            task,
        )
        present = _pairs(
            _rule([[{"field": "last_name"}, {"field": "tin", "compare": "present", "side": side}]]),
            task,
        )
        at = 0 if side == "query" else 1
        if side == "both":
            assert absent == {(1, 1)} and present == {(0, 0)}
        else:
            assert absent == {p for p in everything if p[at] in hit}
            assert present == everything - absent


# --------------------------------------------------------------------------- two paths
# The people: P0 (query 0, register 0) sought with his own TIN and a matching address; P1 (q1,
# r1) with her TIN and a bare ZIP code for an address; P4 and P5 (q2, q3), not in the register,
# carry the SSN of P2 (r2), a household member: q2 with P2's address (the same dwelling), q3 with
# "Failed to Provide"; P3 (q4, r3) has no TIN and is found by name and address.
REGISTER = [
    {"first_name": "Jose", "last_name": "GARCIA LOPEZ", "tin": "123-45-6789",
     "house_number": "10", "street": "Main St", "zip": "11111"},
    {"first_name": "Ana", "last_name": "Smith", "tin": "987654321",
     "house_number": "5", "street": "Oak Ave", "zip": "22222"},
    {"first_name": "Maria", "last_name": "Garcia", "tin": "555443333",
     "house_number": "7", "street": "Elm St", "zip": "33333"},
    {"first_name": "Luis", "last_name": "Perez", "house_number": "9", "street": "Pine Rd",
     "zip": "44444"},
]  # fmt: skip
QUERY = [
    {"first_name": "Jose", "last_name": "Garcia", "tin": "123456789",
     "house_number": "10", "street": "MAIN ST.", "zip": "11111-0001"},
    {"first_name": "Ana", "last_name": "Smith", "tin": "987654321", "zip": "22222"},
    {"first_name": "Rosa", "last_name": "Garcia", "tin": "555443333",
     "house_number": "7", "street": "Elm St", "zip": "33333"},
    {"first_name": "Juana", "last_name": "Garcia", "tin": "555443333",
     "street": "Failed to Provide"},
    {"first_name": "Luis", "last_name": "Perez", "house_number": "9", "street": "Pine Rd",
     "zip": "44444"},
]  # fmt: skip
TRUTH = [(0, 0), (1, 1), (4, 3)]


def _two_path() -> Rule:
    spec = tomllib.loads(IRS_TWO_PATH)["methods"][0]
    params = {k: v for k, v in spec.items() if k not in ("name", "kind")}
    return Rule(spec["name"], Rule.validate(params, spec["name"]), "all")


def test_two_path_rule_declares_each_link_on_its_path() -> None:
    rule = _two_path()
    assert rule.path_names() == ["A: TIN + name control", "B: name + address"]
    assert not rule.uses_blocking()
    scored = rule.score(PreparedTask(_task(QUERY, REGISTER, TRUTH)), None)
    got = dict(zip(zip(scored.query_row.tolist(), scored.register_row.tolist(), strict=True),
                   scored.path.tolist(), strict=True))  # fmt: skip
    assert got == {(0, 0): 0, (1, 1): 0, (2, 2): 0, (3, 2): 0, (4, 3): 1}
    unnamed = _rule([[{"field": "tin"}]])
    assert unnamed.path_names() is None and "path_names" not in unnamed.params
    assert unnamed.score(PreparedTask(_task(QUERY, REGISTER)), None).path is None


def test_address_match_is_house_number_street_and_zip() -> None:
    prep = PreparedTask(_task(QUERY, REGISTER, TRUTH))
    qi, ri = np.array([0, 1, 2, 3, 4, 0]), np.array([0, 1, 2, 2, 3, 1])
    assert prep.address_match(qi, ri).tolist() == [True, False, True, False, True, False]


def test_disclosure_outcomes_known_answers() -> None:
    """Wrong person only (q2), unverified address only (q1), both (q3), neither (q0, q4)."""
    rule = _two_path()
    prep = PreparedTask(_task(QUERY, REGISTER, TRUTH))
    s = rule.score(prep, None)
    link = resolve(s.query_row, s.register_row, s.score, s.accept, rule.resolve)
    q, r = s.query_row[link], s.register_row[link]
    match = prep.address_match(q, r)
    tq, tr = np.array([t[0] for t in TRUTH]), np.array([t[1] for t in TRUTH])
    c = confusion(q, r, tq, tr, len(QUERY), len(REGISTER), address_match=match)
    assert (c.declared, c.TP, c.FP, c.wrong_people, c.unverified_address, c.verified) == (
        5,
        3,
        2,
        2,
        2,
        5,
    )
    assert c.unverified_address_share == pytest.approx(2 / 5)
    assert c.unverified_address_per_1M == pytest.approx(2 / 5 * 1e6)
    path = s.path[link]
    a = confusion(q[path == 0], r[path == 0], tq, tr, 5, 4, address_match=match[path == 0])
    b = confusion(q[path == 1], r[path == 1], tq, tr, 5, 4, address_match=match[path == 1])
    assert (a.declared, a.TP, a.FP, a.wrong_people, a.unverified_address) == (4, 2, 2, 2, 2)
    assert (b.declared, b.TP, b.FP, b.wrong_people, b.unverified_address) == (1, 1, 0, 0, 0)
    # without address information no link is counted as unverified
    assert confusion(q, r, tq, tr, 5, 4).unverified_address == 0


# --------------------------------------------------------------------------- end to end
def _with_tins(task: LinkageTask) -> LinkageTask:
    """``task`` with each person's TIN (from their id, 9 digits) on both sides; every 4th query
    without one."""

    def tins(people: pd.DataFrame) -> np.ndarray:
        return np.array(
            [f"{9_000_000 + int(p) * 37:09d}" for p in people["person_id"]], dtype=object
        )

    query, register = task.query.copy(), task.register.copy()
    query["tin"], register["tin"] = tins(task.query_people), tins(task.register_people)
    query.loc[query.index % 4 == 0, "tin"] = None
    return LinkageTask(query, register, task.truth, task.query_people, task.register_people,
                       task.noise_log)  # fmt: skip


def test_two_path_run_writes_paths_and_disclosures(tmp_path) -> None:
    from bench.tasks import run_task
    from synthetic.scenario import effective_parameters

    data = read_toml_text(TINY)
    data["methods"] = tomllib.loads(IRS_TWO_PATH)["methods"]
    bench = parse_benchmark(data)
    task = _with_tins(clean_task(seed=3))
    info = {"scenario": bench.name, "source": "tiny", "population": bench.scenario.population.size,
            "parameters": effective_parameters(bench.scenario)}  # fmt: skip
    out = tmp_path / "run"
    run_task(bench, task, out, seed=3, info=info, progress=False)
    run = RunDir(out).validate()
    meta = run.method("irs-two-path")
    assert meta["paths"] == ["A: TIN + name control", "B: name + address"]
    pairs = run.pairs("irs-two-path")
    linked = pairs[pairs["link"]]
    assert set(linked["path"]) == {0, 1}
    no_tin = task.query["tin"].isna().to_numpy()
    assert no_tin[linked.loc[linked["path"] == 1, "query_row"]].all()  # path B: no TIN only
    assert not no_tin[linked.loc[linked["path"] == 0, "query_row"]].any()
    paths = compute_paths(out)
    assert paths["path"].tolist() == meta["paths"]
    metrics = pd.read_csv(out / "metrics.csv")
    assert paths["declared"].sum() == metrics["declared"].sum() == len(linked)
    assert paths["unverified_address"].sum() == metrics["unverified_address"].sum()
    assert (out / "paths.csv").exists()
    for col in ("unverified_address", "unverified_address_share", "unverified_address_share_upper",
                "unverified_address_per_1M_upper"):  # fmt: skip
        assert col in pd.read_csv(out / "summary.csv").columns
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Declared links per path" in report and "B: name + address" in report
    assert "unverified-address disclosures" in report and "court's legal finding" in report
    groups = pd.read_csv(out / "subgroups.csv")
    by_dim = groups.groupby("dimension")["unverified_address"].sum()
    assert (by_dim == metrics["unverified_address"].sum()).all()

    # raw/ is validated: a path outside the method's paths is refused with one line
    path = out / "raw" / "irs-two-path.parquet"
    frame = pd.read_parquet(path)
    frame.loc[0, "path"] = 5
    write_parquet(frame, path)
    with pytest.raises(
        LinkriskError, match=r"irs-two-path.parquet: path: row 0: 5 is outside 0..1"
    ):
        RunDir(out).pairs("irs-two-path")
    doc = json.loads((out / "raw" / "irs-two-path.json").read_text(encoding="utf-8"))
    assert doc["params"]["path_names"] == meta["paths"]
