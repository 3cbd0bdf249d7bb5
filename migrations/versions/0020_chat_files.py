"""chat files: a chat message may name the chart document a member shared in the video room

Revision ID: 0020_chat_files
Revises: 0016_call_quality
Create Date: 2026-12-01 22:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_chat_files'
down_revision = '0018_visit_mode_and_phone'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_entry_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_consultation_messages_document_entry_id_clinical_entries'),
                                    'clinical_entries', ['document_entry_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_consultation_messages_document', ['document_entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consultation_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_consultation_messages_document')
        batch_op.drop_constraint(batch_op.f('fk_consultation_messages_document_entry_id_clinical_entries'),
                                 type_='foreignkey')
        batch_op.drop_column('document_entry_id')
