"""Accounts: sign-in with throttling, passwords, one-time tokens, invitations, roles, sessions."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import (
    STAFF_ROLES,
    AccountToken,
    LoginThrottle,
    Role,
    StaffProfile,
    TokenPurpose,
    User,
    new_session_token,
)
from app.accounts.passwords import (
    password_hash,
    password_needs_rehash,
    password_problem,
    password_verify,
)
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.links import external_url
from app.extensions import db
from app.notifications.models import Channel
from app.notifications.services import notification_queue


class SignInRefused(DomainError):
    pass


class AccountLocked(SignInRefused):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(func.lower(User.email) == normalise_email(email))).scalar_one_or_none()


def user_get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    return user


# -- signing in ------------------------------------------------------------------------------

GENERIC_REFUSAL = "That email and password don't match an active account."
LOCKED_MESSAGE = "Too many failed attempts. Try again in {minutes} minutes, or reset your password."


def _lock_minutes(until: dt.datetime) -> int:
    return max(1, int((until - utcnow()).total_seconds() // 60) + 1)


def _ip_throttle(ip: str) -> LoginThrottle:
    query = select(LoginThrottle).where(LoginThrottle.ip == ip).with_for_update()
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(ip=ip, failures=0, window_started_at=utcnow()))
        except IntegrityError:
            pass  # a sign-in from the same address created it at the same moment: use theirs
        row = db.session.execute(query).scalar_one()
    return row


def sign_in_check(*, email: str, password: str, ip: str) -> User:
    """The account for these credentials, or SignInRefused. Failures count per account and per IP;
    the counts are written even though the caller's request fails, so the caller must commit."""
    cfg = current_app.config
    now = utcnow()
    throttle = _ip_throttle(ip or "unknown")
    if throttle.locked_until and throttle.locked_until > now:
        raise AccountLocked(LOCKED_MESSAGE.format(minutes=_lock_minutes(throttle.locked_until)))
    user = db.session.execute(
        select(User).where(func.lower(User.email) == normalise_email(email)).with_for_update()
    ).scalar_one_or_none()
    if user is not None and user.locked_until and user.locked_until > now:
        raise AccountLocked(LOCKED_MESSAGE.format(minutes=_lock_minutes(user.locked_until)))
    valid = password_verify(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active_account:
        lockout = dt.timedelta(seconds=cfg["LOGIN_LOCKOUT_SECONDS"])
        if throttle.window_started_at < now - lockout:
            throttle.failures, throttle.window_started_at = 0, now
        throttle.failures += 1
        if throttle.failures >= cfg["LOGIN_MAX_FAILURES_PER_IP"]:
            throttle.locked_until = now + lockout
        if user is not None:
            if user.last_failed_login_at is None or user.last_failed_login_at < now - lockout:
                user.failed_logins = 0  # the earlier failures are outside the window: count afresh
            user.failed_logins += 1
            user.last_failed_login_at = now
            if user.failed_logins >= cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]:
                user.locked_until, user.failed_logins = now + lockout, 0
        raise SignInRefused(GENERIC_REFUSAL)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if password_needs_rehash(user.password_hash):
        user.password_hash = password_hash(password)
    return user


# -- passwords ---------------------------------------------------------------------------------

def password_set(*, user: User, new_password: str) -> None:
    """Set a new password and end every existing session of the account."""
    problem = password_problem(new_password, email=user.email)
    if problem:
        raise DomainError(problem, field="password")
    user.password_hash = password_hash(new_password)
    user.failed_logins, user.locked_until = 0, None
    sessions_end(user=user)


def password_change(*, user: User, current_password: str, new_password: str) -> None:
    if not password_verify(user.password_hash, current_password):
        raise DomainError("That is not your current password.", field="current_password")
    password_set(user=user, new_password=new_password)


def sessions_end(*, user: User) -> None:
    """Invalidate every login cookie of this account (the token is part of each cookie)."""
    user.session_token = new_session_token()


# -- one-time tokens -----------------------------------------------------------------------------

