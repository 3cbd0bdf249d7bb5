"""The doctor's window on charts: find a patient, read the chart, add to it.

Whether a chart opens is the records service's gate to decide (app/records/access.py): a chart
read or write refused there is audited as denied and answered 403 (app/core/error_pages.py). The
chart page only asks first which page to show: the chart, or who the patient is and the emergency
access form (no clinical content, nothing audited).
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import is_htmx_fragment_request, render_form, render_page_or_fragment
from app.core.request_actor import current_actor, session_grant_keep
from app.core.transactions import refused
from app.core.uploads import accepts_upload
from app.records import access, documents, icd10, services
from app.records.forms import (
    ENTRY_FORMS,
    DiagnosisSearchForm,
    EmergencyAccessForm,
    EnteredInErrorForm,
    ProblemForm,
    amend_form,
    form_content,
    visit_choices,
)
from app.records.models import EntryKind, EntryStatus
from app.records.trends import SERIES_LIMIT, vitals_trends
from app.records.views import _documents
from app.records.views._common import entry_id_arg, fhir_download, patient_search_page

bp = Blueprint("records", __name__, url_prefix="/patients")


def _kind(value: str) -> EntryKind:
    """A kind of entry written with its form here (a document is uploaded: see document_new)."""
    try:
        kind = EntryKind(value)
    except ValueError:
        abort(404)
    if kind not in ENTRY_FORMS:
        abort(404)
    return kind


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


# What each successful write says on the chart it returns to.
ADDED = {EntryKind.ALLERGY: _l("Allergy added."), EntryKind.PROBLEM: _l("Problem added."),
         EntryKind.MEDICATION: _l("Medication added."), EntryKind.VITALS: _l("Vitals recorded."),
         EntryKind.NOTE: _l("Note added."), EntryKind.DOCUMENT: _l("Document added.")}
STATUS_SET = {EntryStatus.RESOLVED: _l("Marked as resolved."), EntryStatus.ACTIVE: _l("Marked as active again.")}


@bp.route("/<int:patient_id>/entries/<kind>", methods=["POST"])
def entry_add(patient_id: int, kind: str):
    entry_kind = _kind(kind)
    patient = _patient(patient_id)
    form = ENTRY_FORMS[entry_kind]()
    if form.validate_on_submit():
        with refusal_beside(form):
            services.entry_add(actor=current_actor(), patient_id=patient_id, kind=entry_kind,
                               content=form_content(form))
            flash(str(ADDED[entry_kind]), "success")
            return redirect(url_for("doctor.records.chart", patient_id=patient_id, _anchor=entry_kind.value), code=303)
    return _entry_form_page(patient, entry_kind, form, status=422)


def _entry_form_page(patient, kind: EntryKind, form, *, status: int = 200):
    visit_choices(form, services.note_visits(actor=current_actor(), patient_id=patient.id))  # a note's visit
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
    try:
        entry_kind = EntryKind(kind)  # every kind, documents too, is read a page at a time
    except ValueError:
        abort(404)
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
    if status in STATUS_SET:
        flash(str(STATUS_SET[status]), "success")
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
            flash(_("Marked as entered in error: it stays on the chart, struck through."), "success")
            return _changed(patient_id, entry_id)
    entry = _entry(patient_id, entry_id)
    return render_form("records/doctor/entered_in_error.html", patient=patient, entry=entry, form=form,
                       status=422 if request.method == "POST" else 200)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/amend", methods=["GET", "POST"])
def entry_amend(patient_id: int, entry_id: int):
    """Correct an entry: its form, filled with what it says now, and why it changes."""
    patient = _patient(patient_id)
    entry = _entry(patient_id, entry_id)
    form_class = amend_form(EntryKind(entry.kind), entry.content)
    form = form_class(formdata=None, data=entry.content) if request.method == "GET" else form_class()
    visit_choices(form, services.note_visits(actor=current_actor(), patient_id=patient_id),
                  kept=entry.content.get("appointment_id"))
    if request.method == "GET":
        return render_form("records/doctor/amend.html", patient=patient, entry=entry, form=form)
    if form.validate_on_submit():
        with refusal_beside(form):
            services.entry_amend(actor=current_actor(), patient_id=patient_id, entry_id=entry_id,
                                 content=form_content(form), reason=form.reason.data)
            flash(_("Correction saved; the earlier version is kept in the history."), "success")
            return _changed(patient_id, entry_id)
    return render_form("records/doctor/amend.html", patient=patient, entry=entry, form=form, status=422)


@bp.route("/<int:patient_id>/entries/<int:entry_id>/actions")
def entry_actions(patient_id: int, entry_id: int):
    """An entry's actions, when its "More" is opened: a read of that entry (the gate's, audited), the
    fragment for htmx or, without JavaScript, a page of its own."""
    patient = _patient(patient_id)
    entry = _entry(patient_id, entry_id)
    return render_page_or_fragment("records/doctor/entry_actions.html", "records/doctor/_entry_actions.html",
                                   patient=patient, entry=entry, editable=True)


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


@bp.route("/<int:patient_id>/documents/new", methods=["GET", "POST"])
@accepts_upload(documents.document_max_bytes)
def document_new(patient_id: int):
    patient = _patient(patient_id)
    if request.method == "GET" and not access.decide(actor=current_actor(), patient_id=patient_id).allowed:
        # the chart's address shows the emergency access form; an upload sent anyway meets the gate (403, audited)
        return redirect(url_for("doctor.records.chart", patient_id=patient_id), code=303)
    chart_url = url_for("doctor.records.chart", patient_id=patient_id)
    return _documents.upload(patient=patient, done_url=chart_url + "#documents",
                             template_context={"back_url": chart_url, "for_doctor": True})


@bp.route("/<int:patient_id>/documents/<int:entry_id>")
def document_file(patient_id: int, entry_id: int):
    """The file itself (audited as a read of that document)."""
    _patient(patient_id)
    return _documents.document_file(patient_id=patient_id, entry_id=entry_id)


@bp.route("/<int:patient_id>/documents/<int:entry_id>/view")
def document_view(patient_id: int, entry_id: int):
    patient = _patient(patient_id)
    entry = _documents.document_entry(patient_id=patient_id, entry_id=entry_id)
    return render_form("records/document_view.html", patient=patient, entry=entry, for_doctor=True,
                       file_url=url_for("doctor.records.document_file", patient_id=patient_id, entry_id=entry_id),
                       back_url=url_for("doctor.records.chart", patient_id=patient_id, _anchor="documents"))


# -- ICD-10 codes as one types, and the patients in one's care with a diagnosis ------------------------

_FIELD_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _picker_field_id() -> str:
    field = request.args.get("field", "code")
    return field if _FIELD_ID.match(field) else "code"


@bp.route("/icd10")
def icd10_codes():
    """Codes matching what was typed (`code`): the matches alone for the picker (htmx), or a lookup page."""
    term = request.args.get("code", "")[:icd10.TERM_MAX]
    return render_page_or_fragment("records/doctor/icd10.html", "records/doctor/_icd10_matches.html",
                                   term=term, matches=icd10.codes_search(term), field=_picker_field_id())


@bp.route("/icd10/pick")
def icd10_pick():
    """The picker again, its input holding the code picked from the list ("J45 Asthma")."""
    code = icd10.code_get(request.args.get("code", "")[:icd10.TERM_MAX])
    if code is None:
        abort(404)
    if not is_htmx_fragment_request():
        return redirect(url_for("doctor.records.icd10_codes", code=code.code), code=303)
    field = ProblemForm(formdata=None, data={"code": code.label}).code
    field.id = _picker_field_id()
    response = make_response(render_template("records/doctor/_icd10_picker.html", f=field))
    response.vary.add("HX-Request")
    return response


@bp.route("/by-diagnosis")
def by_diagnosis():
    """Find, among the patients in one's care, those with an active problem coded so (the records
    service finds them through the blind index and audits each one listed)."""
    form = DiagnosisSearchForm(request.args, meta={"csrf": False})
    code, patients, status = None, [], 200
    if form.code.data and form.validate():
        with refusal_beside(form):
            code = icd10.code_resolve(form.code.data, field="code")
            patients = services.patients_with_diagnosis(actor=current_actor(), code=code)
    if form.code.errors:
        status = 422
    return render_form("records/doctor/by_diagnosis.html", form=form, code=code, patients=patients, status=status,
                       matches=icd10.codes_search(form.code.data or "") if form.code.errors else [])
