"""The chart's summary shows the latest of each kind and loads the rest on demand ("Show older",
keyset paging, plain and htmx); every active allergy stays in the banner; add-entry forms come only
when asked for; reading older entries goes through the gate and is audited."""
from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from sqlalchemy import event, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.clock import clock
from app.extensions import db
from app.records import services
from app.records.models import EntryKind, EntryStatus
from app.records.services import PAGE_SIZE, SUMMARY_LATEST
from tests.conftest import SET_UP
from tests.perf.page_weight import FRAGMENT_BUDGET, PAGE_BUDGET, measure_fragment, measure_page

NOTES = 60
HTMX = {"HX-Request": "true"}


WORDS = ("review", "sugars", "steady", "feet", "checked", "cough", "settled", "plan", "continue", "metformin",
         "blood", "pressure", "repeat", "labs", "weeks", "advice", "diet", "walking", "no", "new", "complaints")


def note_text(i: int) -> str:
    """A note of a real note's length, each different (repeated text would flatter the gzipped sizes)."""
    words = random.Random(i).choices(WORDS, k=40)
    return f"Review number {i}: " + " ".join(words) + "."


def add_notes(app, patient_id: int, count: int = NOTES) -> list[int]:
    """`count` notes, one a day, the newest yesterday: ids oldest first."""
    start = clock.now() - dt.timedelta(days=count + 1)
    with app.app_context():
        ids = [services.entry_add(actor=SET_UP, patient_id=patient_id, kind=EntryKind.NOTE,
                                  content={"text": note_text(i)}, recorded_at=start + dt.timedelta(days=i)).id
               for i in range(count)]
        db.session.commit()
        return ids


@pytest.fixture
def long_chart(app, make_patient, signed_in, care):
    """(browser, doctor, patient, note ids oldest first): a doctor in care of a patient with 60 notes."""
    browser, doctor = signed_in(Role.DOCTOR)
    patient = make_patient()
    care(doctor, patient)
    return browser, doctor, patient, add_notes(app, patient.id)


def section(page: str, kind: str) -> str:
    return page.split(f'<section class="card" id="{kind}">')[1].split("</section>")[0]


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li id="entry-(\d+)">', html)]


def older_link(html: str) -> str | None:
    match = re.search(r'<li class="show-older"[^>]*><a [^>]*href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def reads(app, patient_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.reason) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.patient_id == patient_id, AuditEvent.actor_role != "system")
            .order_by(AuditEvent.seq)).scalars()]


def test_the_summary_shows_the_latest_notes_and_show_older_pages_through_the_rest_without_js(long_chart):
    browser, _, patient, ids = long_chart
    page = browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    notes = section(page, "note")
    newest_first = ids[::-1]
    assert listed(notes) == newest_first[:SUMMARY_LATEST]
    weight = measure_page(browser.client, f"/doctor/patients/{patient.id}")
    assert weight.total_gz < PAGE_BUDGET, (weight.total_gz, weight.page, weight.assets)
    seen, link = listed(notes), older_link(notes)
    pages = 0
    while link:
        response = browser.get(link)
        assert response.status_code == 200 and "<html" in response.get_data(as_text=True)
        body = response.get_data(as_text=True)
        seen += listed(body)
        link = older_link(body)
        pages += 1
    assert seen == newest_first  # every note once, in order
    assert pages == -(-(NOTES - SUMMARY_LATEST) // PAGE_SIZE)


def test_with_htmx_show_older_brings_the_next_entries_alone_to_append_in_place(long_chart):
    browser, _, patient, ids = long_chart
    notes = section(browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True), "note")
    assert 'hx-target="closest li" hx-swap="outerHTML"' in notes
    seen, link = listed(notes), older_link(notes)
    while link:
        response = browser.get(link, headers=HTMX)
        fragment = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in fragment and fragment.lstrip().startswith("<li")
        assert "HX-Request" in response.headers.get("Vary", "")
        assert measure_fragment(browser.client, link).gz < FRAGMENT_BUDGET
        seen += listed(fragment)
        link = older_link(fragment)
    assert seen == ids[::-1]


