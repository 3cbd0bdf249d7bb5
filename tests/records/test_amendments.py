"""Entries are never overwritten: an amendment keeps every earlier version (who, when, why), shown
on demand; "entered in error" asks for a reason on a confirmation page, strikes the entry through
and keeps it on the chart (not in the FHIR export)."""
from __future__ import annotations

import json
import re

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.migrate import alembic_config, upgrade_to_head
from app.extensions import db
from app.records import services
from app.records.models import ClinicalEntry, ClinicalEntryVersion, EntryKind
from tests.conftest import SET_UP

WHY_AMEND = "Misread the label: it was amoxicillin."
WHY_ERROR = "Recorded in the wrong patient's chart."


@pytest.fixture
def keeper(make_user):
    return make_user(Role.DOCTOR, full_name="Dr Keeper Mwangi")


@pytest.fixture
def chart(app, make_patient, keeper, signed_in, care):
    """(browser, doctor, patient, allergy entry id): a doctor in care of a patient with one allergy."""
    browser, doctor = signed_in(Role.DOCTOR, full_name="Dr Amending Otieno")
    patient = make_patient()
    care(doctor, patient)
    with app.app_context():
        entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY,
                                   recorded_by_id=keeper.id,
                                   content={"substance": "Penicillin", "reaction": "rash", "severity": "severe"})
        db.session.commit()
        return browser, doctor, patient, entry.id


def url(patient, tail: str = "") -> str:
    return f"/doctor/patients/{patient.id}{tail}"


def actions(app, patient_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(r.action, r.reason) for r in db.session.execute(
            select(AuditEvent).where(AuditEvent.patient_id == patient_id, AuditEvent.actor_role != "system")
            .order_by(AuditEvent.seq)).scalars()]


def entry_state(app, entry_id: int) -> tuple:
    with app.app_context():
        entry = db.session.get(ClinicalEntry, entry_id)
        return entry.status, entry.content, sorted((v.number, v.status, v.reason) for v in entry.versions)


def amend(browser, patient, entry_id, **fields):
    data = {"substance": "Amoxicillin", "reaction": "rash", "severity": "severe", "reason": WHY_AMEND, **fields}
    return browser.post(url(patient, f"/entries/{entry_id}/amend"), data, page=url(patient))


def test_amend_keeps_the_earlier_version_and_the_chart_shows_the_new_content(app, chart, keeper):
    browser, doctor, patient, entry_id = chart
    form = browser.get(url(patient, f"/entries/{entry_id}/amend")).get_data(as_text=True)
    assert 'value="Penicillin"' in form  # prefilled with what the entry says now

    assert amend(browser, patient, entry_id).status_code == 303
    page = browser.get(url(patient)).get_data(as_text=True)
    item = re.search(rf'<li id="entry-{entry_id}">(.*?)</li>', page, re.S).group(1)
    assert "Amoxicillin" in item and "Penicillin" not in item
    # its actions come when its "More" is opened: with htmx the fragment, without a page of their own
    more = browser.get(url(patient, f"/entries/{entry_id}/actions"), headers={"HX-Request": "true"})
    assert "<html" not in more.get_data(as_text=True) and "History (2)" in more.get_data(as_text=True)
    assert "History (2)" in browser.get(url(patient, f"/entries/{entry_id}/actions")).get_data(as_text=True)

    history = browser.get(url(patient, f"/entries/{entry_id}/history")).get_data(as_text=True)
    newest, oldest = history.index("Amoxicillin"), history.index("Penicillin")
    assert newest < oldest  # newest first
    assert "Version 2" in history[:oldest] and WHY_AMEND in history[:oldest] and "Dr Amending Otieno" in history[:oldest]
    assert "Version 1" in history[oldest - 400:] and "Dr Keeper Mwangi" in history[oldest:]
    with app.app_context():
        versions = db.session.execute(select(ClinicalEntryVersion).where(ClinicalEntryVersion.entry_id == entry_id)
                                      .order_by(ClinicalEntryVersion.number)).scalars().all()
        assert [(v.number, v.content["substance"], v.changed_by_id, v.reason) for v in versions] == \
            [(1, "Penicillin", keeper.id, None), (2, "Amoxicillin", doctor.id, WHY_AMEND)]
        assert versions[0].changed_at <= versions[1].changed_at
    assert ("allergy.amend", "care") in actions(app, patient.id)
    assert actions(app, patient.id)[-1] == ("allergy.history.read", "care")  # every history view is audited


