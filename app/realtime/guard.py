"""Every websocket route goes through `socket_route`: the house limits, whatever the socket is for.

- Origin: checked app-wide before any handshake (app/realtime/origin.py).
- Sockets per account: REALTIME_SOCKETS_PER_USER across all web processes (app/realtime/slots.py);
  one more is accepted and closed with 1008.
- Message size: REALTIME_MAX_MESSAGE_BYTES, counted while the message arrives (simple-websocket's
  own `max_message_size`); a larger one closes the socket with 1009 before it is buffered.
- Message rate: a token bucket of REALTIME_MESSAGES_PER_SECOND (bursts of REALTIME_MESSAGE_BURST);
  a flood closes the socket with 1008. A handler that takes messages has at most
  `PENDING_MESSAGES` waiting; one that takes none (the live feed) has them dropped as they come.
- Liveness: a websocket ping every PING_SECONDS (a peer that does not answer is closed), the
  account re-checked (a revoked session loses its socket) and the socket's count kept alive.
- A refusal is a clean close with its code; an error in a handler is logged and closed with 1011.

The limits are applied where the bytes are read, in simple-websocket's reading thread: under
gevent that loop does not yield while data keeps arriving, so a check anywhere else would run only
after a flood had been buffered. That is why this module builds the server itself instead of
using flask-sock's route (which always builds a plain simple_websocket.Server).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import queue
import threading
import time
from typing import Callable, Iterator

from flask import Response, current_app, request
from flask_login import current_user
from simple_websocket import ConnectionClosed, Server
from simple_websocket import ConnectionError as HandshakeFailed
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from app.core.hooks import Hook
from app.core.outage import DATABASE_DOWN
from app.extensions import db, socket_slots

log = logging.getLogger(__name__)

POLICY_VIOLATION = CloseReason.POLICY_VIOLATION.value  # 1008
MESSAGE_TOO_BIG = CloseReason.MESSAGE_TOO_BIG.value    # 1009
INTERNAL_ERROR = CloseReason.INTERNAL_ERROR.value      # 1011
TRY_AGAIN_LATER = CloseReason.TRY_AGAIN_LATER.value    # 1013

PING_SECONDS = 25            # under the usual 60 s idle timeout of proxies
SLOT_SECONDS = 2 * PING_SECONDS + 10  # a socket's count outlives one missed refresh, not two
PENDING_MESSAGES = 32

# (database session, user_id=, session_token=) -> is the account active and still signed in with that
# token? Accounts answers it (registered by create_app): realtime sits below the domains.
session_still_current = Hook("is this socket's account still signed in with its session token")


@dataclasses.dataclass(frozen=True)
class SocketLimits:
    sockets_per_user: int
    max_message_bytes: int
    messages_per_second: float
    message_burst: int

    @classmethod
    def from_config(cls, config) -> "SocketLimits":
        return cls(sockets_per_user=config["REALTIME_SOCKETS_PER_USER"],
                   max_message_bytes=config["REALTIME_MAX_MESSAGE_BYTES"],
                   messages_per_second=config["REALTIME_MESSAGES_PER_SECOND"],
                   message_burst=config["REALTIME_MESSAGE_BURST"])


class TokenBucket:
    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclasses.dataclass(frozen=True)
class ClientMessage:
    data: str | bytes


_CLOSED = object()  # put in the inbox when the connection ends, whoever ended it


class GuardedServer(Server):
    """simple-websocket's server, with the message rate and backlog limited in its reading thread.

    Messages do not go to simple-websocket's unbounded input buffer: they go to `inbox` (the
    queue the socket's hub events arrive in too), or nowhere when the handler takes none.
    Overrides two methods of simple-websocket 1.1 (pinned): `_handle_events`, `_thread`.
    """

    def __init__(self, environ, *, inbox: queue.Queue, limits: SocketLimits, takes_messages: bool) -> None:
        self.inbox = inbox
        self.takes_messages = takes_messages
        self.pending = threading.BoundedSemaphore(PENDING_MESSAGES)
        self._bucket = TokenBucket(rate=limits.messages_per_second, burst=limits.message_burst)
        super().__init__(environ, max_message_size=limits.max_message_bytes, ping_interval=PING_SECONDS)

    def _handle_events(self):
        keep_going = super()._handle_events()
        arrived, self.input_buffer = self.input_buffer, []
        for data in arrived:
            if not self._bucket.take():
                return self._refuse(POLICY_VIOLATION, "too many messages")
            if not self.takes_messages:
                continue
            if not self.pending.acquire(blocking=False):
                return self._refuse(POLICY_VIOLATION, "too many messages waiting")
            try:
                self.inbox.put_nowait(ClientMessage(data))
            except queue.Full:
                return self._refuse(POLICY_VIOLATION, "too many messages waiting")
        time.sleep(0)  # under gevent: let the other greenlets run while a fast sender keeps us reading
        return keep_going

    def _refuse(self, code: int, reason: str) -> bool:
        try:
            self.sock.send(self.ws.send(CloseConnection(code, reason)))
        except (OSError, LocalProtocolError):
            pass
        self.close_reason, self.close_message = code, reason
        self.event.set()
        return False  # the reading loop stops and closes the connection: nothing more is read

    def _thread(self):
        try:
            super()._thread()
        finally:
            self.connected = False
            try:
                self.inbox.put_nowait(_CLOSED)
            except queue.Full:
                pass  # the handler is awake anyway, and finds the socket closed


class GuardedSocket:
    """What a socket handler works with: its inbox (pass it to hub.subscribe), what arrives there,
    send and close."""

    def __init__(self, server: GuardedServer, *, user_id: int, session_token: str, slot) -> None:
        self.server, self.user_id, self._session_token, self._slot = server, user_id, session_token, slot

    @property
    def inbox(self) -> queue.Queue:
        return self.server.inbox

    @property
    def connected(self) -> bool:
        return self.server.connected

    def send(self, message: dict) -> None:
        self.server.send(json.dumps(message))

    def close(self, code: int, reason: str) -> None:
        if self.server.connected:
            self.server.close(reason=code, message=reason)

    def arrivals(self) -> Iterator[dict | ClientMessage]:
        """Hub events (dicts) and client messages, until the socket closes. Holds no database
        connection while it waits; between arrivals it pings and re-checks the account."""
        db.session.remove()
        due = time.monotonic() + PING_SECONDS
        while self.server.connected:
            try:
                item = self.inbox.get(timeout=max(0.0, due - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _CLOSED or not self.server.connected:
                return
            if time.monotonic() >= due:
                signed_in = self._still_signed_in()
                if signed_in is None:
                    # The session cannot be checked: close; live.js reconnects with back-off, and the
                    # handshake checks the session again once the database is back.
                    self.close(TRY_AGAIN_LATER, "try again later")
                    return
                if not signed_in:
                    self.close(POLICY_VIOLATION, "signed out")
                    return
                self._slot.refresh()
                self.send({"type": "ping"})
                due = time.monotonic() + PING_SECONDS
            if isinstance(item, ClientMessage):
                self.server.pending.release()
            if item is not None:
                yield item

    def _still_signed_in(self) -> bool | None:
        """A revoked session (sign-out, password change, deactivation) loses its sockets too.
        None: the database cannot say right now."""
        try:
            with db.new_session() as session:
                return bool(session_still_current(session, user_id=self.user_id, session_token=self._session_token))
        except DATABASE_DOWN as exc:
            log.warning("live socket closed, database unavailable: %s", exc.__class__.__name__)
            return None


def socket_route(path: str, *, bp, takes_messages: bool = False, messages_per_second: float | None = None,
                 message_burst: int | None = None) -> Callable:
    """Register `handler(socket: GuardedSocket, **url_args)` as the websocket at `path` on `bp`.
    Declare its access policy under this decorator (`@signed_in`, `@roles(...)`): the handshake
    of anyone it does not admit is refused before the upgrade. A socket is always someone's.
    `messages_per_second` / `message_burst` replace the house rate for this socket only (a socket
    whose protocol sends bursts, as WebRTC signalling does); a flood is still closed."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def view(**url_args):
            if not current_user.is_authenticated:
                return Response("Sign in first.\n", status=403, mimetype="text/plain")
            limits = SocketLimits.from_config(current_app.config)
            if messages_per_second is not None or message_burst is not None:
                limits = dataclasses.replace(limits, messages_per_second=messages_per_second or limits.messages_per_second,
                                             message_burst=message_burst or limits.message_burst)
            slot = socket_slots.acquire(str(current_user.id), limit=limits.sockets_per_user, seconds=SLOT_SECONDS)
            try:
                server = GuardedServer(request.environ, inbox=queue.Queue(maxsize=500), limits=limits,
                                       takes_messages=takes_messages)
            except (HandshakeFailed, RemoteProtocolError, LocalProtocolError):
                if slot is not None:
                    slot.release()
                return Response("Not a websocket handshake.\n", status=400, mimetype="text/plain")
            try:
                if slot is None:
                    server.close(reason=POLICY_VIOLATION, message="too many connections")
                else:
                    socket = GuardedSocket(server, user_id=current_user.id,
                                           session_token=current_user.session_token, slot=slot)
                    _run(handler, socket, url_args)
            finally:
                if slot is not None:
                    slot.release()
                if server.connected:
                    try:
                        server.close()
                    except (ConnectionClosed, OSError, LocalProtocolError):
                        pass
            return _after_socket(server)

        bp.route(path, websocket=True)(view)
        return handler

    return decorate


def _run(handler: Callable, socket: GuardedSocket, url_args: dict) -> None:
    try:
        handler(socket, **url_args)
    except (ConnectionClosed, LocalProtocolError, OSError):
        pass  # the peer went away mid-send
    except Exception:
        log.exception("websocket handler %s failed", handler.__name__)
        try:
            socket.close(INTERNAL_ERROR, "server error")
        except (ConnectionClosed, LocalProtocolError, OSError):
            pass


def _after_socket(server: GuardedServer):
    """The WSGI answer once the connection is over: the web server must not write an HTTP response
    on a socket that became a websocket (what flask-sock does, for the servers we run on)."""

    class SocketDone(Response):
        def __call__(self, environ, start_response):
            if server.mode == "gunicorn":
                raise StopIteration()
            if server.mode == "werkzeug":
                return super().__call__(environ, start_response)
            return []

    return SocketDone()
