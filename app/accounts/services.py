"""Accounts: sign-in with throttling, passwords, one-time tokens, invitations, roles, sessions."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import (
    STAFF_ROLES,
    AccountStatus,
    AccountToken,
    LoginThrottle,
    PasswordResetRequest,
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
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.crypto import keyring
from app.core.db import on_commit, utcnow
from app.core.errors import DomainError, NotFound
from app.core.i18n import in_language, supported
from app.core.links import external_url
from app.core.phones import phone_clean
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
        raise NotFound(_("No such account."))
    return user


# -- signing in ------------------------------------------------------------------------------

def _lock_minutes(until: dt.datetime) -> int:
    return max(1, int((until - utcnow()).total_seconds() // 60) + 1)


def ip_throttle_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


def email_throttle_key(email: str) -> str:
    """Counted for any typed email, with or without an account: the key is a keyed hash, so the
    table holds no addresses that nobody registered."""
    return f"email:{keyring.blind_index(normalise_email(email))}"


def _throttle(key: str) -> LoginThrottle:
    query = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=0, last_failure_at=utcnow()))
        except IntegrityError:
            pass  # a sign-in with the same key created it at the same moment: use theirs
        row = db.session.execute(query).scalar_one()
    return row


def _count_failure(throttle: LoginThrottle, *, limit: int, lockout: dt.timedelta, now: dt.datetime) -> None:
    if throttle.last_failure_at < now - lockout:
        throttle.failures = 0  # a few typos over weeks never add up: only failures close together count
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= limit:
        throttle.locked_until, throttle.failures = now + lockout, 0


def sign_in_check(*, email: str, password: str, ip: str | None) -> User:
    """The account for these credentials, or SignInRefused. Failures count per address and per typed
    email, with or without an account, so every refusal (locked or not) reads and takes the same for
    an email that has an account and one that has none. The counts are written even though the
    caller's request fails, so the caller must commit."""
    cfg = current_app.config
    now = utcnow()
    # Always in this order (address, then email): two sign-ins never wait on each other's locks crosswise.
    by_ip = _throttle(ip_throttle_key(ip))
    by_email = _throttle(email_throttle_key(email))
    locked = [t.locked_until for t in (by_ip, by_email) if t.locked_until and t.locked_until > now]
    if locked:
        raise AccountLocked(_("Too many failed attempts. Try again in %(minutes)s minutes, or reset your password.",
                              minutes=_lock_minutes(max(locked))))
    user = db.session.execute(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).scalar_one_or_none()
    valid = password_verify(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active_account:
        lockout = dt.timedelta(seconds=cfg["LOGIN_LOCKOUT_SECONDS"])
        _count_failure(by_ip, limit=cfg["LOGIN_MAX_FAILURES_PER_IP"], lockout=lockout, now=now)
        _count_failure(by_email, limit=cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], lockout=lockout, now=now)
        raise SignInRefused(_("That email and password don't match an active account."))
    by_email.failures, by_email.locked_until = 0, None
    user.last_login_at = now
    if password_needs_rehash(user.password_hash):
        user.password_hash = password_hash(password)
    return user


def login_throttles_prune() -> int:
    """Forget counts whose window and lock have both run out (the table would otherwise keep a row
    for every email anyone ever typed wrongly)."""
    now = utcnow()
    window_start = now - dt.timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
    return db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.last_failure_at < window_start,
                                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now))
    ).rowcount


# -- passwords ---------------------------------------------------------------------------------

def password_set(*, user: User, new_password: str) -> None:
    """Set a new password and end every existing session of the account."""
    problem = password_problem(new_password, email=user.email)
    if problem:
        raise DomainError(problem, field="password")
    user.password_hash = password_hash(new_password)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == email_throttle_key(user.email)))
    sessions_end(user=user)


def password_change(*, user: User, current_password: str, new_password: str) -> None:
    if not password_verify(user.password_hash, current_password):
        raise DomainError(_("That is not your current password."), field="current_password")
    password_set(user=user, new_password=new_password)


def sessions_end(*, user: User) -> None:
    """Invalidate every login cookie of this account (the token is part of each cookie)."""
    user.session_token = new_session_token()


def user_language_set(*, user: User, language: str) -> None:
    """The language of this person's pages, emails and SMS from now on."""
    user.language = supported(language)


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
    if purpose == TokenPurpose.INVITE:
        _invitation_check(token)
    if token is None or token.used_at is not None or token.expires_at < utcnow():
        raise DomainError(_("This link has expired or was already used. Ask for a new one."))
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active_account:
        raise DomainError(_("This account is not active."))
    return user


