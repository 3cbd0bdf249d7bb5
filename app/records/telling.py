"""What a patient is told about their orders, the same way from every domain: in-app and SMS (and
email when there is a subject), once per event key, in the patient's language. Callers keep the
words non-clinical: never a test's or a drug's name (an SMS is read on a shared phone)."""
from __future__ import annotations

from typing import Callable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.core.i18n import in_language
from app.extensions import db
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.records.models import Patient


def patient_told(patient_id: int, *, key: str, text: Callable[[], str],
                 subject: Callable[[], str] | None = None) -> None:
    """`text()` and `subject()` are called inside the patient's language."""
    patient = db.session.get(Patient, patient_id)
    user = db.session.get(User, patient.user_id) if patient.user_id else None
    clinic = current_app.config["CLINIC_NAME"]
    with in_language(user.language if user else None):
        body = text()
        if user:
            notification_queue(dedupe_key=f"{key}:in_app", channel=Channel.IN_APP, user_id=user.id, body=body)
        if user and subject is not None:
            notification_queue(dedupe_key=f"{key}:email", channel=Channel.EMAIL, user_id=user.id,
                               to_address=user.email, subject=subject(),
                               body=_("Hello %(name)s,", name=patient.given_name) + f"\n\n{body}\n\n{clinic}")
        phone = patient.phone or (user.phone if user else None)
        if phone:
            notification_queue(dedupe_key=f"{key}:sms", channel=Channel.SMS, user_id=user.id if user else None,
                               to_address=phone, body=f"{clinic}: {body}"[:480])


def patient_user_id(patient_id: int) -> int | None:
    """The patient's account, when they have one (whose live channel their pages listen on)."""
    return db.session.execute(select(Patient.user_id).where(Patient.id == patient_id)).scalar_one_or_none()
