"""Delivery backends: SMTP for email, Twilio for SMS, and a console stand-in for development.

A backend's `send` takes the message and `reference`, the outbox row's id, which the message carries
where the channel allows (an email header) so a receipt can be matched to its row. It raises
`PermanentFailure` when retrying cannot help (a refused address) and anything else for a transient
fault, which the delivery job retries with backoff.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    pass


class ConsoleBackend:
    """Stands in for a provider when none is configured: logs who, what and when, never a subject or a
    body (a message can hold clinical detail, and logs are read and kept widely). In development it
    also drops the whole message into a mailbox folder (DEV_MAILBOX_DIR), so a developer can follow
    a reset or invitation link."""

    name = "console"

    def __init__(self, channel: str, mailbox_dir: str | None = None) -> None:
        self.channel = channel
        self.mailbox_dir = mailbox_dir

    def send(self, *, to: str, subject: str | None, body: str, reference: str | None = None) -> str:
        from app.notifications.services import mask_address

        message_id = f"console-{uuid.uuid4().hex[:12]}"
        log.info("[console %s] %s notification=%s to %s, %d characters (not sent: no provider configured)",
                 self.channel, message_id, reference, mask_address(self.channel, to), len(body))
        if self.mailbox_dir:
            folder = Path(self.mailbox_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{message_id}.txt").write_text(f"To: {to}\nSubject: {subject or ''}\n\n{body}\n", encoding="utf-8")
        return message_id


class SmtpBackend:
    """SMTP_URL: smtp://user:password@host:587 (STARTTLS), smtps://...:465 (TLS), smtp://host:25 (a relay),
    or smtp://host:port?tls=none: a relay on the clinic's own machine or network (a local Postfix) spoken
    to in plain text. `tls=none` refuses credentials: a password never crosses the wire unencrypted."""

    name = "smtp"
    HEADER = "X-MyAfya-Notification"

    def __init__(self, url: str, sender: str, smtp_factory=None) -> None:
        self.url = urlparse(url)
        self.sender = sender
        self._factory = smtp_factory
        tls = parse_qs(self.url.query).get("tls", [None])[-1]
        if tls not in (None, "starttls", "none") or (tls == "none" and self.url.scheme == "smtps"):
            raise ValueError("SMTP_URL: tls must be 'starttls' or 'none' (smtps:// is always TLS)")
        if tls == "none" and self.url.username:
            raise ValueError("SMTP_URL: tls=none refuses a user name and password (they would travel in clear)")
        self._plain = tls == "none" or (tls is None and self.url.port == 25)

    def _connect(self):
        host, port = self.url.hostname, self.url.port
        if self._factory is not None:
            return self._factory(host, port)
        if self.url.scheme == "smtps":
            return smtplib.SMTP_SSL(host, port or 465, timeout=20, context=ssl.create_default_context())
        client = smtplib.SMTP(host, port or 587, timeout=20)
        if not self._plain:
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, *, to: str, subject: str | None, body: str, reference: str | None = None) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject or "MyAfya"
        # smtplib adds neither; mail without them is often scored as spam, and the id is our receipt.
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].rpartition("@")[2] or "myafya.invalid")
        if reference is not None:
            message[self.HEADER] = reference
        message.set_content(body)
        try:
            with self._connect() as client:
                if self.url.username:
                    client.login(unquote(self.url.username), unquote(self.url.password or ""))
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure("recipient refused") from exc
        return message["Message-ID"]


class TwilioSmsBackend:
    """Twilio's official SDK; `http_client` is injectable so tests replay recorded responses."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, http_client=None) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        # The SDK's default client waits forever; a hung request would hold the claimed row.
        self.client = Client(account_sid, auth_token, http_client=http_client or TwilioHttpClient(timeout=20))
        self.from_number = from_number

    def send(self, *, to: str, subject: str | None, body: str, reference: str | None = None) -> str:
        from twilio.base.exceptions import TwilioRestException, TwilioServiceException

        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body)
        except (TwilioRestException, TwilioServiceException) as exc:  # legacy and RFC 9457 error bodies
            if 400 <= exc.status < 500 and exc.status != 429:
                raise PermanentFailure(f"twilio refused: {exc.code}") from exc
            raise
        return message.sid


_overrides: dict[str, object] = {}


def override_backend(channel: str, backend) -> None:
    """Tests and tools swap a backend for a channel (None restores the configured one)."""
    if backend is None:
        _overrides.pop(channel, None)
    else:
        _overrides[channel] = backend


def backend_for(channel: str, config) -> object:
    if channel in _overrides:
        return _overrides[channel]
    if channel == "email" and config.get("SMTP_URL"):
        return SmtpBackend(config["SMTP_URL"], config["MAIL_FROM"])
    if channel == "sms" and config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
        return TwilioSmsBackend(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_FROM_NUMBER"])
    return ConsoleBackend(channel, config.get("DEV_MAILBOX_DIR"))
