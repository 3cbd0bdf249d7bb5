"""A patient's video visit recordings, on their chart: the list and the player.

For whoever the records gate lets read that part of the chart (the doctor in care, the patient
themself, a doctor under emergency access): the gate decides and audits each list and each play;
anyone else gets its 403. The chart pages (records) hold a door here that htmx fills with the list.

A recording is served as one file, its pieces joined in order, decrypted one at a time as they are
sent (never the whole recording in memory): not cached, not sniffed, a download when opened alone.
"""
from __future__ import annotations

from flask import Blueprint, Response, stream_with_context

from app.consultations import recordings
from app.consultations.recording_media import EXTENSIONS
from app.core.htmx import render_page_or_fragment
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.records import services as records

bp = Blueprint("recordings", __name__, url_prefix="/recordings")


@bp.route("/patients/<int:patient_id>")
@signed_in
def of_patient(patient_id: int):
    found = recordings.recordings_of_patient(actor=current_actor(), patient_id=patient_id)
    return render_page_or_fragment("consultations/recordings.html", "consultations/_recordings.html",
                                   patient=records.patient_get(patient_id), recordings=found)


@bp.route("/<int:recording_id>/play")
@signed_in
def play(recording_id: int):
    recording, keys = recordings.recording_play(actor=current_actor(), recording_id=recording_id)

    def pieces():
        for key in keys:
            yield recordings.chunk_bytes(key)

    response = Response(stream_with_context(pieces()), mimetype=recording.content_type)
    response.headers["Content-Length"] = str(recording.size)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    extension = EXTENSIONS.get(recording.content_type, ".bin")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="visit-recording-{recording.created_at:%Y-%m-%d}-{recording.id}{extension}"')
    return response
