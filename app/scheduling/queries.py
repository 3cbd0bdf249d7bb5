"""Reads for the scheduling pages: the doctor's day, the clinic's queue, a patient's list, statistics."""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, StaffProfile, User
from app.core.clock import clock
from app.core.hooks import Hook
from app.extensions import db
from app.records.visits import Visit
from app.scheduling.clinic_time import day_bounds_utc, local_today, to_local
from app.scheduling.models import Appointment, AppointmentStatus, AvailabilityException, WeeklyHours

S = AppointmentStatus

# (appointment ids) -> the set of those whose patient waits in the video room now. The consultations
# domain answers it (registered by create_app): it sits above scheduling.
waiting_online = Hook("which of these appointments have their patient in the video waiting room")


def doctors_list(*, speciality: str | None = None) -> list[User]:
    query = (select(User).join(StaffProfile, StaffProfile.user_id == User.id)
             .where(User.role == Role.DOCTOR.value, User.is_active_account.is_(True))
             .options(joinedload(User.staff_profile)).order_by(User.full_name))
    if speciality:
        query = query.where(StaffProfile.speciality == speciality)
    return list(db.session.execute(query).scalars())


def doctor_get(doctor_id: int) -> User | None:
    """An active doctor by id, or None."""
    return db.session.execute(
        select(User).where(User.id == doctor_id, User.role == Role.DOCTOR.value, User.is_active_account.is_(True))
    ).scalar_one_or_none()


def weekly_hours(doctor_id: int) -> list[WeeklyHours]:
    return list(db.session.execute(
        select(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id).order_by(WeeklyHours.weekday, WeeklyHours.start)
    ).scalars())


def exceptions_ahead(doctor_id: int) -> list[AvailabilityException]:
    """Leave and extra hours that have not ended yet, soonest first."""
    return list(db.session.execute(
        select(AvailabilityException).where(AvailabilityException.doctor_id == doctor_id,
                                            AvailabilityException.last_day >= local_today())
        .order_by(AvailabilityException.first_day)
    ).scalars())


def visit_for_member(*, token: str, user_id: int, role: str) -> Appointment | None:
    """The video visit behind an unguessable link, for its own doctor or patient only (None for
    anyone else, as for a link that does not exist)."""
    if len(token) >= 64:
        return None
    appointment = db.session.execute(
        select(Appointment).where(Appointment.video_token == token).options(joinedload(Appointment.patient))
    ).scalar_one_or_none()
    if appointment is None:
        return None
    is_doctor = role == Role.DOCTOR.value and appointment.doctor_id == user_id
    is_patient = role == Role.PATIENT.value and appointment.patient.user_id == user_id
    return appointment if is_doctor or is_patient else None


def specialities() -> list[str]:
    return list(db.session.execute(
        select(StaffProfile.speciality).join(User, User.id == StaffProfile.user_id)
        .where(User.role == Role.DOCTOR.value, User.is_active_account.is_(True), StaffProfile.speciality.is_not(None))
        .distinct().order_by(StaffProfile.speciality)
    ).scalars())


def day_appointments(day: dt.date, *, doctor_id: int | None = None, include_cancelled: bool = False) -> list[Appointment]:
    start, end = day_bounds_utc(day)
    query = (select(Appointment).where(Appointment.starts_at >= start, Appointment.starts_at < end)
             .options(joinedload(Appointment.patient), joinedload(Appointment.doctor))
             .order_by(Appointment.starts_at, Appointment.id))
    if doctor_id is not None:
        query = query.where(Appointment.doctor_id == doctor_id)
    if not include_cancelled:
        query = query.where(Appointment.status != S.CANCELLED.value)
    return list(db.session.execute(query).scalars())


QUEUE_COLUMNS = [
    ("booked", _l("Booked"), (S.BOOKED,)),
    ("arrived", _l("Arrived"), (S.CHECKED_IN,)),
    ("with-doctor", _l("With the doctor"), (S.IN_CONSULTATION,)),
    ("done", _l("Done"), (S.COMPLETED, S.NO_SHOW)),
]


def clinic_queue(day: dt.date) -> list[tuple[str, str, list[Appointment]]]:
    appointments = day_appointments(day)
    return [(key, label, [a for a in appointments if a.status_enum in statuses]) for key, label, statuses in QUEUE_COLUMNS]


