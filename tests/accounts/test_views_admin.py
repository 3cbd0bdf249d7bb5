"""The administrator's people pages, as an administrator (and an intruder) would use them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role, StaffProfile, User
from app.extensions import db
from tests.accounts.conftest import is_signed_out, link_in, second_device, text
from tests.conftest import Browser

CONFIRMED = {"confirmed": "yes"}  # the answer to "Deactivate…?" (app/core/confirm.py)

NEW_PASSWORD = "a brand new sentence"
INVITE = {"full_name": "Dr Wanjiku Kamau", "email": "W.Kamau@Clinic.test", "role": "doctor",
          "speciality": "Paediatrics", "fee": "1500"}


def _user_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(User)).scalar_one()


# -- invitations -------------------------------------------------------------------------------------

def test_an_invited_doctor_sets_a_password_and_lands_on_the_doctor_home(app, signed_in, db_user, outbox):
    admin, admin_user = signed_in(Role.ADMIN, full_name="Achieng Otieno")
    assert admin.get("/admin/people/invite").status_code == 200
    response = admin.post("/admin/people/invite", INVITE)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/people/"
    assert "Invitation sent to W.Kamau@Clinic.test" in text(admin.get("/admin/people/"))

    invited = db_user("w.kamau@clinic.test")
    assert invited.role == "doctor" and invited.password_hash is None and invited.is_active_account
    with app.app_context():
        profile = db.session.get(StaffProfile, invited.id)
        assert (profile.speciality, profile.consultation_fee_cents) == ("Paediatrics", 150_000)
    [email] = outbox()
    assert email["to"] == "w.kamau@clinic.test" and "Achieng Otieno" in email["body"]
    link = link_in(email["body"], "/invite/")

    invitee = Browser(app.test_client())
    assert invitee.login("w.kamau@clinic.test", "").status_code == 422  # no password yet: no way in
    page = invitee.get(link)
    assert page.status_code == 200 and "Welcome, Dr Wanjiku Kamau" in text(page)
    done = invitee.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    signed = invitee.login("W.Kamau@clinic.test", NEW_PASSWORD)
    assert signed.status_code == 303 and signed.headers["Location"] == "/doctor/"
    assert "Dr Wanjiku Kamau" in text(invitee.get("/doctor/"))
    assert invitee.get(link).status_code == 410  # the invitation works once


def test_inviting_a_taken_email_is_refused_beside_the_field(app, signed_in, make_user, outbox):
    admin, _ = signed_in(Role.ADMIN)
    make_user(Role.PATIENT, email="w.kamau@clinic.test")
    before = _user_count(app)
    response = admin.post("/admin/people/invite", INVITE)
    assert response.status_code == 422
    assert '<p class="error" id="email-error">An account with this email already exists.</p>' in text(response)
    assert 'value="Dr Wanjiku Kamau"' in text(response)
    assert _user_count(app) == before
    assert outbox() == []


def test_an_invitation_with_a_bad_email_or_role_is_refused(app, signed_in, outbox):
    admin, _ = signed_in(Role.ADMIN)
    before = _user_count(app)
    for bad in ({"email": "not-an-email"}, {"role": "patient"}, {"fee": "-5"}):
        assert admin.post("/admin/people/invite", {**INVITE, **bad}).status_code == 422
    assert _user_count(app) == before and outbox() == []


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTION, Role.PATIENT])
def test_only_an_admin_may_invite(app, signed_in, role, outbox):
    intruder, _ = signed_in(role)
    before = _user_count(app)
    assert intruder.get("/admin/people/invite").status_code == 403
    assert intruder.post("/admin/people/invite", {**INVITE, "role": "admin"}).status_code == 403
    assert _user_count(app) == before and outbox() == []


def test_anonymous_visitors_are_sent_to_sign_in(browser):
    response = browser.get("/admin/people/")
    assert is_signed_out(response)


# -- the people list ----------------------------------------------------------------------------------------

def test_people_list_searches_by_name_or_email(signed_in, make_user):
    admin, _ = signed_in(Role.ADMIN)
    make_user(Role.DOCTOR, full_name="Baraka Njoroge", email="baraka@clinic.test")
    make_user(Role.LAB, full_name="Zawadi Achieng", email="zawadi@clinic.test")
    everyone = text(admin.get("/admin/people/"))
    assert "Baraka Njoroge" in everyone and "Zawadi Achieng" in everyone and "<html" in everyone

    by_name = text(admin.get("/admin/people/?q=njoro"))
    assert "Baraka Njoroge" in by_name and "Zawadi Achieng" not in by_name
    by_email = text(admin.get("/admin/people/?q=ZAWADI@"))
    assert "Zawadi Achieng" in by_email and "Baraka Njoroge" not in by_email
    by_role = text(admin.get("/admin/people/?role=lab"))
    assert "Zawadi Achieng" in by_role and "Baraka Njoroge" not in by_role
    assert "Nobody matches." in text(admin.get("/admin/people/?q=nobody-like-this"))


def test_an_htmx_search_gets_only_the_table(signed_in, make_user):
    admin, _ = signed_in(Role.ADMIN)
    make_user(Role.DOCTOR, full_name="Baraka Njoroge")
    response = admin.get("/admin/people/?q=baraka", headers={"HX-Request": "true"})
    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<table class="table" id="people">')
    assert "<html" not in fragment and "Baraka Njoroge" in fragment
    assert "HX-Request" in response.headers["Vary"]
    # Boosted navigation is a whole page.
    boosted = text(admin.get("/admin/people/", headers={"HX-Request": "true", "HX-Boosted": "true"}))
    assert "<html" in boosted


def test_the_person_page_shows_the_account_and_its_actions(signed_in, make_user):
    admin, admin_user = signed_in(Role.ADMIN)
    doctor = make_user(Role.DOCTOR, full_name="Baraka Njoroge", phone="+254700000001")
    page = text(admin.get(f"/admin/people/{doctor.id}"))
    assert "Baraka Njoroge" in page and doctor.email in page and "+254700000001" in page
    assert f'/admin/people/{doctor.id}/deactivate' in page and f'/admin/people/{doctor.id}/end-sessions' in page
    assert '<option selected value="doctor">' in page
    own = text(admin.get(f"/admin/people/{admin_user.id}"))
    assert "This is your own account" in own and "/deactivate" not in own
    assert admin.get("/admin/people/999999").status_code == 404


# -- access changes end sessions --------------------------------------------------------------------------------

def test_deactivation_signs_the_person_out_everywhere_and_keeps_them_out(app, signed_in, db_user):
    admin, _ = signed_in(Role.ADMIN)
    device, doctor = signed_in(Role.DOCTOR)
    other = second_device(app, device)
    response = admin.post(f"/admin/people/{doctor.id}/deactivate", CONFIRMED)
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/people/{doctor.id}"
    assert "Account deactivated" in text(admin.get(f"/admin/people/{doctor.id}"))
    assert is_signed_out(device.get("/doctor/")) and is_signed_out(other.get("/doctor/"))
    refused = Browser(app.test_client()).login(doctor.email)
    assert refused.status_code == 422 and "don't match an active account" in text(refused)
    assert "deactivated" in text(admin.get("/admin/people/?q=" + doctor.email))

    assert admin.post(f"/admin/people/{doctor.id}/reactivate").status_code == 303
    assert db_user(doctor.email).is_active_account
    assert is_signed_out(other.get("/doctor/"))  # reactivation does not bring old cookies back
    assert Browser(app.test_client()).login(doctor.email).status_code == 303


def test_an_admin_cannot_deactivate_themself(app, signed_in, make_user, db_user):
    admin, admin_user = signed_in(Role.ADMIN)
    make_user(Role.ADMIN)  # not the last admin either: the refusal is about oneself
    response = admin.post(f"/admin/people/{admin_user.id}/deactivate", CONFIRMED)
    assert response.status_code == 303
    assert "You cannot deactivate your own account." in text(admin.get(response.headers["Location"]))
    assert db_user(admin_user.email).is_active_account
    assert admin.get("/admin/").status_code == 200


def test_a_second_admin_can_be_deactivated_but_then_the_last_one_cannot_be(app, signed_in, db_user):
    first, first_user = signed_in(Role.ADMIN)
    second, second_user = signed_in(Role.ADMIN)
    assert first.post(f"/admin/people/{second_user.id}/deactivate", CONFIRMED).status_code == 303
    assert not db_user(second_user.email).is_active_account
    assert is_signed_out(second.get("/admin/"))
    first.post(f"/admin/people/{first_user.id}/deactivate", CONFIRMED)
    assert db_user(first_user.email).is_active_account


def test_end_sessions_signs_the_person_out_but_they_can_sign_in_again(app, signed_in):
    admin, _ = signed_in(Role.ADMIN)
    device, pharmacist = signed_in(Role.PHARMACIST)
    other = second_device(app, device)
    response = admin.post(f"/admin/people/{pharmacist.id}/end-sessions", CONFIRMED)
    assert response.status_code == 303
    assert "Every session of this account was ended." in text(admin.get(response.headers["Location"]))
    assert is_signed_out(device.get("/pharmacy/")) and is_signed_out(other.get("/pharmacy/"))
    assert Browser(app.test_client()).login(pharmacist.email).status_code == 303
    assert admin.get("/admin/").status_code == 200


def test_a_role_change_signs_the_person_out_and_they_come_back_with_the_new_role(app, signed_in, db_user):
    admin, _ = signed_in(Role.ADMIN)
    device, person = signed_in(Role.RECEPTION)
    other = second_device(app, device)
    response = admin.post(f"/admin/people/{person.id}", {"role": "lab"})
    assert response.status_code == 303
    assert "is now Lab technician" in text(admin.get(response.headers["Location"]))
    assert db_user(person.email).role == "lab"
    assert is_signed_out(device.get("/reception/")) and is_signed_out(other.get("/lab/"))
    back = Browser(app.test_client())
    assert back.login(person.email).headers["Location"] == "/lab/"
    assert back.get("/reception/").status_code == 403


@pytest.mark.parametrize("start, to", [(Role.PATIENT, "doctor"), (Role.DOCTOR, "patient")])
def test_a_role_change_across_patient_and_staff_is_refused(app, signed_in, db_user, start, to):
    admin, _ = signed_in(Role.ADMIN)
    device, person = signed_in(start)
    response = admin.post(f"/admin/people/{person.id}", {"role": to})
    assert response.status_code == 422
    assert ('<p class="error" id="role-error">Patient and staff accounts cannot be converted into each other.</p>'
            in text(response))
    assert db_user(person.email).role == start.value
    assert device.get(f"/{'patient' if start == Role.PATIENT else 'doctor'}/").status_code == 200


def test_only_an_admin_may_change_access(app, signed_in, db_user):
    intruder, _ = signed_in(Role.DOCTOR)
    victim_device, victim = signed_in(Role.RECEPTION)
    for path, data in ((f"/admin/people/{victim.id}", {"role": "admin"}),
                       (f"/admin/people/{victim.id}/deactivate", CONFIRMED),
                       (f"/admin/people/{victim.id}/end-sessions", CONFIRMED)):
        assert intruder.post(path, data).status_code == 403
    assert db_user(victim.email).role == "reception" and db_user(victim.email).is_active_account
    assert victim_device.get("/reception/").status_code == 200


def test_access_changes_need_a_csrf_token(app, signed_in, db_user):
    admin, _ = signed_in(Role.ADMIN)
    _, doctor = signed_in(Role.DOCTOR)
    assert admin.client.post(f"/admin/people/{doctor.id}/deactivate", data=CONFIRMED).status_code == 400
    assert admin.client.post(f"/admin/people/{doctor.id}", data={"role": "admin"}).status_code == 400
    assert db_user(doctor.email).is_active_account and db_user(doctor.email).role == "doctor"


def test_an_invitation_needs_a_name_not_just_spaces(app, signed_in, outbox):
    admin, _ = signed_in(Role.ADMIN)
    before = _user_count(app)
    response = admin.post("/admin/people/invite", {**INVITE, "full_name": "    "})
    assert response.status_code == 422
    assert '<p class="error" id="full_name-error">Enter their name.</p>' in text(response)
    assert _user_count(app) == before and outbox() == []
