"""Deals, team members, offers, timeline, accounts, transactions, budgets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import APP_ROLE, protect_tenant_tables, run_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "deals",
    "deal_members",
    "offers",
    "timeline_entries",
    "accounts",
    "transactions",
    "budgets",
)

UPGRADE = r"""
CREATE TABLE deals (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    property_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    strategy text NOT NULL
        CHECK (strategy IN ('FLIP', 'BRRRR', 'BUY_AND_HOLD', 'WHOLESALE')),
    status text NOT NULL DEFAULT 'LEAD'
        CHECK (status IN ('LEAD', 'ANALYZING', 'OFFER_MADE', 'UNDER_CONTRACT', 'CLOSED', 'DEAD')),
    purchase_price numeric(14, 2) CHECK (purchase_price >= 0),
    estimated_repairs numeric(14, 2) CHECK (estimated_repairs >= 0),
    arv numeric(14, 2) CHECK (arv >= 0),
    assumptions jsonb NOT NULL DEFAULT '{}',
    created_by uuid,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX deals_property_idx ON deals (tenant_id, property_id, created_at DESC);
CREATE INDEX deals_created_idx ON deals (tenant_id, created_at DESC, id DESC);
CREATE INDEX deals_status_idx ON deals (tenant_id, status);

CREATE TABLE deal_members (
    tenant_id uuid NOT NULL,
    deal_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, deal_id, user_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE offers (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    deal_id uuid NOT NULL,
    parent_id uuid,
    party text NOT NULL CHECK (party IN ('BUYER', 'SELLER')),
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    earnest_money numeric(14, 2) CHECK (earnest_money >= 0),
    closing_date date,
    contingencies text[] NOT NULL DEFAULT '{}',
    note text CHECK (length(note) <= 2000),
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'COUNTERED', 'WITHDRAWN', 'EXPIRED')),
    expires_at timestamptz,
    submitted_by uuid,
    responded_by uuid,
    responded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX offers_deal_idx ON offers (tenant_id, deal_id, created_at DESC);
CREATE UNIQUE INDEX offers_one_accepted_uq ON offers (tenant_id, deal_id) WHERE status = 'ACCEPTED';

CREATE TABLE timeline_entries (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    deal_id uuid NOT NULL,
    actor_id uuid,
    kind text NOT NULL,
    message text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}',
    mentions uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX timeline_deal_seq_idx ON timeline_entries (tenant_id, deal_id, seq DESC);

CREATE TABLE accounts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL
        CHECK (kind IN ('CHECKING', 'SAVINGS', 'CREDIT_CARD', 'LOAN', 'ESCROW', 'OTHER')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE transactions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    account_id uuid,
    deal_id uuid,
    occurred_on date NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount <> 0),
    category text NOT NULL,
    description text CHECK (length(description) <= 500),
    counterparty text CHECK (length(counterparty) <= 200),
    receipt_document_id uuid,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX transactions_date_idx ON transactions (tenant_id, occurred_on DESC, seq DESC);
CREATE INDEX transactions_deal_idx ON transactions (tenant_id, deal_id, occurred_on DESC, seq DESC);

CREATE TABLE budgets (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    deal_id uuid NOT NULL,
    category text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
    exceeded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, deal_id, category),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(TENANT_TABLES)
    op.execute(f"GRANT USAGE ON SEQUENCE timeline_entries_seq_seq TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON SEQUENCE transactions_seq_seq TO {APP_ROLE}")


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
