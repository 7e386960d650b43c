"""An audit's files: the agency's declared links, the plan, and the review form.

- **links file** (CSV or parquet, read as :func:`bench.inputs.userfiles.read_file` reads user
  files): one row per declared link, the two record ids (columns ``query_id`` and
  ``register_id`` unless named otherwise) and optional strata columns (e.g. the match path, a
  name-origin group); a link's stratum is the values of those columns joined by `` | ``.
- **plan** (``plan.json``): the links file's SHA-256, the target, the seed, the sizes per
  stratum and the sample (each sampled link's id on the form, its stratum, its position among
  the stratum's sorted links, and its two record ids).
- **review form** (``review_form.csv``): one row per sampled link, in shuffled order, with an
  empty ``verdict`` column (``same``, ``different``, ``cannot_tell``), a ``note`` column, and
  the two records' values side by side when the record files were given. **It is the one
  output of linkrisk that holds record values, by design**: a reviewer must see them. Its first
  lines (starting with ``#``) say so; a README beside it repeats it.

- **unlinked queries** (optional; CSV or parquet): query record ids the agency did *not* link
  (column ``query_id`` unless named otherwise), with optional strata columns as for the links.
  Its sample (ids ``U<seed>-<k>``) goes on a second form, ``review_form_unlinked.csv``, with
  the query record and the verdicts ``in_register``, ``not_in_register``, ``cannot_tell`` (a
  reviewer searched the register for the person); ``plan.json`` records it under ``unlinked``.
  :class:`Kind` holds what differs between the two.

Reading a filled form checks it against the plan: every problem (unknown ids, duplicate rows,
an unknown verdict, a form drawn with another seed, a sampled link missing) raises one
:class:`~synthetic.errors.ConfigError` naming the file, the field and the problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.audit.design import (
    LINKS_ORDER_STREAM,
    LINKS_STREAM,
    UNLINKED_ORDER_STREAM,
    UNLINKED_STREAM,
    Stratum,
    draw,
    form_order,
)
from bench.audit.estimate import (
    CANNOT_TELL,
    DIFFERENT,
    IN_REGISTER,
    UNLINKED_VERDICTS,
    VERDICTS,
    Tally,
)
from bench.inputs.userfiles import ColumnMap, read_file, read_records
from bench.runs.rundir import MAP_FIELDS
from bench.runs.writers import write_json
from synthetic.config import read_input
from synthetic.errors import ConfigError

PLAN_FILE = "plan.json"
FORM_FILE = "review_form.csv"
UNLINKED_FORM_FILE = "review_form_unlinked.csv"
FORM_README = "README.md"
PLAN_FORMAT = "linkrisk audit plan"
#: Columns of the form before the records' values.
FORM_COLUMNS = ("sample_id", "verdict", "note", "query_id", "register_id")
STRATUM_SEPARATOR = " | "
#: What the form's first lines say (``{seed}`` and ``{n}`` filled in).
FORM_NOTICE = (
    "# linkrisk audit review form: {n} sampled declared links, plan seed {seed}.",
    "# THIS FILE HOLDS RECORD VALUES BY DESIGN (the only linkrisk output that does): keep it "
    "as you keep the records.",
    "# For each row, set verdict to: same (same person), different (different people) or "
    "cannot_tell. Keep sample_id, query_id and register_id as they are.",
)
UNLINKED_NOTICE = (
    "# linkrisk audit review form (unlinked queries): {n} sampled queries the agency did not "
    "link, plan seed {seed}.",
    FORM_NOTICE[1],
    "# For each row, search the register for the query's person and set verdict to: "
    "in_register, not_in_register or cannot_tell. Keep sample_id and query_id as they are.",
)
FORM_README_TEXT = """\
# Audit review form

`{form}` lists {n} declared links drawn at random (seed {seed}) from `{links}` by
`linkrisk audit plan`, one per row, with the two records side by side.

**This is the one output of linkrisk that holds record values, by design**: the reviewer must
see the records to judge them. Keep it, and anything derived from it, as you keep the records
themselves; every other linkrisk output holds aggregates only.

