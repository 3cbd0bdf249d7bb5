"""The access matrix: every role x its own / another patient x every part of the chart x read and
write, each decided by the one gate (the records services asking records/access.py), with the
audit row's purpose (or why it was refused) asserted, and nothing written when refused."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.core.clock import clock
from app.core.files import StoredFile
from app.extensions import db
from app.records import access, documents, services
from app.records.access import ChartAccessDenied, ChartPart, Purpose
from app.records.models import RESOLVABLE_KINDS, ClinicalEntry, ClinicalEntryVersion, EntryKind, EntryStatus, Patient
from app.scheduling.models import Appointment, AppointmentStatus
from tests.conftest import SET_UP

WHY = "Collapsed in the waiting room; allergies needed before treatment."
CONTENT = {
    EntryKind.ALLERGY: {"substance": "Latex", "severity": "mild"},
    EntryKind.PROBLEM: {"condition": "Asthma"},
    EntryKind.MEDICATION: {"drug": "Salbutamol"},
    EntryKind.VITALS: {"pulse": 72},
    EntryKind.NOTE: {"text": "Seen today."},
    EntryKind.DOCUMENT: {"title": "Referral letter"},
}
PDF = b"%PDF-1.4\n%%EOF\n"


def denied(why: str) -> tuple[str, str]:
    return ("denied", why)


# (who, whose chart) -> (what a read is audited as, what a write is audited as): a purpose, or denied(why).
# "own" is the patient the actor has dealings with: a patient's own chart, a doctor's patient in care
# (the emergency doctor: the patient of their grant, no care), a patient the desk or admin booked, or
# the same patient for the lab and the pharmacy (their purposes arrive with their domains).
MATRIX = {
    ("patient", "own"): ("self", denied(access.READ_ONLY)),
    ("patient", "other"): (denied(access.NOT_OWN), denied(access.NOT_OWN)),
    ("doctor", "own"): ("care", "care"),
    ("doctor", "other"): (denied(access.NO_CARE), denied(access.NO_CARE)),
    ("doctor with an emergency grant", "own"): ("emergency", "emergency"),
    ("doctor with an emergency grant", "other"): (denied(access.NO_CARE), denied(access.NO_CARE)),
    ("reception", "own"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("reception", "other"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("admin", "own"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("admin", "other"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("lab", "own"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("lab", "other"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("pharmacist", "own"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("pharmacist", "other"): (denied(access.NO_CHART), denied(access.NO_CHART)),
    ("system", "own"): ("system", "system"),
    ("system", "other"): ("system", "system"),
}
ROLE_OF = {"doctor with an emergency grant": Role.DOCTOR.value, "system": "system"}
# Where an action is decided otherwise than the rest of its row: a patient may add documents to their
# own chart (a letter, a result from elsewhere), and change nothing, not even those.
EXCEPTIONS = {("patient", "own", "document.create"): "self"}


def _add(actor, patient_id: int, kind: EntryKind):
    """An entry of `kind` added through its own service (a document is uploaded with its file)."""
    if kind == EntryKind.DOCUMENT:
        return documents.document_add(actor=actor, patient_id=patient_id, title=CONTENT[kind]["title"], note=None,
                                      data=PDF)
    return services.entry_add(actor=actor, patient_id=patient_id, kind=kind, content=CONTENT[kind])


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One read or write through a records service: what it is audited as, and how to make it."""

    action: str
    part: ChartPart | None
    write: bool
    run: object  # run(actor, patient_id, entry_ids)