def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token_issue(*, user: User, purpose: TokenPurpose, ttl_seconds: int) -> str:
    raw = secrets.token_urlsafe(32)
    db.session.add(AccountToken(user_id=user.id, purpose=purpose.value, token_hash=_token_digest(raw),
                                expires_at=utcnow() + dt.timedelta(seconds=ttl_seconds)))
    db.session.flush()
    return raw


def token_user(*, raw_token: str, purpose: TokenPurpose) -> User:
    """The account a still-valid, unused token belongs to (the row stays locked for `token_redeem`)."""
    token = db.session.execute(
        select(AccountToken).where(AccountToken.token_hash == _token_digest(raw_token or ""),
                                   AccountToken.purpose == purpose.value).with_for_update()
    ).scalar_one_or_none()
    if token is None or token.used_at is not None or token.expires_at < utcnow():
        raise DomainError("This link has expired or was already used. Ask for a new one.")
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active_account:
        raise DomainError("This account is not active.")
    return user


def token_redeem(*, raw_token: str, purpose: TokenPurpose, new_password: str) -> User:
    """Use a reset or invitation link once: set the password, burn every open token of that kind."""
    user = token_user(raw_token=raw_token, purpose=purpose)
    password_set(user=user, new_password=new_password)
    for token in db.session.execute(
        select(AccountToken).where(AccountToken.user_id == user.id, AccountToken.purpose == purpose.value,
                                   AccountToken.used_at.is_(None))
    ).scalars():
        token.used_at = utcnow()
    return user


RESET_EMAIL_INTERVAL = dt.timedelta(minutes=2)


def _reset_recently_sent(user: User) -> bool:
    """One reset email per account every few minutes: the form cannot be used to flood an inbox."""
    latest = db.session.execute(
        select(func.max(AccountToken.created_at)).where(AccountToken.user_id == user.id,
                                                        AccountToken.purpose == TokenPurpose.PASSWORD_RESET.value)
    ).scalar_one_or_none()
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.timezone.utc)
    return latest is not None and latest > utcnow() - RESET_EMAIL_INTERVAL


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the account exists; say nothing either way (no account discovery)."""
    user = user_by_email(email)
    if user is None or not user.is_active_account or _reset_recently_sent(user):
        return
    raw = _token_issue(user=user, purpose=TokenPurpose.PASSWORD_RESET,
                       ttl_seconds=current_app.config["PASSWORD_RESET_TTL_SECONDS"])
    minutes = current_app.config["PASSWORD_RESET_TTL_SECONDS"] // 60
    link = external_url("accounts.reset_password", token=raw)
    notification_queue(
        dedupe_key=f"password-reset:{_token_digest(raw)[:40]}", channel=Channel.EMAIL, user_id=user.id,
        to_address=user.email, subject="Reset your MyAfya password",
        body=(f"Hello {user.full_name},\n\nTo choose a new password, open this link within {minutes} minutes:\n"
              f"{link}\n\nIf you did not ask for this, ignore this email: your password is unchanged."),
    )


# -- accounts and roles -----------------------------------------------------------------------------

def _email_taken(email: str) -> bool:
    return user_by_email(email) is not None


def _account_add(user: User, taken_message: str) -> None:
    """Insert a new account. The unique index decides between two sign-ups with one email at once;
    the loser gets the same message as if it had come second."""
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise DomainError(taken_message, field="email") from None


def patient_account_register(*, email: str, password: str, full_name: str, phone: str | None) -> User:
    taken = "An account with this email already exists. Sign in or reset your password."
    if _email_taken(email):
        raise DomainError(taken, field="email")
    problem = password_problem(password, email=email)
    if problem:
        raise DomainError(problem, field="password")
    user = User(email=normalise_email(email), full_name=full_name.strip(), phone=phone, role=Role.PATIENT.value,
                password_hash=password_hash(password))
    _account_add(user, taken)
    return user


def staff_invite(*, email: str, full_name: str, role: Role, invited_by: User, speciality: str | None = None,
                 fee_cents: int | None = None, site_id: int | None = None) -> User:
    """Create a staff account without a password and email its owner a link to choose one."""
    if role not in STAFF_ROLES:
        raise DomainError("Staff can only be invited to a staff role.", field="role")
    if _email_taken(email):
        raise DomainError("An account with this email already exists.", field="email")
    user = User(email=normalise_email(email), full_name=full_name.strip(), role=role.value, password_hash=None)
    _account_add(user, "An account with this email already exists.")
    db.session.add(StaffProfile(user_id=user.id, speciality=speciality, consultation_fee_cents=fee_cents,
                                site_id=site_id))
    raw = _token_issue(user=user, purpose=TokenPurpose.INVITE, ttl_seconds=current_app.config["INVITE_TTL_SECONDS"])
    link = external_url("accounts.accept_invite", token=raw)
    notification_queue(
        dedupe_key=f"invite:{_token_digest(raw)[:40]}", channel=Channel.EMAIL, user_id=user.id, to_address=user.email,
        subject=f"You're invited to {current_app.config['CLINIC_NAME']} on MyAfya",
        body=(f"Hello {user.full_name},\n\n{invited_by.full_name} has invited you to join "
              f"{current_app.config['CLINIC_NAME']} on MyAfya as {role.label}.\n"
              f"Choose your password here (the link works for 7 days, once):\n{link}\n"),
    )
    return user


def _lock_admins() -> list[int]:
    """Lock the active administrators' rows, always in the same order, before locking a target: two
    admins removing each other at once then take turns, and the second sees the first's change."""
    return list(db.session.execute(
        select(User.id).where(User.role == Role.ADMIN.value, User.is_active_account.is_(True))
        .order_by(User.id).with_for_update()
    ).scalars())


