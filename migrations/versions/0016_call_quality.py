"""call quality: what each member's browser measured of a video call (the quality ladder's samples)

Revision ID: 0016_call_quality
Revises: 0017_prescription_delivery
Create Date: 2026-12-01 19:50:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0016_call_quality'
down_revision = '0017_prescription_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_quality_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('member', sa.String(length=8), nullable=False),
    sa.Column('measured_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rtt_ms', sa.Integer(), nullable=True),
    sa.Column('loss_pct', sa.Float(), nullable=True),
    sa.Column('bitrate_kbps', sa.Integer(), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('audio_only', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_call_quality_samples_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_quality_samples'))
    )
    op.create_index('ix_call_quality_samples_consultation', 'call_quality_samples', ['consultation_id', 'measured_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_call_quality_samples_consultation', table_name='call_quality_samples')
    op.drop_table('call_quality_samples')
