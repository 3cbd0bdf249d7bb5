"""0020_chat_files on SQLite and PostgreSQL: up (the message's document column), down, and up again."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from app.core.migrate import alembic_config

REVISION = "0020_chat_files"


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
