"""The patient's lab results: only their own, only released, with each value's flag, in their language."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.labs import queries
from app.labs.charting import result_trends
from app.labs.models import Flag
from app.records import services as records
from app.records.access import ChartPart

bp = Blueprint("labs", __name__)


@bp.route("/lab-results")
def mine():
    patient = records.patient_for_user(current_user.id)
    reports = []
    if patient is not None:
        records.clinical_access(actor=current_actor(), patient_id=patient.id, part=ChartPart.LAB,
                                action="lab_result.read", target=f"patient:{patient.id}")
        reports = queries.released_reports(patient_id=patient.id)
    return render_page_or_fragment("labs/patient/results.html", "labs/patient/_results.html", reports=reports,
                                   trends=result_trends(reports), flag_labels={f.value: f.label for f in Flag},
                                   live=f"patient:{current_user.id}")
