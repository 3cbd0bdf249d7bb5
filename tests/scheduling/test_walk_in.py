"""A walk-in seen today in two steps at the desk: the doctors who can see them and when (the slot under
way if nobody has it, or the next free time), then one tap books them, already arrived."""
from __future__ import annotations

import datetime as dt

from app.accounts.models import Role
from tests.scheduling.conftest import MONDAY, appointment, at, notifications


def test_the_desk_sees_a_walk_in_now_in_two_steps(app, doctor, patient_account, make_patient, book, signed_in, freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, booked_patient = patient_account("Baraka", "Kiprop")
    book(user, booked_patient.id, doctor.id, at(MONDAY, 10, 30))
    walk_in = make_patient(given_name="Zawadi", family_name="Kimani", phone="+254722111222")
    freeze(at(MONDAY, 10, 40))  # 10:30 is Baraka's; 11:00 is the next free time
    desk, _ = signed_in(Role.RECEPTION)
    record = desk.get(f"/reception/patients/{walk_in.id}").get_data(as_text=True)
    assert f'href="/reception/appointments/walk-in?patient={walk_in.id}"' in record
    step_one = desk.get(f"/reception/appointments/walk-in?patient={walk_in.id}").get_data(as_text=True)
    assert "Dr Wanjiku Mwangi · at 11:00" in step_one and 'value="2027-03-01T08:00Z"' in step_one
    done = desk.post(f"/reception/appointments/walk-in?patient={walk_in.id}",
                     {"doctor_id": str(doctor.id), "starts_at": "2027-03-01T08:00Z"}, page="/reception/")
    assert done.status_code == 303 and done.headers["Location"].endswith("/reception/")
    queue = desk.get("/reception/").get_data(as_text=True)
    assert "Zawadi Kimani is checked in for Dr Wanjiku Mwangi at 11:00." in queue
    arrived = queue[queue.index('id="queue-arrived"'):queue.index('id="queue-with-doctor"')]
    assert "Zawadi Kimani" in arrived
    with app.app_context():
        told = [n for n in notifications(user_id=doctor.id) if "Zawadi" in n.body]
        assert [n.body for n in told] == ["Zawadi Kimani walked in: waiting for 11:00."]  # one notice, not two
        new_id = int(told[0].dedupe_key.split(":")[1])
        assert appointment(new_id).status == "checked_in"


def test_the_slot_under_way_is_offered_if_nobody_has_it_and_a_stale_choice_is_refused(
        app, doctor, make_patient, signed_in, freeze):
    walk_in = make_patient(given_name="Zawadi", family_name="Kimani")
    freeze(at(MONDAY, 9, 10))
    desk, _ = signed_in(Role.RECEPTION)
    page = desk.get(f"/reception/appointments/walk-in?patient={walk_in.id}").get_data(as_text=True)
    assert "Dr Wanjiku Mwangi · now (09:00)" in page
    stale = desk.post(f"/reception/appointments/walk-in?patient={walk_in.id}",
                      {"doctor_id": str(doctor.id), "starts_at": "2027-03-01T05:30Z"}, page="/reception/")  # 08:30: over
    assert stale.status_code == 303
    assert "That time is no longer free. Choose again." in desk.get(stale.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert notifications(user_id=doctor.id) == []
