"""Links in emails point at the server's real address (issue 12 item 9): PUBLIC_BASE_URL, which in
development defaults to where `make run` serves (http://127.0.0.1:$PORT)."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts import services
from app.accounts.models import Role
from app.extensions import db
from app.notifications.models import Notification


def test_the_default_base_url_is_where_make_run_serves(monkeypatch):
    from config import from_environment

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert from_environment()["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
    monkeypatch.delenv("PORT")
    assert from_environment()["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://clinic.example")
    assert from_environment()["PUBLIC_BASE_URL"] == "https://clinic.example"


def test_make_run_tells_the_app_its_port():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "PORT=$(PORT) $(BIN)/flask --app wsgi run" in run


def test_a_reset_email_links_to_the_public_address(app, app_ctx, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:8123/")
    user = make_user(Role.PATIENT)
    services.password_reset_request(email=user.email)
    db.session.commit()
    for request_id in services.password_reset_requests_pending():
        services.password_reset_request_handle(request_id=request_id)
    db.session.commit()
    [email] = db.session.execute(select(Notification)).scalars().all()
    assert "http://127.0.0.1:8123/reset/" in email.body and "localhost" not in email.body