class InvitationRefused(DomainError):
    """An invitation link that no longer works, with why; `sign_in`: the person has an account to sign in to."""

    def __init__(self, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.sign_in = sign_in


def _invitation_check(token: AccountToken | None) -> None:
    """Say why an invitation link no longer works, in words its owner can act on."""
    if token is None:
        raise InvitationRefused(_("This invitation link is not valid. Check that you opened the whole link from "
                                  "the email, or ask the clinic's administrator for a new invitation."))
    user = db.session.get(User, token.user_id)
    status = user.status if user is not None else AccountStatus.DEACTIVATED
    if status == AccountStatus.ACTIVE:
        raise InvitationRefused(_("This invitation was already accepted: sign in with the password you chose."),
                                sign_in=True)
    if status == AccountStatus.DEACTIVATED:
        raise InvitationRefused(_("This invitation was withdrawn by the clinic. If you think this is a mistake, "
                                  "ask the clinic's administrator."))
    if token.used_at is not None:  # still invited, so a newer invitation replaced this one
        raise InvitationRefused(_("A newer invitation was sent to you since: use the link in the latest email."))
    if token.expires_at < utcnow():
        raise InvitationRefused(_("This invitation has expired. Ask the clinic's administrator to send a new one."))


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


def _latest_token_at(user: User, purpose: TokenPurpose) -> dt.datetime | None:
    """When the account's newest link for `purpose` was made (UTC), if ever."""
    latest = db.session.execute(
        select(func.max(AccountToken.created_at)).where(AccountToken.user_id == user.id,
                                                        AccountToken.purpose == purpose.value)
    ).scalar_one_or_none()
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.timezone.utc)
    return latest


def _reset_recently_sent(user: User) -> bool:
    """One reset email per account every few minutes: the form cannot be used to flood an inbox."""
    latest = _latest_token_at(user, TokenPurpose.PASSWORD_RESET)
    return latest is not None and latest > utcnow() - RESET_EMAIL_INTERVAL


def password_reset_request(*, email: str) -> None:
    """Take a "forgot password" form: the same row for any email, handled after commit by a job
    (`password_reset_handle`), so neither the answer nor its timing tells whether an account exists."""
    request_row = PasswordResetRequest(email=normalise_email(email))
    db.session.add(request_row)
    db.session.flush()
    from app.accounts.tasks import password_reset_handle
    from app.extensions import jobs

    request_id = request_row.id
    on_commit(db.session, lambda: jobs.enqueue(password_reset_handle, request_id,
                                               job_id=f"password-reset-{request_id}"))


RESET_REQUEST_STALE = dt.timedelta(hours=1)


