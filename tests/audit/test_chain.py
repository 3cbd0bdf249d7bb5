"""The audit trail: chained rows, `flask audit-verify`, the append-only trigger, tampering,
concurrent writers, and that no chart is shown when its audit row cannot be written."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.accounts.models import Role
from app.audit import services as audit_services
from app.audit.models import GENESIS_MAC, AuditChainHead, AuditEvent
from app.extensions import db
from app.records import services
from app.records.models import EntryKind, Patient
from tests.conftest import SET_UP

CANARY = "CANARY-a0d1"


def all_rows() -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(populate_existing=True)).scalars())


def verify(app):
    return app.test_cli_runner().invoke(args=["audit-verify"])


def tamper(app, sql: str, **params) -> None:
    """What someone with the database password can do: switch the trigger off and edit rows."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql), params)


@pytest.fixture
def patient(make_patient):
    return make_patient()


@pytest.fixture
def five_reads(app, patient):
    with app.app_context():
        for _ in range(5):
            services.chart_read(actor=SET_UP, patient_id=patient.id)
            db.session.commit()
    return patient


def test_rows_are_chained_from_the_genesis_and_verify(app, five_reads):
    with app.app_context():
        rows = all_rows()
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].prev_mac == GENESIS_MAC
        assert all(b.prev_mac == a.mac for a, b in zip(rows, rows[1:]))
        assert len({r.mac for r in rows}) == 5
        head = db.session.get(AuditChainHead, 1)
        assert (head.last_seq, head.last_mac) == (5, rows[-1].mac)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 5 rows verified" in result.output


def test_an_empty_trail_verifies(app):
    result = verify(app)
    assert result.exit_code == 0 and "0 rows verified" in result.output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 2",
    "TRUNCATE audit_events",
])
def test_the_database_refuses_updates_and_deletes(app, five_reads, statement):
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
        assert len(all_rows()) == 5
    assert verify(app).exit_code == 0


def test_an_altered_row_is_named(app, five_reads):
    tamper(app, "UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 3")
    result = verify(app)
    assert result.exit_code == 1
    assert "AUDIT TRAIL BROKEN at row 3" in result.output and "altered" in result.output


@pytest.mark.parametrize("column, value", [
    ("target", ""),               # NULL and "" are different facts
    ("ip", "10.0.0.9"),
    ("occurred_at", "2020-01-01T00:00:00+00:00"),
    ("actor_user_id", 99),
    ("outcome", "denied"),
])
def test_any_changed_field_is_detected(app, five_reads, column, value):
    tamper(app, f"UPDATE audit_events SET {column} = :value WHERE seq = 4", value=value)
    result = verify(app)
    assert result.exit_code == 1 and "at row 4" in result.output


def test_fields_cannot_trade_characters(app, patient):
    """A value holding the old field separator must not let a tamperer shift text between fields."""
    with app.app_context():
        audit_services.audit_access(actor=SET_UP, patient_id=patient.id, action="document.read", target="doc:1\x1fx",
                                    reason="care")
        db.session.commit()
        row = all_rows()[0]
        assert row.target == "doc:1\x1fx"
    tamper(app, "UPDATE audit_events SET target = 'doc:1', outcome = :outcome WHERE seq = 1",
           outcome="x\x1f" + row.outcome)
    assert verify(app).exit_code == 1


def test_a_deleted_row_is_named(app, five_reads):
    tamper(app, "DELETE FROM audit_events WHERE seq = 3")
    result = verify(app)
    assert result.exit_code == 1
    assert "AUDIT TRAIL BROKEN at row 3" in result.output and "missing" in result.output


def test_a_deleted_last_row_is_named(app, five_reads):
    tamper(app, "DELETE FROM audit_events WHERE seq = 5")
    result = verify(app)
    assert result.exit_code == 1 and "at row 5" in result.output


def test_a_forged_row_is_detected(app, five_reads):
    with app.app_context():
        last = all_rows()[-1]
    tamper(app, "INSERT INTO audit_events (seq, occurred_at, actor_role, action, outcome, reason, prev_mac, mac) "
                "VALUES (6, now(), 'doctor', 'chart.read', 'allowed', 'care', :prev, :mac)",
           prev=last.mac, mac="f" * 64)
    result = verify(app)
    assert result.exit_code == 1 and "at row 6" in result.output


