"""records: ICD-10 codes to pick a diagnosis from, and the blind index of a problem's code

Revision ID: 0010_clinical_coding
Revises: 0009_entry_versions
Create Date: 2026-12-01 19:30:00
"""
import re

import sqlalchemy as sa
from alembic import op

import app.core.types
from app.records.icd10_data import CODES

revision = '0010_clinical_coding'
down_revision = '0009_entry_versions'
branch_labels = None
depends_on = None


def _search_text(title: str) -> str:
    # as app/records/icd10.py search_text, copied so this migration never changes under it
    return " ".join(re.sub(r"[^0-9a-z]+", " ", title.casefold()).split())


def upgrade() -> None:
    codes = op.create_table('icd10_codes',
    sa.Column('code', sa.String(length=7), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('title_search', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_icd10_codes')),
    )
    op.bulk_insert(codes, [{"code": code, "title": title, "title_search": _search_text(title)}
                           for code, title in CODES])
    with op.batch_alter_table('clinical_entries') as batch:
        batch.add_column(sa.Column('code_index', app.core.types.BlindIndex(length=64), nullable=True))
        batch.add_column(sa.Column('code_group_index', app.core.types.BlindIndex(length=64), nullable=True))
        batch.create_index(batch.f('ix_clinical_entries_code_index'), ['code_index'], unique=False)
        batch.create_index(batch.f('ix_clinical_entries_code_group_index'), ['code_group_index'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clinical_entries') as batch:
        batch.drop_index(batch.f('ix_clinical_entries_code_group_index'))
        batch.drop_index(batch.f('ix_clinical_entries_code_index'))
        batch.drop_column('code_group_index')
        batch.drop_column('code_index')
    op.drop_table('icd10_codes')
