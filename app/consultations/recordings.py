"""Recording a video visit, only while both its members agree.

Either member asks (asking is their consent); the other agrees or refuses; the recording runs once
both agreed, and either one stops it at once (withdrawing their consent: the recording is over, a
new one needs both again). Each consent, refusal and withdrawal is an audit row: who, when.

The doctor's browser records (the patient's picture and both voices) and sends a piece every few
seconds: a piece is kept only while both consents stand, checked in the same transaction that keeps
it, with the recording's row locked, so a piece racing a withdrawal is either before it (kept) or
after it (refused). Kept pieces are encrypted files (app/core/files.py); a piece sent again is not
kept twice. Writing a piece and playing a recording go through the records gate (the chart part
"recording"): the doctor in the room writes with the "consultation" purpose; who may play is the
gate's usual answer for the chart (the doctor in care, the patient themself, an emergency grant).

A recording is deleted RECORDING_RETENTION_DAYS after it was made (`recordings_purge`, run by a
sweep as a system actor), each deletion audited.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.audit.services import audit_access
from app.consultations import access
from app.consultations.access import Member
from app.consultations.models import Consultation
from app.consultations.recording_media import container_of
from app.consultations.recording_models import Recording, RecordingChunk
from app.consultations.services import _publish_room, consultation_for
from app.core import files
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.uploads import size_label
from app.extensions import db
from app.records import services as records
from app.records.access import ChartPart

SEQ_MAX = 4000  # pieces per recording: at one every 5 s, five and a half hours
PURGE_BATCH = 50
CONSENT, REFUSE, WITHDRAW = "recording.consent", "recording.refuse", "recording.withdraw"
WRITE, PLAY, LIST, PURGE = "recording.write", "recording.play", "recording.list", "recording.purge"


class NotConsented(DomainError):
    """A piece for a recording that is not running (never agreed by both, or stopped): 409."""


class PieceTooLarge(DomainError):
    """413."""


class NotMedia(DomainError):
    """415."""


def chunk_max_bytes() -> int:
    return current_app.config["RECORDING_CHUNK_MAX_BYTES"]


def _target(recording: Recording) -> str:
    return f"recording:{recording.id}"


def open_recording(consultation_id: int, *, lock: bool = False) -> Recording | None:
    """The consultation's recording that is asked for or running (not ended), if any."""
    query = select(Recording).where(Recording.consultation_id == consultation_id, Recording.ended_at.is_(None))
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def recording_state(consultation_id: int) -> dict:
    """For the room (its page and its socket): is it recording, who agreed so far. No clinical content."""
    recording = open_recording(consultation_id)
    if recording is None:
        return {"id": None, "on": False, "patient": False, "doctor": False}
    return {"id": recording.id, "on": recording.is_recording, "patient": recording.patient_consent_at is not None,
            "doctor": recording.doctor_consent_at is not None}


def _in_call(actor: Actor, consultation_id: int) -> tuple[Consultation, Member]:
    consultation, member = consultation_for(actor, consultation_id, lock=True)  # orders consents and refusals
    if not consultation.appointment.is_active:
        raise DomainError(_("This video visit is over."))
    if consultation.admitted_at is None:
        raise DomainError(_("A recording can be asked for once the call has started."))
    return consultation, member


def _audit(actor: Actor, recording: Recording, action: str) -> None:
    audit_access(actor=actor, patient_id=recording.patient_id, action=action, target=_target(recording),
                 reason=access.PURPOSE)


def recording_consent(*, actor: Actor, consultation_id: int) -> Recording:
    """This member agrees to record the visit (the first to agree asks the other). The recording
    starts when both agreed. Agreeing again changes nothing."""
    consultation, member = _in_call(actor, consultation_id)
    recording = open_recording(consultation.id, lock=True)
    now = clock.now()
    if recording is None:
        recording = Recording(consultation_id=consultation.id, patient_id=consultation.appointment.patient_id,
                              asked_by_id=actor.user_id, size=0, chunk_count=0, created_at=now)
        db.session.add(recording)
    field = "patient_consent_at" if member == Member.PATIENT else "doctor_consent_at"
    if getattr(recording, field) is not None:
        return recording
    setattr(recording, field, now)
    if recording.patient_consent_at is not None and recording.doctor_consent_at is not None:
        recording.started_at = now
    db.session.flush()
    _audit(actor, recording, CONSENT)
    _publish_room(consultation, {"type": "recording"})
    return recording


def recording_withdraw(*, actor: Actor, consultation_id: int) -> Recording | None:
    """This member says no: refuses a recording asked for, or stops one running (their consent
    withdrawn). Either way it is over: no piece is kept after this. None when there was nothing."""
    consultation, member = consultation_for(actor, consultation_id, lock=True)
    recording = open_recording(consultation.id, lock=True)
    if recording is None:
        return None
    action = WITHDRAW if recording.started_at is not None or _consented(recording, member) else REFUSE
    recording.ended_at, recording.ended_by_id = clock.now(), actor.user_id
    db.session.flush()
    _audit(actor, recording, action)
    _publish_room(consultation, {"type": "recording"})
    return recording


