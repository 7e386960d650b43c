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

from bench.audit.design import Stratum, draw, form_order
from bench.audit.estimate import CANNOT_TELL, DIFFERENT, VERDICTS, Tally
from bench.inputs.userfiles import ColumnMap, read_file, read_records
from bench.runs.rundir import MAP_FIELDS
from bench.runs.writers import write_json
from synthetic.config import read_input
from synthetic.errors import ConfigError

PLAN_FILE = "plan.json"
FORM_FILE = "review_form.csv"
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
_SEED_LINE = re.compile(r"plan seed (\d+)")


@dataclass(frozen=True)
class Links:
    """Declared links read from a links file: ids and stratum per link, and the file's facts."""

    path: Path
    sha256: str
    frame: pd.DataFrame  # query_id, register_id, stratum
    columns: tuple[str, str]
    strata_columns: tuple[str, ...]


def read_links(
    path: Path,
    columns: tuple[str, str] = ("query_id", "register_id"),
    strata: Sequence[str] = (),
) -> Links:
    """Read and check a links file (module docstring)."""
    file = read_file(path)
    out: dict[str, np.ndarray] = {}
    for key, column in zip(("query_id", "register_id"), columns, strict=True):
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
    dup = frame.duplicated(["query_id", "register_id"], keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        first = int(
            np.flatnonzero(
                (frame["query_id"] == frame["query_id"].iloc[i]).to_numpy()
                & (frame["register_id"] == frame["register_id"].iloc[i]).to_numpy()
            )[0]
        )
        raise ConfigError(
            f"{path}: {columns[0]}",
            f"row {i + 1} repeats the link of row {first + 1} "
            f"({frame['query_id'].iloc[i]!r} -> {frame['register_id'].iloc[i]!r})",
        )
    return Links(path, file.sha256, frame, columns, tuple(strata))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """A stratum's links in the draw's fixed order (ids as text, sorted)."""
    return frame.sort_values(["query_id", "register_id"], kind="stable").reset_index(drop=True)


def sample_links(links: Links, plan: Sequence[Stratum], seed: int) -> pd.DataFrame:
    """The sampled links: sample_id, stratum, position, query_id, register_id (in draw order:
    strata by label, positions ascending)."""
    blocks = []
    for s in plan:
        members = _ordered(links.frame[links.frame["stratum"] == s.label])
        pos = draw(s.label, s.size, s.sample, seed)
        block = members.iloc[pos][["query_id", "register_id"]].reset_index(drop=True)
        block.insert(0, "position", pos)
        block.insert(0, "stratum", s.label)
        blocks.append(block)
    sample = pd.concat(blocks, ignore_index=True)
    width = len(str(len(sample)))
    # "S" first: a spreadsheet would read "7-05" as a date
    sample.insert(0, "sample_id", [f"S{seed}-{k + 1:0{width}d}" for k in range(len(sample))])
    return sample


def sample_sha256(sample: pd.DataFrame) -> str:
    """A hash of the sample (ids and strata), to recognize it."""
    text = sample[["sample_id", "stratum", "query_id", "register_id"]].to_csv(index=False)
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
) -> dict[str, Any]:
    """The JSON document of ``plan.json``."""
    return {
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


def form_frame(
    sample: pd.DataFrame, seed: int, records: Mapping[str, pd.DataFrame] | None
) -> pd.DataFrame:
    """The review form's rows (shuffled; records side by side when given)."""
    form = sample.iloc[form_order(len(sample), seed)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "sample_id": form["sample_id"],
            "verdict": "",
            "note": "",
            "query_id": form["query_id"],
            "register_id": form["register_id"],
        }
    )
    if records:
        rows = {}
        for side in ("query", "register"):
            index = pd.Index(records[side]["record_id"].astype(str))
            rows[side] = index.get_indexer(form[f"{side}_id"])
        for name in MAP_FIELDS[1:]:
            q, r = records["query"][name], records["register"][name]
            if all(((c.isna()) | (c.astype(str) == "")).all() for c in (q, r)):
                continue  # not mapped (or empty) in both files
            for side, col in (("query", q), ("register", r)):
                values = col.to_numpy(dtype=object)[rows[side]]
                out[f"{side}_{name}"] = ["" if v is None else str(v) for v in values]
    return out


def check_records(
    links: Links, records: Mapping[str, pd.DataFrame], files: Mapping[str, Path]
) -> None:
    """Every link's ids name a record of the record files."""
    for side, column in zip(("query", "register"), links.columns, strict=True):
        ids = records[side]["record_id"].astype(str)
        missing = ~links.frame[f"{side}_id"].isin(ids).to_numpy()
        if missing.any():
            i = int(np.argmax(missing))
            raise ConfigError(
                f"{links.path}: {column}",
                f"row {i + 1}: {links.frame[f'{side}_id'].iloc[i]!r} is not a record_id of "
                f"{files[side]} ({int(missing.sum())} such row{'s' if missing.sum() != 1 else ''})",
            )


