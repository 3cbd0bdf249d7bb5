"""The patient's own record: what the clinic holds about them."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from app.core.request_actor import current_actor
from app.records import services
from app.records.models import EntryKind
from app.records.trends import vitals_trends
from app.records.views._common import fhir_download

bp = Blueprint("records", __name__, url_prefix="/record")


@bp.route("/")
def my_record():
    patient = services.patient_for_user(current_user.id)
    chart = services.chart_read(actor=current_actor(), patient_id=patient.id) if patient else None
    return render_template("records/patient/record.html", patient=patient, chart=chart,
                           vital_trends=vitals_trends(chart[EntryKind.VITALS]) if chart else [])


@bp.route("/export.fhir.json")
def export_fhir():
    patient = services.patient_for_user(current_user.id)
    if patient is None:
        abort(404)
    return fhir_download(patient.id)
