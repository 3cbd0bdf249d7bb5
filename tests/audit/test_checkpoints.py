"""Checkpoints anchor the audit chain's tail outside the database: deleting the newest rows and moving
the chain head back is named by `flask audit-verify`, and so is a checkpoint file someone wrote to."""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit import checkpoints
from app.audit.models import AuditEvent
from app.audit.services import audit_chain_verify
from app.audit.tasks import audit_checkpoint_sweep
from app.extensions import db, jobs
from app.notifications.models import Notification
from app.records import services
from tests.audit.test_chain import tamper, verify
from tests.conftest import SET_UP


@pytest.fixture
def patient(make_patient):
    return make_patient()


def read_chart(app, patient, times: int = 1) -> None:
    with app.app_context():
        for _ in range(times):
            services.chart_read(actor=SET_UP, patient_id=patient.id)
            db.session.commit()


def checkpoint_file(app) -> Path:
    return Path(app.config["AUDIT_CHECKPOINT_PATH"])


def lines(app) -> list[dict]:
    path = checkpoint_file(app)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def macs(app) -> dict[int, str]:
    with app.app_context():
        return dict(db.session.execute(select(AuditEvent.seq, AuditEvent.mac)).all())


def rewind(app, *, to_seq: int) -> None:
    """What someone with the database password can do: delete the newest rows, move the head back."""
    tamper(app, "DELETE FROM audit_events WHERE seq > :seq", seq=to_seq)
    tamper(app, "UPDATE audit_chain_head SET last_seq = :seq, "
                "last_mac = (SELECT mac FROM audit_events WHERE seq = :seq)", seq=to_seq)


def test_verify_appends_a_signed_checkpoint_of_the_chain(app, patient):
    read_chart(app, patient, 5)
    first = verify(app)
    assert first.exit_code == 0, first.output
    assert "audit trail intact: 5 rows verified" in first.output
    assert "no earlier checkpoint" in first.output and "checkpoint written: row 5" in first.output
    (line,) = lines(app)
    assert set(line) == {"seq", "mac", "at", "sig"}
    assert (line["seq"], line["mac"]) == (5, macs(app)[5])

    read_chart(app, patient)
    second = verify(app)
    assert second.exit_code == 0, second.output
    assert f"matches the checkpoint of {line['at']} (row 5)" in second.output
    assert [entry["seq"] for entry in lines(app)] == [5, 6]


def test_deleting_the_newest_rows_and_moving_the_head_back_is_named(app, patient):
    read_chart(app, patient, 8)
    assert verify(app).exit_code == 0
    (checkpoint,) = lines(app)
    rewind(app, to_seq=5)
    with app.app_context():
        assert audit_chain_verify().ok  # the chain alone cannot tell: this is what checkpoints are for

    result = verify(app)
    assert result.exit_code == 1
    assert f"AUDIT TRAIL BROKEN: rows 6..8 are missing (checkpoint of {checkpoint['at']})" in result.output
    assert "intact" not in result.output and "5 rows link up, but" in result.output
    assert "checkpoint written" not in result.output and len(lines(app)) == 1


def test_a_trail_rewound_and_grown_again_is_named(app, patient, caplog):
    read_chart(app, patient, 5)
    assert verify(app).exit_code == 0
    (checkpoint,) = lines(app)
    rewind(app, to_seq=3)
    read_chart(app, patient, 4)  # the application carries on from row 3: rows 4..7 are new ones

    result = verify(app)
    assert result.exit_code == 1
    assert f"AUDIT TRAIL BROKEN: row 5 differs from the checkpoint of {checkpoint['at']}" in result.output
    assert "intact" not in result.output

    # nor does the sweep put a checkpoint over it
    with caplog.at_level(logging.ERROR, logger="app.audit.checkpoints"):
        assert audit_checkpoint_sweep() is None
    assert len(lines(app)) == 1
    assert "row 5 differs from the checkpoint" in caplog.text


def _edit_seq(text: str) -> str:
    return text.replace('"seq":5', '"seq":4', 1)


def _edit_mac(text: str) -> str:
    line = json.loads(text.splitlines()[0])
    return text.replace(line["mac"], "f" * 64, 1)


def _forge(text: str) -> str:
    line = json.loads(text.splitlines()[0])
    return text + json.dumps({**line, "seq": 2, "sig": "0" * 64}, separators=(",", ":")) + "\n"


