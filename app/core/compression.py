"""Pages, htmx partials and JSON compressed (Brotli, else gzip) for the browsers that ask for it.

BREACH: a compressed page's size can tell an eavesdropper whether text an attacker got reflected in
it matches a secret on the same page. Such an attack needs the victim's browser to send many
requests the attacker shapes, from another site; so a request the browser marks as coming from
another site (`Sec-Fetch-Site: cross-site` or `same-site`) is answered uncompressed, and only the
site's own requests (`same-origin`) and the person's own navigations (`none`: typed, bookmarked)
are compressed. Browsers too old to send the header get compressed pages; for them SameSite=Lax
session cookies still keep another site's background requests signed out. The CSRF token in our
pages changes every second (its signed timestamp), which leaves BREACH nothing stable to find.

Streamed answers (file downloads) and websockets are never compressed; neither is anything under
a kilobyte (it fits one packet either way).
"""
from __future__ import annotations

from flask import request

from app.extensions import compress

SITES_TO_COMPRESS_FOR = {"same-origin", "none", None}

SETTINGS = {
    "COMPRESS_REGISTER": False,  # compress_response below decides, then hands over to Flask-Compress
    "COMPRESS_MIMETYPES": ["text/html", "text/plain", "application/json"],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_BR_LEVEL": 4,  # fast enough per request; static files are compressed harder, once
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 1024,
    "COMPRESS_STREAMS": False,
}


def compress_response(response):
    """after_request, registered before every other one so it runs last, on the final body."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return response
    response.vary.add("Sec-Fetch-Site")
    if request.headers.get("Sec-Fetch-Site") not in SITES_TO_COMPRESS_FOR:
        response.vary.add("Accept-Encoding")
        return response
    return compress.after_request(response)


def register(app) -> None:
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    compress.init_app(app)
    app.after_request(compress_response)
