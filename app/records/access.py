"""Who may open a chart, and why: a care relationship, or emergency ("break the glass") access.

A doctor has a care relationship with a patient when they have an appointment together (any status
but cancelled) starting within the last two years or the next 90 days. (Entries a doctor wrote do
not count: one written under emergency access must not open the chart for good.) Reads and writes
are then audited with the reason "care".

Without one, a doctor sees who the patient is but not the chart, and may open it in an emergency by
giving a reason. The grant is audited at once ('chart.emergency_access') and lasts 60 minutes, for
that patient and the signed-in session that asked only: the view keeps it in the session
(app/core/request_actor.py), and the actor carries it back in on every request. A grant is worth
its audit row: its reason is read back from the trail, never from the cookie. While it lasts every
read and write of that chart is audited with the reason "emergency: <the reason given>" (the
category "emergency" in plain, the doctor's words encrypted), for the administrator to review
(/admin/people/audit?emergency=1).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import exists, select

from app.audit.models import AuditEvent
from app.audit.services import CARE, audit_now, emergency_reason
from app.core.actor import Actor, Grant
from app.core.clock import clock
from app.extensions import db
from app.scheduling.models import Appointment, AppointmentStatus

CARE_LOOKBACK = dt.timedelta(days=730)
CARE_LOOKAHEAD = dt.timedelta(days=90)
EMERGENCY_DURATION = dt.timedelta(minutes=60)
EMERGENCY_REASON_MIN, EMERGENCY_REASON_MAX = 10, 300
EMERGENCY_ACTION = "chart.emergency_access"


def care_relationship(*, doctor_id: int, patient_id: int) -> bool:
    """One query: an appointment together in the window, not cancelled."""
    now = clock.now()
    appointment = exists().where(
        Appointment.patient_id == patient_id, Appointment.doctor_id == doctor_id,
        Appointment.starts_at >= now - CARE_LOOKBACK, Appointment.starts_at <= now + CARE_LOOKAHEAD,
        Appointment.status != AppointmentStatus.CANCELLED.value)
    return bool(db.session.execute(select(appointment)).scalar())


@dataclasses.dataclass(frozen=True)
class EmergencyGrant:
    patient_id: int
    reason: str        # the audit reason: "emergency: <why>"
    until: dt.datetime


def emergency_grant_active(*, actor: Actor, patient_id: int) -> EmergencyGrant | None:
    """The actor's live emergency grant for this patient's chart, if any: one its session holds,
    unexpired, whose audit row records this doctor's emergency access to this patient."""
    grant = actor.grant_for(patient_id)
    if grant is None or grant.until <= clock.now().timestamp():
        return None
    row = db.session.get(AuditEvent, grant.audit_seq)
    if row is None or row.action != EMERGENCY_ACTION or row.patient_id != patient_id \
            or row.actor_user_id != actor.user_id:
        return None
    return EmergencyGrant(patient_id, row.reason_text, dt.datetime.fromtimestamp(grant.until, dt.timezone.utc))


def emergency_grant(*, actor: Actor, patient_id: int, why: str) -> Grant:
    """Open this patient's chart to `actor` for 60 minutes; the caller keeps the grant in the
    actor's session. The audit row is committed first, on its own: if it cannot be written this
    raises and no grant is made. Asking again while a grant lasts starts a new 60 minutes (and a
    new row)."""
    reason = emergency_reason(why)
    seq = audit_now(actor=actor, patient_id=patient_id, action=EMERGENCY_ACTION, target=f"patient:{patient_id}",
                    reason=reason)
    until = clock.now() + EMERGENCY_DURATION
    return Grant(patient_id=patient_id, audit_seq=seq, until=int(until.timestamp()))


def chart_access(*, actor: Actor, patient_id: int) -> str | None:
    """The audit reason for this doctor's access to this chart: the emergency reason while a grant
    lasts, "care" with a care relationship, None when the chart is closed to them."""
    grant = emergency_grant_active(actor=actor, patient_id=patient_id)
    if grant is not None:
        return grant.reason
    return CARE if care_relationship(doctor_id=actor.user_id, patient_id=patient_id) else None
