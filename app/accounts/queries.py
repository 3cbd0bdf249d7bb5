"""Reads for the account pages."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from app.accounts.models import AccountStatus, AccountToken, Role, TokenPurpose, User
from app.extensions import db


def staff_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(User.role, func.count()).where(User.is_active_account.is_(True)).group_by(User.role)
    ).all()
    return {role: count for role, count in rows}


def _invitation_expiry(user_id_column):
    """When the person's open invitation link stops working (None: no open invitation)."""
    return (select(func.max(AccountToken.expires_at))
            .where(AccountToken.user_id == user_id_column, AccountToken.purpose == TokenPurpose.INVITE.value,
                   AccountToken.used_at.is_(None))
            .scalar_subquery())


def invitation_expires_at(user_id: int) -> dt.datetime | None:
    return db.session.execute(select(_invitation_expiry(user_id))).scalar_one_or_none()


def accounts_list(*, term: str = "", role: str | None = None, status: AccountStatus | None = None, limit: int = 50,
                  offset: int = 0) -> list[tuple[User, dt.datetime | None]]:
    """(account, when its open invitation expires) for the people page, by name."""
    query = (select(User, _invitation_expiry(User.id).label("invitation_expires_at"))
             .order_by(User.full_name).limit(limit).offset(offset))
    if term:
        needle = term.strip().lower()
        query = query.where(or_(func.lower(User.full_name).contains(needle, autoescape=True),
                                func.lower(User.email).contains(needle, autoescape=True)))
    if role:
        query = query.where(User.role == role)
    if status is not None:
        query = query.where(User.status == status.value)
    return [tuple(row) for row in db.session.execute(query)]


def active_admins() -> list[User]:
    return list(db.session.execute(select(User).where(User.role == Role.ADMIN.value,
                                                      User.is_active_account.is_(True))).scalars())
