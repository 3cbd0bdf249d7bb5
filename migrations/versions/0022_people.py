"""people: phone numbers in E.164 (patients and users)

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

revision = '0022_people'
down_revision = '0019_recordings'
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


def downgrade() -> None:
    # The numbers as first typed are not kept: E.164 is a valid form of each, so they stay.
    pass
