"""View code the doctor's and the desk's pages share."""
from __future__ import annotations

import json

from flask import Response, abort, current_app, request, url_for

from app.core.clock import clock
from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.security import DB_INT_MAX
from app.records import fhir, queries, services

SEARCH_TERM_MAX = 80


def entry_id_arg(name: str) -> int | None:
    """An entry id from the query string: None when absent; a 404 for one no INTEGER column holds."""
    value = request.args.get(name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) <= DB_INT_MAX):
        abort(404)
    return int(value)


def patient_search_page(page: str, *, chart_endpoint: str):
    """Find a patient as one types (name, phone, MRN): the page, or with htmx the results
    alone; each result links to `chart_endpoint` (the doctor's chart, the desk's patient page)."""
    term = request.args.get("q", "")[:SEARCH_TERM_MAX]
    return render_page_or_fragment(page, "records/_patient_results.html", term=term,
                                   results=queries.patients_search(term), chart_endpoint=chart_endpoint)


def _document_url(patient_id: int):
    """Where the one exporting fetches a document's file: their own portal's address for it."""
    if request.blueprint and request.blueprint.startswith("patient"):
        return lambda entry: url_for("patient.records.document_file", entry_id=entry.id, _external=True)
    return lambda entry: url_for("doctor.records.document_file", patient_id=patient_id, entry_id=entry.id,
                                 _external=True)


def fhir_download(patient_id: int) -> Response:
    """The chart as a FHIR R4 Bundle to save (the gate decides, as for the chart page, and audits it
    as an export); never kept by a cache on the way."""
    patient, chart = services.chart_export(actor=current_actor(), patient_id=patient_id)
    bundle = fhir.chart_bundle(patient, chart, generated_at=clock.now(),
                               mrn_system=current_app.config.get("FHIR_MRN_SYSTEM") or fhir.DEFAULT_MRN_SYSTEM,
                               document_url=_document_url(patient_id))
    response = Response(json.dumps(bundle, ensure_ascii=False), mimetype="application/fhir+json")
    response.headers["Content-Disposition"] = f'attachment; filename="record-{patient.mrn}.fhir.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
