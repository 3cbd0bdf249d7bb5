"""The chat of a video visit afterwards, from the chart: the patient in their own record, the doctor
in care from the chart; a doctor not in care refused (and audited), nothing read on the chart itself."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.consultations import services
from app.extensions import db
from tests.conftest import Browser
from tests.consultations.conftest import actor_of


def signed_in_as(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser


def chatted(app, visit) -> int:
    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)
        services.chat_post(actor=actor_of(visit.patient_user), consultation_id=room.consultation.id, client_id="p-1",
                           body="Nina homa tangu jana")
        services.chat_post(actor=actor_of(visit.doctor), consultation_id=room.consultation.id, client_id="d-1",
                           body="Pole sana. Since when?")
        db.session.commit()
        return room.consultation.id


def audited(app, action: str) -> list[tuple]:
    with app.app_context():
        return [(e.actor_user_id, e.reason, e.outcome) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()]


def test_the_patient_reads_the_chat_in_their_own_record(app, visit):
    consultation_id = chatted(app, visit)
    patient = signed_in_as(app, visit.patient_user)
    record = patient.get("/patient/record/").get_data(as_text=True)
    assert 'href="/patient/record/video-chats"' in record and "Nina homa" not in record  # a link, not the chat
    listing = patient.get("/patient/record/video-chats").get_data(as_text=True)
    assert f'href="/patient/record/video-chats/{consultation_id}"' in listing and "Dr. Amina Odhiambo" in listing
    assert "Nina homa" not in listing
    page = patient.get(f"/patient/record/video-chats/{consultation_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.index("Nina homa tangu jana") < html.index("Pole sana. Since when?")
    assert audited(app, "chat.list.read") == [(visit.patient_user.id, "self", "allowed")]
    assert audited(app, "chat.read")[-1] == (visit.patient_user.id, "self", "allowed")


def test_the_doctor_in_care_reads_it_from_the_chart_and_a_doctor_not_in_care_does_not(app, visit, signed_in):
    consultation_id = chatted(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    chart = doctor.get(f"/doctor/patients/{visit.patient_id}").get_data(as_text=True)
    assert f'href="/doctor/patients/{visit.patient_id}/video-chats"' in chart and "Nina homa" not in chart
    page = doctor.get(f"/doctor/patients/{visit.patient_id}/video-chats/{consultation_id}")
    assert page.status_code == 200 and "Nina homa tangu jana" in page.get_data(as_text=True)
    assert audited(app, "chat.read")[-1] == (visit.doctor.id, "care", "allowed")

    stranger, other = signed_in(Role.DOCTOR)
    for path in (f"/doctor/patients/{visit.patient_id}/video-chats",
                 f"/doctor/patients/{visit.patient_id}/video-chats/{consultation_id}"):
        refused = stranger.get(path)
        assert refused.status_code == 403 and "Nina homa" not in refused.get_data(as_text=True)
    with app.app_context():
        denied = db.session.execute(select(AuditEvent).where(AuditEvent.actor_user_id == other.id,
                                                             AuditEvent.outcome == "denied")).scalars().all()
        assert {d.reason for d in denied} == {"no care relationship"} and len(denied) == 2


def test_another_patients_visit_is_not_found_and_other_roles_are_refused(app, visit, signed_in, make_patient):
    consultation_id = chatted(app, visit)
    other, user = signed_in(Role.PATIENT)
    make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
    assert other.get(f"/patient/record/video-chats/{consultation_id}").status_code == 404
    assert "Nina homa" not in other.get("/patient/record/video-chats").get_data(as_text=True)
    desk, _ = signed_in(Role.RECEPTION)
    assert desk.get(f"/doctor/patients/{visit.patient_id}/video-chats/{consultation_id}").status_code == 403
    doctor = signed_in_as(app, visit.doctor)
    assert doctor.get(f"/doctor/patients/{visit.patient_id}/video-chats/999999").status_code == 404
    assert doctor.get("/doctor/patients/999999/video-chats").status_code == 404
