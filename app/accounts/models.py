"""Accounts, roles, staff profiles and sites, one-time account tokens, login throttling."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, case, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedText


class Role(str, enum.Enum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    LAB = "lab"
    PHARMACIST = "pharmacist"
    RECEPTION = "reception"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def home_endpoint(self) -> str:
        return f"{PORTAL_OF_ROLE[self]}.home"


ROLE_LABELS = {
    Role.PATIENT: _l("Patient"),
    Role.DOCTOR: _l("Doctor"),
    Role.LAB: _l("Lab technician"),
    Role.PHARMACIST: _l("Pharmacist"),
    Role.RECEPTION: _l("Reception"),
    Role.ADMIN: _l("Administrator"),
}
PORTAL_OF_ROLE = {
    Role.PATIENT: "patient",
    Role.DOCTOR: "doctor",
    Role.LAB: "lab",
    Role.PHARMACIST: "pharmacy",
    Role.RECEPTION: "reception",
    Role.ADMIN: "admin",
}
STAFF_ROLES = (Role.DOCTOR, Role.LAB, Role.PHARMACIST, Role.RECEPTION, Role.ADMIN)


class AccountStatus(str, enum.Enum):
    INVITED = "invited"  # invited by an administrator, no password chosen yet
    ACTIVE = "active"
    DEACTIVATED = "deactivated"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    AccountStatus.INVITED: _l("invited"),
    AccountStatus.ACTIVE: _l("active"),
    AccountStatus.DEACTIVATED: _l("deactivated"),
}


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language of their pages, emails and SMS (app.core.i18n.LANGUAGES).
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")
    # Part of the login cookie: replacing it ends every session of this account at once.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff_profile: Mapped["StaffProfile | None"] = relationship(back_populates="user", uselist=False)

    __table_args__ = (
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("ix_users_role", "role"),
    )

    @hybrid_property
    def status(self) -> AccountStatus:
        """The one place an account's status is decided: in Python here, in SQL just below (the same rule)."""
        if not self.is_active_account:
            return AccountStatus.DEACTIVATED
        return AccountStatus.INVITED if self.password_hash is None else AccountStatus.ACTIVE

    @status.inplace.expression
    @classmethod
    def _status_expression(cls):
        return case((cls.is_active_account.is_(False), AccountStatus.DEACTIVATED.value),
                    (cls.password_hash.is_(None), AccountStatus.INVITED.value), else_=AccountStatus.ACTIVE.value)

    # flask-login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class SiteKind(str, enum.Enum):
    CLINIC = "clinic"
    PHARMACY = "pharmacy"
    LAB = "lab"


class Site(Base):
    """A place where staff work: the clinic itself, its pharmacy, its lab."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))


class StaffProfile(Base):
    __tablename__ = "staff_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    speciality: Mapped[str | None] = mapped_column(String(80), index=True)
    consultation_fee_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    licence_number: Mapped[str | None] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    bio: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(back_populates="staff_profile")
    site: Mapped[Site | None] = relationship()


class TokenPurpose(str, enum.Enum):
    PASSWORD_RESET = "password_reset"
    INVITE = "invite"


class AccountToken(Base):
    """A one-time, expiring link token. Only its SHA-256 is stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(Base):
    """Failed sign-ins counted per client address ("ip:<address>") and per typed email
    ("email:<blind index>"). Emails are counted whether or not an account has them, so a lockout
    says nothing about which addresses have accounts."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # Failures count while each comes within the lockout time of the one before.
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PasswordResetRequest(Base):
    """A "forgot password" form as it was sent, handled by a job after the request has answered.

    The request writes this row and nothing else, whether or not the email has an account, so
    the answer looks and takes the same either way; the job looks the account up and emails the
    link. The typed email is kept encrypted, only until the request is handled."""

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_password_reset_requests_pending", "handled_at", "requested_at"),)
