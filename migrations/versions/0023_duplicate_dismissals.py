"""duplicate_dismissals: pairs of records an admin judged to be two people

Revision ID: 0023_duplicate_dismissals
Revises: 0022_people
Create Date: 2026-12-02 01:45:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db

revision = '0023_duplicate_dismissals'
down_revision = '0022_people'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duplicate_dismissals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.Column('dismissed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'], name=op.f('fk_duplicate_dismissals_dismissed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['first_id'], ['patients.id'], name=op.f('fk_duplicate_dismissals_first_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['second_id'], ['patients.id'], name=op.f('fk_duplicate_dismissals_second_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_dismissals')),
    sa.UniqueConstraint('first_id', 'second_id', name='uq_duplicate_dismissals_pair')
    )
    op.create_index(op.f('ix_duplicate_dismissals_second_id'), 'duplicate_dismissals', ['second_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_duplicate_dismissals_second_id'), table_name='duplicate_dismissals')
    op.drop_table('duplicate_dismissals')
