"""The doctor's lab orders: order tests for a patient (from the chart, or the video room's door:
/doctor/patients/<patient id>/lab-orders/new), follow an order, read its results (a critical value
as soon as it is entered, marked preliminary; the rest once released) and mark them reviewed; the
results waiting for review; a patient's results with their trends (the chart's card)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.clock import clock
from app.core.confirm import Ask, asks_first
from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.core.transactions import attempt, refused
from app.labs import ordering, queries, results
from app.labs.charting import result_trends
from app.labs.forms import LabOrderForm
from app.labs.models import Flag, SampleType
from app.labs.views._common import report_pdf_response
from app.records import services as records
from app.records.access import ChartPart

bp = Blueprint("labs", __name__)


def _patient(patient_id: int):
    try:
        return records.patient_get(patient_id)
    except NotFound:
        return or_404(None)


def _page(patient, form, *, status=200):
    return render_form("labs/doctor/new.html", patient=patient, form=form, tests=queries.tests_all(active_only=True),
                       status=status)


@bp.route("/patients/<int:patient_id>/lab-orders/new", methods=["GET", "POST"])
def order_new(patient_id: int):
    patient = _patient(patient_id)
    labs = queries.labs()
    if request.method == "GET":
        form = LabOrderForm(formdata=None, site_id=labs[0].id if len(labs) == 1 else None)
        return _page(patient, form.with_choices(tests=queries.tests_all(active_only=True), labs=labs))
    form = LabOrderForm().with_choices(tests=queries.tests_all(active_only=True), labs=labs)
    if form.validate_on_submit():
        with refusal_beside(form):
            order = ordering.lab_order_place(actor=current_actor(), patient_id=patient.id, site_id=form.site_id.data,
                                             test_ids=list(form.test_ids.data or []), urgency=form.urgency.data,
                                             note=form.note.data)
            flash(_("Lab order sent to %(lab)s; the patient has been told where to go and how to prepare.",
                    lab=order.site.name), "success")
            return redirect(url_for("doctor.labs.order", order_id=order.id), code=303)
    return _page(patient, form, status=422)


@bp.route("/lab-orders/<int:order_id>")
def order(order_id: int):
    found = ordering.order_for_doctor(actor=current_actor(), order_id=order_id)
    report = found.report
    shown = report if report is not None and (report.released or report.critical_alerted_at) else None
    return render_form("labs/doctor/order.html", order=found, report=shown, me=current_user.id,
                       sample_labels={s.value: s.label for s in SampleType}, flag_labels={f.value: f.label for f in Flag})


def _ask_cancel(order_id: int) -> Ask:
    found = ordering.order_for_doctor(actor=current_actor(), order_id=order_id)
    return Ask(question=_("Cancel this lab order? The lab will not test it, and the patient is told."),
               detail=found.patient.full_name, yes=_("Cancel the order"), no=_("Keep it"),
               back=url_for("doctor.labs.order", order_id=order_id))


@bp.route("/lab-orders/<int:order_id>/cancel", methods=["GET", "POST"])
@asks_first(_ask_cancel)
def cancel(order_id: int):
    url = url_for("doctor.labs.order", order_id=order_id)
    _order, refusal = attempt(lambda: ordering.lab_order_cancel(actor=current_actor(), order_id=order_id),
                              refused_at=url)
    if refusal:
        return refusal
    flash(_("Lab order cancelled; the lab no longer sees it and the patient has been told."), "success")
    return redirect(url, code=303)


@bp.route("/lab-orders/<int:order_id>/reviewed", methods=["POST"])
def reviewed(order_id: int):
    url = url_for("doctor.labs.order", order_id=order_id)
    try:
        results.results_review(actor=current_actor(), order_id=order_id)
    except (NotFound, AccessDenied):
        raise
    except DomainError as error:
        return refused(error.message, url)
    flash(_("Marked as reviewed."), "success")
    return redirect(url, code=303)


@bp.route("/lab-results/")
def to_review():
    """The doctor's results waiting for review (critical first); with htmx, the day's alert box alone."""
    rows = queries.reports_to_review(doctor_id=current_user.id)
    hours = current_app.config["LAB_REVIEW_HOURS"]
    counts = queries.review_counts(doctor_id=current_user.id, overdue_after=dt.timedelta(hours=hours))
    return render_page_or_fragment("labs/doctor/to_review.html", "labs/doctor/_alerts.html", rows=rows,
                                   counts=counts, hours=hours, overdue_before=clock.now() - dt.timedelta(hours=hours))


@bp.route("/patients/<int:patient_id>/lab-results")
def patient_results(patient_id: int):
    """A patient's released results with trends for repeated analytes: a read of the lab part of the
    chart (care, or an emergency grant), audited. With htmx, the chart's card."""
    patient = _patient(patient_id)
    records.clinical_access(actor=current_actor(), patient_id=patient.id, part=ChartPart.LAB,
                            action="lab_result.read", target=f"patient:{patient.id}")
    reports = queries.released_reports(patient_id=patient.id)
    return render_page_or_fragment("labs/doctor/patient_results.html", "labs/doctor/_results_card.html",
                                   patient=patient, reports=reports, trends=result_trends(reports),
                                   orders=queries.orders_of_patient(patient_id=patient.id),
                                   flag_labels={f.value: f.label for f in Flag})


def day_alerts() -> dict:
    """What the doctor's day shows of labs (the portal adds it): critical results not yet reviewed and
    released ones unreviewed past the limit, in a box that refreshes live."""
    hours = current_app.config["LAB_REVIEW_HOURS"]
    return {"lab_alerts_url": url_for("doctor.labs.to_review"),
            "lab_counts": queries.review_counts(doctor_id=current_user.id, overdue_after=dt.timedelta(hours=hours)),
            "lab_review_hours": hours}


@bp.route("/lab-orders/<int:order_id>/report.pdf")
def report_pdf(order_id: int):
    """The attached PDF, once the doctor may see the results (released, or a critical value)."""
    order = ordering.order_for_doctor(actor=current_actor(), order_id=order_id)
    report = order.report
    if report is None or not (report.released or report.critical_alerted_at):
        raise NotFound(_("No report is attached."))
    return report_pdf_response(order)
