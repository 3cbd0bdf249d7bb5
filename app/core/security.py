"""Response headers for every answer, and no-store for anything a signed-in user sees; input that
no person sends (NUL bytes, ids beyond any row) refused before it reaches the database."""
from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

# PostgreSQL INTEGER: a larger id in a URL can name no row, and binding it is a database error.
DB_INT_MAX = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` that only matches ids an INTEGER column can hold: a larger one is a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_converters(app) -> None:
    """Before any route is registered: converters are bound when a rule is added."""
    app.url_map.converters["int"] = DatabaseIntConverter


def reject_nul_bytes():
    """before_request: a NUL in a query string or form field is a 400. Nobody types one, PostgreSQL text
    cannot hold one, and letting it through turns a search or a sign-in into a 500."""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def security_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers every answer carries, pages and static files alike."""
    headers = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def add_security_headers(response):
    headers = response.headers
    for name, value in security_headers(secure=request.is_secure):
        headers.setdefault(name, value)
    if request.endpoint != "static":
        # Shared desks: no page may be kept by the browser or replayed from its history cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response
