"""One failure path: whatever a request flushed is rolled back as a whole when it is refused, however the
refusal is answered (a DomainError no view caught, NotFound, AccessDenied, a Post/Redirect/Get refusal),
and what was to happen after commit does not happen. No view rolls back by hand."""
from __future__ import annotations

import ast
import pathlib

import pytest
from sqlalchemy import func, select

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.policies import public
from app.core.transactions import refused
from app.extensions import db, jobs
from app.notifications.models import Channel, Notification
from app.notifications.services import notification_queue
from app.records.models import Patient
from app.records.services import patient_create
from tests.conftest import Browser
from tests.security_support import fresh_app

APP = pathlib.Path(__file__).resolve().parents[2] / "app"


def _half_done_work(n: int) -> None:
    """Two writes flushed, and a message to send once they are committed."""
    patient = patient_create(given_name=f"Half{n}", family_name="Done")
    notification_queue(dedupe_key=f"half-done-{n}", channel=Channel.EMAIL, to_address="half@done.test",
                       subject="Saved", body=f"Patient {patient.mrn} saved.")


@pytest.fixture
def throwaway(app, database_url, redis_url):
    with fresh_app(app, database_url, redis_url) as fresh:
        calls = iter(range(1, 100))

        @fresh.route("/throwaway-work/<how>")
        @public
        def throwaway_work(how: str):
            _half_done_work(next(calls))
            if how == "uncaught":
                raise DomainError("The pharmacy is closed on Sundays.")
            if how == "not-found":
                raise NotFound("No such prescription.")
            if how == "denied":
                raise AccessDenied("This chart is not open to you.")
            if how == "redirect":
                return refused("The pharmacy is closed on Sundays.", "/landing")
            return "done"  # the control: the same work, not refused, is committed

        @fresh.route("/landing")
        @public
        def landing():
            return "landing"

        yield fresh


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        patients = db.session.execute(select(func.count()).select_from(Patient)).scalar_one()
        notes = db.session.execute(select(func.count()).select_from(Notification)).scalar_one()
        db.session.rollback()
    return patients, notes, jobs.rq_queue.count


@pytest.mark.parametrize("how, status, shown", [
    ("uncaught", 422, "The pharmacy is closed on Sundays."),
    ("not-found", 404, "Page not found"),
    ("denied", 403, "This chart is not open to you."),
    ("redirect", 303, None),
])
def test_a_refused_request_keeps_nothing_it_flushed(throwaway, how, status, shown):
    client = Browser(throwaway.test_client())
    assert _counts(throwaway) == (0, 0, 0)
    response = client.get(f"/throwaway-work/{how}")
    assert response.status_code == status
    if shown:
        assert shown in response.get_data(as_text=True)
    else:
        assert response.headers["Location"] == "/landing"
        with client.client.session_transaction() as flask_session:
            assert flask_session["_flashes"] == [("error", "The pharmacy is closed on Sundays.")]
    assert _counts(throwaway) == (0, 0, 0)

    # The control: the same work answered normally is kept, and its message goes out after the commit.
    assert client.get("/throwaway-work/kept").status_code == 200
    assert _counts(throwaway) == (1, 1, 1)


def _rollbacks_in(path: pathlib.Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rollback":
            lines.append(node.lineno)
    return lines


def test_no_view_rolls_back_by_hand():
    views = [p for p in APP.rglob("*.py") if "views" in p.parts or p.parent.name == "portals"]
    assert len(views) > 15
    found = {str(p.relative_to(APP)): lines for p in views if (lines := _rollbacks_in(p))}
    assert found == {}, f"views rolling back by hand (the request's unit of work does it): {found}"
