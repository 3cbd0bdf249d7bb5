"""The pharmacist's stock pages: what is on the shelf, receiving a delivery, correcting a batch,
and the lists that need action (low stock, near expiry). A pharmacist sees their own pharmacy only."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.forms import refusal_beside
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.prescriptions import queries, services
from app.prescriptions.forms import AdjustForm, ReceiveForm
from app.prescriptions.models import AdjustmentReason
from app.scheduling.clinic_time import local_today

bp = Blueprint("stock", __name__, url_prefix="/stock")


def _site():
    return services.pharmacy_of(user_id=current_user.id)


@bp.route("/")
def overview():
    site = _site()
    text = (request.args.get("q") or "").strip()[:60]
    today = local_today()
    lines = queries.stock_lines(site_id=site.id, today=today, text=text or None)
    context = dict(site=site, q=text, lines=lines, today=today,
                   low=queries.stock_lines(site_id=site.id, today=today, low_only=True),
                   near=queries.near_expiry(site_id=site.id, today=today), near_days=queries.NEAR_EXPIRY_DAYS)
    return render_page_or_fragment("prescriptions/pharmacy/stock.html", "prescriptions/pharmacy/_stock_lines.html",
                                   **context)


def _receive_page(site, form, *, status=200):
    return render_form("prescriptions/pharmacy/receive.html", site=site, form=form, status=status)


@bp.route("/receive", methods=["GET", "POST"])
def receive():
    site = _site()
    form = ReceiveForm().with_medicines(queries.medicines_search(active_only=True, limit=None))
    if request.method == "GET":
        form = ReceiveForm(formdata=None, medicine_id=request.args.get("medicine_id", type=int)).with_medicines(
            queries.medicines_search(active_only=True, limit=None))
        return _receive_page(site, form)
    if form.validate_on_submit():
        with refusal_beside(form):
            batch = services.stock_receive(actor=current_actor(), site_id=site.id, medicine_id=form.medicine_id.data,
                                           batch_number=form.batch_number.data, expires_on=form.expires_on.data,
                                           quantity=form.quantity.data)
            flash(_("Received %(quantity)s into batch %(batch)s.", quantity=form.quantity.data,
                    batch=batch.batch_number), "success")
            return redirect(url_for("pharmacy.stock.medicine", medicine_id=batch.medicine_id), code=303)
    return _receive_page(site, form, status=422)


def _medicine_page(site, medicine, form=None, *, status=200):
    batches = queries.batches(site_id=site.id, medicine_id=medicine.id)
    form = (form or AdjustForm(formdata=None, reason=AdjustmentReason.COUNT.value)).with_batches(batches)
    return render_form("prescriptions/pharmacy/medicine.html", site=site, medicine=medicine, batches=batches,
                       movements=queries.movements(site_id=site.id, medicine_id=medicine.id), form=form,
                       today=local_today(), status=status,
                       reason_labels={reason.value: reason.label for reason in AdjustmentReason})


@bp.route("/medicines/<int:medicine_id>")
def medicine(medicine_id: int):
    return _medicine_page(_site(), or_404(queries.medicine_get(medicine_id)))


@bp.route("/medicines/<int:medicine_id>/adjust", methods=["POST"])
def adjust(medicine_id: int):
    site = _site()
    medicine = or_404(queries.medicine_get(medicine_id))
    form = AdjustForm().with_batches(queries.batches(site_id=site.id, medicine_id=medicine.id))
    if form.validate_on_submit():
        with refusal_beside(form):
            batch = services.stock_adjust(actor=current_actor(), site_id=site.id, batch_id=form.batch_id.data,
                                          change=form.change.data, reason=AdjustmentReason(form.reason.data),
                                          note=form.note.data)
            flash(_("Batch %(batch)s now holds %(quantity)s.", batch=batch.batch_number, quantity=batch.quantity),
                  "success")
            return redirect(url_for("pharmacy.stock.medicine", medicine_id=medicine.id), code=303)
    return _medicine_page(site, medicine, form, status=422)