def test_every_active_allergy_is_in_the_banner_and_the_list_even_older_than_the_latest(app, long_chart):
    browser, _, patient, _ = long_chart
    long_ago = clock.now() - dt.timedelta(days=2000)
    with app.app_context():
        for i, substance in enumerate(("Penicillin", "Latex", "Sulfa")):
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY,
                               content={"substance": substance, "severity": "severe"},
                               recorded_at=long_ago + dt.timedelta(days=i))
        outgrown = []
        for i in range(SUMMARY_LATEST + 3):  # newer allergies, all outgrown since
            entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY,
                                       content={"substance": f"Pollen {i}", "severity": "mild"},
                                       recorded_at=clock.now() - dt.timedelta(days=100 - i))
            services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=entry.id,
                                      status=EntryStatus.RESOLVED)
            outgrown.append(entry.id)
        db.session.commit()
    page = browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    banner = page.split('id="patient-banner"')[1].split("</section>")[0]
    for substance in ("Penicillin", "Latex", "Sulfa"):
        assert substance in banner
    assert "Pollen" not in banner
    allergies = section(page, "allergy")
    assert all(substance in allergies for substance in ("Penicillin", "Latex", "Sulfa"))
    assert [f"Pollen {i}" in allergies for i in range(SUMMARY_LATEST + 3)] == [False] * 3 + [True] * SUMMARY_LATEST
    # the older outgrown ones follow on demand, the active ones not again
    rest = browser.get(older_link(allergies), headers=HTMX).get_data(as_text=True)
    assert listed(rest) == outgrown[:3][::-1]
    assert older_link(rest) is None


def test_the_summary_decrypts_only_what_it_shows_in_one_query(app, long_chart):
    _, _, patient, _ = long_chart
    statements = []
    with app.app_context():
        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            chart = services.chart_summary_read(actor=SET_UP, patient_id=patient.id)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        db.session.rollback()
    assert len(chart[EntryKind.NOTE]) == SUMMARY_LATEST and chart.older[EntryKind.NOTE] is not None
    assert chart.older[EntryKind.VITALS] is None and chart[EntryKind.VITALS] == []
    assert len([s for s in statements if "FROM clinical_entries" in s]) == 1
    assert not [s for s in statements if "FROM clinical_entry_versions" in s and "count(" not in s]


def test_reading_older_entries_is_audited_as_a_read_of_that_part(app, long_chart):
    browser, doctor, patient, ids = long_chart
    before = len(reads(app, patient.id))
    browser.get(f"/doctor/patients/{patient.id}/chart/note?after={ids[-SUMMARY_LATEST]}", headers=HTMX)
    assert reads(app, patient.id)[before:] == [("note.read", "care")]
    with app.app_context():
        page = services.chart_entries_read(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE)
        assert len(page.entries) == PAGE_SIZE and page.older is not None
        db.session.rollback()


def test_the_kind_page_of_a_chart_one_may_not_see_is_refused(app, long_chart, signed_in, make_patient):
    browser, _, patient, ids = long_chart
    before = reads(app, patient.id)
    path = f"/doctor/patients/{patient.id}/chart/note"
    stranger, _ = signed_in(Role.DOCTOR)
    for url in (path, f"{path}?after={ids[-1]}"):
        for headers in ({}, HTMX):
            response = stranger.get(url, headers=headers)
            assert response.status_code == 403
            assert "Review number" not in response.get_data(as_text=True)
    for role in (Role.PATIENT, Role.RECEPTION, Role.PHARMACIST):
        other, _ = signed_in(role)
        assert other.get(path).status_code in (403, 404)
    denied = reads(app, patient.id)[len(before):]
    assert denied[:4] == [("access.denied", "no care relationship")] * 4  # the stranger's four tries, audited
    # a patient who does not exist, a kind that does not, another chart's entry or a bad cursor: 404
    other_patient = make_patient(given_name="Baraka", family_name="Wafula")
    [foreign] = add_notes(app, other_patient.id, 1)
    for url in ("/doctor/patients/999999/chart/note", f"/doctor/patients/{patient.id}/chart/bogus",
                f"{path}?after={foreign}", f"{path}?after=abc", f"{path}?after=99999999999999999999",
                f"{path}?after=-1", f"{path}?after=%C2%B2"):
        assert browser.get(url).status_code == 404, url


