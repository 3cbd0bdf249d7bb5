"""A video visit continued by phone, when the call will not connect or stays at the bottom of the ladder.

The doctor decides (one click, "Continue by phone"): the room turns into a phone consultation and
both pages say so live.
- With Twilio configured, that same click places a Twilio call that rings the doctor's phone and,
  answered, bridges the patient (twilio_voice). Twilio's status callback ends the visit by phone with
  the call's duration; a retried callback finds the call ended and changes nothing.
- Without Twilio (or when it fails, which the doctor is told), each page shows the number to call:
  the doctor the patient's, the patient the clinic's (CLINIC_PHONE, else the doctor's own); the doctor
  then records that the visit was held by phone and how many minutes it lasted.
Either way the consultation ends with mode "phone" and its duration, and the appointment is done.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.audit.services import audit_access
from app.consultations import access, services, twilio_voice
from app.consultations.access import Member
from app.consultations.models import Consultation, PhoneCall, VisitHeld
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.records.models import Patient

log = logging.getLogger(__name__)

MINUTES_MIN, MINUTES_MAX = 1, 180
TWILIO_ACTOR = Actor.system("twilio voice status callback")
CALL_OVER = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclasses.dataclass(frozen=True)
class Numbers:
    patient: str | None   # the patient's phone, from their record
    doctor: str | None    # the doctor's own, from their account
    clinic: str | None    # CLINIC_PHONE

    @property
    def for_the_patient_to_call(self) -> str | None:
        return self.clinic or self.doctor


def numbers_for(consultation: Consultation, config) -> Numbers:
    appointment = consultation.appointment
    patient = db.session.execute(select(Patient.phone).where(Patient.id == appointment.patient_id)).scalar()
    doctor = db.session.execute(select(User.phone).where(User.id == appointment.doctor_id)).scalar()
    return Numbers(patient or None, doctor or None, config.get("CLINIC_PHONE") or None)


def _after_seconds(config) -> int:
    return int(config.get("PHONE_FALLBACK_AFTER_SECONDS") or 45)


def offer_in_seconds(consultation: Consultation, config) -> int | None:
    """How long after admission the room offers the phone (the call has had its chance to connect):
    seconds from now, 0 when already due; None before admission."""
    if consultation.admitted_at is None:
        return None
    due = consultation.admitted_at + dt.timedelta(seconds=_after_seconds(config))
    return max(0, int((due - clock.now()).total_seconds()))


def live_call(consultation_id: int) -> PhoneCall | None:
    return db.session.execute(select(PhoneCall).where(PhoneCall.consultation_id == consultation_id,
                                                      PhoneCall.ended_at.is_(None))
                              .order_by(PhoneCall.id.desc()).limit(1)).scalar_one_or_none()


def last_call(consultation_id: int) -> PhoneCall | None:
    return db.session.execute(select(PhoneCall).where(PhoneCall.consultation_id == consultation_id)
                              .order_by(PhoneCall.id.desc()).limit(1)).scalar_one_or_none()


def _doctors_room(actor: Actor, consultation_id: int) -> Consultation:
    """The consultation, locked, for its own doctor (NotFound for anyone else)."""
    consultation, member = services.consultation_for(actor, consultation_id, lock=True)
    if member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))
    return consultation


def _check_going_on(consultation: Consultation) -> None:
    if consultation.ended_at is not None or not consultation.appointment.is_active:
        raise DomainError(_("This video visit is over."))
    if consultation.admitted_at is None:
        raise DomainError(_("Let the patient in first: a visit ends once it has started."))


@dataclasses.dataclass(frozen=True)
class PhoneStart:
    consultation: Consultation
    call: PhoneCall | None     # the Twilio call ringing the doctor, when Twilio placed one
    failure: str | None        # why Twilio did not: the doctor calls with their own phone instead


def phone_continue(*, actor: Actor, consultation_id: int, config, bridge_url: str, status_url: str) -> PhoneStart:
    """The doctor continues the visit by phone. With Twilio: a call that rings the doctor and bridges
    the patient, placed at most once at a time (a second click while it is live finds it). The row
    lock is held across Twilio's answer (10 s at most) so that two clicks cannot place two calls."""
    consultation = _doctors_room(actor, consultation_id)
    _check_going_on(consultation)
    patient = consultation.appointment.patient_id
    if consultation.phone_since is None:
        consultation.phone_since = clock.now()
        db.session.flush()
        audit_access(actor=actor, patient_id=patient, action="consultation.phone",
                     target=f"consultation:{consultation.id}", reason=access.PURPOSE)
        services.publish_room_state(consultation)
    settings = twilio_voice.voice_settings(config)
    if settings is None:
        return PhoneStart(consultation, None, None)
    existing = live_call(consultation.id)
    if existing is not None:
        return PhoneStart(consultation, existing, None)
    numbers = numbers_for(consultation, config)
    if not numbers.doctor:
        return PhoneStart(consultation, None, _("Your account has no phone number for the clinic to ring."))
    if not numbers.patient:
        return PhoneStart(consultation, None, _("The patient's record has no phone number."))
    from twilio.base.exceptions import TwilioException

    try:
        sid = twilio_voice.call_create(settings, to=numbers.doctor, url=bridge_url, status_callback=status_url)
    except TwilioException as exc:  # refused or unreachable: said as it is, never a pretended call
        log.warning("Twilio call not placed for consultation %s (%s)", consultation.id, exc.__class__.__name__)
        return PhoneStart(consultation, None, _("The phone call could not be placed. Call the patient yourself."))
    call = PhoneCall(consultation_id=consultation.id, call_sid=sid, placed_by_id=actor.user_id, placed_at=clock.now(),
                     status="queued")
    db.session.add(call)
    db.session.flush()
    audit_access(actor=actor, patient_id=patient, action="consultation.phone.call",
                 target=f"consultation:{consultation.id}", reason=access.PURPOSE)
    return PhoneStart(consultation, call, None)


