"""The doctor's window on charts: find a patient, read the chart, add to it.

Whether a chart opens is the records service's gate to decide (app/records/access.py): a chart
read or write refused there is audited as denied and answered 403 (app/core/error_pages.py). The
chart page only asks first which page to show: the chart, or who the patient is and the emergency
access form (no clinical content, nothing audited).
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor, session_grant_keep
from app.core.transactions import refused
from app.records import access, services
from app.records.forms import ENTRY_FORMS, EmergencyAccessForm, EnteredInErrorForm, amend_form, form_content
from app.records.models import EntryKind, EntryStatus
from app.records.trends import SERIES_LIMIT, vitals_trends
from app.records.views._common import entry_id_arg, fhir_download, patient_search_page

bp = Blueprint("records", __name__, url_prefix="/patients")


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


@bp.route("/")
def patients():
    return patient_search_page("records/doctor/patients.html", chart_endpoint="doctor.records.chart")


def _chart_page(patient):
    """The chart's summary (services.chart_summary_read): the latest of each kind, the rest on demand."""
    chart = services.chart_summary_read(actor=current_actor(), patient_id=patient.id)
    return render_form("records/doctor/chart.html", patient=patient, chart=chart, grant=chart.access.grant,
                       vital_trends=vitals_trends(chart.trend_readings), trend_limit=SERIES_LIMIT)


