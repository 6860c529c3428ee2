"""Saved searches, deliveries (e-mail, webhooks) and digests.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import protect_tenant_tables, run_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "saved_searches",
    "saved_search_versions",
    "webhook_endpoints",
    "deliveries",
    "digests",
    "offer_expiry_notices",
]

UPGRADE = r"""
-- An investor's buy box: it belongs to the user who saved it, and its alerts go to that user.
CREATE TABLE saved_searches (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    criteria jsonb NOT NULL,
    frequency text NOT NULL DEFAULT 'INSTANT' CHECK (frequency IN ('INSTANT', 'DAILY')),
    channels text[] NOT NULL DEFAULT '{IN_APP}'
        CHECK (channels <@ ARRAY['IN_APP', 'EMAIL', 'WEBHOOK']::text[]),
    paused_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX saved_searches_owner_idx ON saved_searches (tenant_id, user_id, created_at DESC, id DESC);

-- Bumped by every write to a tenant's saved searches: matchers cache a tenant's compiled
-- searches and reload them only when this number moves (one primary-key read per batch).
CREATE TABLE saved_search_versions (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version bigint NOT NULL DEFAULT 0
);

-- Where a saved search's PROPERTY_MATCH alerts are looked up by search.
CREATE INDEX alerts_saved_search_idx ON alerts (tenant_id, saved_search_id, seq DESC)
    WHERE saved_search_id IS NOT NULL;

-- Partners' webhook endpoints (ADMIN-managed). The secret signs every body (HMAC-SHA256); it is
-- shown once when created or rotated and is needed in clear text to sign.
CREATE TABLE webhook_endpoints (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    secret text NOT NULL,
    disabled_at timestamptz,
    disabled_reason text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error text,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- One row per alert and outside channel (an e-mail, or one webhook endpoint): a queue with
-- retries. digest_day set: the alert waits for that day's digest e-mail instead.
CREATE TABLE deliveries (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alert_id uuid NOT NULL,
    user_id uuid NOT NULL,
    channel text NOT NULL CHECK (channel IN ('EMAIL', 'WEBHOOK')),
    endpoint_id uuid,
    digest_day date,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((channel = 'WEBHOOK') = (endpoint_id IS NOT NULL)),
    CHECK (channel = 'EMAIL' OR digest_day IS NULL),
    FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX deliveries_once_uq ON deliveries
    (tenant_id, alert_id, channel, coalesce(endpoint_id, '00000000-0000-0000-0000-000000000000'::uuid));
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at)
    WHERE status = 'PENDING' AND digest_day IS NULL;
CREATE INDEX deliveries_digest_idx ON deliveries (tenant_id, user_id, digest_day)
    WHERE digest_day IS NOT NULL AND status = 'PENDING';
CREATE INDEX deliveries_endpoint_idx ON deliveries (tenant_id, endpoint_id, created_at DESC)
    WHERE endpoint_id IS NOT NULL;

-- One digest e-mail per user and day, sent once (the primary key makes it idempotent).
CREATE TABLE digests (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    day date NOT NULL,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
    alert_count integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_until timestamptz,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, day),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX digests_due_idx ON digests (next_attempt_at) WHERE status = 'PENDING';

-- Offers whose OFFER_EXPIRING alerts were raised (the scan passes over them afterwards).
CREATE TABLE offer_expiry_notices (
    tenant_id uuid NOT NULL,
    offer_id uuid NOT NULL,
    notified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, offer_id),
    FOREIGN KEY (tenant_id, offer_id) REFERENCES offers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX offers_pending_expiry_idx ON offers (expires_at)
    WHERE status = 'PENDING' AND expires_at IS NOT NULL;
"""

WORKER_POLICIES = r"""
-- The delivery worker claims due deliveries and digests of every tenant (ids and lease
-- columns), then reads and writes everything else inside each row's own tenant.
CREATE POLICY worker_claim ON deliveries
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'delivery')
    WITH CHECK (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'delivery');
CREATE POLICY worker_claim ON digests
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'delivery')
    WITH CHECK (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'delivery');
-- The alert scheduler finds pending offers about to expire in every tenant (reading only),
-- then raises OFFER_EXPIRING inside each offer's tenant.
CREATE POLICY alert_scheduler_read ON offers FOR SELECT
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'alert_scheduler');
CREATE POLICY alert_scheduler_read ON offer_expiry_notices FOR SELECT
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'alert_scheduler');
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(TENANT_TABLES)
    run_script(WORKER_POLICIES)


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS alert_scheduler_read ON offers")
    op.execute("DROP INDEX IF EXISTS offers_pending_expiry_idx")
    op.execute("DROP INDEX IF EXISTS alerts_saved_search_idx")
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
