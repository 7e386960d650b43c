"""Noise: the errors that make two records of the same person look different.

Modelled on pseudopeople (https://pseudopeople.readthedocs.io): every noise type is declared once,
in the registry ``NOISE``, as a small pure function. The harness (:func:`apply_noise`) decides
which cells (or, for joint types, which rows) to corrupt; the function only transforms the values it
is given. Each (side, noise type, field) draws from its own named random stream
(:func:`synthetic.rng.stream`), so adding a noise type, or changing the rate of one, never changes
which cells the others select. Scenario configs are checked against the registry by
:func:`validate_noise_spec`; unknown names and keys are rejected.

The package: ``harness`` (the registry, config validation, :func:`apply_noise` and the helpers
the noise functions share), the catalogue in ``names``, ``addresses``, ``values`` and
``identifiers`` (imported here in that order, which is the order types are applied in), and
``rows`` (row noise).

Adding a noise type: write ``fn(values, rng, params, ctx)`` that returns a Series (or DataFrame, for
``joint=True``) with the same index (and columns) as ``values``, decorate it with
:func:`noise_type` in the catalogue module it belongs to, and the contract tests in
``tests/test_noise.py`` cover it automatically.

Row noise (whole records omitted or recorded twice, pseudopeople's "row noise") has a registry of
its own, :data:`ROW_NOISE`, applied to a register's people before the cell noise
(:func:`apply_row_noise`, module ``rows``).

Default rates: pseudopeople uses a cell probability of 0.01 for every column noise type by default
(``ColumnNoiseType.cell_probability = 0.01`` in ``pseudopeople/entity_types.py``); the other
defaults are labelled *assumption* where they are declared.
"""

from __future__ import annotations

# isort: off
# The catalogue registers its types when imported, in this order: the order they are applied in.
import synthetic.noise.harness
import synthetic.noise.names
import synthetic.noise.addresses
import synthetic.noise.values
import synthetic.noise.identifiers  # noqa: F401 (each import registers its types)

# isort: on

from synthetic.noise.addresses import (
    DIRECTIONALS,
    INVALID_FORMS,
    STREET_SUFFIXES,
    address_format,
    invalid_address,
    mailing_address,
    other_address,
    stale_address,
)
from synthetic.noise.harness import (
    ADDRESS_FIELDS,
    IDENTIFIER_FIELDS,
    NAME_FIELDS,
    NOISE,
    RECORD_FIELDS,
    UNITS,
    NoiseContext,
    NoiseSetting,
    NoiseType,
    apply_noise,
    noise_type,
    required_attributes,
    validate_noise_spec,
)
from synthetic.noise.identifiers import (
    TIN_TYPO_KINDS,
    borrowed_ssn,
    household_tin,
    stale_itin,
    tin_typo,
)
from synthetic.noise.names import (
    SURNAME_FORMS,
    diacritics,
    middle_as_first,
    name_order,
    previous_surname,
    surname_form,
    transliteration,
)
from synthetic.noise.rows import (
    ROW_NOISE,
    RowNoiseSetting,
    RowNoiseType,
    apply_row_noise,
    duplicate_record,
    omit_record,
    row_noise_type,
    validate_row_noise_spec,
)
from synthetic.noise.values import dob_placeholder, dob_swap, missing, nickname, typo

__all__ = [
    "ADDRESS_FIELDS",
    "DIRECTIONALS",
    "IDENTIFIER_FIELDS",
    "INVALID_FORMS",
    "NAME_FIELDS",
    "NOISE",
    "RECORD_FIELDS",
    "ROW_NOISE",
    "STREET_SUFFIXES",
    "SURNAME_FORMS",
    "TIN_TYPO_KINDS",
    "UNITS",
    "NoiseContext",
    "NoiseSetting",
    "NoiseType",
    "RowNoiseSetting",
    "RowNoiseType",
    "address_format",
    "apply_noise",
    "apply_row_noise",
    "borrowed_ssn",
    "diacritics",
    "dob_placeholder",
    "dob_swap",
    "duplicate_record",
    "household_tin",
    "invalid_address",
    "mailing_address",
    "middle_as_first",
    "missing",
    "name_order",
    "nickname",
    "noise_type",
    "omit_record",
    "other_address",
    "previous_surname",
    "required_attributes",
    "row_noise_type",
    "stale_address",
    "stale_itin",
    "surname_form",
    "tin_typo",
    "transliteration",
    "typo",
    "validate_noise_spec",
    "validate_row_noise_spec",
]
