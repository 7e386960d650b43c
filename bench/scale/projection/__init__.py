"""Projection to national scale: expected false matches and misses of deterministic rules for a
list of N queries against a register of M records, computed two ways.

Simulations run at demo scale (10k queries against ~10^5 register records). A rule on an exact key
(first + last name + date of birth; surname prefix + ZIP) falsely matches a query with every
register record of *another* person that shares the key, so its false matches per query grow with
the number of register records that could share it: far fewer at demo scale than against a
national register. This module projects them to a target scale (by default the IRS-ICE case:
N = 1.28M queries, M = 160M register records) in two ways that must agree where both apply:

(a) **Analytic** (birthday problem on the rule's keys). For a list person and a register person
    of different households, P(they share the key) is computed from name-frequency tables under
    independence of the key's parts within strata of name-origin group, sex and birth year:
    ``sum_{c,c'} w_list(c) w_register(c') prod_parts S_part(c, c')``, where ``S_part(c, c')`` is
    the probability that a person of stratum c and one of stratum c' share that part
    (``sum_k p(k|c) p(k|c')``). Expected false matches per query are
    ``(M - mated) x P(share) x P(same geographic unit)`` plus a *household* term: other adults of
    the query person's own household sharing the key (Jr/Sr namesakes, a spouse with the same
    surname), each in the register with probability M / adults. Two sources: the vendored Census
    and SSA tables (``census``) or a generated population's own frequencies (``population``).
    Geographic factors (P(same ZIP), same address) and the household term come from the
    scenario's population model in both. Keys are assumed clean (no noise).
(b) **Simulated**. The scenario's rules run on tasks generated at several population sizes and
    seeds, each also with random sub-registers (``fractions``). False matches of each pass are
    split into household and other ones and fitted with a Poisson log-linear law
    ``FP / query = a x^b`` in the pass's *scale variable* x, then projected with intervals from
    the fit's uncertainty (Monte Carlo over the fitted parameters).

Which scale variable matters (see :func:`assumptions`):

* keys of names and dates only: ``x = M`` (collisions per query grow linearly with the register);
* keys with a ZIP or address: ``x = M / population`` (register density). At fixed people per ZIP
  the number of ZIPs grows with the population, so per-query collisions do *not* grow with M but
  with the register records per ZIP; sub-registers vary it, population sizes do not;
* keys with an identifier (TIN): ``x = M / population`` too. A number belongs to one person: a
  list record carrying someone else's (borrowed, a relative's) matches that person if that
  person is in the register, a chance that grows with the density, not with M. (Fitted in M,
  the few such matches of a small simulation were extrapolated 1.5x too high at 1:10 of real
  scale, against a direct simulation there: ``linkrisk project irs-ice --against RUN``);
* household false matches: ``x = M / population`` as well (the chance a housemate is in the
  register), whatever the key.

Details of the simulated fit: counts are post-stratified to the list's intended group mix (a small
population cannot supply a 75% Hispanic list: its non-register pool runs out); ZIP and address
passes are fitted on the largest population only (a few ZIPs are less unequal than many, which
biases small populations low); the variance of counts on nested sub-registers is inflated by
:func:`nesting_factor`; the exponent is free where the counts identify it, else fixed at 1 (and
always also reported fixed at 1). First+last+DOB collisions are about 1e-10 per pair, so
simulations of ~10^5 records see almost none: only an upper bound, which is why (a) is needed.

``python -m bench.scale.projection SCENARIO [--sizes ...] [--seeds K]`` prints the table.

Modules, in the order of the data flow: ``keys`` (the target, the rules' passes and keys, the
collision formulas), ``strata`` (collision probabilities by name-origin group, sex and birth
year), ``analytic`` (a pass's analytic rate), ``simulation`` (rules run at several sizes),
``fitting`` (the scale laws), ``estimates`` (the projection table and its assumptions) and
``cli`` (``linkrisk project``).
"""

from __future__ import annotations

from bench.scale.projection.analytic import analytic_rate, pass_pieces
from bench.scale.projection.cli import format_table, main
from bench.scale.projection.estimates import assumptions, project
from bench.scale.projection.fitting import Fit, fit_law, fit_passes, nesting_factor
from bench.scale.projection.keys import (
    APPROACHES,
    DEFAULT_FRACTIONS,
    DEFAULT_SIZES,
    M_REGISTER,
    N_QUERIES,
    US_POPULATION,
    Key,
    PassSpec,
    Target,
    collision_probability,
    expected_false_matches,
    projectable_rules,
    rule_passes,
)
from bench.scale.projection.simulation import Simulation, simulate
from bench.scale.projection.strata import CensusNames, PopulationNames

__all__ = [
    "APPROACHES",
    "DEFAULT_FRACTIONS",
    "DEFAULT_SIZES",
    "M_REGISTER",
    "N_QUERIES",
    "US_POPULATION",
    "CensusNames",
    "Fit",
    "Key",
    "PassSpec",
    "PopulationNames",
    "Simulation",
    "Target",
    "analytic_rate",
    "assumptions",
    "collision_probability",
    "expected_false_matches",
    "fit_law",
    "fit_passes",
    "format_table",
    "main",
    "nesting_factor",
    "pass_pieces",
    "project",
    "projectable_rules",
    "rule_passes",
    "simulate",
]
