"""Document search finds each word of a file name ("inspection.pdf" -> inspection, pdf).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import run_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = r"""
DROP INDEX IF EXISTS documents_search_idx;
ALTER TABLE documents DROP COLUMN search;
ALTER TABLE documents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector(
        'english',
        regexp_replace(coalesce(name, ''), '[._()-]+', ' ', 'g') || ' ' || coalesce(extracted_text, '')
    )
) STORED;
CREATE INDEX documents_search_idx ON documents USING gin (search);
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    op.execute("SELECT 1")
