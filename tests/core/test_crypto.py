"""The keyring and the encrypted column types, without a database."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from app.core.crypto import Keyring, KeyringNotConfigured
from app.core.types import BlindIndex, EncryptedBytes, EncryptedJSON, EncryptedText

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def ring(*keys: str, blind: str = "blind-key") -> Keyring:
    keyring = Keyring()
    keyring.configure(list(keys), blind)
    return keyring


def test_encrypts_with_the_newest_key_and_reads_with_any():
    old = ring(KEY_A)
    token_a = old.encrypt(b"secret")
    both = ring(KEY_B, KEY_A)
    assert both.decrypt(token_a) == b"secret"
    assert not both.is_current(token_a)
    token_b = both.encrypt(b"secret")
    assert both.is_current(token_b)
    assert Fernet(KEY_B.encode()).decrypt(token_b) == b"secret"
    rotated = both.rotate(token_a)
    assert both.is_current(rotated) and Fernet(KEY_B.encode()).decrypt(rotated) == b"secret"
    with pytest.raises(InvalidToken):
        ring(KEY_B).decrypt(token_a)


def test_an_unconfigured_or_empty_keyring_refuses():
    with pytest.raises(KeyringNotConfigured):
        Keyring().encrypt(b"x")
    with pytest.raises(KeyringNotConfigured):
        Keyring().blind_index("x")
    with pytest.raises(KeyringNotConfigured):
        Keyring().configure([], "blind")


def test_blind_index_is_keyed_and_normalised():
    keyring = ring(KEY_A)
    assert keyring.blind_index("AB 12  34") == keyring.blind_index(" ab 12 34 ")
    assert keyring.blind_index("AB 12 34") != keyring.blind_index("AB 12 35")
    assert ring(KEY_A, blind="another-key").blind_index("AB 12 34") != keyring.blind_index("AB 12 34")
    assert "12" not in keyring.blind_index("AB 12 34") and len(keyring.blind_index("x")) == 64


def test_column_types_round_trip_and_keep_none(app):
    for column_type, value in [(EncryptedText(), "Ünïcode text"), (EncryptedJSON(), {"b": [1, 2.5], "a": None}),
                               (EncryptedBytes(), b"\x00\xffpdf")]:
        stored = column_type.process_bind_param(value, None)
        assert isinstance(stored, bytes) and stored != value
        assert column_type.process_result_value(stored, None) == value
        assert column_type.process_result_value(memoryview(stored), None) == value
        assert column_type.process_bind_param(None, None) is None
        assert column_type.process_result_value(None, None) is None
    assert BlindIndex().process_bind_param(None, None) is None