def password_reset_request_handle(*, request_id: int) -> bool:
    """Email a reset link if the request's email has an active account (at most one email every few
    minutes per account). True when a link was queued. Handles each request once, however often the
    job and the sweep run it; the typed email is forgotten once handled."""
    request_row = db.session.execute(
        select(PasswordResetRequest).where(PasswordResetRequest.id == request_id,
                                           PasswordResetRequest.handled_at.is_(None))
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if request_row is None:
        return False
    email, stale = request_row.email, request_row.requested_at < utcnow() - RESET_REQUEST_STALE
    request_row.handled_at, request_row.email = utcnow(), None
    user = user_by_email(email or "")
    if stale or user is None or not user.is_active_account or _reset_recently_sent(user):
        return False
    raw = _token_issue(user=user, purpose=TokenPurpose.PASSWORD_RESET,
                       ttl_seconds=current_app.config["PASSWORD_RESET_TTL_SECONDS"])
    minutes = current_app.config["PASSWORD_RESET_TTL_SECONDS"] // 60
    link = external_url("accounts.reset_password", token=raw)
    with in_language(user.language):
        notification_queue(
            dedupe_key=f"password-reset:{_token_digest(raw)[:40]}", channel=Channel.EMAIL, user_id=user.id,
            to_address=user.email, subject=_("Reset your MyAfya password"),
            body=_("Hello %(name)s,\n\nTo choose a new password, open this link within %(minutes)s minutes:\n"
                   "%(link)s\n\nIf you did not ask for this, ignore this email: your password is unchanged.",
                   name=user.full_name, minutes=minutes, link=link),
        )
    return True


def password_reset_requests_pending(*, limit: int = 100) -> list[int]:
    return list(db.session.execute(
        select(PasswordResetRequest.id).where(PasswordResetRequest.handled_at.is_(None))
        .order_by(PasswordResetRequest.requested_at).limit(limit)
    ).scalars())


def password_reset_requests_prune() -> int:
    """Handled requests are kept a day (for support questions), then deleted."""
    return db.session.execute(
        delete(PasswordResetRequest).where(PasswordResetRequest.handled_at < utcnow() - dt.timedelta(days=1))
    ).rowcount


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


EXISTING_ACCOUNT_EMAIL_INTERVAL_MINUTES = 10


def _existing_account_notice(user: User) -> None:
    """Someone registered with an email that has an account: tell its owner, not the person at the form."""
    bucket = int(utcnow().timestamp() // (EXISTING_ACCOUNT_EMAIL_INTERVAL_MINUTES * 60))
    with in_language(user.language):
        notification_queue(
            dedupe_key=f"register-existing:{user.id}:{bucket}", channel=Channel.EMAIL, user_id=user.id,
            to_address=user.email, subject=_("You already have a MyAfya account"),
            body=_("Hello %(name)s,\n\nSomeone, probably you, tried to create a new account with this email "
                   "address, but you already have one.\nSign in here: %(login)s\n"
                   "Forgot your password? Choose a new one here: %(forgot)s\n\n"
                   "If it was not you, you can ignore this email: nothing was changed.",
                   name=user.full_name, login=external_url("accounts.login"),
                   forgot=external_url("accounts.forgot_password")),
        )


def _welcome_notice(user: User) -> None:
    with in_language(user.language):
        notification_queue(
            dedupe_key=f"welcome:{user.id}", channel=Channel.EMAIL, user_id=user.id, to_address=user.email,
            subject=_("Welcome to %(clinic)s", clinic=current_app.config["CLINIC_NAME"]),
            body=_("Hello %(name)s,\n\nYour MyAfya account is ready. Sign in to book a visit:\n%(link)s\n",
                   name=user.full_name, link=external_url("accounts.login")),
        )


def patient_account_register(*, email: str, password: str, full_name: str, phone: str | None,
                             language: str = "en") -> User | None:
    """A new patient account, or None when the email already has one. Either way an email goes to the
    address (welcome / "you already have an account") and the same work is done (the password is
    hashed in both cases), so the page and its timing tell nobody which emails have accounts."""
    problem = password_problem(password, email=email)
    if problem:
        raise DomainError(problem, field="password")
    phone = phone_clean(phone)
    hashed = password_hash(password)
    existing = user_by_email(email)
    if existing is None:
        user = User(email=normalise_email(email), full_name=full_name.strip(), phone=phone, role=Role.PATIENT.value,
                    password_hash=hashed, language=supported(language))
        try:
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:  # the same email registered at this very moment: theirs came first
            existing = user_by_email(email)
        else:
            _welcome_notice(user)
            return user
    _existing_account_notice(existing)
    return None


def staff_invite(*, actor: Actor, email: str, full_name: str, role: Role, speciality: str | None = None,
                 fee_cents: int | None = None, site_id: int | None = None) -> User:
    """Create a staff account without a password and email its owner a link to choose one."""
    invited_by = user_get(actor.user_id)
    if role not in STAFF_ROLES:
        raise DomainError(_("Staff can only be invited to a staff role."), field="role")
    if _email_taken(email):
        raise DomainError(_("An account with this email already exists."), field="email")
    user = User(email=normalise_email(email), full_name=full_name.strip(), role=role.value, password_hash=None)
    _account_add(user, _("An account with this email already exists."))
    db.session.add(StaffProfile(user_id=user.id, speciality=speciality, consultation_fee_cents=fee_cents,
                                site_id=site_id))
    _invitation_send(user, inviter=invited_by)
    _account_audit(actor, "account.invite", user)
    return user


def _invitation_send(user: User, *, inviter: User) -> None:
    """A new invitation link for `user`, emailed once (through the outbox)."""
    raw = _token_issue(user=user, purpose=TokenPurpose.INVITE, ttl_seconds=current_app.config["INVITE_TTL_SECONDS"])
    link = external_url("accounts.accept_invite", token=raw)
    clinic = current_app.config["CLINIC_NAME"]
    with in_language(user.language):
        notification_queue(
            dedupe_key=f"invite:{_token_digest(raw)[:40]}", channel=Channel.EMAIL, user_id=user.id,
            to_address=user.email, subject=_("You're invited to %(clinic)s on MyAfya", clinic=clinic),
            body=_("Hello %(name)s,\n\n%(inviter)s has invited you to join %(clinic)s on MyAfya as %(role)s.\n"
                   "Choose your password here (the link works for 7 days, once):\n%(link)s\n",
                   name=user.full_name, inviter=inviter.full_name, clinic=clinic, role=Role(user.role).label,
                   link=link),
        )


def _account_audit(actor: Actor, action: str, user: User) -> None:
    """An administrator's change to an account, in the audit trail (no patient's data in it)."""
    audit_access(actor=actor, patient_id=None, action=action, reason="administration", target=f"user:{user.id}")


# A second click on "Resend" (or two administrators at once) sends nothing more within this time.
INVITE_RESEND_INTERVAL = dt.timedelta(minutes=1)


class InvitationJustSent(DomainError):
    pass


def _invitee_locked(user_id: int) -> User:
    """The invited account, locked, or a refusal when it is not (or no longer) waiting on an invitation.
    Locks in the order accepting an invitation does (its link, then the account): the two take turns."""
    db.session.execute(
        select(AccountToken.id).where(AccountToken.user_id == user_id, AccountToken.purpose == TokenPurpose.INVITE.value,
                                      AccountToken.used_at.is_(None)).order_by(AccountToken.id).with_for_update()
    ).all()
    user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
    if user is None:
        raise NotFound(_("No such account."))
    if user.status != AccountStatus.INVITED:
        raise DomainError(_("%(name)s has no open invitation: the account is %(status)s.", name=user.full_name,
                            status=user.status.label))
    return user


def _invite_links_end(user: User) -> None:
    now = utcnow()
    for token in db.session.execute(
        select(AccountToken).where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.INVITE.value,
                                   AccountToken.used_at.is_(None))
    ).scalars():
        token.used_at = now


def staff_invite_resend(*, actor: Actor, user_id: int) -> User:
    """Email a new invitation link; every earlier link of this person stops working."""
    user = _invitee_locked(user_id)
    latest = _latest_token_at(user, TokenPurpose.INVITE)
    if latest is not None and latest > utcnow() - INVITE_RESEND_INTERVAL:
        raise InvitationJustSent(_("An invitation was sent to %(email)s a moment ago: nothing more was sent.",
                                   email=user.email))
    _invite_links_end(user)
    _invitation_send(user, inviter=user_get(actor.user_id))
    _account_audit(actor, "account.invite.resend", user)
    return user


def staff_invite_revoke(*, actor: Actor, user_id: int) -> User:
    """Withdraw an invitation: its links stop working and the account, which never had a password, is
    deactivated (kept, not deleted: the audit trail and the outbox name it; "Reactivate" then
    "Resend invitation" undo this). Deactivated, "Forgot password" cannot open it either."""
    user = _invitee_locked(user_id)
    _invite_links_end(user)
    user.is_active_account = False
    sessions_end(user=user)
    _account_audit(actor, "account.invite.revoke", user)
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
        raise DomainError(_("This is the last active administrator: the clinic would be locked out."))


def account_deactivate(*, actor: Actor, user_id: int) -> User:
    admins = _lock_admins()
    user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
    if user is None:
        raise NotFound(_("No such account."))
    if user.id == actor.user_id:
        raise DomainError(_("You cannot deactivate your own account."))
    _guard_last_admin(user, admins)
    user.is_active_account = False
    sessions_end(user=user)
    _account_audit(actor, "account.deactivate", user)
    return user


def account_reactivate(*, actor: Actor, user_id: int) -> User:
    user = user_get(user_id)
    user.is_active_account = True
    _account_audit(actor, "account.reactivate", user)
    return user


def account_role_change(*, actor: Actor, user_id: int, role: Role) -> User:
    admins = _lock_admins()
    user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
    if user is None:
        raise NotFound(_("No such account."))
    if user.id == actor.user_id:
        raise DomainError(_("Ask another administrator to change your own role."), field="role")
    if (user.role == Role.PATIENT.value) != (role == Role.PATIENT):
        raise DomainError(_("Patient and staff accounts cannot be converted into each other."), field="role")
    if role != Role.ADMIN:
        _guard_last_admin(user, admins)
    user.role = role.value
    sessions_end(user=user)  # a new role means new menus and rights: sign in again
    _account_audit(actor, "account.role_change", user)
    return user


def account_sessions_end(*, actor: Actor, user_id: int) -> User:
    user = user_get(user_id)
    sessions_end(user=user)
    _account_audit(actor, "account.sessions_end", user)
    return user


def staff_account_create(*, email: str, full_name: str, role: Role, password: str, phone: str | None = None,
                         speciality: str | None = None, fee_cents: int | None = None,
                         site_id: int | None = None) -> User:
    """A staff account with a password set directly: for `create-admin` and the demo data."""
    if role not in STAFF_ROLES:
        raise DomainError(_("Not a staff role."), field="role")
    if _email_taken(email):
        raise DomainError(_("An account with this email already exists."), field="email")
    problem = password_problem(password, email=email)
    if problem:
        raise DomainError(problem, field="password")
    user = User(email=normalise_email(email), full_name=full_name.strip(), role=role.value, phone=phone_clean(phone),
                password_hash=password_hash(password))
    _account_add(user, _("An account with this email already exists."))
    db.session.add(StaffProfile(user_id=user.id, speciality=speciality, consultation_fee_cents=fee_cents, site_id=site_id))
    db.session.flush()
    return user


def admin_create(*, email: str, full_name: str, password: str) -> User:
    return staff_account_create(email=email, full_name=full_name, role=Role.ADMIN, password=password)
