"""One unit of work per request: a move cancels the old time, flushes, then fails to book the new one.
The view only presents the refusal; the request rolls back as a whole and nothing has changed."""
from __future__ import annotations

import datetime as dt

from app.accounts.models import Role
from app.extensions import db, jobs
from tests.scheduling.conftest import MONDAY, appointment, at
from tests.security_support import snapshot, table_differences


def test_a_move_refused_after_its_cancel_was_flushed_changes_nothing(app, signed_in, make_patient, doctor, book,
                                                                    patient_account, freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    browser, user = signed_in(Role.PATIENT)
    patient = make_patient(user_id=user.id)
    mine = book(user, patient.id, doctor.id, at(MONDAY, 9))
    someone, theirs = patient_account("Baraka", "Kiprop")
    book(someone, theirs.id, doctor.id, at(MONDAY, 10))
    move = f"/patient/appointments/{mine}/move"
    token = browser.csrf(f"{move}?doctor={doctor.id}")
    with app.app_context():
        before = snapshot(db.engine)
    queued = jobs.rq_queue.count

    response = browser.client.post(move, data={"starts_at": at(MONDAY, 10).isoformat(), "doctor_id": str(doctor.id),
                                               "idempotency_key": "move-key-" + "m" * 20, "csrf_token": token})

    assert response.status_code == 303 and response.headers["Location"].endswith(f"{move}?doctor={doctor.id}")
    assert "That time was just taken" in browser.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert table_differences(before, snapshot(db.engine)) == []
        assert snapshot(db.engine)["__audit_max_seq"] == before["__audit_max_seq"]
        kept = appointment(mine)
        assert (kept.status, kept.cancel_reason, kept.cancelled_by_id) == ("booked", None, None)
    assert jobs.rq_queue.count == queued  # nothing was to be sent after a commit that did not happen
