"""Who looked at a record: the patient's own page (their chart's accesses, in their language, never
another patient's) and the administrator's review (names, plain words, filters, CSV export)."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.extensions import db
from app.records import services
from app.records.models import EntryKind
from tests.conftest import Browser

WHY = "Collapsed at the bus stop; need allergies before giving drugs."


@pytest.fixture
def scene(app, make_user, make_patient, care, signed_in):
    """A patient (account) whose chart a carer read and added to, another doctor opened in an
    emergency and a third was refused; and another patient whom a fourth doctor read."""
    account = make_user(Role.PATIENT, full_name="Amani Otieno")
    amani = make_patient(user_id=account.id)
    other = make_patient(given_name="Zawadi", family_name="Kamau")
    carer_browser, carer = signed_in(Role.DOCTOR, full_name="Dr Wanjiru Carer")
    care(carer, amani)
    assert carer_browser.get(f"/doctor/patients/{amani.id}").status_code == 200
    assert carer_browser.post(f"/doctor/patients/{amani.id}/entries/allergy",
                              {"substance": "Penicillin", "severity": "severe"},
                              page=f"/doctor/patients/{amani.id}").status_code in (200, 303)
    urgent_browser, urgent = signed_in(Role.DOCTOR, full_name="Dr Baraka Urgent")
    assert urgent_browser.post(f"/doctor/patients/{amani.id}/emergency-access", {"reason": WHY},
                               page=f"/doctor/patients/{amani.id}").status_code == 303
    assert urgent_browser.get(f"/doctor/patients/{amani.id}").status_code == 200
    refused_browser, refused = signed_in(Role.DOCTOR, full_name="Dr Refused Stranger")
    assert refused_browser.post(f"/doctor/patients/{amani.id}/entries/note", {"text": "Hello"},
                                page="/doctor/patients/").status_code in (403, 404)
    snoop_browser, snoop = signed_in(Role.DOCTOR, full_name="Dr Zawadi Only")
    care(snoop, other)
    assert snoop_browser.get(f"/doctor/patients/{other.id}").status_code == 200
    with app.app_context():
        services.entry_add(actor=Actor.system("nightly-import"), patient_id=amani.id, kind=EntryKind.NOTE,
                           content={"text": "Imported"}, recorded_by_id=None)
        db.session.commit()
    patient_browser = Browser(app.test_client())
    assert patient_browser.login(account.email).status_code == 303
    return dict(account=account, amani=amani, other=other, carer=carer, urgent=urgent, refused=refused, snoop=snoop,
                patient=patient_browser)


def rows_about(app, patient_id):
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.patient_id == patient_id)).scalars())


# -- the patient's page ---------------------------------------------------------------------------

def test_the_patient_sees_who_looked_with_names_roles_and_the_emergency(app, scene):
    my_record = scene["patient"].get("/patient/record/").get_data(as_text=True)
    assert 'href="/patient/record/access"' in my_record
    before = len(rows_about(app, scene["amani"].id))

    page = scene["patient"].get("/patient/record/access")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dr Wanjiru Carer (Doctor)" in body and "Opened the record" in body and "Added an allergy" in body
    assert "Dr Baraka Urgent (Doctor)" in body and "Opened the record in an emergency" in body
    assert body.count('<span class="badge badge-danger">Emergency access</span>') == 2  # the grant, its read
    assert f"Reason given: {WHY}" in body
    assert "Dr Refused Stranger (Doctor)" in body and "Was refused access" in body
    assert "MyAfya (automatic)" in body
    # Never another patient's rows, and their own reads are left out.
    assert "Dr Zawadi Only" not in body
    assert "Amani Otieno" not in body.split('id="access-rows"')[1]
    # Reading the trail is not a chart read: no row was written about this chart.
    assert len(rows_about(app, scene["amani"].id)) == before


def test_the_page_is_in_swahili_for_a_patient_who_chose_it(app, scene):
    with app.app_context():
        from app.accounts.models import User
        db.session.get(User, scene["account"].id).language = "sw"
        db.session.commit()
    body = scene["patient"].get("/patient/record/access").get_data(as_text=True)
    assert "Nani aliangalia rekodi yangu" in body
    assert "Dr Wanjiru Carer (Daktari)" in body and "MyAfya (kiotomatiki)" in body
    assert "Alifungua rekodi kwa dharura" in body and "Sababu iliyotolewa" in body
    assert "Opened the record" not in body and "Who looked at my record" not in body


def test_a_patient_with_no_accesses_sees_no_one_elses(app, scene, make_user, make_patient):
    lonely = make_user(Role.PATIENT)
    make_patient(given_name="Neema", family_name="Lonely", user_id=lonely.id)
    browser = Browser(app.test_client())
    assert browser.login(lonely.email).status_code == 303
    body = browser.get("/patient/record/access").get_data(as_text=True)
    assert "Nobody has looked at your record yet." in body
    assert "Dr " not in body and WHY not in body


def test_the_patient_page_pages_newest_first(app, scene):
    with app.app_context():
        for _ in range(55):
            services.chart_read(actor=Actor.for_user(scene["carer"]), patient_id=scene["amani"].id)
        db.session.commit()
    first = scene["patient"].get("/patient/record/access").get_data(as_text=True)
    assert "MyAfya (automatic)" not in first and "page=2" in first
    second = scene["patient"].get("/patient/record/access?page=2").get_data(as_text=True)
    assert "MyAfya (automatic)" in second and "Newer" in second
    assert scene["patient"].get("/patient/record/access?page=-3").status_code == 200
    assert scene["patient"].get("/patient/record/access?page=99999999999999").status_code == 200


# -- the administrator's review --------------------------------------------------------------------

def lines(body: str) -> list[str]:
    return [row for row in body.split("<tr")[2:]]  # past the header


def test_the_review_shows_names_and_plain_words(scene, signed_in):
    admin, _ = signed_in(Role.ADMIN)
    body = admin.get("/admin/people/audit").get_data(as_text=True)
    assert "Dr Baraka Urgent" in body and "Amani Otieno" in body and scene["amani"].mrn in body
    assert "Opened the record in an emergency" in body and "Added an allergy" in body
    assert "chart.read" not in body


def test_each_filter_narrows(app, scene, signed_in):
    admin, _ = signed_in(Role.ADMIN)
    amani, other = scene["amani"], scene["other"]

    emergency = lines(admin.get("/admin/people/audit?emergency=1").get_data(as_text=True))
    assert len(emergency) == 2 and all("Dr Baraka Urgent" in r for r in emergency)

    denied = lines(admin.get("/admin/people/audit?denied=1").get_data(as_text=True))
    assert denied and all("Was refused access" in r for r in denied)
    assert any("Dr Refused Stranger" in r for r in denied) and not any("Dr Wanjiru" in r for r in denied)

    staff = lines(admin.get(f"/admin/people/audit?staff={scene['snoop'].id}").get_data(as_text=True))
    assert staff and all("Dr Zawadi Only" in r and "Zawadi Kamau" in r for r in staff)

    by_name = lines(admin.get("/admin/people/audit?patient=Zawadi").get_data(as_text=True))
    by_mrn = lines(admin.get(f"/admin/people/audit?patient={other.mrn}").get_data(as_text=True))
    by_id = lines(admin.get(f"/admin/people/audit?patient={other.id}").get_data(as_text=True))
    assert by_name == by_mrn == by_id and by_name and all("Zawadi Kamau" in r for r in by_name)
    mine = lines(admin.get(f"/admin/people/audit?patient={amani.id}").get_data(as_text=True))
    assert mine and not any("Zawadi Kamau" in r for r in mine)

    with app.app_context():
        total = len(rows_about(app, amani.id))
        newest = db.session.execute(select(AuditEvent.occurred_at).order_by(AuditEvent.seq.desc())).scalars().first()
    day = newest.astimezone(__import__("zoneinfo").ZoneInfo(app.config["CLINIC_TIMEZONE"])).date()
    today = lines(admin.get(f"/admin/people/audit?patient={amani.id}&from={day}&to={day}").get_data(as_text=True))
    assert len(today) == total
    tomorrow = day + dt.timedelta(days=1)
    later = admin.get(f"/admin/people/audit?patient={amani.id}&from={tomorrow}").get_data(as_text=True)
    assert "Nothing recorded yet." in later
    earlier = admin.get(f"/admin/people/audit?to={day - dt.timedelta(days=1)}").get_data(as_text=True)
    assert "Nothing recorded yet." in earlier


@pytest.mark.parametrize("query, field, message", [
    ("from=yesterday", "from", "Enter a date as YYYY-MM-DD."),
    ("to=2026-13-45", "to", "Enter a date as YYYY-MM-DD."),
    ("from=0001-01-01", "from", "Enter a date between 2000 and 2999."),
    ("from=2026-05-02&to=2026-05-01", "to", "The end date is before the start date."),
    ("patient=Nobody%20Here", "patient", "No patient matches this name or MRN."),
])
def test_bad_filters_get_a_message_beside_the_field(scene, signed_in, query, field, message):
    admin, _ = signed_in(Role.ADMIN)
    page = admin.get(f"/admin/people/audit?{query}")
    body = page.get_data(as_text=True)
    assert page.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in body
    export = admin.get(f"/admin/people/audit/export.csv?{query}")
    assert export.status_code == 303 and "text/csv" not in export.headers.get("Content-Type", "")


def test_huge_numbers_in_filters_do_not_break_the_page(scene, signed_in):
    admin, _ = signed_in(Role.ADMIN)
    for query in ("patient=99999999999999999999", "staff=99999999999999999999", "page=99999999999999999999"):
        assert admin.get(f"/admin/people/audit?{query}").status_code == 200, query


def test_the_csv_export(app, scene, signed_in, make_user):
    admin, admin_user = signed_in(Role.ADMIN)
    sly = make_user(Role.DOCTOR, full_name='=cmd|"/c calc"!A1')
    with app.app_context():
        from app.audit.services import audit_access
        audit_access(actor=Actor.for_user(sly), patient_id=scene["other"].id, action="chart.read", reason="care")
        db.session.commit()

    response = admin.get("/admin/people/audit/export.csv?emergency=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0][:3] == ["seq", "when_utc", "who"]
    assert len(table) == 1 + 2 and all(r[2] == "Dr Baraka Urgent" and r[9] == WHY for r in table[1:])
    assert all(r[4] == f"Amani Otieno ({scene['amani'].mrn})" for r in table[1:])

    everything = list(csv.reader(io.StringIO(admin.get("/admin/people/audit/export.csv").get_data(as_text=True))))
    sly_rows = [r for r in everything if "cmd" in r[2]]
    assert sly_rows and all(r[2] == "'" + '=cmd|"/c calc"!A1' for r in sly_rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in everything for cell in r)

    with app.app_context():
        exports = list(db.session.execute(select(AuditEvent).where(AuditEvent.action == "audit.export")).scalars())
    assert [(e.actor_user_id, e.reason, e.outcome) for e in exports] == [(admin_user.id, "review", "allowed")] * 2


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.PATIENT, Role.RECEPTION])
def test_only_the_administrator_reviews(scene, signed_in, role):
    browser, _ = signed_in(role)
    for path in ("/admin/people/audit", "/admin/people/audit/export.csv", "/admin/people/audit/export.csv?emergency=1"):
        response = browser.get(path)
        assert response.status_code == 403, (role, path)
        assert WHY not in response.get_data(as_text=True)
