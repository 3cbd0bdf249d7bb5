"""GET /ws/live?channels=a,b&since=t — one websocket per live page, authorised at the handshake.

The hello names the channels that changed since `since` (the render time the page was given):
the page re-fetches those regions only. The socket takes no messages from the browser.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from app.core.policies import signed_in
from app.extensions import hub
from app.realtime.channels import may_listen
from app.realtime.freshness import since_parse
from app.realtime.guard import POLICY_VIOLATION, GuardedSocket, socket_route

bp = Blueprint("realtime", __name__)
MAX_CHANNELS = 8


def channels_parse(value: str) -> set[str] | None:
    channels = {name for name in value.split(",") if name}
    return channels if 0 < len(channels) <= MAX_CHANNELS else None


@socket_route("/ws/live", bp=bp)
@signed_in
def live(socket: GuardedSocket) -> None:
    channels = channels_parse(request.args.get("channels", ""))
    if channels is None or not all(may_listen(current_user, c) for c in channels):
        socket.close(POLICY_VIOLATION, "not allowed")
        return
    since = since_parse(request.args.get("since"))
    with hub.subscribe(channels, inbox=socket.inbox):
        stale = hub.stale_channels(channels, since=since)
        socket.send({"type": "hello", "channels": sorted(channels), "stale": sorted(stale)})
        for arrival in socket.arrivals():
            if isinstance(arrival, dict):  # a hub event; anything the browser sends is dropped
                socket.send(arrival)
