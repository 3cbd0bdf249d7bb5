"""Static URLs carry a content hash, so assets are cached for a year and still change on deploy."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, url_for


@lru_cache(maxsize=128)
def _digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def content_version(path: Path | str) -> str:
    """The `v` a URL of this file carries: a hash of its content ("missing" when there is no file)."""
    path = Path(path)
    try:
        return _digest(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        return "missing"


def asset_url(filename: str) -> str:
    return url_for("static", filename=filename, v=content_version(Path(current_app.static_folder) / filename))
