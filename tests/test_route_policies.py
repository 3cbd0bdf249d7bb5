"""Every route declares who may use it; an undeclared one is denied; portals keep to their role.

Walks the real URL map, so a route added later is covered without touching this file.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.policies import policy_for, public
from app.extensions import db
from tests.conftest import Browser
from tests.security_support import fresh_app, location_path, portal_role, rules, url_for_rule


def test_every_endpoint_declares_an_access_policy(app):
    missing = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if policy_for(rule.endpoint) is None:
                missing.append(f"{rule.endpoint} ({rule.rule})")
    assert not missing, "endpoints without an access policy (declare @public, @signed_in, @roles or a blueprint policy): " \
        + ", ".join(sorted(missing))


def test_portal_routes_are_limited_to_their_role(app):
    """A route under a role prefix must not be opened wider than that role by its own decorator."""
    wider = []
    with app.test_request_context():
        for rule, _ in rules(app, methods=("GET", "POST", "PUT", "PATCH", "DELETE")):
            role = portal_role(rule.rule)
            if role is None:
                continue
            policy = policy_for(rule.endpoint)
            if policy is None or policy.allow_anonymous or policy.roles is None or policy.roles != {role.value}:
                wider.append(f"{rule.endpoint} ({rule.rule}): {policy}")
    assert not wider, "portal routes whose policy is not exactly their portal's role: " + "; ".join(wider)


def test_a_route_without_a_policy_answers_403_even_when_signed_in(app, database_url, redis_url, make_user):
    with fresh_app(app, database_url, redis_url) as throwaway:
        @throwaway.route("/throwaway-undeclared")
        def throwaway_undeclared():
            return "the secret page"

        @throwaway.route("/throwaway-declared")
        @public
        def throwaway_declared():
            return "a public page"

        client = Browser(throwaway.test_client())
        anonymous = client.get("/throwaway-undeclared")
        assert anonymous.status_code == 403
        assert "the secret page" not in anonymous.get_data(as_text=True)

        for role in (Role.ADMIN, Role.DOCTOR):
            user = make_user(role)
            browser = Browser(throwaway.test_client())
            assert browser.login(user.email).status_code == 303
            response = browser.get("/throwaway-undeclared")
            assert response.status_code == 403, role
            assert "the secret page" not in response.get_data(as_text=True)
            # the control: the same app serves a declared route
            assert browser.get("/throwaway-declared").status_code == 200

        with throwaway.app_context():
            denials = db.session.execute(
                select(AuditEvent).where(AuditEvent.path == "/throwaway-undeclared")).scalars().all()
            assert [d.outcome for d in denials] == ["denied"] * 3
            assert {d.reason for d in denials} == {"no policy declared"}
            db.session.rollback()


def _portal_get_routes(app):
    found = []
    for rule, _ in rules(app, methods=("GET",)):
        role = portal_role(rule.rule)
        if role is not None:
            found.append((rule, role, url_for_rule(app, rule)))
    assert found, "no portal routes found: is the URL map empty?"
    return found


def test_anonymous_visitors_of_portal_pages_are_sent_to_login(app, browser):
    wrong = []
    for rule, _role, url in _portal_get_routes(app):
        response = browser.get(url)
        if response.status_code != 302 or location_path(response) != "/login":
            wrong.append(f"{url} -> {response.status_code} {response.headers.get('Location')}")
    assert not wrong, "portal pages that do not send an anonymous visitor to /login: " + "; ".join(wrong)


@pytest.mark.parametrize("visitor_role", list(Role), ids=lambda r: r.value)
def test_other_roles_get_403_and_the_refusal_is_audited(app, signed_in, visitor_role):
    browser, user = signed_in(visitor_role)
    wrong, refused_paths, own = [], [], []
    for rule, role, url in _portal_get_routes(app):
        response = browser.get(url)
        if role == visitor_role:
            # its own pages open (dummy ids may not exist: 404 is fine); never a refusal or a crash
            if response.status_code in (403, 302) or response.status_code >= 500:
                own.append(f"{url} -> {response.status_code}")
            elif "no-store" not in response.headers.get("Cache-Control", ""):
                own.append(f"{url} -> may be stored by the browser (Cache-Control: {response.headers.get('Cache-Control')})")
            continue
        if response.status_code != 403:
            wrong.append(f"{url} -> {response.status_code}")
        else:
            body = response.get_data(as_text=True)
            assert "Not allowed" in body and user.full_name in body, url  # the layout, still signed in
            refused_paths.append(url.split("?")[0])
    assert not wrong, f"{visitor_role.value} was not refused on: " + "; ".join(wrong)
    assert not own, f"{visitor_role.value} could not open its own portal pages: " + "; ".join(own)

    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.path, AuditEvent.actor_role, AuditEvent.action, AuditEvent.reason)
            .where(AuditEvent.actor_user_id == user.id, AuditEvent.outcome == "denied")
        ).all()
        db.session.rollback()
    audited = {}
    for path, actor_role, action, reason in rows:
        audited[path] = audited.get(path, 0) + 1
        assert actor_role == visitor_role.value and action == "access.denied"
        assert reason.startswith("roles:")
    missing = [path for path in refused_paths if audited.get(path, 0) < refused_paths.count(path)]
    assert not missing, "403s without a 'denied' audit row: " + ", ".join(missing)
