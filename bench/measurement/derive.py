"""Derived tables of a run, recomputed from its ``raw/`` alone (through
:class:`bench.runs.rundir.RunDir`): metrics per replicate, pooled summaries with intervals, and
the attribution of every false and missed match to its cause."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import pandas as pd

from bench.measurement.attributed import attributed_false_matches
from bench.measurement.causes import (
    NoiseIndex,
    RegisterRows,
    attribute_false_matches,
    attribute_missed_matches,
    cause_table,
    compared_fields,
)
from bench.measurement.metrics import confusion
from bench.measurement.uncertainty import across_replicates, with_intervals
from bench.runs.rundir import PEOPLE_FILES, RunDir
from synthetic.errors import LinkriskError

#: What the confusion reads of a method's pairs.
_CONFUSION_COLUMNS = ["query_row", "register_row", "link", "address_match"]


def _confusions(
    run: RunDir, replicate: int, sizes: Mapping[str, Any], considered: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Every method's confusion for the pairs and truth of ``replicate`` (0: the run's own; k:
    ``raw/replicates/<k>``) against ``sizes`` (queries, register_records). ``considered``:
    each blocked method's number of considered pairs when the stored pairs are the compact
    replicate form (declared links + considered true links); else the pairs file's rows.

    Each method's pairs are read in that compact form (:meth:`RunDir.compact_pairs`): all the
    confusion reads of them, where the run's own seed keeps every considered pair (at the real
    size 156 million a method)."""
    truth = run.truth(replicate)
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    rows = []
    for name in run.info["methods"]:
        meta = run.method(name)
        pairs = run.compact_pairs(name, replicate, _CONFUSION_COLUMNS)
        q, r = pairs["query_row"].to_numpy(), pairs["register_row"].to_numpy()
        link = pairs["link"].to_numpy()
        conf = confusion(
            q[link],
            r[link],
            tq,
            tr,
            sizes["queries"],
            sizes["register_records"],
            considered=(q, r) if meta["uses_blocking"] else None,
            address_match=pairs["address_match"].to_numpy()[link],
        )
        if meta["uses_blocking"]:
            n = run.pair_count(name, replicate) if considered is None else considered[name]
            conf = dataclasses.replace(conf, candidates=int(n))
        rows.append(
            {"method": name, "kind": meta["kind"], "resolve": meta["resolve"], **conf.as_dict()}
        )
    return pd.DataFrame(rows)


#: Columns of the per-path table (``paths.csv``) beyond the pooled rates: FN, FNMR and blocking
#: loss are about true links, which belong to no path.
PATH_DROP = ("FN", "FNMR", "blocking_loss", "FN_per_1M", "true_links", "candidates")


def _path_confusions(run: RunDir, replicate: int, sizes: Mapping[str, Any]) -> pd.DataFrame:
    """Per method with named paths and per path: the confusion of the links that path declared
    (each declared link counted under the one path that declared it)."""
    truth = run.truth(replicate)
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    rows = []
    for name in run.info["methods"]:
        paths = run.method(name).get("paths")
        if paths is None:
            continue
        links = run.links(name, replicate, ["query_row", "register_row", "path", "address_match"])
        q, r = links["query_row"].to_numpy(), links["register_row"].to_numpy()
        which, agree = links["path"].to_numpy(), links["address_match"].to_numpy()
        for k, path in enumerate(paths):
            on = which == k
            conf = confusion(
                q[on], r[on], tq, tr, sizes["queries"], sizes["register_records"],
                address_match=agree[on],
            )  # fmt: skip
            rows.append({"method": name, "path": path, **conf.as_dict()})
    return pd.DataFrame(rows)


def compute_paths(run_dir: Path) -> pd.DataFrame | None:
    """Declared links per path of every method with named paths (:meth:`Method.path_names`),
    pooled over the replicates with the intervals of :func:`compute_summary` (one row per method
    and path, in path order); None when no method of the run names paths."""
    run = RunDir(run_dir)
    info = run.info
    if not any("paths" in run.method(name) for name in info["methods"]):
        return None
    frames = [_path_confusions(run, 0, info).assign(replicate=1)]
    for k in range(1, info["replicates"]):
        frames.append(_path_confusions(run, k, run.replicate(k)).assign(replicate=k + 1))
    per = pd.concat(frames, ignore_index=True)
    out = across_replicates(per, by=("method", "path"))
    drop = [c for c in out.columns if c in PATH_DROP or c.startswith(("FNMR_", "FN_per_1M"))]
    return out.drop(columns=drop)


