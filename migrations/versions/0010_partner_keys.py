"""Persisted queries: manifests of trusted documents and partner API keys.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import protect_tenant_tables, run_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "persisted_manifests",
    "persisted_documents",
    "partner_api_keys",
]

UPGRADE = r"""
-- A named set of trusted GraphQL documents (ADMIN-registered); registering the same name again
-- adds documents to it.
CREATE TABLE persisted_manifests (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- A manifest's documents by the sha256 hex of their exact UTF-8 text: immutable per hash. (Every
-- unique key starts with tenant_id, as everywhere: tables can be sharded by tenant.)
CREATE TABLE persisted_documents (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    manifest_id uuid NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    document text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, manifest_id, sha256),
    FOREIGN KEY (tenant_id, manifest_id) REFERENCES persisted_manifests (tenant_id, id)
        ON DELETE CASCADE
);

-- A partner's API key: only the sha256 of the secret is stored (the secret is shown once).
-- Requests made with it act as the ADMIN who created it, with the key's role. A request carries
-- only the key, so keys are found by hash across tenants (key_hash_idx); the hash is of 32 random
-- bytes, so two keys never share one (unique per tenant like every key here, for sharding).
CREATE TABLE partner_api_keys (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('ADMIN', 'ANALYST', 'UNDERWRITER', 'OPS', 'VIEWER')),
    manifest_id uuid,
    persisted_only boolean NOT NULL DEFAULT true,
    key_hash text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    prefix text NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key_hash),
    CHECK (NOT persisted_only OR manifest_id IS NOT NULL),
    FOREIGN KEY (tenant_id, manifest_id) REFERENCES persisted_manifests (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX partner_api_keys_key_hash_idx ON partner_api_keys (key_hash);
CREATE INDEX partner_api_keys_list_idx ON partner_api_keys (tenant_id, created_at DESC, id DESC);
"""

LOOKUP_POLICIES = r"""
-- A request carrying an API key knows only the key: with no tenant set, the one row whose
-- hash is in app.api_key_hash is readable (like login_lookup on users).
CREATE POLICY api_key_lookup ON partner_api_keys FOR SELECT
    USING (app_current_tenant() IS NULL
           AND key_hash = NULLIF(current_setting('app.api_key_hash', true), ''));
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(TENANT_TABLES)
    run_script(LOOKUP_POLICIES)


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
