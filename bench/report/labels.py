"""Words for readers: group codes and metric names as the report's tables and figures show them.

The files (CSV, JSON) keep the codes (``api``, ``wrong_person_rate``); only what a person reads
(titles, axes, table headers, tick labels) goes through :func:`label_text` and
:data:`METRIC_NAMES`.
"""

from __future__ import annotations

from synthetic.names import GROUP_NAMES

#: Metric codes in words (short enough for an axis label or a table header).
METRIC_NAMES: dict[str, str] = {
    "wrong_person_rate": "wrong-person rate",
    "FNMR": "missed-link rate",
    "FDR": "share of links that are wrong",
    "FMR": "false match rate per comparison",
    "FPIR": "share of absent people linked",
    "unverified_address_rate": "unverified-address rate",
    "unverified_address_share": "share of links with an unverified address",
    "verified_rate": "share of queries linked",
    "recall": "share of true links found",
    "precision": "share of links that are right",
}

#: Subgroup labels in words; labels not listed are shown as they are.
LABEL_NAMES: dict[str, str] = dict(GROUP_NAMES)


def label_text(label: object) -> str:
    """A subgroup label as a reader sees it (``api`` -> ``Asian or Pacific Islander``)."""
    text = str(label)
    return LABEL_NAMES.get(text, text)


def metric_text(metric: str) -> str:
    """A metric code in words (``wrong_person_rate`` -> ``wrong-person rate``)."""
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


#: Subgroup dimensions in a few words (for titles; the full definitions are in the tables).
DIMENSION_NAMES: dict[str, str] = {
    "group": "name-origin group",
    "surname_band": "commonness of the surname",
    "mover": "whether the household moved",
    "household": "household",
    "in_register": "whether the person is in the register",
}


def dimension_text(dimension: str) -> str:
    """A subgroup dimension in a few words (``surname_band`` -> ``commonness of the surname``)."""
    return DIMENSION_NAMES.get(dimension, dimension.replace("_", " "))


#: Record fields in words, where the code is not already a word.
FIELD_NAMES: dict[str, str] = {"dob": "date of birth", "zip": "ZIP code"}


def field_text(field: str) -> str:
    """A record field in words (``dob`` -> ``date of birth``, ``first_name`` -> ``first name``)."""
    return FIELD_NAMES.get(field, field.replace("_", " "))
