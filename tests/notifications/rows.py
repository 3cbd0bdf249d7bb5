"""Reading an outbox row back as the database has it now (shared by the notification tests)."""
from __future__ import annotations

from app.extensions import db
from app.notifications.models import Notification


def row(app, notification_id: int) -> Notification:
    with app.app_context():
        note = db.session.get(Notification, notification_id, populate_existing=True)
        db.session.expunge(note)
        return note
