"""Flask commands: migrate, seed-demo, create-admin, rotate-keys, audit-verify, worker."""
from __future__ import annotations

import sys

import click
from flask import current_app


def register(app) -> None:
    @app.cli.command("migrate")
    def migrate_command():
        """Apply every pending Alembic migration."""
        from app.core.migrate import upgrade_to_head

        upgrade_to_head()
        click.echo("database is at the newest schema")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
    def seed_demo_command(if_empty: bool):
        """Create the demo accounts and patients (development only)."""
        if current_app.config["APP_ENV"] == "production":
            raise click.ClickException("seed-demo never runs in production")
        from app.demo import seed_demo

        created = seed_demo(only_if_empty=if_empty)
        click.echo("demo data created" if created else "demo data already present: nothing to do")

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--name", "full_name", required=True)
    def create_admin_command(email: str, full_name: str):
        """Create an administrator; the password is asked for, never passed on the command line."""
        from app.accounts.services import admin_create
        from app.core.errors import DomainError
        from app.extensions import db

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            admin_create(email=email, full_name=full_name, password=password)
        except DomainError as error:
            raise click.ClickException(error.message)
        db.session.commit()
        click.echo(f"administrator {email} created")

    @app.cli.command("rotate-keys")
    @click.option("--batch-size", default=500, show_default=True)
    def rotate_keys_command(batch_size: int):
        """Re-encrypt every encrypted column with the newest FERNET_KEYS key. Safe to re-run after a crash."""
        from app import models as _every_table  # noqa: F401  (on Base.metadata: none may be skipped)
        from app.core.rotation import rotate_all

        for table, column, count in rotate_all(batch_size=batch_size):
            click.echo(f"{table}.{column}: {count} re-encrypted")
        click.echo("every encrypted value now uses the newest key")

    @app.cli.command("audit-verify")
    def audit_verify_command():
        """Check the audit trail's chain and its checkpoints; name what was altered or is missing.
        If all is intact, append a fresh checkpoint."""
        from app.audit.checkpoints import audit_verify
        from app.extensions import db

        result = audit_verify()
        db.session.commit()  # the checkpoint's email to the admins, if they get one
        chain = result.chain
        if result.ok:
            click.echo(f"audit trail intact: {chain.checked} rows verified")
        elif chain.ok:
            click.echo(f"{chain.checked} rows link up, but:", err=True)
        else:
            click.echo(f"AUDIT TRAIL BROKEN at row {chain.first_bad_seq}: {chain.problem} "
                       f"({chain.checked} rows verified before it)", err=True)
        for line in result.bad_lines:
            click.echo(f"CHECKPOINT FILE ALTERED: line {line} of {result.path} is not a checkpoint this "
                       f"application signed (something else wrote to the file)", err=True)
        for problem in result.problems:
            click.echo(f"AUDIT TRAIL BROKEN: {problem}", err=True)
        if result.write_error:
            click.echo(f"could not write a checkpoint to {result.path}: {result.write_error}", err=True)
        if not result.ok:
            sys.exit(1)
        if result.anchor is None:
            click.echo(f"no earlier checkpoint in {result.path}")
        else:
            click.echo(f"matches the checkpoint of {result.anchor.at} (row {result.anchor.seq})")
        click.echo(f"checkpoint written: row {result.written.seq} to {result.path}")

    @app.cli.command("worker")
    def worker_command():
        """Run an RQ worker with its scheduler, plus the periodic sweeps (Procfile: worker)."""
        from app.core.worker import run_worker
        from app.notifications.backends import backend_for

        try:  # a mistyped SMTP_URL stops the worker here, not each message after its claim
            backend_for("email", current_app.config)
        except ValueError as error:
            raise click.ClickException(str(error))
        run_worker(current_app._get_current_object())
