"""View code the doctor's and the desk's pages share."""
from __future__ import annotations

from flask import request

from app.core.htmx import render_page_or_fragment
from app.records import queries

SEARCH_TERM_MAX = 80


def patient_search_page(page: str, *, chart_endpoint: str):
    """Find a patient as one types (name, phone, MRN): the page, or with htmx the results
    alone; each result links to `chart_endpoint` (the doctor's chart, the desk's patient page)."""
    term = request.args.get("q", "")[:SEARCH_TERM_MAX]
    return render_page_or_fragment(page, "records/_patient_results.html", term=term,
                                   results=queries.patients_search(term), chart_endpoint=chart_endpoint)
