"""audit: the free text of a reason moves to an encrypted column; `reason` keeps only the category

Revision ID: 0006_audit_reason_detail
Revises: 0005_outbox_handed_at
Create Date: 2026-11-27 10:00:00

An emergency access was audited with the reason "emergency: <the doctor's words>", in plaintext, and
those words can be clinical. Existing rows are split: `reason` keeps "emergency", `reason_detail`
gets the words, encrypted with the newest FERNET_KEYS key (so run it with `flask --app wsgi migrate`).
Each row's MAC covers the reason as one text ("emergency: <words>"), so the rows verify as before:
nothing in the chain is recomputed.

The trail is append-only (0001's triggers): this migration switches the UPDATE trigger off for its
own transaction to move the text, and then lets through, for good, an UPDATE that changes nothing
but `reason_detail` (key rotation re-encrypting it). Any other change is still refused.
"""
import sqlalchemy as sa
from alembic import op

import app.core.types

revision = '0006_audit_reason_detail'
down_revision = '0005_outbox_handed_at'
branch_labels = None
depends_on = None

SEPARATOR = ": "
BATCH = 1000

# The trigger function of 0001, plus the one UPDATE key rotation needs. (A statement-level TRUNCATE
# trigger calls it too, with no OLD or NEW: hence the nested IF.)
APPEND_ONLY_BUT_REENCRYPT = """
    CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.reason_detail IS NOT NULL AND NEW.reason_detail IS NOT NULL
               AND to_jsonb(NEW) - 'reason_detail' = to_jsonb(OLD) - 'reason_detail' THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
"""
APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
"""


def _rewrite(select_sql: str, change) -> None:
    """Apply `change(seq, reason, token) -> (reason, token)` to the rows `select_sql` finds, in seq order,
    with the append-only trigger off (this transaction only: DDL is transactional in PostgreSQL)."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete")
    last = 0
    while True:
        rows = bind.execute(sa.text(select_sql + " AND seq > :last ORDER BY seq LIMIT :batch"),
                            {"last": last, "batch": BATCH}).all()
        if not rows:
            break
        for seq, reason, token in rows:
            new_reason, new_token = change(seq, reason, token)
            bind.execute(sa.text("UPDATE audit_events SET reason = :reason, reason_detail = :token WHERE seq = :seq"),
                         {"reason": new_reason, "token": new_token, "seq": seq})
        last = rows[-1][0]
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete")


def _keyring():
    from app.core.crypto import KeyringNotConfigured, keyring

    try:
        keyring.fernet
    except KeyringNotConfigured:
        raise RuntimeError("0006 encrypts audit reasons: run it with `flask --app wsgi migrate` "
                           "(it needs FERNET_KEYS)") from None
    return keyring


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_detail', app.core.types.EncryptedText(), nullable=True))

    def split(seq, reason, token):
        category, _, detail = reason.partition(SEPARATOR)
        return category, _keyring().encrypt(detail.encode("utf-8"))

    # Everything after the first ": " is free text (app.audit.models.reason_split): in practice,
    # only emergency reasons had any.
    _rewrite("SELECT seq, reason, reason_detail FROM audit_events WHERE reason LIKE '%: %'", split)

    op.execute("DROP INDEX IF EXISTS ix_audit_events_emergency")
    op.execute("CREATE INDEX ix_audit_events_emergency ON audit_events (seq) WHERE reason = 'emergency'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_BUT_REENCRYPT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)

    def join(seq, reason, token):
        text = reason + SEPARATOR + _keyring().decrypt(bytes(token)).decode("utf-8")
        if len(text) > 120:
            # Cutting it would break the row's MAC, and with it the whole chain after it.
            raise RuntimeError(f"audit row {seq}: its reason is too long for 0004's column; cannot downgrade")
        return text, None

    _rewrite("SELECT seq, reason, reason_detail FROM audit_events WHERE reason_detail IS NOT NULL", join)

    # The partial index goes first: SQLite's batch mode copies the table and would lose its WHERE.
    op.execute("DROP INDEX IF EXISTS ix_audit_events_emergency")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('reason_detail')
    op.execute("CREATE INDEX ix_audit_events_emergency ON audit_events (seq) WHERE reason LIKE 'emergency:%'")
