"""The room's ICE servers: coturn credentials by the TURN REST convention (checked by recomputing the
HMAC as coturn does), Twilio's Network Traversal Service from a recorded answer, none without settings."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

from twilio.http import HttpClient
from twilio.http.response import Response

from app.consultations import ice
from app.core.clock import clock

NOW = dt.datetime(2027, 3, 1, 6, 0, tzinfo=dt.timezone.utc)
COTURN = {"TURN_URLS": ["turn:turn.clinic.test:3478?transport=udp", "turns:turn.clinic.test:5349"],
          "TURN_SECRET": "a-shared-secret-with-coturn", "TURN_TTL_SECONDS": 3600}


def test_coturn_credentials_follow_the_turn_rest_convention_and_expire():
    clock.freeze(NOW)
    servers = ice.ice_servers_for(COTURN, ident="7-42")
    [server] = servers.servers
    assert server["urls"] == COTURN["TURN_URLS"]
    expiry, ident = server["username"].split(":")
    assert int(expiry) == int(NOW.timestamp()) + 3600 == servers.expires_at and ident == "7-42"
    # What coturn (use-auth-secret) computes from the username and its static-auth-secret:
    expected = base64.b64encode(hmac.new(b"a-shared-secret-with-coturn", server["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert server["credential"] == expected
    # Another secret, or a changed expiry, would not pass.
    assert ice.turn_credential("another-secret", server["username"]) != expected
    assert ice.turn_credential(COTURN["TURN_SECRET"], f"{int(expiry) + 3600}:7-42") != expected
    # Later members get later expiries: nothing is stored, nothing lasts.
    clock.advance(dt.timedelta(minutes=30))
    later = ice.ice_servers_for(COTURN, ident="7-42")
    assert later.expires_at == servers.expires_at + 1800


def test_without_turn_settings_there_are_no_ice_servers():
    assert ice.ice_servers_for({}, ident="1-1") == ice.IceServers([], None)
    assert ice.ice_servers_for({"TURN_URLS": ["turn:x"]}, ident="1-1").servers == []  # no secret: none


TWILIO_TOKEN = {
    "account_sid": "AC" + "0" * 32, "date_created": "Mon, 01 Mar 2027 06:00:00 +0000",
    "date_updated": "Mon, 01 Mar 2027 06:00:00 +0000", "ttl": "3600", "username": "dc2d2894d5a9023620c467b0e71cfa6a35457e6679785ed6ae9856fe5bdfa269",
    "password": "tE2DajzSJwnsSbc123", "ice_servers": [
        {"url": "stun:global.stun.twilio.com:3478", "urls": "stun:global.stun.twilio.com:3478"},
        {"url": "turn:global.turn.twilio.com:3478?transport=udp", "urls": "turn:global.turn.twilio.com:3478?transport=udp",
         "username": "dc2d2894d5a9023620c467b0e71cfa6a35457e6679785ed6ae9856fe5bdfa269", "credential": "tE2DajzSJwnsSbc123"},
    ],
}


class RecordedTwilio(HttpClient):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(logger=None, is_async=False)
        self.status, self.body, self.requests = status, body, []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        return Response(self.status, json.dumps(self.body))


def test_twilio_nts_tokens_when_twilio_is_configured(monkeypatch):
    clock.freeze(NOW)
    http = RecordedTwilio(201, TWILIO_TOKEN)
    monkeypatch.setattr(ice, "twilio_http_client", http)
    config = {**COTURN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token", "TURN_TTL_SECONDS": 3600}
    servers = ice.ice_servers_for(config, ident="7-42")
    [request] = http.requests
    assert request["method"] == "POST" and request["uri"].endswith(f"/Accounts/{'AC' + '0' * 32}/Tokens.json")
    assert request["data"] == {"Ttl": 3600} and request["auth"] == ("AC" + "0" * 32, "token")
    assert servers.servers == [
        {"urls": "stun:global.stun.twilio.com:3478"},
        {"urls": "turn:global.turn.twilio.com:3478?transport=udp", "username": TWILIO_TOKEN["username"],
         "credential": "tE2DajzSJwnsSbc123"}]
    assert servers.expires_at == int(NOW.timestamp()) + 3600


def test_when_twilio_fails_coturn_steps_in(monkeypatch):
    monkeypatch.setattr(ice, "twilio_http_client", RecordedTwilio(500, {"code": 20500, "message": "Internal Server Error",
                                                                        "status": 500}))
    config = {**COTURN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token"}
    [server] = ice.ice_servers_for(config, ident="7-42").servers
    assert server["urls"] == COTURN["TURN_URLS"] and server["username"].endswith(":7-42")
