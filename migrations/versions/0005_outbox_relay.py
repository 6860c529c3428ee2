"""The outbox relay: a claim policy across tenants and a NOTIFY on every committed insert.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import run_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- The relay reads and marks outbox rows of every tenant (it only forwards them to tenant-scoped
-- channels); nothing else can use this policy.
CREATE POLICY relay_claim ON outbox
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'relay')
    WITH CHECK (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'relay');

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
"""


NOTIFY_FUNCTION = r"""
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reos_outbox', '');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(NOTIFY_FUNCTION)
    run_script(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.execute("DROP POLICY IF EXISTS relay_claim ON outbox")
