"""Destructive actions ask first (issue 12 item 1): the button's form is marked for app.js's dialog, and
without JavaScript a POST that does not carry the confirmation only shows the question, on a page a
reload cannot repeat; the action happens only once confirmed."""
from __future__ import annotations

import re

from app.accounts.models import Role

DESTRUCTIVE = ("patient.scheduling.cancel", "admin.accounts.deactivate", "admin.accounts.end_sessions",
               "doctor.prescriptions.cancel", "admin.formulary.interaction_remove",
               "doctor.scheduling.availability_exception_remove", "admin.scheduling.availability_exception_remove",
               "admin.notifications.retry", "admin.notifications.dismiss", "admin.merge.merge_pair", "admin.merge.undo")


def test_every_destructive_action_asks_first(app):
    for endpoint in DESTRUCTIVE:
        assert getattr(app.view_functions[endpoint], "asks_first", False), endpoint


def test_an_admin_deactivating_someone_is_asked_first(app, signed_in, make_user):
    browser, _admin = signed_in(Role.ADMIN)
    person = make_user(Role.DOCTOR, full_name="Dr Baraka Kiprono")
    url = f"/admin/people/{person.id}/deactivate"
    page = browser.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert re.search(rf'action="{url}" class="inline" data-confirm="Deactivate this account\?', page)
    assert browser.post(url, page=f"/admin/people/{person.id}").headers["Location"] == url

    from app.accounts.models import User
    from app.extensions import db
    with app.app_context():
        assert db.session.get(User, person.id).is_active_account
    question = browser.get(url).get_data(as_text=True)
    assert "Deactivate this account? They are signed out at once." in question and "Dr Baraka Kiprono" in question
    assert browser.post(url, {"confirmed": "yes"}, page=url).status_code == 303
    with app.app_context():
        assert not db.session.get(User, person.id).is_active_account
