"""View code for documents that the doctor's chart and the patient's record share: the upload form,
the page that shows one, and the file itself with the headers that keep it safe."""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Response, abort, redirect, request
from werkzeug.utils import secure_filename

from app.core.errors import NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.request_actor import current_actor
from app.records import documents, services
from app.records.forms import DOCUMENT_ACCEPT, DocumentUploadForm

# The file answered alone: a script it might hold runs nowhere (no origin, no plugins, no scripts),
# and no other site may embed it.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
NAME_MAX = 80


def content_disposition(disposition: str, title: str, extension: str) -> str:
    """`inline` or `attachment`, named after the title: a plain ASCII name every browser reads, and the
    title itself (RFC 6266 filename*) for those that read more. Never the uploaded file's own name."""
    plain = (secure_filename(title)[:NAME_MAX] or "document") + extension
    shown = " ".join(re.sub(r'[\x00-\x1f\x7f"\\/:*?<>|]+', " ", title).split())[:NAME_MAX] or "document"
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(shown + extension, safe='')}"


def file_response(entry, data: bytes) -> Response:
    kind = documents.file_type_of(entry)
    response = Response(data, mimetype=kind.content_type)
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if kind.is_image else "attachment", entry.content["title"], kind.extension)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def document_file(*, patient_id: int, entry_id: int) -> Response:
    try:
        entry, data = documents.document_open(actor=current_actor(), patient_id=patient_id, entry_id=entry_id)
    except NotFound:
        abort(404)
    return file_response(entry, data)


def document_entry(*, patient_id: int, entry_id: int):
    """The document to show on its page: a read of it through the gate (403 refused, 404 not in this chart)."""
    try:
        entry = services.entry_get(actor=current_actor(), patient_id=patient_id, entry_id=entry_id)
    except NotFound:
        abort(404)
    if entry.kind != "document":
        abort(404)
    return entry


def upload(*, patient, done_url: str, template_context: dict):
    """The upload form (GET), or the upload (POST): added, a 303 to `done_url`; refused, the form again
    with the message beside the field and the title and note kept (a file input cannot be refilled)."""
    form = DocumentUploadForm()
    if request.method == "POST" and form.validate_on_submit():
        with refusal_beside(form):
            documents.document_add(actor=current_actor(), patient_id=patient.id, title=form.title.data,
                                   note=form.note.data, data=form.file.data.read(documents.document_max_bytes() + 1))
            return redirect(done_url, code=303)
    return render_form("records/document_upload.html", form=form, patient=patient, accept=DOCUMENT_ACCEPT,
                       max_bytes=documents.document_max_bytes(),
                       status=422 if request.method == "POST" else 200, **template_context)
