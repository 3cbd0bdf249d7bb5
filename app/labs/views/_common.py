"""What the lab pages of every role share: the attached report PDF, answered alone and safely."""
from __future__ import annotations

from flask import Response, abort

from app.core.errors import DomainError
from app.labs import results
from app.labs.models import LabOrder
from app.records.views._documents import FILE_CSP, content_disposition


def report_pdf_response(order: LabOrder) -> Response:
    """The order's attached PDF (the caller has read the order through the gate), as a download."""
    try:
        data = results.report_pdf(order)
    except DomainError:
        abort(404)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition("attachment", f"lab-report-{order.id}", ".pdf")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
