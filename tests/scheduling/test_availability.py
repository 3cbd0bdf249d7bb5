"""Setting hours: impossible definitions refused clearly; changes never drop a booking; the pages."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.core.errors import DomainError
from app.extensions import db
from app.scheduling.availability import HoursInput, availability_conflicts, exception_add, weekly_hours_set
from app.scheduling.models import AvailabilityException, ExceptionKind, WeeklyHours
from tests.scheduling.conftest import MONDAY, appointment, at, hm

pytestmark = pytest.mark.usefixtures("the_week_before")


@pytest.fixture
def the_week_before(freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))


def hours_of(doctor_id: int, weekday: int) -> list[tuple[str, str, int]]:
    rows = db.session.execute(select(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id, WeeklyHours.weekday == weekday)
                              .order_by(WeeklyHours.start).execution_options(populate_existing=True)).scalars()
    return [(f"{h.start:%H:%M}", f"{h.end:%H:%M}", h.slot_minutes) for h in rows]


# -- the rules ------------------------------------------------------------------------------------------------

def test_overlapping_hours_on_one_weekday_are_refused(app_ctx, doctor):
    with pytest.raises(DomainError) as refused:
        weekly_hours_set(doctor_id=doctor.id, weekday=0, intervals=[
            HoursInput(hm("08:00"), hm("12:00"), 30), HoursInput(hm("11:00"), hm("15:00"), 30)])
    assert refused.value.message == "08:00–12:00 overlaps 11:00–15:00."
    db.session.rollback()
    assert hours_of(doctor.id, 0) == [("08:00", "12:00", 30)]  # unchanged


@pytest.mark.parametrize("hours, field, message", [
    (HoursInput(hm("12:00"), hm("08:00"), 30), "end", "The day must end after it starts."),
    (HoursInput(hm("08:00"), hm("08:00"), 30), "end", "The day must end after it starts."),
    (HoursInput(hm("08:00"), hm("12:00"), 30, hm("13:00"), hm("13:30")), "break_start", "The break must lie inside"),
    (HoursInput(hm("08:00"), hm("12:00"), 30, hm("07:30"), hm("08:30")), "break_start", "The break must lie inside"),
    (HoursInput(hm("08:00"), hm("12:00"), 30, hm("10:30"), hm("10:00")), "break_start", "The break must lie inside"),
    (HoursInput(hm("08:00"), hm("12:00"), 30, hm("10:00"), None), "break_end", "both the start and the end of the break"),
    (HoursInput(hm("08:00"), hm("08:20"), 30), "slot_minutes", "Not even one slot fits"),
    (HoursInput(hm("08:00"), hm("12:00"), 3), "slot_minutes", "from 5 to 240 minutes"),
])
def test_impossible_hours_are_refused_beside_the_right_field(app_ctx, doctor, hours, field, message):
    with pytest.raises(DomainError) as refused:
        weekly_hours_set(doctor_id=doctor.id, weekday=0, intervals=[hours])
    assert refused.value.field == field
    assert message in refused.value.message


@pytest.mark.parametrize("kwargs, field, message", [
    ({"first_day": MONDAY - dt.timedelta(days=7)}, "first_day", "That date has passed."),
    ({"first_day": MONDAY, "last_day": MONDAY - dt.timedelta(days=1)}, "last_day", "The last day comes before the first."),
    ({"first_day": MONDAY, "start": hm("10:00")}, "end", "Give both times"),
    ({"first_day": MONDAY, "start": hm("10:00"), "end": hm("09:00")}, "end", "The end must come after the start."),
    ({"first_day": MONDAY, "last_day": MONDAY + dt.timedelta(days=400)}, "last_day", "at most a year"),
])
def test_impossible_leave_is_refused(app_ctx, doctor, kwargs, field, message):
    with pytest.raises(DomainError) as refused:
        exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, **kwargs)
    assert (refused.value.field, message in refused.value.message) == (field, True)


def test_extra_hours_need_times(app_ctx, doctor):
    with pytest.raises(DomainError, match="Extra hours need a start and an end time"):
        exception_add(doctor_id=doctor.id, kind=ExceptionKind.EXTRA, first_day=MONDAY)


def test_a_change_of_hours_lists_the_bookings_now_outside_them_and_keeps_them(app_ctx, doctor, patient_account, book,
                                                                             set_hours):
    user, patient = patient_account()
    early = book(user, patient.id, doctor.id, at(MONDAY, 8))
    late = book(user, patient.id, doctor.id, at(MONDAY, 11))
    conflicts = set_hours(doctor.id, 0, "08:00", "10:00", slot=30)
    assert conflicts == [late]
    assert appointment(late).status == "booked" and appointment(early).status == "booked"
    # The day off altogether: both conflict, both stand.
    assert set_hours(doctor.id, 0, None) == [early, late]
    assert appointment(late).status == "booked"
    # Leave conflicts the same way.
    set_hours(doctor.id, 0, "08:00", "12:00", slot=30)
    conflicts = exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=MONDAY, start=hm("10:30"),
                              end=hm("12:00"))
    assert [a.id for a in conflicts] == [late]


def test_past_appointments_are_not_conflicts(app_ctx, doctor, patient_account, book, freeze):
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(MONDAY, 11))
    freeze(at(MONDAY, 12))
    assert availability_conflicts(doctor_id=doctor.id) == []


# -- the pages ------------------------------------------------------------------------------------------------

HOURS_PAGE = "/doctor/appointments/availability"


def field_error(page: str, field_id: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return match.group(1) if match else None


def assert_labels_point_at_one_field_each(page: str) -> None:
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert len(re.findall(rf'\bid="{re.escape(target)}"', page)) == 1, f'id "{target}" is not unique'


def test_the_hours_page_shows_the_week_and_has_unambiguous_labels(signed_in):
    browser, me = signed_in(Role.DOCTOR)
    response = browser.get(HOURS_PAGE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Working hours" in page and "Not working" in page
    assert_labels_point_at_one_field_each(page)


def test_a_doctor_saves_a_days_hours(signed_in, app):
    browser, me = signed_in(Role.DOCTOR)
    response = browser.post(f"{HOURS_PAGE}/hours", {"weekday": "2", "start": "09:00", "end": "13:00", "slot_minutes": "20",
                                                    "break_start": "11:00", "break_end": "11:20"}, page=HOURS_PAGE)
    assert response.status_code == 303
    with app.app_context():
        assert hours_of(me.id, 2) == [("09:00", "13:00", 20)]
    page = browser.get(HOURS_PAGE).get_data(as_text=True)
    assert "09:00–13:00" in page and "11:00–11:20" in page


@pytest.mark.parametrize("form, field_id, message", [
    ({"start": "12:00", "end": "08:00"}, "end", "The day must end after it starts."),
    ({"start": "08:00", "end": "12:00", "break_start": "13:00", "break_end": "13:30"}, "break_start",
     "The break must lie inside the working hours."),
    ({"start": "08:00", "end": ""}, "end", "Give both times, or neither to take the day off."),
    ({"start": "08:00", "end": "12:00", "slot_minutes": "1"}, "slot_minutes", "From 5 to 240 minutes."),
    ({"start": "8 o'clock", "end": "12:00"}, "start", "Not a valid time value."),
])
def test_refused_hours_show_the_message_beside_the_field_and_keep_the_input(signed_in, app, form, field_id, message):
    browser, me = signed_in(Role.DOCTOR)
    data = {"weekday": "0", "slot_minutes": "30", **form}
    response = browser.post(f"{HOURS_PAGE}/hours", data, page=HOURS_PAGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, field_id) == message.replace("'", "&#39;")
    for name in ("start", "end", "break_start"):
        if form.get(name) and ":" in form[name]:
            assert f'name="{name}" type="time" value="{form[name]}"' in page, f"{name} was not kept"
    assert '<option selected value="0">Monday</option>' in page
    with app.app_context():
        assert hours_of(me.id, 0) == []


def test_refused_leave_shows_the_message_beside_the_field_and_keeps_the_note(signed_in, freeze):
    browser, me = signed_in(Role.DOCTOR)
    response = browser.post(f"{HOURS_PAGE}/exceptions", {"kind": "leave", "first_day": "2027-02-01", "note": "Conference"},
                            page=HOURS_PAGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "first_day") == "That date has passed."
    assert 'value="Conference"' in page and 'value="2027-02-01"' in page
    assert_labels_point_at_one_field_each(page)


def test_refused_extra_hours_show_the_message_beside_the_field(signed_in):
    browser, me = signed_in(Role.DOCTOR)
    response = browser.post(f"{HOURS_PAGE}/exceptions", {"kind": "extra", "first_day": "2027-03-06", "start": "10:00",
                                                         "end": "09:00"}, page=HOURS_PAGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = re.findall(r'<p class="error" id="([^"]+)-error">([^<]*)</p>', page)
    # beside the exception form's "To time", not the weekly form's "To"
    assert errors == [("exception_end", "The end must come after the start.")]
    assert '<label for="exception_end">To time</label>' in page


def test_leave_is_added_and_removed_from_the_page(signed_in, app):
    browser, me = signed_in(Role.DOCTOR)
    response = browser.post(f"{HOURS_PAGE}/exceptions", {"kind": "leave", "first_day": "2027-03-01", "last_day": "2027-03-03",
                                                         "note": "Conference"}, page=HOURS_PAGE)
    assert response.status_code == 303
    with app.app_context():
        leave = db.session.execute(select(AvailabilityException)).scalar_one()
        assert (leave.doctor_id, leave.first_day, leave.last_day) == (me.id, MONDAY, dt.date(2027, 3, 3))
    page = browser.get(HOURS_PAGE).get_data(as_text=True)
    assert "Conference" in page
    response = browser.post(f"{HOURS_PAGE}/exceptions/{leave.id}/delete", {"confirmed": "yes"}, page=HOURS_PAGE)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.execute(select(AvailabilityException)).first() is None


def test_a_doctor_cannot_remove_another_doctors_leave(signed_in, make_user, app):
    other = make_user(Role.DOCTOR)
    with app.app_context():
        exception_add(doctor_id=other.id, kind=ExceptionKind.LEAVE, first_day=MONDAY)
        db.session.commit()
        leave_id = db.session.execute(select(AvailabilityException.id)).scalar_one()
    browser, me = signed_in(Role.DOCTOR)
    assert browser.post(f"{HOURS_PAGE}/exceptions/{leave_id}/delete", {"confirmed": "yes"}, page=HOURS_PAGE).status_code == 404
    with app.app_context():
        assert db.session.get(AvailabilityException, leave_id) is not None


def test_the_page_lists_conflicts_after_a_change(signed_in, set_hours, patient_account, book, app):
    browser, me = signed_in(Role.DOCTOR)
    set_hours(me.id, 0, "08:00", "12:00", slot=30)
    user, patient = patient_account("Zawadi", "Achieng")
    book(user, patient.id, me.id, at(MONDAY, 11))
    response = browser.post(f"{HOURS_PAGE}/hours", {"weekday": "0", "start": "08:00", "end": "10:00", "slot_minutes": "30"},
                            page=HOURS_PAGE)
    assert response.status_code == 303
    page = browser.get(HOURS_PAGE).get_data(as_text=True)
    assert "1 booking is now outside your hours" in page
    conflicts = page[page.index('id="conflicts"'):]
    assert "Zawadi Achieng" in conflicts and "Mon 01 Mar 2027, 11:00" in conflicts


def test_an_admin_edits_a_doctors_hours(signed_in, make_user, app):
    doctor = make_user(Role.DOCTOR, full_name="Dr Otieno")
    browser, admin = signed_in(Role.ADMIN)
    url = f"/admin/doctors/{doctor.id}/availability"
    response = browser.get(url)
    assert response.status_code == 200 and "Dr Otieno" in response.get_data(as_text=True)
    response = browser.post(f"{url}/hours", {"weekday": "4", "start": "14:00", "end": "17:00", "slot_minutes": "15"}, page=url)
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    refused = browser.post(f"{url}/hours", {"weekday": "4", "start": "17:00", "end": "14:00", "slot_minutes": "15"}, page=url)
    assert refused.status_code == 422 and field_error(refused.get_data(as_text=True), "end") == "The day must end after it starts."
    with app.app_context():
        assert hours_of(doctor.id, 4) == [("14:00", "17:00", 15)]
        assert hours_of(admin.id, 4) == []


def test_an_admin_cannot_give_hours_to_someone_who_is_not_a_doctor(signed_in, make_user):
    clerk = make_user(Role.RECEPTION)
    browser, _ = signed_in(Role.ADMIN)
    assert browser.get(f"/admin/doctors/{clerk.id}/availability").status_code == 404
    assert browser.post(f"/admin/doctors/{clerk.id}/availability/hours",
                        {"weekday": "0", "start": "08:00", "end": "12:00", "slot_minutes": "15"},
                        page="/admin/doctors/").status_code == 404


@pytest.mark.parametrize("role", [Role.PATIENT, Role.RECEPTION])
def test_only_doctors_and_admins_edit_hours(signed_in, role, make_user):
    doctor = make_user(Role.DOCTOR)
    browser, _ = signed_in(role)
    assert browser.get(HOURS_PAGE).status_code == 403
    assert browser.get(f"/admin/doctors/{doctor.id}/availability").status_code == 403


def test_an_admin_cancels_a_conflicting_booking_from_the_hours_page(signed_in, set_hours, patient_account, book, app):
    doctor_browser, doctor = signed_in(Role.DOCTOR)
    set_hours(doctor.id, 0, "08:00", "12:00", slot=30)
    user, patient = patient_account("Zawadi", "Achieng")
    booking = book(user, patient.id, doctor.id, at(MONDAY, 11))
    set_hours(doctor.id, 0, "08:00", "10:00", slot=30)
    browser, _ = signed_in(Role.ADMIN)
    url = f"/admin/doctors/{doctor.id}/availability"
    page = browser.get(url).get_data(as_text=True)
    cancel = f"/admin/doctors/appointments/{booking}/cancel"
    assert f'href="{cancel}"' in page
    refused = browser.post(cancel, {"reason": ""}, page=cancel)
    assert refused.status_code == 422 and "Give a reason: the patient will be told." in refused.get_data(as_text=True)
    assert appointment_status(app, booking) == "booked"
    done = browser.post(cancel, {"reason": "Hours changed"}, page=cancel)
    assert done.status_code == 303 and done.headers["Location"].endswith(url)
    assert appointment_status(app, booking) == "cancelled"
    assert 'id="conflicts"' not in browser.get(url).get_data(as_text=True)


def appointment_status(app, appointment_id: int) -> str:
    with app.app_context():
        return appointment(appointment_id).status
