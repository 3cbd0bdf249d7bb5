"""consultations: how a visit was held and ended (mode, end, duration), the switch to the phone, and
the Twilio calls the room placed

Revision ID: 0018_visit_mode_and_phone
Revises: 0016_call_quality
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0018_visit_mode_and_phone'
down_revision = '0016_call_quality'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('ended_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('duration_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('phone_since', app.core.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table('consultation_phone_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('patient_status', sa.String(length=16), nullable=True),
    sa.Column('patient_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_phone_calls_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['placed_by_id'], ['users.id'], name=op.f('fk_consultation_phone_calls_placed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_phone_calls')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_consultation_phone_calls_call_sid'))
    )
    op.create_index(op.f('ix_consultation_phone_calls_consultation_id'), 'consultation_phone_calls', ['consultation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_consultation_phone_calls_consultation_id'), table_name='consultation_phone_calls')
    op.drop_table('consultation_phone_calls')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('phone_since')
        batch_op.drop_column('duration_seconds')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('mode')
