"""What patients and doctors are told about their appointments: short, and never clinical.

SMS carries the time, the doctor and the clinic only; the reason for the visit is never sent.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from app.accounts.models import Role, User
from app.core.i18n import in_language, lazy_local
from app.core.links import external_url
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.scheduling.clinic_time import to_local
from app.scheduling.models import Appointment

WHEN = "EEE dd MMM, HH:mm"  # "Mon 02 Mar, 09:00", "Jumatatu 02 Mac, 09:00"


def when_text(appointment: Appointment):
    """The appointment's start as people read it, in the language of whoever it is written for."""
    return lazy_local(to_local(appointment.starts_at), WHEN)


def time_text(instant):
    return lazy_local(to_local(instant), "HH:mm")


def video_link(appointment: Appointment) -> str | None:
    if not appointment.video_token:
        return None
    return external_url("visit.room", token=appointment.video_token)


def appointment_link(role: str, appointment_id: int) -> str | None:
    """Where a notice about an appointment opens, for its reader (notifications.links asks)."""
    from flask import url_for

    if role == Role.DOCTOR.value:
        return url_for("doctor.scheduling.detail", appointment_id=appointment_id)
    if role == Role.PATIENT.value:
        return url_for("patient.scheduling.appointments", _anchor=f"appointment-{appointment_id}")
    return None


def notify_patient(appointment: Appointment, *, event: str, subject, text, sms_text=None, inbox: bool = True) -> None:
    """Email, SMS and the in-app inbox of the patient (where we have an address or an account), once
    per appointment and event, in the patient's language: `subject`, `text` and `sms_text` are lazy
    strings (flask_babel's lazy_gettext), rendered here. `sms_text`, when given, replaces `text` in
    the SMS: free text typed by staff stays out of it. A patient without an account (a walk-in) is
    written to in English. `inbox=False`: no copy in the inbox (a reminder is for the moment, the
    inbox keeps what changed)."""
    from app.extensions import db

    patient = appointment.patient
    user = db.session.get(User, patient.user_id) if patient.user_id else None
    clinic = current_app.config["CLINIC_NAME"]
    link = video_link(appointment)
    email = user.email if user else None
    phone = patient.phone or (user.phone if user else None)
    with in_language(user.language if user else None):
        if email:
            body = _("Hello %(name)s,", name=patient.given_name) + f"\n\n{text}\n"
            if link:
                body += "\n" + _("Join the video visit here at that time:") + f"\n{link}\n"
            body += "\n" + _("Your appointments:") + f"\n{external_url('patient.scheduling.appointments')}\n"
            body += f"\n{clinic}"
            notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:email", channel=Channel.EMAIL,
                               user_id=user.id, to_address=email, subject=str(subject), body=body)
        if phone:
            sms = f"{clinic}: {sms_text or text}" + (" " + _("Video: %(link)s", link=link) if link else "")
            notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:sms", channel=Channel.SMS,
                               user_id=user.id if user else None, to_address=phone, body=sms[:480])
        if user and inbox:
            notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:inbox", channel=Channel.IN_APP,
                               user_id=user.id, body=str(text))


def notify_doctor(appointment: Appointment, *, event: str, text) -> None:
    """An in-app message to the doctor, in the doctor's language (`text`: a lazy string)."""
    with in_language(appointment.doctor.language):
        notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:doctor", channel=Channel.IN_APP,
                           user_id=appointment.doctor_id, body=str(text))
