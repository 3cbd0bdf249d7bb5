"""Delivery backends against recorded provider traffic: Twilio through an injected HTTP client,
SMTP through an injected connection or a real local SMTP server; outcomes checked on the outbox row."""
from __future__ import annotations

import datetime as dt
import json
import smtplib
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import text
from twilio.http import HttpClient
from twilio.http.response import Response

from app.extensions import db, jobs
from app.notifications import tasks
from app.notifications.backends import ConsoleBackend, SmtpBackend, TwilioSmsBackend, backend_for, override_backend
from app.notifications.models import Channel
from app.notifications.services import notification_queue
from tests.core.apps import another_app
from tests.notifications.rows import row

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+15005550006"
TO_NUMBER = "+254700111222"
MESSAGE_SID = "SM5f1d0a8e2b3c4d5e6f708192a3b4c5d6"

# What Twilio answered to POST .../Messages.json (recorded, with our ids in it).
CREATED = {
    "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": "Your lab result is ready.",
    "date_created": "Mon, 23 Nov 2026 09:00:00 +0000", "date_sent": None,
    "date_updated": "Mon, 23 Nov 2026 09:00:00 +0000", "direction": "outbound-api", "error_code": None,
    "error_message": None, "from": FROM_NUMBER, "messaging_service_sid": None, "num_media": "0",
    "num_segments": "1", "price": None, "price_unit": "USD", "sid": MESSAGE_SID, "status": "queued",
    "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{MESSAGE_SID}/Media.json"},
    "to": TO_NUMBER, "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{MESSAGE_SID}.json",
}
INVALID_NUMBER = {"code": 21211, "message": f"Invalid 'To' Phone Number: {TO_NUMBER}",
                  "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
INVALID_NUMBER_RFC9457 = {"type": "https://www.twilio.com/docs/api/errors/21211", "title": "Invalid 'To' Phone Number",
                          "status": 400, "code": 21211, "detail": f"{TO_NUMBER} is not a valid phone number"}
SERVER_ERROR = {"code": 20500, "message": "Internal Server Error",
                "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}
TOO_MANY = {"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429}


class RecordedTwilio(HttpClient):
    """Answers every request with one recorded response and keeps what was asked."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(logger=None, is_async=False)
        self.status, self.body, self.requests = status, body, []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth, "headers": headers})
        return Response(self.status, json.dumps(self.body))


def queue_sms(app, key="lab-result:1") -> int:
    with app.test_request_context("/"):
        note = notification_queue(dedupe_key=key, channel=Channel.SMS, to_address=TO_NUMBER,
                                  body="Your lab result is ready.")
        db.session.commit()
    jobs.rq_queue.empty()  # the tests call the delivery job themselves
    return note.id




def use_twilio(status: int, body: dict) -> RecordedTwilio:
    http = RecordedTwilio(status, body)
    override_backend("sms", TwilioSmsBackend(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, http_client=http))
    return http


def test_twilio_sends_the_message_and_the_sid_is_kept(app):
    http = use_twilio(201, CREATED)
    note_id = queue_sms(app)
    assert tasks.notification_deliver(note_id) == "sent"

    [request] = http.requests
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["data"] == {"To": TO_NUMBER, "From": FROM_NUMBER, "Body": "Your lab result is ready."}
    assert request["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    note = row(app, note_id)
    assert (note.status, note.provider_message_id, note.attempts, note.last_error) == ("sent", MESSAGE_SID, 1, None)

    assert tasks.notification_deliver(note_id) == "skipped"
    assert len(http.requests) == 1


@pytest.mark.parametrize("body", [INVALID_NUMBER, INVALID_NUMBER_RFC9457], ids=["legacy", "rfc9457"])
def test_twilio_refusing_the_number_fails_without_retry(app, body):
    http = use_twilio(400, body)
    note_id = queue_sms(app)
    assert tasks.notification_deliver(note_id) == "failed"
    note = row(app, note_id)
    assert note.status == "failed" and note.attempts == 1 and "21211" in note.last_error
    assert jobs.rq_queue.scheduled_job_registry.count == 0
    with app.app_context():
        db.session.execute(text("UPDATE notifications SET next_attempt_at = now() - interval '1 day'"))
        db.session.commit()
    assert tasks.notifications_sweep() == 0
    assert len(http.requests) == 1


@pytest.mark.parametrize("status, body", [(500, SERVER_ERROR), (429, TOO_MANY)])
def test_twilio_server_trouble_is_retried_with_backoff(app, status, body):
    http = use_twilio(status, body)
    note_id = queue_sms(app)
    started = dt.datetime.now(dt.timezone.utc)
    assert tasks.notification_deliver(note_id) == "pending"
    note = row(app, note_id)
    assert (note.status, note.attempts, note.last_error) == ("pending", 1, "TwilioRestException")
    assert note.next_attempt_at >= started + tasks.retry_delay(1)
    assert note.lease_until is None
    assert jobs.rq_queue.scheduled_job_registry.count == 1
    assert tasks.notification_deliver(note_id) == "skipped"  # not due yet
    assert len(http.requests) == 1


def test_twilio_backend_waits_a_bounded_time_by_default():
    backend = TwilioSmsBackend(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER)
    assert backend.client.http_client.timeout is not None


class FakeSmtp:
    """Stands in for smtplib.SMTP: records the login and every message sent."""

    def __init__(self, host, port, refuse: bool = False) -> None:
        self.host, self.port, self.refuse = host, port, refuse
        self.logins, self.messages, self.closed = [], [], False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True

    def login(self, user, password):
        self.logins.append((user, password))

    def send_message(self, message: EmailMessage):
        if self.refuse:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"5.1.1 mailbox unavailable")})
        self.messages.append(message)


def smtp_backend(url="smtp://mailer%40clinic.example:s%3Acret@mail.example.test:587", refuse=False):
    connections = []

    def factory(host, port):
        connections.append(FakeSmtp(host, port, refuse=refuse))
        return connections[-1]

    backend = SmtpBackend(url, "MyAfya Clinic <no-reply@clinic.example>", smtp_factory=factory)
    override_backend("email", backend)
    return connections


def test_smtp_sends_a_well_formed_message(app):
    connections = smtp_backend()
    with app.test_request_context("/"):
        note = notification_queue(dedupe_key="appointment:9", channel=Channel.EMAIL, to_address="amani@example.test",
                                  subject="Your appointment on Monday", body="Dr Achieng, Monday 09:00.\nRoom 4.")
        db.session.commit()
    jobs.rq_queue.empty()
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert tasks.notification_deliver(note.id) == "sent"

    [connection] = connections
    assert (connection.host, connection.port) == ("mail.example.test", 587)
    assert connection.logins == [("mailer@clinic.example", "s:cret")]
    assert connection.closed
    [message] = connection.messages
    assert message["From"] == "MyAfya Clinic <no-reply@clinic.example>"
    assert message["To"] == "amani@example.test"
    assert message["Subject"] == "Your appointment on Monday"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Dr Achieng, Monday 09:00.\nRoom 4.\n"
    assert parsedate_to_datetime(message["Date"]) >= before
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@clinic.example>")
    assert message["X-MyAfya-Notification"] == str(note.id)  # the receipt names its outbox row
    assert row(app, note.id).provider_message_id == message["Message-ID"]


def test_smtp_without_credentials_does_not_log_in(app):
    connections = smtp_backend("smtp://relay.internal:25")
    with app.app_context():
        note = notification_queue(dedupe_key="k", channel=Channel.EMAIL, to_address="a@example.test", body="b")
        db.session.commit()
    jobs.rq_queue.empty()
    assert tasks.notification_deliver(note.id) == "sent"
    assert connections[0].logins == [] and connections[0].messages[0]["Subject"] == "MyAfya"


def test_smtp_refused_recipient_is_a_permanent_failure(app):
    smtp_backend(refuse=True)
    with app.app_context():
        note = notification_queue(dedupe_key="k", channel=Channel.EMAIL, to_address="gone@example.test", body="b")
        db.session.commit()
    jobs.rq_queue.empty()
    assert tasks.notification_deliver(note.id) == "failed"
    assert row(app, note.id).last_error == "recipient refused"


def test_the_configured_backend_is_chosen():
    assert isinstance(backend_for("email", {"SMTP_URL": "smtp://h:587", "MAIL_FROM": "a@b.c"}), SmtpBackend)
    twilio = backend_for("sms", {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                 "TWILIO_FROM_NUMBER": FROM_NUMBER})
    assert isinstance(twilio, TwilioSmsBackend) and twilio.from_number == FROM_NUMBER
    console = backend_for("sms", {})
    assert isinstance(console, ConsoleBackend) and console.send(to="x", subject=None, body="b").startswith("console-")
    override_backend("sms", "stand-in")
    assert backend_for("sms", {}) == "stand-in"
    override_backend("sms", None)
    assert isinstance(backend_for("sms", {}), ConsoleBackend)


def test_the_stand_in_provider_logs_who_and_when_never_the_message(caplog, tmp_path):
    body, subject = "Your visit was cancelled: chest pain, admitted", "About your chest pain"
    with caplog.at_level("DEBUG"):
        ConsoleBackend("email").send(to="amina@example.test", subject=subject, body=body)
        ConsoleBackend("sms").send(to="+254712345678", subject=None, body=body)
    logged = caplog.text
    assert "chest pain" not in logged and "amina@example.test" not in logged and "+254712345678" not in logged
    assert "[console email]" in logged and "am•••@example.test" in logged and "[console sms]" in logged
    # In development the whole message goes to a mailbox folder instead, for following links.
    ConsoleBackend("email", str(tmp_path)).send(to="amina@example.test", subject=subject, body=body)
    [saved] = tmp_path.iterdir()
    assert body in saved.read_text() and "To: amina@example.test" in saved.read_text()


def test_production_has_no_development_mailbox(monkeypatch):
    from config import from_environment

    monkeypatch.setenv("APP_ENV", "production")
    assert from_environment()["DEV_MAILBOX_DIR"] is None
    monkeypatch.setenv("APP_ENV", "development")
    assert from_environment()["DEV_MAILBOX_DIR"].endswith("dev-mail")


def test_a_local_relay_without_tls_is_an_explicit_choice(app, sink):
    with app.app_context():
        note = notification_queue(dedupe_key="k", channel=Channel.EMAIL, to_address="a@example.test", body="b")
        db.session.commit()
    jobs.rq_queue.empty()

    # Without tls=none the backend insists on STARTTLS, which this relay does not offer: nothing leaves.
    override_backend("email", SmtpBackend(f"smtp://127.0.0.1:{sink.port}", "no-reply@clinic.example"))
    assert tasks.notification_deliver(note.id) == "pending"
    assert sink.count() == 0 and row(app, note.id).last_error == "SMTPNotSupportedError"

    override_backend("email", SmtpBackend(sink.url, "no-reply@clinic.example"))
    with app.app_context():
        db.session.execute(text("UPDATE notifications SET next_attempt_at = now()"))
        db.session.commit()
    assert tasks.notification_deliver(note.id) == "sent"
    assert sink.accepted == {str(note.id): 1}


@pytest.mark.parametrize("url", ["smtp://user:secret@relay.internal:2525?tls=none", "smtps://relay:465?tls=none",
                                 "smtp://relay:587?tls=maybe"])
def test_smtp_settings_that_would_leak_or_mean_nothing_are_refused(url):
    with pytest.raises(ValueError):
        SmtpBackend(url, "no-reply@clinic.example")


def test_the_worker_refuses_to_start_on_such_settings(app):
    with another_app(app, SMTP_URL="smtp://user:secret@relay.internal:2525?tls=none") as misconfigured:
        result = misconfigured.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 1 and "tls=none refuses a user name and password" in result.output