For each row, fill `verdict` with one of:

- `same`: the two records are the same person;
- `different`: they are different people (a wrong-person link);
- `cannot_tell`: the records do not say.

`note` is free text. Do not change `sample_id`, `query_id` or `register_id`, nor add or remove
rows. Then:

    linkrisk audit estimate {plan} --form <the filled form>
"""
UNLINKED_README_TEXT = """
`{form}` lists {n} queries that the agency did *not* link, drawn at random
(seed {seed}) from `{file}`. For each, search the register for the person and fill `verdict`
with `in_register` (a missed match), `not_in_register` or `cannot_tell`; the same rules hold.
Then add `--unlinked-form <the filled form>` to `linkrisk audit estimate`.
"""


@dataclass(frozen=True)
class Kind:
    """What differs between the review of declared links and of unlinked queries."""

    name: str  # the plan's key for the sample ("links" has its sample at the top level)
    keys: tuple[str, ...]  # the record ids of a sampled row
    prefix: str  # of its sample ids
    stream: str  # of the draw
    order_stream: str  # of the form's order
    verdicts: tuple[str, ...]
    counted: str  # the verdict that counts as an error (wrong person; missed match)
    form: str
    notice: tuple[str, ...]
    what: str  # a sampled row, in messages
    whats: str  # and more than one


LINKS = Kind("links", ("query_id", "register_id"), "S", LINKS_STREAM, LINKS_ORDER_STREAM,
             VERDICTS, DIFFERENT, FORM_FILE, FORM_NOTICE, "sampled link",
             "sampled links")  # fmt: skip
UNLINKED = Kind("unlinked", ("query_id",), "U", UNLINKED_STREAM, UNLINKED_ORDER_STREAM,
                UNLINKED_VERDICTS, IN_REGISTER, UNLINKED_FORM_FILE, UNLINKED_NOTICE,
                "sampled unlinked query", "sampled unlinked queries")  # fmt: skip
_SEED_LINE = re.compile(r"plan seed (\d+)")


@dataclass(frozen=True)
class Links:
    """Declared links read from a links file: ids and stratum per link, and the file's facts."""

    path: Path
    sha256: str
    frame: pd.DataFrame  # the kind's keys (query_id, register_id), stratum
    columns: tuple[str, ...]
    strata_columns: tuple[str, ...]
    kind: Kind = LINKS


def read_links(
    path: Path,
    columns: tuple[str, ...] = ("query_id", "register_id"),
    strata: Sequence[str] = (),
    kind: Kind = LINKS,
) -> Links:
    """Read and check a links file, or with ``kind`` :data:`UNLINKED` a file of unlinked
    query ids (module docstring)."""
    file = read_file(path)
    out: dict[str, np.ndarray] = {}
    for key, column in zip(kind.keys, columns, strict=True):
        values = file.column(column, key)
        empty = np.flatnonzero(values == "")
        if len(empty):
            raise ConfigError(f"{path}: {column}", f"empty in row {empty[0] + 1}")
        out[key] = values
    parts = [file.column(c, "stratum") for c in strata]
    if parts:
        out["stratum"] = np.array(
            [STRATUM_SEPARATOR.join(v) for v in zip(*parts, strict=True)], dtype=object
        )
    else:
        out["stratum"] = np.full(len(file.frame), "all", dtype=object)
    frame = pd.DataFrame(out)
    keys = list(kind.keys)
    dup = frame.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        same = np.logical_and.reduce([(frame[k] == frame[k].iloc[i]).to_numpy() for k in keys])
        first = int(np.flatnonzero(same)[0])
        ids = " -> ".join(repr(frame[k].iloc[i]) for k in keys)
        raise ConfigError(
            f"{path}: {columns[0]}",
            f"row {i + 1} repeats the {'link' if kind is LINKS else 'query'} of row "
            f"{first + 1} ({ids})",
        )
    return Links(path, file.sha256, frame, tuple(columns), tuple(strata), kind)


