"""files: stored_files, where documents (and later recordings) are kept, encrypted

Revision ID: 0011_documents
Revises: 0010_clinical_coding
Create Date: 2026-12-01 19:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types

revision = '0011_documents'
down_revision = '0010_clinical_coding'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_files',
    sa.Column('key', sa.String(length=43), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('data', app.core.types.EncryptedBytes(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stored_files')),
    )


def downgrade() -> None:
    op.drop_table('stored_files')
