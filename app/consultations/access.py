"""Who may be in a video room: the appointment's own patient and its own doctor, nobody else.

Everyone else (another patient, another doctor, the front desk, a wrong token) is told the room
does not exist. The room opens OPENS_BEFORE the start and closes when the appointment is no longer
active (done, cancelled, missed). The services ask here; the page, the websocket handshake and
every message sent on the socket go through the services.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Role
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import NotFound
from app.extensions import db
from app.records.models import Patient
from app.scheduling.models import Appointment

OPENS_BEFORE = dt.timedelta(minutes=10)
PURPOSE = "consultation"  # the audit reason of every read and write in a room


class Member(str, enum.Enum):
    PATIENT = "patient"
    DOCTOR = "doctor"


def member_of(appointment: Appointment, actor: Actor) -> Member | None:
    if not appointment.is_video or actor.user_id is None:
        return None
    if actor.role == Role.DOCTOR.value and appointment.doctor_id == actor.user_id:
        return Member.DOCTOR
    if actor.role == Role.PATIENT.value:
        patient_user = db.session.execute(select(Patient.user_id).where(Patient.id == appointment.patient_id)).scalar()
        if patient_user == actor.user_id:
            return Member.PATIENT
    return None


def member_or_404(appointment: Appointment | None, actor: Actor) -> Member:
    member = None if appointment is None else member_of(appointment, actor)
    if member is None:
        raise NotFound(_("No such video visit."))
    return member


def opens_at(appointment: Appointment) -> dt.datetime:
    return appointment.starts_at - OPENS_BEFORE


def is_open(appointment: Appointment) -> bool:
    return appointment.is_active and clock.now() >= opens_at(appointment)


def user_may_listen(user, consultation_id: int) -> bool:
    """The hub's rule for "room:<consultation id>": its two members only."""
    from app.consultations.models import Consultation

    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or not getattr(user, "is_authenticated", False):
        return False
    actor = Actor(user_id=user.id, role=user.role)
    return member_of(consultation.appointment, actor) is not None


def _in_a_room_with(actor: Actor, patient_id: int) -> bool:
    """The purpose holds while this doctor has let this patient into a video room that is not over."""
    from app.consultations.models import Consultation

    return db.session.execute(
        select(Consultation.id).join(Appointment, Appointment.id == Consultation.appointment_id)
        .where(Appointment.doctor_id == actor.user_id, Appointment.patient_id == patient_id,
               Appointment.status == "in_consultation", Consultation.admitted_at.is_not(None)).limit(1)
    ).first() is not None


def summary_parts():
    """What the doctor's side panel reads under the purpose: the summary a video visit needs."""
    from app.records.access import ChartPart

    return frozenset({ChartPart.ALLERGY, ChartPart.PROBLEM, ChartPart.MEDICATION, ChartPart.VITALS, ChartPart.NOTE})


def purpose_declare() -> None:
    """The records gate's "consultation" purpose (create_app): the doctor in the room reads the
    summary a video visit needs (allergies first), writes the visit's notes, adds the files they
    share in the chat to the chart and keeps the pieces of a recording both members agreed to
    (app/consultations/recordings.py). Declared once per process."""
    from app.records.access import PURPOSES, ChartPart, Purpose, purpose_register

    if PURPOSE in PURPOSES:
        return
    purpose_register(Purpose(name=PURPOSE, roles=frozenset({Role.DOCTOR.value}), reads=summary_parts(),
                             writes=frozenset({ChartPart.NOTE, ChartPart.DOCUMENT, ChartPart.RECORDING}),
                             applies=_in_a_room_with))
