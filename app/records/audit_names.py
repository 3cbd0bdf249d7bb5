"""The audit trail with names: the trail holds ids (app/audit keeps below accounts and records),
so the pages that show it to people join in who acted and whose chart it was here, the lowest
layer that knows both. Two queries for a whole page, whatever its length (the users on it, the
patients on it), never one per row."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import ROLE_LABELS, Role, User
from app.audit.actions import action_phrase
from app.audit.models import AuditEvent
from app.audit.queries import patient_ids_of, user_ids_of
from app.core.actor import SYSTEM
from app.extensions import db
from app.records.models import Patient

SYSTEM_NAME = _l("MyAfya (automatic)")
UNKNOWN_NAME = _l("Someone not signed in")
GONE_NAME = _l("A removed account")


@dataclasses.dataclass(frozen=True)
class AuditLine:
    event: AuditEvent
    who: str
    role: str
    what: str
    patient: Patient | None

    @property
    def when(self) -> dt.datetime:
        return self.event.occurred_at

    @property
    def emergency(self) -> bool:
        return self.event.reason == "emergency"

    @property
    def denied(self) -> bool:
        return self.event.outcome == "denied"


def _role_label(role: str) -> str:
    if role == SYSTEM:
        return ""
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return ""


def audit_lines(events: Sequence[AuditEvent], *, with_patients: bool = True) -> list[AuditLine]:
    user_ids = user_ids_of(events)
    names = dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    patient_ids = patient_ids_of(events) if with_patients else set()
    patients = {p.id: p for p in db.session.execute(select(Patient).where(Patient.id.in_(patient_ids))).scalars()} \
        if patient_ids else {}
    lines = []
    for event in events:
        if event.actor_role == SYSTEM:
            who = str(SYSTEM_NAME)
        elif event.actor_user_id is None:
            who = str(UNKNOWN_NAME)
        else:
            who = names.get(event.actor_user_id) or str(GONE_NAME)
        lines.append(AuditLine(event=event, who=who, role=_role_label(event.actor_role), what=action_phrase(event.action),
                               patient=patients.get(event.patient_id)))
    return lines
