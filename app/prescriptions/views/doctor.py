"""The doctor's prescriptions: write one for a patient (from the chart), see the safety warnings and
override them with a reason, and follow what the pharmacy does with it (questions arrive live)."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.confirm import Ask, asks_first
from app.core.errors import NotFound
from app.core.forms import show_error
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.core.transactions import attempt, refused
from app.prescriptions import prescribing, queries, refills
from app.prescriptions.forms import PrescriptionForm, RefillDeclineForm
from app.prescriptions.models import Prescription
from app.prescriptions.views._common import prescription_for_reader, print_prescription
from app.records import services as records

bp = Blueprint("prescriptions", __name__)
MAX_ITEMS = 5


def _form(formdata=None, **data) -> PrescriptionForm:
    form = PrescriptionForm(formdata=formdata, **data) if formdata is not None else PrescriptionForm(**data)
    return form.with_choices(medicines=queries.medicines_search(active_only=True, limit=None),
                             pharmacies=queries.pharmacies())


def _page(patient, form, *, findings=(), overrides=None, supersedes=None, status=200):
    return render_form("prescriptions/doctor/new.html", patient=patient, form=form, findings=findings,
                       overrides=overrides or {}, supersedes=supersedes, status=status, max_items=MAX_ITEMS)


def _patient(patient_id: int):
    try:
        return records.patient_get(patient_id)
    except NotFound:
        return or_404(None)


@bp.route("/patients/<int:patient_id>/prescriptions/new", methods=["GET", "POST"])
def prescription_new(patient_id: int):
    patient = _patient(patient_id)
    supersedes = request.values.get("supersedes", type=int)
    if request.method == "GET":
        data = {}
        if supersedes:
            old = prescription_for_reader(actor=current_actor(), prescription_id=supersedes)
            # Items keep the dose as text ("960.000"); the form's field wants the number.
            data = {"items": [dict(item, dose=Decimal(item["dose"])) for item in old.items], "pharmacy_id": old.pharmacy_id,
                    "refills": old.refills_allowed}
        return _page(patient, _form(formdata=None, **data), supersedes=supersedes)
    form = _form()
    if "add_item" in request.form:
        if len(form.items) < MAX_ITEMS:
            form.items.append_entry()
            form.with_choices(medicines=queries.medicines_search(active_only=True, limit=None),
                              pharmacies=queries.pharmacies())
        return _page(patient, form, supersedes=supersedes)
    overrides = {key[len("override-"):]: value[:400] for key, value in request.form.items() if key.startswith("override-")}
    if not form.validate_on_submit():
        return _page(patient, form, overrides=overrides, supersedes=supersedes, status=422)
    try:
        prescription = prescribing.prescription_sign(
            actor=current_actor(), patient_id=patient_id, pharmacy_id=form.pharmacy_id.data, items=form.item_inputs(),
            refills=form.refills.data, overrides=overrides, supersedes_id=supersedes)
    except prescribing.NeedsOverride as needs:
        form.form_errors.append(needs.message)
        return _page(patient, form, findings=needs.findings, overrides=overrides, supersedes=supersedes, status=422)
    except prescribing.DomainError as error:
        if error.field and error.field.startswith("items-"):
            _items, index, name = error.field.split("-", 2)
            show_error(form.items[int(index)].form, prescribing.DomainError(error.message, field=name))
        else:
            show_error(form, error)
        return _page(patient, form, overrides=overrides, supersedes=supersedes, status=422)
    flash(_("Prescription signed and sent to %(pharmacy)s. The patient's code: %(code)s.",
            pharmacy=prescription.pharmacy.name, code=prescription.collection_code), "success")
    return redirect(url_for("doctor.prescriptions.prescription", prescription_id=prescription.id), code=303)


@bp.route("/prescriptions/medicines")
def medicine_options():
    """The medicine select's options narrowed to what was typed (search as you type; the select
    without JavaScript lists the whole formulary)."""
    text = (request.args.get("q") or "").strip()[:60]
    response = make_response(render_template("prescriptions/doctor/_medicine_options.html",
                                             medicines=queries.medicines_search(text or None, active_only=True)))
    response.vary.add("HX-Request")
    return response


@bp.route("/prescriptions/")
def prescriptions():
    mine = queries.prescriptions_by_prescriber(prescriber_id=current_user.id)
    return render_page_or_fragment("prescriptions/doctor/list.html", "prescriptions/doctor/_list.html",
                                   prescriptions=mine, refill_requests=queries.refill_requests_for(
                                       prescriber_id=current_user.id), decline_form=RefillDeclineForm(formdata=None))


@bp.route("/prescriptions/<int:prescription_id>/print")
def print_page(prescription_id: int):
    return print_prescription(prescription_for_reader(actor=current_actor(), prescription_id=prescription_id))


@bp.route("/prescriptions/refills/<int:request_id>/approve", methods=["POST"])
def refill_approve(request_id: int):
    url = url_for("doctor.prescriptions.prescriptions")
    _result, refusal = attempt(lambda: refills.refill_approve(actor=current_actor(), request_id=request_id),
                               refused_at=url)
    if refusal:
        return refusal
    flash(_("Refill approved and sent to the pharmacy."), "success")
    return redirect(url, code=303)


@bp.route("/prescriptions/refills/<int:request_id>/decline", methods=["POST"])
def refill_decline(request_id: int):
    url = url_for("doctor.prescriptions.prescriptions")
    form = RefillDeclineForm()
    if not form.validate_on_submit():
        return refused(form.note.errors[0] if form.note.errors else _("Say why, for the patient."), url)
    _result, refusal = attempt(lambda: refills.refill_decline(actor=current_actor(), request_id=request_id,
                                                              note=form.note.data), refused_at=url)
    if refusal:
        return refusal
    flash(_("Refill declined; the patient can read why."), "success")
    return redirect(url, code=303)


@bp.route("/prescriptions/<int:prescription_id>")
def prescription(prescription_id: int):
    found: Prescription = prescription_for_reader(actor=current_actor(), prescription_id=prescription_id)
    return render_form("prescriptions/doctor/prescription.html", prescription=found)


def _ask_cancel(prescription_id: int) -> Ask:
    found: Prescription = prescription_for_reader(actor=current_actor(), prescription_id=prescription_id)
    return Ask(question=_("Cancel this prescription? The pharmacy will not dispense it."),
               detail=found.patient.full_name, yes=_("Cancel prescription"), no=_("Keep it"),
               back=url_for("doctor.prescriptions.prescription", prescription_id=prescription_id))


@bp.route("/prescriptions/<int:prescription_id>/cancel", methods=["GET", "POST"])
@asks_first(_ask_cancel)
def cancel(prescription_id: int):
    url = url_for("doctor.prescriptions.prescription", prescription_id=prescription_id)
    _result, refusal = attempt(lambda: prescribing.prescription_cancel(actor=current_actor(),
                                                                       prescription_id=prescription_id), refused_at=url)
    if refusal:
        return refusal
    flash(_("Prescription cancelled; the pharmacy's queue no longer shows it."), "success")
    return redirect(url, code=303)
