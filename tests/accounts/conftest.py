"""Helpers for the accounts tests: the email outbox, links in it, database pokes, a second device."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from app.accounts.models import AccountToken, User
from app.core.db import utcnow
from app.extensions import db
from app.notifications.models import Channel, Notification

COOKIE = "myafya_session"


@pytest.fixture
def outbox(app):
    """outbox() -> every queued email as dicts (to, subject, body), decrypted through the ORM, once the
    worker's sweep has handled what the requests left for it ("forgot password" requests)."""
    from app.accounts.tasks import accounts_sweep

    def read(**filters) -> list[dict]:
        accounts_sweep()
        with app.app_context():
            rows = db.session.execute(select(Notification).order_by(Notification.id)).scalars().all()
            return [{"to": n.to_address, "subject": n.subject, "body": n.body, "channel": n.channel,
                     "user_id": n.user_id} for n in rows if n.channel == Channel.EMAIL.value]

    return read


def link_in(body: str, prefix: str) -> str:
    """The path of the first link in `body` that starts with `prefix` (e.g. "/reset/")."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(prefix) + r"[A-Za-z0-9_\-]+)", body)
    assert match, f"no {prefix} link in: {body!r}"
    return match.group(1)


@pytest.fixture
def db_user(app):
    """db_user(email) -> the account as stored now (detached)."""

    def get(email: str) -> User | None:
        with app.app_context():
            user = db.session.execute(select(User).where(User.email == email.lower())).scalar_one_or_none()
            if user is not None:
                db.session.expunge(user)
            return user

    return get


@pytest.fixture
def db_update(app):
    """db_update(Model, where, **values): change stored rows directly (committed)."""

    def run(model, *where, **values) -> None:
        with app.app_context():
            db.session.execute(update(model).where(*where).values(**values))
            db.session.commit()

    return run


@pytest.fixture
def expire_tokens(db_update):
    def run() -> None:
        import datetime as dt

        db_update(AccountToken, AccountToken.id > 0, expires_at=utcnow() - dt.timedelta(seconds=1))

    return run


def second_device(app, browser):
    """A new test client holding a copy of `browser`'s session cookie: the same account on another device."""
    from tests.conftest import Browser

    cookie = browser.client.get_cookie(COOKIE)
    assert cookie is not None, "the first device has no session cookie"
    other = app.test_client()
    other.set_cookie(COOKIE, cookie.value)
    return Browser(other)


def is_signed_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def text(response) -> str:
    import html

    return html.unescape(response.get_data(as_text=True))
