"""Signing in and out as a person would: the form, the homes, the refusals."""
from __future__ import annotations

import pytest

from app.accounts.models import Role
from tests.conftest import PASSWORD

HOMES = {Role.PATIENT: "/patient/", Role.DOCTOR: "/doctor/", Role.LAB: "/lab/", Role.PHARMACIST: "/pharmacy/",
         Role.RECEPTION: "/reception/", Role.ADMIN: "/admin/"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_home(browser, make_user, role):
    user = make_user(role)
    response = browser.login(user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == HOMES[role]
    home = browser.get(HOMES[role])
    assert home.status_code == 200
    assert user.full_name in home.get_data(as_text=True)


def test_wrong_password_is_refused_with_a_message_and_keeps_the_email(browser, make_user):
    user = make_user(Role.DOCTOR)
    response = browser.login(user.email, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "don&#39;t match an active account" in page or "don't match an active account" in page
    assert f'value="{user.email}"' in page
    assert browser.get("/doctor/").status_code == 302


def test_anonymous_user_is_sent_to_login_and_wrong_role_gets_403(browser, make_user):
    response = browser.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    user = make_user(Role.PATIENT)
    browser.login(user.email)
    assert browser.get("/admin/").status_code == 403
    assert browser.get("/doctor/patients/").status_code == 403


def test_login_without_csrf_token_is_refused(browser, make_user):
    user = make_user(Role.DOCTOR)
    response = browser.client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert browser.get("/doctor/").status_code == 302
