"""What patients are told about their lab orders, in their language, and the live refresh of the
lab's queue. Nothing clinical leaves by SMS: never a test's name (a test can reveal a diagnosis),
only "a lab test", where to go and how to prepare."""
from __future__ import annotations

from typing import Callable

from flask import current_app
from flask_babel import gettext as _

from app.accounts.models import Site, User
from app.core.i18n import in_language
from app.extensions import db, hub
from app.labs.channels import lab_channel, results_channel
from app.labs.models import LabOrder
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.records.models import Patient
from app.records.telling import patient_told, patient_user_id
from app.scheduling.channels import patient_channel


def _where(site: Site) -> str:
    return f"{site.name} ({site.address})" if site.address else site.name


def _tell_patient(order: LabOrder, *, event: str, text: Callable[[str], str],
                  subject: Callable[[], str] | None = None) -> None:
    """`text(where)` names the lab, not the test."""
    where = _where(db.session.get(Site, order.site_id))
    patient_told(order.patient_id, key=f"lab:{order.id}:{event}", text=lambda: text(where), subject=subject)


def order_placed(order: LabOrder, *, fasting_hours: int | None, bring_urine: bool) -> None:
    def text(where: str) -> str:
        parts = [_("Your doctor has asked for a lab test. Please go to %(lab)s.", lab=where)]
        if fasting_hours:
            parts.append(_("Do not eat or drink anything except water for %(hours)s hours before you go.",
                           hours=fasting_hours))
        if bring_urine:
            parts.append(_("The lab will ask you for a urine sample."))
        if order.urgency == "urgent":
            parts.append(_("Please go today."))
        return " ".join(parts)

    _tell_patient(order, event="ordered", text=text)


def new_sample_needed(order: LabOrder, *, number: int) -> None:
    _tell_patient(order, event=f"resample{number}", text=lambda where: _(
        "The lab needs a new sample for your test. Please go back to %(lab)s. We are sorry for the trouble.",
        lab=where))


def results_ready(order: LabOrder, *, amended: bool = False) -> None:
    """The patient: "your results are ready" (values only in the app); the doctor: in the app."""
    version = order.report.version
    _tell_patient(order, event=f"released{version}", subject=lambda: (
        _("Your lab results have been corrected") if amended else _("Your lab results are ready")),
        text=lambda where: (
            _("The lab has corrected your test results. Open MyAfya to see them.") if amended else
            _("Your lab test results are ready. Open MyAfya to see them.")))
    _tell_doctor(order, event=f"released{version}", text=lambda patient: (
        _("Amended lab results for %(patient)s: review them.", patient=patient) if amended else
        _("Lab results for %(patient)s are ready: review them.", patient=patient)))


def critical_alert(order: LabOrder) -> None:
    """At once, to the ordering doctor: in the app (named, live) and by SMS (no name, no value)."""
    doctor = db.session.get(User, order.doctor_id)
    _tell_doctor(order, event="critical", text=lambda patient: _(
        "Critical lab result for %(patient)s: open it now.", patient=patient))
    if doctor.phone:
        with in_language(doctor.language):
            notification_queue(dedupe_key=f"lab:{order.id}:critical:sms", channel=Channel.SMS, user_id=doctor.id,
                               to_address=doctor.phone, body="{}: {}".format(current_app.config["CLINIC_NAME"], _(
                                   "A critical lab result for one of your patients is waiting. Open MyAfya now.")))


def order_cancelled(order: LabOrder, *, sample_taken: bool) -> None:
    def text(where: str) -> str:
        if sample_taken:
            return _("Your doctor has cancelled a lab test at %(lab)s. You do not need to do anything.", lab=where)
        return _("Your doctor has cancelled a lab test at %(lab)s. You do not need to go.", lab=where)

    _tell_patient(order, event="cancelled", text=text)


def _tell_doctor(order: LabOrder, *, event: str, text: Callable[[str], str]) -> None:
    doctor = db.session.get(User, order.doctor_id)
    patient = db.session.get(Patient, order.patient_id)
    with in_language(doctor.language):
        notification_queue(dedupe_key=f"lab:{order.id}:{event}:doctor", channel=Channel.IN_APP, user_id=doctor.id,
                           body=text(patient.full_name))


def publish_after_commit(order: LabOrder) -> None:
    """After commit, the lab's queue, the ordering doctor's results and the patient's list refresh."""
    user_id = patient_user_id(order.patient_id)
    hub.publish_after_commit(db.session, {"type": "lab_order", "id": order.id}, lab_channel(order.site_id),
                             results_channel(order.doctor_id), patient_channel(user_id) if user_id else None)
