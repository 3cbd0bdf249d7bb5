"""What patients and doctors are told about prescriptions, in their language. Nothing clinical
leaves by SMS or email: no drug names, only the pharmacy, the state and the collection code."""
from __future__ import annotations

from typing import Callable

from flask_babel import gettext as _

from app.accounts.models import User
from app.core.i18n import in_language
from app.extensions import db, hub
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.prescriptions.channels import pharmacy_channel, prescriber_channel
from app.prescriptions.models import Prescription
from app.records.models import Patient
from app.records.telling import patient_told, patient_user_id
from app.scheduling.channels import patient_channel


def _tell_patient(prescription: Prescription, *, event: str, subject: Callable[[], str],
                  text: Callable[[str, str], str]) -> None:
    """Once per prescription, dispense and event; `text(pharmacy, code)` names no drug."""
    pharmacy, code = prescription.pharmacy.name, prescription.collection_code
    patient_told(prescription.patient_id, key=f"rx:{prescription.id}:{prescription.refills_used}:{event}",
                 text=lambda: text(pharmacy, code), subject=subject)


def prescription_sent(prescription: Prescription) -> None:
    _tell_patient(prescription, event="sent", subject=lambda: _("Your prescription has been sent to the pharmacy"),
                  text=lambda pharmacy, code: _(
                      "Your prescription has been sent to %(pharmacy)s. Your collection code is %(code)s. We will "
                      "tell you when it is ready.", pharmacy=pharmacy, code=code))


def prescription_ready(prescription: Prescription) -> None:
    if prescription.delivery:
        _tell_patient(prescription, event="ready", subject=lambda: _("Your medicines are on their way"),
                      text=lambda pharmacy, code: _(
                          "%(pharmacy)s is sending your medicines to you. Give the code %(code)s when they arrive.",
                          pharmacy=pharmacy, code=code))
        return
    _tell_patient(prescription, event="ready", subject=lambda: _("Your prescription is ready to collect"),
                  text=lambda pharmacy, code: _(
                      "Your prescription is ready to collect at %(pharmacy)s. Show the code %(code)s at the counter.",
                      pharmacy=pharmacy, code=code))


def refill_declined(prescription: Prescription, *, number: int) -> None:
    """The reason stays in the app (it may be clinical): the message only says to look."""
    _tell_patient(prescription, event=f"refill{number}-declined", subject=lambda: _("About your refill request"),
                  text=lambda pharmacy, code: _(
                      "Your doctor did not approve the refill you asked for. Open MyAfya to read why."))


def prescriber_told(prescription: Prescription, *, event: str, text: Callable[[str, str], str]) -> None:
    """An in-app message to the prescriber naming the patient (staff see names), in their language:
    `text(patient name, pharmacy)`."""
    prescriber = db.session.get(User, prescription.prescriber_id)
    patient = db.session.get(Patient, prescription.patient_id)
    with in_language(prescriber.language):
        notification_queue(dedupe_key=f"rx:{prescription.id}:{event}:{prescription.status_changed_at.isoformat()}",
                           channel=Channel.IN_APP, user_id=prescriber.id,
                           body=text(patient.full_name, prescription.pharmacy.name))


def publish_after_commit(prescription: Prescription) -> None:
    """After commit, the pharmacy's queue, the prescriber's list and the patient's list refresh."""
    user_id = patient_user_id(prescription.patient_id)
    hub.publish_after_commit(db.session, {"type": "prescription", "id": prescription.id},
                             pharmacy_channel(prescription.pharmacy_id), prescriber_channel(prescription.prescriber_id),
                             patient_channel(user_id) if user_id else None)
