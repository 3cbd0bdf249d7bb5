"""The administrator's lab catalogue: every test with its sample, preparation, price and target
turnaround; edit a test (or stop doctors ordering it)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.request_actor import current_actor
from app.core.request_args import or_404
from app.labs import queries, services
from app.labs.forms import AnalyteForm, LabTestForm

bp = Blueprint("lab_catalogue", __name__, url_prefix="/lab-tests")


@bp.route("/")
def tests():
    return render_form("labs/admin/catalogue.html", tests=queries.tests_all())


@bp.route("/<int:test_id>", methods=["GET", "POST"])
def test_edit(test_id: int):
    test = or_404(queries.test_get(test_id))
    if request.method == "GET":
        return render_form("labs/admin/test.html", test=test, form=LabTestForm.of(test))
    form = LabTestForm()
    if form.validate_on_submit():
        with refusal_beside(form):
            services.lab_test_update(actor=current_actor(), test_id=test.id, values=form.values())
            flash(_("Test saved."), "success")
            return redirect(url_for("admin.lab_catalogue.tests"), code=303)
    return render_form("labs/admin/test.html", test=test, form=form, status=422)


@bp.route("/turnaround")
def turnaround():
    """Each step's time (median and 90th percentile) and the orders over target, for the last days."""
    from app.labs.turnaround import turnaround_summary

    days = request.args.get("days", default=30, type=int)
    days = days if days in (7, 30, 90) else 30
    return render_form("labs/admin/turnaround.html", summary=turnaround_summary(days=days))


@bp.route("/<int:test_id>/analytes/<int:analyte_id>", methods=["GET", "POST"])
def analyte_edit(test_id: int, analyte_id: int):
    test = or_404(queries.test_get(test_id))
    analyte = or_404(next((a for a in test.analytes if a.id == analyte_id and a.kind == "number"), None))
    if request.method == "GET":
        form = AnalyteForm(formdata=None, unit=analyte.unit, critical_low=analyte.critical_low,
                           critical_high=analyte.critical_high, ranges=services.ranges_text(analyte.ranges))
        return render_form("labs/admin/analyte.html", test=test, analyte=analyte, form=form)
    form = AnalyteForm()
    if form.validate_on_submit():
        with refusal_beside(form):
            services.lab_analyte_update(actor=current_actor(), analyte_id=analyte.id, unit=form.unit.data,
                                        critical_low=form.number(form.critical_low.data),
                                        critical_high=form.number(form.critical_high.data), ranges=form.ranges.data)
            flash(_("%(analyte)s saved: new results are flagged with these ranges.", analyte=analyte.name), "success")
            return redirect(url_for("admin.lab_catalogue.test_edit", test_id=test.id), code=303)
    return render_form("labs/admin/analyte.html", test=test, analyte=analyte, form=form, status=422)
