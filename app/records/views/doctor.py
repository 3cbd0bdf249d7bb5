"""The doctor's window on charts: find a patient, read the chart, add to it."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from app.core.errors import DomainError, NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.extensions import db
from app.records import queries, services
from app.records.forms import ENTRY_FORMS, form_content
from app.records.models import EntryKind, EntryStatus

bp = Blueprint("records", __name__, url_prefix="/patients")


def _kind(value: str) -> EntryKind:
    try:
        return EntryKind(value)
    except ValueError:
        abort(404)


@bp.route("/")
def patients():
    term = request.args.get("q", "")[:80]
    return render_page_or_fragment("records/doctor/patients.html", "records/_patient_results.html",
                                   term=term, results=queries.patients_search(term),
                                   chart_endpoint="doctor.records.chart")


def _chart_page(patient_id: int, *, forms=None, status: int = 200, open_kind: str | None = None):
    try:
        patient = services.patient_get(patient_id)
    except NotFound:
        abort(404)
    chart = services.chart_read(patient_id=patient_id)
    forms = forms or {}
    all_forms = {kind: forms.get(kind) or ENTRY_FORMS[kind](formdata=None) for kind in EntryKind}
    return render_form("records/doctor/chart.html", patient=patient, chart=chart, forms=all_forms,
                       open_kind=open_kind, status=status)


@bp.route("/<int:patient_id>")
def chart(patient_id: int):
    return _chart_page(patient_id)


@bp.route("/<int:patient_id>/entries/<kind>", methods=["POST"])
def entry_add(patient_id: int, kind: str):
    entry_kind = _kind(kind)
    form = ENTRY_FORMS[entry_kind]()
    if form.validate_on_submit():
        try:
            services.entry_add(patient_id=patient_id, kind=entry_kind, content=form_content(form),
                               recorded_by_id=current_user.id)
            return redirect(url_for("doctor.records.chart", patient_id=patient_id, _anchor=entry_kind.value), code=303)
        except NotFound:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            field = getattr(form, error.field or "", None)
            if field is not None:
                field.errors = list(field.errors) + [error.message]
            else:
                form.form_errors.append(error.message)
    return _chart_page(patient_id, forms={entry_kind: form}, status=422, open_kind=entry_kind.value)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/status", methods=["POST"])
def entry_status(patient_id: int, entry_id: int):
    try:
        status = EntryStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    try:
        services.entry_set_status(patient_id=patient_id, entry_id=entry_id, status=status)
    except NotFound:
        abort(404)
    return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
