"""people: phone numbers in E.164 (patients and users); merging two records of one person (undoable)

Revision ID: 0022_people
Revises: 0021_labs
Create Date: 2026-12-02 00:00:00

Written against 0019_recordings (main's head when it was written); the lead re-chains it after
0021_labs.
"""
import logging
import os

import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types

revision = '0022_people'
down_revision = '0021_labs'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')


def _e164(typed: str, country: str) -> str | None:
    """As app/core/phones.py reads a number on the day this was written (kept here, so later changes
    there do not change what this migration did)."""
    import phonenumbers

    for candidate in (typed, '+' + typed.strip()):
        try:
            number = phonenumbers.parse(candidate, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _normalise_phones(table: str) -> None:
    """Each phone as E.164 where it reads as a valid number (the clinic's country for numbers
    without a code); the others are left as typed and their row ids logged for the admin."""
    country = os.environ.get('CLINIC_COUNTRY') or 'KE'
    connection = op.get_bind()
    rows = sa.table(table, sa.column('id', sa.Integer), sa.column('phone', sa.String))
    unreadable = []
    for row_id, phone in connection.execute(sa.select(rows.c.id, rows.c.phone).where(rows.c.phone.is_not(None))):
        e164 = _e164(phone, country)
        if e164 is None:
            unreadable.append(row_id)
        elif e164 != phone:
            connection.execute(rows.update().where(rows.c.id == row_id).values(phone=e164))
    if unreadable:
        log.warning('%s: %d phone numbers could not be read and were left as typed (ids: %s)',
                    table, len(unreadable), ', '.join(map(str, unreadable[:200])))


def upgrade() -> None:
    _normalise_phones('patients')
    _normalise_phones('users')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_patients_merged_into_id_patients'), 'patients',
                                    ['merged_into_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_patients_merged_into_id'), ['merged_into_id'], unique=False)
    op.create_table('patient_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kept_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('reason', app.core.types.EncryptedText(), nullable=True),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.Column('merged_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('undone_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['kept_id'], ['patients.id'], name=op.f('fk_patient_merges_kept_id_patients')),
    sa.ForeignKeyConstraint(['merged_id'], ['patients.id'], name=op.f('fk_patient_merges_merged_id_patients')),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_patient_merges_merged_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_patient_merges_undone_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_merges'))
    )
    with op.batch_alter_table('patient_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_merges_kept_id'), ['kept_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_merges_merged_id'), ['merged_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_merges_merged_id'))
        batch_op.drop_index(batch_op.f('ix_patient_merges_kept_id'))
    op.drop_table('patient_merges')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_merged_into_id'))
        batch_op.drop_constraint(batch_op.f('fk_patients_merged_into_id_patients'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
    # The phone numbers as first typed are not kept: E.164 is a valid form of each, so they stay.
