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

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.consultations import ice, services, signals
from app.consultations.access import Member
from app.consultations.channels import room_channel
from app.consultations.forms import ChatForm
from app.consultations.models import ChatMessage
from app.core.errors import DomainError, NotFound
from app.core.forms import refusal_beside
from app.core.htmx import render_form
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.extensions import db, hub
from app.realtime.guard import POLICY_VIOLATION, ClientMessage, GuardedSocket, socket_route
from app.scheduling.clinic_time import to_local

bp = Blueprint("visit", __name__)

_SEQ = re.compile(r"[0-9]{1,9}")


def message_json(message: ChatMessage, *, reader_id: int) -> dict:
    return {"seq": message.seq, "id": message.client_id, "text": message.body, "mine": message.sender_id == reader_id,
            "at": to_local(message.sent_at).strftime("%H:%M")}


def _page(room: services.Room, *, form: ChatForm | None = None, status: int = 200):
    actor = current_actor()
    messages = []
    if room.is_open:
        messages = services.chat_read(actor=actor, consultation_id=room.consultation.id)
    form = form or ChatForm(formdata=None)
    form.client_id.data = secrets.token_urlsafe(16)
    return render_form("consultations/room.html", status=status, room=room, messages=messages, form=form,
                       last_seq=messages[-1].seq if messages else 0,
                       state=services.room_state(room.consultation) if room.is_open else None)


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
    finally:
        db.session.commit()  # the consultation, when this opened the room
    return None


class RoomSocket:
    """One member's connection to the room: relays signals while the call is on, carries the chat."""

    def __init__(self, socket: GuardedSocket, room: services.Room, *, after: int) -> None:
        self.socket, self.actor = socket, current_actor()
        self.consultation_id, self.member = room.consultation.id, room.member
        self.channel = room_channel(self.consultation_id)
        self.me = secrets.token_hex(6)   # tells this socket's own signals from the peer's
        self.cursor = after               # the last chat seq this page has
        self.admitted = room.consultation.admitted_at is not None

    def run(self) -> None:
        with hub.subscribe({self.channel}, inbox=self.socket.inbox):
            servers = ice.ice_servers_for(current_app.config, ident=f"{self.consultation_id}-{self.actor.user_id}")
            self.socket.send({"type": "hello", "member": self.member.value, "polite": self.member == Member.PATIENT,
                              "ice": servers.servers, "iceExpires": servers.expires_at,
                              "policy": "relay" if current_app.config.get("ICE_TRANSPORT_POLICY") == "relay" else "all"})
            try:
                if self.member == Member.PATIENT:
                    self._in_db(lambda: services.patient_waiting_set(actor=self.actor, consultation_id=self.consultation_id,
                                                                     waiting=True))
                self._send_state()
                self._send_chat()
                for arrival in self.socket.arrivals():
                    if isinstance(arrival, ClientMessage):
                        self._from_browser(arrival)
                    else:
                        self._from_hub(arrival)
            finally:
                if self.member == Member.PATIENT:
                    self._in_db(lambda: services.patient_waiting_set(actor=self.actor, consultation_id=self.consultation_id,
                                                                     waiting=False))

    def _in_db(self, work):
        """One unit of work: commit (audit rows, events after commit) or roll back; no connection kept."""
        try:
            result = work()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()

    def _send_state(self) -> None:
        def read():
            consultation, _member = services.consultation_for(self.actor, self.consultation_id)
            return services.room_state(consultation)
        state = self._in_db(read)
        self.admitted = state["admitted"]
        self.socket.send({"type": "state", **state})
        if state["over"]:
            self.socket.close(POLICY_VIOLATION, "visit over")

    def _send_chat(self) -> None:
        def read():
            messages = services.chat_read(actor=self.actor, consultation_id=self.consultation_id, after_seq=self.cursor)
            return [message_json(m, reader_id=self.actor.user_id) for m in messages]
        messages = self._in_db(read)
        if messages:
            self.cursor = messages[-1]["seq"]
            self.socket.send({"type": "chat", "messages": messages})

    def _from_hub(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "signal":
            if event.get("from") != self.me and self.admitted:
                self.socket.send({"type": "signal", "data": event.get("data")})
        elif kind == "chat":
            if int(event.get("seq", 0)) > self.cursor:
                self._send_chat()
        elif kind in ("state", "resync"):
            self._send_state()
            if kind == "resync":
                self._send_chat()

    def _from_browser(self, arrival: ClientMessage) -> None:
        message = signals.parse(arrival.data)
        kind = message and message["type"]
        if kind == "signal":
            data = signals.signal_clean(message.get("data"))
            if data is None:
                return self._refuse(_("That signal was not understood."))
            if self.admitted:  # no media before the doctor lets the patient in
                hub.publish(self.channel, {"type": "signal", "from": self.me, "data": data})
        elif kind == "chat":
            client_id, text = message.get("id"), message.get("text")
            if not isinstance(client_id, str) or not isinstance(text, str):
                return self._refuse(_("That message was not understood."))
            try:
                self._in_db(lambda: services.chat_post(actor=self.actor, consultation_id=self.consultation_id,
                                                       client_id=client_id, body=text))
            except DomainError as error:
                self.socket.send({"type": "chat-refused", "id": client_id[:40], "message": error.message})
        elif kind == "admit" and self.member == Member.DOCTOR:
            self._in_db(lambda: services.patient_admit(actor=self.actor, consultation_id=self.consultation_id))
        else:
            self._refuse(_("That message was not understood."))

    def _refuse(self, text: str) -> None:
        self.socket.send({"type": "error", "message": text})


@socket_route("/ws/room/<token>", bp=bp, takes_messages=True)
@signed_in
def socket(sock: GuardedSocket, token: str) -> None:
    after = request.args.get("after", "0")
    try:
        room = services.room_enter_open(actor=current_actor(), token=token)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        sock.close(POLICY_VIOLATION, "not allowed")
        return
    RoomSocket(sock, room, after=int(after) if _SEQ.fullmatch(after) else 0).run()
