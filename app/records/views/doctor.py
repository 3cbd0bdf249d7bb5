"""The doctor's window on charts: find a patient, read the chart, add to it.

A chart opens to a doctor with a care relationship with the patient, or with an emergency grant
for it (see app/records/access.py); any other doctor sees who the patient is and the emergency
access form, and cannot write to the chart.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.audit.services import audit_denied
from app.core.error_pages import render_error
from app.core.errors import DomainError, NotFound
from app.core.forms import show_error
from app.core.htmx import render_form, render_page_or_fragment
from app.extensions import db
from app.records import access, queries, services
from app.records.forms import ENTRY_FORMS, EmergencyAccessForm, form_content
from app.records.models import EntryKind, EntryStatus

bp = Blueprint("records", __name__, url_prefix="/patients")

NO_CARE = "no care relationship"


def _kind(value: str) -> EntryKind:
    try:
        return EntryKind(value)
    except ValueError:
        abort(404)


def _patient(patient_id: int):
    try:
        return services.patient_get(patient_id)
    except NotFound:
        abort(404)


def _access(patient_id: int) -> str | None:
    """The audit reason this doctor opens the chart with ("care" or "emergency: ..."), or None."""
    return access.chart_access(doctor_id=current_user.id, patient_id=patient_id)


def _refused(patient_id: int):
    """A write to a chart closed to this doctor: recorded as denied, nothing written."""
    audit_denied(reason=NO_CARE, patient_id=patient_id)
    return render_error(403, _("You have no care relationship with this patient. Open the chart to ask for "
                               "emergency access."))


@bp.route("/")
def patients():
    term = request.args.get("q", "")[:80]
    return render_page_or_fragment("records/doctor/patients.html", "records/_patient_results.html",
                                   term=term, results=queries.patients_search(term),
                                   chart_endpoint="doctor.records.chart")


def _chart_page(patient, *, reason: str, forms=None, status: int = 200, open_kind: str | None = None):
    chart = services.chart_read(patient_id=patient.id, reason=reason)
    forms = forms or {}
    all_forms = {kind: forms.get(kind) or ENTRY_FORMS[kind](formdata=None) for kind in EntryKind}
    return render_form("records/doctor/chart.html", patient=patient, chart=chart, forms=all_forms,
                       open_kind=open_kind, status=status, grant=access.emergency_grant_active(patient.id))


def _emergency_page(patient, form, *, status: int = 200):
    """Who the patient is, and the emergency access form: no clinical content, nothing audited."""
    return render_form("records/doctor/emergency.html", patient=patient, form=form, status=status,
                       minutes=int(access.EMERGENCY_DURATION.total_seconds() // 60))


@bp.route("/<int:patient_id>")
def chart(patient_id: int):
    patient = _patient(patient_id)
    reason = _access(patient_id)
    if reason is None:
        return _emergency_page(patient, EmergencyAccessForm(formdata=None))
    return _chart_page(patient, reason=reason)


@bp.route("/<int:patient_id>/emergency-access", methods=["POST"])
def emergency_access(patient_id: int):
    patient = _patient(patient_id)
    if access.care_relationship(doctor_id=current_user.id, patient_id=patient_id):
        # Nothing to break: the chart is open to this doctor already.
        return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
    form = EmergencyAccessForm()
    if form.validate_on_submit():
        access.emergency_grant(patient_id=patient_id, why=form.reason.data)
        return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
    return _emergency_page(patient, form, status=422)


@bp.route("/<int:patient_id>/entries/<kind>", methods=["POST"])
def entry_add(patient_id: int, kind: str):
    entry_kind = _kind(kind)
    patient = _patient(patient_id)
    reason = _access(patient_id)
    if reason is None:
        return _refused(patient_id)
    form = ENTRY_FORMS[entry_kind]()
    if form.validate_on_submit():
        try:
            services.entry_add(patient_id=patient_id, kind=entry_kind, content=form_content(form),
                               recorded_by_id=current_user.id, reason=reason)
            return redirect(url_for("doctor.records.chart", patient_id=patient_id, _anchor=entry_kind.value), code=303)
        except NotFound:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
    return _chart_page(patient, reason=reason, forms={entry_kind: form}, status=422, open_kind=entry_kind.value)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/status", methods=["POST"])
def entry_status(patient_id: int, entry_id: int):
    _patient(patient_id)
    reason = _access(patient_id)
    if reason is None:
        return _refused(patient_id)
    try:
        status = EntryStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    try:
        services.entry_set_status(patient_id=patient_id, entry_id=entry_id, status=status, reason=reason)
    except NotFound:
        abort(404)
    return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
