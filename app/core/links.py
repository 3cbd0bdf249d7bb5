"""Absolute links for messages (emails, SMS), built from PUBLIC_BASE_URL: they work in jobs too,
where there is no request to take the host from."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    parts = urlsplit(base)
    path = current_app.url_map.bind(parts.netloc or "localhost", script_name=parts.path or "/").build(endpoint, values)
    return base + path[len(parts.path):] if parts.path and path.startswith(parts.path) else base + path
