"""The report's text for runs on user files (``linkrisk evaluate``) that sections share: the
headline sentence, scope and limitations, and :func:`rendered`, which turns a failure to render
what ``raw/`` holds into one line (the *Inputs* and *Examples* sections are in
:mod:`bench.report.sections`).

It reads only what ``raw/`` holds (through :mod:`bench.runs.rundir`), never the user files or
their reader (:mod:`bench.inputs.userfiles`): a report can be rebuilt without the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from synthetic.errors import LinkriskError


def user_headline(info: Mapping[str, Any]) -> str:
    """The report's headline sentence for a run on user files."""
    matched = info.get("queries_with_true_link")
    having = f" ({matched:,} queries have one)" if matched is not None else ""
    return (
        f"{info['queries']:,} query records against a register of "
        f"{info['register_records']:,} records; {info['true_links']:,} true links from the "
        f"given truth{having}. User files, not synthetic: the counts are exact for these files, "
        "and the intervals treat them as a random sample of the cases of interest."
    )


def user_limitations(info: Mapping[str, Any]) -> list[str]:
    """The report's *Scope and limitations* items for a run on user files."""
    out = [
        "- The truth is taken as given: a wrong, missing or shared entity id counts as an error "
        "of the method. Check some false and missed matches by hand (`--include-examples`) "
        "before relying on the counts.",
        "- Intervals cover the sampling error of the counts only, as if these records were a "
        "random sample of the cases of interest; they say nothing about how representative the "
        "files are.",
        "- Fields not mapped are missing on both sides (`unit`: no unit): rules that compare "
        "them declare nothing, scored methods treat them as missing. See *Inputs*.",
        "- Key collisions grow with register size: rules that collide on common keys (name + "
        "date of birth, name + ZIP) would make more false matches against a larger register.",
        "- The files carry no facts about the people behind the records (households, twins, "
        "name origin) and no record of data-entry errors: false-match causes and subgroups "
        "other than register presence are not computed.",
    ]
    if info.get("training_scenario"):
        out.append(
            "- Supervised methods were trained on the synthetic scenario "
            f"`{info['training_scenario']}`, never on these files: their rates here measure how "
            "that model carries over."
        )
    return out


def rendered(render: Callable[..., list[str]], path: Path, field: str, *args: Any) -> list[str]:
    """``render(*args)``, or one line naming ``path`` and ``field`` when what ``raw/`` holds
    there is not what linkrisk writes (an edited run directory): the structure was checked by
    :class:`bench.runs.rundir.RunDir`; the rest is checked by the one function that reads it."""
    try:
        return render(*args)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        problem = f"{type(exc).__name__}: {exc}"[:200]
        where = f"{path}: {field}" if field else str(path)
        raise LinkriskError(f"{where}: not what linkrisk writes ({problem})") from None
