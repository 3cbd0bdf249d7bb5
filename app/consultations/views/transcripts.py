"""The chats of video visits, from the chart afterwards: the doctor's (a patient in their care) and
the patient's own. The records gate decides and audits each read (consultations/transcripts.py);
a doctor it refuses gets its 403 page, a visit not of this patient a 404. The portals nest these
blueprints (doctor: /doctor/patients/<id>/video-chats, patient: /patient/record/video-chats)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user

from app.consultations import chat_files, transcripts
from app.consultations.access import Member
from app.core.request_actor import current_actor
from app.records import services as records

doctor_bp = Blueprint("consultations", __name__, url_prefix="/patients")
patient_bp = Blueprint("consultations", __name__, url_prefix="/record")


def _list_page(patient, *, transcript_url, back_url):
    visits = transcripts.video_chats_list(actor=current_actor(), patient_id=patient.id)
    return render_template("consultations/video_chats.html", patient=patient, visits=visits,
                           transcript_url=transcript_url, back_url=back_url)


def _transcript_page(patient, consultation_id: int, *, member: Member, list_url: str):
    visit, messages = transcripts.chat_transcript_read(actor=current_actor(), patient_id=patient.id,
                                                       consultation_id=consultation_id)
    return render_template("consultations/chat_transcript.html", patient=patient, visit=visit, messages=messages,
                           file_url=chat_files.file_url_for(member, patient.id), list_url=list_url,
                           patient_user_id=patient.user_id)


@doctor_bp.route("/<int:patient_id>/video-chats")
def doctor_video_chats(patient_id: int):
    patient = records.patient_get(patient_id)  # NotFound: the 404 page
    return _list_page(patient, back_url=url_for("doctor.records.chart", patient_id=patient_id),
                      transcript_url=lambda cid: url_for("doctor.consultations.doctor_chat", patient_id=patient_id,
                                                         consultation_id=cid))


@doctor_bp.route("/<int:patient_id>/video-chats/<int:consultation_id>")
def doctor_chat(patient_id: int, consultation_id: int):
    patient = records.patient_get(patient_id)  # NotFound: the 404 page
    return _transcript_page(patient, consultation_id, member=Member.DOCTOR,
                            list_url=url_for("doctor.consultations.doctor_video_chats", patient_id=patient_id))


def _own_patient():
    patient = records.patient_for_user(current_user.id)
    if patient is None:
        abort(404)
    return patient


@patient_bp.route("/video-chats")
def my_video_chats():
    return _list_page(_own_patient(), back_url=url_for("patient.records.my_record"),
                      transcript_url=lambda cid: url_for("patient.consultations.my_chat", consultation_id=cid))


@patient_bp.route("/video-chats/<int:consultation_id>")
def my_chat(consultation_id: int):
    return _transcript_page(_own_patient(), consultation_id, member=Member.PATIENT,
                            list_url=url_for("patient.consultations.my_video_chats"))
