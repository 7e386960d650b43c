"""The one reader of a run directory's raw outputs (``raw/``), validated before any use.

A run directory is an input like any other: it may be truncated, edited by hand or by a tool,
or come from somewhere else. :class:`RunDir` owns the format of ``raw/`` and refuses, with one
line naming the file, the field and the problem (:class:`~synthetic.errors.LinkriskError`),
anything the report could not compute from honestly:

1. :meth:`RunDir.verify` first: the SHA-256 of every input file (``raw/*`` and ``config.json``)
   against ``manifest.json``, no unlisted raw file, before anything is parsed;
2. then every accessor checks what it returns: JSON shapes and types (``run.json``, each
   method's JSON, each replicate's ``run.json``), parquet columns and types, no missing values,
   row numbers within the table sizes ``run.json`` states, non-negative counts, the truth's size
   equal to ``true_links``, no duplicate pairs.

:meth:`RunDir.validate` does both for every file, so a caller that validated once may read the
files by any means afterwards. Typed accessors: :attr:`RunDir.info`, :meth:`RunDir.method`,
:meth:`RunDir.pairs`, :meth:`RunDir.truth`, :meth:`RunDir.replicate`,
:meth:`RunDir.query_people`, :meth:`RunDir.register_people`, :meth:`RunDir.noise_log`,
:attr:`RunDir.config`, :attr:`RunDir.population`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.linkage.methods.base import RESOLVE_MODES
from bench.runs.writers import is_staging_dir, plain_json
from synthetic.arrays import isin_sorted, unique_ints
from synthetic.errors import ConfigError, LinkriskError
from synthetic.scenario import RECORD_FIELDS

#: ``raw/run.json``'s ``source`` of a run on user files (``linkrisk evaluate``).
USER_SOURCE = "user files"
SIDES = ("query", "register")
#: The fields a user run's column map may name, in the order reports list them.
MAP_FIELDS = ("record_id", *RECORD_FIELDS)
#: Record values of a user run's first false and missed matches (only with --include-examples).
EXAMPLES_FILE = "examples.parquet"
#: The terms of the scores of some false matches of methods that explain their scores (synthetic
#: runs always, runs on user files only with --include-examples): bench.tasks.explanations.
EXPLANATIONS = "explanations.parquet"


def is_user_run(info: Mapping[str, Any]) -> bool:
    """True for the ``raw/run.json`` of a run on user files."""
    return info.get("source") == USER_SOURCE


#: Columns of a method's pairs: name -> kind (int, float, bool). ``address_match``: whether the
#: two records' addresses match (:meth:`bench.linkage.fields.PreparedTask.address_match`).
PAIR_COLUMNS = {
    "query_row": "int",
    "register_row": "int",
    "score": "float",
    "accept": "bool",
    "link": "bool",
    "address_match": "bool",
}
#: The column of the pairs of a method with named paths (its JSON's ``paths``): the index of the
#: path that produced each pair.
PATH_COLUMN = "path"
TRUTH_COLUMNS = {"query_row": "int", "register_row": "int"}
NOISE_COLUMNS = {"side": "str", "row": "int", "field": "str", "noise": "str"}
#: Raw files besides the methods' and the replicates': name -> required.
PEOPLE_FILES = ("query_people", "register_people", "noise_log")

_KINDS: dict[str, Callable[[pa.DataType], bool]] = {
    "int": pa.types.is_integer,
    "float": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
    "bool": pa.types.is_boolean,
    "str": lambda t: (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))  # categoricals
    ),
}
_KIND_NAMES = {"int": "integers", "float": "numbers", "bool": "booleans", "str": "text"}


def _fail(path: Path, field: str, problem: str) -> LinkriskError:
    return LinkriskError(f"{path}: {field}: {problem}" if field else f"{path}: {problem}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path) -> Any:
    """A JSON file, or one line naming it and why it cannot be read (missing, not UTF-8, not
    JSON, NaN or Infinity, which linkrisk never writes)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail(path, "", "missing: not a complete run directory") from None
    except OSError as exc:
        raise _fail(path, "", f"cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise _fail(path, "", "not UTF-8 text") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise _fail(path, "", f"not valid JSON ({exc})") from None


# --------------------------------------------------------------------------- JSON shapes
def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Doc:
    """Typed reads of one JSON object, each failing with the file and the field's path."""

    def __init__(self, path: Path, doc: Any, where: str = "") -> None:
        self.path, self.where = path, where
        if not isinstance(doc, dict):
            raise _fail(path, where, f"expected an object, got {_type_name(doc)}")
        self.doc = doc

    def _field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, required: bool = True) -> Any:
        if key not in self.doc:
            if required:
                raise _fail(self.path, self._field(key), "missing")
            return None
        return self.doc[key]

    def integer(self, key: str, minimum: int = 0, *, required: bool = True, null: bool = False):
        value = self.get(key, required)
        if value is None and (null or not required):
            return value
        if not _is_int(value):
            got = _type_name(value)
            raise _fail(self.path, self._field(key), f"expected an integer, got {got}")
        if value < minimum:
            raise _fail(self.path, self._field(key), f"{value} is below {minimum}")
        return value

    def text(self, key: str, *, required: bool = True, choices: Sequence[str] = ()) -> Any:
        value = self.get(key, required)
        if value is None and not required:
            return value
        if not isinstance(value, str):
            raise _fail(self.path, self._field(key), f"expected text, got {_type_name(value)}")
        if choices and value not in choices:
            raise _fail(self.path, self._field(key), f"{value!r} is not one of {list(choices)}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise _fail(self.path, self._field(key), f"expected a boolean, got {_type_name(value)}")
        return value

    def obj(self, key: str, *, required: bool = True) -> _Doc | None:
        value = self.get(key, required)
        if value is None and not required:
            return None
        return _Doc(self.path, value, self._field(key))

    def int_list(self, key: str, *, required: bool = True) -> list[int] | None:
        value = self.get(key, required)
        if value is None and not required:
            return None
        if not isinstance(value, list):
            raise _fail(self.path, self._field(key), f"expected a list, got {_type_name(value)}")
        for i, v in enumerate(value):
            if not _is_int(v) or v < 0:
                raise _fail(self.path, f"{self._field(key)}[{i}]", "not a non-negative integer")
        return value

    def counts(self, key: str) -> None:
        """An object of objects of non-negative integers (e.g. ``noise_cells``)."""
        outer = self.obj(key, required=False)
        if outer is None:
            return
        for side in outer.doc:
            inner = outer.obj(side)
            assert inner is not None
            for name in inner.doc:
                inner.integer(name)


def _method_name(path: Path, i: int, name: Any) -> str:
    """A method name that is a plain file name: it names ``raw/<name>.json`` and ``.parquet``."""
    if not isinstance(name, str):
        raise _fail(path, f"methods[{i}]", f"expected text, got {_type_name(name)}")
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise _fail(path, f"methods[{i}]", f"{name!r} is not a method name")
    return name


# --------------------------------------------------------------------------- the reader
class RunDir:
    """A run directory whose raw outputs are read only through checks (see the module)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.raw = self.path / "raw"

    # ------------------------------------------------------------------ integrity
    def verify(self) -> None:
        """Refuse a directory that is not a complete, unaltered run: a staging directory, one
        without ``raw/run.json`` or ``manifest.json``, or one whose input files are missing,
        unlisted or differ from the SHA-256 that ``manifest.json`` lists."""
        if not self.path.is_dir():
            raise LinkriskError(f"{self.path}: no such run directory")
        if is_staging_dir(self.path):
            raise LinkriskError(
                f"{self.path}: the staging directory of an unfinished run, not a result"
            )
        if not self.raw.is_dir() or not (self.raw / "run.json").is_file():
            raise _fail(self.raw / "run.json", "", "missing: not a complete run directory")
        manifest = self.path / "manifest.json"
        if not manifest.is_file():
            raise _fail(manifest, "", "missing: not a complete run directory")
        files = _Doc(manifest, read_json(manifest)).obj("files")
        assert files is not None
        listed = set()
        for rel, digest in sorted(files.doc.items()):
            parts = PurePosixPath(rel).parts
            if PurePosixPath(rel).is_absolute() or ".." in parts or not parts:
                raise _fail(manifest, f"files.{rel}", "not a path inside the run directory")
            if parts[0] != "raw" and rel != "config.json":
                continue  # derived files: the report rewrites them
            if not isinstance(digest, str):
                raise _fail(manifest, f"files.{rel}", f"expected text, got {_type_name(digest)}")
            path = self.path / rel
            if not path.is_file():
                raise _fail(path, "", "missing (listed in manifest.json)")
            try:
                actual = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise _fail(path, "", f"cannot read ({exc.strerror})") from None
            if actual != digest:
                raise _fail(path, "", "SHA-256 differs from manifest.json (changed or corrupt)")
            listed.add(path)
        for path in sorted(p for p in self.raw.rglob("*") if not p.is_dir()):
            if path not in listed:
                raise _fail(path, "", "not listed in manifest.json (added or altered since)")

    def validate(self) -> RunDir:
        """:meth:`verify`, then read and check every raw file and ``config.json``; return self."""
        self.verify()
        info = self.info
        _ = self.config, self.population, self.scenario_text
        for name in info["methods"]:
            self.method(name)
            self.pairs(name)
        self.truth()
        for k in range(1, info["replicates"]):
            self.replicate(k)
            self.truth(k)
            for name in info["methods"]:
                self.pairs(name, k)
        if self.has_people():
            self.query_people()
            self.register_people()
            self.noise_log()
        self.examples()
        self.explanations()
        return self

    def examples(self) -> pd.DataFrame | None:
        """``raw/examples.parquet`` of a run on user files with ``--include-examples`` (None
        when absent): a method and an error kind per row, and both records' values."""
        path = self.raw / EXAMPLES_FILE
        if not path.exists():
            return None
        frame = _table(path, {"method": "str", "error": "str"}, None, {})
        values = [f"{side}_{f}" for side in SIDES for f in MAP_FIELDS]
        missing = [c for c in values if c not in frame.columns]
        if missing:
            raise _fail(path, missing[0], "missing (not the examples linkrisk writes)")
        return frame

    def explanations(self) -> pd.DataFrame | None:
        """``raw/explanations.parquet`` (None when absent): per method, example and term of a
        score, its match weight and both records' values."""
        path = self.raw / EXPLANATIONS
        if not path.exists():
            return None
        required = {
            "method": "str", "example": "int", "score": "float", "term": "str", "level": "int",
            "level_label": "str", "weight": "float", "query_value": "str",
            "register_value": "str", "query_row": "int", "register_row": "int",
        }  # fmt: skip
        frame = _table(path, required, None, self._sizes(0))
        unknown = sorted(set(frame["method"]) - set(self.info["methods"]))
        if unknown:
            raise _fail(path, "method", f"{unknown[0]!r} is not a method of the run")
        return frame

    # ------------------------------------------------------------------ JSON
    @cached_property
    def info(self) -> dict[str, Any]:
        """``raw/run.json``, checked; ``replicates`` always present (default 1)."""
        path = self.raw / "run.json"
        d = _Doc(path, read_json(path))
        d.text("scenario")
        d.integer("seed")
        d.integer("training_seed", null=True)
        queries = d.integer("queries", 1)
        d.integer("register_records", 1)
        true_links = d.integer("true_links")
        if true_links > queries:
            raise _fail(path, "true_links", f"{true_links} exceeds the {queries} queries")
        d.integer("replicates", 1, required=False)
        d.integer("candidates")
        d.int_list("blocking_pass_pairs")
        d.text("source")
        engine = d.text("engine", required=False)  # before anything reads config.json
        if is_user_run(d.doc):
            self._check_user_info(d)
        else:
            d.integer("population", 1)
            d.counts("noise_cells")
        parameters = self._configured(engine)[2]
        if parameters is not None and d.get("parameters", required=False) != parameters:
            raise _fail(path, "parameters", "differ from the scenario in config.json")
        methods = d.get("methods")
        not_run = d.get("not_run", required=False) or {}
        if not isinstance(not_run, dict) or not all(
            isinstance(v, str) and v for v in not_run.values()
        ):
            raise _fail(path, "not_run", "expected {method: reason} with one-line reasons")
        if not isinstance(methods, list) or not (methods or not_run):
            raise _fail(path, "methods", f"expected a non-empty list, got {_type_name(methods)}")
        names = [_method_name(path, i, m) for i, m in enumerate([*methods, *not_run])]
        if len(set(names)) != len(names):
            raise _fail(path, "methods", "a method is listed twice (or both run and not run)")
        return {**d.doc, "replicates": d.doc.get("replicates", 1)}

    def _check_user_info(self, d: _Doc) -> None:
        """What ``run.json`` of a run on user files adds (:mod:`bench.inputs.userfiles`); the
        report checks the rest of ``inputs`` by rendering it
        (:mod:`bench.report.sections.inputs`)."""
        d.text("command")
        d.integer("queries_with_true_link", required=False, null=True)
        d.text("training_scenario", required=False)
        if "include_examples" in d.doc:
            d.boolean("include_examples")
        inputs = d.obj("inputs")
        assert inputs is not None
        for side in ("query", "register"):
            one = inputs.obj(side)
            assert one is not None
            one.text("file")
            one.text("sha256")
            one.integer("rows")
            one.integer("unreadable_dates", required=False)
        truth = inputs.obj("truth")
        assert truth is not None
        if "pairs" in truth.doc:
            pairs = truth.obj("pairs")
            assert pairs is not None
            pairs.text("file")
            pairs.text("sha256")
            pairs.integer("rows")
            columns = truth.get("columns")
            if not (isinstance(columns, list) and len(columns) == 2):
                raise _fail(d.path, "inputs.truth.columns", "expected two column names")
        else:
            column = truth.obj("column")
            assert column is not None
            if not column.doc or not all(s in SIDES for s in column.doc):
                raise _fail(d.path, "inputs.truth.column", "expected {side: column}")
            for side in column.doc:
                column.text(side)

    def method(self, name: str) -> dict[str, Any]:
        """``raw/<name>.json``: the method's metadata, checked."""
        if name not in self._methods:
            raise _fail(self.raw / "run.json", "methods", f"no method {name!r}")
        return self._methods[name]

    @cached_property
    def _methods(self) -> dict[str, dict[str, Any]]:
        out = {}
        not_run = self.info.get("not_run", {})
        for name in (*self.info["methods"], *not_run):
            path = self.raw / f"{name}.json"
            d = _Doc(path, read_json(path))
            if name in not_run and d.text("not_run") != not_run[name]:
                raise _fail(path, "not_run", "differs from run.json's not_run")
            if d.text("name") != name:
                raise _fail(path, "name", f"{d.doc['name']!r} is not the file's method {name!r}")
            d.text("kind")
            d.text("summary", required=False)
            d.text("resolve", choices=RESOLVE_MODES)
            d.boolean("uses_blocking")
            d.obj("params")
            paths = d.get("paths", required=False)
            if paths is not None and (
                not isinstance(paths, list)
                or not paths
                or not all(isinstance(p, str) and p for p in paths)
                or len(set(paths)) != len(paths)
            ):
                raise _fail(path, "paths", "expected a non-empty list of distinct path names")
            configured = self._parsed[1].get(name)
            if configured is None:
                raise _fail(path, "name", f"{name!r} is not a method of config.json")
            for key, value in configured.items():
                if d.doc.get(key) != value:  # the method that ran is the configured one
                    raise _fail(path, key, "differs from the method configured in config.json")
            if "paths" in d.doc and "paths" not in configured:
                raise _fail(path, "paths", "differs from the method configured in config.json")
            out[name] = d.doc
        return out

    def replicate(self, k: int) -> dict[str, Any]:
        """``raw/replicates/<k>/run.json`` (k = 1 .. replicates - 1), checked."""
        if not 1 <= k < self.info["replicates"]:
            raise _fail(self.raw / "run.json", "replicates", f"no replicate {k}")
        path = self.raw / "replicates" / str(k) / "run.json"
        d = _Doc(path, read_json(path))
        d.integer("seed")
        queries = d.integer("queries", 1)
        d.integer("register_records", 1)
        if d.integer("true_links") > queries:
            raise _fail(path, "true_links", f"exceeds the {queries} queries")
        considered = d.obj("considered_pairs")
        assert considered is not None
        for name in self.info["methods"]:
            blocked = self.method(name)["uses_blocking"]
            considered.integer(name, null=not blocked)
        return d.doc

    @cached_property
    def config(self) -> dict[str, Any]:
        """``config.json``: the scenario (or, for user files, the blocking, methods and column
        map), checked by the parsers that accepted it before the run."""
        return self._parsed[0]

    @property
    def _parsed(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        return self._configured(self.info.get("engine"))

    @functools.cache  # noqa: B019  (one RunDir reads one run; it lives as long as its caller)
    def _configured(
        self, engine: str | None
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """(config.json, each configured method's JSON as the runner writes it when run on
        ``engine`` (``linkrisk run --engine``), the scenario's effective parameters or None
        for user files)."""
        from bench.linkage.blocking import validate_blocking
        from bench.linkage.config import parse_benchmark, parse_methods
        from bench.linkage.methods.base import use_engine
        from synthetic.scenario import effective_parameters

        path = self.path / "config.json"
        d = _Doc(path, read_json(path))
        scenario = d.obj("scenario")
        assert scenario is not None
        scenario.text("description", required=False)
        parameters = None
        try:
            if "evaluate" in d.doc:  # a run on user files: no scenario sections
                d.obj("evaluate")
                validate_blocking(d.get("blocking"), "blocking")
                methods = parse_methods(d.get("methods"), "methods")
            else:
                bench = parse_benchmark(d.doc, str(path))
                methods, parameters = (
                    bench.methods,
                    _plain(effective_parameters(bench.scenario)),
                )
            if engine is not None:
                use_engine(methods, engine, "engine")
        except ConfigError as exc:
            where = self.raw / "run.json" if exc.where == "engine" else path
            raise _fail(where, exc.where, exc.problem) from None
        metas = {m.name: _plain(m.meta()) for m in methods}
        return d.doc, metas, parameters

    @cached_property
    def population(self) -> dict[str, Any] | None:
        """``raw/population.json`` (the population's facts), or None when the run has none."""
        path = self.raw / "population.json"
        if not path.exists():
            return None
        doc = _Doc(path, read_json(path)).doc
        from synthetic.summary import summary_markdown

        try:  # a summary is checked by the one function that reads it
            summary_markdown(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            problem = f"{type(exc).__name__}: {exc}"[:200]
            raise _fail(path, "", f"not a population summary linkrisk writes ({problem})") from None
        return doc

    @cached_property
    def scenario_text(self) -> str | None:
        """``raw/scenario.toml`` (the scenario file as run, whose comments cite the sources of
        its values), or None when the run has none."""
        path = self.raw / "scenario.toml"
        if not path.exists():
            return None
        try:
            text = path.read_bytes().decode("utf-8")
            tomllib.loads(text)
        except UnicodeDecodeError:
            raise _fail(path, "", "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise _fail(path, "", f"invalid TOML ({exc})") from None
        return text

    # ------------------------------------------------------------------ tables
    def _sizes(self, replicate: int) -> dict[str, int]:
        info = self.info if replicate == 0 else self.replicate(replicate)
        return {"query": info["queries"], "register": info["register_records"]}

    def _dir(self, replicate: int) -> Path:
        if replicate == 0:
            return self.raw
        self.replicate(replicate)  # checks k
        return self.raw / "replicates" / str(replicate)

    def truth(self, replicate: int = 0) -> pd.DataFrame:
        """The true links (query_row, register_row) of the run (0) or of a replicate (1..)."""
        path = self._dir(replicate) / "truth.parquet"
        frame = _table(path, TRUTH_COLUMNS, None, self._sizes(replicate))
        info = self.info if replicate == 0 else self.replicate(replicate)
        if len(frame) != info["true_links"]:
            raise _fail(path, "", f"{len(frame)} rows, but run.json states "
                        f"{info['true_links']} true_links")  # fmt: skip
        _no_duplicates(path, frame, ["query_row", "register_row"])
        return frame

    def _pairs_file(self, name: str, replicate: int) -> tuple[Path, dict[str, str], dict[str, int]]:
        """A method's pairs file, its required columns and the run's sizes, every check of the
        file made once while it is unchanged (:func:`_check_pairs`)."""
        paths = self.method(name).get("paths")
        path = self._dir(replicate) / f"{name}.parquet"
        required = PAIR_COLUMNS if paths is None else {**PAIR_COLUMNS, PATH_COLUMN: "int"}
        sizes = self._sizes(replicate)
        if (_file_identity(path) if path.exists() else None) not in _CHECKED:
            # checked a batch at a time, once while the file is unchanged, then only the
            # columns asked for read (at the real size a method's table runs to 156 million
            # pairs, read by every section)
            _check_pairs(path, required, paths, sizes)
            _CHECKED.add(_file_identity(path))
        return path, required, sizes

    def pairs(
        self, name: str, replicate: int = 0, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """A method's considered pairs (query_row, register_row, score, accept, link,
        address_match, and ``path`` for a method with named paths), of the run (0) or of a
        replicate (1..); ``columns``: only these."""
        path, required, sizes = self._pairs_file(name, replicate)
        if columns is None:
            return _table(path, required, None, sizes)
        return _table(path, {c: required[c] for c in columns if c in required}, columns, sizes)

    def links(
        self, name: str, replicate: int = 0, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """A method's declared links: the rows of :meth:`pairs` whose ``link`` is true, read
        :data:`CHECK_ROWS` rows at a time (at the real size the scored methods considered 156
        million pairs each and declared some hundred thousand); ``columns``: only these."""
        path, required, sizes = self._pairs_file(name, replicate)
        wanted = required if columns is None else {c: required[c] for c in columns if c in required}
        table = _kept_rows(
            path,
            columns,
            ["link"],
            lambda batch: batch.column("link").to_numpy(zero_copy_only=False),
        )
        return _table(path, wanted, columns, sizes, table=table)

    def compact_pairs(
        self, name: str, replicate: int = 0, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """What a method's confusion and blocking loss read of its pairs: its declared links
        and the true links among the pairs it considered, read :data:`CHECK_ROWS` rows at a
        time. The form a replicate's pairs are stored in (``raw/replicates/<k>/``); its number
        of considered pairs is :meth:`pair_count`. ``columns``: only these of :meth:`pairs`."""
        path, required, sizes = self._pairs_file(name, replicate)
        wanted = required if columns is None else {c: required[c] for c in columns if c in required}
        truth = self.truth(replicate)
        width = max(sizes["register"], 1)
        tq, tr = truth["query_row"].to_numpy(np.int64), truth["register_row"].to_numpy(np.int64)
        true_keys = unique_ints(tq * width + tr)

        def keep(batch: pa.RecordBatch) -> np.ndarray:
            q = batch.column("query_row").to_numpy().astype(np.int64)
            keys = q * width + batch.column("register_row").to_numpy()
            link = batch.column("link").to_numpy(zero_copy_only=False)
            return link | isin_sorted(keys, true_keys)

        table = _kept_rows(path, columns, ["query_row", "register_row", "link"], keep)
        return _table(path, wanted, columns, sizes, table=table)

    def pair_parts(
        self, name: str, replicate: int = 0, columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """A method's pairs (:meth:`pairs`, ``columns`` only) as frames of at most
        :data:`CHECK_ROWS` rows, in order: for what can be computed a part at a time."""
        path, required, _ = self._pairs_file(name, replicate)
        names = list(required) if columns is None else list(columns)
        with _readable(path):
            file = pq.ParquetFile(path)
            for batch in file.iter_batches(batch_size=CHECK_ROWS, columns=names):
                yield batch.to_pandas()

    def pair_count(self, name: str, replicate: int = 0) -> int:
        """How many pairs a method's pairs file holds: for the run's own seed, the pairs it
        considered (each once: :func:`_check_pairs`)."""
        path, _, _ = self._pairs_file(name, replicate)
        with _readable(path):
            return int(pq.ParquetFile(path).metadata.num_rows)

    def has_people(self) -> bool:
        """Whether ``raw/`` holds the files error attribution needs (older runs do not)."""
        return all((self.raw / f"{name}.parquet").exists() for name in PEOPLE_FILES)

    def query_people(
        self, columns: Sequence[str] | None = None, replicate: int = 0
    ) -> pd.DataFrame:
        """The people behind the query records, one row per query record, of the run (0) or of
        a replicate (1..; see :meth:`has_replicate_people`)."""
        path = self._dir(replicate) / "query_people.parquet"
        frame = _table(path, {}, columns, {})
        info = self.info if replicate == 0 else self.replicate(replicate)
        if len(frame) != info["queries"]:
            raise _fail(path, "", f"{len(frame)} rows, but run.json states "
                        f"{info['queries']} queries")  # fmt: skip
        return frame

    def has_replicate_people(self) -> bool:
        """Whether every replicate keeps its query people (runs before they did do not), so
        that subgroup rates can pool the replicates as the headline does."""
        return all(
            (self._dir(k) / "query_people.parquet").exists()
            for k in range(1, self.info["replicates"])
        )

    def register_people(self) -> pd.DataFrame:
        """The people behind the register records in a true link or an attributed false match
        (every declared link's unless a method's false matches are sampled:
        :mod:`bench.measurement.attributed`; ``register_row`` their position in the register)."""
        path = self.raw / "register_people.parquet"
        sizes = {"register": self.info["register_records"]}
        frame = _table(path, {"register_row": "int"}, None, sizes)
        _no_duplicates(path, frame, ["register_row"])
        return frame

    def noise_log(self) -> pd.DataFrame:
        """The noise applied to each record (side, row, field, noise)."""
        path = self.raw / "noise_log.parquet"
        frame = _table(path, NOISE_COLUMNS, None, {})
        sizes = self._sizes(0)
        side = frame["side"].to_numpy()
        bad = np.flatnonzero(~np.isin(side, list(sizes)))
        if len(bad):
            raise _fail(path, "side", f"row {bad[0]}: {side[bad[0]]!r} is not query or register")
        rows = frame["row"].to_numpy()
        for name, n in sizes.items():
            _in_range(path, "row", rows, n, side == name, f"{name} records")
        return frame


def _plain(value: Any) -> Any:
    """``value`` as it reads back from the JSON the runner writes (through the same writer:
    tuples as lists, NaN as null, ...), to compare with what a run directory holds."""
    return json.loads(json.dumps(plain_json(value), sort_keys=True))


# --------------------------------------------------------------------------- parquet checks
@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """A missing or unreadable parquet file, read in the block, as its one error line."""
    try:
        yield
    except FileNotFoundError:
        raise _fail(path, "", "missing: not a complete run directory") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        problem = " ".join(str(exc).split())[:200]
        raise _fail(path, "", f"not a readable parquet file ({problem})") from None


def _kept_rows(
    path: Path,
    columns: Sequence[str] | None,
    reads: Sequence[str],
    keep: Callable[[pa.RecordBatch], Any],
) -> pa.Table:
    """The rows of a parquet file that ``keep`` marks (a bool per row of a batch, which holds
    ``columns`` (None: all) and ``reads``), ``columns`` only, in the file's order: read
    :data:`CHECK_ROWS` rows at a time, so that what is held is a batch and the rows kept."""
    with _readable(path):
        file = pq.ParquetFile(path)
        names = file.schema_arrow.names if columns is None else list(columns)
        kept = [
            batch.filter(pa.array(keep(batch))).select(names)
            for batch in file.iter_batches(
                batch_size=CHECK_ROWS, columns=list(dict.fromkeys([*names, *reads]))
            )
        ]
        table = pa.Table.from_batches(kept, pa.schema([file.schema_arrow.field(c) for c in names]))
    kept.clear()  # the table's columns alone hold the rows: freed as they are converted
    return table


def _table(
    path: Path,
    required: dict[str, str],
    columns: Sequence[str] | None,
    sizes: dict[str, int],
    table: pa.Table | None = None,
) -> pd.DataFrame:
    """A parquet file with the ``required`` columns of their kinds and no missing values; the
    columns named ``query_row`` / ``register_row`` (or ``register_row`` alone) within the
    ``sizes`` (``query``, ``register``). ``table``: those of its rows already read."""
    if table is None:
        with _readable(path):
            table = pq.read_table(path, columns=None if columns is None else list(columns))
    for column, kind in required.items():
        if column not in table.column_names:
            raise _fail(path, column, "column missing")
        field = table.schema.field(column)
        if table.num_rows == 0:
            continue  # an empty column may have no type (e.g. the noise log of user files)
        if not _KINDS[kind](field.type):
            raise _fail(path, column, f"expected {_KIND_NAMES[kind]}, got {field.type}")
        nulls = table.column(column).null_count
        if nulls:
            raise _fail(path, column, f"{nulls} missing values")
    n_rows = table.num_rows
    try:
        # column by column, each Arrow column freed once converted: not both copies at once
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
    except (pa.ArrowException, ValueError) as exc:
        raise _fail(path, "", f"cannot be read as a table ({exc})") from None
    if n_rows == 0:
        dtypes = {"int": np.int64, "float": np.float64, "bool": bool, "str": object}
        frame = frame.astype({c: dtypes[k] for c, k in required.items()})
    for side, n in sizes.items():
        column = f"{side}_row"
        if column in required:
            _in_range(path, column, frame[column].to_numpy(), n, None, f"{side} records")
    return frame


#: Rows of a pairs file :func:`_check_pairs` checks at a time.
CHECK_ROWS = 4_000_000


def _check_pairs(
    path: Path,
    required: dict[str, str],
    paths: Sequence[Any] | None,
    sizes: dict[str, int],
) -> None:
    """Every check of a method's pairs file (:func:`_table`'s, the paths, no pair twice, links
    accepted, finite scores), made :data:`CHECK_ROWS` rows at a time: what is held is a batch
    and one int64 key per pair, not the whole table."""
    with _readable(path):
        file = pq.ParquetFile(path)
        schema, n_rows = file.schema_arrow, file.metadata.num_rows
    for column, kind in required.items():
        if column not in schema.names:
            raise _fail(path, column, "column missing")
        if n_rows and not _KINDS[kind](schema.field(column).type):
            raise _fail(
                path, column, f"expected {_KIND_NAMES[kind]}, got {schema.field(column).type}"
            )
    limits = {f"{side}_row": (n, f"{side} records") for side, n in sizes.items()}
    if paths is not None:
        limits[PATH_COLUMN] = (len(paths), "paths")
    if sizes["query"] * sizes["register"] >= 2**62:  # one int64 key per pair, below
        raise _fail(path, "", f"too many records to check ({sizes['query']:,} queries, "
                    f"{sizes['register']:,} register records)")  # fmt: skip
    nulls = dict.fromkeys(required, 0)
    outside: dict[str, tuple[int, Any, int]] = {}  # column: (first row, its value, rows)
    first: dict[str, int] = {}  # "link", "score": the first bad row
    bad_score = 0.0
    key = np.empty(n_rows, dtype=np.int64)
    at = 0
    with _readable(path):
        for batch in file.iter_batches(batch_size=CHECK_ROWS, columns=list(required)):
            n = batch.num_rows
            for column in required:
                nulls[column] += batch.column(column).null_count
            if any(nulls.values()):  # reported below; the values cannot be read as numbers
                at += n
                continue
            col = {c: batch.column(c).to_numpy(zero_copy_only=False) for c in required}
            for column, (limit, _) in limits.items():
                hit = np.flatnonzero((col[column] < 0) | (col[column] >= limit))
                if len(hit):
                    row, value, count = outside.get(
                        column, (at + int(hit[0]), col[column][hit[0]], 0)
                    )
                    outside[column] = (row, value, count + len(hit))
            if not outside:
                key[at : at + n] = col["query_row"].astype(np.int64) * sizes["register"]
                key[at : at + n] += col["register_row"]
            hit = np.flatnonzero(col["link"] & ~col["accept"])
            if len(hit) and "link" not in first:
                first["link"] = at + int(hit[0])
            score = col["score"].astype(np.float64, copy=False)
            hit = np.flatnonzero(~np.isfinite(score))
            if len(hit) and "score" not in first:
                first["score"], bad_score = at + int(hit[0]), float(score[hit[0]])
            at += n
    for column, count in nulls.items():
        if count:
            raise _fail(path, column, f"{count} missing values")
    for column, (limit, what) in limits.items():  # the rows, then the paths
        if column == PATH_COLUMN or column not in outside:
            continue
        row, value, count = outside[column]
        raise _fail(path, column, _outside(row, value, limit, what, count))
    if paths is None and PATH_COLUMN in schema.names:
        raise _fail(path, PATH_COLUMN, "a path per pair, but the method names no paths")
    if PATH_COLUMN in outside:
        row, value, count = outside[PATH_COLUMN]
        raise _fail(path, PATH_COLUMN, _outside(row, value, *limits[PATH_COLUMN], count))
    if unique_ints(key).size != key.size:
        dup = np.flatnonzero(pd.Series(key).duplicated().to_numpy())
        raise _fail(path, "query_row+register_row", f"row {dup[0]}: a duplicate of an earlier row")
    if "link" in first:
        raise _fail(path, "link", f"row {first['link']}: a link that was not accepted")
    if "score" in first:
        raise _fail(path, "score", f"row {first['score']}: {bad_score} is not a finite number")


def _outside(row: int, value: Any, n: int, what: str, count: int) -> str:
    return f"row {row}: {value} is outside 0..{n - 1} (the run has {n:,} {what})" + (
        "" if count == 1 else f"; {count:,} such rows"
    )


def _in_range(
    path: Path, column: str, rows: np.ndarray, n: int, where: np.ndarray | None, what: str
) -> None:
    """Row numbers must lie in 0 .. n - 1 (``where``: only these entries)."""
    rows = np.asarray(rows)
    bad = (rows < 0) | (rows >= n)
    if where is not None:
        bad &= where
    hit = np.flatnonzero(bad)
    if len(hit):
        raise _fail(path, column, _outside(int(hit[0]), rows[hit[0]], n, what, len(hit)))


#: Methods' pair files (:func:`_file_identity`) whose every check passed: read again, only the
#: columns asked for are read.
_CHECKED: set[tuple[str, int, int, int]] = set()


def _file_identity(path: Path) -> tuple[str, int, int, int]:
    """The file as it is now: its path, inode, size and modification time."""
    st = path.stat()
    return str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns


def _no_duplicates(path: Path, frame: pd.DataFrame, columns: list[str]) -> None:
    # Row columns (non-negative integers): one key per row and a sort find whether any repeat,
    # several times faster than hashing the rows (millions of pairs in a big run); pandas then
    # names the first repeat, only if there is one.
    parts = [frame[c].to_numpy() for c in columns]
    if all(p.dtype.kind in "iu" and int(p.min(initial=0)) >= 0 for p in parts):
        widths = [int(p.max(initial=0)) + 1 for p in parts]
        if float(np.prod(widths, dtype=np.float64)) < 2**62:
            key = np.zeros(len(frame), dtype=np.int64)
            for p, w in zip(parts, widths, strict=True):
                key *= w
                key += p.astype(np.int64, copy=False)
            if unique_ints(key).size == key.size:
                return
    dup = np.flatnonzero(frame.duplicated(columns).to_numpy())
    if len(dup):
        raise _fail(path, "+".join(columns), f"row {dup[0]}: a duplicate of an earlier row")


__all__ = ["PAIR_COLUMNS", "PATH_COLUMN", "RESOLVE_MODES", "TRUTH_COLUMNS", "RunDir", "read_json"]


def reproduce_command(info: dict[str, Any]) -> str:
    """The one command that reproduces the run."""
    if "command" in info:  # runs on user files (`linkrisk evaluate`) record theirs
        return str(info["command"])
    k = info.get("replicates", 1)
    return f"linkrisk run {info['source']} --seed {info['seed']}" + (
        f" --replicates {k}" if k > 1 else ""
    )
