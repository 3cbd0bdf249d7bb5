"""recordings: a video visit's recordings, made only with both members' consent, and their pieces

Revision ID: 0019_recordings
Revises: 0016_call_quality
Create Date: 2026-12-01 22:40:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0019_recordings'
down_revision = '0020_chat_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultation_recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('patient_consent_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('doctor_consent_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_consultation_recordings_asked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_recordings_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_consultation_recordings_ended_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consultation_recordings_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_recordings'))
    )
    op.create_index('ix_consultation_recordings_created', 'consultation_recordings', ['created_at'], unique=False)
    op.create_index('ix_consultation_recordings_patient', 'consultation_recordings', ['patient_id', 'created_at'], unique=False)
    op.create_index('uq_consultation_recordings_open', 'consultation_recordings', ['consultation_id'], unique=True,
                    postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
    op.create_table('consultation_recording_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('file_key', sa.String(length=43), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('received_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['consultation_recordings.id'], name=op.f('fk_consultation_recording_chunks_recording_id_consultation_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_recording_chunks')),
    sa.UniqueConstraint('recording_id', 'seq', name='uq_consultation_recording_chunks_seq')
    )


def downgrade() -> None:
    op.drop_table('consultation_recording_chunks')
    op.drop_index('uq_consultation_recordings_open', table_name='consultation_recordings',
                  postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
    op.drop_index('ix_consultation_recordings_patient', table_name='consultation_recordings')
    op.drop_index('ix_consultation_recordings_created', table_name='consultation_recordings')
    op.drop_table('consultation_recordings')
