"""Appointments: booking, moving, cancelling, and the day's flow (arrived, with the doctor, done, no-show).

Overlaps are refused by the database: exclusion constraints on PostgreSQL (see the migration);
on SQLite, the embedded default, the booking takes the database's single write lock before it
checks, so concurrent bookings still queue up behind one another.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, User
from app.audit.services import audit_access
from app.core.actor import SYSTEM, Actor
from app.core.clock import clock
from app.core.db import on_commit
from app.core.errors import DomainError, NotFound
from app.extensions import db, hub
from app.records.models import Patient
from app.scheduling import notices
from app.scheduling.channels import CLINIC, doctor_channel, patient_channel
from app.scheduling.clinic_time import local_today, to_local
from app.scheduling.models import (
    ACTIVE_STATUS_VALUES,
    Appointment,
    AppointmentStatus,
    VisitMode,
)
from app.scheduling.slots import (
    MAX_DAYS_AHEAD,
    Slot,
    day_slots,
    nearest_free_slots,
    slots_invalidate,
    walk_in_slot,
)

S = AppointmentStatus
STAFF_WHO_BOOK = (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)


class SlotTaken(DomainError):
    """The time went to someone else a moment ago; `alternatives` are the nearest free slots."""

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__(_("That time was just taken. Here are the nearest free times."), field="slot")
        self.alternatives = alternatives


# -- who may touch which appointment -----------------------------------------------------------------

def _audit_reason(actor: Actor) -> str:
    """Why a scheduling step touches a patient's appointment, for the audit trail: the patient's own
    booking, a doctor's care of their patient, or the desk running the clinic's day."""
    return {Role.PATIENT.value: "self", Role.DOCTOR.value: "care"}.get(actor.role, "scheduling")


def patient_id_for_user(user_id: int) -> int | None:
    return db.session.execute(select(Patient.id).where(Patient.user_id == user_id)).scalar_one_or_none()


def _check_may_act_for(actor: Actor, patient_id: int) -> None:
    if actor.role == Role.PATIENT.value:
        if patient_id_for_user(actor.user_id) != patient_id:
            raise NotFound(_("No such patient."))
    elif actor.role not in STAFF_WHO_BOOK:
        raise NotFound(_("No such patient."))


def appointment_for(actor: Actor, appointment_id: int, *, lock: bool = False) -> Appointment:
    """The appointment if `actor` may see it; NotFound otherwise (not even whether it exists)."""
    query = select(Appointment).where(Appointment.id == appointment_id)
    if lock:
        query = query.with_for_update()
    appointment = db.session.execute(query).scalar_one_or_none()
    if appointment is None:
        raise NotFound(_("No such appointment."))
    if actor.role == Role.PATIENT.value and patient_id_for_user(actor.user_id) != appointment.patient_id:
        raise NotFound(_("No such appointment."))
    if actor.role == Role.DOCTOR.value and appointment.doctor_id != actor.user_id:
        raise NotFound(_("No such appointment."))
    if actor.role not in (Role.PATIENT.value, Role.DOCTOR.value, Role.RECEPTION.value, Role.ADMIN.value, SYSTEM):
        raise NotFound(_("No such appointment."))
    return appointment


# -- booking -------------------------------------------------------------------------------------------

def _doctor(doctor_id: int) -> User:
    doctor = db.session.get(User, doctor_id)
    if doctor is None or doctor.role != Role.DOCTOR.value or not doctor.is_active_account:
        raise NotFound(_("No such doctor."))
    return doctor


def _offered_slot(doctor_id: int, starts_at: dt.datetime) -> Slot:
    now = clock.now()
    if starts_at <= now:
        raise DomainError(_("That time has passed. Choose a later one."), field="slot")
    if starts_at > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise DomainError(_("Appointments can be booked up to %(days)s days ahead.", days=MAX_DAYS_AHEAD), field="slot")
    for slot in day_slots(doctor_id, to_local(starts_at).date()):
        if slot.starts_at == starts_at:
            return slot
    raise DomainError(_("The doctor does not work at that time. Choose one of the free times shown."), field="slot")


def _serialize_on_sqlite(doctor_id: int) -> None:
    """SQLite has no exclusion constraints: take its (database-wide) write lock, then check."""
    db.session.execute(text("UPDATE users SET id = id WHERE id = :id"), {"id": doctor_id})


# Advisory lock classes: bookings of one doctor, and of one patient, queue up behind each other;
# and the starts of one doctor's visits (who is "with the doctor").
_DOCTOR_LOCK, _PATIENT_LOCK, _DOCTOR_VISITS_LOCK = 7301, 7302, 7303


def _serialize_on_postgres(doctor_id: int, patient_id: int) -> None:
    """The exclusion constraints decide, but two transactions inserting overlapping rows at the same
    moment each wait for the other's row and one dies of a deadlock instead of a clean violation.
    Queueing on the doctor, then the patient (always in that order), makes the later insert meet
    a committed row: a plain constraint violation, answered as "taken"."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:c, :id)"), {"c": _DOCTOR_LOCK, "id": doctor_id})
    db.session.execute(text("SELECT pg_advisory_xact_lock(:c, :id)"), {"c": _PATIENT_LOCK, "id": patient_id})


