"""The chat of a video visit afterwards, from the patient's chart: for the patient themself and a
doctor who may read the chart's notes (in care, or under emergency access). Read through the records
gate as that part of the chart (a chat is the visit's conversation, as a note is its account), each
read audited: the list of the visits that had a chat ("chat.list.read") and each transcript
("chat.read"). Nothing of this is read when the chart opens: the chart links here.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.consultations.models import ChatMessage, Consultation
from app.core.actor import Actor
from app.core.errors import NotFound
from app.extensions import db
from app.records import services as records
from app.records.access import ChartPart
from app.scheduling.models import Appointment

LIST_ACTION, READ_ACTION = "chat.list.read", "chat.read"
VISITS_MAX = 50
TRANSCRIPT_MAX = 1000


@dataclasses.dataclass(frozen=True)
class ChatVisit:
    consultation_id: int
    starts_at: dt.datetime
    doctor_id: int
    doctor_name: str
    messages: int


def video_chats_list(*, actor: Actor, patient_id: int) -> list[ChatVisit]:
    """The patient's video visits that had a chat, latest first (who and when, no message)."""
    records.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.NOTE, action=LIST_ACTION,
                            target=f"patient:{patient_id}")
    rows = db.session.execute(
        select(Consultation.id, Appointment.starts_at, Appointment.doctor_id, User.full_name, Consultation.last_seq)
        .join(Appointment, Appointment.id == Consultation.appointment_id)
        .join(User, User.id == Appointment.doctor_id)
        .where(Appointment.patient_id == patient_id, Consultation.last_seq > 0)
        .order_by(Appointment.starts_at.desc()).limit(VISITS_MAX))
    return [ChatVisit(*row) for row in rows]


def chat_transcript_read(*, actor: Actor, patient_id: int,
                         consultation_id: int) -> tuple[ChatVisit, list[ChatMessage]]:
    """One video visit's chat, in order. The gate first: who may not read this chart learns nothing
    about its visits."""
    records.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.NOTE, action=READ_ACTION,
                            target=f"consultation:{consultation_id}")
    row = db.session.execute(
        select(Consultation.id, Appointment.starts_at, Appointment.doctor_id, User.full_name, Consultation.last_seq)
        .join(Appointment, Appointment.id == Consultation.appointment_id)
        .join(User, User.id == Appointment.doctor_id)
        .where(Consultation.id == consultation_id, Appointment.patient_id == patient_id)).one_or_none()
    if row is None:
        raise NotFound(_("No such video visit."))
    messages = list(db.session.execute(
        select(ChatMessage).where(ChatMessage.consultation_id == consultation_id)
        .order_by(ChatMessage.seq).limit(TRANSCRIPT_MAX)).scalars())
    return ChatVisit(*row), messages
