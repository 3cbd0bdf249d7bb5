"""Cancelling, moving, and the day's flow: arrived, with the doctor, done, no-show."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.notifications.models import Channel
from app.scheduling import queries
from app.scheduling.services import (
    AlreadyDone,
    DoctorWithPatient,
    SlotTaken,
    appointment_advance,
    appointment_cancel,
    appointment_reschedule,
)
from app.scheduling.slots import free_slots
from tests.conftest import second_waits_on_first
from tests.scheduling.conftest import MONDAY, TUESDAY, appointment, at, notifications


@pytest.fixture
def booked(app, doctor, patient_account, book, freeze):
    """A patient's 11:00 appointment on Monday, booked the Friday before; returns (patient user, patient, id)."""
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno", phone="+254712000001")
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 11))
    return user, patient, appointment_id


def is_free(doctor_id: int, day: dt.date, starts_at: dt.datetime) -> bool:
    return starts_at in [s.starts_at for s in free_slots(doctor_id, day)]


# -- cancelling ------------------------------------------------------------------------------------------------

def test_a_patient_cancels_before_the_cutoff_and_the_slot_is_free_at_once(app_ctx, doctor, booked, freeze):
    user, patient, appointment_id = booked
    freeze(at(MONDAY, 8, 59))  # 2 h 01 min before
    assert not is_free(doctor.id, MONDAY, at(MONDAY, 11))
    appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    db.session.commit()
    cancelled = appointment(appointment_id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_by_id == user.id
    assert is_free(doctor.id, MONDAY, at(MONDAY, 11))
    # The doctor is told (in the app); the patient, who did it, is not.
    told = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:doctor")
    assert len(told) == 1 and told[0].user_id == doctor.id and told[0].channel == Channel.IN_APP.value


def test_a_patient_cannot_cancel_after_the_cutoff(app_ctx, doctor, booked, freeze, app):
    user, patient, appointment_id = booked
    freeze(at(MONDAY, 9, 1))  # 1 h 59 min before; the cutoff is 120 minutes
    assert app.config["CANCEL_CUTOFF_MINUTES"] == 120
    with pytest.raises(DomainError) as refused:
        appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    assert refused.value.message == "Appointments can be changed online up to 2 hours before. Please call the clinic."
    db.session.rollback()
    assert appointment(appointment_id).status == "booked"


def test_staff_must_give_a_reason_and_may_cancel_at_any_time(app_ctx, doctor, booked, freeze, make_user):
    user, patient, appointment_id = booked
    desk = make_user(Role.RECEPTION)
    freeze(at(MONDAY, 10, 50))
    for reason in (None, "   "):
        with pytest.raises(DomainError) as refused:
            appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id, reason=reason)
        assert refused.value.field == "reason" and "Give a reason" in refused.value.message
    appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id,
                       reason="Doctor called away: suspected malaria outbreak")
    db.session.commit()
    assert appointment(appointment_id).status == "cancelled"
    assert is_free(doctor.id, MONDAY, at(MONDAY, 11))


def test_a_cancellation_by_the_clinic_tells_the_patient_without_the_reason_by_sms(app_ctx, doctor, booked, make_user):
    user, patient, appointment_id = booked
    desk = make_user(Role.RECEPTION)
    reason = "Doctor unwell with influenza"
    appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id, reason=reason)
    db.session.commit()
    sms = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:sms")
    email = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:email")
    assert len(sms) == 1 and len(email) == 1
    assert sms[0].to_address == "+254712000001" and email[0].to_address == user.email
    assert "cancelled" in sms[0].body and "11:00" in sms[0].body
    assert "influenza" not in sms[0].body.lower() and "unwell" not in sms[0].body.lower()
    assert len(sms[0].body) <= 160
    # The doctor hears of it too (someone else cancelled).
    assert len(notifications(dedupe_key=f"appt:{appointment_id}:cancelled:doctor")) == 1


