"""The patient's lab results: only their own, only released, with each value's flag, in their language."""
from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound
from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.extensions import db
from app.labs import queries
from app.labs.charting import result_trends
from app.labs.models import Flag, LabOrder
from app.labs.views._common import report_pdf_response
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


@bp.route("/lab-results/<int:order_id>/report.pdf")
def report_pdf(order_id: int):
    """The attached PDF of the patient's own released results; anyone else's: 404."""
    patient = records.patient_for_user(current_user.id)
    order = db.session.get(LabOrder, order_id)
    if patient is None or order is None or order.patient_id != patient.id or order.report is None \
            or not order.report.released:
        raise NotFound(_("No such lab result."))
    records.clinical_access(actor=current_actor(), patient_id=patient.id, part=ChartPart.LAB,
                            action="lab_result.attachment.read", target=f"lab_order:{order.id}")
    return report_pdf_response(order)