def _serialize_visit_starts(doctor_id: int) -> None:
    """Starts of one doctor's visits take turns, so "is the doctor with someone?" and the start that
    follows are one step: a start at the same instant waits, then sees this one."""
    if db.is_postgres:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:c, :id)"), {"c": _DOCTOR_VISITS_LOCK, "id": doctor_id})
    else:
        _serialize_on_sqlite(doctor_id)


def _overlapping(*, column, value, slot: Slot, exclude_id: int | None = None) -> bool:
    query = select(Appointment.id).where(column == value, Appointment.starts_at < slot.ends_at,
                                         Appointment.ends_at > slot.starts_at,
                                         Appointment.status.in_(ACTIVE_STATUS_VALUES))
    if exclude_id:
        query = query.where(Appointment.id != exclude_id)
    return db.session.execute(query.limit(1)).first() is not None


def _constraint_of(error: IntegrityError) -> str:
    diag = getattr(getattr(error, "orig", None), "diag", None)
    return (getattr(diag, "constraint_name", None) or str(error.orig)).lower()


def _existing_for_key(idempotency_key: str | None, patient_id: int) -> Appointment | None:
    if not idempotency_key:
        return None
    existing = db.session.execute(
        select(Appointment).where(Appointment.idempotency_key == idempotency_key)).scalar_one_or_none()
    if existing is not None and existing.patient_id != patient_id:
        raise DomainError(_("This form was already used. Reload the page and try again."))
    return existing


def _taken(doctor_id: int, slot: Slot) -> SlotTaken:
    return SlotTaken(nearest_free_slots(doctor_id, slot.starts_at, to_local(slot.starts_at).date()))


def _insert(appointment: Appointment, slot: Slot) -> Appointment:
    doctor_id, patient_id = appointment.doctor_id, appointment.patient_id
    if db.is_postgres:
        _serialize_on_postgres(doctor_id, patient_id)
    else:
        _serialize_on_sqlite(doctor_id)
        if _overlapping(column=Appointment.patient_id, value=patient_id, slot=slot):
            raise DomainError(_("You already have an appointment at that time."), field="slot")
        if _overlapping(column=Appointment.doctor_id, value=doctor_id, slot=slot):
            raise _taken(doctor_id, slot)
    try:
        with db.session.begin_nested():
            db.session.add(appointment)
            db.session.flush()
    except IntegrityError as error:
        constraint = _constraint_of(error)
        if "idempotency" in constraint:
            existing = _existing_for_key(appointment.idempotency_key, patient_id)
            if existing is not None:
                return existing
        if "patient_overlap" in constraint:
            raise DomainError(_("The patient already has an appointment at that time."), field="slot") from None
        if "doctor_overlap" in constraint:
            raise _taken(doctor_id, slot) from None
        raise
    return appointment


def _after_change(appointment: Appointment, event: str) -> None:
    """After commit: fresh free slots, and live pages told what changed."""
    doctor_id, patient_id, appointment_id = appointment.doctor_id, appointment.patient_id, appointment.id
    status = appointment.status
    patient_user_id = db.session.execute(select(Patient.user_id).where(Patient.id == patient_id)).scalar_one_or_none()
    is_today = to_local(appointment.starts_at).date() == local_today()

    def publish():
        slots_invalidate(doctor_id)
        message = {"type": "appointment", "event": event, "id": appointment_id, "status": status}
        hub.publish(doctor_channel(doctor_id), message)
        if is_today:
            hub.publish(CLINIC, message)
        if patient_user_id:
            hub.publish(patient_channel(patient_user_id), message)

    on_commit(db.session, publish)