def test_the_patient_sees_the_latest_and_shows_older_in_their_own_record(app, make_user, make_patient, signed_in):
    browser, user = signed_in(Role.PATIENT, language="sw")
    patient = make_patient(user_id=user.id)
    ids = add_notes(app, patient.id, SUMMARY_LATEST + PAGE_SIZE + 2)
    page = browser.get("/patient/record/").get_data(as_text=True)
    notes = section(page, "note")
    assert listed(notes) == ids[::-1][:SUMMARY_LATEST]
    assert "Onyesha za zamani zaidi" in notes and "Show older" not in notes
    assert "entry-more" not in notes  # no doctor's actions
    link = older_link(notes)
    assert link.startswith("/patient/record/entries/note?after=")
    plain = browser.get(link)
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)
    first = listed(plain.get_data(as_text=True))
    assert first == ids[::-1][SUMMARY_LATEST:SUMMARY_LATEST + PAGE_SIZE]
    rest = browser.get(older_link(plain.get_data(as_text=True)), headers=HTMX)
    assert "<html" not in rest.get_data(as_text=True)
    assert measure_fragment(browser.client, older_link(plain.get_data(as_text=True))).gz < FRAGMENT_BUDGET
    assert listed(rest.get_data(as_text=True)) == ids[::-1][SUMMARY_LATEST + PAGE_SIZE:]
    assert [action for action, reason in reads(app, patient.id)] == ["chart.read", "note.read", "note.read",
                                                                      "note.read", "note.read"]  # and measured twice
    assert {reason for _, reason in reads(app, patient.id)} == {"self"}
    assert browser.get("/patient/record/entries/bogus").status_code == 404
    other = make_patient(given_name="Baraka", family_name="Wafula")
    [foreign] = add_notes(app, other.id, 1)
    assert browser.get(f"/patient/record/entries/note?after={foreign}").status_code == 404


def test_the_chart_carries_no_add_forms_until_one_is_opened(app, long_chart):
    browser, _, patient, _ = long_chart
    chart = f"/doctor/patients/{patient.id}"
    page = browser.get(chart).get_data(as_text=True)
    assert f'action="{chart}/entries/' not in page  # no add form on the chart itself
    new_vitals = f"{chart}/entries/vitals/new"
    assert f'href="{new_vitals}" hx-get="{new_vitals}" hx-target="#add-vitals"' in section(page, "vitals")
    plain = browser.get(new_vitals)
    body = plain.get_data(as_text=True)
    assert plain.status_code == 200 and "<html" in body and f'action="{chart}/entries/vitals"' in body
    fragment = browser.get(new_vitals, headers=HTMX)
    assert "<html" not in fragment.get_data(as_text=True)
    assert measure_fragment(browser.client, new_vitals).gz < FRAGMENT_BUDGET
    assert f'action="{chart}/entries/vitals"' in fragment.get_data(as_text=True)
    # a refusal comes back on the form's own page, with what was typed
    refused = browser.post(f"{chart}/entries/vitals", {"pulse": "900", "spo2": "97"}, page=new_vitals)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="pulse-error"' in body and 'value="900"' in body and 'value="97"' in body
    saved = browser.post(f"{chart}/entries/vitals", {"pulse": "72"}, page=new_vitals)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"{chart}#vitals")
    assert "pulse 72/min" in section(browser.get(chart).get_data(as_text=True), "vitals")


def test_the_add_form_is_refused_to_who_may_not_write_the_chart(long_chart, signed_in):
    _, _, patient, _ = long_chart
    stranger, _ = signed_in(Role.DOCTOR)
    assert stranger.get(f"/doctor/patients/{patient.id}/entries/note/new").status_code == 403
    assert stranger.get("/doctor/patients/999999/entries/note/new").status_code == 404
    assert stranger.get(f"/doctor/patients/{patient.id}/entries/bogus/new").status_code == 404
