"""Key rotation: re-encrypt every encrypted column with the newest key.

Works table by table in primary-key order, one committed batch at a time. A value already under
the newest key is left alone, so after a crash the command simply runs again and carries on.
"""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import LargeBinary, column, select, table, update

import app.models  # noqa: F401
from app.core.crypto import keyring
from app.core.db import Base
from app.core.types import ENCRYPTED_TYPES
from app.extensions import db


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, encrypted column) for every encrypted column in the schema."""
    found = []
    for tbl in Base.metadata.sorted_tables:
        pk = list(tbl.primary_key.columns)
        if len(pk) != 1:
            continue
        for col in tbl.columns:
            if isinstance(col.type, ENCRYPTED_TYPES):
                found.append((tbl.name, pk[0].name, col.name))
    return found


def rotate_column(table_name: str, pk_name: str, column_name: str, *, batch_size: int = 500) -> int:
    raw = table(table_name, column(pk_name), column(column_name, LargeBinary))
    pk, value = raw.c[pk_name], raw.c[column_name]
    rotated, last = 0, None
    while True:
        query = select(pk, value).where(value.is_not(None)).order_by(pk).limit(batch_size)
        if last is not None:
            query = query.where(pk > last)
        rows = db.session.execute(query).all()
        if not rows:
            return rotated
        for row_pk, token in rows:
            token = bytes(token)
            if not keyring.is_current(token):
                db.session.execute(update(raw).where(pk == row_pk).values({column_name: keyring.rotate(token)}))
                rotated += 1
        db.session.commit()
        last = rows[-1][0]


def rotate_all(*, batch_size: int = 500) -> Iterator[tuple[str, str, int]]:
    for table_name, pk_name, column_name in encrypted_columns():
        yield table_name, column_name, rotate_column(table_name, pk_name, column_name, batch_size=batch_size)
