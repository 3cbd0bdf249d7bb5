"""accounts: when the last failed sign-in happened, so old failures stop counting towards a lockout

Revision ID: 0004_login_failure_window
Revises: 0003_audit_emergency_index
Create Date: 2026-11-26 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0004_login_failure_window'
down_revision = '0003_audit_emergency_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: existing rows keep their count until their next failure, which starts afresh
    # (NULL counts as outside the window). SQLite adds it in place (batch mode only copies the table
    # for changes SQLite cannot make with ALTER TABLE).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_failed_login_at', app.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_failed_login_at')
    if op.get_bind().dialect.name == 'sqlite':
        # Batch mode copies the table on SQLite and cannot reflect the expression index: put it back.
        op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)
