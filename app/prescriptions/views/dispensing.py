"""The pharmacist's queue, built for a 768 px touch tablet: new → being prepared → ready (the
patient is told) → collected; or a question back to the prescriber, or a refusal with a reason.
Live over the websocket; find a prescription by the code the patient shows."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.forms import refusal_beside
from app.core.htmx import is_htmx_fragment_request, render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.transactions import attempt
from app.prescriptions import dispensing, queries, services
from app.prescriptions.forms import CodeForm, PharmacyNoteForm

bp = Blueprint("dispensing", __name__, url_prefix="/prescriptions")


def _site():
    return services.pharmacy_of(user_id=current_user.id)


def queue_page(form=None, *, status=200):
    """The portal's home: the queue and the find-by-code form."""
    site = _site()
    queue = queries.pharmacy_queue(site_id=site.id)
    if is_htmx_fragment_request():  # the live refresh: the queue alone
        return render_page_or_fragment("prescriptions/pharmacy/queue.html", "prescriptions/pharmacy/_queue.html",
                                       site=site, queue=queue)
    return render_page_or_fragment("prescriptions/pharmacy/queue.html", "prescriptions/pharmacy/_queue.html",
                                   site=site, queue=queue, form=form or CodeForm(formdata=None), status=status,
                                   counts=queries.stock_alert_counts(site_id=site.id, today=_today()))


def _today():
    from app.scheduling.clinic_time import local_today

    return local_today()


@bp.route("/find", methods=["POST"])
def find():
    form = CodeForm()
    if form.validate_on_submit():
        with refusal_beside(form):
            found = dispensing.prescription_find(site_id=_site().id, code=form.code.data)
            return redirect(url_for("pharmacy.dispensing.prescription", prescription_id=found.id), code=303)
    return queue_page(form, status=422)


def _detail(prescription_id: int, note_form=None, *, status=200):
    site = _site()
    view = dispensing.prescription_read(actor=current_actor(), site_id=site.id, prescription_id=prescription_id)
    return render_form("prescriptions/pharmacy/prescription.html", site=site, view=view,
                       prescription=view.prescription, note_form=note_form or PharmacyNoteForm(formdata=None),
                       status=status)


@bp.route("/<int:prescription_id>")
def prescription(prescription_id: int):
    return _detail(prescription_id)


STEPS = {"prepare": dispensing.prescription_prepare, "ready": dispensing.prescription_mark_ready}


@bp.route("/<int:prescription_id>/<any(prepare, ready):step>", methods=["POST"])
def step(prescription_id: int, step: str):
    url = url_for("pharmacy.dispensing.prescription", prescription_id=prescription_id)
    extra = {"delivery": request.form.get("delivery") == "1"} if step == "ready" else {}
    _result, refusal = attempt(lambda: STEPS[step](actor=current_actor(), site_id=_site().id,
                                                   prescription_id=prescription_id, **extra), refused_at=url)
    if refusal:
        return refusal
    flash(_("Marked as being prepared.") if step == "prepare" else
          _("Marked ready: the patient has been told."), "success")
    return redirect(url, code=303)


@bp.route("/<int:prescription_id>/dispense", methods=["POST"])
def dispense(prescription_id: int):
    url = url_for("pharmacy.dispensing.prescription", prescription_id=prescription_id)
    done, refusal = attempt(lambda: dispensing.prescription_dispense(actor=current_actor(), site_id=_site().id,
                                                                     prescription_id=prescription_id), refused_at=url)
    if refusal:
        return refusal
    flash(_("Handed over. Stock taken from batches %(batches)s.",
            batches=", ".join(sorted({b["batch"] for b in done.batches}))), "success")
    return redirect(url_for("pharmacy.home"), code=303)


@bp.route("/<int:prescription_id>/<any(query, reject):answer>", methods=["POST"])
def send_back(prescription_id: int, answer: str):
    form = PharmacyNoteForm()
    if form.validate_on_submit():
        with refusal_beside(form):
            action = dispensing.prescription_query if answer == "query" else dispensing.prescription_reject
            action(actor=current_actor(), site_id=_site().id, prescription_id=prescription_id, note=form.note.data)
            flash(_("Sent back to the prescriber.") if answer == "query" else _("Marked as not dispensed."), "success")
            return redirect(url_for("pharmacy.home"), code=303)
    return _detail(prescription_id, form, status=422)
