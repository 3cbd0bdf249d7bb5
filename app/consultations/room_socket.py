"""The room's socket: one member's connection, for as long as it is open.

Each thing that happens on it (the member arrives, a message is sent, an event from the other
member is delivered) is its own unit of work, as a request is: done, then committed (audit rows with
it, events published after it) or rolled back, with no database connection held in between.
"""
from __future__ import annotations

import secrets
import time

from flask import current_app
from flask_babel import gettext as _

from app.consultations import chat_files, ice, recordings, services, signals
from app.consultations.access import Member
from app.consultations.channels import room_channel
from app.consultations.models import ChatMessage
from app.core.actor import Actor
from app.core.errors import DomainError
from app.extensions import db, hub
from app.realtime.guard import POLICY_VIOLATION, ClientMessage, GuardedSocket
from app.scheduling.clinic_time import to_local

QUALITY_EVERY_SECONDS = 2  # the page measures every 4 s; faster than this is not kept


def message_json(message: ChatMessage, *, reader_id: int, file_url=None) -> dict:
    """`file_url(entry id)`: where this reader opens a shared file (chat_files.file_url_for)."""
    shown = {"seq": message.seq, "id": message.client_id, "text": message.body, "mine": message.sender_id == reader_id,
             "at": to_local(message.sent_at).strftime("%H:%M")}
    if message.document_entry_id is not None and file_url is not None:
        shown["file"] = file_url(message.document_entry_id)
    return shown


def room_socket_run(socket: GuardedSocket, *, actor: Actor, token: str, after: int) -> None:
    """Serve `socket` for `actor`, a member of the room behind `token` (closed at once if they may not be there)."""
    try:
        room = services.room_enter_open(actor=actor, token=token)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        socket.close(POLICY_VIOLATION, "not allowed")
        return
    RoomSocket(socket, room, actor=actor, after=after).run()


class RoomSocket:
    """One member's connection to the room: relays signals while the call is on, carries the chat."""

    def __init__(self, socket: GuardedSocket, room: services.Room, *, actor: Actor, after: int) -> None:
        self.socket, self.actor = socket, actor
        self.consultation_id, self.member = room.consultation.id, room.member
        self.file_url = chat_files.file_url_for(room.member, room.appointment.patient_id)
        self.channel = room_channel(self.consultation_id)
        self.me = secrets.token_hex(6)   # tells this socket's own signals from the peer's
        self.cursor = after               # the last chat seq this page has
        self.admitted = room.consultation.admitted_at is not None
        self.quality_at = float("-inf")   # when this socket's last quality sample was kept
        self.quality_step = (0, False)    # the ladder step last told to the other member

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
                self._send_recording()
                self._send_chat()
                for arrival in self.socket.arrivals():
                    if isinstance(arrival, ClientMessage):
                        self._from_browser(arrival)
                    else:
                        self._from_hub(arrival)
            finally:
                if self.member == Member.PATIENT:
                    self._leave_waiting_room()

    def _leave_waiting_room(self) -> None:
        try:
            self._in_db(lambda: services.patient_waiting_set(actor=self.actor, consultation_id=self.consultation_id,
                                                             waiting=False))
        except DomainError:
            pass  # the visit is gone (or no longer theirs): nothing is waiting in it any more

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

    def _send_state(self) -> dict:
        def read():
            consultation, _member = services.consultation_for(self.actor, self.consultation_id)
            return services.room_state(consultation)
        state = self._in_db(read)
        self.admitted = state["admitted"]
        self.socket.send({"type": "state", **state})
        if state["over"]:
            self.socket.close(POLICY_VIOLATION, "visit over")
        return state

    def _still_waiting(self, state: dict) -> None:
        """Another of the patient's tabs (or phones) left the waiting room and said "not waiting": this
        one is still here, so the doctor's day goes on saying "waiting online"."""
        if self.member == Member.PATIENT and not (state["waiting"] or state["admitted"] or state["over"]):
            self._in_db(lambda: services.patient_waiting_set(actor=self.actor, consultation_id=self.consultation_id,
                                                             waiting=True))

    def _send_recording(self) -> None:
        """Whether the visit is being recorded and who agreed so far (both members' indicators)."""
        def read():
            services.consultation_for(self.actor, self.consultation_id)  # still one of its members
            return recordings.recording_state(self.consultation_id)
        self.socket.send({"type": "recording", **self._in_db(read)})

    def _send_chat(self) -> None:
        def read():
            messages = services.chat_read(actor=self.actor, consultation_id=self.consultation_id, after_seq=self.cursor)
            return [message_json(m, reader_id=self.actor.user_id, file_url=self.file_url) for m in messages]
        messages = self._in_db(read)
        if messages:
            self.cursor = messages[-1]["seq"]
            self.socket.send({"type": "chat", "messages": messages})

    def _from_hub(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "signal":
            if event.get("from") != self.me and self.admitted:
                self.socket.send({"type": "signal", "data": event.get("data")})
        elif kind == "quality":
            if event.get("from") != self.me and self.admitted:
                self.socket.send({"type": "peer-quality", "level": event.get("level"), "audioOnly": event.get("audioOnly")})
        elif kind == "chat":
            if int(event.get("seq", 0)) > self.cursor:
                self._send_chat()
        elif kind == "recording":
            self._send_recording()
        elif kind in ("state", "resync"):
            self._still_waiting(self._send_state())
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
        elif kind == "quality":
            self._quality(message.get("data"))
        elif kind == "admit" and self.member == Member.DOCTOR:
            self._in_db(lambda: services.patient_admit(actor=self.actor, consultation_id=self.consultation_id))
        else:
            self._refuse(_("That message was not understood."))

    def _quality(self, data) -> None:
        """A quality sample: kept with the call (one per QUALITY_EVERY_SECONDS per socket, the rest
        dropped); a new ladder step is passed to the other member for their indicator."""
        sample = signals.quality_clean(data)
        if sample is None:
            return self._refuse(_("That quality report was not understood."))
        if not self.admitted:
            return None
        step = (sample["level"], sample["audioOnly"])
        if step != self.quality_step:  # a change of step reaches the other side at once, however fast
            self.quality_step = step
            hub.publish(self.channel, {"type": "quality", "from": self.me, "level": step[0], "audioOnly": step[1]})
        now = time.monotonic()
        if now - self.quality_at >= QUALITY_EVERY_SECONDS:
            self.quality_at = now
            self._in_db(lambda: services.quality_record(actor=self.actor, consultation_id=self.consultation_id,
                                                        sample=sample))

    def _refuse(self, text: str) -> None:
        self.socket.send({"type": "error", "message": text})