def test_the_doctor_cancels_their_own_appointment_with_a_reason(app_ctx, doctor, booked):
    user, patient, appointment_id = booked
    appointment_cancel(actor=Actor.for_user(doctor), appointment_id=appointment_id, reason="Away at a conference")
    db.session.commit()
    assert appointment(appointment_id).status == "cancelled"
    assert notifications(dedupe_key=f"appt:{appointment_id}:cancelled:doctor") == []  # no need to tell oneself
    assert len(notifications(dedupe_key=f"appt:{appointment_id}:cancelled:sms")) == 1


def test_another_doctor_cannot_cancel(app_ctx, booked, make_user):
    _, _, appointment_id = booked
    stranger = make_user(Role.DOCTOR)
    with pytest.raises(NotFound):
        appointment_cancel(actor=Actor.for_user(stranger), appointment_id=appointment_id, reason="mine now")


def test_a_finished_appointment_cannot_be_cancelled(app_ctx, booked, make_user):
    _, _, appointment_id = booked
    desk = make_user(Role.RECEPTION)
    appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id, reason="first")
    db.session.commit()
    with pytest.raises(DomainError, match="cancelled: it cannot be changed"):
        appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id, reason="again")


# -- moving ---------------------------------------------------------------------------------------------------

def test_a_patient_moves_an_appointment(app_ctx, doctor, booked):
    user, patient, old_id = booked
    new = appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 9),
                                 idempotency_key="m" * 24)
    db.session.commit()
    old, new = appointment(old_id), appointment(new.id)
    assert old.status == "cancelled" and old.cancel_reason.startswith("moved")
    assert new.status == "booked" and new.rescheduled_from_id == old_id and new.starts_at == at(TUESDAY, 9)
    assert new.patient_id == patient.id and new.doctor_id == doctor.id
    assert is_free(doctor.id, MONDAY, at(MONDAY, 11))
    assert not is_free(doctor.id, TUESDAY, at(TUESDAY, 9))
    moved = notifications(dedupe_key=f"appt:{new.id}:moved:sms")
    assert len(moved) == 1 and "Tue 02 Mar, 09:00" in moved[0].body
    assert len(notifications(dedupe_key=f"appt:{new.id}:moved:doctor")) == 1
    # The same move submitted again changes nothing more.
    again = appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 9),
                                   idempotency_key="m" * 24)
    assert again.id == new.id


def test_a_move_to_a_taken_time_keeps_the_old_appointment(app_ctx, doctor, booked, patient_account, book):
    user, patient, old_id = booked
    other_user, other = patient_account("Baraka", "Kiprop")
    book(other_user, other.id, doctor.id, at(TUESDAY, 9))
    with pytest.raises(SlotTaken):
        appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 9))
    db.session.rollback()
    assert appointment(old_id).status == "booked"


def test_a_move_by_the_patient_respects_the_cutoff(app_ctx, doctor, booked, freeze):
    user, patient, old_id = booked
    freeze(at(MONDAY, 10))
    with pytest.raises(DomainError, match="up to 2 hours before"):
        appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 9))


def test_the_desk_moves_an_appointment_to_another_doctor(app_ctx, doctor, booked, make_user, set_hours):
    user, patient, old_id = booked
    other = make_user(Role.DOCTOR)
    set_hours(other.id, TUESDAY.weekday(), "14:00", "16:00", slot=30)
    desk = make_user(Role.RECEPTION)
    new = appointment_reschedule(actor=Actor.for_user(desk), appointment_id=old_id, starts_at=at(TUESDAY, 14),
                                 doctor_id=other.id,
                                 reason="doctor away")
    db.session.commit()
    assert appointment(new.id).doctor_id == other.id
    assert is_free(doctor.id, MONDAY, at(MONDAY, 11))


# -- the day's flow ----------------------------------------------------------------------------------------------

@pytest.fixture
def today(app, doctor, patient_account, book, freeze, make_user):
    """Monday 08:50: a 09:00 appointment; returns (appointment id, desk user)."""
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account()
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    freeze(at(MONDAY, 8, 50))
    return appointment_id, make_user(Role.RECEPTION)


