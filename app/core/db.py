"""The declarative base, the session factory, and after-commit hooks.

One transaction per request: services only flush; the request commits once (see
app.core.transactions). Side effects (enqueue, publish, external calls) are registered with
`on_commit` and run only once the transaction has committed, so a worker never sees a row
that is not there yet.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from sqlalchemy import DateTime, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.core.clock import clock

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# When PostgreSQL is unreachable a request must fail fast (a 503, see app.core.outage), not hang:
# a host that does not answer at all fails the connection after connect_timeout (psycopg's default
# is 130 s), and a connection whose host vanished mid-query after tcp_user_timeout (ms) of unacknowledged
# data (the kernel's default retries for about 15 minutes). Parameters in DATABASE_URL win.
POSTGRES_CONNECT_ARGS = {"connect_timeout": 3, "tcp_user_timeout": 10_000}


def make_engine(url: str) -> Engine:
    """hide_parameters: a database error in the log never carries the values of the statement.
    pool_pre_ping: a pooled connection that a database restart broke is replaced on checkout, so
    service returns with the first request after the database does."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    given = make_url(url).query
    connect_args = {k: v for k, v in POSTGRES_CONNECT_ARGS.items() if k not in given}
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True,
                         connect_args=connect_args)


class Database:
    """Engine + a thread/greenlet-scoped session, bound by `init_app`."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self.session = scoped_session(self._factory)

    def init_app(self, app) -> None:
        self.bind(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._remove)

    def bind(self, url: str) -> None:
        """Point the session factory at `url` (engines are kept per URL, so rebinding is cheap)."""
        engines = self.__dict__.setdefault("_engines", {})
        if url not in engines:
            engines[url] = make_engine(url)
        self.engine = engines[url]
        self._factory.configure(bind=self.engine)

    def _remove(self, _exc=None) -> None:
        self.session.remove()

    def new_session(self) -> Session:
        """An independent session, for work that must commit apart from the request's."""
        return self._factory()

    @property
    def is_postgres(self) -> bool:
        return self.engine is not None and self.engine.dialect.name == "postgresql"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after `session` commits; dropped if it rolls back."""
    session.info.setdefault("on_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the real commit is still to come
    session.info.pop("on_rollback", None)
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the data is committed; a failed side effect is retried by its sweep
            log.exception("after-commit callback %r failed", getattr(callback, "__name__", callback))


def on_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` if `session` rolls back (undo a side effect made ahead of the commit, such as
    an object uploaded to storage); dropped when it commits."""
    session.info.setdefault("on_rollback", []).append(callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("on_commit", None)
        for callback in session.info.pop("on_rollback", []):
            try:
                callback()
            except Exception:
                log.exception("after-rollback callback %r failed", getattr(callback, "__name__", callback))


def column_length(attribute) -> int:
    """The most characters a String column holds (forms take their maximum from it)."""
    length = attribute.property.columns[0].type.length
    if length is None:
        raise TypeError(f"{attribute} has no length")
    return length
