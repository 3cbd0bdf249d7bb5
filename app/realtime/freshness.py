"""When a live region was rendered, so its socket can be told whether it missed anything.

Every request notes the server's time as it starts, before it reads the database. A live region
carries that time (`data-live-since="{{ live_since() }}"`); live.js sends the oldest of its page's
regions when it connects, and the hub answers with the channels that had an event since
(Hub.stale_channels). A region re-fetched after an event carries the newer time of that request.
The browser only echoes a time the server gave it: its own clock is never used.
"""
from __future__ import annotations

import re

from flask import g

from app.core.clock import clock

_SINCE = re.compile(r"[0-9]{1,11}(\.[0-9]{1,6})?")


def server_time() -> float:
    """Seconds since the epoch by the app's clock (tests move it instead of waiting)."""
    return clock.now().timestamp()


def stamp_request() -> None:
    """before_request."""
    g.live_since = server_time()


def live_since() -> str:
    """Template global: this request's start, or "" outside one (the page then refreshes on connect)."""
    started = g.get("live_since")
    return f"{started:.3f}" if started is not None else ""


def since_parse(value: str | None) -> float | None:
    """The `since` a socket was opened with; None (refresh everything) when absent or malformed."""
    if value is None or not _SINCE.fullmatch(value):
        return None
    return float(value)
