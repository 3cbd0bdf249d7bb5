"""The page-weight budget as a test: sizes, not timings, so it belongs in the suite.

Full page under 30 KB gzipped with its CSS and JS; an htmx partial under 5 KB (see DESIGN.md).
`make bench-weight` prints the same measurement for every role's home on the demo data.
"""
from __future__ import annotations

from app.accounts.models import Role
from tests.consultations.conftest import visit  # noqa: F401 (fixture)
from tests.perf.page_weight import FRAGMENT_BUDGET, PAGE_BUDGET, measure_fragment, measure_page


def test_login_page_with_its_assets_is_under_budget(app):
    weight = measure_page(app.test_client(), "/login")
    kinds = {a.url.split("?")[0].rsplit(".", 1)[-1] for a in weight.assets}
    assert {"css", "js"} <= kinds, weight.assets  # the measurement did find the stylesheet and scripts
    assert weight.total_gz < PAGE_BUDGET, (weight.total_gz, weight.page, weight.assets)


def test_doctor_home_with_its_assets_is_under_budget(signed_in):
    browser, _ = signed_in(Role.DOCTOR)
    weight = measure_page(browser.client, "/doctor/")
    assert weight.total_gz < PAGE_BUDGET, (weight.total_gz, weight.page, weight.assets)


def test_patient_search_fragment_is_under_budget(signed_in, make_patient):
    # A full result list (the search shows at most 10), with long names and every detail shown.
    for n in range(12):
        make_patient(given_name=f"Abigail-Wanjiku {n}", family_name=f"Abdallah-Nyambura-Onyango{n:02d}",
                     phone=f"+2547120{n:05d}")
    browser, _ = signed_in(Role.DOCTOR)
    fragment = measure_fragment(browser.client, "/doctor/patients/?q=ab")
    assert b"Abdallah-Nyambura-Onyango" in browser.client.get("/doctor/patients/?q=ab",
                                                              headers={"HX-Request": "true"}).get_data()
    assert fragment.gz < FRAGMENT_BUDGET, fragment


def test_the_video_room_with_its_js_is_under_its_budget(app, visit):  # noqa: F811 (the fixture)
    """Issue 9: the room page with its own JS (the call, the ladder, the chat) under 50 KB gzipped."""
    from tests.conftest import Browser
    from tests.perf.page_weight import ROOM_BUDGET

    for user in (visit.patient_user, visit.doctor):
        browser = Browser(app.test_client())
        assert browser.login(user.email).status_code == 303
        weight = measure_page(browser.client, f"/visit/{visit.token}")
        scripts = {a.url.split("?")[0].rsplit("/", 1)[-1] for a in weight.assets}
        assert {"room.js", "room-quality.js", "room-phone.js"} <= scripts, weight.assets  # the open room, not its "come back later"
        assert weight.total_gz < ROOM_BUDGET, (weight.total_gz, weight.page, weight.assets)


def test_the_doctors_room_with_the_side_panel_is_under_its_budget(app, visit):  # noqa: F811 (the fixture)
    """The doctor's page once the patient is in: the panel's summary of a full chart (ten active
    problems and medicines, allergies, notes) and the note form, the chat and the file form, with the JS."""
    from app.consultations import services
    from app.core.actor import Actor
    from app.extensions import db
    from app.records import services as records
    from app.records.models import EntryKind
    from tests.conftest import Browser
    from tests.consultations.conftest import actor_of
    from tests.perf.page_weight import ROOM_BUDGET

    with app.app_context():
        system = Actor.system("test")
        for n in range(12):
            for kind, content in ((EntryKind.ALLERGY, {"substance": f"Substance number {n}", "severity": "severe",
                                                        "reaction": "Anaphylaxis with wheeze"}),
                                  (EntryKind.PROBLEM, {"condition": f"A long-standing condition {n}", "onset": "2019"}),
                                  (EntryKind.MEDICATION, {"drug": f"Medicine {n}", "dose": "500 mg", "frequency": "bd"}),
                                  (EntryKind.NOTE, {"subjective": "s" * 400, "plan": "p" * 400})):
                records.entry_add(actor=system, patient_id=visit.patient_id, kind=kind, content=content)
        room = services.room_enter_open(actor=actor_of(visit.doctor), token=visit.token)
        services.patient_admit(actor=actor_of(visit.doctor), consultation_id=room.consultation.id)
        db.session.commit()
    browser = Browser(app.test_client())
    assert browser.login(visit.doctor.email).status_code == 303
    weight = measure_page(browser.client, f"/visit/{visit.token}")
    assert b"Substance number 11" in browser.client.get(f"/visit/{visit.token}").get_data()
    assert weight.total_gz < ROOM_BUDGET, (weight.total_gz, weight.page, weight.assets)
    print(f"\ndoctor's room with the panel: {weight.total_gz / 1024:.1f} KB gzipped with its assets")
