"""The front desk finds patients by identifiers only: no clinical content here."""
from __future__ import annotations

from flask import Blueprint, request

from app.core.htmx import render_page_or_fragment
from app.records import queries

bp = Blueprint("records", __name__, url_prefix="/patients")


@bp.route("/")
def patients():
    term = request.args.get("q", "")[:80]
    return render_page_or_fragment("records/reception/patients.html", "records/_patient_results.html",
                                   term=term, results=queries.patients_search(term), chart_endpoint=None)
