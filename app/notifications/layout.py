"""The in-app messages' part of the clinic's layout (a context processor create_app registers)."""
from __future__ import annotations

from flask_login import current_user

from app.notifications.services import inbox_unread_count


def _unread_messages() -> int:
    # Called by the layout only: htmx fragments (the hot paths) never pay for this query.
    return inbox_unread_count(user_id=current_user.id) if current_user.is_authenticated else 0


def layout_context() -> dict:
    return {"unread_messages": _unread_messages}