def _together(*, doctor_id: int, since: dt.datetime, until: dt.datetime):
    """An appointment of this doctor, not cancelled, starting in the window: what makes a care
    relationship (records/access.py decides so; these queries only say which appointments)."""
    return (Appointment.doctor_id == doctor_id, Appointment.starts_at >= since, Appointment.starts_at <= until,
            Appointment.status != S.CANCELLED.value)


def appointment_together(*, doctor_id: int, patient_id: int, since: dt.datetime, until: dt.datetime) -> bool:
    """One query: an appointment of this doctor with this patient, not cancelled, starting in the
    window (records asks it to decide a care relationship: app/records/visits.py)."""
    appointment = exists().where(Appointment.patient_id == patient_id,
                                 *_together(doctor_id=doctor_id, since=since, until=until))
    return bool(db.session.execute(select(appointment)).scalar())


def patients_together(*, doctor_id: int, since: dt.datetime, until: dt.datetime):
    """The ids of the patients with such an appointment, as a subquery for records to filter on."""
    return select(Appointment.patient_id).where(*_together(doctor_id=doctor_id, since=since, until=until))


def _visit(appointment: Appointment) -> Visit:
    return Visit(id=appointment.id, patient_id=appointment.patient_id, doctor_id=appointment.doctor_id,
                 starts_at=appointment.starts_at, day=to_local(appointment.starts_at).date())


def visits_together(*, doctor_id: int, patient_id: int, since: dt.datetime, until: dt.datetime,
                    limit: int = 10) -> list[Visit]:
    rows = db.session.execute(
        select(Appointment).where(Appointment.patient_id == patient_id,
                                  *_together(doctor_id=doctor_id, since=since, until=until))
        .order_by(Appointment.starts_at.desc()).limit(limit)).scalars()
    return [_visit(appointment) for appointment in rows]


def visit_get(appointment_id: int) -> Visit | None:
    appointment = db.session.get(Appointment, appointment_id)
    return _visit(appointment) if appointment is not None else None


def patient_appointments(patient_id: int) -> tuple[list[Appointment], list[Appointment]]:
    """(upcoming, past) for a patient, nearest first."""
    now = clock.now()
    rows = db.session.execute(
        select(Appointment).where(Appointment.patient_id == patient_id)
        .options(joinedload(Appointment.doctor)).order_by(Appointment.starts_at.desc()).limit(100)
    ).scalars().all()
    upcoming = sorted([a for a in rows if a.ends_at > now and a.is_active], key=lambda a: a.starts_at)
    past = [a for a in rows if a not in upcoming]
    return upcoming, past


def patient_appointment_lists(patient_id: int) -> tuple[list[Appointment], list[Appointment], list[Appointment]]:
    """(coming, past, cancelled) for the patient's own list. A time that was moved is not a
    cancellation to the patient: its new time stands for it."""
    upcoming, earlier = patient_appointments(patient_id)
    cancelled = [a for a in earlier if a.status == S.CANCELLED.value]
    moved_from = {a.rescheduled_from_id for a in upcoming + earlier if a.rescheduled_from_id}
    return (upcoming, [a for a in earlier if a.status != S.CANCELLED.value],
            [a for a in cancelled if a.id not in moved_from])


def no_show_counts(patient_ids: list[int]) -> dict[int, int]:
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(Appointment.patient_id, func.count()).where(Appointment.patient_id.in_(patient_ids),
                                                           Appointment.status == S.NO_SHOW.value)
        .group_by(Appointment.patient_id)
    ).all()
    return dict(rows)


@dataclasses.dataclass
class NoShowRate:
    label: str
    no_shows: int
    attended: int

    @property
    def rate(self) -> float:
        total = self.no_shows + self.attended
        return self.no_shows / total if total else 0.0


def no_show_rates(*, since: dt.datetime) -> tuple[NoShowRate, list[NoShowRate]]:
    """The clinic's no-show rate and each doctor's, over appointments since `since`."""
    no_show = func.sum(case((Appointment.status == S.NO_SHOW.value, 1), else_=0))
    attended = func.sum(case((Appointment.status == S.COMPLETED.value, 1), else_=0))
    rows = db.session.execute(
        select(User.full_name, no_show, attended).join(User, User.id == Appointment.doctor_id)
        .where(Appointment.starts_at >= since).group_by(User.id, User.full_name).order_by(User.full_name)
    ).all()
    per_doctor = [NoShowRate(name, int(n or 0), int(a or 0)) for name, n, a in rows]
    clinic = NoShowRate("Clinic", sum(r.no_shows for r in per_doctor), sum(r.attended for r in per_doctor))
    return clinic, per_doctor

