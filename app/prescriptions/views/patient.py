"""The patient's medicines: their prescriptions, where each is, and the code to show at the counter."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.transactions import attempt
from app.prescriptions import queries, refills
from app.prescriptions.views._common import prescription_for_reader, print_prescription
from app.records import services as records
from app.records.access import ChartPart

bp = Blueprint("prescriptions", __name__, url_prefix="/prescriptions")


@bp.route("/")
def mine():
    patient = records.patient_for_user(current_user.id)
    prescriptions = []
    if patient is not None:
        records.clinical_access(actor=current_actor(), patient_id=patient.id, part=ChartPart.MEDICATION,
                                action="prescription.list", target=f"patient:{patient.id}")
        prescriptions = queries.prescriptions_of_patient(patient_id=patient.id)
    refills = queries.refill_requests_of(prescription_ids=[p.id for p in prescriptions])
    return render_page_or_fragment("prescriptions/patient/mine.html", "prescriptions/patient/_mine.html",
                                   patient=patient, prescriptions=prescriptions, refills=refills)


@bp.route("/<int:prescription_id>/refill", methods=["POST"])
def refill(prescription_id: int):
    url = url_for("patient.prescriptions.mine")
    _result, refusal = attempt(lambda: refills.refill_request(actor=current_actor(), prescription_id=prescription_id),
                               refused_at=url)
    if refusal:
        return refusal
    flash(_("Your doctor has been asked for the refill. We will tell you when it is sent to the pharmacy."), "success")
    return redirect(url, code=303)


@bp.route("/<int:prescription_id>/print")
def print_page(prescription_id: int):
    return print_prescription(prescription_for_reader(actor=current_actor(), prescription_id=prescription_id))
