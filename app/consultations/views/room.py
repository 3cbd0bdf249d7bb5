"""/visit/<token>: the video room, for the appointment's own patient and doctor (anyone else: 404).

One page for both members (the audience is the room's two members, not a role): before the room
opens it says when it will; then a device check, the patient's waiting room and the doctor's
"let in", the call and the chat. Without JavaScript the waiting, admission and chat still work as
forms. The room's socket (/ws/room/<token>) carries signalling and chat; its handshake is checked
like the page (membership, open now) before the upgrade, after the Origin check every socket gets.
"""
from __future__ import annotations

import re
import secrets

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.consultations import phone, services
from app.consultations.access import Member
from app.consultations.forms import ChatForm, PhoneMinutesForm
from app.consultations.recordings import recording_state
from app.consultations.room_socket import room_socket_run
from app.consultations.views._room_parts import room_parts
from app.core.errors import DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.core.transactions import refused
from app.realtime.guard import GuardedSocket, socket_route

bp = Blueprint("visit", __name__)

_SEQ = re.compile(r"[0-9]{1,9}")


def _page(room: services.Room, *, form: ChatForm | None = None, minutes_form: PhoneMinutesForm | None = None,
          status: int = 200, **parts):
    """The room; `parts`: the panel's note form or the file form shown again with their refusals."""
    actor = current_actor()
    messages = []
    if room.is_open:
        messages = services.chat_read(actor=actor, consultation_id=room.consultation.id)
    form = form or ChatForm(formdata=None)
    form.client_id.data = secrets.token_urlsafe(16)
    return render_form("consultations/room.html", status=status, room=room, messages=messages, form=form,
                       last_seq=messages[-1].seq if messages else 0,
                       state=services.room_state(room.consultation) if room.is_open else None,
                       phone_panel=phone.phone_panel(room.consultation, current_app.config) if room.is_open else None,
                       minutes_form=minutes_form or PhoneMinutesForm(formdata=None),
                       recording=recording_state(room.consultation.id) if room.is_open else None,
                       **room_parts(actor=actor, room=room, **parts))


def _doctors_room(token: str) -> services.Room:
    """The room for its doctor; 404 for its patient as for anyone else."""
    room = services.room_enter(actor=current_actor(), token=token)
    if room.member != Member.DOCTOR or room.consultation is None:
        raise NotFound(_("No such video visit."))
    return room


@bp.route("/visit/<token>", endpoint="room")
@signed_in
def room(token: str):
    return _page(services.room_enter(actor=current_actor(), token=token))


@bp.route("/visit/<token>/admit", methods=["POST"])
@signed_in
def admit(token: str):
    actor = current_actor()
    room = services.room_enter_open(actor=actor, token=token)
    if room.member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))
    services.patient_admit(actor=actor, consultation_id=room.consultation.id)
    return redirect(url_for("visit.room", token=token), code=303)


@bp.route("/visit/<token>/chat", methods=["POST"])
@signed_in
def chat(token: str):
    """The chat without JavaScript: post the form, see the room again."""
    actor = current_actor()
    room = services.room_enter_open(actor=actor, token=token)
    form = ChatForm()
    if form.validate():
        with refusal_beside(form):
            services.chat_post(actor=actor, consultation_id=room.consultation.id, client_id=form.client_id.data,
                               body=form.body.data)
            return redirect(url_for("visit.room", token=token) + "#chat", code=303)
    return _page(room, form=form, status=422)


# -- the end, and the phone ------------------------------------------------------------------------------

@bp.route("/visit/<token>/end", methods=["GET", "POST"])
@signed_in
def end(token: str):
    """Without JavaScript the doctor's "End the visit" opens this page to confirm (with it, a dialog in
    the room posts the same form). Posted: the visit ends once, however often it is sent."""
    room = _doctors_room(token)
    if request.method == "POST":
        try:
            services.visit_end(actor=current_actor(), consultation_id=room.consultation.id)
        except NotFound:
            raise
        except DomainError as error:  # not started yet, or cancelled meanwhile: said on the room's page
            return refused(error.message, url_for("visit.room", token=token))
        return redirect(url_for("visit.room", token=token), code=303)
    if room.is_over:
        return redirect(url_for("visit.room", token=token), code=303)
    return render_template("consultations/room_end_confirm.html", room=room)


@bp.route("/visit/<token>/phone", methods=["POST"])
@signed_in
def phone_continue(token: str):
    room = _doctors_room(token)
    try:
        started = phone.phone_continue(actor=current_actor(), consultation_id=room.consultation.id,
                                       config=current_app.config, bridge_url=_twilio_url("visit_twilio.bridge", room),
                                       status_url=_twilio_url("visit_twilio.status", room))
    except NotFound:
        raise
    except DomainError as error:
        return refused(error.message, url_for("visit.room", token=token))
    if started.failure:
        flash(started.failure, "error")
    return redirect(url_for("visit.room", token=token) + "#room-phone", code=303)


def _twilio_url(endpoint: str, room: services.Room) -> str:
    """Twilio reaches the app at its public address, and signs exactly this URL."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, consultation_id=room.consultation.id)


@bp.route("/visit/<token>/phone/minutes", methods=["POST"])
@signed_in
def phone_minutes(token: str):
    room = _doctors_room(token)
    form = PhoneMinutesForm()
    if form.validate():
        with refusal_beside(form):
            phone.phone_minutes_record(actor=current_actor(), consultation_id=room.consultation.id,
                                       minutes=form.minutes.data)
            return redirect(url_for("visit.room", token=token), code=303)
    return _page(services.room_enter(actor=current_actor(), token=token), minutes_form=form, status=422)


# -- the room's socket ---------------------------------------------------------------------------------

@bp.before_request
def refuse_handshake_of_outsiders():
    """Before the upgrade: a stranger's handshake is a 404 (as the page), a member's before the room
    opens (or after it closed) a 403. The socket handler asks again, and so does every message."""
    if request.endpoint != "visit.socket" or not current_user.is_authenticated:
        return None
    try:
        services.room_enter_open(actor=current_actor(), token=request.view_args.get("token", ""))
    except NotFound:
        return Response("No such video visit.\n", status=404, mimetype="text/plain")
    except DomainError:
        return Response("This video room is not open.\n", status=403, mimetype="text/plain")
    return None  # the socket handler, in this same transaction, commits the room it opened


# WebRTC signalling comes in bursts: an offer and a dozen ICE candidates at once (host, reflexive and
# relayed, UDP and TCP, on each network interface), again at every ICE restart, with the chat's
# resends after a reconnect. The house rate (5/s, bursts of 20) would close a real call's socket.
ROOM_MESSAGES_PER_SECOND = 10
ROOM_MESSAGE_BURST = 30  # under the PENDING_MESSAGES (32) a handler may have waiting


@socket_route("/ws/room/<token>", bp=bp, takes_messages=True, messages_per_second=ROOM_MESSAGES_PER_SECOND,
              message_burst=ROOM_MESSAGE_BURST)
@signed_in
def socket(sock: GuardedSocket, token: str) -> None:
    after = request.args.get("after", "0")
    room_socket_run(sock, actor=current_actor(), token=token, after=int(after) if _SEQ.fullmatch(after) else 0)
