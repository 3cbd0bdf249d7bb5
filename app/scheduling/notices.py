"""What patients and doctors are told about their appointments: short, and never clinical.

SMS carries the time, the doctor and the clinic only; the reason for the visit is never sent.
"""
from __future__ import annotations

from flask import current_app

from app.accounts.models import User
from app.core.links import external_url
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.scheduling.clinic_time import to_local
from app.scheduling.models import Appointment


def when_text(appointment: Appointment) -> str:
    return f"{to_local(appointment.starts_at):%a %d %b, %H:%M}"


def video_link(appointment: Appointment) -> str | None:
    if not appointment.video_token:
        return None
    return external_url("visit.room", token=appointment.video_token)


def notify_patient(appointment: Appointment, *, event: str, subject: str, text: str, sms_text: str | None = None) -> None:
    """Email and SMS to the patient (where we have an address), once per appointment and event.
    `sms_text`, when given, replaces `text` in the SMS: free text typed by staff stays out of it."""
    from app.extensions import db

    patient = appointment.patient
    user = db.session.get(User, patient.user_id) if patient.user_id else None
    clinic = current_app.config["CLINIC_NAME"]
    link = video_link(appointment)
    email = user.email if user else None
    phone = patient.phone or (user.phone if user else None)
    if email:
        body = f"Hello {patient.given_name},\n\n{text}\n"
        if link:
            body += f"\nJoin the video visit here at that time:\n{link}\n"
        body += f"\n{clinic}"
        notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:email", channel=Channel.EMAIL, user_id=user.id,
                           to_address=email, subject=subject, body=body)
    if phone:
        sms = f"{clinic}: {sms_text or text}" + (f" Video: {link}" if link else "")
        notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:sms", channel=Channel.SMS,
                           user_id=user.id if user else None, to_address=phone, body=sms[:480])


def notify_doctor(appointment: Appointment, *, event: str, text: str) -> None:
    notification_queue(dedupe_key=f"appt:{appointment.id}:{event}:doctor", channel=Channel.IN_APP,
                       user_id=appointment.doctor_id, body=text)
