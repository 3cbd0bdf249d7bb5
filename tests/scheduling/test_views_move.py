"""Moving an appointment on the phone: the week opens on a day with free times and marks which days
have them, nothing moves before the patient confirms, and in person / video can be switched."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.notifications.models import Channel
from app.scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY, THURSDAY, TUESDAY, appointment, at, notifications

WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def thursdays(app, doctor, patient_account, book, freeze, signed_in):
    """Amani's Thursday 09:00, booked last week; Monday 11:45 now (no free time left today);
    (browser signed in as Amani, the appointment's id)."""
    from tests.conftest import Browser

    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno")
    appointment_id = book(user, patient.id, doctor.id, at(THURSDAY, 9))
    freeze(at(MONDAY, 11, 45))
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser, appointment_id


def test_move_opens_on_the_first_day_with_free_times_and_marks_the_days_that_have_them(thursdays, doctor, freeze):
    browser, appointment_id = thursdays
    opened = browser.get(f"/patient/appointments/{appointment_id}/move")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"move?doctor={doctor.id}")
    html = browser.get(opened.headers["Location"]).get_data(as_text=True)
    assert re.search(f'day={TUESDAY.isoformat()}"[^>]*aria-current="date"', html)  # not an empty today
    start = html.index('<nav class="week"')
    week = html[start:html.index("</nav>", start)]
    chips = dict(re.findall(r'day=(\d{4}-\d\d-\d\d)[^>]*>[^<]*<small>([^<]+)</small>', week))
    assert chips[TUESDAY.isoformat()] == chips[WEDNESDAY.isoformat()] == "free times"
    assert chips[(MONDAY + dt.timedelta(days=5)).isoformat()] == "no free time"  # Saturday: not working
    assert chips[MONDAY.isoformat()] == "no free time"  # today: nothing left after 11:45
    assert f'class="chip chip-free" href="/patient/appointments/{appointment_id}/move?doctor={doctor.id}&amp;day=' \
           f'{TUESDAY.isoformat()}' in week


def test_a_time_asks_first_then_moves_and_may_switch_to_video(app, thursdays, doctor):
    browser, appointment_id = thursdays
    day = browser.get(f"/patient/appointments/{appointment_id}/move?doctor={doctor.id}&day={TUESDAY.isoformat()}")
    html = day.get_data(as_text=True)
    slots = html[html.rindex("<form", 0, html.index('class="slots"')):]
    assert slots.startswith('<form method="get"') and 'name="start" value="2027-03-02T07:00Z"' in slots  # 10:00
    asked = browser.get(f"/patient/appointments/{appointment_id}/move?doctor={doctor.id}&start=2027-03-02T07:00Z")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Move the appointment?" in page
    assert "Thu 04 Mar 2027, 09:00" in page and "Tue 02 Mar 2027, 10:00" in page
    assert re.search(r'<input checked[^>]*value="in_person"', page)  # the way it was booked, until changed
    with app.app_context():
        assert appointment(appointment_id).status == "booked"  # nothing moved yet
        before = len(notifications(user_id=doctor.id, channel=Channel.IN_APP.value))
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    moved = browser.post(f"/patient/appointments/{appointment_id}/move",
                         {"starts_at": "2027-03-02T07:00Z", "doctor_id": str(doctor.id), "idempotency_key": key,
                          "mode": "video"}, page="/patient/appointments/")
    assert moved.status_code == 303
    with app.app_context():
        new = db.session.execute(select(Appointment).where(Appointment.rescheduled_from_id == appointment_id)).scalar_one()
        assert new.starts_at == at(TUESDAY, 10) and new.is_video and new.video_token
        told = notifications(user_id=doctor.id, channel=Channel.IN_APP.value)[before:]
        assert [n.body for n in told] == ["Moved: Amani Otieno, Thu 04 Mar, 09:00 → Tue 02 Mar, 10:00."]


def test_the_list_separates_coming_past_and_cancelled(app, doctor, patient_account, book, freeze, make_user):
    from app.core.actor import Actor
    from app.scheduling.services import appointment_advance, appointment_cancel, appointment_reschedule
    from tests.conftest import Browser

    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno")
    done = book(user, patient.id, doctor.id, at(MONDAY, 8))
    cancelled = book(user, patient.id, doctor.id, at(TUESDAY, 8))
    moved = book(user, patient.id, doctor.id, at(WEDNESDAY, 8))
    with app.app_context():
        appointment_cancel(actor=Actor.for_user(user), appointment_id=cancelled)
        new = appointment_reschedule(actor=Actor.for_user(user), appointment_id=moved, starts_at=at(THURSDAY, 8)).id
        db.session.commit()
    freeze(at(MONDAY, 9))
    with app.app_context():
        desk = make_user(Role.RECEPTION)
        appointment_advance(actor=Actor.for_user(desk), appointment_id=done, action="no_show")
        db.session.commit()
    browser = Browser(app.test_client())
    browser.login(user.email)
    html = browser.get("/patient/appointments/").get_data(as_text=True)
    coming = html[html.index('id="coming-appointments"'):html.index('id="past-appointments"')]
    past = html[html.index('id="past-appointments"'):html.index('id="cancelled-appointments"')]
    gone = html[html.index('id="cancelled-appointments"'):]
    assert f'id="appointment-{new}"' in coming and f'id="appointment-{cancelled}"' not in coming
    assert f'id="appointment-{done}"' in past and f'id="appointment-{cancelled}"' not in past
    assert f'id="appointment-{cancelled}"' in gone
    assert f'id="appointment-{moved}"' not in html  # a moved time lives on as its new time


def test_the_desk_moves_through_the_same_confirmation_with_a_reason(app, thursdays, doctor, signed_in):
    _, appointment_id = thursdays
    desk, _ = signed_in(Role.RECEPTION)
    path = f"/reception/appointments/{appointment_id}/move"
    asked = desk.get(f"{path}?doctor={doctor.id}&start=2027-03-02T07:00Z").get_data(as_text=True)
    assert "Move the appointment?" in asked and 'name="reason"' in asked  # the patient is told why
    assert desk.get(f"{path}?doctor={doctor.id}&start=tomorrow").status_code == 400  # tampered: no 500
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', asked).group(1)
    moved = desk.post(path, {"starts_at": "2027-03-02T07:00Z", "doctor_id": str(doctor.id), "idempotency_key": key,
                             "mode": "in_person", "reason": "Doctor in theatre"}, page="/reception/")
    assert moved.status_code == 303
    with app.app_context():
        assert appointment(appointment_id).cancel_reason == "moved: Doctor in theatre"
