"""Reads for pages that show who a patient is (identifiers only: not audited clinical reads)."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from app.core.phones import phone_digits_for_search, phone_e164_or_none
from app.extensions import db
from app.records.models import Patient

NAME_WORDS_MAX = 4  # more words than a name has is not a name search


def _name_matches(words: list[str]):
    """Every word typed starts a word of the name, in any order: "kamau daniel", "dan kam" and
    "daniel kamau" all find Daniel Kamau."""
    return and_(*[or_(Patient.name_search.startswith(word, autoescape=True),
                      Patient.name_search.contains(" " + word, autoescape=True)) for word in words])


def patients_search(term: str, *, limit: int = 10) -> list[Patient]:
    """Find a patient by words of the name (any order, each the start of a word), a phone number in
    any form ("0722 333 444", "+254722333444", "254722333444", or part of it) or an MRN, in a few
    keystrokes. A record merged into another is left out: the kept one is found instead."""
    term = " ".join(term.split())
    if len(term) < 2:
        return []
    needle = term.casefold()
    words = needle.split()
    conditions = [func.lower(Patient.family_name).startswith(needle, autoescape=True)]
    if len(words) <= NAME_WORDS_MAX:
        conditions.append(_name_matches(words))
    whole_number = phone_e164_or_none(term)
    if whole_number:
        conditions.append(Patient.phone == whole_number)
    digits = phone_digits_for_search(term)
    if digits:
        conditions.append(Patient.phone.contains(digits, autoescape=True))
    if term.upper().startswith("MA"):
        conditions.append(Patient.mrn == term.upper())
    return list(db.session.execute(
        select(Patient).where(or_(*conditions), Patient.merged_into_id.is_(None)).order_by(Patient.family_name, Patient.given_name).limit(limit)
    ).scalars())
