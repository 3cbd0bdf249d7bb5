"""notifications: when a message was handed to the provider, so a claim that never got there is retried

Revision ID: 0005_outbox_handed_at
Revises: 0004_login_failure_window
Create Date: 2026-11-27 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0005_outbox_handed_at'
down_revision = '0004_login_failure_window'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows already sent, failed or uncertain keep their status. A row 'sending' during the
    # upgrade was claimed by the old code, which kept no such mark: count it as handed over, so the
    # old rule (uncertain when its lease runs out, never resent by itself) still applies to it.
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE notifications SET handed_at = lease_until WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('handed_at')
