"""audit: a partial index on the rows made under emergency access, for the administrator's review

Revision ID: 0003_audit_emergency_index
Revises: 0002_scheduling
Create Date: 2026-11-25 10:00:00
"""
from alembic import op

revision = '0003_audit_emergency_index'
down_revision = '0002_scheduling'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite and PostgreSQL both have partial indexes: the review page (?emergency=1) reads the few
    # emergency rows without walking the whole trail. The trail's triggers do not refuse an index.
    op.execute("CREATE INDEX ix_audit_events_emergency ON audit_events (seq) WHERE reason LIKE 'emergency:%'")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_audit_events_emergency")
