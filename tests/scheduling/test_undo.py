"""Undo a check-in or a no-show right after (issue 12 item 1): the notice after the step carries an
"Undo" button; the service decides whether the step can still be taken back."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.scheduling.services import appointment_advance, appointment_undo
from tests.scheduling.conftest import MONDAY, appointment, at


@pytest.fixture
def today(app, doctor, patient_account, book, freeze, make_user):
    """Monday 08:50: Amani's 09:00 appointment; returns (appointment id, desk user)."""
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno")
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    freeze(at(MONDAY, 8, 50))
    return appointment_id, make_user(Role.RECEPTION)


def test_a_check_in_is_undone_and_undoing_twice_is_harmless(app_ctx, today):
    appointment_id, desk = today
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    db.session.commit()
    back = appointment(appointment_id)
    assert back.status == "booked" and back.checked_in_at is None


def test_a_visit_already_started_cannot_be_un_checked_in(app_ctx, today, doctor, freeze):
    appointment_id, desk = today
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    appointment_advance(actor=Actor.for_user(doctor), appointment_id=appointment_id, action="start")
    with pytest.raises(DomainError, match="can no longer be undone"):
        appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="check_in")
    with pytest.raises(NotFound):
        appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="start")


def test_a_no_show_is_undone_unless_the_time_was_given_away(app_ctx, today, freeze, book, doctor, patient_account):
    appointment_id, desk = today
    freeze(at(MONDAY, 9, 20))
    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    db.session.commit()
    appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    db.session.commit()
    assert appointment(appointment_id).status == "booked"

    appointment_advance(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    db.session.commit()
    walk_in_user, walk_in = patient_account("Baraka", "Kiprop")
    freeze(at(MONDAY, 8, 0))  # booked for the freed 09:00 (booking refuses the past: set the clock back)
    book(desk, walk_in.id, doctor.id, at(MONDAY, 9))
    freeze(at(MONDAY, 9, 25))
    with pytest.raises(DomainError, match="given to another visit"):
        appointment_undo(actor=Actor.for_user(desk), appointment_id=appointment_id, action="no_show")
    db.session.rollback()
    assert appointment(appointment_id).status == "no_show"


def test_the_desk_gets_an_undo_button_after_a_check_in_with_and_without_htmx(app, today, signed_in):
    appointment_id, _ = today
    browser, _ = signed_in(Role.RECEPTION)
    step = f"/reception/appointments/{appointment_id}/check-in"
    fragment = browser.post(step, page="/reception/", headers={"HX-Request": "true", "HX-Target": "clinic-queue"})
    html = fragment.get_data(as_text=True)
    assert "Checked in." in html and f'action="{step}/undo"' in html and ">Undo</button>" in html
    undone = browser.post(f"{step}/undo", page="/reception/")
    assert undone.status_code == 303
    assert "Check-in undone: booked again." in browser.get("/reception/").get_data(as_text=True)
    with app.app_context():
        assert appointment(appointment_id).status == "booked"

    plain = browser.post(step, page="/reception/")
    assert plain.status_code == 303
    page = browser.get("/reception/").get_data(as_text=True)
    assert "Checked in." in page and f'action="{step}/undo"' in page
