"""Key rotation: re-encrypt every encrypted column with the newest key.

Works table by table in primary-key order, one committed batch at a time (a column may name a
smaller batch in its `info["rotation_batch"]`: stored files hold megabytes a row). A value already
under the newest key is left alone, so after a crash the command simply runs again and carries on.
It walks the tables on Base.metadata: the caller imports app.models first (core imports no domain).
Then the files kept in an object store (app/core/files.py), object by object.
"""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import LargeBinary, column, select, table, update

from app.core import files
from app.core.crypto import keyring
from app.core.db import Base
from app.core.types import ENCRYPTED_TYPES
from app.extensions import db


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, encrypted column) for every encrypted column in the schema."""
    return [(table_name, pk, name) for table_name, pk, name, _batch in _encrypted_columns()]


def _encrypted_columns() -> list[tuple[str, str, str, int | None]]:
    found = []
    for tbl in Base.metadata.sorted_tables:
        encrypted = [col.name for col in tbl.columns if isinstance(col.type, ENCRYPTED_TYPES)]
        if not encrypted:
            continue
        pk = list(tbl.primary_key.columns)
        if len(pk) != 1:
            # Never skip it silently: the operator would drop the old key and lose these values.
            raise RuntimeError(f"cannot rotate {tbl.name}: it needs a single-column primary key")
        found.extend((tbl.name, pk[0].name, name, tbl.columns[name].info.get("rotation_batch"))
                     for name in encrypted)
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
                # Only if unchanged since read: a value the app rewrote meanwhile is newer (and already
                # under the newest key); overwriting it with the re-encrypted old one would lose it.
                result = db.session.execute(update(raw).where(pk == row_pk, value == token)
                                            .values({column_name: keyring.rotate(token)}))
                rotated += result.rowcount
        db.session.commit()
        last = rows[-1][0]


def rotate_all(*, batch_size: int = 500) -> Iterator[tuple[str, str, int]]:
    for table_name, pk_name, column_name, column_batch in _encrypted_columns():
        yield table_name, column_name, rotate_column(table_name, pk_name, column_name,
                                                     batch_size=min(batch_size, column_batch or batch_size))
    if files.any_in_objects():  # (with no object store configured, this raises: never skipped silently)
        yield "stored_files", "objects in S3", files.rotate_objects()
