"""The video room's rules: who enters and when, the waiting room and admission, the chat.

Keyword-only, an explicit actor, flush only (the request, or the room socket after each message,
commits once); events for live pages are published after commit. Every chat write is one audit row,
every read of others' messages one row per read (a page load, a reconnect's replay, a live delivery),
with the purpose "consultation".
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import audit_access
from app.consultations import access
from app.consultations.access import Member
from app.consultations.channels import room_channel
from app.consultations.models import (
    CLIENT_ID_MAX,
    MESSAGE_MAX,
    QUALITY_SAMPLES_MAX,
    CallQualitySample,
    ChatMessage,
    Consultation,
    PhoneCall,
    VisitHeld,
)
from app.core.actor import Actor
from app.core.clock import clock
from app.core.db import on_commit
from app.core.errors import DomainError, NotFound
from app.extensions import db, hub
from app.scheduling import queries as scheduling_queries
from app.scheduling import services as scheduling_services
from app.scheduling.channels import CLINIC, doctor_channel
from app.scheduling.clinic_time import local_today, to_local
from app.scheduling.models import Appointment, AppointmentStatus

REPLAY_MAX = 500  # messages sent at most on one (re)connect; a visit's chat stays far below


@dataclasses.dataclass
class Room:
    appointment: Appointment
    member: Member
    consultation: Consultation | None  # None while the room is not open (and after, if it never opened)

    @property
    def opens_at(self) -> dt.datetime:
        return access.opens_at(self.appointment)

    @property
    def is_open(self) -> bool:
        return self.consultation is not None and not self.is_over

    @property
    def is_over(self) -> bool:
        return not self.appointment.is_active

    @property
    def polite(self) -> bool:
        """WebRTC perfect negotiation: the patient yields when both offer at once."""
        return self.member == Member.PATIENT


def room_enter(*, actor: Actor, token: str) -> Room:
    """The room behind the link, for its patient or doctor (NotFound for anyone else, and for a link
    that does not exist). Its consultation is made when it first opens."""
    appointment = scheduling_queries.visit_for_member(token=token, user_id=actor.user_id or 0, role=actor.role)
    member = access.member_or_404(appointment, actor)
    if not appointment.is_active:  # over: how it was held, if it was
        return Room(appointment, member, db.session.execute(
            select(Consultation).where(Consultation.appointment_id == appointment.id)).scalar_one_or_none())
    if not access.is_open(appointment):
        return Room(appointment, member, None)
    return Room(appointment, member, _consultation_for(appointment))


def room_enter_open(*, actor: Actor, token: str) -> Room:
    """As room_enter, for what needs the room open now (the socket): DomainError otherwise."""
    room = room_enter(actor=actor, token=token)
    if room.is_over:
        raise DomainError(_("This video visit is over."))
    if not room.is_open:
        raise DomainError(_("The video room is not open yet."))
    return room


def _consultation_for(appointment: Appointment) -> Consultation:
    query = select(Consultation).where(Consultation.appointment_id == appointment.id)
    consultation = db.session.execute(query).scalar_one_or_none()
    if consultation is not None:
        return consultation
    try:
        with db.session.begin_nested():  # the other member may open the room at the same moment
            consultation = Consultation(appointment_id=appointment.id, last_seq=0)
            db.session.add(consultation)
    except IntegrityError:
        consultation = db.session.execute(query).scalar_one()
    return consultation


def consultation_for(actor: Actor, consultation_id: int, *, lock: bool = False) -> tuple[Consultation, Member]:
    query = select(Consultation).where(Consultation.id == consultation_id)
    if lock:  # and what the row says now, once the lock is ours, not what this session read before it
        query = query.with_for_update().execution_options(populate_existing=True)
    consultation = db.session.execute(query).scalar_one_or_none()
    if consultation is None:
        raise NotFound(_("No such video visit."))
    member = access.member_or_404(consultation.appointment, actor)
    return consultation, member


def _publish_room(consultation: Consultation, event: dict, *, to_lists: bool = False) -> None:
    """After commit: the room's members; with `to_lists`, the doctor's day and the desk's queue too."""
    channel, appointment = room_channel(consultation.id), consultation.appointment
    doctor_id, appointment_id = appointment.doctor_id, appointment.id

    def publish():
        hub.publish(channel, event)
        if to_lists:
            message = {"type": "appointment", "event": event["type"], "id": appointment_id}
            hub.publish(doctor_channel(doctor_id), message)
            hub.publish(CLINIC, message)

    on_commit(db.session, publish)


# -- the waiting room ----------------------------------------------------------------------------------