def test_a_second_amendment_adds_a_third_version_and_history_lists_all_in_order(app, chart):
    browser, _, patient, entry_id = chart
    assert amend(browser, patient, entry_id).status_code == 303
    assert amend(browser, patient, entry_id, substance="Ampicillin", reason="Checked the pharmacy record.") \
        .status_code == 303
    history = browser.get(url(patient, f"/entries/{entry_id}/history")).get_data(as_text=True)
    assert [history.index(word) for word in ("Ampicillin", "Amoxicillin", "Penicillin")] == \
        sorted(history.index(word) for word in ("Ampicillin", "Amoxicillin", "Penicillin"))
    assert re.findall(r"Version (\d)", history) == ["3", "2", "1"]
    # with JS on, the list alone is loaded into the entry's "More" disclosure
    fragment = browser.get(url(patient, f"/entries/{entry_id}/history"), headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and re.findall(r"Version (\d)", body) == ["3", "2", "1"]


def test_amend_needs_a_reason_and_valid_content(app, chart):
    browser, _, patient, entry_id = chart
    response = amend(browser, patient, entry_id, reason="  ")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'field-error">\s*<label for="reason"', body)
    response = amend(browser, patient, entry_id, substance="")
    assert response.status_code == 422
    assert entry_state(app, entry_id) == ("active", {"substance": "Penicillin", "reaction": "rash",
                                                     "severity": "severe", "verified": False}, [])


def test_entered_in_error_asks_for_a_reason_on_a_confirmation_page_and_get_changes_nothing(app, chart):
    browser, _, patient, entry_id = chart
    page = browser.get(url(patient)).get_data(as_text=True)
    assert 'value="entered_in_error"' not in page  # no one-click strike on the chart
    assert "btn-danger" not in re.search(rf'<li id="entry-{entry_id}">(.*?)</li>', page, re.S).group(1)
    assert "<details class=\"entry-more\">" in page

    confirm = browser.get(url(patient, f"/entries/{entry_id}/entered-in-error"))
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Penicillin" in body and 'name="reason"' in body
    assert entry_state(app, entry_id)[0] == "active" and entry_state(app, entry_id)[2] == []

    for post in ({"reason": ""}, {"status": "entered_in_error"}):  # the page's form, and the old status route
        path = "/entered-in-error" if "reason" in post else "/status"
        response = browser.post(url(patient, f"/entries/{entry_id}{path}"), post, page=url(patient))
        assert response.status_code == 422
        assert re.search(r'field-error">\s*<label for="reason"', response.get_data(as_text=True))
        assert entry_state(app, entry_id)[0] == "active"


def test_entered_in_error_strikes_the_entry_through_keeps_it_visible_and_out_of_the_export(app, chart):
    browser, doctor, patient, entry_id = chart
    response = browser.post(url(patient, f"/entries/{entry_id}/entered-in-error"), {"reason": WHY_ERROR},
                            page=url(patient))
    assert response.status_code == 303
    page = browser.get(url(patient)).get_data(as_text=True)
    item = re.search(rf'<li id="entry-{entry_id}">(.*?)</li>', page, re.S).group(1)
    assert re.search(r"<del>.*Penicillin.*</del>", item, re.S)
    assert "entered in error" in item and WHY_ERROR.replace("'", "&#39;") in item
    more = browser.get(url(patient, f"/entries/{entry_id}/actions"), headers={"HX-Request": "true"})
    assert "/amend" not in more.get_data(as_text=True)  # struck out: add a new entry instead
    assert "/history" in more.get_data(as_text=True)
    banner = re.search(r'id="patient-banner">(.*?)</section>', page, re.S).group(1)
    assert "Penicillin" not in banner  # not an allergy any more

    bundle = json.loads(browser.get(url(patient, "/export.fhir.json")).get_data(as_text=True))
    assert "Penicillin" not in json.dumps(bundle)
    assert [v[1:] for v in entry_state(app, entry_id)[2]] == [("active", None), ("entered_in_error", WHY_ERROR)]
    assert ("allergy.entered_in_error", "care") in actions(app, patient.id)
    # the patient sees it struck through too
    with app.app_context():
        assert services.chart_read(actor=SET_UP, patient_id=patient.id)[EntryKind.ALLERGY][0].status == \
            "entered_in_error"


