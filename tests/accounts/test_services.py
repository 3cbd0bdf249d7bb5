"""The accounts rules without HTTP: sign-in throttling, passwords, one-time links, invitations, admins."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from app.accounts import services
from app.accounts.models import AccountToken, LoginThrottle, Role, StaffProfile, TokenPurpose, User
from app.accounts.passwords import password_problem, password_verify
from app.core.actor import Actor
from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.notifications.models import Notification
from tests.accounts.conftest import link_in
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new sentence"


def fresh(user: User) -> User:
    return db.session.get(User, user.id, populate_existing=True)


def app_ctx_config(key: str):
    from flask import current_app

    return current_app.config[key]


def email_throttle(email: str) -> LoginThrottle | None:
    return db.session.get(LoginThrottle, services.email_throttle_key(email), populate_existing=True)


def ip_throttle(ip: str) -> LoginThrottle | None:
    return db.session.get(LoginThrottle, services.ip_throttle_key(ip), populate_existing=True)


def sign_in(email, password=PASSWORD, ip="10.0.0.1"):
    """One sign-in attempt committed the way the login view does, failures included."""
    try:
        return services.sign_in_check(email=email, password=password, ip=ip)
    finally:
        db.session.commit()


# -- signing in and throttling -------------------------------------------------------------------

def test_sign_in_accepts_the_password_regardless_of_email_case(app_ctx, make_user):
    user = make_user(Role.DOCTOR, email="Wanjiru@Clinic.test")
    assert sign_in("  WANJIRU@clinic.TEST ").id == user.id
    assert fresh(user).last_login_at is not None


def test_wrong_password_unknown_email_and_inactive_account_get_the_same_refusal(app_ctx, make_user):
    active = make_user(Role.DOCTOR)
    inactive = make_user(Role.DOCTOR, is_active_account=False)
    messages = []
    for email, password in ((active.email, "wrong password here"), ("nobody@clinic.test", PASSWORD),
                            (inactive.email, PASSWORD)):
        with pytest.raises(services.SignInRefused) as refused:
            sign_in(email, password)
        assert not isinstance(refused.value, services.AccountLocked)
        messages.append(refused.value.message)
    assert len(set(messages)) == 1


def test_five_failures_lock_the_account_even_for_the_right_password(app_ctx, make_user):
    user = make_user(Role.DOCTOR)
    for _ in range(app_ctx_config("LOGIN_MAX_FAILURES_PER_ACCOUNT")):
        with pytest.raises(services.SignInRefused):
            sign_in(user.email, "wrong password here")
    with pytest.raises(services.AccountLocked) as locked:
        sign_in(user.email, PASSWORD)
    assert "Too many failed attempts" in locked.value.message
    assert "15 minutes" in locked.value.message
    until = email_throttle(user.email).locked_until
    lockout = dt.timedelta(seconds=app_ctx_config("LOGIN_LOCKOUT_SECONDS"))
    assert utcnow() + lockout - dt.timedelta(seconds=30) < until <= utcnow() + lockout

    # Once the lock has run out, the right password works again.
    email_throttle(user.email).locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert sign_in(user.email, PASSWORD).id == user.id


def test_an_email_without_an_account_locks_the_same_way(app_ctx, make_user):
    """Counting per typed email, account or not: the lockout tells nobody which emails have accounts."""
    user = make_user(Role.PATIENT)
    refusals = {}
    for email in (user.email, "nobody-here@clinic.test"):
        for _ in range(app_ctx_config("LOGIN_MAX_FAILURES_PER_ACCOUNT")):
            with pytest.raises(services.SignInRefused) as refused:
                sign_in(email, "wrong password here")
            assert not isinstance(refused.value, services.AccountLocked)
        with pytest.raises(services.AccountLocked) as locked:
            sign_in(email, "wrong password here")
        refusals[email] = locked.value.message
    assert refusals[user.email] == refusals["nobody-here@clinic.test"]
    # The table holds a keyed hash of the typed email, never the address.
    keys = db.session.execute(select(LoginThrottle.key)).scalars().all()
    assert not any("nobody-here" in key or "clinic.test" in key for key in keys)


def test_a_successful_sign_in_resets_the_failure_count(app_ctx, make_user):
    user = make_user(Role.DOCTOR)
    for _ in range(app_ctx_config("LOGIN_MAX_FAILURES_PER_ACCOUNT") - 1):
        with pytest.raises(services.SignInRefused):
            sign_in(user.email, "wrong password here")
    assert sign_in(user.email).id == user.id
    with pytest.raises(services.SignInRefused) as refused:  # would be the limit without the reset
        sign_in(user.email, "wrong password here")
    assert not isinstance(refused.value, services.AccountLocked)
    assert sign_in(user.email).id == user.id


def test_failures_older_than_the_window_stop_counting(app_ctx, make_user):
    from app.core.clock import clock

    user = make_user(Role.DOCTOR)
    clock.freeze(utcnow().replace(microsecond=0))
    limit = app_ctx_config("LOGIN_MAX_FAILURES_PER_ACCOUNT")
    for _ in range(limit - 1):
        with pytest.raises(services.SignInRefused):
            sign_in(user.email, "wrong password here")
        clock.advance(dt.timedelta(minutes=1))
    # Weeks of occasional typos must not add up: past the window, the count starts afresh.
    clock.advance(dt.timedelta(seconds=app_ctx_config("LOGIN_LOCKOUT_SECONDS") + 1))
    with pytest.raises(services.SignInRefused) as refused:
        sign_in(user.email, "wrong password here")
    assert not isinstance(refused.value, services.AccountLocked)
    stored = email_throttle(user.email)
    assert (stored.failures, stored.locked_until, stored.last_failure_at) == (1, None, utcnow())
    assert sign_in(user.email).id == user.id


def test_failures_within_the_window_still_lock(app_ctx, make_user):
    from app.core.clock import clock

    user = make_user(Role.DOCTOR)
    clock.freeze(utcnow().replace(microsecond=0))
    lockout = dt.timedelta(seconds=app_ctx_config("LOGIN_LOCKOUT_SECONDS"))
    limit = app_ctx_config("LOGIN_MAX_FAILURES_PER_ACCOUNT")
    for i in range(limit):  # spread out, but each within the window of the one before
        if i:
            clock.advance(lockout - dt.timedelta(minutes=1))
        with pytest.raises(services.SignInRefused):
            sign_in(user.email, "wrong password here")
    assert email_throttle(user.email).locked_until == utcnow() + lockout
    with pytest.raises(services.AccountLocked):
        sign_in(user.email, PASSWORD)


def test_the_default_limits_are_five_per_account_and_twenty_per_address(app):
    assert app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] == 5
    assert app.config["LOGIN_MAX_FAILURES_PER_IP"] == 20
    assert app.config["LOGIN_LOCKOUT_SECONDS"] == 15 * 60


def test_failures_from_one_address_lock_that_address_for_every_account(app, app_ctx, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 3)
    users = [make_user(Role.DOCTOR) for _ in range(4)]
    for i in range(3):  # one failure per account: no account reaches its own limit
        with pytest.raises(services.SignInRefused) as refused:
            sign_in(users[i].email, "wrong password here", ip="10.0.0.9")
        assert not isinstance(refused.value, services.AccountLocked)
    with pytest.raises(services.AccountLocked):
        sign_in(users[3].email, PASSWORD, ip="10.0.0.9")
    assert sign_in(users[3].email, PASSWORD, ip="10.0.0.10").id == users[3].id

    throttle = ip_throttle("10.0.0.9")
    throttle.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert sign_in(users[3].email, PASSWORD, ip="10.0.0.9").id == users[3].id


def test_sign_in_upgrades_a_hash_made_with_weaker_parameters(app_ctx, make_user):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = make_user(Role.DOCTOR, password_hash=weak)

    with pytest.raises(services.SignInRefused):
        sign_in(user.email, "wrong password here")
    assert fresh(user).password_hash == weak  # nothing rehashed on a failure

    sign_in(user.email)
    upgraded = fresh(user).password_hash
    assert upgraded != weak
    assert "m=65536,t=3,p=4" in upgraded
    assert password_verify(upgraded, PASSWORD)
    assert sign_in(user.email).id == user.id


def test_an_invited_account_without_password_cannot_sign_in(app_ctx, make_user):
    user = make_user(Role.DOCTOR, password_hash=None)
    for password in (PASSWORD, ""):
        with pytest.raises(services.SignInRefused):
            sign_in(user.email, password)


# -- passwords and sessions -------------------------------------------------------------------------

@pytest.mark.parametrize("password, problem", [
    ("short", "at least 10"),
    ("x" * 129, "at most 128"),
    ("aaaaaaaaaaaaaa", "too easy"),
    ("my wanjiru password", "email address"),
])
def test_password_problem_names_what_is_wrong(password, problem):
    assert problem in password_problem(password, email="wanjiru@clinic.test")


def test_password_problem_accepts_a_sentence():
    assert password_problem(NEW_PASSWORD, email="wanjiru@clinic.test") is None


def test_changing_the_password_needs_the_current_one_and_ends_sessions(app_ctx, make_user):
    user = fresh(make_user(Role.DOCTOR))
    token = user.session_token
    with pytest.raises(DomainError) as wrong:
        services.password_change(user=user, current_password="not the password", new_password=NEW_PASSWORD)
    assert wrong.value.field == "current_password"
    with pytest.raises(DomainError) as short:
        services.password_change(user=user, current_password=PASSWORD, new_password="short")
    assert short.value.field == "password"
    assert user.session_token == token

    services.password_change(user=user, current_password=PASSWORD, new_password=NEW_PASSWORD)
    db.session.commit()
    assert fresh(user).session_token != token
    assert password_verify(fresh(user).password_hash, NEW_PASSWORD)
    assert not password_verify(fresh(user).password_hash, PASSWORD)


# -- one-time links ------------------------------------------------------------------------------------

def _emails():
    """The outbox once the worker has handled the pending "forgot password" requests."""
    for request_id in services.password_reset_requests_pending():
        services.password_reset_request_handle(request_id=request_id)
    db.session.commit()
    return db.session.execute(select(Notification).order_by(Notification.id)).scalars().all()


def test_a_reset_request_is_handled_once_and_then_forgets_the_typed_email(app_ctx, make_user):
    from app.accounts.models import PasswordResetRequest

    user = make_user(Role.PATIENT)
    services.password_reset_request(email=user.email)
    db.session.commit()
    [pending] = services.password_reset_requests_pending()
    raw = db.session.execute(text("SELECT email FROM password_reset_requests")).scalar_one()
    assert user.email.encode() not in bytes(raw)  # encrypted while it waits
    assert services.password_reset_request_handle(request_id=pending) is True
    db.session.commit()
    assert services.password_reset_request_handle(request_id=pending) is False  # the job and the sweep both ran
    db.session.commit()
    assert len(_emails()) == 1
    handled = db.session.get(PasswordResetRequest, pending, populate_existing=True)
    assert handled.email is None and handled.handled_at is not None


def test_reset_request_queues_one_email_with_a_link_and_nothing_for_unknown_accounts(app_ctx, make_user):
    user = make_user(Role.PATIENT)
    services.password_reset_request(email="nobody@clinic.test")
    services.password_reset_request(email=make_user(Role.PATIENT, is_active_account=False).email)
    db.session.commit()
    assert _emails() == []

    services.password_reset_request(email=user.email.upper())
    db.session.commit()
    [email] = _emails()
    assert email.to_address == user.email and email.user_id == user.id and email.channel == "email"
    assert email.body.count("http://localhost/reset/") == 1
    raw = link_in(email.body, "/reset/").rsplit("/", 1)[1]
    # Only the token's digest is stored: the database alone cannot be used to reset a password.
    stored = db.session.execute(select(AccountToken)).scalar_one()
    assert raw not in (stored.token_hash, str(stored.id)) and len(stored.token_hash) == 64
    assert services.token_user(raw_token=raw, purpose=TokenPurpose.PASSWORD_RESET).id == user.id


def _reset_token(user) -> str:
    services.password_reset_request(email=user.email)
    db.session.commit()
    return link_in(_emails()[-1].body, "/reset/").rsplit("/", 1)[1]


def test_a_reset_link_works_once_and_ends_sessions(app_ctx, make_user):
    user = make_user(Role.PATIENT)
    raw, other = _reset_token(user), _reset_token(user)
    with pytest.raises(DomainError):
        services.token_user(raw_token=raw, purpose=TokenPurpose.INVITE)  # right token, wrong purpose
    services.token_redeem(raw_token=raw, purpose=TokenPurpose.PASSWORD_RESET, new_password=NEW_PASSWORD)
    db.session.commit()
    stored = fresh(user)
    assert password_verify(stored.password_hash, NEW_PASSWORD)
    assert stored.session_token != user.session_token
    for used in (raw, other):  # every open reset link of the account is burnt
        with pytest.raises(DomainError, match="expired or was already used"):
            services.token_user(raw_token=used, purpose=TokenPurpose.PASSWORD_RESET)


def test_an_expired_reset_link_is_refused(app_ctx, make_user):
    user = make_user(Role.PATIENT)
    raw = _reset_token(user)
    token = db.session.execute(select(AccountToken)).scalar_one()
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(DomainError, match="expired"):
        services.token_redeem(raw_token=raw, purpose=TokenPurpose.PASSWORD_RESET, new_password=NEW_PASSWORD)


def test_a_too_short_password_leaves_the_link_usable(app_ctx, make_user):
    user = make_user(Role.PATIENT)
    raw = _reset_token(user)
    with pytest.raises(DomainError) as short:
        services.token_redeem(raw_token=raw, purpose=TokenPurpose.PASSWORD_RESET, new_password="short")
    assert short.value.field == "password"
    db.session.rollback()
    assert services.token_user(raw_token=raw, purpose=TokenPurpose.PASSWORD_RESET).id == user.id


# -- invitations and staff accounts -------------------------------------------------------------------

def test_invite_creates_an_account_without_password_and_emails_a_link(app_ctx, make_user):
    admin = fresh(make_user(Role.ADMIN, full_name="Achieng Admin"))
    user = services.staff_invite(email=" Dr.Kamau@Clinic.test ", full_name="  Dr Kamau ", role=Role.DOCTOR,
                                 actor=Actor.for_user(admin), speciality="Paediatrics", fee_cents=150_000)
    db.session.commit()
    stored = fresh(user)
    assert (stored.email, stored.full_name, stored.role, stored.password_hash) == \
        ("dr.kamau@clinic.test", "Dr Kamau", "doctor", None)
    profile = db.session.get(StaffProfile, user.id)
    assert (profile.speciality, profile.consultation_fee_cents) == ("Paediatrics", 150_000)
    [email] = _emails()
    assert email.to_address == "dr.kamau@clinic.test"
    assert "Achieng Admin" in email.body and "Doctor" in email.body
    raw = link_in(email.body, "/invite/").rsplit("/", 1)[1]
    services.token_redeem(raw_token=raw, purpose=TokenPurpose.INVITE, new_password=NEW_PASSWORD)
    db.session.commit()
    assert sign_in("dr.kamau@clinic.test", NEW_PASSWORD).id == user.id


def test_invite_refuses_a_taken_email_and_the_patient_role(app_ctx, make_user):
    admin = fresh(make_user(Role.ADMIN))
    taken = make_user(Role.PATIENT)
    with pytest.raises(DomainError) as duplicate:
        services.staff_invite(actor=Actor.for_user(admin), email=taken.email.upper(), full_name="Someone Else",
                              role=Role.LAB)
    assert duplicate.value.field == "email"
    with pytest.raises(DomainError) as patient:
        services.staff_invite(actor=Actor.for_user(admin), email="new@clinic.test", full_name="Someone Else",
                              role=Role.PATIENT)
    assert patient.value.field == "role"
    db.session.rollback()
    assert _emails() == []
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 2


# -- administrators ---------------------------------------------------------------------------------------

def test_the_last_active_admin_cannot_be_deactivated_or_demoted(app_ctx, make_user):
    admin = make_user(Role.ADMIN)
    make_user(Role.ADMIN, is_active_account=False)
    doctor = fresh(make_user(Role.DOCTOR))
    with pytest.raises(DomainError, match="last active administrator"):
        services.account_deactivate(user_id=admin.id, actor=Actor.for_user(doctor))
    with pytest.raises(DomainError, match="last active administrator"):
        services.account_role_change(user_id=admin.id, role=Role.DOCTOR, actor=Actor.for_user(doctor))
    db.session.rollback()
    assert fresh(admin).is_active_account and fresh(admin).role == "admin"


def test_nobody_deactivates_or_changes_the_role_of_themself(app_ctx, make_user):
    admin = fresh(make_user(Role.ADMIN))
    make_user(Role.ADMIN)
    with pytest.raises(DomainError, match="your own account"):
        services.account_deactivate(user_id=admin.id, actor=Actor.for_user(admin))
    with pytest.raises(DomainError, match="your own role"):
        services.account_role_change(user_id=admin.id, role=Role.DOCTOR, actor=Actor.for_user(admin))


def test_patient_and_staff_roles_do_not_convert(app_ctx, make_user):
    admin = fresh(make_user(Role.ADMIN))
    patient, doctor = make_user(Role.PATIENT), make_user(Role.DOCTOR)
    for user, role in ((patient, Role.DOCTOR), (doctor, Role.PATIENT)):
        with pytest.raises(DomainError) as refused:
            services.account_role_change(user_id=user.id, role=role, actor=Actor.for_user(admin))
        assert refused.value.field == "role"
    changed = services.account_role_change(user_id=doctor.id, role=Role.LAB, actor=Actor.for_user(admin))
    assert changed.role == "lab" and changed.session_token != doctor.session_token


def _at_once(app, first, second) -> object:
    """`first()` runs in this session and stays uncommitted while `second()` runs in another thread's
    transaction (which may have to wait on it); then the first commits. Returns what the second returned
    or raised, after it committed or rolled back."""
    first()
    outcome = {}

    def other():
        with app.app_context():
            try:
                outcome["result"] = second()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - handed to the test
                db.session.rollback()
                outcome["result"] = error

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=1)  # time enough to reach the point where it waits for the first
    db.session.commit()
    thread.join(timeout=10)
    assert not thread.is_alive()
    return outcome["result"]


def test_two_admins_deactivating_each_other_at_once_leave_one_active(app, app_ctx, make_user):
    """The race the last-admin guard exists for: each alone is allowed, both together lock the clinic out."""
    a, b = make_user(Role.ADMIN), make_user(Role.ADMIN)
    result = _at_once(app, lambda: services.account_deactivate(actor=Actor.for_user(fresh(a)), user_id=b.id),
                      lambda: services.account_deactivate(actor=Actor.for_user(db.session.get(User, b.id)),
                                                          user_id=a.id))
    active = db.session.execute(select(func.count()).select_from(User).where(
        User.role == "admin", User.is_active_account.is_(True))).scalar_one()
    assert active == 1
    assert isinstance(result, DomainError) and "last active administrator" in result.message


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, app_ctx, make_user):
    a, b = make_user(Role.ADMIN), make_user(Role.ADMIN)
    result = _at_once(app, lambda: services.account_role_change(actor=Actor.for_user(fresh(a)), user_id=b.id,
                                                                role=Role.DOCTOR),
                      lambda: services.account_role_change(actor=Actor.for_user(db.session.get(User, b.id)),
                                                           user_id=a.id, role=Role.DOCTOR))
    assert isinstance(result, DomainError) and "last active administrator" in result.message
    assert [u.role for u in db.session.execute(select(User).order_by(User.id)).scalars()] == ["admin", "doctor"]


def test_the_same_email_registered_twice_at_once_makes_one_account_and_no_crash(app, app_ctx):
    def register():
        return services.patient_account_register(email="amina@example.test", password=NEW_PASSWORD,
                                                 full_name="Amina Mwangi", phone=None)

    result = _at_once(app, register, register)
    assert result is None  # the second is told nothing; the owner of the email gets the email
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 1
    assert [n.subject for n in _emails()] == ["Welcome to MyAfya Clinic", "You already have a MyAfya account"]


def test_the_same_email_invited_twice_at_once_gets_a_message_not_a_crash(app, app_ctx, make_user):
    admin_id = make_user(Role.ADMIN).id

    def invite():
        return services.staff_invite(email="kamau@clinic.test", full_name="Dr Kamau", role=Role.DOCTOR,
                                     actor=Actor.for_user(db.session.get(User, admin_id)))

    result = _at_once(app, invite, invite)
    assert isinstance(result, DomainError) and result.field == "email", result
    assert len(_emails()) == 1


def test_first_failures_from_a_new_address_at_once_are_both_counted(app, app_ctx, make_user):
    user = make_user(Role.DOCTOR)

    def fail():
        with pytest.raises(services.SignInRefused):
            services.sign_in_check(email=user.email, password="wrong password here", ip="10.0.0.50")

    result = _at_once(app, fail, fail)
    assert result is None, result
    assert ip_throttle("10.0.0.50").failures == 2
    assert email_throttle(user.email).failures == 2


def test_ending_sessions_replaces_the_session_token(app_ctx, make_user):
    user = make_user(Role.RECEPTION)
    admin = make_user(Role.ADMIN)
    assert services.account_sessions_end(actor=Actor.for_user(admin), user_id=user.id).session_token != user.session_token
