"""The patient's medicines: their prescriptions, where each is, and the code to show at the counter."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.prescriptions import queries
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
    return render_page_or_fragment("prescriptions/patient/mine.html", "prescriptions/patient/_mine.html",
                                   patient=patient, prescriptions=prescriptions)
