"""The administrator's outbox review: failed and uncertain messages, masked, sent again once or dismissed."""
from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db, jobs
from app.notifications import tasks
from app.notifications.backends import override_backend
from app.notifications.models import Channel, DeliveryStatus, Notification
from app.notifications.services import mask_address, notification_queue
from tests.notifications.test_outbox import RecordingBackend
from tests.security_support import location_path

CANARY = "CANARY-appointment-with-Dr-Mwangi"


def outbox_row(app, *, key: str, channel: Channel = Channel.EMAIL, to: str = "patient@demo.test",
               status: DeliveryStatus = DeliveryStatus.FAILED, attempts: int = 8, last_error: str = "recipient refused") -> int:
    """A committed outbox row in `status`, as delivery would have left it; nothing left queued for it."""
    with app.test_request_context("/"):
        note = notification_queue(dedupe_key=key, channel=channel, to_address=to, subject=f"Subject {CANARY}",
                                  body=f"Your {CANARY} is on Monday.")
        note.status, note.attempts, note.last_error = status.value, attempts, last_error
        db.session.commit()
        note_id = note.id
    jobs.rq_queue.empty()
    return note_id


def stored(app, note_id: int) -> Notification:
    with app.app_context():
        note = db.session.execute(select(Notification).where(Notification.id == note_id)).scalar_one()
        db.session.expunge(note)
        return note


def text(response) -> str:
    return response.get_data(as_text=True)


def test_addresses_are_masked():
    assert mask_address("sms", "+254712345101") == "+2547•••••101"
    assert mask_address("email", "patient@demo.test") == "pa•••@demo.test"
    assert mask_address("sms", "+2547") == "+2•••"
    assert mask_address("email", None) == ""


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTION, Role.PATIENT])
def test_only_administrators_see_the_outbox(app, signed_in, browser, role):
    note_id = outbox_row(app, key="k1")
    anonymous = browser.get("/admin/outbox/")
    assert anonymous.status_code in (302, 303) and location_path(anonymous) == "/login"
    other, _ = signed_in(role)
    assert other.get("/admin/outbox/").status_code == 403
    for action in ("retry", "dismiss"):
        assert other.post(f"/admin/outbox/{note_id}/{action}").status_code == 403
        assert location_path(browser.post(f"/admin/outbox/{note_id}/{action}", page="/login")) == "/login"
    assert stored(app, note_id).status == "failed" and jobs.rq_queue.count == 0


def test_the_outbox_lists_what_needs_review_masked_and_without_bodies(app, signed_in):
    failed = outbox_row(app, key="k1", to="patient@demo.test")
    uncertain = outbox_row(app, key="k2", channel=Channel.SMS, to="+254712345101", status=DeliveryStatus.UNCERTAIN,
                           attempts=1, last_error="worker stopped during send")
    sent = outbox_row(app, key="k3", to="sent.person@demo.test", status=DeliveryStatus.SENT, attempts=1, last_error=None)
    admin, _ = signed_in(Role.ADMIN)
    page = admin.get("/admin/outbox/")
    assert page.status_code == 200
    html = text(page)
    assert "pa•••@demo.test" in html and "+2547•••••101" in html
    assert "patient@demo.test" not in html and "+254712345101" not in html
    assert "CANARY" not in html
    assert "se•••@demo.test" not in html and f"notification-{sent}" not in html
    assert html.index(f"notification-{uncertain}") < html.index(f"notification-{failed}")  # newest first
    assert "worker stopped during send" in html and "recipient refused" in html
    assert "Outbox" in html  # in the navigation

    home = text(admin.get("/admin/"))
    assert "2 messages were not delivered" in home and 'href="/admin/outbox/"' in home


def test_the_admin_home_says_nothing_when_the_outbox_is_clean(app, signed_in):
    outbox_row(app, key="k1", status=DeliveryStatus.SENT)
    admin, _ = signed_in(Role.ADMIN)
    assert 'id="outbox-review"' not in text(admin.get("/admin/"))