def _attempts() -> list[Attempt]:
    found = [Attempt("chart.read", None, False,
                     lambda actor, pid, ids: services.chart_read(actor=actor, patient_id=pid)),
             # the FHIR download: a read of the whole chart, audited as its own action
             Attempt("chart.export", None, False,
                     lambda actor, pid, ids: services.chart_export(actor=actor, patient_id=pid))]
    # the chart page's read: only what its summary shows, audited as the chart read it is
    found.append(Attempt("chart.read", None, False,
                         lambda actor, pid, ids: services.chart_summary_read(actor=actor, patient_id=pid)))
    for kind in EntryKind:  # "show older": a page of one kind, a read of that part
        found.append(Attempt(f"{kind.value}.read", ChartPart.of(kind), False,
                             lambda actor, pid, ids, kind=kind: services.chart_entries_read(
                                 actor=actor, patient_id=pid, kind=kind)))
    for part in ChartPart:
        found.append(Attempt(f"{part.value}.read", part, False,
                             lambda actor, pid, ids, part=part: services.chart_read(actor=actor, patient_id=pid,
                                                                                    part=part)))
    for kind in EntryKind:
        found.append(Attempt(f"{kind.value}.create", ChartPart.of(kind), True,
                             lambda actor, pid, ids, kind=kind: _add(actor, pid, kind)))
        found.append(Attempt(f"{kind.value}.amend", ChartPart.of(kind), True,
                             lambda actor, pid, ids, kind=kind: services.entry_amend(
                                 actor=actor, patient_id=pid, entry_id=ids[kind], content=CONTENT[kind],
                                 reason="Corrected.")))
        found.append(Attempt(f"{kind.value}.history.read", ChartPart.of(kind), False,
                             lambda actor, pid, ids, kind=kind: services.entry_history(
                                 actor=actor, patient_id=pid, entry_id=ids[kind])))
        # last: an entry struck out can no longer be amended
        change = EntryStatus.RESOLVED if kind in RESOLVABLE_KINDS else EntryStatus.ENTERED_IN_ERROR
        found.append(Attempt(f"{kind.value}.{change.value}", ChartPart.of(kind), True,
                             lambda actor, pid, ids, kind=kind, change=change: services.entry_set_status(
                                 actor=actor, patient_id=pid, entry_id=ids[kind], status=change, reason="Wrong chart.")))
    found.append(Attempt("document.open", ChartPart.DOCUMENT, False,
                         lambda actor, pid, ids: documents.document_open(actor=actor, patient_id=pid,
                                                                         entry_id=ids[EntryKind.DOCUMENT])))
    # a part another domain keeps (a visit's recording): written through the gate's clinical_access
    found.append(Attempt("recording.write", ChartPart.RECORDING, True,
                         lambda actor, pid, ids: services.clinical_access(actor=actor, patient_id=pid, write=True,
                                                                          part=ChartPart.RECORDING,
                                                                          action="recording.write")))
    # the lab part: kept by the labs domain (orders, results), gated here like the rest
    found.append(Attempt("lab.write", ChartPart.LAB, True,
                         lambda actor, pid, ids: services.clinical_access(actor=actor, patient_id=pid,
                                                                          part=ChartPart.LAB, action="lab.write",
                                                                          write=True)))
    found.append(Attempt("history.update", ChartPart.HISTORY, True,
                         lambda actor, pid, ids: services.history_update(actor=actor, patient_id=pid,
                                                                         history="Appendectomy 2004")))
    return found


ATTEMPTS = _attempts()


def _chart_state(patient_id: int) -> tuple:
    """What a write could have changed: the entries, their statuses and versions, the history, and the
    files kept (a refused upload stores nothing)."""
    entries = db.session.execute(
        select(ClinicalEntry.id, ClinicalEntry.status, func.count(ClinicalEntryVersion.id))
        .outerjoin(ClinicalEntryVersion, ClinicalEntryVersion.entry_id == ClinicalEntry.id)
        .where(ClinicalEntry.patient_id == patient_id).group_by(ClinicalEntry.id, ClinicalEntry.status)
        .order_by(ClinicalEntry.id)).all()
    history = db.session.execute(select(Patient.history).where(Patient.id == patient_id)
                                 .execution_options(populate_existing=True)).scalar_one()
    stored_files = db.session.execute(select(func.count()).select_from(StoredFile)).scalar_one()
    return tuple(entries), history, stored_files


def _rows_after(seq: int) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
                                   .execution_options(populate_existing=True)).scalars())