def appointment_book(*, actor: Actor, patient_id: int, doctor_id: int, starts_at: dt.datetime,
                     mode: VisitMode = VisitMode.IN_PERSON, reason: str | None = None,
                     idempotency_key: str | None = None, rescheduled_from_id: int | None = None) -> Appointment:
    _check_may_act_for(actor, patient_id)
    existing = _existing_for_key(idempotency_key, patient_id)
    if existing is not None:
        return existing
    doctor = _doctor(doctor_id)
    slot = _offered_slot(doctor.id, starts_at)
    appointment = Appointment(
        doctor_id=doctor.id, patient_id=patient_id, starts_at=slot.starts_at, ends_at=slot.ends_at,
        status=S.BOOKED.value, mode=mode.value, reason=(reason or "").strip()[:500] or None,
        idempotency_key=idempotency_key, booked_by_id=actor.user_id, rescheduled_from_id=rescheduled_from_id,
        video_token=secrets.token_urlsafe(24) if mode == VisitMode.VIDEO else None,
    )
    saved = _insert(appointment, slot)
    if saved is not appointment:
        return saved  # the same form, submitted twice
    audit_access(actor=actor, patient_id=patient_id, action="appointment.create", target=f"appointment:{saved.id}",
                 reason=_audit_reason(actor))
    if rescheduled_from_id is None:
        notices.notify_patient(saved, event="booked", subject=_l("Your appointment is booked"),
                               text=_l("Your appointment with %(doctor)s is booked for %(when)s.",
                                       doctor=doctor.full_name, when=notices.when_text(saved)))
        if actor.user_id != doctor.id:  # by the patient or the desk: the doctor hears of it once
            notices.notify_doctor(saved, event="booked", text=_l("New booking: %(patient)s, %(when)s.",
                                                                 patient=saved.patient.full_name,
                                                                 when=notices.when_text(saved)))
    _after_change(saved, "booked")
    return saved


DESK = (Role.RECEPTION.value, Role.ADMIN.value)


def walk_in_options(doctors: list[User]) -> list[tuple[User, Slot]]:
    """For the desk: each doctor who can see a walk-in today, and when (now, or their next free time)."""
    now = clock.now()
    return [(doctor, slot) for doctor in doctors if (slot := walk_in_slot(doctor.id, now)) is not None]


def appointment_walk_in(*, actor: Actor, patient_id: int, doctor_id: int, starts_at: dt.datetime) -> Appointment:
    """The desk sees a patient who walked in: book the doctor's slot under way (if nobody has it) or
    their next free time today, with the patient already arrived. The database decides a race as for
    any booking; a time that is no longer the one offered is refused with the choice shown again.
    One notice to the doctor, the arrival: a walk-in is one event, not a booking and then an arrival."""
    if actor.role not in DESK:
        raise NotFound(_("No such patient."))
    doctor = _doctor(doctor_id)
    now = clock.now()
    slot = walk_in_slot(doctor.id, now)
    if slot is None or slot.starts_at != starts_at:
        raise DomainError(_("That time is no longer free. Choose again."), field="slot")
    appointment = Appointment(doctor_id=doctor.id, patient_id=patient_id, starts_at=slot.starts_at,
                              ends_at=slot.ends_at, status=S.CHECKED_IN.value, checked_in_at=now,
                              mode=VisitMode.IN_PERSON.value, booked_by_id=actor.user_id)
    saved = _insert(appointment, slot)
    for action in ("create", "check_in"):
        audit_access(actor=actor, patient_id=patient_id, action=f"appointment.{action}",
                     target=f"appointment:{saved.id}", reason=_audit_reason(actor))
    notices.notify_doctor(saved, event="arrived",
                          text=_l("%(patient)s walked in: waiting for %(time)s.", patient=saved.patient.full_name,
                                  time=notices.time_text(saved.starts_at)))
    _after_change(saved, "check_in")
    return saved


# -- cancelling and moving ------------------------------------------------------------------------------

