"""GET /ws/live?channels=a,b — one websocket per live page, authorised at the handshake."""
from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, request
from flask_login import current_user

from app.core.outage import DATABASE_DOWN
from app.core.policies import signed_in
from app.extensions import db, hub, sock
from app.realtime.channels import may_listen

bp = Blueprint("realtime", __name__)
PING_SECONDS = 25
MAX_CHANNELS = 8
TRY_AGAIN_LATER = 1013  # the websocket close code


def _still_signed_in(user_id: int, session_token: str) -> bool:
    """Re-check the account between messages: a revoked session loses its live feed too."""
    from app.accounts.models import User

    with db.new_session() as session:
        user = session.get(User, user_id)
        return bool(user and user.is_active_account and user.session_token == session_token)


@sock.route("/ws/live", bp=bp)
@signed_in
def live(ws):
    channels = {c for c in request.args.get("channels", "").split(",") if c}
    if not channels or len(channels) > MAX_CHANNELS or not all(may_listen(current_user, c) for c in channels):
        ws.close(reason=1008, message="not allowed")
        return
    user_id, token = current_user.id, current_user.session_token
    db.session.remove()  # hold no database connection for the life of the socket
    ws.send(json.dumps({"type": "hello", "channels": sorted(channels)}))
    with hub.subscribe(channels) as subscription:
        checked_at = time.monotonic()
        while ws.connected:
            event = subscription.get(timeout=PING_SECONDS)
            if time.monotonic() - checked_at >= PING_SECONDS:
                try:
                    signed_in_still = _still_signed_in(user_id, token)
                except DATABASE_DOWN as error:
                    # The session cannot be checked: close; live.js reconnects with back-off, and the
                    # handshake checks the session again once the database is back.
                    current_app.logger.warning("live socket closed, database unavailable: %s", error.__class__.__name__)
                    ws.close(reason=TRY_AGAIN_LATER, message="try again later")
                    return
                if not signed_in_still:
                    ws.close(reason=1008, message="signed out")
                    return
                checked_at = time.monotonic()
            ws.send(json.dumps(event or {"type": "ping"}))
