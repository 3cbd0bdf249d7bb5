"""The limits every websocket keeps (app/realtime/guard.py, origin.py), seen from a client.

The app is served in this process (Werkzeug, threaded) so what the server logs is visible here.
"""
from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeFailed

from app.accounts.models import Role
from tests.realtime.support import connect, sign_in


@pytest.fixture
def doctor(make_user, live_server):
    user = make_user(Role.DOCTOR)
    return user, sign_in(live_server.url, user.email)


def _live(doctor_id: int) -> str:
    return f"/ws/live?channels=doctor:{doctor_id}"


def _hello(ws) -> dict:
    message = json.loads(ws.receive(timeout=10))
    assert message["type"] == "hello", message
    return message


def _closed_with(ws, timeout: float = 10) -> tuple[int, str]:
    """The code and reason the server closed `ws` with (reading and dropping anything before)."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.receive(timeout=deadline - time.monotonic())
        pytest.fail("the server did not close the socket")
    return int(closed.value.reason), closed.value.message


def _errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


# -- Origin -----------------------------------------------------------------------------------------

def test_a_handshake_from_the_apps_own_pages_is_accepted(live_server, doctor):
    user, session = doctor
    ws = connect(live_server.url, _live(user.id), session)  # Origin: the address the page came from
    try:
        assert _hello(ws)["channels"] == [f"doctor:{user.id}"]
    finally:
        ws.close()
    ws = connect(live_server.url, _live(user.id), session, origin="http://localhost")  # PUBLIC_BASE_URL
    try:
        _hello(ws)
    finally:
        ws.close()


def test_a_handshake_from_another_site_is_refused_before_the_upgrade(live_server, doctor):
    """Cross-site websocket hijacking: the browser sends the session cookie whatever page asks."""
    user, session = doctor
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example", "null", "http://127.0.0.1:1",
                   "https://" + live_server.url.removeprefix("http://"), "not a url", ""):
        with pytest.raises(HandshakeFailed) as refused:
            connect(live_server.url, _live(user.id), session, origin=origin)
        assert refused.value.status_code == 403, origin


def test_a_handshake_without_an_origin_is_refused(live_server, doctor):
    """Every browser sends an Origin with a websocket handshake; only a browser is our client."""
    user, session = doctor
    with pytest.raises(HandshakeFailed) as refused:
        connect(live_server.url, _live(user.id), session, origin=None)
    assert refused.value.status_code == 403


def test_behind_a_proxy_the_own_origin_is_the_address_people_use(live_server_factory, make_user):
    """With PROXY_HOPS, the scheme and host are the ones the proxy says the browser asked for."""
    server = live_server_factory(PROXY_HOPS=1)
    user = make_user(Role.DOCTOR)
    session = sign_in(server.url, user.email)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "clinic.example.org", "X-Forwarded-For": "10.0.0.9"}
    ws = connect(server.url, _live(user.id), session, origin="https://clinic.example.org", headers=forwarded)
    try:
        _hello(ws)
    finally:
        ws.close()
    with pytest.raises(HandshakeFailed) as refused:  # the proxy's own view of the app is not a page
        connect(server.url, _live(user.id), session, headers=forwarded)
    assert refused.value.status_code == 403


def test_a_malformed_handshake_is_a_400_not_a_server_error(live_server, doctor, caplog):
    user, session = doctor
    host = live_server.url.removeprefix("http://")
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    request = (f"GET {_live(user.id)} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Origin: {live_server.url}\r\nCookie: {cookie}\r\n\r\n")  # no Sec-WebSocket-Key, no version
    with socket.create_connection(tuple(host.split(":"))) as raw:
        raw.sendall(request.encode())
        status = raw.recv(4096).split(b"\r\n", 1)[0]
    assert status.split()[1] == b"400", status
    assert _errors(caplog) == []


# -- channel names ----------------------------------------------------------------------------------

BAD_NAMES = ["doctor:{id}²", "doctor:²", "doctor:١", "doctor:+{id}", "doctor: {id}", "doctor:{id} ", "doctor:-{id}",
             "doctor:0{id}", "doctor:{id}\n", "doctor:1234567890", "doctor:", "doctor", "nurse:{id}", "clinic:{id}",
             "DOCTOR:{id}", "doctor:{id}.0", "doctor:0x1", "doctor:{id}:{id}"]


def test_a_channel_name_that_is_not_plain_is_refused_cleanly(live_server, doctor, caplog):
    """Unicode digits, signs, spaces, leading zeros, too long, unknown kinds: a 1008 close, and
    nothing raised in the server (it used to raise on "²", which str.isdigit() accepts)."""
    from urllib.parse import quote

    user, session = doctor
    for name in BAD_NAMES:
        ws = connect(live_server.url, "/ws/live?channels=" + quote(name.format(id=user.id)), session)
        assert _closed_with(ws) == (1008, "not allowed"), name
    assert _errors(caplog) == []


def test_no_channel_and_too_many_channels_are_refused(live_server, make_user):
    desk = make_user(Role.RECEPTION)
    session = sign_in(live_server.url, desk.email)
    for query in ("", "channels=", "channels=,", "channels=" + ",".join(f"doctor:{i}" for i in range(1, 10))):
        ws = connect(live_server.url, "/ws/live?" + query, session)
        assert _closed_with(ws) == (1008, "not allowed"), query


# -- messages ---------------------------------------------------------------------------------------

def test_a_message_over_the_size_cap_closes_the_socket_with_1009(live_server, doctor, caplog):
    user, session = doctor
    ws = connect(live_server.url, _live(user.id), session)
    _hello(ws)
    cap = live_server.app.config["REALTIME_MAX_MESSAGE_BYTES"]
    try:
        ws.send("x" * (cap + 1))
    except (ConnectionClosed, OSError):
        pass  # closed before all of it was sent
    assert _closed_with(ws) == (1009, "Message is too big")
    assert _errors(caplog) == []


def test_messages_under_the_cap_and_the_rate_are_read_and_dropped(live_server, doctor):
    """The live socket takes nothing from the browser; a few messages do not close it."""
    from app.extensions import hub

    user, session = doctor
    ws = connect(live_server.url, _live(user.id), session)
    try:
        _hello(ws)
        for _ in range(3):
            ws.send("hello?")
        hub.publish(f"doctor:{user.id}", {"type": "appointment", "id": 1})
        assert json.loads(ws.receive(timeout=5))["id"] == 1
    finally:
        ws.close()


def test_a_flood_of_messages_closes_the_socket_with_1008(live_server, doctor, caplog):
    user, session = doctor
    ws = connect(live_server.url, _live(user.id), session)
    _hello(ws)
    burst = live_server.app.config["REALTIME_MESSAGE_BURST"]
    try:
        for _ in range(burst * 10):
            ws.send("x")
    except (ConnectionClosed, OSError):
        pass
    assert _closed_with(ws) == (1008, "too many messages")
    assert _errors(caplog) == []


# -- sockets per account ----------------------------------------------------------------------------

def test_one_socket_more_than_the_cap_is_refused_and_closing_one_frees_its_place(live_server, doctor):
    from app.extensions import socket_slots

    user, session = doctor
    cap = live_server.app.config["REALTIME_SOCKETS_PER_USER"]
    open_ = [connect(live_server.url, _live(user.id), session) for _ in range(cap)]
    try:
        for ws in open_:
            _hello(ws)
        assert socket_slots.count(str(user.id)) == cap
        extra = connect(live_server.url, _live(user.id), session)
        assert _closed_with(extra) == (1008, "too many connections")

        open_.pop().close()  # a page is closed: the next one gets its place
        deadline, accepted = time.monotonic() + 5, None
        while accepted is None:
            ws = connect(live_server.url, _live(user.id), session)
            first = None
            try:
                first = json.loads(ws.receive(timeout=5))
            except ConnectionClosed:
                assert time.monotonic() < deadline, "the closed socket's place was never freed"
                time.sleep(0.05)
            if first is not None:
                assert first["type"] == "hello"
                accepted = ws
        open_.append(accepted)
    finally:
        for ws in open_:
            ws.close()
    deadline = time.monotonic() + 5
    while socket_slots.count(str(user.id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert socket_slots.count(str(user.id)) == 0


def test_the_cap_counts_each_account_apart(live_server, make_user):
    doctor, other = make_user(Role.DOCTOR), make_user(Role.DOCTOR)
    cap = live_server.app.config["REALTIME_SOCKETS_PER_USER"]
    mine, theirs = sign_in(live_server.url, doctor.email), sign_in(live_server.url, other.email)
    sockets = [connect(live_server.url, _live(doctor.id), mine) for _ in range(cap)]
    try:
        for ws in sockets:
            _hello(ws)
        ws = connect(live_server.url, _live(other.id), theirs)
        sockets.append(ws)
        _hello(ws)
    finally:
        for ws in sockets:
            ws.close()