def test_check_in_start_and_complete(app_ctx, doctor, today, freeze):
    appointment_id, desk = today
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    arrived = appointment(appointment_id)
    assert arrived.status == "checked_in" and arrived.checked_in_at == at(MONDAY, 8, 50)
    assert len(notifications(dedupe_key=f"appt:{appointment_id}:arrived:doctor")) == 1
    freeze(at(MONDAY, 9, 2))
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="start")
    db.session.commit()
    assert appointment(appointment_id).status == "in_consultation"
    assert appointment(appointment_id).started_at == at(MONDAY, 9, 2)
    freeze(at(MONDAY, 9, 20))
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="complete")
    db.session.commit()
    done = appointment(appointment_id)
    assert done.status == "completed" and done.completed_at == at(MONDAY, 9, 20)


def test_a_second_check_in_is_told_and_changes_nothing(app_ctx, today, freeze):
    appointment_id, desk = today
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    freeze(at(MONDAY, 8, 55))
    with pytest.raises(AlreadyDone, match="already arrived: nothing was changed"):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.rollback()
    assert appointment(appointment_id).checked_in_at == at(MONDAY, 8, 50)  # the first arrival stands


@pytest.mark.parametrize("role, action", [(Role.PATIENT, "check_in"), (Role.RECEPTION, "start"),
                                          (Role.RECEPTION, "complete"), (Role.LAB, "check_in")])
def test_only_the_right_people_move_the_flow(app_ctx, today, make_user, role, action):
    appointment_id, _ = today
    with pytest.raises(NotFound):
        appointment_advance(actor=Actor.for_user(make_user(role)), appointment_id=appointment_id, action=action)


def test_steps_out_of_order_are_refused(app_ctx, doctor, today):
    appointment_id, desk = today
    with pytest.raises(DomainError, match="This appointment is booked"):
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="complete")
    with pytest.raises(NotFound):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="teleport")


def test_only_todays_appointments_are_checked_in(app_ctx, doctor, today, patient_account, book, freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Baraka", "Kiprop")
    tomorrow = book(user, patient.id, doctor.id, at(TUESDAY, 9))
    freeze(at(MONDAY, 8, 50))
    _, desk = today
    with pytest.raises(DomainError, match="Only today's appointments"):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=tomorrow, action="check_in")


def test_no_show_only_after_the_grace_period(app_ctx, today, freeze, app):
    appointment_id, desk = today
    assert app.config["NO_SHOW_GRACE_MINUTES"] == 15
    freeze(at(MONDAY, 9, 14))
    with pytest.raises(DomainError) as refused:
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    assert refused.value.message == "A patient can be marked absent 15 minutes after the start, at 09:15."
    db.session.rollback()
    freeze(at(MONDAY, 9, 15))
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    db.session.commit()
    assert appointment(appointment_id).status == "no_show"


def test_a_patient_who_arrived_is_not_a_no_show(app_ctx, today, freeze):
    appointment_id, desk = today
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    freeze(at(MONDAY, 10))
    with pytest.raises(DomainError, match="This appointment is arrived"):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")