def _guard_last_admin(user: User, admins: list[int]) -> None:
    if user.role == Role.ADMIN.value and user.is_active_account and len(admins) <= 1:
        raise DomainError("This is the last active administrator: the clinic would be locked out.")


def account_deactivate(*, user_id: int, by: User) -> User:
    admins = _lock_admins()
    user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
    if user is None:
        raise NotFound("No such account.")
    if user.id == by.id:
        raise DomainError("You cannot deactivate your own account.")
    _guard_last_admin(user, admins)
    user.is_active_account = False
    sessions_end(user=user)
    return user


def account_reactivate(*, user_id: int) -> User:
    user = user_get(user_id)
    user.is_active_account = True
    return user


def account_role_change(*, user_id: int, role: Role, by: User) -> User:
    admins = _lock_admins()
    user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
    if user is None:
        raise NotFound("No such account.")
    if user.id == by.id:
        raise DomainError("Ask another administrator to change your own role.", field="role")
    if (user.role == Role.PATIENT.value) != (role == Role.PATIENT):
        raise DomainError("Patient and staff accounts cannot be converted into each other.", field="role")
    if role != Role.ADMIN:
        _guard_last_admin(user, admins)
    user.role = role.value
    sessions_end(user=user)  # a new role means new menus and rights: sign in again
    return user


def account_sessions_end(*, user_id: int) -> User:
    user = user_get(user_id)
    sessions_end(user=user)
    return user


def staff_account_create(*, email: str, full_name: str, role: Role, password: str, phone: str | None = None,
                         speciality: str | None = None, fee_cents: int | None = None,
                         site_id: int | None = None) -> User:
    """A staff account with a password set directly: for `create-admin` and the demo data."""
    if role not in STAFF_ROLES:
        raise DomainError("Not a staff role.", field="role")
    if _email_taken(email):
        raise DomainError("An account with this email already exists.", field="email")
    problem = password_problem(password, email=email)
    if problem:
        raise DomainError(problem, field="password")
    user = User(email=normalise_email(email), full_name=full_name.strip(), role=role.value, phone=phone,
                password_hash=password_hash(password))
    _account_add(user, "An account with this email already exists.")
    db.session.add(StaffProfile(user_id=user.id, speciality=speciality, consultation_fee_cents=fee_cents, site_id=site_id))
    db.session.flush()
    return user


def admin_create(*, email: str, full_name: str, password: str) -> User:
    return staff_account_create(email=email, full_name=full_name, role=Role.ADMIN, password=password)