def _last_seq() -> int:
    return db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


@pytest.fixture
def world(app_ctx, make_user, make_patient, care):
    """world(who) -> (actor, {"own": patient id, "other": patient id}, {patient id: {kind: entry id}})."""

    def build(who: str):
        other = make_patient(given_name="Baraka", family_name="Wafula")
        role = ROLE_OF.get(who, who)
        if role == "system":
            actor, own = Actor.system("nightly import"), make_patient()
        else:
            user = make_user(Role(role))
            own = make_patient(user_id=user.id) if role == Role.PATIENT.value else make_patient()
            actor = Actor.for_user(user, session="s" * 16, ip="192.0.2.1", origin="/somewhere")
            if who == "doctor":
                care(user, own)
            elif role in (Role.RECEPTION.value, Role.ADMIN.value):
                starts_at = clock.now().replace(microsecond=0) + dt.timedelta(days=3)
                db.session.add(Appointment(doctor_id=make_user(Role.DOCTOR).id, patient_id=own.id,
                                           starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=20),
                                           status=AppointmentStatus.BOOKED.value, booked_by_id=user.id))
                db.session.commit()
            elif who == "doctor with an emergency grant":
                grant = access.emergency_grant(actor=actor, patient_id=own.id, why=WHY)
                actor = dataclasses.replace(actor, grants=(grant,))
        entry_ids = {}
        for patient in (own, other):
            entry_ids[patient.id] = {kind: _add(SET_UP, patient.id, kind).id for kind in EntryKind}
        db.session.commit()
        return actor, {"own": own.id, "other": other.id}, entry_ids

    return build


@pytest.mark.parametrize("who, whose", sorted(MATRIX))
def test_the_gate_decides_every_part_read_and_write(world, who, whose):
    actor, patients, entry_ids = world(who)
    patient_id = patients[whose]
    expected_read, expected_write = MATRIX[(who, whose)]
    wrong = []
    for attempt in ATTEMPTS:
        expected = EXCEPTIONS.get((who, whose, attempt.action), expected_write if attempt.write else expected_read)
        before_seq, before = _last_seq(), _chart_state(patient_id)
        try:
            attempt.run(actor, patient_id, entry_ids[patient_id])
            db.session.commit()
            outcome = "allowed"
        except ChartAccessDenied as refusal:
            db.session.rollback()
            outcome = ("denied", refusal.decision.reason)
        rows = _rows_after(before_seq)
        seen = [(r.action, r.outcome, r.reason, r.reason_detail, r.target) for r in rows]
        if isinstance(expected, tuple):  # refused: recorded as denied, with why and what was tried; nothing changed
            ok = outcome == expected and _chart_state(patient_id) == before and \
                seen == [("access.denied", "denied", expected[1], None, attempt.action)]
        else:  # allowed: one row, with the purpose (and the doctor's words under emergency access)
            detail = WHY if expected == "emergency" else None
            ok = outcome == "allowed" and [s[:4] for s in seen] == [(attempt.action, "allowed", expected, detail)]
        ok = ok and all((r.actor_user_id, r.actor_role, r.patient_id) == (actor.user_id, actor.role, patient_id)
                        for r in rows)
        if not ok:
            wrong.append(f"{attempt.action} (write={attempt.write}): expected {expected}, got {outcome}, rows {seen}")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_role_and_every_part():
    """The matrix above walks every part, read and write (entries created and changed, the history),
    for every role: a part or a role added later must be added to it."""
    assert {a.part for a in ATTEMPTS if not a.write} == set(ChartPart) | {None}
    assert {a.part for a in ATTEMPTS if a.write} == set(ChartPart)
    assert {(r, w) for r, w in MATRIX} == {(who, whose) for who in {w for w, _ in MATRIX} for whose in ("own", "other")}
    assert {ROLE_OF.get(who, who) for who, _ in MATRIX} >= {role.value for role in Role}
    assert {action for _, _, action in EXCEPTIONS} <= {a.action for a in ATTEMPTS}


