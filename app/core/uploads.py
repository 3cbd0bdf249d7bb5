"""Uploads: a larger request body for the few views that take a file, and nothing else.

MAX_CONTENT_LENGTH stays small for the whole app (a form of text needs a few kilobytes); a view
that takes a file declares its own limit with `@accepts_upload(limit)`, read before anything parses
the body (the CSRF check in before_request does). A body over the limit is answered 413 by
Werkzeug before it is read; app/core/error_pages.py turns that into a page (or an htmx fragment)
that says how large a file may be.

Uploaded files are kept in memory, never spooled to a temporary file on the server's disk: they are
clinical, and the limit bounds the memory.
"""
from __future__ import annotations

import io
from typing import Callable

from flask import Request, current_app
from flask_babel import format_decimal


def size_label(size: int) -> str:
    """A file size as people read it, in their language's digits: "820 KB", "2.4 MB"."""
    if size < 1024 * 1024:
        return f"{format_decimal(max(1, round(size / 1024)))} KB"
    megabytes = size / (1024 * 1024)
    return f"{format_decimal(round(megabytes, 1 if megabytes < 10 else 0))} MB"


# Room in the body for the form around the file (its other fields, the multipart boundaries): a file
# at the limit gets through to the view, which refuses a larger one beside its field.
UPLOAD_FORM_ALLOWANCE = 64 * 1024


def accepts_upload(limit: Callable[[], int]) -> Callable:
    """Mark a view as taking a file of up to `limit()` bytes: its request bodies may be that large
    (and UPLOAD_FORM_ALLOWANCE more). The view still checks the file's own size."""

    def decorate(view):
        view.upload_limit = limit
        return view

    return decorate


def upload_limit_of(endpoint: str | None) -> int | None:
    """The largest file the endpoint's view takes, or None when it takes none."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    limit = getattr(view, "upload_limit", None)
    return limit() if limit is not None else None


class UploadAwareRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.url_rule is not None:
            limit = upload_limit_of(self.url_rule.endpoint)
            if limit is not None:
                return limit + UPLOAD_FORM_ALLOWANCE
        return Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()
