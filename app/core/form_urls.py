"""A form shown again after an error keeps the page's address, so a reload shows the page, never a 405.

With JavaScript, htmx pushes the address a boosted form was sent to; when the answer is the form
again (its errors beside the fields, what was typed kept) that is the POST's URL, which a reload
would GET. `keep_page_url` tells htmx not to push it: the address bar keeps the page's. Without
JavaScript the browser shows the POST's URL; a GET of it (a reload after "resend" is declined, a
link copied) is sent by `page_of` to the page above it that holds its form."""
from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect


def keep_page_url(response):
    if (request.method == "POST" and request.headers.get("HX-Boosted") == "true"
            and not 300 <= response.status_code < 400 and "HX-Push-Url" not in response.headers):
        response.headers["HX-Push-Url"] = "false"
    return response


def page_of(path: str) -> str | None:
    """The nearest address above `path` that answers a GET (/doctor/availability for
    /doctor/availability/hours), or None. Never the site's root: /logout has no page of its own."""
    adapter = current_app.create_url_adapter(request)
    parts = path.rstrip("/").split("/")
    while len(parts) > 2:
        parts.pop()
        candidate = "/".join(parts)
        for attempt in dict.fromkeys((candidate, candidate.rstrip("/") + "/")):
            try:
                adapter.match(attempt, method="GET")
            except RequestRedirect as moved:
                return moved.new_url
            except HTTPException:
                continue
            return attempt
    return None
