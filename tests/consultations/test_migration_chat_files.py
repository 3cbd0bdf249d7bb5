"""0020_chat_files on SQLite and PostgreSQL: up (the message's document column), down, and up again."""
from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.core.migrate import alembic_config

REVISION = "0020_chat_files"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, database_url, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_chat_{uuid.uuid4().hex[:8]}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def message_columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("consultation_messages")}
    finally:
        engine.dispose()


def test_chat_files_migrates_up_and_down(empty_database):
    config = alembic_config(empty_database)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    command.upgrade(config, REVISION)
    assert "document_entry_id" in message_columns(empty_database)
    command.downgrade(config, before)
    assert "document_entry_id" not in message_columns(empty_database)
    command.upgrade(config, REVISION)
    assert "document_entry_id" in message_columns(empty_database)
