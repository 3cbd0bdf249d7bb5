"""Who may open a chart, and why: a care relationship, or emergency ("break the glass") access.

A doctor has a care relationship with a patient when they have an appointment together (any status
but cancelled) starting within the last two years or the next 90 days. (Entries a doctor wrote do
not count: one written under emergency access must not open the chart for good.) Reads and writes
are then audited with the reason "care".

Without one, a doctor sees who the patient is but not the chart, and may open it in an emergency by
giving a reason. The grant is audited at once ('chart.emergency_access') and lasts 60 minutes, for
that patient and this signed-in session only: it lives in the Flask session, which signing in,
signing out, switching user and the idle sign-out all clear, and it is bound to the session token,
so a revoked session ("end sessions", a password or role change) loses it too. The cookie holds
only the grant's expiry and the seq of its audit row; the reason itself is read back from the audit
trail. While it lasts every read and write of that chart is audited with the reason
"emergency: <the reason given>" (the category "emergency" in plain, the doctor's words encrypted),
for the administrator to review (/admin/people/audit?emergency=1).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from flask import session
from flask_login import current_user

from app.audit.models import AuditEvent
from app.audit.services import CARE, audit_now, emergency_reason
from app.core.clock import clock
from app.extensions import db
from app.records import visits

CARE_LOOKBACK = dt.timedelta(days=730)
CARE_LOOKAHEAD = dt.timedelta(days=90)
EMERGENCY_DURATION = dt.timedelta(minutes=60)
EMERGENCY_REASON_MIN, EMERGENCY_REASON_MAX = 10, 300
EMERGENCY_ACTION = "chart.emergency_access"
SESSION_KEY = "emergency_access"
HOLDER_KEY = "emergency_holder"
MAX_GRANTS = 20  # a session cookie holds at most this many live grants (the oldest go first)


def care_relationship(*, doctor_id: int, patient_id: int) -> bool:
    """One query (scheduling's, see visits.py): an appointment together in the window, not cancelled."""
    now = clock.now()
    return bool(visits.appointment_together(doctor_id=doctor_id, patient_id=patient_id,
                                            since=now - CARE_LOOKBACK, until=now + CARE_LOOKAHEAD))


@dataclasses.dataclass(frozen=True)
class EmergencyGrant:
    patient_id: int
    reason: str        # the audit reason: "emergency: <why>"
    until: dt.datetime


def _holder() -> str:
    """This signed-in session: the account, its session token (revoked with it) and a random key
    made for this sign-in (signing in clears the session). A grant is worth nothing to any other."""
    key = session.get(HOLDER_KEY)
    if not key:
        key = session[HOLDER_KEY] = secrets.token_urlsafe(12)
    return hashlib.sha256(f"{current_user.get_id()}:{key}".encode()).hexdigest()[:16]


def _live_grants(now: float) -> dict[str, dict]:
    holder = _holder()
    return {pid: g for pid, g in (session.get(SESSION_KEY) or {}).items()
            if isinstance(g, dict) and g.get("holder") == holder and g.get("until", 0) > now}


def emergency_grant_active(patient_id: int) -> EmergencyGrant | None:
    """The signed-in doctor's live emergency grant for this patient's chart, if any."""
    stored = session.get(SESSION_KEY)
    if not stored or str(patient_id) not in stored:
        return None
    now = clock.now().timestamp()
    live = _live_grants(now)
    if len(live) != len(stored):
        session[SESSION_KEY] = live  # forget what has expired
    grant = live.get(str(patient_id))
    if grant is None:
        return None
    row = db.session.get(AuditEvent, grant.get("seq"))
    if row is None or row.action != EMERGENCY_ACTION or row.patient_id != patient_id:
        return None
    return EmergencyGrant(patient_id, row.reason_text, dt.datetime.fromtimestamp(grant["until"], dt.timezone.utc))


def emergency_grant(*, patient_id: int, why: str) -> EmergencyGrant:
    """Open this patient's chart to the signed-in doctor for 60 minutes, in this session.

    The audit row is committed first, on its own: if it cannot be written this raises and no grant
    is made. Asking again while a grant lasts starts a new 60 minutes (and a new row)."""
    reason = emergency_reason(why)
    seq = audit_now(patient_id=patient_id, action=EMERGENCY_ACTION, target=f"patient:{patient_id}", reason=reason)
    now = clock.now()
    until = now + EMERGENCY_DURATION
    live = _live_grants(now.timestamp())
    live.pop(str(patient_id), None)
    live[str(patient_id)] = {"until": int(until.timestamp()), "seq": seq, "holder": _holder()}
    session[SESSION_KEY] = dict(sorted(live.items(), key=lambda item: item[1]["until"])[-MAX_GRANTS:])
    return EmergencyGrant(patient_id, reason, until.replace(microsecond=0))


def chart_access(*, doctor_id: int, patient_id: int) -> str | None:
    """The audit reason for the signed-in doctor's access to this chart: the emergency reason while a
    grant lasts, "care" with a care relationship, None when the chart is closed to them."""
    grant = emergency_grant_active(patient_id)
    if grant is not None:
        return grant.reason
    return CARE if care_relationship(doctor_id=doctor_id, patient_id=patient_id) else None