def load_records(query: Path, register: Path, cmap: ColumnMap) -> dict[str, pd.DataFrame]:
    """Both record files, as ``linkrisk evaluate`` reads them (no truth needed)."""
    return {
        "query": read_records(query, cmap, "query"),
        "register": read_records(register, cmap, "register"),
    }


def write_plan_dir(tmp: Path, doc: dict[str, Any], form: pd.DataFrame, plan_path: str) -> None:
    """Write ``plan.json``, the form and its README into ``tmp`` (a staging directory)."""
    write_json(doc, tmp / PLAN_FILE)
    lines = list(FORM_NOTICE)
    if doc["records"] is None:  # no record files given: ids only, the reviewer looks them up
        lines[1] = "# This form holds record ids only (no record files were given to the plan)."
    notice = "\n".join(lines).format(n=len(form), seed=doc["seed"]) + "\n"
    buf = io.StringIO()
    form.to_csv(buf, index=False, lineterminator="\n")
    (tmp / FORM_FILE).write_text(notice + buf.getvalue(), encoding="utf-8")
    readme = FORM_README_TEXT.format(
        form=FORM_FILE, n=len(form), seed=doc["seed"], links=doc["links"]["file"],
        plan=plan_path,
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
    try:
        seed = int(doc["seed"])
        strata = [
            Stratum(str(s["stratum"]), int(s["links"]), int(s["sample"]), s["prior"])
            for s in doc["strata"]
        ]
        sample = pd.DataFrame(doc["sample"], columns=["sample_id", "stratum", "position",
                                                      "query_id", "register_id"])  # fmt: skip
        float(doc["target"]["confidence"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, "fields", f"missing or malformed field ({exc})") from None
    for s in strata:
        got = sample.loc[sample["stratum"] == s.label, "position"].to_numpy()
        if len(got) != s.sample or not np.array_equal(
            np.asarray(got, dtype=np.int64), draw(s.label, s.size, s.sample, seed)
        ):
            raise _fail(path, "sample", f"stratum {s.label!r}: is not the sample seed {seed} draws")
    if sample_sha256(sample) != doc.get("sample_sha256"):
        raise _fail(path, "sample_sha256", "does not match the sample (the plan was edited)")
    return {**doc, "_path": path, "_strata": strata, "_sample": sample}


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


def read_form(path: Path, plan: Mapping[str, Any]) -> list[Tally]:
    """A filled review form checked against ``plan`` (:func:`read_plan`), tallied per stratum."""
    header, rows, seed = _read_form_csv(path)
    for column in ("sample_id", "query_id", "register_id", "verdict"):
        if column not in header:
            raise _fail(path, column, "column missing from the header")
    at = {c: header.index(c) for c in ("sample_id", "query_id", "register_id", "verdict")}
    if seed is not None and seed != plan["seed"]:
        raise _fail(
            path, "seed", f"the form was drawn with seed {seed}, the plan with seed {plan['seed']}"
        )
    sample: pd.DataFrame = plan["_sample"]
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
            other = re.fullmatch(r"S(\d+)-\d+", sid)
            if other and int(other.group(1)) != plan["seed"]:
                raise _fail(
                    path,
                    "sample_id",
                    f"{line}: {sid!r} is from a sample drawn with seed {other.group(1)}, not "
                    f"the plan's seed {plan['seed']}",
                )
            raise _fail(path, "sample_id", f"{line}: {sid!r} is not a sampled link of the plan")
        for side in ("query_id", "register_id"):
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
                f"{line} ({sid}): empty (not reviewed); one of {', '.join(VERDICTS)}",
            )
        if verdict not in VERDICTS:
            raise _fail(
                path,
                "verdict",
                f"{line} ({sid}): {row[at['verdict']].strip()!r} is not one of "
                + ", ".join(VERDICTS),
            )
        verdicts[sid] = verdict
    missing = [sid for sid in by_id if sid not in verdicts]
    if missing:
        raise _fail(
            path,
            "sample_id",
            f"{len(missing)} sampled link{'s' if len(missing) != 1 else ''} of the plan "
            f"{'are' if len(missing) != 1 else 'is'} not on the form (first: {missing[0]})",
        )
    tallies = []
    for s in plan["_strata"]:
        ids = sample.loc[sample["stratum"] == s.label, "sample_id"]
        got = [verdicts[sid] for sid in ids]
        tallies.append(
            Tally(s.label, s.size, len(got), got.count(DIFFERENT), got.count(CANNOT_TELL))
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
    outside = np.flatnonzero(~((score >= 0) & (score <= 1)))
    if len(outside):
        i = outside[0]
        raise ConfigError(where, f"row {i + 1}: {text[i]!r} is not a probability in [0, 1]")
    if threshold is not None:
        if not 0 <= threshold <= 1:
            raise ConfigError("--threshold", f"{threshold} is not in [0, 1]")
        link = score >= threshold
    else:
        flags = np.char.lower(file.column(link_column, "declared link").astype(str))
        known = np.isin(flags, list(_TRUE + _FALSE))
        if not known.all():
            i = int(np.argmin(known))
            raise ConfigError(
                f"{path}: {link_column}",
                f"row {i + 1}: {flags[i]!r} is not true/false (or give --threshold)",
            )
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
