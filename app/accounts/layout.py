"""The signed-in account's part of the clinic's layout (a context processor create_app registers)."""
from __future__ import annotations

from flask_login import current_user

from app.accounts.models import ROLE_LABELS, Role


def layout_context() -> dict:
    return {"role_label": ROLE_LABELS[Role(current_user.role)] if current_user.is_authenticated else None}
