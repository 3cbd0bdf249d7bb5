"""The ICE servers a room's two browsers are given: STUN/TURN to get media through NAT and firewalls.

- coturn (self-hosted, Debian package `coturn`) with the TURN REST convention: turnserver.conf has
  `use-auth-secret` and `static-auth-secret=<TURN_SECRET>`; each member gets the username
  "<expiry epoch>:<id>" and the credential base64(HMAC-SHA1(secret, username)). coturn recomputes
  it, so nothing is stored, and refuses it after the expiry: a leaked credential dies by itself.
- Twilio's Network Traversal Service (a token from the official SDK, its HTTP client injectable)
  when Twilio is configured; if Twilio cannot be reached, coturn's when it is set, else none.
- Neither: no ICE servers. Host candidates connect two browsers on one machine or network
  (`make run`).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging

from app.core.clock import clock

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class IceServers:
    servers: list[dict]   # RTCConfiguration.iceServers
    expires_at: int | None  # epoch seconds; None: nothing expires (no credentials)


def turn_credential(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def coturn_servers(*, urls: list[str], secret: str, ttl_seconds: int, ident: str) -> IceServers:
    expires_at = int(clock.now().timestamp()) + ttl_seconds
    username = f"{expires_at}:{ident}"
    return IceServers([{"urls": list(urls), "username": username, "credential": turn_credential(secret, username)}],
                      expires_at)


def twilio_servers(*, account_sid: str, auth_token: str, ttl_seconds: int, http_client=None) -> IceServers:
    """A Network Traversal Service token: Twilio's STUN and TURN servers with credentials for `ttl`."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(account_sid, auth_token, http_client=http_client or TwilioHttpClient(timeout=10))
    token = client.tokens.create(ttl=ttl_seconds)
    servers = []
    for server in token.ice_servers or []:
        entry = {"urls": server.get("urls") or server.get("url")}
        if server.get("username"):
            entry["username"], entry["credential"] = server["username"], server["credential"]
        servers.append(entry)
    return IceServers(servers, int(clock.now().timestamp()) + ttl_seconds)


# Tests put a recorded Twilio HTTP client here; None: the SDK's own.
twilio_http_client = None


def ice_servers_for(config, *, ident: str) -> IceServers:
    """The ICE servers for one member of one room (`ident` names them in the TURN username)."""
    provider = (config.get("ICE_PROVIDER") or "auto").lower()
    ttl = int(config.get("TURN_TTL_SECONDS") or 7200)
    has_twilio = bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"))
    has_coturn = bool(config.get("TURN_URLS") and config.get("TURN_SECRET"))
    if provider == "twilio" or (provider == "auto" and has_twilio):
        try:
            return twilio_servers(account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
                                  ttl_seconds=ttl, http_client=twilio_http_client)
        except Exception as exc:  # the call can still connect on host candidates or coturn
            log.warning("Twilio ICE servers unavailable (%s)", exc.__class__.__name__)
    if provider in ("coturn", "auto", "twilio") and has_coturn:
        return coturn_servers(urls=config["TURN_URLS"], secret=config["TURN_SECRET"], ttl_seconds=ttl, ident=ident)
    return IceServers([], None)