def _consented(recording: Recording, member: Member) -> bool:
    return (recording.patient_consent_at if member == Member.PATIENT else recording.doctor_consent_at) is not None


# -- the pieces --------------------------------------------------------------------------------------------

def chunk_store(*, actor: Actor, consultation_id: int, recording_id: int, seq: int,
                data: bytes) -> tuple[RecordingChunk, bool]:
    """Keep one piece of a running recording: (the piece, kept now?). The same `seq` again returns
    the piece kept first. Refused, with nothing kept: a piece from anyone but the doctor in the
    room, one too large or empty, a first piece that is not WebM or Ogg, and any new piece once
    either consent is gone (NotConsented)."""
    consultation, member = consultation_for(actor, consultation_id)
    if member != Member.DOCTOR:
        raise AccessDenied(_("Only the doctor's side records the visit."))
    if not data:
        raise DomainError(_("This piece of the recording is empty."))
    if len(data) > chunk_max_bytes():
        raise PieceTooLarge(_("A piece of a recording can be at most %(max)s; this one is %(size)s.",
                              max=size_label(chunk_max_bytes()), size=size_label(len(data))))
    if not 0 <= seq < SEQ_MAX:
        raise DomainError(_("This recording is as long as a recording can be."))
    recording = db.session.execute(select(Recording).where(
        Recording.id == recording_id, Recording.consultation_id == consultation.id).with_for_update()).scalar_one_or_none()
    if recording is None:
        raise NotFound(_("No such recording."))
    existing = db.session.execute(select(RecordingChunk).where(
        RecordingChunk.recording_id == recording.id, RecordingChunk.seq == seq)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    if not recording.is_recording:
        raise NotConsented(_("The recording has stopped: both of you must agree to record again."))
    if seq == 0:
        content_type = container_of(data)
        if content_type is None:
            raise NotMedia(_("A recording must be WebM or Ogg video or sound."))
        recording.content_type = content_type
    elif recording.content_type is None:
        raise NotConsented(_("The recording's first piece has not arrived: start the recording again."))
    records.clinical_access(actor=actor, patient_id=recording.patient_id, part=ChartPart.RECORDING, write=True,
                            purpose=access.PURPOSE, action=WRITE, target=_target(recording))
    chunk = RecordingChunk(recording_id=recording.id, seq=seq, size=len(data), received_at=clock.now(),
                           file_key=files.store(data, content_type=recording.content_type))
    recording.size += len(data)
    recording.chunk_count += 1
    db.session.add(chunk)
    db.session.flush()
    return chunk, True


# -- the chart ---------------------------------------------------------------------------------------------

def recordings_of_patient(*, actor: Actor, patient_id: int) -> list[Recording]:
    """The patient's recordings that hold anything, newest first: a read of that part of the chart."""
    records.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.RECORDING, action=LIST,
                            target=f"patient:{patient_id}")
    return list(db.session.execute(
        select(Recording).where(Recording.patient_id == patient_id, Recording.chunk_count > 0)
        .order_by(Recording.created_at.desc(), Recording.id.desc())).scalars())


def recording_play(*, actor: Actor, recording_id: int) -> tuple[Recording, list[str]]:
    """A recording to play, and its pieces' file keys in order: each play audited through the gate."""
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.chunk_count == 0:
        raise NotFound(_("No such recording."))
    records.clinical_access(actor=actor, patient_id=recording.patient_id, part=ChartPart.RECORDING, action=PLAY,
                            target=_target(recording))
    keys = list(db.session.execute(select(RecordingChunk.file_key).where(RecordingChunk.recording_id == recording.id)
                                   .order_by(RecordingChunk.seq)).scalars())
    return recording, keys


def chunk_bytes(file_key: str) -> bytes:
    return files.load(file_key)


# -- retention ---------------------------------------------------------------------------------------------

def recordings_purge(*, actor: Actor, retention_days: int) -> int:
    """Delete the recordings made more than `retention_days` ago, their files with them, each
    deletion a write through the gate (audited as "recording.purge" by `actor`, a system actor).
    Safe to run twice, and by two workers at once (the rows are claimed with SKIP LOCKED)."""
    cutoff = clock.now() - dt.timedelta(days=retention_days)
    deleted = 0
    while True:
        batch = list(db.session.execute(
            select(Recording).where(Recording.created_at < cutoff).order_by(Recording.id).limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)).scalars())
        for recording in batch:
            records.clinical_access(actor=actor, patient_id=recording.patient_id, part=ChartPart.RECORDING,
                                    write=True, action=PURGE, target=_target(recording))
            keys = db.session.execute(select(RecordingChunk.file_key)
                                      .where(RecordingChunk.recording_id == recording.id)).scalars().all()
            db.session.execute(delete(RecordingChunk).where(RecordingChunk.recording_id == recording.id))
            for key in keys:
                try:
                    files.delete(key)
                except files.FileMissing:
                    pass
            db.session.delete(recording)
            deleted += 1
        db.session.flush()
        if len(batch) < PURGE_BATCH:
            return deleted