def _tear(text: str) -> str:
    return text + '{"seq":9,"mac":"ab'


@pytest.mark.parametrize("edit, bad_line", [(_edit_seq, 1), (_edit_mac, 1), (_forge, 2), (_tear, 2)],
                         ids=["seq-changed", "mac-changed", "line-added", "torn-line"])
def test_a_checkpoint_file_someone_wrote_to_is_named(app, patient, edit, bad_line):
    read_chart(app, patient, 5)
    assert verify(app).exit_code == 0
    path = checkpoint_file(app)
    path.write_text(edit(path.read_text()))

    result = verify(app)
    assert result.exit_code == 1
    assert f"CHECKPOINT FILE ALTERED: line {bad_line} of {path}" in result.output
    assert "checkpoint written" not in result.output


def test_after_a_torn_line_the_next_checkpoint_is_a_line_of_its_own(app, patient):
    read_chart(app, patient, 2)
    assert audit_checkpoint_sweep() == 2
    path = checkpoint_file(app)
    path.write_bytes(path.read_bytes() + b'{"seq":3,"mac":"0')  # a crash mid-write
    read_chart(app, patient)
    assert audit_checkpoint_sweep() == 3
    raw = path.read_text().splitlines()
    assert len(raw) == 3 and raw[1] == '{"seq":3,"mac":"0' and json.loads(raw[2])["seq"] == 3
    with app.app_context():
        found = checkpoints.checkpoints_read(path)
    assert [c.seq for c in found.checkpoints] == [2, 3] and found.bad_lines == [2]


def test_the_sweep_writes_a_checkpoint_only_when_the_chain_advanced(app, patient):
    assert audit_checkpoint_sweep() is None  # an empty trail: nothing to anchor
    assert not checkpoint_file(app).exists()

    read_chart(app, patient)
    assert audit_checkpoint_sweep() == 1
    assert audit_checkpoint_sweep() is None
    read_chart(app, patient, 2)
    assert audit_checkpoint_sweep() == 3
    assert audit_checkpoint_sweep() is None
    recorded = lines(app)
    assert [(entry["seq"], entry["mac"]) for entry in recorded] == [(1, macs(app)[1]), (3, macs(app)[3])]
    assert verify(app).exit_code == 0


def test_the_sweep_writes_no_checkpoint_over_a_broken_chain(app, patient, caplog):
    read_chart(app, patient, 2)
    assert audit_checkpoint_sweep() == 2
    read_chart(app, patient, 2)
    tamper(app, "UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 4")
    with caplog.at_level(logging.ERROR, logger="app.audit.checkpoints"):
        assert audit_checkpoint_sweep() is None
    assert "broken at row 4" in caplog.text
    assert [entry["seq"] for entry in lines(app)] == [2]


def test_the_sweep_runs_periodically(app):
    assert (app.config["AUDIT_CHECKPOINT_SECONDS"], "app.audit.tasks.audit_checkpoint_sweep") in jobs.periodic


def test_checkpoints_can_be_emailed_to_the_admins(app, patient, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EMAIL", True)
    admin = make_user(Role.ADMIN, email="admin@clinic.test")
    make_user(Role.ADMIN, email="gone@clinic.test", is_active_account=False)
    make_user(Role.DOCTOR, email="doctor@clinic.test")
    read_chart(app, patient, 3)
    assert audit_checkpoint_sweep() == 3
    assert audit_checkpoint_sweep() is None
    (line,) = lines(app)
    with app.app_context():
        sent = db.session.execute(select(Notification)).scalars().all()
        assert [(n.to_address, n.user_id, n.subject) for n in sent] == \
            [("admin@clinic.test", admin.id, "Audit checkpoint: row 3")]
        assert json.dumps(line, separators=(",", ":")) in sent[0].body


def test_writers_at_the_same_moment_never_interleave_their_lines(app, tmp_path):
    path, writers, each = tmp_path / "shared.jsonl", 8, 150
    barrier = threading.Barrier(writers)
    errors = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                for i in range(each):
                    checkpoints.checkpoint_append(checkpoints.Checkpoint(n * 1000 + i, f"{n:x}" * 64, "t"), path)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, writers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with app.app_context():
        found = checkpoints.checkpoints_read(path)
    assert found.bad_lines == [] and len(found.checkpoints) == writers * each
