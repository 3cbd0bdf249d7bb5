"""A reason's free text (the doctor's words for an emergency access) is stored encrypted; the row's
MAC covers it in plaintext, so key rotation re-encrypts it in place and the chain still verifies,
rows written before migration 0006 verify too, and the database refuses any other change."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from app.accounts.models import Role
from app.audit.models import GENESIS_MAC, AuditEvent
from app.audit.queries import audit_recent
from app.audit.services import audit_access, emergency_reason
from app.core.crypto import keyring
from app.core.migrate import alembic_config, upgrade_to_head
from app.extensions import db
from tests.audit.test_chain import tamper, verify
from tests.conftest import SET_UP
from tests.core.apps import another_app
from tests.core.test_rotation import KEY_A, KEY_B

WHY = "CANARY-5b1c chest pain, known angina: need the medication list now"


def raw_rows() -> list[tuple]:
    """Every audit row as the database holds it, each column as text (bytea as hex)."""
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT seq, reason, reason_detail, t::text FROM audit_events t ORDER BY seq"))]


@pytest.fixture
def emergency_rows(app):
    """Row 1: an emergency read with WHY; row 2: a read for care."""
    with app.app_context():
        audit_access(actor=SET_UP, patient_id=7, action="chart.read", reason=emergency_reason(WHY))
        audit_access(actor=SET_UP, patient_id=7, action="chart.read", reason="care")
        db.session.commit()


def test_emergency_words_are_stored_encrypted_and_shown_to_the_admin(app, signed_in, make_patient):
    patient = make_patient()
    doctor, _ = signed_in(Role.DOCTOR)
    chart = f"/doctor/patients/{patient.id}"
    assert doctor.post(f"{chart}/emergency-access", {"reason": WHY}, page=chart).status_code == 303
    assert doctor.get(chart).status_code == 200
    with app.app_context():
        stored = raw_rows()
        assert [(seq, reason) for seq, reason, _, _ in stored] == [(1, "emergency"), (2, "emergency")]
        for _, _, token, whole_row in stored:
            assert "CANARY-5b1c" not in whole_row and "angina" not in whole_row
            assert Fernet(app.config["FERNET_KEYS"][0].encode()).decrypt(bytes(token)).decode() == WHY

    admin, _ = signed_in(Role.ADMIN)
    review = admin.get("/admin/people/audit?emergency=1").get_data(as_text=True)
    assert review.count('class="audit-emergency"') == 2 and review.count(WHY) == 2
    assert verify(app).exit_code == 0


def test_the_emergency_review_filters_on_the_category(app, emergency_rows):
    with app.app_context():
        assert [(r.seq, r.reason, r.reason_detail) for r in audit_recent(emergency=True)] == [(1, "emergency", WHY)]
        assert len(audit_recent()) == 2


def test_the_database_lets_the_detail_be_re_encrypted(app, emergency_rows):
    with app.app_context():
        with db.engine.begin() as conn:  # what rotation does: the same words under a fresh token
            conn.execute(text("UPDATE audit_events SET reason_detail = :token WHERE seq = 1"),
                         {"token": keyring.encrypt(WHY.encode())})
    assert verify(app).exit_code == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason_detail = :token, reason = 'care' WHERE seq = 1",
    "UPDATE audit_events SET reason_detail = :token, ip = '10.9.9.9' WHERE seq = 1",
    "UPDATE audit_events SET reason_detail = NULL WHERE seq = 1",
    "UPDATE audit_events SET reason_detail = :token WHERE seq = 2",  # a row that had no free text
    "UPDATE audit_events SET reason = 'care' WHERE seq = 1",
    "UPDATE audit_events SET mac = prev_mac WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 1",
])
def test_the_database_refuses_any_other_change(app, emergency_rows, statement):
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement), {"token": keyring.encrypt(WHY.encode())})
    assert verify(app).exit_code == 0


def test_other_words_under_a_valid_token_are_detected(app, emergency_rows):
    """The trigger cannot tell new words from re-encrypted ones; the MAC, over the plaintext, can."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET reason_detail = :token WHERE seq = 1"),
                         {"token": keyring.encrypt(b"routine check")})
    result = verify(app)
    assert result.exit_code == 1 and "at row 1: row 1 was altered" in result.output


@pytest.mark.parametrize("sql, params, problem", [
    # the same joined text, "emergency: <words>", stored the old way: hidden from the review, in plaintext
    ("UPDATE audit_events SET reason = :text, reason_detail = NULL WHERE seq = 1", {"text": f"emergency: {WHY}"},
     "row 1 was altered"),
    # the same joined text again, split elsewhere
    ("UPDATE audit_events SET reason = :category, reason_detail = :words WHERE seq = 1",
     {"category": "emergency: CANARY-5b1c chest pain, known angina", "words": "need the medication list now"},
     "row 1 was altered"),
    ("UPDATE audit_events SET reason_detail = :junk WHERE seq = 1", {"junk": b"not a fernet token"},
     "cannot be decrypted"),
])
def test_words_moved_between_the_columns_are_detected(app, emergency_rows, sql, params, problem):
    if "words" in params:
        params = {**params, "words": keyring.encrypt(params["words"].encode())}
    tamper(app, sql, **params)
    result = verify(app)
    assert result.exit_code == 1 and "AUDIT TRAIL BROKEN at row 1" in result.output and problem in result.output


