"""0022_people on SQLite and PostgreSQL: existing phones become E.164 where they can be read (the
others stay as typed); down and up again."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from app.core.migrate import alembic_config

REVISION = "0022_people"


def test_people_migrates_phones_up_and_down(empty_database):
    config = alembic_config(empty_database)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    command.upgrade(config, before)
    engine = create_engine(empty_database)
    phones = {"MA1": "0722 333 444", "MA2": "254711000222", "MA3": "call me", "MA4": "+254733000333"}
    with engine.begin() as conn:
        for mrn, phone in phones.items():
            conn.execute(text("INSERT INTO patients (mrn, given_name, family_name, name_search, phone, created_at) "
                              "VALUES (:mrn, 'A', 'B', 'a b', :phone, CURRENT_TIMESTAMP)"), {"mrn": mrn, "phone": phone})
    command.upgrade(config, REVISION)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT mrn, phone FROM patients")).all())
    assert stored == {"MA1": "+254722333444", "MA2": "+254711000222", "MA3": "call me", "MA4": "+254733000333"}
    command.downgrade(config, before)
    command.upgrade(config, REVISION)
    engine.dispose()
