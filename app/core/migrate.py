"""Alembic, configured in code (no alembic.ini): `flask --app wsgi migrate` applies migrations."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import current_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (database_url or current_app.config["DATABASE_URL"]).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def new_revision(message: str) -> None:
    """Developers: autogenerate a migration from the models (review it before committing)."""
    command.revision(alembic_config(), message=message, autogenerate=True)
