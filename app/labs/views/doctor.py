"""The doctor's lab orders: order tests for a patient (from the chart, or the video room's door:
/doctor/patients/<patient id>/lab-orders/new), and follow an order."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.errors import NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.labs import ordering, queries
from app.labs.forms import LabOrderForm
from app.labs.models import SampleType
from app.records import services as records

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
    return render_form("labs/doctor/order.html", order=found, sample_labels={s.value: s.label for s in SampleType})