def test_the_reason_is_encrypted_at_rest(app, chart):
    browser, _, patient, entry_id = chart
    assert browser.post(url(patient, f"/entries/{entry_id}/entered-in-error"), {"reason": WHY_ERROR},
                        page=url(patient)).status_code == 303
    with app.app_context():
        with db.engine.connect() as conn:
            raw = conn.execute(text("SELECT reason, content FROM clinical_entry_versions WHERE entry_id = :id"),
                               {"id": entry_id}).all()
    assert len(raw) == 2 and raw[1][0] is not None
    for reason, content in raw:
        assert b"wrong patient" not in bytes(reason or b"") and b"Penicillin" not in bytes(content)


def test_a_doctor_without_care_is_refused_and_nothing_changes(app, chart, signed_in):
    _, _, patient, entry_id = chart
    stranger, _ = signed_in(Role.DOCTOR)
    before = entry_state(app, entry_id)
    for method, tail, data in [("get", "/amend", None), ("post", "/amend", {"substance": "X", "severity": "mild",
                                                                              "reason": "r"}),
                               ("get", "/entered-in-error", None), ("post", "/entered-in-error", {"reason": "r"}),
                               ("get", "/history", None), ("get", "/actions", None)]:
        path = url(patient, f"/entries/{entry_id}{tail}")
        response = stranger.get(path) if method == "get" else stranger.post(path, data, page="/doctor/")
        assert response.status_code == 403, (method, tail)
        assert "Penicillin" not in response.get_data(as_text=True)
    assert entry_state(app, entry_id) == before


def test_a_patient_cannot_reach_the_doctors_routes(app, chart, signed_in):
    _, _, patient, entry_id = chart
    them, _ = signed_in(Role.PATIENT)
    for tail in ("/amend", "/entered-in-error", "/history", "/actions"):
        assert them.get(url(patient, f"/entries/{entry_id}{tail}")).status_code in (403, 404)
    assert them.post(url(patient, f"/entries/{entry_id}/entered-in-error"), {"reason": "r"},
                     page="/").status_code in (403, 404)
    assert entry_state(app, entry_id)[0] == "active"


def test_another_patients_entry_id_is_404(app, chart, make_patient):
    browser, _, patient, entry_id = chart
    other = make_patient(given_name="Baraka", family_name="Wafula")
    for tail in ("/amend", "/entered-in-error", "/history", "/actions"):
        assert browser.get(url(other, f"/entries/{entry_id}{tail}")).status_code in (403, 404)
    # the doctor's own patient, another chart's entry id: no such entry here
    with app.app_context():
        foreign = services.entry_add(actor=SET_UP, patient_id=other.id, kind=EntryKind.NOTE,
                                     content={"text": "Elsewhere."}).id
        db.session.commit()
    for tail in ("/amend", "/entered-in-error", "/history", "/actions"):
        assert browser.get(url(patient, f"/entries/{foreign}{tail}")).status_code == 404
    assert browser.post(url(patient, f"/entries/{foreign}/entered-in-error"), {"reason": "r"},
                        page=url(patient)).status_code == 404
    assert entry_state(app, foreign)[0] == "active"


def test_the_migration_runs_on_sqlite_and_back(app, tmp_path):
    database = f"sqlite:///{tmp_path / 'versions.sqlite3'}"
    upgrade_to_head(database)
    engine = create_engine(database)
    columns = {c["name"] for c in inspect(engine).get_columns("clinical_entry_versions")}
    assert columns == {"id", "entry_id", "number", "content", "status", "changed_by_id", "changed_at", "reason"}
    command.downgrade(alembic_config(database), "0008_user_language")
    assert "clinical_entry_versions" not in inspect(engine).get_table_names()
    engine.dispose()
