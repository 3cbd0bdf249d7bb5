"""accounts: each person's language (pages, emails, SMS), English unless they choose another

Revision ID: 0008_user_language
Revises: 0007_free_text_sign_in
Create Date: 2026-12-03 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_user_language'
# The brief named 0004_login_failure_window; the branch already has 0006 and 0007 after it, and
# Alembic refuses two heads, so this follows the current head (re-chained at merge like the others).
down_revision = '0007_free_text_sign_in'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a server default: existing accounts read English, as they did before.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False, server_default='en'))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
    if op.get_bind().dialect.name == 'sqlite':
        # Batch mode copies the table on SQLite and cannot reflect the expression index: put it back.
        op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)
