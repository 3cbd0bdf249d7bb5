"""The administrator's formulary: find, add and edit medicines (forms, strengths, usual doses,
drug classes, prices, reorder levels), and the interaction table the prescribing checks use."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.confirm import Ask, asks_first
from app.core.forms import refusal_beside
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.prescriptions import queries, services
from app.prescriptions.forms import InteractionForm, MedicineForm

bp = Blueprint("formulary", __name__, url_prefix="/formulary")


@bp.route("/")
def medicines():
    text = (request.args.get("q") or "").strip()[:60]
    return render_page_or_fragment("prescriptions/admin/formulary.html", "prescriptions/admin/_medicines.html",
                                   q=text, medicines=queries.medicines_search(text or None, limit=None))


def _interactions_page(form, *, status=200):
    return render_form("prescriptions/admin/interactions.html", interactions=queries.interactions_all(), form=form,
                       status=status)


@bp.route("/interactions", methods=["GET", "POST"])
def interactions():
    classes = queries.classes_all()
    if request.method == "GET":
        return _interactions_page(InteractionForm(formdata=None).with_classes(classes))
    form = InteractionForm().with_classes(classes)
    if form.validate_on_submit():
        with refusal_beside(form):
            services.interaction_add(actor=current_actor(), class_a_id=form.class_a_id.data,
                                     class_b_id=form.class_b_id.data, severity=form.severity.data,
                                     advice=form.advice.data)
            flash(_("Interaction added: prescribing now warns on it."), "success")
            return redirect(url_for("admin.formulary.interactions"), code=303)
    return _interactions_page(form, status=422)


@bp.route("/interactions/<int:interaction_id>/remove", methods=["GET", "POST"])
@asks_first(lambda interaction_id: Ask(question=_("Remove this interaction? Prescribing stops warning on it."),
                                       yes=_("Remove"), back=url_for("admin.formulary.interactions")))
def interaction_remove(interaction_id: int):
    services.interaction_remove(actor=current_actor(), interaction_id=interaction_id)
    flash(_("Interaction removed."), "success")
    return redirect(url_for("admin.formulary.interactions"), code=303)


def _page(form, *, medicine=None, status=200):
    return render_form("prescriptions/admin/medicine.html", form=form, medicine=medicine, status=status)


@bp.route("/new", methods=["GET", "POST"])
def medicine_new():
    classes = queries.classes_all()
    if request.method == "GET":
        return _page(MedicineForm(formdata=None).with_classes(classes))
    form = MedicineForm().with_classes(classes)
    if form.validate_on_submit():
        with refusal_beside(form):
            medicine = services.medicine_add(actor=current_actor(), values=form.values())
            flash(_("%(medicine)s added to the formulary.", medicine=medicine.label), "success")
            return redirect(url_for("admin.formulary.medicines"), code=303)
    return _page(form, status=422)


@bp.route("/<int:medicine_id>", methods=["GET", "POST"])
def medicine_edit(medicine_id: int):
    medicine = or_404(queries.medicine_get(medicine_id))
    classes = queries.classes_all()
    if request.method == "GET":
        return _page(MedicineForm.of(medicine).with_classes(classes), medicine=medicine)
    form = MedicineForm().with_classes(classes)
    if form.validate_on_submit():
        with refusal_beside(form):
            services.medicine_update(actor=current_actor(), medicine_id=medicine_id, values=form.values())
            flash(_("%(medicine)s saved.", medicine=medicine.label), "success")
            return redirect(url_for("admin.formulary.medicines"), code=303)
    return _page(form, medicine=medicine, status=422)
