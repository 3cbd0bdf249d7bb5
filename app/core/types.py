"""Encrypted column types. A stable import path: migrations import these, never move them.

Values are encrypted with the keyring's newest Fernet key on the way in and decrypted with any
configured key on the way out. The database only ever holds Fernet tokens.
"""
from __future__ import annotations

import json

from sqlalchemy import LargeBinary, String
from sqlalchemy.types import TypeDecorator

from app.core.crypto import keyring


class EncryptedText(TypeDecorator):
    """A str stored as a Fernet token."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring.encrypt(str(value).encode("utf-8"))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring.decrypt(bytes(value)).decode("utf-8")


class EncryptedJSON(TypeDecorator):
    """A JSON-serialisable value (dict, list, ...) stored as a Fernet token."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring.encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(keyring.decrypt(bytes(value)))


class EncryptedBytes(TypeDecorator):
    """Raw bytes (an uploaded document) stored as a Fernet token."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring.encrypt(bytes(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring.decrypt(bytes(value))


class BlindIndex(TypeDecorator):
    """The HMAC of a value, for exact-match lookups on an encrypted column."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring.blind_index(value)


ENCRYPTED_TYPES = (EncryptedText, EncryptedJSON, EncryptedBytes)