def _emergency_page(patient, form, *, status: int = 200):
    """Who the patient is, and the emergency access form: no clinical content, nothing audited."""
    return render_form("records/doctor/emergency.html", patient=patient, form=form, status=status,
                       minutes=int(access.EMERGENCY_DURATION.total_seconds() // 60))


@bp.route("/<int:patient_id>")
def chart(patient_id: int):
    patient = _patient(patient_id)
    if not access.decide(actor=current_actor(), patient_id=patient_id).allowed:
        return _emergency_page(patient, EmergencyAccessForm(formdata=None))
    return _chart_page(patient)


@bp.route("/<int:patient_id>/export.fhir.json")
def export_fhir(patient_id: int):
    _patient(patient_id)
    return fhir_download(patient_id)


@bp.route("/<int:patient_id>/emergency-access", methods=["POST"])
def emergency_access(patient_id: int):
    patient = _patient(patient_id)
    form = EmergencyAccessForm()
    if form.validate_on_submit():
        grant = access.emergency_grant(actor=current_actor(), patient_id=patient_id, why=form.reason.data)
        if grant is not None:  # None: nothing to break, the chart is open to this doctor already
            session_grant_keep(grant)
        return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
    return _emergency_page(patient, form, status=422)


@bp.route("/<int:patient_id>/entries/<kind>", methods=["POST"])
def entry_add(patient_id: int, kind: str):
    entry_kind = _kind(kind)
    patient = _patient(patient_id)
    form = ENTRY_FORMS[entry_kind]()
    if form.validate_on_submit():
        with refusal_beside(form):
            services.entry_add(actor=current_actor(), patient_id=patient_id, kind=entry_kind,
                               content=form_content(form))
            return redirect(url_for("doctor.records.chart", patient_id=patient_id, _anchor=entry_kind.value), code=303)
    return _entry_form_page(patient, entry_kind, form, status=422)


def _entry_form_page(patient, kind: EntryKind, form, *, status: int = 200):
    return render_page_or_fragment("records/doctor/entry_new.html", "records/doctor/_entry_form.html",
                                   patient=patient, kind=kind, form=form, status=status)


@bp.route("/<int:patient_id>/entries/<kind>/new")
def entry_new(patient_id: int, kind: str):
    """The form to add an entry of one kind, on its own page or (htmx) into the chart's card: the
    chart page carries no forms until one is asked for. Shows no clinical content, so reads nothing
    (and audits nothing)."""
    entry_kind = _kind(kind)
    patient = _patient(patient_id)
    if not access.decide(actor=current_actor(), patient_id=patient_id, part=access.ChartPart.of(entry_kind),
                         write=True).allowed:
        abort(403)  # as its POST would be (that one is audited: it would have written)
    return _entry_form_page(patient, entry_kind, ENTRY_FORMS[entry_kind](formdata=None))


@bp.route("/<int:patient_id>/chart/<kind>")
def chart_entries(patient_id: int, kind: str):
    """One kind's entries, a page at a time ("show older"): the page, or with htmx the next entries
    alone, to append in place of the link that asked for them."""
    entry_kind = _kind(kind)
    patient = _patient(patient_id)
    try:  # refused by the gate: audited, and its 403 page
        page = services.chart_entries_read(actor=current_actor(), patient_id=patient_id, kind=entry_kind,
                                           after=entry_id_arg("after"))
    except NotFound:
        abort(404)
    return render_page_or_fragment("records/doctor/entries.html", "records/_entry_items.html", patient=patient,
                                   kind=entry_kind, entries=page.entries, older=page.older, editable=True)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/status", methods=["POST"])
def entry_status(patient_id: int, entry_id: int):
    _patient(patient_id)
    try:
        status = EntryStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if status == EntryStatus.ENTERED_IN_ERROR:
        return entered_in_error(patient_id, entry_id)  # the same form, the same reason required
    chart_url = url_for("doctor.records.chart", patient_id=patient_id)
    try:
        services.entry_set_status(actor=current_actor(), patient_id=patient_id, entry_id=entry_id, status=status)
    except (NotFound, AccessDenied):
        raise  # their 404 and 403 pages
    except DomainError as error:
        return refused(error.message, chart_url)
    return redirect(chart_url, code=303)


def _entry(patient_id: int, entry_id: int):
    """The entry to show before changing it: a read through the gate (403 refused, 404 not in this chart)."""
    try:
        return services.entry_get(actor=current_actor(), patient_id=patient_id, entry_id=entry_id)
    except NotFound:
        abort(404)


def _changed(patient_id: int, entry_id: int):
    return redirect(url_for("doctor.records.chart", patient_id=patient_id, _anchor=f"entry-{entry_id}"), code=303)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/entered-in-error", methods=["GET", "POST"])
def entered_in_error(patient_id: int, entry_id: int):
    """Strike an entry out: the page shows the entry and asks why; only the POST with a reason strikes it."""
    patient = _patient(patient_id)
    form = EnteredInErrorForm()
    if request.method == "POST" and form.validate_on_submit():
        with refusal_beside(form):
            services.entry_set_status(actor=current_actor(), patient_id=patient_id, entry_id=entry_id,
                                      status=EntryStatus.ENTERED_IN_ERROR, reason=form.reason.data)
            return _changed(patient_id, entry_id)
    entry = _entry(patient_id, entry_id)
    return render_form("records/doctor/entered_in_error.html", patient=patient, entry=entry, form=form,
                       status=422 if request.method == "POST" else 200)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/amend", methods=["GET", "POST"])
def entry_amend(patient_id: int, entry_id: int):
    """Correct an entry: its form, filled with what it says now, and why it changes."""
    patient = _patient(patient_id)
    if request.method == "GET":
        entry = _entry(patient_id, entry_id)
        form = amend_form(EntryKind(entry.kind))(formdata=None, data=entry.content)
        return render_form("records/doctor/amend.html", patient=patient, entry=entry, form=form)
    entry = _entry(patient_id, entry_id)
    form = amend_form(EntryKind(entry.kind))()
    if form.validate_on_submit():
        with refusal_beside(form):
            services.entry_amend(actor=current_actor(), patient_id=patient_id, entry_id=entry_id,
                                 content=form_content(form), reason=form.reason.data)
            return _changed(patient_id, entry_id)
    return render_form("records/doctor/amend.html", patient=patient, entry=entry, form=form, status=422)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/history")
def entry_history(patient_id: int, entry_id: int):
    """Every version of an entry, newest first: the page, or its list alone for htmx."""
    patient = _patient(patient_id)
    try:
        entry, versions = services.entry_history(actor=current_actor(), patient_id=patient_id, entry_id=entry_id)
    except NotFound:
        abort(404)
    return render_page_or_fragment("records/doctor/history.html", "records/_entry_history.html",
                                   patient=patient, entry=entry, versions=versions)
