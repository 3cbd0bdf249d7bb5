"""Websocket handshakes are accepted from the app's own pages only (cross-site websocket hijacking).

A browser sends the session cookie with a websocket handshake whatever page opens it, and no
CORS check applies; the `Origin` header is what tells our pages from anyone else's. So every
handshake, to any route, must come with an Origin that is this site: the scheme and host the
request came to (after ProxyFix, when PROXY_HOPS is set) or PUBLIC_BASE_URL's. A handshake without
an Origin is refused too: every browser sends one, and only a browser is our client.
Refused handshakes get a 403 before anything is upgraded (RFC 6455, 4.2.2).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, request

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """("https", "clinic.example.org", 443) for any URL or Origin of that site; None if malformed."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host or port is None:
        return None
    return scheme, host, port


def own_origins() -> set[tuple[str, str, int]]:
    candidates = (f"{request.scheme}://{request.host}", current_app.config.get("PUBLIC_BASE_URL") or "")
    return {origin for origin in map(origin_of, candidates) if origin is not None}


def is_websocket_handshake() -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def refuse_foreign_origin():
    """before_request: a websocket handshake from another site (or from no page at all) is a 403."""
    if not is_websocket_handshake():
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin_of(origin) in own_origins():
        return None
    log.warning("websocket handshake refused: Origin %r is not this site", (origin or "")[:100])
    return current_app.response_class("Forbidden: this socket opens from the clinic's own pages only.\n",
                                      status=403, mimetype="text/plain")
