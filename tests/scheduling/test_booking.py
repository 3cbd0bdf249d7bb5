"""Booking: the rules, idempotency, and the race — the database decides who gets a time."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.notifications.models import Channel
from app.scheduling.models import Appointment, AppointmentStatus, VisitMode
from app.scheduling.services import SlotTaken, appointment_book
from app.scheduling.slots import free_slots
from tests.scheduling.conftest import MONDAY, TUESDAY, at, notifications

pytestmark = pytest.mark.usefixtures("the_week_before")


@pytest.fixture
def the_week_before(freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))  # Friday before


def count_appointments(**filters) -> int:
    query = select(func.count()).select_from(Appointment)
    for name, value in filters.items():
        query = query.where(getattr(Appointment, name) == value)
    return db.session.execute(query).scalar_one()


def test_a_patient_books_a_free_slot(app_ctx, doctor, patient_account):
    user, patient = patient_account()
    appointment = appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id,
                                   starts_at=at(MONDAY, 9), mode=VisitMode.VIDEO, reason="  Persistent cough  ",
                                   idempotency_key="a" * 24)
    db.session.commit()
    saved = db.session.get(Appointment, appointment.id, populate_existing=True)
    assert (saved.starts_at, saved.ends_at) == (at(MONDAY, 9), at(MONDAY, 9, 30))
    assert saved.status == AppointmentStatus.BOOKED.value and saved.booked_by_id == user.id
    assert saved.reason == "Persistent cough"
    assert saved.video_token and len(saved.video_token) >= 32
    stored = db.session.execute(text("SELECT reason FROM appointments WHERE id = :id"), {"id": saved.id}).scalar_one()
    assert b"cough" not in bytes(stored)  # clinical: encrypted at rest
    assert at(MONDAY, 9) not in [s.starts_at for s in free_slots(doctor.id, MONDAY)]
    channels = sorted(n.channel for n in notifications())
    # the patient (email, SMS, their inbox), the doctor (in the app)
    assert channels == [Channel.EMAIL.value, Channel.IN_APP.value, Channel.IN_APP.value, Channel.SMS.value]


def test_video_appointments_get_unique_links(app_ctx, doctor, patient_account, book):
    tokens = set()
    for hour in (8, 9, 10):
        user, patient = patient_account()
        tokens.add(appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id,
                                    starts_at=at(MONDAY, hour), mode=VisitMode.VIDEO).video_token)
    assert len(tokens) == 3


@pytest.mark.parametrize("when, message", [
    (lambda: at(MONDAY - dt.timedelta(days=7), 9), "That time has passed"),        # a Monday in the past
    (lambda: at(MONDAY, 13), "does not work at that time"),                          # after hours
    (lambda: at(MONDAY, 9, 10), "does not work at that time"),                       # not on a slot boundary
    (lambda: at(MONDAY - dt.timedelta(days=1), 9), "does not work at that time"),    # a Sunday
    (lambda: at(MONDAY + dt.timedelta(days=91), 9), "up to 90 days ahead"),          # too far ahead
])
def test_refused_times_get_a_clear_message(app_ctx, doctor, patient_account, when, message):
    user, patient = patient_account()
    with pytest.raises(DomainError) as refused:
        appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id, starts_at=when())
    assert message in refused.value.message
    db.session.rollback()
    assert count_appointments() == 0


def test_a_slot_of_another_doctors_hours_is_refused(app_ctx, doctor, make_user, set_hours, patient_account):
    other = make_user(Role.DOCTOR)
    set_hours(other.id, 0, "14:00", "16:00", slot=30)
    user, patient = patient_account()
    with pytest.raises(DomainError, match="does not work at that time"):
        appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id, starts_at=at(MONDAY, 14))


def test_only_doctors_can_be_booked(app_ctx, doctor, make_user, patient_account):
    user, patient = patient_account()
    nurse = make_user(Role.RECEPTION)
    with pytest.raises(NotFound):
        appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=nurse.id, starts_at=at(MONDAY, 9))


def test_a_patient_books_only_for_themselves(app_ctx, doctor, patient_account):
    user, _ = patient_account()
    _, someone_else = patient_account("Baraka", "Kiprop")
    with pytest.raises(NotFound):
        appointment_book(actor=Actor.for_user(user), patient_id=someone_else.id, doctor_id=doctor.id,
                         starts_at=at(MONDAY, 9))


def test_one_slot_one_appointment(app_ctx, doctor, patient_account, book):
    first, first_patient = patient_account()
    second, second_patient = patient_account("Baraka", "Kiprop")
    book(first, first_patient.id, doctor.id, at(MONDAY, 9))
    with pytest.raises(SlotTaken) as taken:
        appointment_book(actor=Actor.for_user(second), patient_id=second_patient.id, doctor_id=doctor.id,
                         starts_at=at(MONDAY, 9))
    assert "just taken" in taken.value.message
    assert taken.value.alternatives and at(MONDAY, 9) not in [s.starts_at for s in taken.value.alternatives]
    # The nearest free times come first.
    assert [s.starts_at for s in taken.value.alternatives][:2] in ([at(MONDAY, 8, 30), at(MONDAY, 9, 30)],
                                                                  [at(MONDAY, 9, 30), at(MONDAY, 8, 30)])


def test_a_patient_cannot_hold_two_overlapping_appointments_even_with_different_doctors(
        app_ctx, doctor, make_user, set_hours, patient_account, book):
    other = make_user(Role.DOCTOR)
    set_hours(other.id, 0, "08:00", "12:00", slot=20)  # 09:20 overlaps 09:00–09:30
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(MONDAY, 9))
    for starts_at in (at(MONDAY, 9), at(MONDAY, 9, 20)):
        with pytest.raises(DomainError, match="already has an appointment at that time"):
            appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=other.id, starts_at=starts_at)
        db.session.rollback()
    book(user, patient.id, other.id, at(MONDAY, 9, 40))  # back to back is fine
    assert count_appointments(patient_id=patient.id) == 2


def test_the_same_form_submitted_twice_books_once(app_ctx, doctor, patient_account, book):
    user, patient = patient_account()
    first = book(user, patient.id, doctor.id, at(MONDAY, 9), idempotency_key="same-form-key-0123456789")
    again = book(user, patient.id, doctor.id, at(MONDAY, 9), idempotency_key="same-form-key-0123456789")
    assert again == first
    assert count_appointments() == 1


def test_a_form_key_of_another_patient_gives_nothing_away(app_ctx, doctor, patient_account, book):
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(MONDAY, 9), idempotency_key="someone-elses-key-0123456")
    intruder, intruder_patient = patient_account("Baraka", "Kiprop")
    with pytest.raises(DomainError, match="already used"):
        appointment_book(actor=Actor.for_user(intruder), patient_id=intruder_patient.id, doctor_id=doctor.id,
                         starts_at=at(MONDAY, 10),
                         idempotency_key="someone-elses-key-0123456")


# -- overlapping slots of different lengths: the exclusion constraint --------------------------------------

def test_a_longer_booking_blocks_a_shorter_slot_inside_it(app_ctx, doctor, set_hours, patient_account, book):
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(MONDAY, 9))   # 09:00–09:30
    set_hours(doctor.id, 0, "08:00", "12:00", slot=15)  # now 15-minute slots: 09:15 is a slot again
    assert at(MONDAY, 9, 15) not in [s.starts_at for s in free_slots(doctor.id, MONDAY)]
    other, other_patient = patient_account("Baraka", "Kiprop")
    with pytest.raises(SlotTaken) as taken:
        appointment_book(actor=Actor.for_user(other), patient_id=other_patient.id, doctor_id=doctor.id,
                         starts_at=at(MONDAY, 9, 15))
    assert isinstance(taken.value.__context__, IntegrityError), "the database, not Python, refused the overlap"
    db.session.rollback()
    assert count_appointments() == 1


def test_a_row_written_directly_still_blocks_an_overlapping_booking(app_ctx, doctor, set_hours, patient_account):
    _, patient = patient_account()
    set_hours(doctor.id, 0, "08:00", "12:00", slot=15)
    db.session.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=at(MONDAY, 9),
                               ends_at=at(MONDAY, 10), status=AppointmentStatus.BOOKED.value))
    db.session.commit()
    # Nobody bumped the cache: the database is the last word anyway.
    other, other_patient = patient_account("Baraka", "Kiprop")
    with pytest.raises(SlotTaken) as taken:
        appointment_book(actor=Actor.for_user(other), patient_id=other_patient.id, doctor_id=doctor.id,
                         starts_at=at(MONDAY, 9, 45))
    assert isinstance(taken.value.__context__, IntegrityError)
    db.session.rollback()
    with pytest.raises(IntegrityError, match="ex_appointments_doctor_overlap"):
        db.session.add(Appointment(doctor_id=doctor.id, patient_id=other_patient.id, starts_at=at(MONDAY, 9, 59),
                                   ends_at=at(MONDAY, 10, 5), status=AppointmentStatus.BOOKED.value))
        db.session.flush()


def test_cancelled_appointments_do_not_hold_the_time(app_ctx, doctor, patient_account, book):
    user, patient = patient_account()
    db.session.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=at(MONDAY, 9),
                               ends_at=at(MONDAY, 9, 30), status=AppointmentStatus.CANCELLED.value))
    db.session.commit()
    other, other_patient = patient_account("Baraka", "Kiprop")
    book(other, other_patient.id, doctor.id, at(MONDAY, 9))
    assert count_appointments(status=AppointmentStatus.BOOKED.value) == 1


# -- the race --------------------------------------------------------------------------------------------------

def race(app, attempts: list) -> list[tuple[str, object]]:
    """Run every `attempts[i]()` at once, each in its own thread, app context and connection;
    commit the winners. Returns ("booked", id) / ("taken", SlotTaken) / ("error", exception) per attempt."""
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                appointment = attempts[i]()
                appointment_id = appointment.id
                db.session.commit()
                results[i] = ("booked", appointment_id)
            except SlotTaken as taken:
                results[i] = ("taken", taken)
            except Exception as error:  # noqa: BLE001 - reported by the test
                results[i] = ("error", error)
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a booking hung"
    return results


def test_fifty_patients_racing_for_one_slot_get_exactly_one_appointment(app, doctor, patient_account):
    people = [patient_account(f"Racer{i}", "Test", phone=None) for i in range(50)]
    slot = at(MONDAY, 9)

    def attempt(user, patient):
        return lambda: appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id,
                                        starts_at=slot)

    results = race(app, [attempt(user, patient) for user, patient in people])
    errors = [r[1] for r in results if r[0] == "error"]
    assert not errors, f"{len(errors)} bookings failed with something else than 'taken': {errors[:3]!r}"
    assert [r[0] for r in results].count("booked") == 1
    losers = [r[1] for r in results if r[0] == "taken"]
    assert len(losers) == 49
    for taken in losers:
        assert "just taken" in taken.message
        offered = [s.starts_at for s in taken.alternatives]
        assert offered and slot not in offered, offered
    with app.app_context():
        assert count_appointments(doctor_id=doctor.id, starts_at=slot) == 1
        assert count_appointments() == 1


def test_twenty_concurrent_submits_of_one_form_make_one_appointment(app, doctor, patient_account):
    user, patient = patient_account()

    def attempt():
        return appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id,
                                starts_at=at(MONDAY, 10),
                                idempotency_key="one-form-key-0123456789abcdef")

    results = race(app, [attempt] * 20)
    assert [r for r in results if r[0] != "booked"] == []
    assert len({r[1] for r in results}) == 1  # every submit answered with the same appointment
    with app.app_context():
        assert count_appointments() == 1


def test_one_patient_racing_for_two_doctors_at_once_gets_one(app, doctor, make_user, set_hours, patient_account):
    """Two tabs, two doctors, the same time: the patient's own overlap is refused by the database too."""
    other = make_user(Role.DOCTOR)
    set_hours(other.id, 0, "08:00", "12:00", slot=30)
    user, patient = patient_account()
    attempts = [lambda d=d: appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=d,
                                             starts_at=at(TUESDAY - dt.timedelta(days=1), 11))
                for d in (doctor.id, other.id) * 5]
    results = race(app, attempts)
    outcomes = [r[0] for r in results]
    assert outcomes.count("booked") == 1
    assert all(isinstance(r[1], DomainError) for r in results if r[0] != "booked"), [str(r[1])[:300] for r in results if r[0] == "error"]
    with app.app_context():
        assert count_appointments(patient_id=patient.id) == 1
