"""free text encrypted (cancellation reasons, leave notes); sign-in counted per typed email; reset requests

Revision ID: 0007_free_text_sign_in
Revises: 0006_audit_reason_detail
Create Date: 2026-12-01 17:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.core.db
import app.core.types

revision = '0007_free_text_sign_in'
down_revision = '0006_audit_reason_detail'
branch_labels = None
depends_on = None

# Free text that used to be stored plain: (table, column, old length).
FREE_TEXT = (('appointments', 'cancel_reason', 200), ('availability_exceptions', 'note', 120))


def _keyring():
    """The app's keys: configured when run by `flask migrate`, else read from the environment."""
    from app.core.crypto import keyring
    from config import from_environment

    try:
        keyring.fernet
    except Exception:
        settings = from_environment()
        keyring.configure(settings['FERNET_KEYS'], settings['BLIND_INDEX_KEY'])
    return keyring


def _convert(table: str, column: str, encrypt: bool, length: int) -> None:
    """Copy every value into a new column of the other kind, then put it in the old one's place."""
    bind = op.get_bind()
    keys = _keyring()
    staging = f'{column}_new'
    with op.batch_alter_table(table) as batch_op:
        batch_op.add_column(sa.Column(staging, sa.LargeBinary() if encrypt else sa.String(length), nullable=True))
    rows = bind.execute(sa.text(f'SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL')).all()
    for row_id, value in rows:
        new = keys.encrypt(value.encode('utf-8')) if encrypt else keys.decrypt(bytes(value)).decode('utf-8')[:length]
        bind.execute(sa.text(f'UPDATE {table} SET {staging} = :v WHERE id = :id'), {'v': new, 'id': row_id})
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_column(column)
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column(staging, new_column_name=column)


def upgrade() -> None:
    for table, column, length in FREE_TEXT:
        _convert(table, column, encrypt=True, length=length)

    # Sign-in failures are counted per address and per typed email (with or without an account) in
    # one table; the per-account counters on users go. The counts are transient: none is carried over.
    _replace_login_throttles(key=sa.Column('key', sa.String(length=80), nullable=False), since='last_failure_at')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('last_failed_login_at')
        batch_op.drop_column('locked_until')
    _restore_email_index()

    op.create_table('password_reset_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', app.core.types.EncryptedText(), nullable=True),
    sa.Column('requested_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_requests'))
    )
    op.create_index('ix_password_reset_requests_pending', 'password_reset_requests', ['handled_at', 'requested_at'])


def _replace_login_throttles(*, key: sa.Column, since: str) -> None:
    op.drop_table('login_throttles')
    op.create_table('login_throttles', key,
                    sa.Column('failures', sa.Integer(), nullable=False),
                    sa.Column(since, app.core.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('locked_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint(key.name, name=op.f('pk_login_throttles')))


def _restore_email_index() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # Batch mode copies the table on SQLite and cannot reflect the expression index: put it back.
        op.execute('CREATE UNIQUE INDEX IF NOT EXISTS uq_users_email_lower ON users (lower(email))')


def downgrade() -> None:
    op.drop_index('ix_password_reset_requests_pending', table_name='password_reset_requests')
    op.drop_table('password_reset_requests')
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_failed_login_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', app.core.db.UTCDateTime(timezone=True), nullable=True))
    _restore_email_index()
    _replace_login_throttles(key=sa.Column('ip', sa.String(length=45), nullable=False), since='window_started_at')
    for table, column, length in FREE_TEXT:
        _convert(table, column, encrypt=False, length=length)