def compute_metrics(run_dir: Path, per: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recompute every method's metrics of the run's own seed (replicate 1) from raw outputs
    alone, each rate with its 95% Wilson interval (``<rate>_lo``, ``<rate>_hi``); ``per``: the
    run's :func:`compute_replicates`, whose replicate 1 it is (computed when not given)."""
    if per is None:
        run = RunDir(run_dir)
        return with_intervals(_confusions(run, 0, run.info, None))
    first = per[per["replicate"] == 1].drop(columns=["replicate", "seed"])
    return with_intervals(first.reset_index(drop=True))


def compute_replicates(run_dir: Path) -> pd.DataFrame:
    """Every method's metrics in every replicate (``replicate`` 1..K, ``seed``), from raw/."""
    run = RunDir(run_dir)
    info = run.info
    frames = [_confusions(run, 0, info, None).assign(replicate=1, seed=info["seed"])]
    for k in range(1, info["replicates"]):
        rinfo = run.replicate(k)
        frame = _confusions(run, k, rinfo, rinfo["considered_pairs"])
        frames.append(frame.assign(replicate=k + 1, seed=rinfo["seed"]))
    out = pd.concat(frames, ignore_index=True)
    return out[["replicate", "seed", *(c for c in out.columns if c not in ("replicate", "seed"))]]


def compute_summary(run_dir: Path, per: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per method: counts pooled over the replicates, each rate with its interval, spread and
    upper 95% bound (:func:`bench.measurement.uncertainty.across_replicates`); ``per``: the run's
    :func:`compute_replicates`, computed when not given."""
    per = compute_replicates(run_dir) if per is None else per
    summary = across_replicates(per)
    kinds = per.drop_duplicates("method").set_index("method")[["kind", "resolve"]]
    summary.insert(1, "kind", summary["method"].map(kinds["kind"]))
    summary.insert(2, "resolve", summary["method"].map(kinds["resolve"]))
    return summary


def read_register_people(run_dir: Path) -> RegisterRows:
    """``raw/register_people.parquet`` read by register row position. Only the records in a
    true link or an attributed false match are stored (every declared link's, unless a method's
    false matches are sampled: :mod:`bench.measurement.attributed`); the others read as
    all-missing rows, which attribution never looks up
    (:class:`bench.measurement.causes.RegisterRows`: nothing is held per register record)."""
    run = RunDir(run_dir)
    return RegisterRows(run.register_people(), run.info["register_records"])


#: Raw files that error attribution needs besides the truth and the methods' pairs.
CAUSE_INPUTS: tuple[str, ...] = PEOPLE_FILES


class Attribution(NamedTuple):
    """One method's error attribution (:func:`attribute_run`)."""

    #: :func:`bench.measurement.causes.attribute_false_matches` of the attributed false matches:
    #: all of them, or a seeded sample when there are more than
    #: :data:`bench.measurement.attributed.ATTRIBUTED_FALSE_MATCHES`.
    false_matches: pd.DataFrame
    #: :func:`bench.measurement.causes.attribute_missed_matches`: every missed match.
    missed_matches: pd.DataFrame
    #: F: the method's false matches; more than the rows of ``false_matches`` when sampled.
    false_total: int

    @property
    def sampled(self) -> bool:
        """Whether the false matches are attributed from a sample (their counts estimates)."""
        return self.false_total > len(self.false_matches)


#: Every method's :class:`Attribution`, in run order.
Attributions: TypeAlias = dict[str, Attribution]


def attribute_run(run_dir: Path) -> Attributions | None:
    """Every method's error attribution from a run's raw outputs: method -> :class:`Attribution`
    (false matches of :func:`bench.measurement.causes.attribute_false_matches`, missed matches
    of :func:`bench.measurement.causes.attribute_missed_matches`, the number of false matches),
    in run order; None when ``raw/`` predates the files attribution needs
    (:data:`CAUSE_INPUTS`).

    The false matches attributed are those of
    :func:`bench.measurement.attributed.attributed_false_matches`: a seeded sample for a method
    with more than its bound, the same the run kept the register people of."""
    run = RunDir(run_dir)
    if not run.has_people():
        return None
    truth = run.truth()
    query_people = run.query_people()
    register_people = read_register_people(run_dir)
    # One index of the noise log, shared by every method.
    noise = NoiseIndex(run.noise_log())
    out = {}
    for name in run.info["methods"]:
        meta = run.method(name)
        # declared links and considered true links: all that the missed matches' blocking
        # loss reads of the considered pairs
        pairs = run.compact_pairs(name, columns=["query_row", "register_row", "link"])
        link = pairs["link"].to_numpy(bool)
        links = pairs if link.all() else pairs[link]  # a rule's pairs are its links: no copy
        fields = compared_fields(meta["params"])
        chosen = attributed_false_matches(name, links, truth)
        # A register person not kept would read as missing and silently fall to `similar`: a
        # run that kept the people of another sample (or of none) is refused instead.
        kept = register_people.stored(chosen.register_row)
        if not kept.all():
            row = int(chosen.register_row[~kept][0])
            raise LinkriskError(
                f"{run.raw / 'register_people.parquet'}: register_row {row}: the register "
                f"person of a false match of {name} to attribute is not stored "
                f"({int((~kept).sum()):,} such false matches)"
            )
        fp = attribute_false_matches(
            (chosen.query_row, chosen.register_row),
            truth,
            query_people,
            register_people,
            noise,
            fields=fields,
        )
        fn = attribute_missed_matches(
            links,
            truth,
            noise,
            considered=pairs if meta["uses_blocking"] else None,
            fields=fields,
        )
        out[name] = Attribution(fp, fn, chosen.total)
    return out


def compute_causes(
    run_dir: Path, attributions: Attributions | None = None
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The false-match and missed-match cause tables of a run (from ``attributions`` of
    :func:`attribute_run`, computed from ``raw/`` when not given).

    Returns ``(false_matches, missed_matches)``: :func:`bench.measurement.causes.cause_table` rows
    for every
    method (in run order, a leading ``method`` column), or None when ``raw/`` predates the files
    attribution needs (:data:`CAUSE_INPUTS`). When some method's false matches are attributed
    from a sample, the false-match table estimates its counts and carries, for every method,
    the columns ``sampled``, ``of`` and the counts' intervals (``cause_table``'s ``of``); a run
    without a sampled method has exactly the columns it always had.
    """
    attributions = attribute_run(run_dir) if attributions is None else attributions
    if attributions is None:
        return None
    info = RunDir(run_dir).info
    sampled = any(a.sampled for a in attributions.values())

    def stack(k: int) -> pd.DataFrame:
        frame = pd.concat(
            [
                cause_table(
                    a[k], info["queries"], of=a.false_total if k == 0 and sampled else None
                ).assign(method=m)
                for m, a in attributions.items()
            ],
            ignore_index=True,
        )
        return frame[["method", *(c for c in frame.columns if c != "method")]]

    return stack(0), stack(1)
