"""Finding an ICD-10 code as a doctor types: by the start of a code ("j4", "B50.9") or by words of
its title ("falciparum mal"). Reference data, not clinical: nothing here is audited."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app.core.errors import DomainError
from app.extensions import db
from app.records.models import Icd10Code

MATCHES_MAX = 12
TERM_MAX = 200
_CODE = re.compile(r"^([A-Z][0-9]{2})\.?([0-9])?$")


def search_text(text: str) -> str:
    """Lower-cased, punctuation as spaces: "Essential (primary) hypertension" -> "essential primary hypertension"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split())


def normalise_code(text: str) -> str | None:
    """"j459", "J45.9 " -> "J45.9"; None when it is not shaped like a code."""
    match = _CODE.match(text.strip().upper())
    if match is None:
        return None
    return match.group(1) + (f".{match.group(2)}" if match.group(2) else "")


def category(code: str) -> str:
    return code[:3]


def code_get(code: str) -> Icd10Code | None:
    normalised = normalise_code(code)
    return db.session.get(Icd10Code, normalised) if normalised else None


def codes_search(term: str, *, limit: int = MATCHES_MAX) -> list[Icd10Code]:
    """Codes starting with the term, or whose title holds every word of it, codes first."""
    term = term.strip()[:TERM_MAX]
    words = search_text(term).split()
    if not words:
        return []
    conditions = [and_(*[Icd10Code.title_search.contains(word, autoescape=True) for word in words])]
    prefix = term.upper().replace(" ", "")
    if re.fullmatch(r"[A-Z][0-9.]{0,4}", prefix):
        conditions.append(Icd10Code.code.startswith(prefix, autoescape=True))
        undotted = normalise_code(prefix)  # "J459" typed for "J45.9"
        if undotted:
            conditions.append(Icd10Code.code == undotted)
    return list(db.session.execute(
        select(Icd10Code).where(or_(*conditions)).order_by(Icd10Code.code).limit(limit)).scalars())


def code_resolve(typed: str, *, field: str = "code") -> Icd10Code:
    """The one code the doctor meant: a code ("J45", "j45.9"), a code and its title as picked from
    the list ("J45 Asthma"), or words matching one title only. A DomainError beside `field` otherwise."""
    typed = " ".join(typed.split())
    first = typed.split(" ", 1)[0]
    found = code_get(first)
    if found is not None and (first == typed or search_text(typed) == search_text(found.label)):
        return found
    exact = db.session.execute(
        select(Icd10Code).where(Icd10Code.title_search == search_text(typed))).scalars().all()
    if len(exact) == 1:
        return exact[0]
    matches = codes_search(typed, limit=4)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DomainError(_("No ICD-10 code matches “%(typed)s”.", typed=typed), field=field)
    raise DomainError(_("Several codes match “%(typed)s” (%(examples)s…): type the code.",
                        typed=typed, examples=", ".join(m.code for m in matches[:3])), field=field)
