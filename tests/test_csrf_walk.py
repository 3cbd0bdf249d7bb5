"""Every state-changing route refuses a request without a CSRF token, and changes nothing.

Walks the real URL map: each rule and each unsafe method it accepts (POST/PUT/PATCH/DELETE) is
sent, by a user its policy lets in (anonymous for public routes, and signed in too: /logout and
/switch-user matter most for a signed-in user), with form data that would otherwise succeed.
The answer must be 400 and the database unchanged: every table's rows are counted and digested
before and after.

The audit trail is the one allowed difference, and only for refusals: a CSRF failure may be
recorded as an outcome='denied' row (today it is refused before the access policy runs, so
nothing is written), but never an 'allowed' one, which would mean the request reached clinical
data. The walk sends each request twice: as a plain form post and as htmx would (HX-Request, no
X-CSRFToken header). In a second test each known route is sent WITH a token (the control), with
fresh rows and a fresh browser: it must not be a 400 and must write something, which proves the
data sent was acceptable and the walk's 400s came from the missing token.

A route added later with no entry in `known_requests` is still walked, with empty form data and
dummy ids; the control is skipped for it. Exempting a route from CSRF is allowed only for public
routes that do not rely on the session cookie (e.g. a payment provider's webhook).
"""
from __future__ import annotations

from app.accounts.models import Role, TokenPurpose
from app.core.policies import policy_for
from app.extensions import csrf, db
from app.notifications.models import DeliveryStatus, Notification
from tests.conftest import PASSWORD, SET_UP, Browser
from tests.security_support import UNSAFE_METHODS, audit_rows_since, rules, snapshot, table_differences, url_for_rule

NEW_PASSWORD = "a quite different secret 42"


def _issue_token(app, user, purpose: TokenPurpose) -> str:
    from app.accounts import services

    with app.app_context():
        user = db.session.merge(user)
        raw = services._token_issue(user=user, purpose=purpose, ttl_seconds=3600)
        db.session.commit()
        return raw


