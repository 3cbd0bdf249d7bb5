"""Page-or-fragment: one route serves the full page, or just its fragment to htmx."""
from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx_fragment_request() -> bool:
    """A real htmx request that is neither boosted navigation nor a history restore."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_page_or_fragment(page: str, fragment: str, *, status: int = 200, **context):
    template = fragment if is_htmx_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def render_form(template: str, *, status: int = 200, **context):
    """A form page; 422 when it is shown again with errors (htmx is configured to swap 422)."""
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
