"""Who may read or write which part of a chart, and why: the one place that decides.

The records services ask `decide` before every read or write of clinical content and audit the
answer (app/records/services.py: the gate); views and other domains never decide, they call the
services, with their purpose when they have one. A decision carries the audit reason: its
category is the purpose ("care", "emergency", "self", "system", or a registered purpose such as
"dispensing"), a refusal's is why ("no care relationship").

Without a purpose, by role:
- a patient reads their own chart ("self") and writes nothing in it but new documents (a letter,
  a result from elsewhere: `add=True` on the document part); nothing they could amend or strike out;
- a doctor reads and writes a chart while an emergency grant for it lasts ("emergency: <why>"),
  or with a care relationship ("care"): an appointment together (any status but cancelled)
  starting within the last two years or the next 90 days. (Entries a doctor wrote do not count:
  one written under emergency access must not open the chart for good.);
- a system actor (a command, a job: code of the clinic's own, never built from a request) reads
  and writes ("system"; its name is in the audit row's path);
- every other role sees who a patient is (records/queries.py: identifiers only) and no chart.
Other domains bring their own purposes (dispensing, lab order...) with `purpose_register`: which
roles, which parts, and the condition that makes it apply to this patient.

Emergency ("break the glass") access: a doctor without a care relationship may open the chart by
giving a reason. The grant is audited at once ('chart.emergency_access') and lasts 60 minutes, for
that patient and the signed-in session that asked only: the view keeps it in the session
(app/core/request_actor.py) and the actor carries it back in on every request. A grant is worth
its audit row: the reason is read back from the trail, never from the cookie. While it lasts every
read and write of that chart is audited with the reason "emergency: <the reason given>" (the
category "emergency" in plain, the doctor's words encrypted), for the administrator to review
(/admin/people/audit?emergency=1).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Callable

from app.accounts.models import Role
from app.audit.models import AuditEvent, reason_split
from app.audit.services import audit_denied, audit_now, emergency_reason
from app.core.actor import Actor, Grant
from app.core.clock import clock
from app.core.errors import AccessDenied
from app.extensions import db
from app.records import visits
from app.records.models import EntryKind, Patient

CARE_LOOKBACK = dt.timedelta(days=730)
CARE_LOOKAHEAD = dt.timedelta(days=90)
EMERGENCY_DURATION = dt.timedelta(minutes=60)
EMERGENCY_REASON_MIN, EMERGENCY_REASON_MAX = 10, 300
EMERGENCY_ACTION = "chart.emergency_access"

# Purposes (audit categories) of the rules above.
CARE, SELF, SYSTEM = "care", "self", "system"
# Why a refusal was made (audit categories too).
NO_CARE = "no care relationship"
NOT_OWN = "not their own chart"
READ_ONLY = "patients only read their chart"
NO_CHART = "no chart access for this role"
UNKNOWN_PURPOSE = "unknown purpose"

REFUSALS = {
    NO_CARE: "You have no care relationship with this patient. Open the chart to ask for emergency access.",
}
REFUSED = "Your account does not have access to this patient's chart."


class ChartPart(str, enum.Enum):
    """What a read or write touches: a kind of entry, the free-text past history, or a lab order and
    its results (kept by the labs domain, read through this gate like the chart's own parts)."""

    ALLERGY = "allergy"
    PROBLEM = "problem"
    MEDICATION = "medication"
    VITALS = "vitals"
    NOTE = "note"
    DOCUMENT = "document"
    HISTORY = "history"
    RECORDING = "recording"  # a video visit's recording (kept by consultations, read through this gate)
    LAB = "lab"

    @classmethod
    def of(cls, kind: EntryKind) -> ChartPart:
        return cls(kind.value)


WHOLE_CHART = frozenset(ChartPart)


@dataclasses.dataclass(frozen=True)
class EmergencyGrant:
    patient_id: int
    reason: str        # the audit reason: "emergency: <why>"
    until: dt.datetime


@dataclasses.dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str                          # the audit reason: the purpose, or why it was refused
    grant: EmergencyGrant | None = None  # the emergency grant an allowed access rests on

    @property
    def purpose(self) -> str:
        """The reason's category ("emergency" for "emergency: <why>")."""
        return reason_split(self.reason)[0]

    @property
    def message(self) -> str:
        return REFUSALS.get(self.reason, REFUSED)


class ChartAccessDenied(AccessDenied):
    def __init__(self, decision: AccessDecision) -> None:
        super().__init__(decision.message)
        self.decision = decision


@dataclasses.dataclass(frozen=True)
class Purpose:
    """A reason other than care to touch part of a chart, brought by the domain that needs it:
    `applies(actor, patient_id)` says whether it holds for this patient now (say, a prescription
    of theirs waiting at this pharmacy). The audit category is its name."""

    name: str
    roles: frozenset[str]
    reads: frozenset[ChartPart]
    writes: frozenset[ChartPart] = frozenset()
    applies: Callable[[Actor, int], bool] = lambda actor, patient_id: True


PURPOSES: dict[str, Purpose] = {}


def purpose_register(purpose: Purpose) -> None:
    if purpose.name in PURPOSES or purpose.name in (CARE, SELF, SYSTEM, "emergency") or ":" in purpose.name:
        raise ValueError(f"purpose {purpose.name!r} is taken or malformed")
    PURPOSES[purpose.name] = purpose


def purpose_unregister(name: str) -> None:
    PURPOSES.pop(name, None)


def _care_window() -> tuple[dt.datetime, dt.datetime]:
    now = clock.now()
    return now - CARE_LOOKBACK, now + CARE_LOOKAHEAD


def care_relationship(*, doctor_id: int, patient_id: int) -> bool:
    """One query (scheduling's, see visits.py): an appointment together in the window, not cancelled."""
    # A chart page asks twice (which page to show, then the gate): a care relationship found stays
    # found for the rest of the session's work (one request), so the second asking costs nothing.
    found = db.session.info.setdefault("care_found", set())
    if (doctor_id, patient_id) in found:
        return True
    since, until = _care_window()
    if visits.appointment_together(doctor_id=doctor_id, patient_id=patient_id, since=since, until=until):
        found.add((doctor_id, patient_id))
        return True
    return False


def patients_in_care(*, doctor_id: int):
    """The same relationship for every patient at once: a subquery of the ids of the patients in
    this doctor's care, for a search to stay among them in SQL (services.patients_with_diagnosis)."""
    since, until = _care_window()
    return visits.patients_together(doctor_id=doctor_id, since=since, until=until)


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


def _allowed(reason: str, grant: EmergencyGrant | None = None) -> AccessDecision:
    return AccessDecision(True, reason, grant)


def _refused(reason: str) -> AccessDecision:
    return AccessDecision(False, reason)


def _by_purpose(actor: Actor, patient_id: int, parts: frozenset[ChartPart], write: bool,
                name: str) -> AccessDecision:
    purpose = PURPOSES.get(name)
    if purpose is None:
        return _refused(UNKNOWN_PURPOSE)
    covered = purpose.writes if write else purpose.reads
    if actor.role not in purpose.roles or not parts <= covered or not purpose.applies(actor, patient_id):
        return _refused(f"not for {name}")
    return _allowed(name)


# What a patient may add to their own chart (and only add: a write that changes an entry is refused).
PATIENT_ADDS = frozenset({ChartPart.DOCUMENT})


def decide(*, actor: Actor, patient_id: int, part: ChartPart | frozenset[ChartPart] | None = None,
           write: bool = False, add: bool = False, purpose: str | None = None) -> AccessDecision:
    """May `actor` read (or write) this part of the patient's chart (a set of parts: all of them at
    once, as a purpose's summary reads them; None: all of it), and why.
    `add`: the write only adds a new entry (a patient may add documents to their own chart).
    Asks nothing of the request: what it needs is in the actor. Records nothing: the records
    services audit what they do with the answer."""
    parts = WHOLE_CHART if part is None else part if isinstance(part, frozenset) else frozenset((part,))
    if purpose is not None:
        return _by_purpose(actor, patient_id, parts, write, purpose)
    if actor.is_system:
        return _allowed(SYSTEM)
    if actor.role == Role.PATIENT.value:
        patient = db.session.get(Patient, patient_id)
        if patient is None or actor.user_id is None or patient.user_id != actor.user_id:
            return _refused(NOT_OWN)
        if write and not (add and parts <= PATIENT_ADDS):
            return _refused(READ_ONLY)
        return _allowed(SELF)
    if actor.role == Role.DOCTOR.value:
        grant = emergency_grant_active(actor=actor, patient_id=patient_id)
        if grant is not None:
            return _allowed(grant.reason, grant)
        if care_relationship(doctor_id=actor.user_id, patient_id=patient_id):
            return _allowed(CARE)
        return _refused(NO_CARE)
    return _refused(NO_CHART)


def emergency_grant(*, actor: Actor, patient_id: int, why: str) -> Grant | None:
    """Open this patient's chart to a doctor for 60 minutes; the caller keeps the grant in the
    actor's session. None when there is nothing to break (a care relationship: the chart is open
    already). The audit row is committed first, on its own: if it cannot be written this raises
    and no grant is made. Asking again while a grant lasts starts a new 60 minutes (and a new row)."""
    if actor.role != Role.DOCTOR.value:
        audit_denied(actor=actor, reason=NO_CHART, patient_id=patient_id, target=EMERGENCY_ACTION)
        raise ChartAccessDenied(_refused(NO_CHART))
    if care_relationship(doctor_id=actor.user_id, patient_id=patient_id):
        return None
    seq = audit_now(actor=actor, patient_id=patient_id, action=EMERGENCY_ACTION, target=f"patient:{patient_id}",
                    reason=emergency_reason(why))
    until = clock.now() + EMERGENCY_DURATION
    return Grant(patient_id=patient_id, audit_seq=seq, until=int(until.timestamp()))