def test_rotate_keys_re_encrypts_the_detail_and_the_chain_still_verifies(app):
    with another_app(app, FERNET_KEYS=[KEY_A]) as app_a, app_a.app_context():
        for n in range(3):
            audit_access(actor=SET_UP, patient_id=n, action="chart.read", reason=emergency_reason(f"{WHY} #{n}"))
            audit_access(actor=SET_UP, patient_id=n, action="chart.read", reason="care")
        db.session.commit()
    with another_app(app, FERNET_KEYS=[KEY_B, KEY_A]) as app_b:
        result = app_b.test_cli_runner().invoke(args=["rotate-keys", "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        assert "audit_events.reason_detail: 3 re-encrypted" in result.output
    with another_app(app, FERNET_KEYS=[KEY_B]) as app_only_b:
        with app_only_b.app_context():
            tokens = [bytes(token) for _, _, token, _ in raw_rows() if token is not None]
        assert sorted(Fernet(KEY_B.encode()).decrypt(token).decode() for token in tokens) == \
            [f"{WHY} #{n}" for n in range(3)]
        result = verify(app_only_b)
        assert result.exit_code == 0 and "6 rows verified" in result.output


# -- rows written before migration 0006 -------------------------------------------------------------

BEFORE = "0004_login_failure_window"
OLD_ROWS = [  # (action, outcome, reason) as the code before 0006 wrote them
    ("chart.read", "allowed", "care"),
    ("chart.emergency_access", "allowed", f"emergency: {WHY}"),
    ("chart.read", "allowed", f"emergency: {WHY}"),
    ("access.denied", "denied", "roles:doctor"),
    ("access.denied", "denied", "no care relationship"),
]


def old_mac(key: bytes, values: dict) -> str:
    """AuditEvent.canonical and _mac as they were before 0006."""
    fields = (values["seq"], values["occurred_at"].astimezone(dt.timezone.utc).isoformat(), values["actor_user_id"],
              values["actor_role"], values["patient_id"], values["action"], values["target"], values["outcome"],
              values["reason"], values["ip"], values["path"], values["prev_mac"])
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def write_old_rows(url: str, key: bytes) -> list[dict]:
    engine = create_engine(url)
    written, prev = [], GENESIS_MAC
    at = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        for seq, (action, outcome, reason) in enumerate(OLD_ROWS, start=1):
            values = dict(seq=seq, occurred_at=at + dt.timedelta(minutes=seq), actor_user_id=3, actor_role="doctor",
                          patient_id=9, action=action, target=None, outcome=outcome, reason=reason, ip="10.0.0.7",
                          path="/doctor/patients/9", prev_mac=prev)
            values["mac"] = prev = old_mac(key, values)
            conn.execute(insert(AuditEvent.__table__).values(**values))  # 0004's columns only
            written.append(values)
        conn.execute(text("UPDATE audit_chain_head SET last_seq = :seq, last_mac = :mac"),
                     {"seq": len(OLD_ROWS), "mac": prev})
    engine.dispose()
    return written


def test_rows_written_before_the_migration_still_verify(app, empty_database):
    key = app.config["AUDIT_KEY"].encode()
    command.upgrade(alembic_config(empty_database), BEFORE)
    old = write_old_rows(empty_database, key)
    upgrade_to_head(empty_database)

    with another_app(app, DATABASE_URL=empty_database) as migrated:
        result = verify(migrated)
        assert result.exit_code == 0, result.output
        assert "audit trail intact: 5 rows verified" in result.output
        with migrated.app_context():
            with db.engine.connect() as conn:
                stored = conn.execute(text("SELECT reason, reason_detail FROM audit_events ORDER BY seq")).all()
            assert [reason for reason, _ in stored] == ["care", "emergency", "emergency", "roles:doctor",
                                                        "no care relationship"]
            assert all(WHY not in repr(token) for _, token in stored)
            assert [r.reason_detail for r in audit_recent(emergency=True)] == [WHY, WHY]
            # the trail carries on from the old rows
            audit_access(actor=SET_UP, patient_id=9, action="chart.read",
                         reason=emergency_reason("after the migration"))
            db.session.commit()
            if db.is_postgres:
                with pytest.raises(DBAPIError, match="append-only"):
                    with db.engine.begin() as conn:
                        conn.execute(text("UPDATE audit_events SET reason = 'care' WHERE seq = 2"))
        again = verify(migrated)
        assert again.exit_code == 0 and "6 rows verified" in again.output, again.output

    # and back: the old form, with the old MACs
    command.downgrade(alembic_config(empty_database), BEFORE)
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        back = conn.execute(select(*[AuditEvent.__table__.c[name] for name in old[0]]).order_by(AuditEvent.seq)).all()
    engine.dispose()
    assert [row._asdict() for row in back[:5]] == old
    assert back[5].reason == "emergency: after the migration" and old_mac(key, back[5]._asdict()) == back[5].mac
