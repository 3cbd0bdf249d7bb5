"""The patient's own record: what the clinic holds about them, and who looked at it."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from app.audit.queries import chart_accesses
from app.core.errors import NotFound
from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.uploads import accepts_upload
from app.records import documents, services
from app.records.audit_names import audit_lines
from app.records.merge import patient_ids_merged_into
from app.records.models import EntryKind
from app.records.trends import SERIES_LIMIT, vitals_trends
from app.records.views import _documents
from app.records.views._common import entry_id_arg, fhir_download

bp = Blueprint("records", __name__, url_prefix="/record")

MAX_PAGE = 10_000


@bp.route("/")
def my_record():
    patient = services.patient_for_user(current_user.id)
    chart = services.chart_summary_read(actor=current_actor(), patient_id=patient.id) if patient else None
    return render_template("records/patient/record.html", patient=patient, chart=chart,
                           vital_trends=vitals_trends(chart.trend_readings) if chart else [],
                           trend_limit=SERIES_LIMIT)


@bp.route("/entries/<kind>")
def entries(kind: str):
    """One kind of entry in the patient's record, a page at a time ("show older"): the page, or with
    htmx the next entries alone."""
    patient = services.patient_for_user(current_user.id)
    try:
        entry_kind = EntryKind(kind)
    except ValueError:
        abort(404)
    if patient is None:
        abort(404)
    try:
        page = services.chart_entries_read(actor=current_actor(), patient_id=patient.id, kind=entry_kind,
                                           after=entry_id_arg("after"))
    except NotFound:
        abort(404)
    return render_page_or_fragment("records/patient/entries.html", "records/_entry_items.html", patient=patient,
                                   kind=entry_kind, entries=page.entries, older=page.older, editable=False)


@bp.route("/export.fhir.json")
def export_fhir():
    patient = services.patient_for_user(current_user.id)
    if patient is None:
        abort(404)
    return fhir_download(patient.id)


@bp.route("/access")
def who_looked():
    """Every access to the patient's chart but their own, from the audit trail (with the rows of any
    record merged into theirs, written before the merge under its id). Reading the trail
    is not reading the chart: this page shows who, when and what, never clinical content, so it
    writes no chart.read row."""
    patient = services.patient_for_user(current_user.id)
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    lines, older = [], False
    if patient is not None:
        events, older = chart_accesses(patient_id=patient.id, also_ids=patient_ids_merged_into(patient.id),
                                       leave_out_user_id=current_user.id, page=page)
        lines = audit_lines(events, with_patients=False)
    return render_template("records/patient/access.html", patient=patient, lines=lines, page=page, older=older)


def _own_patient():
    patient = services.patient_for_user(current_user.id)
    if patient is None:
        abort(404)
    return patient


@bp.route("/documents/new", methods=["GET", "POST"])
@accepts_upload(documents.document_max_bytes)
def document_new():
    """The patient adds a document (a letter, a result from elsewhere) to their own record."""
    patient = _own_patient()
    record_url = url_for("patient.records.my_record")
    return _documents.upload(patient=patient, done_url=record_url + "#documents",
                             template_context={"back_url": record_url, "for_doctor": False})


@bp.route("/documents/<int:entry_id>")
def document_file(entry_id: int):
    return _documents.document_file(patient_id=_own_patient().id, entry_id=entry_id)


@bp.route("/documents/<int:entry_id>/view")
def document_view(entry_id: int):
    patient = _own_patient()
    entry = _documents.document_entry(patient_id=patient.id, entry_id=entry_id)
    return render_template("records/document_view.html", patient=patient, entry=entry, for_doctor=False,
                           file_url=url_for("patient.records.document_file", entry_id=entry_id),
                           back_url=url_for("patient.records.my_record", _anchor="documents"))
