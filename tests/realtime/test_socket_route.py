"""`socket_route` for the sockets to come (a consultation room's chat takes messages from the browser):
messages reach the handler in order, within the rate, and a handler that falls behind is protected
by a cap on what waits for it."""
from __future__ import annotations

import json
import time

import pytest
from flask import Blueprint
from simple_websocket import ConnectionClosed

from app.accounts.models import Role
from app.core.policies import signed_in
from app.realtime.guard import ClientMessage, GuardedSocket, socket_route
from tests.browser.conftest import _serve
from tests.conftest import test_settings as settings_for
from tests.realtime.support import connect, sign_in
from tests.realtime.test_socket_guard import _closed_with


@pytest.fixture(scope="module")
def chat_server(app, database_url, redis_url):
    """The app with two more sockets: /ws/echo answers each message; /ws/busy takes messages but
    never gets round to reading them. Bursts of 100 (the cap on waiting messages is 32)."""
    from app import bind_services, create_app

    test_app = create_app(settings_for(database_url, redis_url, REALTIME_MESSAGE_BURST=100))
    bp = Blueprint("chat_test", __name__)

    @socket_route("/ws/echo", bp=bp, takes_messages=True)
    @signed_in
    def echo(socket: GuardedSocket) -> None:
        socket.send({"type": "hello"})
        for arrival in socket.arrivals():
            if isinstance(arrival, ClientMessage):
                socket.send({"echo": arrival.data})

    @socket_route("/ws/busy", bp=bp, takes_messages=True)
    @signed_in
    def busy(socket: GuardedSocket) -> None:
        socket.send({"type": "hello"})
        while socket.connected:
            time.sleep(0.05)

    test_app.register_blueprint(bp)
    bind_services(app)
    server, thread = _serve(test_app)
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


def test_messages_reach_the_handler_in_order(chat_server, make_user):
    user = make_user(Role.DOCTOR)
    ws = connect(chat_server, "/ws/echo", sign_in(chat_server, user.email))
    try:
        assert json.loads(ws.receive(timeout=10)) == {"type": "hello"}
        for n in range(5):
            ws.send(f"message {n}")
        assert [json.loads(ws.receive(timeout=10))["echo"] for _ in range(5)] == [f"message {n}" for n in range(5)]
    finally:
        ws.close()


def test_a_handler_that_falls_behind_is_not_buried(chat_server, make_user):
    user = make_user(Role.DOCTOR)
    ws = connect(chat_server, "/ws/busy", sign_in(chat_server, user.email))
    assert json.loads(ws.receive(timeout=10)) == {"type": "hello"}
    try:
        for _ in range(60):
            ws.send("x")
    except (ConnectionClosed, OSError):
        pass
    assert _closed_with(ws) == (1008, "too many messages waiting")