def test_no_show_counts_and_rates(app_ctx, doctor, make_user, set_hours, patient_account, book, freeze):
    other = make_user(Role.DOCTOR, full_name="Dr Zuberi")
    set_hours(other.id, 0, "08:00", "12:00", slot=30)
    desk = make_user(Role.RECEPTION)
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    absent_user, absent = patient_account("Absent", "Often")
    present_user, present = patient_account("Present", "Always")
    plan = [  # (doctor, patient user, patient, starts at, outcome)
        (doctor, absent_user, absent, at(MONDAY, 8), "no_show"), (doctor, present_user, present, at(MONDAY, 8, 30), "complete"),
        (other, absent_user, absent, at(MONDAY, 9), "no_show"), (doctor, present_user, present, at(MONDAY, 9), "complete"),
        (doctor, absent_user, absent, at(MONDAY, 10), "complete"), (doctor, present_user, present, at(MONDAY, 11), "cancel"),
    ]
    ids = [book(user, patient.id, who.id, starts_at) for who, user, patient, starts_at, _ in plan]
    freeze(at(MONDAY, 12))
    for (who, user, patient, starts_at, outcome), appointment_id in zip(plan, ids):
        if outcome == "no_show":
            appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
        elif outcome == "complete":
            appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
            appointment_advance(actor=Actor.for_user(who), appointment_id=appointment_id, action="start")
            appointment_advance(actor=Actor.for_user(who), appointment_id=appointment_id, action="complete")
        else:
            appointment_cancel(actor=Actor.for_user(desk), appointment_id=appointment_id, reason="clinic closed")
    db.session.commit()
    assert queries.no_show_counts([absent.id, present.id]) == {absent.id: 2}
    clinic, per_doctor = queries.no_show_rates(since=at(MONDAY, 0))
    assert (clinic.no_shows, clinic.attended) == (2, 3) and clinic.rate == pytest.approx(0.4)
    rates = {r.label: (r.no_shows, r.attended) for r in per_doctor}
    assert rates == {doctor.full_name: (1, 3), "Dr Zuberi": (1, 0)}
    clinic, _ = queries.no_show_rates(since=at(TUESDAY, 0))
    assert (clinic.no_shows, clinic.attended, clinic.rate) == (0, 0, 0.0)


def test_the_desk_sees_a_patients_no_shows_in_the_queue(signed_in, app, doctor, patient_account, book, freeze):
    freeze(at(MONDAY - dt.timedelta(days=10), 10))
    user, patient = patient_account("Absent", "Often")
    earlier = book(user, patient.id, doctor.id, at(MONDAY - dt.timedelta(days=7), 9))
    book(user, patient.id, doctor.id, at(MONDAY, 10))
    freeze(at(MONDAY - dt.timedelta(days=7), 10))
    with app.app_context():
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=earlier, action="no_show")
        db.session.commit()
    freeze(at(MONDAY, 8))
    browser, desk = signed_in(Role.RECEPTION)
    page = browser.get("/reception/appointments/queue").get_data(as_text=True)
    assert "Absent Often" in page and "1 no-show" in page


def test_the_admin_sees_no_show_rates(signed_in, app, doctor, patient_account, book, freeze):
    user, patient = patient_account()
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    absent = book(user, patient.id, doctor.id, at(MONDAY, 8))
    attended = book(user, patient.id, doctor.id, at(MONDAY, 9))
    freeze(at(MONDAY, 10))
    with app.app_context():
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=absent, action="no_show")
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=attended, action="check_in")
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=attended, action="start")
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=attended, action="complete")
        db.session.commit()
    browser, _ = signed_in(Role.ADMIN)
    page = browser.get("/admin/doctors/?days=30").get_data(as_text=True)
    rates = page[page.index('id="no-show-rates"'):]
    assert "<strong>50 %</strong>" in rates and doctor.full_name in rates


def test_the_buttons_each_role_is_offered_follow_the_flow_rules(app_ctx, doctor, today, freeze):
    from app.scheduling.services import appointment_actions

    appointment_id, desk = today
    desk_offers, doctor_offers = ("check_in", "no_show"), ("check_in", "start", "complete", "no_show")
    booked = appointment(appointment_id)
    # 08:50 for 09:00: the patient may still come; nobody is "with the doctor" who has not arrived.
    assert appointment_actions(booked, role="reception", offered=desk_offers) == ["check_in"]
    assert appointment_actions(booked, role="doctor", offered=doctor_offers) == ["check_in"]
    assert appointment_actions(booked, role="patient", offered=desk_offers) == []
    freeze(at(MONDAY, 9, 15))  # the grace period is over: now they may be marked absent
    assert appointment_actions(booked, role="reception", offered=desk_offers) == ["check_in", "no_show"]
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    arrived = appointment(appointment_id)
    assert appointment_actions(arrived, role="reception", offered=desk_offers) == []
    assert appointment_actions(arrived, role="doctor", offered=doctor_offers) == ["start"]  # not "Mark done"
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="start")
    db.session.commit()
    assert appointment_actions(appointment(appointment_id), role="doctor", offered=doctor_offers) == ["complete"]
    freeze(at(TUESDAY, 9))  # another day: nothing is offered on a past day's list
    assert appointment_actions(arrived, role="doctor", offered=doctor_offers) == []


