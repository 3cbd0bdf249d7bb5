"""/visit/<token>/recording/...: agreeing to record the visit, stopping it, and the pieces the doctor's
browser sends. For the room's two members only (anyone else: 404, as the room).

Agreeing and stopping are plain forms (they work without JavaScript: a 303 back to the room, a
refusal shown there); the room's script posts them with `Accept: application/json` and gets 204, or
the refusal as {"error": ...}: the new state reaches both members over the room's socket.

A piece is the request's raw body (Content-Type as MediaRecorder made it, checked by its bytes, not
by that header), POSTed with the CSRF header. Refusals are JSON with a status the script acts on:
409 the recording is not running (stop recording), 413 too large, 415 not WebM/Ogg, 403 not the
doctor's side, 404 not your room.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request, url_for

from app.consultations import recordings, services
from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.core.transactions import refused
from app.core.uploads import accepts_upload

bp = Blueprint("visit_recording", __name__)

STATUS = {recordings.NotConsented: 409, recordings.PieceTooLarge: 413, recordings.NotMedia: 415}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _answer(token: str, change):
    actor = current_actor()
    room = services.room_enter_open(actor=actor, token=token)
    try:
        change(actor=actor, consultation_id=room.consultation.id)
    except (NotFound, AccessDenied):
        raise
    except DomainError as error:
        if _wants_json():
            return jsonify(error=error.message), 409
        return refused(error.message, url_for("visit.room", token=token) + "#recording")
    if _wants_json():
        return "", 204
    return redirect(url_for("visit.room", token=token) + "#recording", code=303)


@bp.route("/visit/<token>/recording/consent", methods=["POST"])
@signed_in
def consent(token: str):
    """Ask to record, or agree to the other's asking."""
    return _answer(token, recordings.recording_consent)


@bp.route("/visit/<token>/recording/withdraw", methods=["POST"])
@signed_in
def withdraw(token: str):
    """Refuse, or stop the recording at once."""
    return _answer(token, recordings.recording_withdraw)


@bp.route("/visit/<token>/recording/<int:recording_id>/pieces/<int:seq>", methods=["POST"])
@signed_in
@accepts_upload(recordings.chunk_max_bytes)
def piece(token: str, recording_id: int, seq: int):
    actor = current_actor()
    try:
        room = services.room_enter_open(actor=actor, token=token)
        chunk, made = recordings.chunk_store(actor=actor, consultation_id=room.consultation.id,
                                             recording_id=recording_id, seq=seq, data=request.get_data(cache=False))
    except NotFound as error:
        return jsonify(error=error.message), 404
    except AccessDenied as error:
        return jsonify(error=error.message), 403
    except DomainError as error:
        return jsonify(error=error.message), STATUS.get(type(error), 409)
    return jsonify(seq=chunk.seq, kept=made), 201 if made else 200
