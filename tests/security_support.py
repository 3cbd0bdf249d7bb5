"""Shared helpers for the cross-cutting security tests (route policies, CSRF, headers, bad input).

`fresh_app` builds a second application for a test (to add a throwaway route, or to run as
production) and puts the process-wide extension state back afterwards: `create_app` rebinds the
module-level database engine, the encryption keyring and the job queue, and without this the
tests that follow would run against the throwaway app's keys and queue.
"""
from __future__ import annotations

import contextlib
import re
from urllib.parse import urlsplit

from sqlalchemy import text
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, UUIDConverter

from app.accounts.models import Role
from tests.conftest import test_settings

PORTAL_ROLES = {
    "/patient/": Role.PATIENT,
    "/doctor/": Role.DOCTOR,
    "/lab/": Role.LAB,
    "/pharmacy/": Role.PHARMACIST,
    "/reception/": Role.RECEPTION,
    "/admin/": Role.ADMIN,
}
HOMES = {role: prefix for prefix, role in PORTAL_ROLES.items()}
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@contextlib.contextmanager
def fresh_app(restore_to, database_url: str, redis_url: str, **extra):
    """A new app made from test_settings(...); afterwards the process-wide services (keys, database,
    queue, cache, hub) point at `restore_to` (the session app) again."""
    from app import create_app
    from app.extensions import db

    db.session.remove()
    try:
        yield create_app(test_settings(database_url, redis_url, **extra))
    finally:
        db.session.remove()
        _rebind(restore_to)


def _rebind(target) -> None:
    try:
        from app import bind_services
    except ImportError:  # an older factory: bind what create_app binds, one by one
        from app.core.crypto import keyring
        from app.extensions import db, jobs

        keyring.configure(target.config["FERNET_KEYS"], target.config["BLIND_INDEX_KEY"])
        db.init_app(target)
        jobs.init_app(target)
        return
    bind_services(target)


def portal_role(rule: str) -> Role | None:
    for prefix, role in PORTAL_ROLES.items():
        if rule.startswith(prefix):
            return role
    return None


def dummy_arguments(rule, overrides: dict | None = None) -> dict:
    """Values for a rule's converters: an int for <int:...>, a word otherwise."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, FloatConverter):
            values[name] = 1.0
        elif isinstance(converter, UUIDConverter):
            values[name] = "00000000-0000-0000-0000-000000000001"
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "x"
    values.update(overrides or {})
    return values


def url_for_rule(app, rule, overrides: dict | None = None) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **dummy_arguments(rule, overrides))


def rules(app, *, methods=("GET",), websocket: bool = False):
    """(rule, method) for every rule of the app accepting one of `methods`, in a stable order."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.websocket != websocket:
            continue
        for method in methods:
            if method in (rule.methods or ()):
                found.append((rule, method))
    return found


def location_path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def table_names(conn) -> list[str]:
    return list(conn.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version' ORDER BY table_name")).scalars())


AUDIT_TABLES = ("audit_events", "audit_chain_head")


def snapshot(engine) -> dict:
    """Row count and a content digest of every table (audit tables apart: see audit_delta)."""
    state = {}
    with engine.connect() as conn:
        for name in table_names(conn):
            if name in AUDIT_TABLES:
                continue
            count, digest = conn.execute(text(
                f'SELECT count(*), md5(coalesce(string_agg(md5(t::text), \'\' ORDER BY md5(t::text)), \'\')) '
                f'FROM "{name}" t')).one()
            state[name] = (count, digest)
        state["__audit_max_seq"] = conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_events")).scalar_one()
    return state


def audit_rows_since(engine, seq: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(
            "SELECT seq, outcome, action, actor_role, path, reason FROM audit_events WHERE seq > :seq ORDER BY seq"),
            {"seq": seq})]


def table_differences(before: dict, after: dict) -> list[str]:
    return [name for name in sorted(set(before) | set(after))
            if not name.startswith("__") and before.get(name) != after.get(name)]


TAG = re.compile(r"<[^>]+>")


def visible_text(html: str) -> str:
    return " ".join(TAG.sub(" ", html).split())


def another_token(token: str) -> str:
    """A token one character off `token`, never `token` itself (a trailing "x" would be, 1 time in 64)."""
    return token[:-1] + ("y" if token.endswith("x") else "x")
