"""labs: the test catalogue (tests, analytes with units, reference ranges and critical limits), seeded; lab orders (with their charge lines), their samples, and their results (reports and their earlier versions)

Revision ID: 0021_labs
Revises: 0016_call_quality
Create Date: 2026-12-01 22:20:40.891335
"""
import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types
from app.labs import catalogue_data

revision = '0021_labs'
down_revision = '0019_recordings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lab_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('loinc', sa.String(length=12), nullable=True),
    sa.Column('sample_type', sa.String(length=20), nullable=False),
    sa.Column('fasting_hours', sa.Integer(), nullable=True),
    sa.Column('preparation', sa.String(length=300), nullable=True),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('turnaround_minutes', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_lab_tests_price_not_negative')),
    sa.CheckConstraint('turnaround_minutes > 0', name=op.f('ck_lab_tests_turnaround_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_tests')),
    sa.UniqueConstraint('code', name=op.f('uq_lab_tests_code'))
    )
    op.create_table('lab_analytes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('loinc', sa.String(length=12), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('ranges', sa.JSON(), nullable=False),
    sa.Column('critical_low', sa.Float(), nullable=True),
    sa.Column('critical_high', sa.Float(), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('abnormal', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['test_id'], ['lab_tests.id'], name=op.f('fk_lab_analytes_test_id_lab_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_analytes')),
    sa.UniqueConstraint('test_id', 'code', name='uq_lab_analytes_test_code')
    )
    op.create_table('lab_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('tests', app.core.types.EncryptedJSON(), nullable=False),
    sa.Column('note', app.core.types.EncryptedText(), nullable=True),
    sa.Column('target_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ordered_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('collected_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['doctor_id'], ['users.id'], name=op.f('fk_lab_orders_doctor_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_lab_orders_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_lab_orders_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_orders'))
    )
    with op.batch_alter_table('lab_orders', schema=None) as batch_op:
        batch_op.create_index('ix_lab_orders_doctor_status', ['doctor_id', 'status'], unique=False)
        batch_op.create_index('ix_lab_orders_patient_ordered', ['patient_id', 'ordered_at'], unique=False)
        batch_op.create_index('ix_lab_orders_site_status', ['site_id', 'status', 'ordered_at'], unique=False)

    op.create_table('lab_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('collected_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('collected_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.String(length=12), nullable=True),
    sa.Column('reject_note', app.core.types.EncryptedText(), nullable=True),
    sa.ForeignKeyConstraint(['collected_by_id'], ['users.id'], name=op.f('fk_lab_samples_collected_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['lab_orders.id'], name=op.f('fk_lab_samples_order_id_lab_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['users.id'], name=op.f('fk_lab_samples_rejected_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_samples')),
    sa.UniqueConstraint('code', name=op.f('uq_lab_samples_code'))
    )
    with op.batch_alter_table('lab_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_samples_order_id'), ['order_id'], unique=False)

    op.create_table('lab_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('results', app.core.types.EncryptedJSON(), nullable=False),
    sa.Column('comment', app.core.types.EncryptedText(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('amended_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('critical_alerted_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attachment_key', sa.String(length=64), nullable=True),
    sa.Column('attachment_size', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_lab_reports_entered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['lab_orders.id'], name=op.f('fk_lab_reports_order_id_lab_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_lab_reports_released_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_lab_reports_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_lab_reports_verified_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_reports')),
    sa.UniqueConstraint('order_id', name=op.f('uq_lab_reports_order_id'))
    )
    with op.batch_alter_table('lab_reports', schema=None) as batch_op:
        batch_op.create_index('ix_lab_reports_review', ['released_at', 'reviewed_at'], unique=False)

    op.create_table('lab_report_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('results', app.core.types.EncryptedJSON(), nullable=False),
    sa.Column('comment', app.core.types.EncryptedText(), nullable=True),
    sa.Column('reason', app.core.types.EncryptedText(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_lab_report_versions_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['lab_reports.id'], name=op.f('fk_lab_report_versions_report_id_lab_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_report_versions')),
    sa.UniqueConstraint('report_id', 'number', name='uq_lab_report_versions_number')
    )
    op.create_table('lab_charge_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('description', app.core.types.EncryptedText(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('billed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_lab_charge_lines_price_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['lab_orders.id'], name=op.f('fk_lab_charge_lines_order_id_lab_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_lab_charge_lines_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_charge_lines'))
    )
    with op.batch_alter_table('lab_charge_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_charge_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_lab_charge_lines_unbilled', ['billed_at', 'patient_id'], unique=False)

    _seed_catalogue()



def downgrade() -> None:
    with op.batch_alter_table('lab_charge_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_charge_lines_unbilled')
        batch_op.drop_index(batch_op.f('ix_lab_charge_lines_order_id'))

    op.drop_table('lab_charge_lines')
    op.drop_table('lab_report_versions')
    with op.batch_alter_table('lab_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_reports_review')

    op.drop_table('lab_reports')
    with op.batch_alter_table('lab_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_samples_order_id'))

    op.drop_table('lab_samples')
    with op.batch_alter_table('lab_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_orders_site_status')
        batch_op.drop_index('ix_lab_orders_patient_ordered')
        batch_op.drop_index('ix_lab_orders_doctor_status')

    op.drop_table('lab_orders')
    op.drop_table('lab_analytes')
    op.drop_table('lab_tests')


def _seed_catalogue() -> None:
    for table, rows in catalogue_data.rows().items():
        columns = sorted({name for row in rows for name in row})
        types = {"ranges": sa.JSON(), "choices": sa.JSON(), "abnormal": sa.JSON()}
        op.bulk_insert(sa.table(table, *(sa.column(name, types.get(name)) for name in columns)), rows)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("lab_tests", "lab_analytes"):
            op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
