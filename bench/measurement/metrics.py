"""Accuracy metrics: pure functions of declared links, considered pairs and the truth.

Definitions (used in every report):

* **declared links**: pairs the method (after multiple-hit resolution) says are the same person.
* **TP**: declared links between records of the same person.
* **FP (false match)**: a declared link between records of different people.
* **FN (missed match)**: a true link that was not declared.
* **false discovery rate (FDR)** = FP / declared links.
* **wrong-person rate** = queried people linked to at least one wrong record / queried people.
* **false non-match rate (FNMR)** = missed true links / true links.
* **blocking loss** = true links never proposed as candidates (a part of FN; zero for rules,
  which are evaluated on all pairs).
* **verified rate** = queries with at least one declared link / queries.
* **per 1,000,000 queries**: a count divided by the number of queries, times 1,000,000.

Disclosure outcomes (a declared link discloses the register record's address), counted apart:

* **wrong-person disclosures** = ``wrong_people``: queries with a declared link to a register
  record of someone other than the person sought.
* **unverified-address disclosures** = queries with a declared link whose two records' addresses
  do not *match* (:data:`ADDRESS_MATCH_TEXT`), whoever the register record belongs to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synthetic.arrays import isin_sorted, mark_sorted, unique_ints

PER = 1_000_000

#: What an address *match* is (:meth:`bench.linkage.fields.PreparedTask.address_match`).
ADDRESS_MATCH_TEXT = (
    "the query's and the register record's house number, street and 5-digit ZIP code are all "
    "present and equal after the project's normalization (upper case, accents, apostrophes and "
    "periods dropped, other punctuation and repeated blanks as one blank; ZIP: its first five "
    "digits); the unit, city and state are not compared, and a part missing on either side "
    '(e.g. an address field holding only "Unknown Address" or a bare ZIP code) is not a match'
)

DEFINITIONS: dict[str, str] = {
    "declared": "declared links: pairs the method declares to be the same person",
    "TP": "true matches: declared links between records of the same person",
    "FP": "false matches: declared links between records of different people",
    "FN": "missed matches: true links not declared",
    "FDR": "false discovery rate = FP / declared links",
    "wrong_person_rate": "queried people linked to at least one wrong record / queried people",
    "FNMR": "false non-match rate = missed true links / true links",
    "blocking_loss": "true links never proposed as candidates (part of FN; 0 for rules)",
    "verified_rate": "queries with at least one declared link / queries",
    "FP_per_1M": "FP per 1,000,000 queries = FP / queries x 1,000,000",
    "FN_per_1M": "FN per 1,000,000 queries = FN / queries x 1,000,000",
    "wrong_people_per_1M": "queried people linked to a wrong record, per 1,000,000 queries",
    "wrong-person disclosure": "a declared link whose register record (whose address it "
    "discloses) belongs to someone other than the person sought; counted per query: "
    "wrong_people, wrong_person_rate and wrong_people_per_1M above",
    "unverified_address": "unverified-address disclosures: queries with at least one declared "
    "link whose addresses do not match, where the addresses match when "
    + ADDRESS_MATCH_TEXT
    + ". This is the question of the court's legal finding in the IRS-ICE case (an address "
    "disclosed on an address field that did not match), not whether the person was the right "
    "one: a link can be the right person on an unverified address, or a wrong person on a "
    "matching one, and the two are counted apart",
    "unverified_address_rate": "unverified_address / queries",
    "unverified_address_share": "unverified_address / verified: the share of the queries with a "
    "disclosure whose disclosure rested on an address that did not match",
    "unverified_address_per_1M": "unverified_address per 1,000,000 queries",
}


@dataclass(frozen=True)
class Confusion:
    """Counts and rates of one method on one task (NaN where a denominator is zero)."""

    queries: int
    register_records: int
    true_links: int
    candidates: int
    declared: int
    TP: int
    FP: int
    FN: int
    blocking_loss: int
    wrong_people: int
    verified: int
    unverified_address: int
    FDR: float
    wrong_person_rate: float
    FNMR: float
    verified_rate: float
    unverified_address_rate: float
    unverified_address_share: float
    FP_per_1M: float
    FN_per_1M: float
    wrong_people_per_1M: float
    unverified_address_per_1M: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def confusion(
    link_query: np.ndarray,
    link_register: np.ndarray,
    truth_query: np.ndarray,
    truth_register: np.ndarray,
    n_queries: int,
    n_register: int,
    considered: tuple[np.ndarray, np.ndarray] | None = None,
    address_match: np.ndarray | None = None,
) -> Confusion:
    """Compute the confusion of declared links against the truth.

    ``considered`` holds the pairs a blocked method was shown (its candidates); true links
    outside it count as blocking loss. ``None`` means every pair was considered (rules).
    ``address_match``: per declared link (aligned with ``link_query``), whether the two records'
    addresses match; None: no link is counted as an unverified-address disclosure.
    """
    width = max(n_register, 1)
    links = unique_ints(np.asarray(link_query, np.int64) * width + link_register)
    truth = unique_ints(np.asarray(truth_query, np.int64) * width + truth_register)
    is_true = mark_sorted(links, truth)
    tp = int(is_true.sum())
    fp = int(links.size - tp)
    fn = int(truth.size - tp)
    lost = 0
    n_candidates = n_queries * n_register
    if considered is not None:
        cand = unique_ints(np.asarray(considered[0], np.int64) * width + considered[1])
        lost = int((~isin_sorted(truth, cand)).sum())
        n_candidates = int(cand.size)
    wrong_people = int(unique_ints(links[~is_true] // width).size)
    verified = int(unique_ints(links // width).size)
    unverified = 0
    if address_match is not None:
        unmatched = ~np.asarray(address_match, dtype=bool)
        unverified = int(unique_ints(np.asarray(link_query, np.int64)[unmatched]).size)
    return Confusion(
        queries=n_queries,
        register_records=n_register,
        true_links=int(truth.size),
        candidates=n_candidates,
        declared=int(links.size),
        TP=tp,
        FP=fp,
        FN=fn,
        blocking_loss=lost,
        wrong_people=wrong_people,
        verified=verified,
        unverified_address=unverified,
        FDR=_ratio(fp, links.size),
        wrong_person_rate=_ratio(wrong_people, n_queries),
        FNMR=_ratio(fn, truth.size),
        verified_rate=_ratio(verified, n_queries),
        unverified_address_rate=_ratio(unverified, n_queries),
        unverified_address_share=_ratio(unverified, verified),
        FP_per_1M=_ratio(fp * PER, n_queries),
        FN_per_1M=_ratio(fn * PER, n_queries),
        wrong_people_per_1M=_ratio(wrong_people * PER, n_queries),
        unverified_address_per_1M=_ratio(unverified * PER, n_queries),
    )
