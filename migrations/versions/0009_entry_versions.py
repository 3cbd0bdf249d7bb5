"""records: clinical_entry_versions, the append-only history of amended and struck-out entries

Revision ID: 0009_entry_versions
Revises: 0008_user_language
Create Date: 2026-12-01 18:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types

revision = '0009_entry_versions'
down_revision = '0008_user_language'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clinical_entry_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', app.core.types.EncryptedJSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', app.core.types.EncryptedText(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['clinical_entries.id'], name=op.f('fk_clinical_entry_versions_entry_id_clinical_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_clinical_entry_versions_changed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinical_entry_versions')),
    sa.UniqueConstraint('entry_id', 'number', name='uq_clinical_entry_versions_entry_number'),
    )


def downgrade() -> None:
    op.drop_table('clinical_entry_versions')
