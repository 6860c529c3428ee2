"""Valuation and scoring: stored ARV, score and reasons per property.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import protect_tenant_tables, run_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- The latest valuation summary and score of each property, kept by the valuation consumer
-- from property events (the API computes valuations live; this row serves matching and events).
CREATE TABLE property_valuations (
    tenant_id uuid NOT NULL,
    property_id uuid NOT NULL,
    arv numeric(14, 2),
    arv_reason text CHECK (length(arv_reason) <= 40),
    method text NOT NULL CHECK (length(method) <= 60),
    price_per_sqft numeric(14, 2),
    confidence numeric(3, 2) CHECK (confidence BETWEEN 0 AND 1),
    comp_count integer NOT NULL DEFAULT 0 CHECK (comp_count >= 0),
    radius_miles numeric(5, 2),
    score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    score_reasons jsonb NOT NULL DEFAULT '[]',
    score_version text NOT NULL CHECK (length(score_version) <= 40),
    inputs_hash text NOT NULL CHECK (length(inputs_hash) <= 128),
    as_of date NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, property_id),
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id) ON DELETE CASCADE,
    CHECK ((arv IS NULL) = (arv_reason IS NOT NULL))
);
CREATE INDEX property_valuations_score_idx ON property_valuations (tenant_id, score DESC);
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(["property_valuations"])


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS property_valuations")
