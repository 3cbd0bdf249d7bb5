"""In-app messages: a doctor sees what the clinic told them (a booking, a cancellation, an arrival)."""
from __future__ import annotations

from app.accounts.models import Role
from app.extensions import db
from app.notifications.models import Channel
from app.notifications.services import notification_queue


def _tell(app, user_id: int, text: str, key: str) -> None:
    with app.app_context():
        notification_queue(dedupe_key=key, channel=Channel.IN_APP, user_id=user_id, body=text)
        db.session.commit()


def test_a_doctor_sees_new_messages_counted_and_can_mark_them_read(app, signed_in):
    browser, doctor = signed_in(Role.DOCTOR)
    _tell(app, doctor.id, "New booking: Tue 02 Mar, 09:00.", "t1")
    _tell(app, doctor.id, "Cancelled by the patient: Wed 03 Mar, 10:00.", "t2")
    home = browser.get("/doctor/").get_data(as_text=True)
    assert 'id="inbox-link"' in home and '<span class="badge badge-info">2</span>' in home
    inbox = browser.get("/inbox/").get_data(as_text=True)
    assert "New booking: Tue 02 Mar, 09:00." in inbox and "Cancelled by the patient" in inbox
    assert browser.post("/inbox/read", page="/inbox/").status_code == 303
    home = browser.get("/doctor/").get_data(as_text=True)
    assert '<span class="badge badge-info">' not in home.split('id="inbox-link"')[1].split("</a>")[0]


def test_nobody_reads_anothers_messages(app, signed_in):
    _, doctor = signed_in(Role.DOCTOR)
    other, _ = signed_in(Role.DOCTOR)
    _tell(app, doctor.id, "Arrived for 09:00.", "t3")
    assert "Arrived for 09:00." not in other.get("/inbox/").get_data(as_text=True)
    assert other.get("/inbox/").status_code == 200


def test_the_inbox_needs_a_signed_in_user(browser):
    response = browser.get("/inbox/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