def _check_may_change(actor: Actor, appointment: Appointment, reason: str | None) -> None:
    if appointment.status_enum not in (S.BOOKED, S.CHECKED_IN):
        raise DomainError(_("This appointment is %(status)s: it cannot be changed.",
                            status=appointment.status_enum.label.lower()))
    if actor.role == Role.PATIENT.value:
        cutoff = dt.timedelta(minutes=current_app.config["CANCEL_CUTOFF_MINUTES"])
        if appointment.starts_at - clock.now() < cutoff:
            hours = current_app.config["CANCEL_CUTOFF_MINUTES"] / 60
            raise DomainError(_("Appointments can be changed online up to %(hours)s hours before. Please call the clinic.",
                                hours=format(hours, "g")))
    elif not (reason or "").strip():
        raise DomainError(_("Give a reason: the patient will be told."), field="reason")


def appointment_cancel(*, actor: Actor, appointment_id: int, reason: str | None = None) -> Appointment:
    appointment = appointment_for(actor, appointment_id, lock=True)
    _check_may_change(actor, appointment, reason)
    appointment.status = S.CANCELLED.value
    appointment.cancel_reason = (reason or "").strip()[:200] or "cancelled by the patient"
    appointment.cancelled_by_id = actor.user_id
    db.session.flush()
    audit_access(actor=actor, patient_id=appointment.patient_id, action="appointment.cancel",
                 target=f"appointment:{appointment.id}", reason=_audit_reason(actor))
    when, doctor, patient = notices.when_text(appointment), appointment.doctor.full_name, appointment.patient.full_name
    if actor.role == Role.PATIENT.value:
        notices.notify_doctor(appointment, event="cancelled", text=_l("Cancelled by the patient: %(patient)s, %(when)s.",
                                                                      patient=patient, when=when))
        notices.notify_patient(appointment, event="cancelled", subject=_l("Your appointment is cancelled"),
                               text=_l("As you asked, your appointment with %(doctor)s on %(when)s is cancelled.",
                                       doctor=doctor, when=when))
    else:
        notices.notify_patient(appointment, event="cancelled", subject=_l("Your appointment was cancelled"),
                               text=_l("Your appointment with %(doctor)s on %(when)s was cancelled: %(reason)s. "
                                       "Please book a new time.", doctor=doctor, when=when,
                                       reason=appointment.cancel_reason),
                               sms_text=_l("Your appointment with %(doctor)s on %(when)s was cancelled. "
                                           "Please book a new time.", doctor=doctor, when=when))
        if actor.user_id != appointment.doctor_id:
            notices.notify_doctor(appointment, event="cancelled", text=_l("Cancelled: %(patient)s, %(when)s.",
                                                                          patient=patient, when=when))
    _after_change(appointment, "cancelled")
    return appointment


def appointment_reschedule(*, actor: Actor, appointment_id: int, starts_at: dt.datetime,
                           doctor_id: int | None = None, reason: str | None = None,
                           idempotency_key: str | None = None, mode: VisitMode | None = None) -> Appointment:
    """Move an appointment: the old one is cancelled and a new one booked, in one transaction;
    `mode` switches between in person and video (the same way of meeting otherwise)."""
    old = appointment_for(actor, appointment_id, lock=True)
    if idempotency_key:
        existing = _existing_for_key(idempotency_key, old.patient_id)
        if existing is not None:
            return existing
    _check_may_change(actor, old, reason)
    old.status = S.CANCELLED.value
    old.cancel_reason = ("moved: " + (reason or "by the patient").strip())[:200]
    old.cancelled_by_id = actor.user_id
    db.session.flush()
    new = appointment_book(actor=actor, patient_id=old.patient_id, doctor_id=doctor_id or old.doctor_id,
                           starts_at=starts_at, mode=mode or VisitMode(old.mode), reason=old.reason,
                           idempotency_key=idempotency_key, rescheduled_from_id=old.id)
    audit_access(actor=actor, patient_id=old.patient_id, action="appointment.move",
                 target=f"appointment:{old.id}->{new.id}", reason=_audit_reason(actor))
    text_ = _l("Your appointment on %(old)s has moved to %(new)s with %(doctor)s.", old=notices.when_text(old),
               new=notices.when_text(new), doctor=new.doctor.full_name)
    if actor.user_id != new.doctor_id:  # one notice for the move (the booking inside it sends none)
        notices.notify_doctor(new, event="moved", text=_l("Moved: %(patient)s, %(old)s → %(new)s.",
                                                          patient=new.patient.full_name,
                                                          old=notices.when_text(old), new=notices.when_text(new)))
    notices.notify_patient(new, event="moved", subject=_l("Your appointment has moved"), text=text_)
    _after_change(old, "cancelled")
    return new


