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

from flask import Blueprint, Response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.consultations import services
from app.consultations.access import Member
from app.consultations.forms import ChatForm
from app.consultations.recordings import recording_state
from app.consultations.room_socket import room_socket_run
from app.core.errors import DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.realtime.guard import GuardedSocket, socket_route

bp = Blueprint("visit", __name__)

_SEQ = re.compile(r"[0-9]{1,9}")


def _page(room: services.Room, *, form: ChatForm | None = None, status: int = 200):
    actor = current_actor()
    messages = []
    if room.is_open:
        messages = services.chat_read(actor=actor, consultation_id=room.consultation.id)
    form = form or ChatForm(formdata=None)
    form.client_id.data = secrets.token_urlsafe(16)
    return render_form("consultations/room.html", status=status, room=room, messages=messages, form=form,
                       last_seq=messages[-1].seq if messages else 0,
                       state=services.room_state(room.consultation) if room.is_open else None,
                       recording=recording_state(room.consultation.id) if room.is_open else None)


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