# -- purposes other domains bring -----------------------------------------------------------------

@pytest.fixture
def dispensing():
    """A purpose as the pharmacy will register it: pharmacists read allergies and medications of the
    patients whose prescriptions they hold (here: a set of patient ids)."""
    holding: set[int] = set()
    registered = access.PURPOSES.pop("dispensing", None)  # the pharmacy's own, put back afterwards
    access.purpose_register(Purpose(name="dispensing", roles=frozenset({Role.PHARMACIST.value}),
                                    reads=frozenset({ChartPart.ALLERGY, ChartPart.MEDICATION}),
                                    applies=lambda actor, patient_id: patient_id in holding))
    yield holding
    access.purpose_unregister("dispensing")
    if registered is not None:
        access.purpose_register(registered)


def test_a_registered_purpose_opens_only_its_parts_to_its_roles_when_it_applies(world, make_user, dispensing):
    pharmacist, patients, _ = world("pharmacist")
    mine, other = patients["own"], patients["other"]
    dispensing.add(mine)

    chart = services.chart_read(actor=pharmacist, patient_id=mine, part=ChartPart.MEDICATION, purpose="dispensing")
    db.session.commit()
    assert [e.content for e in chart[EntryKind.MEDICATION]] == [CONTENT[EntryKind.MEDICATION]]
    assert list(chart) == [EntryKind.MEDICATION] and chart.history is None
    refused = []
    for actor, patient_id, part, write, purpose in [
        (pharmacist, mine, ChartPart.NOTE, False, "dispensing"),        # not a part the purpose reads
        (pharmacist, mine, None, False, "dispensing"),                  # nor the whole chart
        (pharmacist, mine, ChartPart.MEDICATION, True, "dispensing"),   # it writes nothing
        (pharmacist, other, ChartPart.MEDICATION, False, "dispensing"),  # it does not apply to this patient
        (pharmacist, mine, ChartPart.MEDICATION, False, None),          # without the purpose: no chart
        (pharmacist, mine, ChartPart.MEDICATION, False, "research"),    # a purpose nobody registered
        (Actor.for_user(make_user(Role.RECEPTION)), mine, ChartPart.MEDICATION, False, "dispensing"),
    ]:
        with pytest.raises(ChartAccessDenied) as error:
            if write:
                services.entry_add(actor=actor, patient_id=patient_id, kind=EntryKind.MEDICATION,
                                   content=CONTENT[EntryKind.MEDICATION], purpose=purpose)
            else:
                services.chart_read(actor=actor, patient_id=patient_id, part=part, purpose=purpose)
        refused.append(error.value.decision.reason)
        db.session.rollback()
    assert refused == ["not for dispensing"] * 4 + [access.NO_CHART, access.UNKNOWN_PURPOSE, "not for dispensing"]
    rows = db.session.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.reason)
                              .where(AuditEvent.actor_role != "system").order_by(AuditEvent.seq)).all()
    assert rows[0] == ("medication.read", "allowed", "dispensing")
    assert [r.outcome for r in rows[1:]] == ["denied"] * 7 and [r.reason for r in rows[1:]] == refused


def test_a_purpose_cannot_take_a_built_in_name():
    for name in ("care", "self", "system", "emergency", "lab order: x"):
        with pytest.raises(ValueError):
            access.purpose_register(Purpose(name=name, roles=frozenset({"lab"}), reads=frozenset(ChartPart)))


def test_only_a_doctor_may_ask_for_emergency_access(world):
    desk, patients, _ = world("reception")
    with pytest.raises(ChartAccessDenied):
        access.emergency_grant(actor=desk, patient_id=patients["own"], why=WHY)
    (row,) = db.session.execute(select(AuditEvent).where(AuditEvent.actor_role == "reception")).scalars().all()
    assert (row.action, row.outcome, row.reason, row.target) == \
        ("access.denied", "denied", access.NO_CHART, access.EMERGENCY_ACTION)
