"""consultations: the video room's waiting and admission, and its encrypted chat

Revision ID: 0012_consultations
Revises: 0011_documents
Create Date: 2026-12-01 19:30:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types

revision = '0012_consultations'
down_revision = '0011_documents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('waiting_since', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('admitted_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('admitted_by_id', sa.Integer(), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_consultations_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['admitted_by_id'], ['users.id'], name=op.f('fk_consultations_admitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_consultations_appointment_id')),
    )
    op.create_table('consultation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('body', app.core.types.EncryptedText(), nullable=False),
    sa.Column('sent_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_messages_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_consultation_messages_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_messages')),
    sa.UniqueConstraint('consultation_id', 'seq', name='uq_consultation_messages_seq'),
    sa.UniqueConstraint('consultation_id', 'client_id', name='uq_consultation_messages_client_id'),
    )
    op.create_index('ix_consultation_messages_sender', 'consultation_messages', ['sender_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_consultation_messages_sender', table_name='consultation_messages')
    op.drop_table('consultation_messages')
    op.drop_table('consultations')
