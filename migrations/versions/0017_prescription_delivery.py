"""prescriptions: ready to collect, or going out to the patient (delivery)

Revision ID: 0017_prescription_delivery
Revises: 0015_prescriptions
Create Date: 2026-12-01 19:56:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_prescription_delivery'
down_revision = '0015_prescriptions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_column('delivery')