def check_unlinked(unlinked: Links, links: Links) -> None:
    """No unlinked query is the query of a declared link."""
    linked = unlinked.frame["query_id"].isin(links.frame["query_id"]).to_numpy()
    _refuse_first(
        f"{unlinked.path}: {unlinked.columns[0]}",
        linked,
        unlinked.frame["query_id"],
        f"is the query of a declared link in {links.path}, not an unlinked query",
    )


def _refuse_first(
    where: str, bad: np.ndarray, values: pd.Series | np.ndarray, problem: str
) -> None:
    """Refuse the first row where ``bad`` holds, naming its row number and value (as text the
    user wrote: numpy's string scalars are shown as plain strings)."""
    if bad.any():
        i = int(np.argmax(bad))
        value = np.asarray(values, dtype=object)[i]
        raise ConfigError(where, f"row {i + 1}: {value!r} {problem}")


def _ordered(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """A stratum's links in the draw's fixed order (ids as text, sorted)."""
    return frame.sort_values(list(keys), kind="stable").reset_index(drop=True)


def sample_links(links: Links, plan: Sequence[Stratum], seed: int) -> pd.DataFrame:
    """The sampled links (or unlinked queries): sample_id, stratum, position and the kind's ids
    (in draw order: strata by label, positions ascending)."""
    kind = links.kind
    blocks = []
    for s in plan:
        members = _ordered(links.frame[links.frame["stratum"] == s.label], kind.keys)
        pos = draw(s.label, s.size, s.sample, seed, kind.stream)
        block = members.iloc[pos][list(kind.keys)].reset_index(drop=True)
        block.insert(0, "position", pos)
        block.insert(0, "stratum", s.label)
        blocks.append(block)
    sample = pd.concat(blocks, ignore_index=True)
    width = len(str(len(sample)))
    # "S" first: a spreadsheet would read "7-05" as a date
    ids = [f"{kind.prefix}{seed}-{k + 1:0{width}d}" for k in range(len(sample))]
    sample.insert(0, "sample_id", ids)
    return sample


def sample_sha256(sample: pd.DataFrame, kind: Kind = LINKS) -> str:
    """A hash of the sample (ids and strata), to recognize it."""
    text = sample[["sample_id", "stratum", *kind.keys]].to_csv(index=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_document(
    links: Links,
    plan: Sequence[Stratum],
    sample: pd.DataFrame,
    *,
    seed: int,
    margin: float,
    confidence: float,
    expected: float,
    priors_source: str | None,
    records: Mapping[str, Path] | None,
    unlinked: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of ``plan.json`` (``unlinked``: :func:`unlinked_document`)."""
    doc = {
        "format": PLAN_FORMAT,
        "links": {
            "file": str(links.path),
            "sha256": links.sha256,
            "rows": len(links.frame),
            "columns": list(links.columns),
            "strata_columns": list(links.strata_columns),
        },
        "records": {side: str(p) for side, p in records.items()} if records else None,
        "target": {"margin": margin, "confidence": confidence},
        "allocation": "neyman" if priors_source else "proportional",
        "priors": priors_source,
        "seed": seed,
        "sample_size": int(sum(s.sample for s in plan)),
        "expected_margin": expected,
        "strata": [
            {"stratum": s.label, "links": s.size, "sample": s.sample, "prior": s.prior}
            for s in plan
        ],
        "sample_sha256": sample_sha256(sample),
        "sample": sample.to_dict("records"),
    }
    if unlinked is not None:  # absent otherwise: plans without it stay as they were
        doc["unlinked"] = unlinked
    return doc


def unlinked_document(
    unlinked: Links, plan: Sequence[Stratum], sample: pd.DataFrame, margin: float, expected: float
) -> dict[str, Any]:
    """The ``unlinked`` part of ``plan.json``: the unlinked queries' file, sizes and sample."""
    return {
        "file": str(unlinked.path),
        "sha256": unlinked.sha256,
        "rows": len(unlinked.frame),
        "columns": list(unlinked.columns),
        "strata_columns": list(unlinked.strata_columns),
        "margin": margin,
        "sample_size": int(sum(s.sample for s in plan)),
        "expected_margin": expected,
        "strata": [{"stratum": s.label, "queries": s.size, "sample": s.sample} for s in plan],
        "sample_sha256": sample_sha256(sample, UNLINKED),
        "sample": sample.to_dict("records"),
    }


def form_frame(
    sample: pd.DataFrame,
    seed: int,
    records: Mapping[str, pd.DataFrame] | None,
    kind: Kind = LINKS,
) -> pd.DataFrame:
    """The review form's rows (shuffled; records side by side when given)."""
    form = sample.iloc[form_order(len(sample), seed, kind.order_stream)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "sample_id": form["sample_id"],
            "verdict": "",
            "note": "",
            **{k: form[k] for k in kind.keys},
        }
    )
    if records:
        sides = [k.removesuffix("_id") for k in kind.keys]
        rows = {}
        for side in sides:
            index = pd.Index(records[side]["record_id"].astype(str))
            rows[side] = index.get_indexer(form[f"{side}_id"])
        for name in MAP_FIELDS[1:]:
            cols = {side: records[side][name] for side in sides}
            if all(((c.isna()) | (c.astype(str) == "")).all() for c in cols.values()):
                continue  # not mapped (or empty) in the files
            for side, col in cols.items():
                values = col.to_numpy(dtype=object)[rows[side]]
                out[f"{side}_{name}"] = ["" if v is None else str(v) for v in values]
    return out


def check_records(
    links: Links, records: Mapping[str, pd.DataFrame], files: Mapping[str, Path]
) -> None:
    """Every link's (or unlinked query's) ids name a record of the record files."""
    for key, column in zip(links.kind.keys, links.columns, strict=True):
        side = key.removesuffix("_id")
        ids = records[side]["record_id"].astype(str)
        missing = ~links.frame[f"{side}_id"].isin(ids).to_numpy()
        n = int(missing.sum())
        _refuse_first(
            f"{links.path}: {column}",
            missing,
            links.frame[f"{side}_id"],
            f"is not a record_id of {files[side]} ({n} such row{'s' if n != 1 else ''})",
        )


def load_records(query: Path, register: Path, cmap: ColumnMap) -> dict[str, pd.DataFrame]:
    """Both record files, as ``linkrisk evaluate`` reads them (no truth needed)."""
    return {
        "query": read_records(query, cmap, "query"),
        "register": read_records(register, cmap, "register"),
    }


def _write_form(tmp: Path, doc: dict[str, Any], form: pd.DataFrame, kind: Kind) -> None:
    lines = list(kind.notice)
    if doc["records"] is None:  # no record files given: ids only, the reviewer looks them up
        lines[1] = "# This form holds record ids only (no record files were given to the plan)."
    notice = "\n".join(lines).format(n=len(form), seed=doc["seed"]) + "\n"
    buf = io.StringIO()
    form.to_csv(buf, index=False, lineterminator="\n")
    (tmp / kind.form).write_text(notice + buf.getvalue(), encoding="utf-8")


def write_plan_dir(
    tmp: Path,
    doc: dict[str, Any],
    form: pd.DataFrame,
    plan_path: str,
    unlinked_form: pd.DataFrame | None = None,
) -> None:
    """Write ``plan.json``, the form(s) and their README into ``tmp`` (a staging directory)."""
    write_json(doc, tmp / PLAN_FILE)
    _write_form(tmp, doc, form, LINKS)
    readme = FORM_README_TEXT.format(
        form=FORM_FILE, n=len(form), seed=doc["seed"], links=doc["links"]["file"],
        plan=plan_path,
    )  # fmt: skip
    if unlinked_form is not None:
        _write_form(tmp, doc, unlinked_form, UNLINKED)
        readme += UNLINKED_README_TEXT.format(
            form=UNLINKED_FORM_FILE, n=len(unlinked_form), seed=doc["seed"],
            file=doc["unlinked"]["file"],
        )  # fmt: skip
    (tmp / FORM_README).write_text(readme, encoding="utf-8")


# --- reading back ----------------------------------------------------------------------------


def _fail(path: Path, field: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {field}", problem)


def read_plan(path: Path) -> dict[str, Any]:
    """``plan.json`` (or the plan directory holding it), checked: its format, its fields, and
    that its sample is the one its seed draws."""
    if path.is_dir():
        path = path / PLAN_FILE
    try:
        doc = json.loads(read_input(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, "format", f"not a JSON plan ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise _fail(path, "format", f"not a {PLAN_FORMAT} (written by `linkrisk audit plan`)")
    parts = {}
    try:
        seed = int(doc["seed"])
        float(doc["target"]["confidence"])
        parts["links"] = _plan_part(path, doc, seed, LINKS)
        if doc.get("unlinked") is not None:
            parts["unlinked"] = _plan_part(path, doc["unlinked"], seed, UNLINKED)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, "fields", f"missing or malformed field ({exc})") from None
    strata, sample = parts["links"]
    return {**doc, "_path": path, "_strata": strata, "_sample": sample, "_parts": parts}


def _plan_part(
    path: Path, part: Mapping[str, Any], seed: int, kind: Kind
) -> tuple[list[Stratum], pd.DataFrame]:
    """The strata and sample of one part of the plan, checked against the seed's draw."""
    size_key = "links" if kind is LINKS else "queries"
    strata = [
        Stratum(
            str(s["stratum"]),
            int(s[size_key]),
            int(s["sample"]),
            s["prior"] if kind is LINKS else None,
        )
        for s in part["strata"]
    ]
    sample = pd.DataFrame(part["sample"], columns=["sample_id", "stratum", "position", *kind.keys])
    field = "sample" if kind is LINKS else "unlinked.sample"
    for s in strata:
        got = sample.loc[sample["stratum"] == s.label, "position"].to_numpy()
        if len(got) != s.sample or not np.array_equal(
            np.asarray(got, dtype=np.int64), draw(s.label, s.size, s.sample, seed, kind.stream)
        ):
            raise _fail(path, field, f"stratum {s.label!r}: is not the sample seed {seed} draws")
    if sample_sha256(sample, kind) != part.get("sample_sha256"):
        raise _fail(path, f"{field}_sha256", "does not match the sample (the plan was edited)")
    return strata, sample


def _read_form_csv(path: Path) -> tuple[list[str], list[list[str]], int | None]:
    """Header, rows and the seed of the notice (None without one)."""
    data = read_input(path)
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _fail(path, "encoding", f"not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines(keepends=True)
    seed, skip = None, 0
    while skip < len(lines) and lines[skip].startswith("#"):
        m = _SEED_LINE.search(lines[skip])
        seed = int(m.group(1)) if m and seed is None else seed
        skip += 1
    try:
        rows = [r for r in csv.reader(io.StringIO("".join(lines[skip:]), newline=""), strict=True)]
    except csv.Error as exc:
        raise _fail(path, "format", f"malformed CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise _fail(path, "header", "no header row")
    return rows[0], rows[1:], seed


def _verdict(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def read_form(path: Path, plan: Mapping[str, Any], kind: Kind = LINKS) -> list[Tally]:
    """A filled review form (of declared links, or with ``kind`` :data:`UNLINKED` of unlinked
    queries) checked against ``plan`` (:func:`read_plan`), tallied per stratum."""
    header, rows, seed = _read_form_csv(path)
    columns = ("sample_id", *kind.keys, "verdict")
    for column in columns:
        if column not in header:
            raise _fail(path, column, "column missing from the header")
    at = {c: header.index(c) for c in columns}
    if seed is not None and seed != plan["seed"]:
        raise _fail(
            path, "seed", f"the form was drawn with seed {seed}, the plan with seed {plan['seed']}"
        )
    strata, sample = plan["_parts"][kind.name]
    by_id = {rec["sample_id"]: rec for rec in sample.to_dict("records")}
    seen: dict[str, int] = {}
    verdicts: dict[str, str] = {}
    for i, row in enumerate(rows):
        line = f"row {i + 1}"
        if len(row) != len(header):
            raise _fail(path, "format", f"{line} has {len(row)} fields, the header {len(header)}")
        sid = row[at["sample_id"]].strip()
        if sid in seen:
            raise _fail(
                path, "sample_id", f"{line}: {sid!r} repeats row {seen[sid]} (duplicate row)"
            )
        seen[sid] = i + 1
        rec = by_id.get(sid)
        if rec is None:
            other = re.fullmatch(rf"{kind.prefix}(\d+)-\d+", sid)
            if other and int(other.group(1)) != plan["seed"]:
                raise _fail(
                    path,
                    "sample_id",
                    f"{line}: {sid!r} is from a sample drawn with seed {other.group(1)}, not "
                    f"the plan's seed {plan['seed']}",
                )
            raise _fail(path, "sample_id", f"{line}: {sid!r} is not a {kind.what} of the plan")
        for side in kind.keys:
            value = row[at[side]].strip()
            if value != str(rec[side]):
                raise _fail(
                    path,
                    side,
                    f"{line}: {value!r} is not the id the plan sampled as {sid} "
                    f"({rec[side]!r}): unknown id",
                )
        verdict = _verdict(row[at["verdict"]])
        if verdict == "":
            raise _fail(
                path,
                "verdict",
                f"{line} ({sid}): empty (not reviewed); one of {', '.join(kind.verdicts)}",
            )
        if verdict not in kind.verdicts:
            raise _fail(
                path,
                "verdict",
                f"{line} ({sid}): {row[at['verdict']].strip()!r} is not one of "
                + ", ".join(kind.verdicts),
            )
        verdicts[sid] = verdict
    missing = [sid for sid in by_id if sid not in verdicts]
    if missing:
        raise _fail(
            path,
            "sample_id",
            f"{len(missing)} {kind.what if len(missing) == 1 else kind.whats} of the plan "
            f"{'are' if len(missing) != 1 else 'is'} not on the form (first: {missing[0]})",
        )
    tallies = []
    for s in strata:
        ids = sample.loc[sample["stratum"] == s.label, "sample_id"]
        got = [verdicts[sid] for sid in ids]
        tallies.append(
            Tally(s.label, s.size, len(got), got.count(kind.counted), got.count(CANNOT_TELL))
        )
    return tallies


# --- scored pairs (label-free estimates) -----------------------------------------------------


def read_scores(
    path: Path, score_column: str, link_column: str, threshold: float | None
) -> pd.DataFrame:
    """A table of scored candidate pairs (CSV or parquet, e.g. Splink's predictions) as the
    ``score`` and ``link`` columns :func:`bench.audit.modelbased.model_estimate` reads;
    declared links are those with ``score >= threshold`` when it is given, else those whose
    ``link_column`` is true."""
    file = read_file(path)
    where = f"{path}: {score_column}"
    text = file.column(score_column, "posterior")
    try:
        score = text.astype(np.float64)
    except ValueError:
        bad = next(i for i, v in enumerate(text) if not _is_number(v))
        raise ConfigError(where, f"row {bad + 1}: {text[bad]!r} is not a number") from None
    _refuse_first(where, ~((score >= 0) & (score <= 1)), text, "is not a probability in [0, 1]")
    if threshold is not None:
        if not 0 <= threshold <= 1:
            raise ConfigError("--threshold", f"{threshold} is not in [0, 1]")
        link = score >= threshold
    else:
        flags = np.char.lower(file.column(link_column, "declared link").astype(str))
        unknown = ~np.isin(flags, list(_TRUE + _FALSE))
        problem = "is not true/false (or give --threshold)"
        _refuse_first(f"{path}: {link_column}", unknown, flags, problem)
        link = np.isin(flags, list(_TRUE))
    return pd.DataFrame({"score": score, "link": link})


_TRUE = ("true", "1", "yes", "t")
_FALSE = ("false", "0", "no", "f", "")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