def test_a_visit_starts_only_after_arrival_and_ends_only_after_it_started(app_ctx, doctor, today):
    appointment_id, desk = today
    with pytest.raises(DomainError, match="This appointment is booked"):
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="start")
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    with pytest.raises(DomainError, match="This appointment is arrived"):
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="complete")
    db.session.rollback()
    assert appointment(appointment_id).status == "checked_in"


def test_a_second_patient_with_the_doctor_needs_an_explicit_choice(app_ctx, doctor, today, patient_account, book,
                                                                   freeze):
    first_id, desk = today
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Baraka", "Kiprop")
    second_id = book(user, patient.id, doctor.id, at(MONDAY, 9, 30))
    freeze(at(MONDAY, 9, 5))
    for appointment_id in (first_id, second_id):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=first_id, action="start")
    db.session.commit()
    with pytest.raises(DoctorWithPatient) as busy:
        appointment_advance(actor=Actor.for_user(doctor), appointment_id=second_id, action="start")
    assert busy.value.message == "Dr Wanjiku Mwangi is already with Amani Otieno (since 09:05)."
    db.session.rollback()
    assert appointment(second_id).status == "checked_in"
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=second_id, action="start", alongside=True)
    db.session.commit()
    assert (appointment(first_id).status, appointment(second_id).status) == ("in_consultation", "in_consultation")


def test_two_starts_for_different_patients_at_the_same_instant_let_one_through(app, doctor, today, patient_account,
                                                                               book, freeze):
    """Two "Start visit" clicks for two arrived patients of one doctor (two tabs) at the same instant:
    the first start is written but not yet committed when the second checks whether the doctor is
    free. Unless the check and the write are atomic per doctor, the second sees nobody with the doctor
    and both patients end up "with the doctor". The second must wait for the first, then be asked."""
    first_id, desk = today
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Baraka", "Kiprop")
    second_id = book(user, patient.id, doctor.id, at(MONDAY, 9, 30))
    freeze(at(MONDAY, 9, 5))
    with app.app_context():
        for appointment_id in (first_id, second_id):
            appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
        db.session.commit()

    def start(appointment_id: int):
        return lambda: appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="start")

    with app.app_context():
        second = second_waits_on_first(app, start(first_id), start(second_id))
    assert isinstance(second, DoctorWithPatient), second
    assert second.message.startswith("Dr Wanjiku Mwangi is already with Amani Otieno")
    with app.app_context():
        assert (appointment(first_id).status, appointment(second_id).status) == ("in_consultation", "checked_in")


def test_of_two_check_ins_at_once_the_database_lets_one_through_and_tells_the_other(app_ctx, app, today):
    """The loser read the appointment as booked, then the other desk's check-in committed: the
    conditional update finds nothing to change, and the loser is told instead of writing over it."""
    from sqlalchemy import update

    from app.scheduling.models import Appointment

    appointment_id, desk = today
    stale = appointment(appointment_id)
    assert stale.status == "booked"
    with db.engine.begin() as other_desk:
        other_desk.execute(update(Appointment).where(Appointment.id == appointment_id)
                           .values(status="checked_in", checked_in_at=at(MONDAY, 8, 49)))
    with pytest.raises(AlreadyDone):
        appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.rollback()
    assert appointment(appointment_id).checked_in_at == at(MONDAY, 8, 49)
