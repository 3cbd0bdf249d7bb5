"""The doctor's side panel in the video room: the patient's summary (allergies first) and the visit's
SOAP note, both through the records gate with the purpose "consultation".

The purpose holds while this doctor has the patient in the call (let in, the visit not over): before
that the panel shows no clinical content and reads nothing; the chart itself is one door away.
"""
from __future__ import annotations

from flask_babel import gettext as _

from app.consultations import access
from app.consultations.access import Member
from app.consultations.services import Room
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.records import access as records_access
from app.records import services as records
from app.records.models import ClinicalEntry, EntryKind


def _doctor_in(room: Room) -> None:
    if room.member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))


def panel_open(*, actor: Actor, room: Room) -> bool:
    """Whether the purpose holds now (the gate's answer, read nothing, so audited nothing)."""
    _doctor_in(room)
    if not room.is_open or room.is_over or room.consultation.admitted_at is None:
        return False
    return records_access.decide(actor=actor, patient_id=room.appointment.patient_id, part=access.summary_parts(),
                                 purpose=access.PURPOSE).allowed


def panel_summary_read(*, actor: Actor, room: Room) -> records.ChartSummary | None:
    """The patient's summary for the panel (one audited chart read, purpose "consultation"), or None
    while the patient is not in the call."""
    if not panel_open(actor=actor, room=room):
        return None
    return records.chart_summary_read(actor=actor, patient_id=room.appointment.patient_id, purpose=access.PURPOSE,
                                      parts=access.summary_parts())


def visit_note_add(*, actor: Actor, room: Room, content: dict) -> ClinicalEntry:
    """The SOAP note written during the call, on the chart and linked to this appointment. Once the
    visit is over (or before the patient is in) the room cannot write it: the doctor is told beside
    the form, which keeps what they wrote, to save it from the chart instead."""
    _doctor_in(room)
    if not panel_open(actor=actor, room=room):
        raise DomainError(_("The note can be saved here only while the patient is in the call. Copy it into the "
                            "chart's note form instead."), field="subjective")
    return records.entry_add(actor=actor, patient_id=room.appointment.patient_id, kind=EntryKind.NOTE,
                             content={**content, "appointment_id": room.appointment.id}, purpose=access.PURPOSE)
