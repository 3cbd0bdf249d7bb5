"""The doctor's side panel in the room (the patient's summary, allergies first; the visit's SOAP
note) and a file shared in the chat, as the doctor, the patient and strangers see them."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.consultations import chat_files, panel, services
from app.consultations.models import ChatMessage
from app.core.actor import Actor
from app.core.errors import DomainError
from app.extensions import db
from app.records import services as records
from app.records.access import ChartPart
from app.records.models import ClinicalEntry, EntryKind
from tests.conftest import Browser
from tests.consultations.conftest import actor_of
from tests.files_support import HTML, PDF


def signed_in_as(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser


def chart_with_allergy(app, visit) -> None:
    with app.app_context():
        system = Actor.system("test")
        records.entry_add(actor=system, patient_id=visit.patient_id, kind=EntryKind.ALLERGY,
                          content={"substance": "Penicillin", "reaction": "Hives", "severity": "severe"})
        records.entry_add(actor=system, patient_id=visit.patient_id, kind=EntryKind.MEDICATION,
                          content={"drug": "Metformin", "dose": "500 mg"})
        db.session.commit()


def admit(app, visit) -> None:
    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.doctor), token=visit.token)
        services.patient_admit(actor=actor_of(visit.doctor), consultation_id=room.consultation.id)
        db.session.commit()


def audit_rows(app, action: str) -> list[tuple]:
    with app.app_context():
        return [(e.actor_user_id, e.reason, e.outcome) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()]


def fresh_field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html).group(1)


# -- the panel ----------------------------------------------------------------------------------------

def test_the_panel_shows_the_summary_allergies_first_only_to_the_doctor_while_the_patient_is_in(app, visit):
    chart_with_allergy(app, visit)
    doctor, patient = signed_in_as(app, visit.doctor), signed_in_as(app, visit.patient_user)
    before = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    # Not yet let in: the doors, no clinical content, nothing read.
    assert 'id="doctor-panel"' in before and 'id="room-doors"' in before and "Penicillin" not in before
    assert f'href="/doctor/patients/{visit.patient_id}/lab-orders/new"' in before  # the door to order a lab test
    assert audit_rows(app, "chart.read") == []

    admit(app, visit)
    html = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    panel_html = html[html.index('id="doctor-panel"'):]
    assert 'id="allergy-banner"' in panel_html and "allergy-severe" in panel_html
    assert panel_html.index("Penicillin") < panel_html.index("Metformin") < panel_html.index('id="visit-note"')
    assert audit_rows(app, "chart.read") == [(visit.doctor.id, "consultation", "allowed")]
    # The patient's page carries none of it.
    mine = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "doctor-panel" not in mine and "Penicillin" not in mine and "visit-note" not in mine
    # The panel alone, for htmx (once the patient is let in): the same read, audited again.
    fragment = doctor.get(f"/visit/{visit.token}/panel", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "Penicillin" in fragment.get_data(as_text=True)
    assert len(audit_rows(app, "chart.read")) == 2


def test_the_summary_read_under_the_purpose_reads_only_its_parts(app, visit):
    chart_with_allergy(app, visit)
    admit(app, visit)
    with app.app_context():
        summary = records.chart_summary_read(actor=actor_of(visit.doctor), patient_id=visit.patient_id,
                                             purpose="consultation", parts=frozenset({ChartPart.ALLERGY}))
        assert list(summary) == [EntryKind.ALLERGY] and summary.history is None
        assert [e.content["substance"] for e in summary.allergies] == ["Penicillin"]
        # The whole chart is not the purpose's to read: refused (and audited as refused).
        with pytest.raises(records.access.ChartAccessDenied):
            records.chart_summary_read(actor=actor_of(visit.doctor), patient_id=visit.patient_id,
                                       purpose="consultation")


def test_the_soap_note_is_saved_to_the_chart_for_this_visit_with_and_without_js(app, visit):
    admit(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    room = f"/visit/{visit.token}"
    saved = doctor.post(f"{room}/note", {"subjective": "Fever for two days", "plan": "Paracetamol"}, page=room)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"{room}#doctor-panel")
    assert "The note is saved in the chart." in doctor.get(room).get_data(as_text=True)
    fragment = doctor.post(f"{room}/note", {"assessment": "Viral fever"}, page=room, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and 'id="visit-note"' in html
    assert "The note is saved in the chart." in html and "<html" not in html
    with app.app_context():
        notes = db.session.execute(select(ClinicalEntry).where(ClinicalEntry.kind == "note")
                                   .order_by(ClinicalEntry.id)).scalars().all()
        assert [n.content.get("subjective") or n.content.get("assessment") for n in notes] == [
            "Fever for two days", "Viral fever"]
        assert {n.content["appointment_id"] for n in notes} == {visit.appointment_id}
    assert audit_rows(app, "note.create") == [(visit.doctor.id, "consultation", "allowed")] * 2


def test_a_bad_note_is_refused_beside_the_field_and_what_was_typed_kept(app, visit):
    admit(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    room = f"/visit/{visit.token}"
    empty = doctor.post(f"{room}/note", {"subjective": "   "}, page=room)
    assert empty.status_code == 422
    assert "Write at least one of subjective, objective, assessment or plan." in empty.get_data(as_text=True)
    long = doctor.post(f"{room}/note", {"plan": "p" * 4001}, page=room, headers={"HX-Request": "true"})
    html = long.get_data(as_text=True)
    assert long.status_code == 422 and "p" * 4001 in html and 'class="error"' in html
    with app.app_context():
        assert db.session.execute(select(ClinicalEntry).where(ClinicalEntry.kind == "note")).first() is None


def test_before_the_patient_is_in_the_room_writes_no_note(app, visit):
    doctor = signed_in_as(app, visit.doctor)
    room = f"/visit/{visit.token}"
    refused = doctor.post(f"{room}/note", {"subjective": "Prepared before the call"}, page=room)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "only while the patient is in the call" in html
    assert "Prepared before the call" in html


def test_strangers_and_the_patient_get_404_from_the_panel_and_the_file_form(app, visit, signed_in, make_patient):
    admit(app, visit)
    room = f"/visit/{visit.token}"
    patient = signed_in_as(app, visit.patient_user)
    assert patient.get(f"{room}/panel", headers={"HX-Request": "true"}).status_code == 404
    assert patient.post(f"{room}/note", {"subjective": "x"}, page=room).status_code == 404
    for role in (Role.DOCTOR, Role.RECEPTION, Role.PATIENT):
        stranger, user = signed_in(role)
        if role == Role.PATIENT:
            make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        assert stranger.get(f"{room}/panel", headers={"HX-Request": "true"}).status_code == 404, role
        assert stranger.post(f"{room}/note", {"subjective": "x"}).status_code == 404, role
        assert stranger.post(f"{room}/file", {"file": (io.BytesIO(PDF), "a.pdf"), "file_client_id": "s-1"},
                             content_type="multipart/form-data").status_code == 404, role
    with app.app_context():
        assert db.session.execute(select(ClinicalEntry)).first() is None


def test_posts_without_the_csrf_token_are_refused(app, visit):
    admit(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    room = f"/visit/{visit.token}"
    assert doctor.client.post(f"{room}/note", data={"subjective": "x"}).status_code == 400
    assert doctor.client.post(f"{room}/file", data={"file": (io.BytesIO(PDF), "a.pdf"), "file_client_id": "d-1"},
                              content_type="multipart/form-data").status_code == 400
    with app.app_context():
        assert db.session.execute(select(ClinicalEntry)).first() is None


# -- files in the chat --------------------------------------------------------------------------------

def share(browser, visit, data: bytes, name: str, client_id: str, **kwargs):
    room = f"/visit/{visit.token}"
    return browser.post(f"{room}/file", {"file": (io.BytesIO(data), name), "file_client_id": client_id}, page=room,
                        content_type="multipart/form-data", **kwargs)


def test_the_patient_shares_a_pdf_it_lands_on_their_chart_and_both_see_its_message(app, visit):
    patient, doctor = signed_in_as(app, visit.patient_user), signed_in_as(app, visit.doctor)
    page = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    client_id = fresh_field(page, "file_client_id")
    for _ in range(2):  # the same form twice: one file, one message
        shared = share(patient, visit, PDF, "Lab results March.pdf", client_id)
        assert shared.status_code == 303 and shared.headers["Location"].endswith("#chat")
    with app.app_context():
        entry = db.session.execute(select(ClinicalEntry).where(ClinicalEntry.kind == "document")).scalar_one()
        assert entry.content["title"] == "Lab results March" and entry.content["content_type"] == "application/pdf"
        message = db.session.execute(select(ChatMessage)).scalar_one()
        assert message.document_entry_id == entry.id and message.body == "Lab results March"
        entry_id = entry.id
    assert audit_rows(app, "document.create") == [(visit.patient_user.id, "self", "allowed")]
    mine = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert f'href="/patient/record/documents/{entry_id}/view"' in mine
    theirs = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert f'href="/doctor/patients/{visit.patient_id}/documents/{entry_id}/view"' in theirs
    opened = doctor.get(f"/doctor/patients/{visit.patient_id}/documents/{entry_id}")
    assert opened.status_code == 200 and opened.data == PDF
    assert audit_rows(app, "document.open") == [(visit.doctor.id, "care", "allowed")]


def test_a_file_that_is_not_a_pdf_or_photo_is_refused_beside_the_field(app, visit):
    patient = signed_in_as(app, visit.patient_user)
    refused = share(patient, visit, HTML, "results.pdf", "p-1")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="chat-file-form"' in html and 'id="chat"' in html
    assert "Only PDF files and photos" in html[html.index('id="chat-file-form"'):]
    fragment = share(patient, visit, HTML, "results.pdf", "p-2", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 422 and "<html" not in text and "Only PDF files and photos" in text
    with app.app_context():
        assert db.session.execute(select(ClinicalEntry)).first() is None
        assert db.session.execute(select(ChatMessage)).first() is None


def test_the_doctor_shares_a_file_once_the_patient_is_in_under_the_rooms_purpose(app, visit):
    doctor = signed_in_as(app, visit.doctor)
    early = share(doctor, visit, PDF, "leaflet.pdf", "d-1")
    assert early.status_code == 422 and "once the patient is in the call" in early.get_data(as_text=True)
    admit(app, visit)
    assert share(doctor, visit, PDF, "leaflet.pdf", "d-2").status_code == 303
    assert audit_rows(app, "document.create") == [(visit.doctor.id, "consultation", "allowed")]


def test_the_socket_tells_each_member_where_to_open_a_shared_file(app, visit):
    from app.consultations.access import Member
    from app.consultations.room_socket import message_json

    with app.test_request_context():
        room = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)
        message, made = chat_files.chat_file_share(actor=actor_of(visit.patient_user),
                                                   consultation_id=room.consultation.id, client_id="p-1",
                                                   file_name="x-ray.png", data=PDF)
        assert made and message.body == "x-ray"
        shown = message_json(message, reader_id=visit.doctor.id,
                             file_url=chat_files.file_url_for(Member.DOCTOR, visit.patient_id))
        assert shown["file"] == f"/doctor/patients/{visit.patient_id}/documents/{message.document_entry_id}/view"
        with pytest.raises(DomainError) as refused:
            chat_files.chat_file_share(actor=actor_of(visit.patient_user), consultation_id=room.consultation.id,
                                       client_id="p-2", file_name="empty.pdf", data=b"")
        assert refused.value.field == "file"
        db.session.rollback()


def test_the_panel_service_refuses_the_patient(app, visit):
    from app.core.errors import NotFound

    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)
        with pytest.raises(NotFound):
            panel.panel_summary_read(actor=actor_of(visit.patient_user), room=room)
        db.session.rollback()
