"""Values read from a request, parsed once and strictly: a value no page sends is a 400, a missing
row a 404, never an exception deeper down."""
from __future__ import annotations

import datetime as dt
from typing import TypeVar

from flask import abort, request

T = TypeVar("T")

# The calendar's edges overflow once converted to UTC or the clinic's zone; no clinic works there.
SANE_YEARS = range(2000, 3000)


def date_arg(name: str) -> dt.date | None:
    """An ISO date from the query string (None when absent); anything else, or a far year, is a 400."""
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        abort(400)
    if day.year not in SANE_YEARS:
        abort(400)
    return day


def instant_value(value: str | None) -> dt.datetime:
    """An aware ISO instant from a form or a link, in UTC; a naive, malformed or far one is a 400."""
    try:
        instant = dt.datetime.fromisoformat(value or "")
    except (TypeError, ValueError):
        abort(400)
    if instant.tzinfo is None or instant.year not in SANE_YEARS:
        abort(400)
    return instant.astimezone(dt.timezone.utc)


def or_404(value: T | None) -> T:
    """The row a URL names, or a 404 when there is none (or the visitor may not know it exists)."""
    if value is None:
        abort(404)
    return value
