"""The explicit actor: services and the audit trail record who the caller says acts, never what the
request's globals say; a view builds the actor from the request; jobs and commands act as a named
system actor."""
from __future__ import annotations

import ast
import pathlib

from flask import jsonify
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.extensions import db
from tests.conftest import Browser
from tests.security_support import fresh_app

APP = pathlib.Path(__file__).resolve().parents[2] / "app"
REQUEST_GLOBALS = {"request", "session", "g"}


def _request_imports(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            found += [f"flask.{a.name}" for a in node.names if a.name in REQUEST_GLOBALS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask_login"):
            found.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.module == "app.core.request_actor":
            found.append(node.module)
    return found


# The domains' own modules (services, access rules, queries, jobs...), their views and portals apart; the
# sign-in session machinery and the layout's context (what the page header shows the signed-in person)
# are the request's by nature.
REQUEST_SIDE = {"accounts/sessions.py", "accounts/layout.py", "notifications/layout.py"}


def test_services_access_rules_and_the_audit_never_read_the_request():
    modules = [p for p in APP.glob("*/*.py") if p.parent.name not in ("core", "portals", "realtime")
               and str(p.relative_to(APP)) not in REQUEST_SIDE]
    modules.append(APP / "core" / "actor.py")
    assert len(modules) > 20 and APP / "records" / "access.py" in modules
    readers = {str(p.relative_to(APP)): found for p in modules if (found := _request_imports(p))}
    assert readers == {}, f"these read the request instead of taking an actor: {readers}"


def test_an_audit_row_records_the_actor_it_was_given(app_ctx):
    doctor = Actor(user_id=41, role="doctor", session="a1b2c3", ip="10.0.0.7", origin="/doctor/patients/9")
    audit_access(actor=doctor, patient_id=9, action="chart.read", reason="care")
    audit_access(actor=Actor.system("reminders"), patient_id=9, action="appointment.reminder", reason="scheduling")
    db.session.commit()
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [(r.actor_user_id, r.actor_role, r.ip, r.path, r.action) for r in rows] == [
        (41, "doctor", "10.0.0.7", "/doctor/patients/9", "chart.read"),
        (None, "system", None, "reminders", "appointment.reminder"),
    ]


def test_a_view_builds_the_actor_from_the_signed_in_session(app, database_url, redis_url, make_user):
    user = make_user(Role.DOCTOR)
    with fresh_app(app, database_url, redis_url) as throwaway:
        @throwaway.route("/throwaway-actor")
        @signed_in
        def throwaway_actor():
            actor = current_actor()
            return jsonify(user_id=actor.user_id, role=actor.role, session=actor.session, ip=actor.ip,
                           origin=actor.origin)

        first, second = Browser(throwaway.test_client()), Browser(throwaway.test_client())
        for browser in (first, second):
            assert browser.login(user.email).status_code == 303
        seen = first.get("/throwaway-actor", environ_base={"REMOTE_ADDR": "192.0.2.10"}).get_json()
        again = first.get("/throwaway-actor").get_json()
        other = second.get("/throwaway-actor").get_json()
        with throwaway.app_context():
            from app.accounts.models import User

            token = db.session.get(User, user.id).session_token
            db.session.rollback()

    assert (seen["user_id"], seen["role"], seen["ip"], seen["origin"]) == (user.id, "doctor", "192.0.2.10",
                                                                           "/throwaway-actor")
    # The session is named, never by its secret: the same for every request of one sign-in, another
    # for a second sign-in of the same account.
    assert len(seen["session"]) == 16 and token not in seen["session"] and seen["session"] not in token
    assert again["session"] == seen["session"] and other["session"] != seen["session"]
