"""Reads for pages that show who a patient is (identifiers only: not audited clinical reads)."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from app.records.models import Patient
from app.records.services import normalise_phone


def patients_search(term: str, *, limit: int = 10) -> list[Patient]:
    """Find a patient by the start of a name, a phone number or an MRN, in a few keystrokes."""
    term = " ".join(term.split())
    if len(term) < 2:
        return []
    needle = term.casefold()
    conditions = [Patient.name_search.startswith(needle, autoescape=True),
                  func.lower(Patient.family_name).startswith(needle, autoescape=True)]
    phone = normalise_phone(term)
    if phone and sum(c.isdigit() for c in phone) >= 4:
        conditions.append(Patient.phone.contains(phone.lstrip("+0"), autoescape=True))
    if term.upper().startswith("MA"):
        conditions.append(Patient.mrn == term.upper())
    return list(db.session.execute(
        select(Patient).where(or_(*conditions)).order_by(Patient.family_name, Patient.given_name).limit(limit)
    ).scalars())
