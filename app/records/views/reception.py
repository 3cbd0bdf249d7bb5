"""The front desk finds and registers patients by identifiers only: no clinical content here."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.forms import show_error
from app.core.htmx import render_form
from app.core.request_actor import current_actor
from app.records import demographics, services, visits
from app.records.forms import PatientDetailsForm, WalkInForm
from app.records.views._common import patient_search_page

bp = Blueprint("records", __name__, url_prefix="/patients")


@bp.route("/")
def patients():
    return patient_search_page("records/reception/patients.html", chart_endpoint="reception.records.patient")


@bp.route("/new", methods=["GET", "POST"])
def new_patient():
    form = WalkInForm()
    if form.validate_on_submit():
        try:
            patient = services.patient_register_at_desk(
                actor=current_actor(), given_name=form.given_name.data, family_name=form.family_name.data,
                phone=form.phone.data or None, date_of_birth=form.date_of_birth.data, sex=form.sex.data or None,
                national_id=form.national_id.data or None,
                despite_duplicates=form.duplicate_reason.data if form.register_anyway.data else None)
        except services.LikelyDuplicates as found:
            form.register_anyway.data = "1"
            if found.field:
                form.duplicate_reason.errors = [found.message]
            return render_form("records/reception/new_patient.html", form=form, duplicates=found.patients, status=422)
        except DomainError as error:
            show_error(form, error)
            return render_form("records/reception/new_patient.html", form=form, status=422)
        flash(_("%(name)s is registered as %(mrn)s.", name=patient.full_name, mrn=patient.mrn), "success")
        return redirect(url_for("reception.records.patient", patient_id=patient.id), code=303)
    return render_form("records/reception/new_patient.html", form=form, status=422 if request.method == "POST" else 200)


@bp.route("/<int:patient_id>", methods=["GET", "POST"])
def patient(patient_id: int):
    """The desk's page of a patient: their visits, and the form that corrects their details (posted
    to this same address, so the form shown again with its errors keeps the page's URL)."""
    try:
        found = services.patient_get(patient_id)
    except NotFound:
        abort(404)
    if found.merged_into_id is not None:
        flash(_("This record was merged into the one below."), "info")
        return redirect(url_for("reception.records.patient", patient_id=found.merged_into_id), code=303)
    form = PatientDetailsForm(obj=None if request.method == "POST" else found)
    status, fresh_version = 200, request.method == "GET"
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                changed = demographics.patient_details_update(
                    actor=current_actor(), patient_id=patient_id, version=form.version.data,
                    given_name=form.given_name.data, family_name=form.family_name.data,
                    date_of_birth=form.date_of_birth.data, sex=form.sex.data or None, phone=form.phone.data or None,
                    national_id=form.national_id.data or None)
            except (NotFound, AccessDenied):
                raise
            except demographics.StaleDetails as stale:
                found = services.patient_get(patient_id)
                form = PatientDetailsForm(formdata=None, obj=found)
                form.form_errors.append(stale.message)
                fresh_version = True  # from the details as saved now; shown like a form's error (422)
            except DomainError as error:
                show_error(form, error)
            else:
                flash(_("Saved.") if changed else _("Nothing changed."), "success")
                return redirect(url_for("reception.records.patient", patient_id=patient_id), code=303)
    if fresh_version:
        form.version.data = demographics.details_version(found)
    upcoming, past = visits.patient_appointments(patient_id)
    no_shows = visits.no_show_counts([patient_id]).get(patient_id, 0)
    return render_form("records/reception/patient.html", patient=found, upcoming=upcoming, past=past,
                       no_shows=no_shows, form=form, editing=status != 200, status=status)
