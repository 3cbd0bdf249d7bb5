"""Malformed requests never answer 500: a person gets their typing back with a message beside the
field, a tampered request a 400, a missing thing a 404, an oversized body a 413. Error pages are
people's pages: in the layout, helpful, and never a stack trace."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.models import Role
from app.core.policies import public
from app.extensions import db
from tests.conftest import PASSWORD, SET_UP, Browser
from tests.security_support import fresh_app

FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SEARCH_PAGES = {Role.DOCTOR: "/doctor/patients/", Role.RECEPTION: "/reception/patients/", Role.ADMIN: "/admin/people/"}
ODD_TERMS = ["\x00", "ab\x00cd", "Ot\x00ieno", "%", "_", "\\", "a\\", "%_\\%", "'; DROP TABLE patients; --",
             "\u202eonieto", "\ufeffAmani", "\u0000\u0001\u001f", "Zoë Ñandú", "李小龙", "🩺🩺", "MA", "MA00000019",
             "+254", "0712 345 678", "   ", "a" * 5000, "\ud7ff\ue000\uffff", "\U0010ffff", "<script>alert(1)</script>"]
RAW_QUERIES = [b"q=%00", b"q=%ff%fe", b"q=%ED%A0%80", b"q=%C0%AF", b"q=%", b"q=%zz", b"q", b"q=a&q=b",
               b"q=" + b"%41" * 3000, b"role=%00", b"role=doctor%00", b"patient=%00", b"patient=" + b"9" * 40, b"patient=-99999999999"]


def _no_crash(response, label):
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{label}: {response.status_code}"
    assert "Traceback" not in body and "Internal Server Error" not in body, label
    return body


@pytest.fixture
def signed_in_doctor(signed_in):
    return signed_in(Role.DOCTOR)


@pytest.fixture
def doctor(signed_in_doctor):
    return signed_in_doctor[0]


@pytest.fixture
def patient_id(make_patient, signed_in_doctor, care):
    """A patient the signed-in doctor has seen: their chart is open to that doctor."""
    patient = make_patient(phone="+254 712 345 678")
    care(signed_in_doctor[1], patient)
    return patient.id


# -- search pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(SEARCH_PAGES), ids=lambda r: r.value)
def test_search_pages_take_odd_terms(signed_in, make_patient, role):
    make_patient()
    browser, _ = signed_in(role)
    page = SEARCH_PAGES[role]
    for term in ODD_TERMS:
        for headers in ({}, {"HX-Request": "true"}):
            response = browser.get(page, query_string={"q": term}, headers=headers)
            _no_crash(response, f"{page}?q={term!r}")
            assert response.status_code in (200, 400), (term, response.status_code)
    for raw in RAW_QUERIES:
        response = browser.client.get(page, query_string=raw.decode("ascii"))
        _no_crash(response, f"{page}?{raw[:40]!r}")
    if role == Role.ADMIN:
        for raw in RAW_QUERIES:
            _no_crash(browser.client.get("/admin/people/audit", query_string=raw.decode("ascii")), f"audit ?{raw[:40]!r}")


def test_search_still_finds_after_odd_terms(signed_in, make_patient):
    make_patient(given_name="Zoë", family_name="Ñandú")
    browser, _ = signed_in(Role.RECEPTION)
    response = browser.get("/reception/patients/", query_string={"q": "zoë ñ"})
    assert response.status_code == 200 and "Ñandú" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", list(SEARCH_PAGES), ids=lambda r: r.value)
def test_search_q_fuzz(signed_in, make_patient, role):
    make_patient()
    browser, _ = signed_in(role)
    page = SEARCH_PAGES[role]

    @FUZZ
    @given(term=st.text(max_size=120), fragment=st.booleans())
    def search(term, fragment):
        response = browser.get(page, query_string={"q": term}, headers={"HX-Request": "true"} if fragment else {})
        _no_crash(response, f"{page}?q={term!r}")

    search()


# -- the login form -------------------------------------------------------------------------------

def test_login_form_with_missing_fields_keeps_what_was_typed(browser):
    token = browser.csrf("/login")
    response = browser.client.post("/login", data={"csrf_token": token, "email": "amani@example.org"})
    body = _no_crash(response, "login without password")
    assert response.status_code == 422
    assert 'value="amani@example.org"' in body
    assert re.search(r'<p class="error" id="password-error">Enter your password.</p>', body), body
    response = browser.client.post("/login", data={"csrf_token": token})
    body = _no_crash(response, "login without anything")
    assert response.status_code == 422
    assert 'id="email-error">Enter your email.' in body


def test_login_form_with_a_malformed_email_says_so_beside_it(browser):
    token = browser.csrf("/login")
    response = browser.client.post("/login", data={"csrf_token": token, "email": "not an email", "password": "x"})
    body = _no_crash(response, "malformed email")
    assert response.status_code == 422
    assert 'value="not an email"' in body and 'id="email-error">Enter an email address' in body
    assert 'aria-invalid="true"' in body


@pytest.mark.parametrize("email,password", [
    ("a" * 20_000 + "@example.org", PASSWORD),
    ("amani@example.org", "p" * 100_000),
    ("amani\x00@example.org", PASSWORD),
    ("amani@example.org", "pass\x00word"),
    ("\u202eamani@example.org", "\U0001f600" * 40),
    (["a@example.org", "b@example.org"], PASSWORD),
], ids=["long-email", "long-password", "nul-email", "nul-password", "odd-unicode", "repeated-field"])
def test_login_form_odd_values_never_crash(browser, make_user, email, password):
    make_user(Role.PATIENT, email="amani@example.org")
    token = browser.csrf("/login")
    response = browser.client.post("/login", data={"csrf_token": token, "email": email, "password": password})
    _no_crash(response, f"login {str(email)[:30]!r}")
    assert response.status_code in (400, 422)


@pytest.fixture
def no_lockout(app):
    """The fuzz fails many sign-ins in a row: keep the throttle from cutting them short (it would skip the
    account lookup that odd input must survive)."""
    saved = {k: app.config[k] for k in ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "LOGIN_MAX_FAILURES_PER_IP")}
    app.config.update({k: 1_000_000 for k in saved})
    yield
    app.config.update(saved)


def test_login_form_fuzz(browser, make_user, no_lockout):
    user = make_user(Role.PATIENT)
    token = browser.csrf("/login")

    @FUZZ
    @given(email=st.one_of(st.text(max_size=300), st.emails(), st.just(user.email)),
           password=st.text(max_size=200))
    def login(email, password):
        response = browser.client.post("/login", data={"csrf_token": token, "email": email, "password": password})
        _no_crash(response, f"login {email!r}")
        assert response.status_code in (303, 400, 422), response.status_code
        if response.status_code == 303:  # only the real password signs in; sign out again for the next example
            assert password == PASSWORD
            browser.post("/logout")

    login()


# -- chart entries --------------------------------------------------------------------------------

def _entry_url(patient_id, kind="vitals"):
    return f"/doctor/patients/{patient_id}/entries/{kind}"


@pytest.mark.parametrize("field,value", [
    ("systolic", "abc"), ("systolic", "12O"), ("diastolic", "1e3"), ("pulse", "-"), ("pulse", "99999999999999999999999"),
    ("spo2", "½"), ("temperature_c", "thirty-seven"), ("temperature_c", "NaN"), ("temperature_c", "sNaN"),
    ("temperature_c", "-Infinity"), ("weight_kg", "Infinity"), ("weight_kg", "1e999999"), ("weight_kg", "70,5"),
])
def test_letters_in_numeric_vitals_are_refused_beside_the_field(doctor, patient_id, field, value):
    response = doctor.post(_entry_url(patient_id), {field: value}, page=f"/doctor/patients/{patient_id}")
    body = _no_crash(response, f"vitals {field}={value!r}")
    assert response.status_code == 422
    assert f'id="{field}-error"' in body, f"no message beside {field}"
    assert f'value="{value}"' in body, f"{field}: what was typed was lost"
    with doctor.client.application.app_context():
        from app.records.models import ClinicalEntry

        assert db.session.query(ClinicalEntry).count() == 0
        db.session.rollback()


def test_vitals_out_of_range_and_empty(doctor, patient_id):
    chart = f"/doctor/patients/{patient_id}"
    response = doctor.post(_entry_url(patient_id), {"systolic": "400", "pulse": "72"}, page=chart)
    body = _no_crash(response, "systolic 400")
    assert response.status_code == 422 and 'id="systolic-error">Expected between 50 and 260.' in body
    assert 'value="400"' in body and 'value="72"' in body
    response = doctor.post(_entry_url(patient_id), {}, page=chart)
    body = _no_crash(response, "no vitals")
    assert response.status_code == 422 and "Record at least one measurement." in body


def test_missing_or_long_fields_on_text_entries(doctor, patient_id):
    chart = f"/doctor/patients/{patient_id}"
    response = doctor.post(_entry_url(patient_id, "allergy"), {"severity": "mild"}, page=chart)
    body = _no_crash(response, "allergy without substance")
    assert response.status_code == 422 and 'id="substance-error">Name the substance.' in body
    response = doctor.post(_entry_url(patient_id, "allergy"), {"substance": "Latex", "severity": "fatal"}, page=chart)
    body = _no_crash(response, "allergy with an unknown severity")
    assert response.status_code == 422 and 'id="severity-error"' in body and 'value="Latex"' in body
    long_note = "word " * 20_000
    response = doctor.post(_entry_url(patient_id, "note"), {"subjective": long_note}, page=chart)
    body = _no_crash(response, "very long note")
    assert response.status_code == 422 and 'id="subjective-error"' in body
    response = doctor.post(_entry_url(patient_id, "note"), {"plan": "nul \x00 in a note"}, page=chart)
    _no_crash(response, "NUL in a note")
    for visit in ("abc", "-1", "9" * 40, "1e9"):
        response = doctor.post(_entry_url(patient_id, "note"), {"plan": "Review.", "appointment_id": visit}, page=chart)
        body = _no_crash(response, f"note for visit {visit!r}")
        assert response.status_code == 422 and 'id="appointment_id-error"' in body
    for code in ("", "%", "Z99.9", "x" * 500):
        response = doctor.post(_entry_url(patient_id, "problem"), {"code": code}, page=chart)
        body = _no_crash(response, f"problem coded {code!r}")
        assert response.status_code == 422
    for code in ("%", "x" * 500, "\x00", "J45" * 100):
        _no_crash(doctor.get(f"/doctor/patients/icd10?code={code}"), f"code search {code!r}")
        _no_crash(doctor.get(f"/doctor/patients/by-diagnosis?code={code}"), f"diagnosis search {code!r}")
        _no_crash(doctor.get(f"/doctor/patients/icd10/pick?code={code}", headers={"HX-Request": "true"}), "pick")


def test_unknown_entry_kind_and_missing_patient_are_404(doctor, patient_id):
    chart = f"/doctor/patients/{patient_id}"
    for url in (_entry_url(patient_id, "bogus"), _entry_url(patient_id, "%00"), _entry_url(patient_id, "..%2f..%2fetc"),
                _entry_url(999_999, "note"), _entry_url(99_999_999_999_999_999_999, "note")):
        response = doctor.post(url, {"text": "hello"}, page=chart)
        _no_crash(response, url)
        assert response.status_code == 404, (url, response.status_code)
    response = doctor.post(_entry_url(999_999, "vitals"), {"systolic": "abc"}, page=chart)
    assert response.status_code == 404


def test_entry_status_garbage_is_refused(doctor, patient_id, app):
    from app.records.models import EntryKind
    from app.records.services import entry_add

    with app.app_context():
        entry = entry_add(actor=SET_UP, patient_id=patient_id, kind=EntryKind.PROBLEM, content={"condition": "Asthma"},
                          recorded_by_id=None)
        db.session.commit()
        entry_id = entry.id
    chart = f"/doctor/patients/{patient_id}"
    url = f"/doctor/patients/{patient_id}/entries/{entry_id}/status"
    for data in ({}, {"status": ""}, {"status": "ACTIVE"}, {"status": "deleted"}, {"status": "\x00"},
                 {"status": "x" * 10_000}, {"status": ["resolved", "active"]}):
        response = doctor.post(url, data, page=chart)
        _no_crash(response, f"status {str(data)[:40]}")
        assert response.status_code in (400, 303), (data, response.status_code)
        if response.status_code == 400:
            assert "Something was wrong with that request" in response.get_data(as_text=True)
    for bad in (f"/doctor/patients/{patient_id}/entries/999999/status", f"/doctor/patients/999999/entries/{entry_id}/status"):
        response = doctor.post(bad, {"status": "resolved"}, page=chart)
        assert response.status_code == 404, bad
    with app.app_context():
        from app.records.models import ClinicalEntry

        assert db.session.get(ClinicalEntry, entry_id).status in ("active", "resolved")
        db.session.rollback()


def test_a_reading_cannot_be_marked_resolved_even_by_a_hand_made_post(doctor, patient_id, app):
    """The chart offers "Mark resolved" only where the service allows it; a forged post gets the refusal."""
    from app.records.models import ClinicalEntry, EntryKind
    from app.records.services import entry_add

    with app.app_context():
        entry_id = entry_add(actor=SET_UP, patient_id=patient_id, kind=EntryKind.VITALS, content={"pulse": 70}).id
        db.session.commit()
    chart = f"/doctor/patients/{patient_id}"
    actions = doctor.get(f"{chart}/entries/{entry_id}/actions", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'entries/{entry_id}/entered-in-error' in actions and "Mark resolved" not in actions
    response = doctor.post(f"/doctor/patients/{patient_id}/entries/{entry_id}/status", {"status": "resolved"}, page=chart)
    assert response.status_code == 303 and response.headers["Location"] == chart
    assert "This entry cannot be changed that way." in doctor.get(chart).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ClinicalEntry, entry_id).status == "active"
        db.session.rollback()


# -- ids, sizes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role,url", [
    (Role.DOCTOR, "/doctor/patients/999999"),
    (Role.DOCTOR, "/doctor/patients/99999999999999999999999"),
    (Role.DOCTOR, "/doctor/patients/0"),
    (Role.ADMIN, "/admin/people/999999"),
    (Role.ADMIN, "/admin/people/99999999999999999999999"),
    (Role.PATIENT, "/patient/no-such-page"),
    (None, "/reset/not-a-token"),
    (None, "/invite/" + "x" * 5000),
    (None, "/reset/%00"),
])
def test_missing_things_answer_404_or_410(signed_in, browser, role, url):
    client = signed_in(role)[0] if role else browser
    response = client.get(url)
    body = _no_crash(response, url)
    assert response.status_code in (404, 410), (url, response.status_code)
    assert "<main" in body


def test_admin_actions_on_missing_people_are_404(signed_in):
    admin, _ = signed_in(Role.ADMIN)
    for url, data in (("/admin/people/999999", {"role": "doctor"}), ("/admin/people/999999/deactivate", {}),
                      ("/admin/people/999999/reactivate", {}), ("/admin/people/999999/end-sessions", {})):
        response = admin.post(url, data, page="/admin/people/")
        _no_crash(response, url)
        assert response.status_code == 404, (url, response.status_code)


def test_invite_form_bad_values_are_kept_beside_the_field(signed_in):
    admin, _ = signed_in(Role.ADMIN)
    page = "/admin/people/invite"
    response = admin.post(page, {"full_name": "Dr Who", "email": "who@clinic.test", "role": "doctor", "fee": "lots"},
                          page=page)
    body = _no_crash(response, "fee=lots")
    assert response.status_code == 422 and 'id="fee-error"' in body and 'value="lots"' in body
    response = admin.post(page, {"full_name": "Dr Who", "email": "who@clinic.test", "role": "superuser"}, page=page)
    body = _no_crash(response, "role=superuser")
    assert response.status_code == 422 and 'id="role-error"' in body and 'value="Dr Who"' in body
    response = admin.post(page, {"full_name": "x" * 10_000, "email": "who@clinic.test", "role": "doctor",
                                 "fee": "9" * 40}, page=page)
    body = _no_crash(response, "long name, huge fee")
    assert response.status_code == 422 and 'id="full_name-error"' in body and 'id="fee-error"' in body
    response = admin.post(page, {}, page=page)
    body = _no_crash(response, "empty invite")
    assert response.status_code == 422 and 'id="email-error"' in body


def test_body_over_the_limit_is_413(app, doctor, patient_id):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 10 * 1024 * 1024
    token = doctor.csrf(f"/doctor/patients/{patient_id}")
    response = doctor.client.post(_entry_url(patient_id, "note"), data={"csrf_token": token, "text": "x" * (limit + 1)})
    body = _no_crash(response, "oversized body")
    assert response.status_code == 413
    assert "Too large" in body and "<main" in body
    anonymous = Browser(app.test_client())
    response = anonymous.client.post("/login", data={"email": "a@b.co", "password": "p" * (limit + 1)})
    _no_crash(response, "oversized login")
    assert response.status_code == 413


# -- error pages ----------------------------------------------------------------------------------

def _assert_error_page(response, code, title, *, leaks=()):
    body = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert "<header class=\"topbar\"" in body and '<main id="main"' in body, "not inside the layout"
    assert f"Error {code}" in body and title in body
    assert "Go to my home page" in body
    for leak in ("Traceback", "File \"", "werkzeug", "sqlalchemy", *leaks):
        assert leak not in body, f"the {code} page shows {leak!r}"
    return body


def test_404_and_403_pages_are_in_the_layout(browser, signed_in):
    _assert_error_page(browser.get("/no/such/page"), 404, "Page not found")
    patient, user = signed_in(Role.PATIENT)
    body = _assert_error_page(patient.get("/doctor/patients/"), 403, "Not allowed")
    assert user.full_name in body and "ask your administrator" in body
    _assert_error_page(patient.get("/no/such/page"), 404, "Page not found")
    _assert_error_page(patient.get("/logout"), 405, "Not allowed")


def test_htmx_errors_get_the_fragment(signed_in):
    patient, _ = signed_in(Role.PATIENT)
    response = patient.get("/doctor/patients/", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "<html" not in body and "Not allowed" in body


def test_500_page_is_helpful_and_hides_the_error(app, database_url, redis_url, make_user):
    with fresh_app(app, database_url, redis_url) as broken:
        @broken.route("/explode")
        @public
        def explode():
            raise RuntimeError("secret internals: password=hunter2 at /srv/app.py")

        @broken.route("/explode-after-write", methods=["POST"])
        @public
        def explode_after_write():
            from app.accounts.models import User

            db.session.query(User).update({"full_name": "Changed"})
            raise ValueError("boom")

        @broken.route("/value-out-of-range")
        @public
        def value_out_of_range():
            from sqlalchemy import text

            db.session.execute(text("SELECT CAST(:n AS integer)"), {"n": str(2**40)})
            return "unreachable"

        client = Browser(broken.test_client())
        # a value the database refuses is the request's fault: a 400 page, not "went wrong on our side"
        _assert_error_page(client.get("/value-out-of-range"), 400, "Something was wrong with that request",
                           leaks=("NumericValueOutOfRange", "integer out of range", "SELECT"))
        body = _assert_error_page(client.get("/explode"), 500, "Something went wrong on our side",
                                  leaks=("RuntimeError", "hunter2", "secret internals", "app.py"))
        assert "Nothing you did caused this" in body
        assert "no-store" in client.get("/explode").headers.get("Cache-Control", "")

        user = make_user(Role.DOCTOR)
        signed = Browser(broken.test_client())
        assert signed.login(user.email).status_code == 303
        body = _assert_error_page(signed.get("/explode"), 500, "Something went wrong on our side",
                                  leaks=("RuntimeError", "hunter2"))
        assert user.full_name in body  # the layout with the person's own header

        response = signed.post("/explode-after-write", {})
        _assert_error_page(response, 500, "Something went wrong on our side", leaks=("ValueError",))
        with broken.app_context():
            from app.accounts.models import User

            assert db.session.get(User, user.id).full_name == user.full_name, "a failed request was committed"
            db.session.rollback()


def test_int_ids_in_urls_fit_the_database(app):
    """<int:...> matches only what an INTEGER column holds (app.core.security.DatabaseIntConverter): a
    larger id is a 404 from routing, not a database error."""
    from werkzeug.routing import IntegerConverter

    unbounded = [f"{rule.rule} <{name}>" for rule in app.url_map.iter_rules()
                 for name, converter in rule._converters.items()
                 if isinstance(converter, IntegerConverter) and (converter.max is None or converter.max > 2**31 - 1)]
    assert not unbounded, "int converters without the database bound: " + ", ".join(unbounded)


# -- log lines nobody can forge ----------------------------------------------------------------------------

def test_a_crlf_in_a_url_cannot_forge_a_log_line(app, caplog):
    """Paths and headers put into log messages have their control characters escaped."""
    import logging

    with caplog.at_level(logging.INFO):
        logging.getLogger("app.test").warning("refused on %s %s", "GET", "/x\r\n2026-12-01 INFO admin signed in")
        client = app.test_client()
        client.get("/doctor/%0d%0aFORGED%20line")  # an anonymous request: logged nowhere, and no crash
    lines = caplog.text.splitlines()
    assert not any(line.startswith("2026-12-01 INFO admin") for line in lines)
    assert "/x\\x0d\\x0a2026-12-01 INFO admin signed in" in caplog.text


def test_the_error_log_escapes_the_request_path(app, database_url, redis_url, caplog):
    """The unexpected-error log names the path: a CR/LF in it stays on one line."""
    import logging

    with fresh_app(app, database_url, redis_url) as broken:
        @broken.route("/boom/<rest>")
        @public
        def boom(rest):
            raise RuntimeError("boom")

        with caplog.at_level(logging.ERROR):
            response = broken.test_client().get("/boom/a%0d%0aFORGED-LINE")
    assert response.status_code == 500
    assert not any(line.startswith("FORGED-LINE") for line in caplog.text.splitlines())
    assert "/boom/a\\x0d\\x0aFORGED-LINE" in caplog.text


# -- dates far outside reason -------------------------------------------------------------------------------

@pytest.mark.parametrize("born, accepted", [("0001-01-01", False), ("1850-06-01", False), ("2999-01-01", False),
                                            ("1990-04-02", True)])
def test_a_date_of_birth_far_outside_reason_is_refused_beside_the_field(signed_in, born, accepted):
    desk, _ = signed_in(Role.RECEPTION)
    response = desk.post("/reception/patients/new", {"given_name": "Baraka", "family_name": "Otieno",
                                                     "date_of_birth": born}, page="/reception/patients/new")
    body = _no_crash(response, f"date of birth {born}")
    if accepted:
        assert response.status_code == 303
    else:
        assert response.status_code == 422 and 'id="date_of_birth-error"' in body and f'value="{born}"' in body


@pytest.mark.parametrize("first_day", ["9999-12-31", "2999-01-01"])
def test_leave_in_a_far_year_is_refused_beside_the_field(signed_in, first_day):
    doctor, _ = signed_in(Role.DOCTOR)
    response = doctor.post("/doctor/appointments/availability/exceptions",
                           {"kind": "leave", "first_day": first_day, "note": "away"}, page="/doctor/")
    body = _no_crash(response, f"leave on {first_day}")
    assert response.status_code == 422
    assert 'id="first_day-error"' in body and "within the next two years" in body