# -- the day's flow ---------------------------------------------------------------------------------------

FLOW = {
    # action: (allowed from, to, who). A visit starts once the patient has arrived, and is done once
    # it has started: nobody is "with the doctor" who never came, nor "done" who was never seen.
    "check_in": ((S.BOOKED,), S.CHECKED_IN, (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)),
    "start": ((S.CHECKED_IN,), S.IN_CONSULTATION, (Role.DOCTOR.value,)),
    # The system too: a video visit continued by phone ends when Twilio reports the call over.
    "complete": ((S.IN_CONSULTATION,), S.COMPLETED, (Role.DOCTOR.value, SYSTEM)),
    "no_show": ((S.BOOKED,), S.NO_SHOW, (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)),
}
# A video patient arrives by waiting in the room: letting them in (consultations.patient_admit) starts
# a booked video visit, with no desk to check them in.
VIDEO_START_FROM = (S.BOOKED, S.CHECKED_IN)
_STAMPS = {S.CHECKED_IN: "checked_in_at", S.IN_CONSULTATION: "started_at", S.COMPLETED: "completed_at"}


class DoctorWithPatient(DomainError):
    """Starting a visit while the doctor is already with someone: asked for explicitly (`alongside`)."""

    def __init__(self, current: Appointment) -> None:
        super().__init__(_("%(doctor)s is already with %(patient)s (since %(time)s).",
                           doctor=current.doctor.full_name, patient=current.patient.full_name,
                           time=to_local(current.started_at or current.starts_at).strftime("%H:%M")))
        self.current = current


class AlreadyDone(DomainError):
    """Someone else (or the same person's other click) took the step first: the database decided."""


def _no_show_from(appointment: Appointment) -> dt.datetime:
    return appointment.starts_at + dt.timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])


def appointment_actions(appointment: Appointment, *, role: str, offered: tuple[str, ...]) -> list[str]:
    """The steps of the day's flow (among those a page offers) that `role` may take on this
    appointment now: the moves FLOW allows from its status, on the appointment's own day, and a
    no-show only once the grace period is over."""
    if to_local(appointment.starts_at).date() != local_today():
        return []
    return [action for action in offered
            if role in FLOW[action][2] and appointment.status_enum in FLOW[action][0]
            and (action != "no_show" or clock.now() >= _no_show_from(appointment))]


def doctor_with_patient(doctor_id: int, *, other_than: int | None = None) -> Appointment | None:
    """The appointment the doctor is in now (the latest started), if any."""
    query = select(Appointment).where(Appointment.doctor_id == doctor_id,
                                      Appointment.status == S.IN_CONSULTATION.value)
    if other_than is not None:
        query = query.where(Appointment.id != other_than)
    return db.session.execute(query.order_by(Appointment.started_at.desc()).limit(1)).scalar_one_or_none()


def _refused_step(appointment: Appointment, target: AppointmentStatus) -> DomainError:
    status = appointment.status_enum.label.lower()
    if appointment.status_enum == target:
        return AlreadyDone(_("This appointment is already %(status)s: nothing was changed.", status=status))
    return DomainError(_("This appointment is %(status)s.", status=status))


