"""Key rotation: `flask rotate-keys` moves every encrypted value to the newest key, and carries on
after a crash without losing or double-encrypting anything."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, text

from app.core import rotation
from app.core.crypto import keyring
from app.core.types import EncryptedText
from app.extensions import db
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from app.records import services
from app.records.models import EntryKind
from tests.conftest import SET_UP
from tests.core.apps import another_app

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def stored_tokens() -> dict[tuple[str, str, object], bytes]:
    """Every non-null encrypted value in the database, keyed by (table, column, primary key)."""
    found = {}
    with db.engine.connect() as conn:
        for table, pk, column in rotation.encrypted_columns():
            for row_pk, token in conn.execute(text(f'SELECT "{pk}", "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')):
                found[(table, column, row_pk)] = bytes(token)
    return found


def decrypt_all(tokens: dict, key: str) -> dict:
    fernet = Fernet(key.encode())
    return {where: fernet.decrypt(token) for where, token in tokens.items()}


def under(tokens: dict, key: str) -> set:
    fernet, found = Fernet(key.encode()), set()
    for where, token in tokens.items():
        try:
            fernet.decrypt(token)
            found.add(where)
        except InvalidToken:
            pass
    return found


@pytest.fixture
def data_under_key_a(app):
    """Patients, chart entries and outbox rows written while KEY_A was the only key; returns the plaintexts."""
    with another_app(app, FERNET_KEYS=[KEY_A]) as app_a, app_a.app_context():
        for n in range(4):
            patient = services.patient_create(given_name=f"Patient{n}", family_name="Rotated", national_id=f"ID-{n}")
            services.history_update(actor=SET_UP, patient_id=patient.id, history=f"history {n}")
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": f"note {n}"},
                               recorded_by_id=None)
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY,
                               content={"substance": f"drug {n}"},
                               recorded_by_id=None)
            notification_queue(dedupe_key=f"rot-{n}", channel=Channel.EMAIL, to_address=f"p{n}@x.test",
                               subject=f"subject {n}", body=f"body {n}")
        db.session.commit()
        tokens = stored_tokens()
    assert len(tokens) == 4 * 2 + 8 + 4 * 3  # patients (national id, history) + entries + outbox rows
    assert under(tokens, KEY_A) == set(tokens)
    return decrypt_all(tokens, KEY_A)


@pytest.fixture
def keys_b_then_a(app):
    with another_app(app, FERNET_KEYS=[KEY_B, KEY_A]) as app_b:
        yield app_b


def test_rotate_keys_moves_every_value_to_the_new_key(app, data_under_key_a, keys_b_then_a):
    result = keys_b_then_a.test_cli_runner().invoke(args=["rotate-keys", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "patients.history: 4 re-encrypted" in result.output
    assert "every encrypted value now uses the newest key" in result.output

    with keys_b_then_a.app_context():
        tokens = stored_tokens()
        assert set(tokens) == set(data_under_key_a)
        assert decrypt_all(tokens, KEY_B) == data_under_key_a  # with B alone: nothing lost, nothing double-encrypted

        # no binary column anywhere (even one the rotation does not know about) still needs key A
        fernet_b = Fernet(KEY_B.encode())
        with db.engine.connect() as conn:
            binary_columns = conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type = 'bytea'")).all()
            assert len(binary_columns) >= 6
            for table, column in binary_columns:
                for (token,) in conn.execute(text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')):
                    fernet_b.decrypt(bytes(token))

        # the application reads everything with B alone, and the blind index did not move
        keyring.configure([KEY_B], keys_b_then_a.config["BLIND_INDEX_KEY"])
        patient = services.patient_find_by_national_id("ID-2")
        assert (patient.national_id, patient.history) == ("ID-2", "history 2")
        chart = services.chart_read(actor=SET_UP, patient_id=patient.id)
        assert chart[EntryKind.NOTE][0].content == {"text": "note 2"}
        db.session.rollback()

    again = keys_b_then_a.test_cli_runner().invoke(args=["rotate-keys"])
    assert again.exit_code == 0 and "patients.history: 0 re-encrypted" in again.output


class CrashingKeyring:
    """Delegates to the real keyring, but the process 'dies' at the n-th re-encryption."""

    def __init__(self, crash_at: int) -> None:
        self.calls, self.crash_at = 0, crash_at

    def __getattr__(self, name):
        return getattr(keyring, name)

    def rotate(self, token: bytes) -> bytes:
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("killed mid-batch")
        return keyring.rotate(token)


def test_a_crashed_rotation_carries_on_where_it_stopped(app, data_under_key_a, keys_b_then_a, monkeypatch):
    # batch size 2: the first batch (2 values) commits, the crash comes on the 2nd value of the 2nd batch
    crashing = CrashingKeyring(crash_at=4)
    monkeypatch.setattr(rotation, "keyring", crashing)
    crashed = keys_b_then_a.test_cli_runner().invoke(args=["rotate-keys", "--batch-size", "2"])
    assert crashed.exit_code != 0 and crashed.exception is not None

    with keys_b_then_a.app_context():
        tokens = stored_tokens()
        assert len(under(tokens, KEY_B)) == 2  # the committed first batch only; the 2nd rolled back whole
        assert decrypt_all({w: t for w, t in tokens.items() if w in under(tokens, KEY_B)}, KEY_B).items() <= \
            data_under_key_a.items()

    monkeypatch.setattr(rotation, "keyring", keyring)
    resumed = keys_b_then_a.test_cli_runner().invoke(args=["rotate-keys", "--batch-size", "2"])
    assert resumed.exit_code == 0, resumed.output
    counts = [int(line.split(": ")[1].split()[0]) for line in resumed.output.splitlines() if "re-encrypted" in line]
    assert sum(counts) == len(data_under_key_a) - 2  # the values already moved were left alone

    with keys_b_then_a.app_context():
        assert decrypt_all(stored_tokens(), KEY_B) == data_under_key_a


def test_rotation_refuses_a_table_it_cannot_walk(app, monkeypatch):
    """An encrypted column in a table without a single-column key must stop the command, not be skipped:
    skipping it would let the operator drop the old key and lose that data."""
    metadata = MetaData()
    Table("consents", metadata, Column("patient_id", Integer, primary_key=True),
          Column("version", Integer, primary_key=True), Column("text", EncryptedText))
    Table("blobs", metadata, Column("id", Integer, primary_key=True), Column("raw", LargeBinary))

    class FakeBase:
        pass

    FakeBase.metadata = metadata
    monkeypatch.setattr(rotation, "Base", FakeBase)
    with pytest.raises(RuntimeError, match="consents"):
        rotation.encrypted_columns()


class ConcurrentWriter:
    """Delegates to the real keyring; just before the first re-encryption, the application (another
    connection) rewrites that very row's history and commits."""

    def __init__(self, engine) -> None:
        self.engine, self.done = engine, False

    def __getattr__(self, name):
        return getattr(keyring, name)

    def rotate(self, token: bytes) -> bytes:
        if not self.done:
            self.done = True
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE patients SET history = :new WHERE history = :old"),
                             {"new": keyring.encrypt(b"rewritten during rotation"), "old": token})
        return keyring.rotate(token)


def test_a_value_written_during_rotation_is_not_overwritten(app, data_under_key_a, keys_b_then_a, monkeypatch):
    with keys_b_then_a.app_context():
        writer = ConcurrentWriter(db.engine)
        monkeypatch.setattr(rotation, "keyring", writer)
        assert rotation.rotate_column("patients", "id", "history", batch_size=10) == 3
        histories = sorted(decrypt_all({w: t for w, t in stored_tokens().items() if w[1] == "history"}, KEY_B).values())
    assert histories == [b"history 1", b"history 2", b"history 3", b"rewritten during rotation"]
