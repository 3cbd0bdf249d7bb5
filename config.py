"""Configuration from the environment.

Development works with no environment at all (SQLite under instance/, in-process jobs, throwaway
keys derived per checkout); production refuses to start on any default secret.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Development-only defaults. Production refuses them (see Config.check_production_secrets).
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_FERNET_KEY = "ZGV2LWZlcm5ldC1rZXktbm90LWZvci1wcm9kdWN0aW8="
DEV_BLIND_INDEX_KEY = "dev-blind-index-key-not-for-production"
DEV_AUDIT_KEY = "dev-audit-key-not-for-production"


class ConfigError(RuntimeError):
    pass


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def from_environment() -> dict:
    """Settings read from the process environment."""
    app_env = _env("APP_ENV", "development")
    production = app_env == "production"
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": _env("SECRET_KEY", DEV_SECRET_KEY),
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'myafya.sqlite3'}"),
        "REDIS_URL": _env("REDIS_URL"),
        "FERNET_KEYS": [k.strip() for k in _env("FERNET_KEYS", DEV_FERNET_KEY).split(",") if k.strip()],
        "BLIND_INDEX_KEY": _env("BLIND_INDEX_KEY", DEV_BLIND_INDEX_KEY),
        "AUDIT_KEY": _env("AUDIT_KEY", DEV_AUDIT_KEY),
        # Signed checkpoints of the audit chain's tail, appended to a file the database cannot rewrite
        # (production: an append-only volume or a `chattr +a` file; see README, Operations).
        "AUDIT_CHECKPOINT_PATH": _env("AUDIT_CHECKPOINT_PATH", str(INSTANCE_DIR / "audit-checkpoints.jsonl")),
        "AUDIT_CHECKPOINT_SECONDS": _int("AUDIT_CHECKPOINT_SECONDS", 300),
        "AUDIT_CHECKPOINT_EMAIL": _flag("AUDIT_CHECKPOINT_EMAIL"),  # also email each one to the admins
        "SMTP_URL": _env("SMTP_URL"),
        # Without SMTP/Twilio, development drops each message here as a file (never in production,
        # where a missing provider only logs who was messaged).
        "DEV_MAILBOX_DIR": None if production else _env("DEV_MAILBOX_DIR", str(INSTANCE_DIR / "dev-mail")),
        "MAIL_FROM": _env("MAIL_FROM", "MyAfya <no-reply@myafya.invalid>"),
        "TWILIO_ACCOUNT_SID": _env("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": _env("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM_NUMBER": _env("TWILIO_FROM_NUMBER"),
        # The video room's ICE servers (app/consultations/ice.py): a self-hosted coturn with time-limited
        # credentials from a shared secret (`use-auth-secret` + `static-auth-secret` in turnserver.conf),
        # or Twilio's Network Traversal Service when Twilio is configured (ICE_PROVIDER: auto, coturn,
        # twilio, none). Without either, no ICE servers: host candidates work on one machine or network.
        "ICE_PROVIDER": _env("ICE_PROVIDER", "auto"),
        "TURN_URLS": [u.strip() for u in (_env("TURN_URLS") or "").split(",") if u.strip()],
        "TURN_SECRET": _env("TURN_SECRET"),
        "TURN_TTL_SECONDS": _int("TURN_TTL_SECONDS", 2 * 60 * 60),
        # "relay": media only through TURN (hides the members' addresses from each other; tests use it
        # to prove the TURN path); "all" (default): direct when possible.
        "ICE_TRANSPORT_POLICY": _env("ICE_TRANSPORT_POLICY", "all"),
        # The room offers the doctor "Continue by phone" when the call has not connected this long after
        # the patient was let in, or has stayed audio only for weakness this long. With Twilio (the three
        # TWILIO_ settings above) it rings the doctor's phone (users.phone) and bridges the patient's;
        # without, the patient is shown CLINIC_PHONE (else the doctor's number) and the doctor theirs.
        "PHONE_FALLBACK_AFTER_SECONDS": _int("PHONE_FALLBACK_AFTER_SECONDS", 45),
        "PHONE_FALLBACK_WEAK_SECONDS": _int("PHONE_FALLBACK_WEAK_SECONDS", 30),
        "CLINIC_PHONE": _env("CLINIC_PHONE"),
        "STRIPE_SECRET_KEY": _env("STRIPE_SECRET_KEY"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET"),
        # The address in links that leave the app (emails, SMS, Twilio callbacks). Unset, it is where
        # `make run` serves (its PORT), so a link in a development email opens this very server.
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", f"http://127.0.0.1:{_int('PORT', 5000)}"),
        "CLINIC_NAME": _env("CLINIC_NAME", "MyAfya Clinic"),
        "FHIR_MRN_SYSTEM": _env("FHIR_MRN_SYSTEM", "urn:myafya:mrn"),
        "IDLE_TIMEOUT_SECONDS": _int("IDLE_TIMEOUT_SECONDS", 15 * 60),
        "IDLE_WARNING_SECONDS": _int("IDLE_WARNING_SECONDS", 60),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "myafya_session",
        # Every request body but an upload's (app/core/uploads.py: those views declare their own).
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 5 * 1024 * 1024),
        # Documents on the chart (PDF, JPEG, PNG, WebP): the largest file taken.
        "DOCUMENT_MAX_BYTES": _int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024),
        # File storage (app/core/files.py), encrypted before it leaves the process. Without S3_BUCKET,
        # files are kept in the database, each up to FILE_DB_MAX_BYTES. With it, in that bucket of an
        # S3-compatible store: S3_ENDPOINT_URL (unset: AWS), S3_REGION, and the access key (unset:
        # boto3 finds credentials the usual way, e.g. an instance role).
        "FILE_DB_MAX_BYTES": _int("FILE_DB_MAX_BYTES", 16 * 1024 * 1024),
        "S3_BUCKET": _env("S3_BUCKET"),
        "S3_ENDPOINT_URL": _env("S3_ENDPOINT_URL"),
        "S3_REGION": _env("S3_REGION"),
        "S3_ACCESS_KEY_ID": _env("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": _env("S3_SECRET_ACCESS_KEY"),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, which idles out
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": _int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
        "LOGIN_MAX_FAILURES_PER_IP": _int("LOGIN_MAX_FAILURES_PER_IP", 20),
        "LOGIN_LOCKOUT_SECONDS": _int("LOGIN_LOCKOUT_SECONDS", 15 * 60),
        "PASSWORD_RESET_TTL_SECONDS": _int("PASSWORD_RESET_TTL_SECONDS", 60 * 60),
        "INVITE_TTL_SECONDS": _int("INVITE_TTL_SECONDS", 7 * 24 * 60 * 60),
        "OUTBOX_SWEEP_SECONDS": _int("OUTBOX_SWEEP_SECONDS", 30),
        # Proxies in front of the app (the platform's router: 1). Their X-Forwarded-For then names the
        # client, so login throttling counts people, not the router.
        "PROXY_HOPS": _int("PROXY_HOPS", 0),
        "CLINIC_TIMEZONE": _env("CLINIC_TIMEZONE", "Africa/Nairobi"),
        # Phone numbers typed without a country code are read as this country's (ISO 3166 code) and
        # stored in E.164 (app/core/phones.py).
        "CLINIC_COUNTRY": _env("CLINIC_COUNTRY", "KE"),
        "CANCEL_CUTOFF_MINUTES": _int("CANCEL_CUTOFF_MINUTES", 120),
        "NO_SHOW_GRACE_MINUTES": _int("NO_SHOW_GRACE_MINUTES", 15),
        "REMINDER_LEAD_MINUTES": _int("REMINDER_LEAD_MINUTES", 120),
        "REMINDER_SWEEP_SECONDS": _int("REMINDER_SWEEP_SECONDS", 60),
        # Lab results (app/labs/results.py): a second technician verifies before release when set; a
        # released result the ordering doctor has not marked reviewed after this long shows on their day.
        "LAB_RESULT_VERIFICATION": _flag("LAB_RESULT_VERIFICATION"),
        "LAB_REVIEW_HOURS": _int("LAB_REVIEW_HOURS", 24),
        # Key prefixes in Redis, so several deployments (or test runs) can share one server.
        "RQ_QUEUE_NAME": _env("RQ_QUEUE_NAME", "myafya"),
        "CACHE_PREFIX": _env("CACHE_PREFIX", "myafya:"),
        "REALTIME_PREFIX": _env("REALTIME_PREFIX", "myafya:rt:"),
        # Websocket limits (app/realtime/guard.py): open sockets per account (a live page is one),
        # the largest message a client may send, and how many per second (with short bursts).
        "REALTIME_SOCKETS_PER_USER": _int("REALTIME_SOCKETS_PER_USER", 6),
        "REALTIME_MAX_MESSAGE_BYTES": _int("REALTIME_MAX_MESSAGE_BYTES", 64 * 1024),
        "REALTIME_MESSAGES_PER_SECOND": _int("REALTIME_MESSAGES_PER_SECOND", 5),
        "REALTIME_MESSAGE_BURST": _int("REALTIME_MESSAGE_BURST", 20),
        # Video visit recordings (app/consultations/recordings.py): the browser uploads a piece every
        # few seconds, each up to RECORDING_CHUNK_MAX_BYTES (5 s of a 250 kbps call is about 160 KB);
        # a recording is deleted RECORDING_RETENTION_DAYS after it was made, by a sweep run every
        # RECORDING_PURGE_SECONDS.
        "RECORDING_CHUNK_MAX_BYTES": _int("RECORDING_CHUNK_MAX_BYTES", 4 * 1024 * 1024),
        "RECORDING_RETENTION_DAYS": _int("RECORDING_RETENTION_DAYS", 30),
        "RECORDING_PURGE_SECONDS": _int("RECORDING_PURGE_SECONDS", 3600),
    }


def check_production_secrets(settings: dict) -> None:
    """Refuse to run production on a development default or a missing secret."""
    if settings.get("APP_ENV") != "production":
        return
    problems = []
    if settings["SECRET_KEY"] == DEV_SECRET_KEY or len(settings["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY")
    if DEV_FERNET_KEY in settings["FERNET_KEYS"]:
        problems.append("FERNET_KEYS")
    if settings["BLIND_INDEX_KEY"] == DEV_BLIND_INDEX_KEY:
        problems.append("BLIND_INDEX_KEY")
    if settings["AUDIT_KEY"] == DEV_AUDIT_KEY:
        problems.append("AUDIT_KEY")
    if settings["DATABASE_URL"].startswith("sqlite"):
        problems.append("DATABASE_URL (production needs PostgreSQL)")
    if problems:
        raise ConfigError("refusing to start in production with default or missing: " + ", ".join(problems))