def test_concurrent_reads_make_a_gap_free_verified_chain(app, patient):
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    errors = []

    def read_chart():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                services.chart_read(actor=SET_UP, patient_id=patient.id)
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read_chart) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with app.app_context():
        assert [r.seq for r in all_rows()] == list(range(1, threads_count + 1))
    result = verify(app)
    assert result.exit_code == 0 and f"{threads_count} rows verified" in result.output


def test_a_session_that_read_the_head_earlier_keeps_up_with_other_writers(app, patient):
    """A session holding the chain head from an earlier read (an admin page showing the trail's
    length, a long job that committed before) must chain from the locked, current head."""
    with app.app_context():
        services.chart_read(actor=SET_UP, patient_id=patient.id)
        db.session.commit()
        head = db.session.get(AuditChainHead, 1)
        assert head.last_seq == 1

        def other_writer():
            with app.app_context():
                services.chart_read(actor=SET_UP, patient_id=patient.id)
                db.session.commit()

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(10)

        services.chart_read(actor=SET_UP, patient_id=patient.id)
        db.session.commit()
        assert [r.seq for r in all_rows()] == [1, 2, 3] and head.last_seq == 3
    assert verify(app).exit_code == 0


def test_savepoints_inside_the_transaction_neither_write_nor_lose_its_audit_rows(app, patient):
    """Services use SAVEPOINTs to let a constraint decide (a taken slot, a replayed message). Releasing
    one must not write the transaction's audit rows early, nor lose them when it is rolled back."""
    with app.app_context():
        services.chart_read(actor=SET_UP, patient_id=patient.id)
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():  # refused by the unique MRN at release, and handled
                db.session.add(Patient(mrn=patient.mrn, given_name="Dup", family_name="Dup", name_search="dup dup"))
        with db.session.begin_nested():
            services.patient_create(given_name="Second", family_name="Patient")
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0
        db.session.commit()
        assert [r.action for r in all_rows()] == ["chart.read"]
    assert verify(app).exit_code == 0


def test_no_chart_is_shown_when_its_audit_row_cannot_be_written(app, signed_in, patient, care, monkeypatch):
    with app.app_context():
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": f"Seen. {CANARY}"},
                           recorded_by_id=None)
        db.session.commit()
    browser, doctor = signed_in(Role.DOCTOR)
    care(doctor, patient)
    page = browser.get(f"/doctor/patients/{patient.id}")
    assert page.status_code == 200 and CANARY in page.get_data(as_text=True)

    def broken_mac(key, row):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_services, "_mac", broken_mac)
    refused = browser.get(f"/doctor/patients/{patient.id}")
    assert refused.status_code in (500, 503)
    assert CANARY not in refused.get_data(as_text=True)

    monkeypatch.undo()
    with app.app_context():
        reads = [r for r in all_rows() if r.action == "chart.read"]
        assert len(reads) == 1 and reads[0].actor_user_id == doctor.id
    assert verify(app).exit_code == 0


def test_a_refused_request_is_audited_as_denied(app, signed_in, patient):
    browser, patient_user = signed_in(Role.PATIENT)
    response = browser.get(f"/doctor/patients/{patient.id}")
    assert response.status_code == 403
    with app.app_context():
        denied = [r for r in all_rows() if r.outcome == "denied"]
        assert len(denied) == 1
        row = denied[0]
        assert (row.actor_user_id, row.actor_role, row.action) == (patient_user.id, "patient", "access.denied")
        assert row.path == f"/doctor/patients/{patient.id}" and row.reason == "roles:doctor"
        assert not any(r.action == "chart.read" for r in all_rows())
    assert verify(app).exit_code == 0


def test_a_form_shown_again_with_an_error_shows_no_chart_and_so_audits_no_read(app, signed_in, patient, care):
    """The add form's refusal comes back on the form's own page (no chart content on it): the only
    chart read is the page the form was taken from, and what a page shows is what its reads audit."""
    with app.app_context():
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": f"Seen. {CANARY}"},
                           recorded_by_id=None)
        db.session.commit()
    browser, doctor = signed_in(Role.DOCTOR)
    care(doctor, patient)
    page = f"/doctor/patients/{patient.id}"
    response = browser.post(f"{page}/entries/vitals", {"systolic": "900"}, page=page)
    assert response.status_code == 422 and 'id="systolic-error"' in response.get_data(as_text=True)
    assert CANARY not in response.get_data(as_text=True)
    with app.app_context():
        reads = [r for r in all_rows() if r.action == "chart.read" and r.actor_user_id == doctor.id]
    assert len(reads) == 1  # the chart the CSRF token was taken from
