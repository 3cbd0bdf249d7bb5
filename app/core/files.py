"""File storage that every web process on every machine reaches: documents now, the consultation
room's recordings later. Infrastructure: it imports no domain, and knows nothing of what a file is.

    key = files.store(data, content_type="application/pdf")   # in the request's transaction
    data = files.load(key)
    files.delete(key)

Bytes are encrypted with the app's Fernet keys (MultiFernet, app/core/crypto.py) before they leave
the process: neither the database nor the bucket ever holds plaintext.

Every file has a row in `stored_files` (key, size, content type, where it lives, when). Where its
bytes live:
- "database": in the row's `data` column (the default, when no object store is configured). Files
  up to FILE_DB_MAX_BYTES (default 16 MiB: the whole file passes through memory a few times, as
  plaintext, token and query parameter).
- "s3": an object `files/<key>` in the S3_BUCKET of an S3-compatible store (AWS S3, MinIO, Ceph,
  Garage...), through boto3; the body is the Fernet token. Used for every new file once S3_BUCKET is
  set. A file keeps the place it was stored in: turning S3 on later does not lose older files.

Transactions: the row is added to the request's session (the request commits it or not). An S3
object is written at once, so the row never names a missing object, and removed again if the
session rolls back; an object deleted with `delete` goes only once the deletion is committed.
(A process killed between the upload and the commit leaves an unreferenced, encrypted object.)

Key rotation (`flask rotate-keys`): the `data` column is an encrypted column like any other
(app/core/rotation.py walks it, a few rows at a time: see ROTATION_BATCH); objects in S3 are
re-encrypted by `rotate_objects`, which rotation.py calls after the columns.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from typing import Any, Iterator

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.core.crypto import keyring
from app.core.db import Base, UTCDateTime, on_commit, on_rollback, utcnow
from app.core.types import EncryptedBytes
from app.extensions import db

log = logging.getLogger(__name__)

DATABASE, S3 = "database", "s3"
OBJECT_PREFIX = "files/"
ROTATION_BATCH = 5  # rows of `data` re-encrypted per batch: each may be megabytes


class FileTooLarge(ValueError):
    pass


class FileMissing(LookupError):
    pass


class StoredFile(Base):
    __tablename__ = "stored_files"

    # Random and unguessable, though never a capability on its own: callers check who may read it.
    key: Mapped[str] = mapped_column(String(43), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # of the plaintext
    content_type: Mapped[str] = mapped_column(String(100))
    backend: Mapped[str] = mapped_column(String(16), default=DATABASE)
    data: Mapped[bytes | None] = mapped_column(EncryptedBytes, info={"rotation_batch": ROTATION_BATCH})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible bucket, through a boto3 S3 client (given, so tests and other stores can pass theirs)."""

    client: Any
    bucket: str

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=OBJECT_PREFIX + key, Body=body,
                               ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=OBJECT_PREFIX + key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileMissing(key) from None

    def remove(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=OBJECT_PREFIX + key)


def s3_client_from_config(config) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None, region_name=config.get("S3_REGION") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        # path-style works with every S3-compatible server (a bucket name need not be a host name)
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                      connect_timeout=5, read_timeout=30))


class FileStorage:
    """Where new files go, bound per app by `init_app` (app/__init__.py bind_services)."""

    def __init__(self) -> None:
        self.objects: ObjectStore | None = None
        self.database_max_bytes = 16 * 1024 * 1024

    def init_app(self, app, *, client: Any = None) -> None:
        self.database_max_bytes = app.config.get("FILE_DB_MAX_BYTES", self.database_max_bytes)
        bucket = app.config.get("S3_BUCKET")
        self.objects = None
        if bucket:
            self.objects = ObjectStore(client or s3_client_from_config(app.config), bucket)

    def use_objects(self, objects: ObjectStore | None) -> None:
        """Store new files in `objects` (None: in the database)."""
        self.objects = objects


storage = FileStorage()


def _objects() -> ObjectStore:
    if storage.objects is None:
        raise RuntimeError("a file is in S3 but no object store is configured (S3_BUCKET)")
    return storage.objects


def store(data: bytes, *, content_type: str) -> str:
    """Keep `data` encrypted; the key to load it again. The row is flushed into the caller's transaction."""
    data = bytes(data)
    key = secrets.token_urlsafe(32)
    row = StoredFile(key=key, size=len(data), content_type=content_type)
    session = db.session()
    if storage.objects is not None:
        objects = storage.objects
        objects.put(key, keyring.encrypt(data))
        on_rollback(session, lambda: _forget_object(objects, key))
        row.backend = S3
    else:
        if len(data) > storage.database_max_bytes:
            raise FileTooLarge(f"the database holds files up to {storage.database_max_bytes} bytes")
        row.backend, row.data = DATABASE, data
    session.add(row)
    session.flush()
    return key


def _forget_object(objects: ObjectStore, key: str) -> None:
    try:
        objects.remove(key)
    except Exception:  # an unreferenced encrypted object costs storage only
        log.warning("could not remove the object of a file whose row was rolled back")


def info(key: str) -> StoredFile:
    row = db.session.get(StoredFile, key)
    if row is None:
        raise FileMissing(key)
    return row


def load(key: str) -> bytes:
    """The file's bytes, decrypted."""
    row = info(key)
    if row.backend == S3:
        return keyring.decrypt(_objects().get(key))
    if row.data is None:
        raise FileMissing(key)
    return row.data


def delete(key: str) -> None:
    """Remove the file (its object once the deletion is committed)."""
    row = info(key)
    session = db.session()
    if row.backend == S3:
        objects = _objects()
        on_commit(session, lambda: _forget_object(objects, key))
    session.delete(row)
    session.flush()


def _object_keys(after: str | None, batch_size: int) -> list[str]:
    query = select(StoredFile.key).where(StoredFile.backend == S3).order_by(StoredFile.key).limit(batch_size)
    if after is not None:
        query = query.where(StoredFile.key > after)
    return list(db.session.execute(query).scalars())


def any_in_objects() -> bool:
    return bool(_object_keys(None, 1))


def rotate_objects(*, batch_size: int = 100) -> int:
    """Re-encrypt with the newest key every object not already under it; safe to re-run."""
    rotated, last = 0, None
    while keys := _object_keys(last, batch_size):
        db.session.rollback()  # no transaction held open across the uploads
        for key in keys:
            token = _objects().get(key)
            if not keyring.is_current(token):
                _objects().put(key, keyring.rotate(token))
                rotated += 1
        last = keys[-1]
    return rotated


def object_keys() -> Iterator[str]:
    """Every file kept in the object store (for operators and tests)."""
    last = None
    while keys := _object_keys(last, 500):
        yield from keys
        last = keys[-1]
