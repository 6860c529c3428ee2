"""Construction projects, contractors, bids, tasks, change orders, inspections; documents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import APP_ROLE, protect_tenant_tables, run_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "construction_projects",
    "contractors",
    "bids",
    "tasks",
    "change_orders",
    "inspections",
    "documents",
    "document_versions",
    "document_shares",
    "document_access_log",
    "extraction_jobs",
)

UPGRADE = r"""
CREATE TABLE construction_projects (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    deal_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    scope text CHECK (length(scope) <= 5000),
    budget numeric(14, 2) NOT NULL CHECK (budget >= 0),
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ON_HOLD', 'COMPLETED')),
    start_date date,
    target_end_date date,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX construction_projects_deal_idx ON construction_projects (tenant_id, deal_id);

CREATE TABLE contractors (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trade text NOT NULL,
    license_number text CHECK (length(license_number) <= 64),
    insurance_expires_on date,
    rating numeric(2, 1) CHECK (rating BETWEEN 0 AND 5),
    email text CHECK (length(email) <= 254),
    phone text CHECK (length(phone) <= 40),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE bids (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    contractor_id uuid NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    scope text CHECK (length(scope) <= 5000),
    status text NOT NULL DEFAULT 'SUBMITTED'
        CHECK (status IN ('SUBMITTED', 'AWARDED', 'REJECTED', 'WITHDRAWN')),
    submitted_by uuid,
    decided_by uuid,
    decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES construction_projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contractor_id) REFERENCES contractors (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX bids_project_idx ON bids (tenant_id, project_id, seq);
CREATE UNIQUE INDEX bids_one_award_uq ON bids (tenant_id, project_id) WHERE status = 'AWARDED';

CREATE TABLE tasks (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'TODO' CHECK (status IN ('TODO', 'IN_PROGRESS', 'BLOCKED', 'DONE')),
    milestone boolean NOT NULL DEFAULT false,
    due_date date,
    assignee_id uuid,
    budget numeric(14, 2) CHECK (budget >= 0),
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES construction_projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_id)
);
CREATE INDEX tasks_project_idx ON tasks (tenant_id, project_id, seq);

CREATE TABLE change_orders (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    amount numeric(14, 2) NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES construction_projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX change_orders_project_idx ON change_orders (tenant_id, project_id, created_at);

CREATE TABLE inspections (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    project_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    scheduled_for timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'PASSED', 'FAILED')),
    inspector text CHECK (length(inspector) <= 200),
    notes text CHECK (length(notes) <= 5000),
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES construction_projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX inspections_project_idx ON inspections (tenant_id, project_id, scheduled_for);

CREATE TABLE documents (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('DOCUMENT', 'PHOTO')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    content_type text NOT NULL,
    size bigint NOT NULL CHECK (size > 0),
    version integer NOT NULL DEFAULT 0,
    deal_id uuid,
    property_id uuid,
    project_id uuid,
    extracted_text text,
    extraction jsonb,
    extraction_status text NOT NULL DEFAULT 'NOT_STARTED'
        CHECK (extraction_status IN ('NOT_STARTED', 'PENDING', 'DONE', 'FAILED', 'SKIPPED')),
    extraction_error text,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('english', coalesce(name, '') || ' ' || coalesce(extracted_text, ''))
    ) STORED,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, project_id) REFERENCES construction_projects (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX documents_deal_idx ON documents (tenant_id, deal_id, seq DESC);
CREATE INDEX documents_project_idx ON documents (tenant_id, project_id, seq DESC);
CREATE INDEX documents_recent_idx ON documents (tenant_id, seq DESC);
CREATE INDEX documents_search_idx ON documents USING gin (search);

CREATE TABLE document_versions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    document_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    object_key text NOT NULL,
    declared_size bigint NOT NULL CHECK (declared_size > 0),
    content_type text NOT NULL,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'STORED')),
    uploaded_by uuid,
    stored_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id, version),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE document_shares (
    tenant_id uuid NOT NULL,
    document_id uuid NOT NULL,
    user_id uuid NOT NULL,
    permission text NOT NULL CHECK (permission IN ('VIEW', 'COMMENT', 'EDIT')),
    granted_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id, user_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE document_access_log (
    id bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    document_id uuid NOT NULL,
    version integer NOT NULL,
    user_id uuid NOT NULL,
    action text NOT NULL DEFAULT 'DOWNLOAD_URL',
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX document_access_doc_idx ON document_access_log (tenant_id, document_id, created_at);

CREATE TABLE extraction_jobs (
    tenant_id uuid NOT NULL,
    document_id uuid NOT NULL,
    version integer NOT NULL,
    status text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'DONE', 'FAILED')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, document_id, version),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX extraction_jobs_due_idx ON extraction_jobs (next_attempt_at) WHERE status = 'QUEUED';

-- The extraction worker claims due jobs of every tenant (ids only), then works inside each
-- job's own tenant; nothing else is readable this way.
CREATE POLICY worker_claim ON extraction_jobs
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'extraction')
    WITH CHECK (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'extraction');
"""


def upgrade() -> None:
    run_script(UPGRADE)
    protect_tenant_tables(TENANT_TABLES)
    for sequence in (
        "bids_seq_seq",
        "tasks_seq_seq",
        "documents_seq_seq",
        "document_access_log_id_seq",
    ):
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {APP_ROLE}")


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