def appointment_advance(*, actor: Actor, appointment_id: int, action: str, alongside: bool = False) -> Appointment:
    """Move an appointment along the day: check in, start, complete, or mark a no-show.
    The change is one conditional UPDATE (from an allowed status only): of two clicks or two people
    at once, the database lets one through and the other is told (AlreadyDone). Starting a visit
    while the doctor is with another patient needs `alongside=True` (DoctorWithPatient otherwise);
    the starts of one doctor's visits take turns, so two at the same instant cannot both pass that check."""
    if action not in FLOW:
        raise NotFound(_("No such action."))
    allowed_from, target, who = FLOW[action]
    if actor.role not in who:
        raise NotFound(_("No such appointment."))
    appointment = appointment_for(actor, appointment_id)
    if action == "start" and appointment.is_video:
        allowed_from = VIDEO_START_FROM
    if appointment.status_enum not in allowed_from:
        raise _refused_step(appointment, target)
    now = clock.now()
    day = to_local(appointment.starts_at).date()
    if action in ("check_in", "start") and day != local_today():
        raise DomainError(_("Only today's appointments can be checked in or started."))
    if action == "no_show" and now < _no_show_from(appointment):
        grace = current_app.config["NO_SHOW_GRACE_MINUTES"]
        raise DomainError(_("A patient can be marked absent %(minutes)s minutes after the start, at %(time)s.",
                            minutes=grace, time=to_local(_no_show_from(appointment)).strftime("%H:%M")))
    if action == "start":
        _serialize_visit_starts(appointment.doctor_id)
    if action == "start" and not alongside:
        current = doctor_with_patient(appointment.doctor_id, other_than=appointment.id)
        if current is not None:
            raise DoctorWithPatient(current)
    values = {"status": target.value, "updated_at": now}
    if target in _STAMPS:
        values[_STAMPS[target]] = now
    changed = db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status.in_([s.value for s in allowed_from])).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(appointment)
    if changed != 1:
        raise _refused_step(appointment, target)
    audit_access(actor=actor, patient_id=appointment.patient_id, action=f"appointment.{action}",
                 target=f"appointment:{appointment.id}", reason=_audit_reason(actor))
    if target == S.CHECKED_IN and actor.user_id != appointment.doctor_id:
        notices.notify_doctor(appointment, event="arrived",
                              text=_l("%(patient)s arrived for %(time)s.", patient=appointment.patient.full_name,
                                      time=notices.time_text(appointment.starts_at)))
    _after_change(appointment, action)
    return appointment


# The step back right after a slip at the desk ("checked in the wrong Amani"): allowed while the
# appointment is still where that step left it, on its own day, by whoever may take the step.
UNDO = {"check_in": (S.CHECKED_IN, S.BOOKED), "no_show": (S.NO_SHOW, S.BOOKED)}


def appointment_undo(*, actor: Actor, appointment_id: int, action: str) -> Appointment:
    """Take back a check-in or a no-show. Undoing twice changes nothing and is not an error."""
    if action not in UNDO or actor.role not in FLOW[action][2]:
        raise NotFound(_("No such action."))
    done, back = UNDO[action]
    appointment = appointment_for(actor, appointment_id, lock=True)
    if appointment.status_enum == back:
        return appointment
    if appointment.status_enum != done:
        raise DomainError(_("This appointment is %(status)s: that can no longer be undone.",
                            status=appointment.status_enum.label.lower()))
    if to_local(appointment.starts_at).date() != local_today():
        raise DomainError(_("Only today's steps can be undone."))
    if action == "no_show":  # the time was free while they were absent: someone may have it now
        if db.is_postgres:
            _serialize_on_postgres(appointment.doctor_id, appointment.patient_id)
        else:
            _serialize_on_sqlite(appointment.doctor_id)
        slot = Slot(appointment.starts_at, appointment.ends_at)
        if any(_overlapping(column=column, value=value, slot=slot, exclude_id=appointment.id)
               for column, value in ((Appointment.doctor_id, appointment.doctor_id),
                                     (Appointment.patient_id, appointment.patient_id))):
            raise DomainError(_("This time has been given to another visit since: book a new one instead."))
    appointment.status = back.value
    if action == "check_in":
        appointment.checked_in_at = None
    db.session.flush()
    audit_access(actor=actor, patient_id=appointment.patient_id, action=f"appointment.{action}.undo",
                 target=f"appointment:{appointment.id}", reason=_audit_reason(actor))
    _after_change(appointment, f"{action}_undone")
    return appointment


def appointment_reason_read(*, actor: Actor, appointment_id: int) -> str | None:
    """The reason the patient gave: clinical, so reading it is audited."""
    appointment = appointment_for(actor, appointment_id)
    audit_access(actor=actor, patient_id=appointment.patient_id, action="appointment.reason.read",
                 target=f"appointment:{appointment.id}", reason=_audit_reason(actor))
    return appointment.reason