def known_requests(app, make_user, make_patient, n: int = 0) -> dict:
    """endpoint -> (url arguments, form data that would succeed with a token), with fresh rows they
    need: call it again for another set (emails carry `n`), so requests never meet each other's rows."""
    from app.records.models import EntryKind
    from app.records.services import entry_add

    other = make_user(Role.LAB, full_name="Other Person")
    inactive = make_user(Role.PHARMACIST, is_active_account=False)
    invited = make_user(Role.DOCTOR, password_hash=None)  # an invitation is for an account with no password yet
    resetting, forgetful = make_user(Role.RECEPTION), make_user(Role.RECEPTION)
    patient = make_patient()
    with app.app_context():
        entry = entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY, content={"substance": "Penicillin",
                          "severity": "severe"}, recorded_by_id=None)
        db.session.commit()
        entry_id = entry.id
    with app.app_context():
        failed = [Notification(dedupe_key=f"csrf-walk-{n}-{i}", channel="email", to_address="someone@example.test",
                               body="A message that was refused.", status=DeliveryStatus.FAILED.value, attempts=1,
                               last_error="recipient refused") for i in range(2)]
        db.session.add_all(failed)
        db.session.commit()
        retry_id, dismiss_id = (note.id for note in failed)
    return {
        "admin.notifications.retry": ({"notification_id": retry_id}, {}),
        "admin.notifications.dismiss": ({"notification_id": dismiss_id}, {"confirmed": "yes"}),
        "accounts.login": ({}, {"email": "{email}", "password": PASSWORD}),
        "accounts.logout": ({}, {}),
        "accounts.switch_user": ({}, {}),
        "accounts.session_keepalive": ({}, {}),
        "accounts.forgot_password": ({}, {"email": forgetful.email}),
        "accounts.reset_password": ({"token": _issue_token(app, resetting, TokenPurpose.PASSWORD_RESET)},
                                    {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        "accounts.accept_invite": ({"token": _issue_token(app, invited, TokenPurpose.INVITE)},
                                   {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        "accounts.register": ({}, {"full_name": "Wanjiru Kamau", "email": f"wanjiru{n}@example.org",
                                   "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "phone": "+254 712 345 678"}),
        "accounts.change_password": ({}, {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                          "confirm": NEW_PASSWORD}),
        "accounts.account": ({}, {"language": "sw"}),
        "accounts.language": ({}, {"language": "sw", "next": "/login"}),
        "admin.accounts.invite": ({}, {"full_name": "New Doctor", "email": f"new.doctor{n}@clinic.test",
                                       "role": "doctor", "speciality": "Paediatrics", "fee": "1500"}),
        "admin.accounts.person": ({"user_id": other.id}, {"role": "pharmacist"}),
        "admin.accounts.deactivate": ({"user_id": other.id}, {"confirmed": "yes"}),
        "admin.accounts.reactivate": ({"user_id": inactive.id}, {}),
        "admin.accounts.end_sessions": ({"user_id": other.id}, {"confirmed": "yes"}),
        "doctor.records.entry_add": ({"patient_id": patient.id, "kind": "note"}, {"text": "Seen today; doing well."}),
        "doctor.records.entry_status": ({"patient_id": patient.id, "entry_id": entry_id}, {"status": "resolved"}),
        "doctor.records.entry_amend": ({"patient_id": patient.id, "entry_id": entry_id},
                                       {"substance": "Amoxicillin", "severity": "severe", "reason": "Misread."}),
        "doctor.records.entered_in_error": ({"patient_id": patient.id, "entry_id": entry_id},
                                            {"reason": "Wrong patient."}),
    }


KNOWN_ENDPOINTS = ("accounts.login", "accounts.logout", "accounts.switch_user", "accounts.session_keepalive",
                   "accounts.forgot_password", "accounts.reset_password", "accounts.accept_invite", "accounts.register",
                   "accounts.change_password", "accounts.account", "accounts.language", "admin.accounts.invite",
                   "admin.accounts.person",
                   "admin.accounts.deactivate", "admin.accounts.reactivate", "admin.accounts.end_sessions",
                   "doctor.records.entry_add", "doctor.records.entry_status", "doctor.records.entry_amend",
                   "doctor.records.entered_in_error", "admin.notifications.retry",
                   "admin.notifications.dismiss")


def _visitors(policy) -> list[Role | None]:
    """Who sends the request: None is anonymous."""
    if policy.allow_anonymous:
        return [None, Role.PATIENT]
    if policy.roles is None:
        return [Role.PATIENT, Role.DOCTOR]
    return [Role(sorted(policy.roles)[0])]


def _exempt(app, endpoint) -> bool:
    view = app.view_functions.get(endpoint)
    blueprint = endpoint.rpartition(".")[0]
    if view is not None and f"{view.__module__}.{view.__name__}" in csrf._exempt_views:
        return True
    return any(bp.name == blueprint or blueprint.endswith("." + bp.name) for bp in csrf._exempt_blueprints)


def test_csrf_is_enabled_on_the_real_app(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True
    assert set(app.config["WTF_CSRF_METHODS"]) >= set(UNSAFE_METHODS)


def test_only_public_routes_are_exempt_from_csrf(app):
    exempt = []
    with app.test_request_context():
        for rule, method in rules(app, methods=UNSAFE_METHODS):
            if _exempt(app, rule.endpoint):
                policy = policy_for(rule.endpoint)
                if policy is None or not policy.allow_anonymous:
                    exempt.append(f"{method} {rule.rule}")
    assert not exempt, "CSRF-exempt routes that rely on the session cookie: " + ", ".join(exempt)


def _unsafe_requests(app):
    """(rule, method, policy) for every unsafe method of every rule that CSRF protects."""
    walked = []
    with app.test_request_context():
        for rule, method in rules(app, methods=UNSAFE_METHODS):
            if _exempt(app, rule.endpoint):
                continue
            policy = policy_for(rule.endpoint)
            assert policy is not None, f"{rule.endpoint} has no access policy (see test_route_policies)"
            walked.append((rule, method, policy))
    assert walked, "no unsafe routes found"
    return walked


def _sign_in(app, make_user, visitor: Role | None):
    browser = Browser(app.test_client())
    if visitor is None:
        return browser, make_user(Role.PATIENT)  # someone to sign in as, for the login form
    user = make_user(visitor)
    assert browser.login(user.email).status_code == 303
    return browser, user


def test_every_unsafe_route_refuses_a_request_without_csrf_token(app, make_user, make_patient):
    """One shared set of rows and one browser per visitor: a refused request changes nothing, so
    nothing needs resetting between them (if one does change something, that is the failure)."""
    known = known_requests(app, make_user, make_patient)
    assert set(known) == set(KNOWN_ENDPOINTS)
    browsers = {}
    failures = []
    for rule, method, policy in _unsafe_requests(app):
        url_args, data = known.get(rule.endpoint, ({}, {}))
        url = url_for_rule(app, rule, url_args)
        for visitor in _visitors(policy):
            if visitor not in browsers:
                browsers[visitor] = _sign_in(app, make_user, visitor)
            browser, user = browsers[visitor]
            label = f"{method} {url} as {visitor.value if visitor else 'anonymous'}"
            form = {k: v.format(email=user.email) for k, v in data.items()}
            for headers in ({}, {"HX-Request": "true"}):
                before = snapshot(db.engine)
                response = browser.client.open(url, method=method, data=form, headers=headers)
                after = snapshot(db.engine)
                if response.status_code != 400:
                    failures.append(f"{label}: {response.status_code} without a CSRF token")
                changed = table_differences(before, after)
                if changed:
                    failures.append(f"{label}: changed {', '.join(changed)} without a CSRF token")
                not_denied = [row for row in audit_rows_since(db.engine, before["__audit_max_seq"])
                              if row["outcome"] != "denied"]
                if not_denied:
                    failures.append(f"{label}: wrote audit rows {not_denied}")
            if visitor is not None and browser.get("/session/status").status_code != 200:
                failures.append(f"{label}: the request without a token signed the user out")
    assert not failures, "\n".join(failures)


def test_the_walk_sends_requests_that_succeed_with_a_token(app, make_user, make_patient):
    """The control: each known route, sent the same way WITH a token, is not refused, so the 400s above
    came from the missing token and not from bad form data. Fresh rows and a fresh browser each."""
    failures, controlled = [], 0
    for n, (rule, method, policy) in enumerate(_unsafe_requests(app)):
        if rule.endpoint not in KNOWN_ENDPOINTS:
            continue
        known = known_requests(app, make_user, make_patient, n)
        controlled += 1
        url_args, data = known[rule.endpoint]
        url = url_for_rule(app, rule, url_args)
        visitor = _visitors(policy)[0]
        browser, user = _sign_in(app, make_user, visitor)
        form = {k: v.format(email=user.email) for k, v in data.items()}
        before = snapshot(db.engine)
        response = browser.client.open(url, method=method, data={**form, "csrf_token": browser.csrf("/")})
        if response.status_code == 400 or response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code} WITH a token: the walk's form data is not valid")
        # (The language switch before sign-in writes a cookie, not a row.)
        elif rule.endpoint not in ("accounts.logout", "accounts.switch_user", "accounts.session_keepalive",
                                   "accounts.language") \
                and not table_differences(before, snapshot(db.engine)) \
                and len(audit_rows_since(db.engine, before["__audit_max_seq"])) == 0:
            failures.append(f"{method} {url}: {response.status_code} WITH a token but nothing was written")
    assert not failures, "\n".join(failures)
    assert controlled >= 10, f"only {controlled} routes have known form data"
