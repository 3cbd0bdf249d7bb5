"""Each person reads MyAfya in their language: pages, flash messages, rules' messages, emails and SMS.

A patient who chose Swahili gets Swahili pages and Swahili messages whoever causes them (the desk,
a reminder job); an English patient gets English; anonymous pages follow the browser's choice.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.accounts.models import Role, User
from app.core.i18n import LANGUAGE_COOKIE, browser_language
from app.extensions import db
from tests.conftest import Browser
from tests.scheduling.conftest import MONDAY, TUESDAY, at, book, doctor, freeze, notifications, set_hours  # noqa: F401 (fixtures)

SW = {"Accept-Language": "sw-KE,sw;q=0.9"}


def page(response) -> str:
    return response.get_data(as_text=True)


def heading(html: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)


def patient(signed_in, make_patient, language: str):
    browser, user = signed_in(Role.PATIENT, language=language, full_name="Amina Wanjiru")
    record = make_patient(given_name="Amina", family_name="Wanjiru", phone="+254712000001", user_id=user.id)
    return browser, user, record


def sent(**filters) -> list:
    return notifications(**filters)


# -- pages ----------------------------------------------------------------------------------------------

def test_a_swahili_patient_gets_swahili_pages_with_swahili_dates(app, signed_in, make_patient, doctor, book, freeze):
    freeze(at(MONDAY, 7))
    browser, user, record = patient(signed_in, make_patient, "sw")
    book(user, record.id, doctor.id, at(TUESDAY, 9))
    home = page(browser.get("/patient/"))
    assert '<html lang="sw">' in home and heading(home) == "Habari, Amina"
    assert "Weka miadi" in home and "Miadi ijayo" in home and ">Rekodi yangu</a>" in home  # nav included
    assert "Jumanne 02 Mac 2027, 09:00" in home and "Imewekwa" in home
    listing = page(browser.get("/patient/appointments/"))
    assert heading(listing) == "Miadi yangu" and ">Ghairi</button>" in listing and ">Hamisha</a>" in listing
    assert "Jumanne 02 Mac 2027, 09:00" in listing
    assert "Book an appointment" not in listing and "Coming up" not in listing
    picker = page(browser.get(f"/patient/appointments/book?doctor={doctor.id}&day={TUESDAY.isoformat()}"))
    assert "Nafasi zilizo wazi: Jumanne 02 Mac" in picker and 'value="2027-03-02T05:00Z"' in picker  # machine format kept
    assert "Kliniki" in page(browser.get(f"/patient/appointments/book/confirm?doctor={doctor.id}&start=2027-03-02T05:00Z"))
    assert heading(page(browser.get("/patient/record/"))) == "Amina Wanjiru"


def test_an_english_patient_gets_the_same_pages_in_english(signed_in, make_patient, doctor, book, freeze):
    freeze(at(MONDAY, 7))
    browser, user, record = patient(signed_in, make_patient, "en")
    book(user, record.id, doctor.id, at(TUESDAY, 9))
    home = page(browser.get("/patient/"))
    assert '<html lang="en">' in home and heading(home) == "Hello, Amina"
    assert "Tue 02 Mar 2027, 09:00" in home and "Booked" in home
    assert heading(page(browser.get("/patient/appointments/"))) == "My appointments"


def test_a_signed_in_persons_language_wins_over_the_browsers(signed_in, make_patient):
    browser, _, _ = patient(signed_in, make_patient, "en")
    browser.client.set_cookie(LANGUAGE_COOKIE, "sw")
    assert heading(page(browser.get("/patient/", headers=SW))) == "Hello, Amina"


def test_error_pages_are_in_the_readers_language(signed_in, make_patient):
    browser, _, _ = patient(signed_in, make_patient, "sw")
    missing = browser.get("/patient/no-such-page")
    assert missing.status_code == 404 and "Ukurasa haukupatikana" in page(missing)
    forbidden = browser.get("/admin/")
    assert forbidden.status_code == 403 and "Hairuhusiwi" in page(forbidden)


# -- before sign-in ----------------------------------------------------------------------------------------

def test_anonymous_pages_follow_the_browsers_language_then_the_choice_made_on_them(app):
    browser = Browser(app.test_client())
    assert heading(page(browser.get("/login"))) == "Sign in"
    login = page(browser.get("/login", headers=SW))
    assert '<html lang="sw">' in login and heading(login) == "Ingia" and ">Umesahau nenosiri lako?</a>" in login
    assert 'value="en" lang="en">English</button>' in login  # the switch offers the other language
    # Chosen on the page: remembered by this browser, whatever it asks for.
    switched = browser.post("/language", {"language": "sw", "next": "/register?"}, page="/login")
    assert switched.status_code == 303 and switched.headers["Location"] == "/register"
    assert f"{LANGUAGE_COOKIE}=sw" in switched.headers["Set-Cookie"]
    register = page(browser.get("/register", headers={"Accept-Language": "en"}))
    assert heading(register) == "Fungua akaunti yako ya mgonjwa"
    assert '<option selected value="sw">Kiswahili</option>' in register  # the account will be in Swahili too
    back = browser.post("/language", {"language": "en", "next": "/login"}, page="/login")
    assert heading(page(browser.get(back.headers["Location"]))) == "Sign in"


@pytest.mark.parametrize("header, language", [("sw-KE", "sw"), ("sw-TZ,en;q=0.5", "sw"), ("en;q=0.4,sw;q=0.9", "sw"),
                                              ("fr,en-GB;q=0.8", "en"), ("fr", "en"), ("", "en")])
def test_the_browsers_first_language_we_have_wins(header, language):
    assert browser_language(parse_accept_header(header, LanguageAccept)) == language


def test_the_language_switch_refuses_what_it_does_not_offer(app):
    browser = Browser(app.test_client())
    for data in ({"language": "fr"}, {"language": ""}, {}):
        assert browser.post("/language", data, page="/login").status_code == 400
    off_site = browser.post("/language", {"language": "sw", "next": "//evil.example/x"}, page="/login")
    assert off_site.status_code == 303 and off_site.headers["Location"] == "/"


def test_form_errors_and_refusals_are_in_the_readers_language(app, make_user):
    browser = Browser(app.test_client())
    browser.client.set_cookie(LANGUAGE_COOKIE, "sw")
    empty = browser.post("/login", {"email": "", "password": ""}, page="/login")
    assert empty.status_code == 422 and "Andika barua pepe yako." in page(empty)
    user = make_user(Role.PATIENT)
    wrong = browser.login(user.email, "not the password")
    assert wrong.status_code == 422 and "havilingani na akaunti inayotumika" in page(wrong)


# -- choosing: at registration, in My account -------------------------------------------------------------

REGISTRATION = {"full_name": "Baraka Otieno", "email": "baraka@example.test", "phone": "+254 712 345 679",
                "password": "a long enough sentence", "confirm": "a long enough sentence"}


def test_a_patient_chooses_swahili_at_registration_and_is_welcomed_in_it(app):
    browser = Browser(app.test_client())
    response = browser.post("/register", {**REGISTRATION, "language": "sw"}, page="/register")
    assert response.status_code == 303
    assert "Asante. Tumetuma barua pepe" in page(browser.get("/login"))  # the next page, in the chosen language
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "baraka@example.test")).scalar_one()
        assert user.language == "sw"
        welcome = sent(dedupe_key=f"welcome:{user.id}")[0]
        assert welcome.subject == "Karibu MyAfya Clinic" and welcome.body.startswith("Habari Baraka Otieno,")
    home = browser.get(browser.login("baraka@example.test", "a long enough sentence").headers["Location"])
    assert heading(page(home)) == "Habari, Baraka"


def test_registering_without_choosing_keeps_the_language_of_the_page(app):
    browser = Browser(app.test_client())
    browser.client.set_cookie(LANGUAGE_COOKIE, "sw")
    assert browser.post("/register", REGISTRATION, page="/register").status_code == 303
    with app.app_context():
        assert db.session.execute(select(User.language)).scalar_one() == "sw"


def test_a_registration_refused_in_swahili(app):
    browser = Browser(app.test_client())
    browser.client.set_cookie(LANGUAGE_COOKIE, "sw")
    short = browser.post("/register", {**REGISTRATION, "password": "short", "confirm": "short"}, page="/register")
    assert short.status_code == 422 and "Tumia angalau herufi 10." in page(short)


def test_anyone_signed_in_changes_their_language_in_my_account(app, signed_in):
    for role in (Role.PATIENT, Role.RECEPTION):
        browser, user = signed_in(role)
        account = page(browser.get("/account"))
        assert heading(account) == "My account" and '<option selected value="en">English</option>' in account
        saved = browser.post("/account", {"language": "sw"}, page="/account")
        assert saved.status_code == 303 and saved.headers["Location"] == "/account"
        after = page(browser.get("/account"))
        assert heading(after) == "Akaunti yangu" and "Imehifadhiwa. Kurasa zako" in after and "Kiswahili" in after
        with app.app_context():
            assert db.session.get(User, user.id).language == "sw"
        # Signed out, this browser's sign-in page stays in the person's language.
        browser.post("/logout", {})
        assert heading(page(browser.get("/login"))) == "Ingia"


def test_my_account_needs_a_signed_in_person_and_a_known_language(app, signed_in):
    anonymous = Browser(app.test_client())
    assert anonymous.get("/account").headers["Location"].startswith("/login")
    browser, user = signed_in(Role.DOCTOR)
    assert browser.post("/account", {"language": "xx"}, page="/account").status_code == 422
    with app.app_context():
        assert db.session.get(User, user.id).language == "en"


def test_signing_in_remembers_the_persons_language_on_this_browser(signed_in, make_user, app):
    user = make_user(Role.PATIENT, language="sw")
    browser = Browser(app.test_client())
    response = browser.login(user.email)
    assert response.status_code == 303 and f"{LANGUAGE_COOKIE}=sw" in response.headers["Set-Cookie"]


# -- messages: in the recipient's language, whoever causes them ----------------------------------------------

def test_a_swahili_patient_who_books_gets_a_swahili_confirmation_and_the_doctor_an_english_notice(
        app, signed_in, make_patient, doctor, freeze):
    freeze(at(MONDAY, 7))
    browser, user, record = patient(signed_in, make_patient, "sw")
    confirm = f"/patient/appointments/book/confirm?doctor={doctor.id}&start=2027-03-02T06:00Z"
    form = page(browser.get(confirm))
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', form).group(1)
    booked = browser.post(confirm, {"doctor_id": doctor.id, "starts_at": "2027-03-02T06:00Z", "idempotency_key": key,
                                    "mode": "in_person"}, page=confirm)
    assert booked.status_code == 303
    assert "Miadi yako imewekwa. Tumekutumia uthibitisho." in page(browser.get(booked.headers["Location"]))
    with app.app_context():
        email, sms = sent(channel="email")[0], sent(channel="sms")[0]
        assert email.subject == "Miadi yako imewekwa"
        assert email.body == ("Habari Amina,\n\nMiadi yako na Dr Wanjiku Mwangi imewekwa: Jumanne 02 Mac, 09:00.\n"
                              "\nMiadi yako:\nhttp://localhost/patient/appointments/\n\nMyAfya Clinic")
        assert sms.body == "MyAfya Clinic: Miadi yako na Dr Wanjiku Mwangi imewekwa: Jumanne 02 Mac, 09:00."
        # the doctor reads English, the patient's own inbox Swahili
        assert sent(channel="in_app", user_id=doctor.id)[0].body == "New booking: Amina Wanjiru, Tue 02 Mar, 09:00."
        assert sent(channel="in_app", user_id=user.id)[0].body == \
            "Miadi yako na Dr Wanjiku Mwangi imewekwa: Jumanne 02 Mac, 09:00."


def test_an_english_patient_gets_an_english_confirmation(app, make_user, make_patient, doctor, book, freeze):
    freeze(at(MONDAY, 7))
    user = make_user(Role.PATIENT, full_name="Amina Wanjiru")
    record = make_patient(given_name="Amina", family_name="Wanjiru", phone="+254712000001", user_id=user.id)
    book(user, record.id, doctor.id, at(TUESDAY, 9))
    with app.app_context():
        assert sent(channel="email")[0].subject == "Your appointment is booked"
        assert sent(channel="sms")[0].body == \
            "MyAfya Clinic: Your appointment with Dr Wanjiku Mwangi is booked for Tue 02 Mar, 09:00."


def test_the_desk_cancels_in_english_and_the_swahili_patient_is_told_in_swahili(
        app, make_user, make_patient, doctor, book, freeze):
    freeze(at(MONDAY, 7))
    user = make_user(Role.PATIENT, language="sw", full_name="Amina Wanjiru")
    record = make_patient(given_name="Amina", family_name="Wanjiru", phone="+254712000001", user_id=user.id)
    appointment_id = book(user, record.id, doctor.id, at(TUESDAY, 9, 30))
    desk = make_user(Role.RECEPTION)
    browser = Browser(app.test_client())
    browser.login(desk.email)
    path = f"/reception/appointments/{appointment_id}/cancel"
    done = browser.post(path, {"reason": "Daktari amesafiri"}, page=path)
    assert done.status_code == 303
    assert "Appointment cancelled; the patient has been told." in page(browser.get(done.headers["Location"]))
    with app.app_context():
        sms = sent(dedupe_key=f"appt:{appointment_id}:cancelled:sms")[0]
        assert sms.body == ("MyAfya Clinic: Miadi yako na Dr Wanjiku Mwangi ya Jumanne 02 Mac, 09:30 imeghairiwa. "
                            "Tafadhali weka muda mwingine.")
        assert len(sms.body) <= 160
        email = sent(dedupe_key=f"appt:{appointment_id}:cancelled:email")[0]
        assert email.subject == "Miadi yako imeghairiwa" and "imeghairiwa: Daktari amesafiri." in email.body


def test_a_video_reminder_from_the_job_is_in_swahili_with_its_link(app, make_user, make_patient, doctor, book, freeze):
    from app.scheduling.models import VisitMode
    from app.scheduling.tasks import reminders_due_queue

    freeze(at(MONDAY, 7))
    user = make_user(Role.PATIENT, language="sw", full_name="Amina Wanjiru")
    record = make_patient(given_name="Amina", family_name="Wanjiru", phone="+254712000001", user_id=user.id)
    appointment_id = book(user, record.id, doctor.id, at(TUESDAY, 9), mode=VisitMode.VIDEO)
    freeze(at(MONDAY, 9, 30))
    with app.app_context():  # as the worker runs it: no request, no signed-in user
        assert reminders_due_queue() == 1
        db.session.commit()
        sms = sent(dedupe_key=f"appt:{appointment_id}:reminder-day-before:sms")[0]
        assert sms.body.startswith("MyAfya Clinic: Kikumbusho: ziara yako ya video na Dr Wanjiku Mwangi ni "
                                   "Jumanne 02 Mac, 09:00. Video: http://localhost/visit/")
        assert len(sms.body) <= 160
        email = sent(dedupe_key=f"appt:{appointment_id}:reminder-day-before:email")[0]
        assert email.subject == "Kikumbusho cha miadi" and "Jiunge na ziara ya video hapa wakati huo:" in email.body


def test_a_password_reset_email_is_in_the_account_holders_language(app, make_user):
    from app.accounts.tasks import accounts_sweep

    user = make_user(Role.PATIENT, language="sw", full_name="Amina Wanjiru")
    browser = Browser(app.test_client())  # the form itself is filled in English
    assert browser.post("/forgot-password", {"email": user.email}, page="/forgot-password").status_code == 303
    accounts_sweep()
    with app.app_context():
        email = sent(channel="email")[0]
        assert email.subject == "Weka nenosiri jipya la MyAfya"
        assert email.body.startswith("Habari Amina Wanjiru,\n\nIli kuchagua nenosiri jipya, fungua kiungo hiki ndani "
                                     "ya dakika 60:\nhttp://localhost/reset/")