def phone_minutes_record(*, actor: Actor, consultation_id: int, minutes) -> Consultation:
    """The doctor says the visit was held by phone, for `minutes` (1..180): the visit ends by phone.
    Recording it again once it ended changes nothing."""
    consultation = _doctors_room(actor, consultation_id)
    if consultation.ended_at is not None:
        return consultation
    try:
        minutes = int(str(minutes).strip())
    except ValueError:
        minutes = None
    if minutes is None or not MINUTES_MIN <= minutes <= MINUTES_MAX:
        raise DomainError(_("Enter the minutes the call lasted, from %(low)d to %(high)d.", low=MINUTES_MIN,
                            high=MINUTES_MAX), field="minutes")
    _check_going_on(consultation)
    if consultation.phone_since is None:
        raise DomainError(_("Continue by phone first."), field="minutes")
    return services.visit_close(actor=actor, consultation=consultation, held=VisitHeld.PHONE,
                                duration_seconds=minutes * 60)


# -- Twilio's webhooks (no person: the signature is the proof) ------------------------------------------

def _consultation_locked(consultation_id: int) -> Consultation | None:
    """Waits for a doctor's request still placing the call (it holds this lock) to commit its CallSid."""
    return db.session.execute(select(Consultation).where(Consultation.id == consultation_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def bridge_for(*, consultation_id: int, call_sid: str) -> str | None:
    """The number to bridge the answered call to: the patient's, if this is the live call of a visit
    continued by phone; None otherwise (a stale or unknown call gets a goodbye)."""
    consultation = _consultation_locked(consultation_id)
    if consultation is None or consultation.ended_at is not None or not consultation.appointment.is_active:
        return None
    call = live_call(consultation.id)
    if call is None or call.call_sid != call_sid:
        return None
    call.status = "in-progress"
    return db.session.execute(select(Patient.phone).where(Patient.id == consultation.appointment.patient_id)).scalar()


def _seconds(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _the_call(consultation: Consultation, call_sid: str) -> PhoneCall | None:
    return db.session.execute(select(PhoneCall).where(PhoneCall.call_sid == call_sid,
                                                      PhoneCall.consultation_id == consultation.id)
                              .with_for_update()).scalar_one_or_none()


def _held_by_phone_if_known(consultation: Consultation, call: PhoneCall) -> None:
    """Once both reports are in (the doctor's call over, the patient's leg told), whichever came second:
    the visit ends by phone for as long as the patient was on the line; if the patient never answered,
    the visit goes on and the doctor's page says how the call ended."""
    if call.ended_at is None or call.patient_status is None:
        return
    going_on = consultation.ended_at is None and consultation.appointment.is_active
    if going_on and call.patient_status == "completed" and call.patient_seconds:
        services.visit_close(actor=TWILIO_ACTOR, consultation=consultation, held=VisitHeld.PHONE,
                             duration_seconds=call.patient_seconds)
    else:
        services.publish_room_state(consultation)


def phone_call_status(*, consultation_id: int, call_sid: str, status: str, duration) -> PhoneCall | None:
    """Twilio says how the doctor's call ended (its duration counts from the doctor's answer). Busy, no
    answer, failed: the call is over, the visit goes on and the doctor's page says so; a completed call
    ends the visit by phone once the patient's leg is known too. Only the first report counts (Twilio
    retries)."""
    consultation = _consultation_locked(consultation_id)
    if consultation is None:
        return None
    call = _the_call(consultation, call_sid)
    if call is None or call.ended_at is not None or status not in CALL_OVER:
        return call
    call.status, call.ended_at, call.duration_seconds = status, clock.now(), _seconds(duration)
    if status != "completed" and call.patient_status is None:
        call.patient_status = "not-dialled"  # the doctor never answered: no leg to the patient will report
    db.session.flush()
    _held_by_phone_if_known(consultation, call)
    return call


def patient_leg_ended(*, consultation_id: int, call_sid: str, status: str, duration) -> PhoneCall | None:
    """Twilio says how the patient's leg of the doctor's call `call_sid` went (<Dial>'s action):
    answered and for how long, or busy / no answer / failed. Only the first report counts."""
    consultation = _consultation_locked(consultation_id)
    if consultation is None:
        return None
    call = _the_call(consultation, call_sid)
    if call is None or call.patient_status is not None:
        return call
    call.patient_status = (status or "failed")[:16]
    call.patient_seconds = _seconds(duration) if call.patient_status == "completed" else 0
    db.session.flush()
    _held_by_phone_if_known(consultation, call)
    return call


# -- what the room's page shows of it ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PhonePanel:
    numbers: Numbers
    offer_in: int | None        # seconds until the doctor is offered the phone (0: now); None before admission
    after_seconds: int          # not connected this long after admission (or after a drop): offered
    weak_seconds: int           # how long at the ladder's bottom before it is offered anyway
    by_twilio: bool             # "Continue by phone" rings the doctor's phone
    call: PhoneCall | None      # the last Twilio call


def phone_panel(consultation: Consultation, config) -> PhonePanel:
    return PhonePanel(numbers_for(consultation, config), offer_in_seconds(consultation, config), _after_seconds(config),
                      int(config.get("PHONE_FALLBACK_WEAK_SECONDS") or 30),
                      twilio_voice.voice_settings(config) is not None,
                      last_call(consultation.id) if consultation.phone_since is not None else None)
