"""Outbox consumers (a commit-ordered publish position) and the alert inbox.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import APP_ROLE, protect_tenant_tables, run_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- The relay numbers rows as it marks them published, in the same transaction. One relay
-- publishes at a time and a row is claimed only once its own transaction has committed, so
-- published_seq grows in commit order: a consumer reading published_seq > its position never
-- misses a row that committed late (outbox ids are drawn at insert, not at commit).
CREATE SEQUENCE outbox_published_seq AS bigint;
ALTER TABLE outbox ADD COLUMN published_seq bigint;
-- Not UNIQUE: unique indexes on tenant tables start with tenant_id (a sharding key); the
-- sequence alone hands out each number once.
CREATE INDEX outbox_published_seq_idx ON outbox (published_seq) WHERE published_seq IS NOT NULL;

-- Where each background consumer has got to in published_seq (no tenant data).
CREATE TABLE outbox_consumers (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Consumers read published rows of every tenant, then work inside each row's own tenant.
-- Reading is all this policy allows.
CREATE POLICY consumer_read ON outbox FOR SELECT
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'consumer');

CREATE TABLE alerts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    kind text NOT NULL
        CHECK (kind IN ('PROPERTY_MATCH', 'BUDGET_EXCEEDED', 'BID_RECEIVED', 'OFFER_EXPIRING')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body text NOT NULL DEFAULT '' CHECK (length(body) <= 5000),
    score integer CHECK (score BETWEEN 0 AND 100),
    reasons jsonb NOT NULL DEFAULT '[]',
    property_id uuid,
    deal_id uuid,
    saved_search_id uuid,
    source_event_id uuid,
    dedupe_key text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 300),
    read_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id, dedupe_key),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id)
        ON DELETE SET NULL (property_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
        ON DELETE SET NULL (deal_id)
);
CREATE INDEX alerts_user_seq_idx ON alerts (tenant_id, user_id, seq DESC);
CREATE INDEX alerts_user_unread_idx ON alerts (tenant_id, user_id, seq DESC) WHERE read_at IS NULL;
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(["alerts"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON outbox_consumers TO {APP_ROLE}")
    for sequence in ("outbox_published_seq", "alerts_seq_seq"):
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS alerts")
    op.execute("DROP POLICY IF EXISTS consumer_read ON outbox")
    op.execute("DROP TABLE IF EXISTS outbox_consumers")
    op.execute("DROP INDEX IF EXISTS outbox_published_seq_idx")
    op.execute("ALTER TABLE outbox DROP COLUMN IF EXISTS published_seq")
    op.execute("DROP SEQUENCE IF EXISTS outbox_published_seq")