def patient_waiting_set(*, actor: Actor, consultation_id: int, waiting: bool) -> Consultation:
    """The patient came into (or left) the waiting room: the doctor's day and the desk's board say
    "waiting online" while they are there and not yet let in."""
    consultation, member = consultation_for(actor, consultation_id, lock=True)
    if member != Member.PATIENT:
        raise NotFound(_("No such video visit."))
    if consultation.admitted_at is not None:
        return consultation
    now_waiting = consultation.waiting_since is not None
    if waiting != now_waiting:
        consultation.waiting_since = clock.now() if waiting else None
        db.session.flush()
        _publish_room(consultation, {"type": "state"}, to_lists=True)
    return consultation


def patient_admit(*, actor: Actor, consultation_id: int) -> Consultation:
    """The doctor lets the patient in: the call starts, and so does the appointment. Again changes nothing."""
    consultation, member = consultation_for(actor, consultation_id, lock=True)
    if member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))
    appointment = consultation.appointment
    if not appointment.is_active:
        raise DomainError(_("This video visit is over."))
    if consultation.admitted_at is not None:
        return consultation
    consultation.admitted_at, consultation.admitted_by_id = clock.now(), actor.user_id
    consultation.waiting_since = None
    db.session.flush()
    audit_access(actor=actor, patient_id=appointment.patient_id, action="consultation.admit",
                 target=f"consultation:{consultation.id}", reason=access.PURPOSE)
    if appointment.status_enum in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN) \
            and to_local(appointment.starts_at).date() == local_today():  # the day's flow starts today's only
        # Letting the patient in is the doctor's explicit choice, even while another visit is open.
        scheduling_services.appointment_advance(actor=actor, appointment_id=appointment.id, action="start",
                                                alongside=True)
    _publish_room(consultation, {"type": "state"}, to_lists=True)
    return consultation


def publish_room_state(consultation: Consultation) -> None:
    _publish_room(consultation, {"type": "state"})


def room_state(consultation: Consultation) -> dict:
    """What both pages show of the room; `call`: the status of the last Twilio call, once by phone."""
    call = None
    if consultation.phone_since is not None:
        last = db.session.execute(select(PhoneCall).where(PhoneCall.consultation_id == consultation.id)
                                  .order_by(PhoneCall.id.desc()).limit(1)).scalar()
        call = last.outcome if last else None
    return {"waiting": consultation.is_waiting, "admitted": consultation.admitted_at is not None,
            "over": not consultation.appointment.is_active, "phone": consultation.phone_since is not None,
            "call": call}


# -- the end -------------------------------------------------------------------------------------------

def visit_end(*, actor: Actor, consultation_id: int) -> Consultation:
    """The doctor ends the visit: how it was held (video, audio, or phone once switched), when it ended
    and how long it lasted are kept; the appointment is done; both pages are told the room is over.
    Ending it again (a double click, two tabs at once) changes nothing: the row lock orders them."""
    consultation, member = consultation_for(actor, consultation_id, lock=True)
    if member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))
    if consultation.ended_at is not None:
        return consultation
    now = clock.now()
    if consultation.phone_since is not None:
        held, since = VisitHeld.PHONE, consultation.phone_since
    else:
        held, since = held_by_video_or_audio(consultation.id), consultation.admitted_at
    return visit_close(actor=actor, consultation=consultation, held=held,
                       duration_seconds=None if since is None else int((now - since).total_seconds()))


def held_by_video_or_audio(consultation_id: int) -> VisitHeld:
    """Audio when most of the call's quality samples (both sides, evenly spaced: a share of time) were
    taken at the audio-only step, the ladder's or a member's choice; video otherwise."""
    samples, audio_only = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((CallQualitySample.audio_only, 1), else_=0)), 0))
        .where(CallQualitySample.consultation_id == consultation_id)).one()
    return VisitHeld.AUDIO if samples and audio_only * 2 > samples else VisitHeld.VIDEO


def visit_close(*, actor: Actor, consultation: Consultation, held: VisitHeld, duration_seconds: int | None) -> Consultation:
    """Record the end of `consultation` (locked by the caller, not ended yet) and complete its appointment.
    `actor` is the doctor, or the system when Twilio reports a phone call over."""
    appointment = consultation.appointment
    if consultation.admitted_at is None:
        raise DomainError(_("Let the patient in first: a visit ends once it has started."))
    if not appointment.is_active:
        raise DomainError(_("This video visit is over."))
    consultation.mode, consultation.ended_at = held.value, clock.now()
    consultation.duration_seconds = None if duration_seconds is None else max(0, duration_seconds)
    db.session.flush()
    audit_access(actor=actor, patient_id=appointment.patient_id, action=f"consultation.end.{held.value}",
                 target=f"consultation:{consultation.id}", reason=access.PURPOSE)
    scheduling_services.appointment_advance(actor=actor, appointment_id=appointment.id, action="complete")
    _publish_room(consultation, {"type": "state"}, to_lists=True)
    return consultation


