"""Reminders: the sweep queues each one once, at the right time — the clock moves, nobody sleeps."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from app.core.actor import Actor
from app.core.clock import clock
from app.extensions import db
from app.notifications.models import Channel
from app.scheduling.models import VisitMode
from app.scheduling.services import appointment_cancel, appointment_reschedule
from app.scheduling.tasks import reminders_due_queue
from tests.scheduling.conftest import MONDAY, TUESDAY, at, notifications

SUNDAY = MONDAY - dt.timedelta(days=1)


def sweep() -> int:
    queued = reminders_due_queue()
    db.session.commit()
    return queued


def reminders(appointment_id: int, name: str | None = None) -> list:
    rows = [n for n in notifications() if n.dedupe_key.startswith(f"appt:{appointment_id}:reminder-")]
    return [n for n in rows if name is None or f":reminder-{name}:" in n.dedupe_key]


@pytest.fixture
def booked(doctor, patient_account, book, freeze):
    """Booked on Friday 10:00 for Monday 11:00 (3 days ahead): (patient user, id)."""
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account(phone="+254712000001")
    return user, book(user, patient.id, doctor.id, at(MONDAY, 11), reason="Persistent cough and chest pain")


def test_the_day_before_reminder_goes_at_start_minus_24_hours_and_not_before(app_ctx, booked, freeze):
    user, appointment_id = booked
    assert sweep() == 0
    freeze(at(SUNDAY, 10, 59))
    assert sweep() == 0 and reminders(appointment_id) == []
    clock.advance(dt.timedelta(minutes=1))  # Sunday 11:00: 24 hours before
    assert sweep() == 1
    sent = reminders(appointment_id, "day-before")
    assert sorted((n.channel, n.dedupe_key) for n in sent) == [
        (Channel.EMAIL.value, f"appt:{appointment_id}:reminder-day-before:email"),
        (Channel.SMS.value, f"appt:{appointment_id}:reminder-day-before:sms")]
    assert {n.to_address for n in sent} == {user.email, "+254712000001"}
    assert all("Mon 01 Mar, 11:00" in n.body for n in sent)


def test_the_second_reminder_goes_at_the_configured_lead(app_ctx, booked, freeze, app):
    _, appointment_id = booked
    lead = app.config["REMINDER_LEAD_MINUTES"]
    assert lead == 120
    freeze(at(SUNDAY, 11))
    sweep()
    freeze(at(MONDAY, 11) - dt.timedelta(minutes=lead + 1))
    assert sweep() == 0 and reminders(appointment_id, "soon") == []
    clock.advance(dt.timedelta(minutes=1))
    assert sweep() == 1
    assert len(reminders(appointment_id, "soon")) == 2
    clock.advance(dt.timedelta(minutes=30))
    assert sweep() == 0
    assert len(reminders(appointment_id)) == 4  # two reminders, email and SMS each


def test_sweeping_twice_queues_each_reminder_once(app_ctx, booked, freeze):
    _, appointment_id = booked
    freeze(at(SUNDAY, 12))
    assert sweep() == 1
    assert sweep() == 0
    assert len(reminders(appointment_id)) == 2


def test_two_workers_sweeping_at_once_queue_each_reminder_once(app, booked, freeze):
    _, appointment_id = booked
    freeze(at(SUNDAY, 12))
    barrier = threading.Barrier(4)
    queued, errors = [], []

    def worker():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                queued.append(sweep())
            except Exception as error:  # noqa: BLE001
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and sum(queued) == 1
    with app.app_context():
        assert len(reminders(appointment_id)) == 2


def test_no_reminder_for_a_cancelled_appointment(app_ctx, booked, freeze):
    user, appointment_id = booked
    appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    db.session.commit()
    for when in (at(SUNDAY, 11), at(MONDAY, 9), at(MONDAY, 10, 59)):
        freeze(when)
        assert sweep() == 0
    assert reminders(appointment_id) == []


def test_a_moved_appointment_gets_its_own_reminders_and_the_old_one_none(app_ctx, booked, freeze):
    user, old_id = booked
    new_id = appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 9)).id
    db.session.commit()
    freeze(at(SUNDAY, 11))
    assert sweep() == 0  # the old time's reminder is not sent
    freeze(at(MONDAY, 9))
    assert sweep() == 1
    assert reminders(old_id) == []
    assert [n.dedupe_key for n in reminders(new_id)] == [f"appt:{new_id}:reminder-day-before:email",
                                                         f"appt:{new_id}:reminder-day-before:sms"]
    assert "Tue 02 Mar, 09:00" in reminders(new_id)[0].body
    freeze(at(TUESDAY, 7))
    assert sweep() == 1
    assert len(reminders(new_id)) == 4 and reminders(old_id) == []


def test_booked_three_hours_ahead_gets_only_the_short_reminder(app_ctx, doctor, patient_account, book, freeze):
    freeze(at(MONDAY, 8))
    user, patient = patient_account()
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 11))
    assert sweep() == 0
    freeze(at(MONDAY, 9))
    assert sweep() == 1
    assert reminders(appointment_id, "day-before") == []
    assert len(reminders(appointment_id, "soon")) == 2
    freeze(at(MONDAY, 10))
    assert sweep() == 0


def test_a_sweep_that_runs_late_sends_one_reminder_not_two(app_ctx, booked, freeze):
    """After a worker was down through both reminder times: one message per channel, not a pair."""
    _, appointment_id = booked
    freeze(at(MONDAY, 9, 30))
    assert sweep() == 1
    assert [n.dedupe_key.split(":")[2] for n in reminders(appointment_id)] == ["reminder-soon", "reminder-soon"]
    assert sweep() == 0


def test_reminder_sms_is_short_and_carries_no_reason(app_ctx, booked, freeze):
    _, appointment_id = booked
    freeze(at(SUNDAY, 11))
    sweep()
    for note in reminders(appointment_id):
        assert "cough" not in note.body.lower() and "chest" not in note.body.lower()
    sms = [n for n in reminders(appointment_id) if n.channel == Channel.SMS.value]
    assert len(sms) == 1 and len(sms[0].body) <= 160


def test_video_reminders_carry_the_visit_link(app_ctx, doctor, patient_account, book, freeze, app):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account()
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 11), mode=VisitMode.VIDEO)
    from tests.scheduling.conftest import appointment

    token = appointment(appointment_id).video_token
    link = f"http://localhost/visit/{token}"
    confirmation = notifications(dedupe_key=f"appt:{appointment_id}:booked:email")
    assert len(confirmation) == 1 and link in confirmation[0].body
    freeze(at(SUNDAY, 11))
    sweep()
    sent = reminders(appointment_id)
    assert len(sent) == 2 and all(link in n.body for n in sent)
    sms = next(n for n in sent if n.channel == Channel.SMS.value)
    assert len(sms.body) <= 160 and "video" in sms.body.lower()
