"""Likely duplicates of a person about to be registered: one record per person.

A record is a likely duplicate when
  - it has the same phone number (both in E.164), or
  - it has the same date of birth and a similar name.
Two names are similar when every word of the shorter name (after casefolding and dropping accents
and punctuation: "Zoë O'Neil" -> zoe, oneil) matches a different word of the other, in any order,
where two words match when they are equal, when one is the other's start of at least 3 letters
("Dan", "Daniel"), or when they differ by one typo (one letter added, dropped, changed or two
swapped) and have at least 4 letters. So "Kamau Daniel" is similar to "Daniel Kamau" and "Danel
Kamau"; "Mary Wanjiru" is not similar to "Mary Kamau" (a shared given name on the same birthday
is common enough that the desk would learn to ignore the warning).
The date of birth narrows the candidates in SQL (indexed); names are compared in Python on those
few rows."""
from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from app.core.phones import phone_e164_or_none
from app.extensions import db
from app.records.models import DuplicateDismissal, Patient

CANDIDATES_MAX = 50
PREFIX_MIN, TYPO_MIN = 3, 4


def name_words(*parts: str | None) -> list[str]:
    text = unicodedata.normalize("NFKD", " ".join(p for p in parts if p)).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalpha() or c.isspace() or c == "-" else "" for c in text)
    return [w for w in cleaned.replace("-", " ").split() if w]


def _one_typo_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < TYPO_MIN:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def words_match(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return (len(short) >= PREFIX_MIN and long.startswith(short)) or _one_typo_apart(a, b)


def names_similar(a: list[str], b: list[str]) -> bool:
    """Every word of the shorter name matches its own word of the longer one (any order)."""
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == 1 and len(long) > 1:
        return False  # one word alone (a given name) is not enough to call two people one
    unused = list(long)

    def place(i: int) -> bool:  # small lists: a plain backtracking match
        if i == len(short):
            return True
        for j, word in enumerate(unused):
            if word is not None and words_match(short[i], word):
                unused[j] = None
                if place(i + 1):
                    return True
                unused[j] = word
        return False

    return place(0)


def likely_duplicates(*, given_name: str, family_name: str, phone: str | None,
                      date_of_birth: dt.date | None, exclude_id: int | None = None) -> list[Patient]:
    """Records that may be this person already (see the module's rule), best first: same phone and
    birthday, then same phone, then same birthday and a similar name. Identifiers only."""
    number = phone_e164_or_none(phone)
    conditions = []
    if number:
        conditions.append(Patient.phone == number)
    if date_of_birth:
        conditions.append(Patient.date_of_birth == date_of_birth)
    if not conditions:
        return []
    query = select(Patient).where(or_(*conditions), Patient.merged_into_id.is_(None))
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    words = name_words(given_name, family_name)
    found = []
    for patient in db.session.execute(query.order_by(Patient.id).limit(CANDIDATES_MAX)).scalars():
        same_phone = bool(number) and patient.phone == number
        same_birthday = bool(date_of_birth) and patient.date_of_birth == date_of_birth
        similar = same_birthday and names_similar(words, name_words(patient.given_name, patient.family_name))
        if same_phone or similar:
            found.append((0 if same_phone and same_birthday else 1 if same_phone else 2, patient))
    return [patient for _rank, patient in sorted(found, key=lambda pair: pair[0])]


PAIR_CANDIDATES_MAX = 500
PAIRS_SHOWN_MAX = 30


@dataclasses.dataclass(frozen=True)
class DuplicatePair:
    """Two records that may be one person; `first` is the older record. `same_phone`/`same_birthday`
    say why they were paired (a birthday alone never pairs two records: the names must be similar)."""

    first: Patient
    second: Patient
    same_phone: bool
    same_birthday: bool


def duplicate_pairs(*, limit: int = PAIRS_SHOWN_MAX) -> list[DuplicatePair]:
    """Likely duplicate pairs among the records not merged, newest first, leaving out the pairs an
    admin judged two people: the database pairs records sharing a phone or a birthday (both indexed;
    at most PAIR_CANDIDATES_MAX pairs, the newest records first, so a page never scans every pair of
    patients), then the name rule runs on those."""
    older, newer = aliased(Patient), aliased(Patient)
    same_phone = and_(older.phone.is_not(None), older.phone == newer.phone)
    same_birthday = and_(older.date_of_birth.is_not(None), older.date_of_birth == newer.date_of_birth)
    rows = db.session.execute(
        select(older, newer).join(newer, and_(newer.id > older.id, or_(same_phone, same_birthday)))
        .where(older.merged_into_id.is_(None), newer.merged_into_id.is_(None),
               ~exists().where(DuplicateDismissal.first_id == older.id, DuplicateDismissal.second_id == newer.id))
        .order_by(newer.id.desc(), older.id.desc()).limit(PAIR_CANDIDATES_MAX)).all()
    pairs = []
    for first, second in rows:
        phone = first.phone is not None and first.phone == second.phone
        birthday = first.date_of_birth is not None and first.date_of_birth == second.date_of_birth
        if phone or (birthday and names_similar(name_words(first.given_name, first.family_name),
                                                name_words(second.given_name, second.family_name))):
            pairs.append(DuplicatePair(first=first, second=second, same_phone=phone, same_birthday=birthday))
            if len(pairs) == limit:
                break
    return pairs