# -- the chat ------------------------------------------------------------------------------------------

def chat_post(*, actor: Actor, consultation_id: int, client_id: str, body: str) -> tuple[ChatMessage, bool]:
    """One message into the room's chat, in the room's order. The same `client_id` again (a resend
    after a lost connection) returns the first message, not a second: (message, made now?)."""
    client_id, body = chat_client_id_clean(client_id), (body or "").strip()
    if not body:
        raise DomainError(_("Write a message first."), field="body")
    if len(body) > MESSAGE_MAX:
        raise DomainError(_("A message has at most %(max)d characters.", max=MESSAGE_MAX), field="body")
    consultation, _member = consultation_for(actor, consultation_id, lock=True)  # orders concurrent senders
    if not consultation.appointment.is_active:
        raise DomainError(_("This video visit is over."))
    existing = chat_message_sent(consultation, client_id)
    if existing is not None:
        return existing, False
    return chat_message_append(actor=actor, consultation=consultation, client_id=client_id, body=body), True


def chat_client_id_clean(client_id: str | None) -> str:
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > CLIENT_ID_MAX or not client_id.isascii():
        raise DomainError(_("This message cannot be sent."), field="client_id")
    return client_id


def chat_message_sent(consultation: Consultation, client_id: str) -> ChatMessage | None:
    """The message this sender's page already sent with `client_id` (a resend finds it), if any."""
    return db.session.execute(select(ChatMessage).where(
        ChatMessage.consultation_id == consultation.id, ChatMessage.client_id == client_id)).scalar_one_or_none()


def chat_message_append(*, actor: Actor, consultation: Consultation, client_id: str, body: str,
                        document_entry_id: int | None = None) -> ChatMessage:
    """The next message in the room's order (the consultation row locked by the caller); audited,
    announced to the room after commit."""
    seq = db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id).values(last_seq=Consultation.last_seq + 1)
        .returning(Consultation.last_seq)).scalar_one()
    message = ChatMessage(consultation_id=consultation.id, seq=seq, client_id=client_id, sender_id=actor.user_id,
                          body=body, sent_at=clock.now(), document_entry_id=document_entry_id)
    db.session.add(message)
    db.session.flush()
    audit_access(actor=actor, patient_id=consultation.appointment.patient_id, action="chat.create",
                 target=f"consultation:{consultation.id}", reason=access.PURPOSE)
    _publish_room(consultation, {"type": "chat", "seq": seq})
    return message


def chat_read(*, actor: Actor, consultation_id: int, after_seq: int = 0) -> list[ChatMessage]:
    """The room's messages after `after_seq`, in order. One audit row when it shows the reader anything
    someone else wrote (their own messages coming back are not a read of anyone's data)."""
    consultation, _member = consultation_for(actor, consultation_id)
    messages = list(db.session.execute(
        select(ChatMessage).where(ChatMessage.consultation_id == consultation.id, ChatMessage.seq > max(after_seq, 0))
        .order_by(ChatMessage.seq).limit(REPLAY_MAX)).scalars())
    if any(m.sender_id != actor.user_id for m in messages):
        audit_access(actor=actor, patient_id=consultation.appointment.patient_id, action="chat.read",
                     target=f"consultation:{consultation.id}", reason=access.PURPOSE)
    return messages


# -- call quality --------------------------------------------------------------------------------------

def quality_record(*, actor: Actor, consultation_id: int, sample: dict) -> bool:
    """Keep one member's quality sample (already checked by signals.quality_clean) with the call.
    False, and nothing kept, once the consultation has QUALITY_SAMPLES_MAX of them."""
    consultation, member = consultation_for(actor, consultation_id)
    kept = db.session.execute(select(func.count()).select_from(CallQualitySample)
                              .where(CallQualitySample.consultation_id == consultation.id)).scalar_one()
    if kept >= QUALITY_SAMPLES_MAX:
        return False
    db.session.add(CallQualitySample(
        consultation_id=consultation.id, member=member.value, measured_at=clock.now(),
        rtt_ms=None if sample["rtt"] is None else round(sample["rtt"]), loss_pct=sample["loss"],
        bitrate_kbps=None if sample["bitrate"] is None else round(sample["bitrate"]), fps=sample["fps"],
        level=sample["level"], audio_only=sample["audioOnly"]))
    db.session.flush()
    return True
