"""The front desk corrects who a patient is: names, date of birth, sex, phone, national ID (identifiers,
never the chart). Each change is audited with the fields that changed and their old and new values
(identifiers, in the row's encrypted detail; a national ID only as "changed", as it is kept encrypted).

Two desks editing one record at once: the form carries the version of the details it was opened with
(a keyed digest of them), and a save whose version is no longer the record's is refused (the row is
locked while it is compared and written), so the second desk never silently undoes the first's change."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.services import audit_access, audit_denied
from app.core.actor import Actor
from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.phones import phone_clean
from app.extensions import db
from app.records.models import Patient

EDITABLE = ("given_name", "family_name", "date_of_birth", "sex", "phone", "national_id")
EDITORS = frozenset({Role.RECEPTION.value, Role.ADMIN.value})
SEXES = frozenset({"female", "male", "other"})
DETAIL_VALUE_MAX = 60


class StaleDetails(DomainError):
    """The details changed since the form was opened."""


def details_version(patient: Patient) -> str:
    """The version of a record's details, as its edit form carries it: keyed, so the hidden field
    tells nothing about the national ID it covers."""
    values = json.dumps([None if getattr(patient, f) is None else str(getattr(patient, f)) for f in EDITABLE])
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"patient-details:" + values.encode(), hashlib.sha256).hexdigest()[:32]


def _shown(field: str, value) -> str:
    if field == "national_id":
        return "…"
    return "-" if value in (None, "") else repr(str(value)[:DETAIL_VALUE_MAX])


def patient_details_update(*, actor: Actor, patient_id: int, version: str, given_name: str, family_name: str,
                           date_of_birth: dt.date | None, sex: str | None, phone: str | None,
                           national_id: str | None) -> list[str]:
    """Save the desk's corrections; returns the names of the fields that changed (none: nothing saved,
    nothing audited). Refused: not the desk or an admin, a stale version, a merged record, bad values."""
    if actor.role not in EDITORS:
        audit_denied(actor=actor, reason="not the front desk", patient_id=patient_id, target="patient.update")
        raise AccessDenied(_("Only the front desk can change a patient's details."))
    patient = db.session.execute(select(Patient).where(Patient.id == patient_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one_or_none()
    if patient is None:
        raise NotFound(_("No such patient."))
    if patient.merged_into_id is not None:
        raise StaleDetails(_("This record was merged into another: change the details there."))
    if not hmac.compare_digest(details_version(patient), version or ""):
        raise StaleDetails(_("Someone else changed these details since you opened them. "
                             "Here they are as saved now: make your change again."))
    new = {"given_name": (given_name or "").strip(), "family_name": (family_name or "").strip(),
           "date_of_birth": date_of_birth, "sex": sex or None, "phone": phone_clean(phone),
           "national_id": (national_id or "").strip() or None}
    if not new["given_name"]:
        raise DomainError(_("Enter the given name."), field="given_name")
    if not new["family_name"]:
        raise DomainError(_("Enter the family name."), field="family_name")
    if date_of_birth and date_of_birth > dt.date.today():
        raise DomainError(_("The date of birth is in the future."), field="date_of_birth")
    if new["sex"] is not None and new["sex"] not in SEXES:
        raise DomainError(_("Choose one of the listed values."), field="sex")
    changed = [f for f in EDITABLE if getattr(patient, f) != new[f]]
    if not changed:
        return []
    if "national_id" in changed and new["national_id"]:
        taken = db.session.execute(select(Patient.id).where(Patient.national_id_index == new["national_id"],
                                                            Patient.id != patient_id)).scalar_one_or_none()
        if taken is not None:
            raise DomainError(_("A patient with this national ID is already registered."), field="national_id")
    detail = "; ".join(f"{f}: {_shown(f, getattr(patient, f))} -> {_shown(f, new[f])}" for f in changed)
    for field in changed:
        setattr(patient, field, new[field])
    patient.national_id_index = patient.national_id
    patient.name_search = f"{patient.given_name} {patient.family_name}".casefold()
    db.session.flush()
    audit_access(actor=actor, patient_id=patient_id, action="patient.update", reason="administration: " + detail,
                 target="patient_details:" + ",".join(changed))
    return changed