def test_send_again_queues_a_failed_message_and_it_is_delivered_once(app, signed_in):
    email = RecordingBackend()
    override_backend("email", email)
    note_id = outbox_row(app, key="k1", attempts=3)
    admin, _ = signed_in(Role.ADMIN)

    response = admin.post(f"/admin/outbox/{note_id}/retry", page="/admin/outbox/")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/outbox/"
    note = stored(app, note_id)
    assert (note.status, note.attempts, note.lease_until) == ("pending", 3, None)
    assert jobs.rq_queue.count == 1
    # A double click: the second is refused, queues nothing more and changes nothing.
    again = admin.post(f"/admin/outbox/{note_id}/retry", page="/admin/outbox/")
    assert again.status_code == 303
    assert "no longer needs review" in text(admin.get("/admin/outbox/"))
    assert jobs.rq_queue.count == 1

    assert tasks.notifications_sweep() == 1
    SimpleWorker([jobs.rq_queue], connection=jobs.redis).work(burst=True)  # the queued job finds it done
    tasks.notifications_sweep()
    assert email.sent == [{"to": "patient@demo.test", "subject": f"Subject {CANARY}", "body": f"Your {CANARY} is on Monday."}]
    note = stored(app, note_id)
    assert (note.status, note.attempts, note.last_error) == ("sent", 4, None)
    assert f"notification-{note_id}" not in text(admin.get("/admin/outbox/"))


def test_an_uncertain_message_can_be_sent_again_by_the_queued_job(app, signed_in):
    sms = RecordingBackend()
    override_backend("sms", sms)
    note_id = outbox_row(app, key="k1", channel=Channel.SMS, to="+254712345101", status=DeliveryStatus.UNCERTAIN,
                         attempts=1)
    admin, _ = signed_in(Role.ADMIN)
    # It may have arrived: a bare tap only asks (app/core/confirm.py); the confirmed one sends.
    asked = admin.post(f"/admin/outbox/{note_id}/retry", page="/admin/outbox/")
    assert asked.headers["Location"] == f"/admin/outbox/{note_id}/retry" and stored(app, note_id).status == "uncertain"
    assert "It may already have arrived. Send it again?" in text(admin.get(asked.headers["Location"]))
    assert admin.post(f"/admin/outbox/{note_id}/retry", {"confirmed": "yes"}, page="/admin/outbox/").status_code == 303
    SimpleWorker([jobs.rq_queue], connection=jobs.redis).work(burst=True)
    tasks.notifications_sweep()
    assert len(sms.sent) == 1 and stored(app, note_id).status == "sent"


def test_a_sent_message_cannot_be_sent_again_or_dismissed(app, signed_in):
    email = RecordingBackend()
    override_backend("email", email)
    note_id = outbox_row(app, key="k1", status=DeliveryStatus.SENT, attempts=1, last_error=None)
    before = stored(app, note_id)
    admin, _ = signed_in(Role.ADMIN)
    for action in ("retry", "dismiss"):
        response = admin.post(f"/admin/outbox/{note_id}/{action}", page="/admin/outbox/")
        assert response.status_code == 303
    after = stored(app, note_id)
    assert (after.status, after.attempts, after.next_attempt_at) == (before.status, before.attempts, before.next_attempt_at)
    assert jobs.rq_queue.count == 0
    tasks.notifications_sweep()
    assert email.sent == []
    for action in ("retry", "dismiss"):  # no such message, or an in-app one: 404
        assert admin.post(f"/admin/outbox/999999/{action}", page="/admin/outbox/").status_code == 404


def test_dismiss_takes_a_message_off_the_list_for_good(app, signed_in):
    email = RecordingBackend()
    override_backend("email", email)
    note_id = outbox_row(app, key="k1")
    admin, _ = signed_in(Role.ADMIN)
    admin.post(f"/admin/outbox/{note_id}/dismiss", page="/admin/outbox/")  # asks first
    assert stored(app, note_id).status == "failed"
    assert admin.post(f"/admin/outbox/{note_id}/dismiss", {"confirmed": "yes"}, page="/admin/outbox/").status_code == 303
    assert stored(app, note_id).status == DeliveryStatus.DISMISSED.value
    assert f"notification-{note_id}" not in text(admin.get("/admin/outbox/"))
    assert 'id="outbox-review"' not in text(admin.get("/admin/"))
    assert admin.post(f"/admin/outbox/{note_id}/retry", page="/admin/outbox/").status_code == 303  # refused
    tasks.notifications_sweep()
    assert stored(app, note_id).status == "dismissed" and email.sent == []


def test_retry_and_dismiss_need_the_csrf_token(app, signed_in):
    note_id = outbox_row(app, key="k1")
    admin, _ = signed_in(Role.ADMIN)
    for action in ("retry", "dismiss"):
        assert admin.client.post(f"/admin/outbox/{note_id}/{action}").status_code == 400
    assert stored(app, note_id).status == "failed" and jobs.rq_queue.count == 0
