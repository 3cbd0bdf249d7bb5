"""Keys for encryption at rest (MultiFernet) and for blind indexes (HMAC-SHA256).

The keyring is process-wide because column types need it at bind time, far from any request;
`create_app` configures it from FERNET_KEYS (newest first) and BLIND_INDEX_KEY.
"""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyringNotConfigured(RuntimeError):
    pass


class Keyring:
    def __init__(self) -> None:
        self._fernet: MultiFernet | None = None
        self._primary: Fernet | None = None
        self._blind_key: bytes | None = None

    def configure(self, fernet_keys: list[str], blind_index_key: str) -> None:
        if not fernet_keys:
            raise KeyringNotConfigured("FERNET_KEYS is empty")
        fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in fernet_keys]
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._blind_key = blind_index_key.encode()

    @property
    def fernet(self) -> MultiFernet:
        if self._fernet is None:
            raise KeyringNotConfigured("call keyring.configure() first")
        return self._fernet

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        return self.fernet.decrypt(token)

    def is_current(self, token: bytes) -> bool:
        """True when `token` is encrypted with the newest key."""
        try:
            self._primary.decrypt(token)
            return True
        except InvalidToken:
            return False

    def rotate(self, token: bytes) -> bytes:
        return self.fernet.rotate(token)

    def blind_index(self, value: str) -> str:
        """A keyed HMAC of a normalised value: equal inputs match, the value cannot be read back."""
        if self._blind_key is None:
            raise KeyringNotConfigured("call keyring.configure() first")
        normalised = " ".join(value.split()).casefold()
        return hmac.new(self._blind_key, normalised.encode(), hashlib.sha256).hexdigest()


keyring = Keyring()
