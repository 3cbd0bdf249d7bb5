"""Reads for the account pages."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.accounts.models import Role, User
from app.extensions import db


def staff_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(User.role, func.count()).where(User.is_active_account.is_(True)).group_by(User.role)
    ).all()
    return {role: count for role, count in rows}


def accounts_list(*, term: str = "", role: str | None = None, limit: int = 50, offset: int = 0) -> list[User]:
    query = select(User).order_by(User.full_name).limit(limit).offset(offset)
    if term:
        needle = term.strip().lower()
        query = query.where(or_(func.lower(User.full_name).contains(needle, autoescape=True),
                                func.lower(User.email).contains(needle, autoescape=True)))
    if role:
        query = query.where(User.role == role)
    return list(db.session.execute(query).scalars())


def active_admins() -> list[User]:
    return list(db.session.execute(select(User).where(User.role == Role.ADMIN.value,
                                                      User.is_active_account.is_(True))).scalars())
