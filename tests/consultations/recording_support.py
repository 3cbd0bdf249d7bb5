"""What a recording's pieces look like, a video visit with the call under way, and a recording both agreed to."""
from __future__ import annotations

from app.consultations import services
from app.extensions import db
from tests.consultations.conftest import actor_of

# The start of a WebM file as MediaRecorder writes it: the EBML header (DocType "webm"), then a Segment.
EBML_HEADER = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
               b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02")
WEBM_FIRST = EBML_HEADER + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x15\x49\xa9\x66" + bytes(200)
WEBM_NEXT = b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff" + bytes(range(256)) * 2  # a Cluster, mid-stream
MATROSKA = WEBM_FIRST.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")


def call_started(visit) -> int:
    """The patient waited and the doctor let them in: the consultation's id."""
    patient, doctor = actor_of(visit.patient_user), actor_of(visit.doctor)
    consultation_id = services.room_enter_open(actor=patient, token=visit.token).consultation.id
    services.patient_waiting_set(actor=patient, consultation_id=consultation_id, waiting=True)
    services.patient_admit(actor=doctor, consultation_id=consultation_id)
    db.session.commit()
    return consultation_id


def recording_agreed(visit, consultation_id: int):
    """The doctor asks to record and the patient agrees (not committed): the recording, running."""
    from app.consultations import recordings

    recording = recordings.recording_consent(actor=actor_of(visit.doctor), consultation_id=consultation_id)
    recordings.recording_consent(actor=actor_of(visit.patient_user), consultation_id=consultation_id)
    return recording
