"""Foundation: extensions, tenants, users, refresh tokens, properties, outbox, RLS, app role.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import APP_ROLE, protect_tenant_tables, run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "users",
    "refresh_tokens",
    "properties",
    "property_media",
    "property_provenance",
    "outbox",
)

UPGRADE = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    name text NOT NULL CHECK (length(name) <= 200),
    role text NOT NULL CHECK (role IN ('ADMIN', 'ANALYST', 'UNDERWRITER', 'OPS', 'VIEWER')),
    password_hash text NOT NULL,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE refresh_tokens (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    family_id uuid NOT NULL,
    token_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);

CREATE TABLE properties (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    listing_id text,
    parcel_number text,
    parcel_key text,
    address_key text NOT NULL,
    unparsed_address text NOT NULL,
    street_number text,
    street_name text,
    unit_number text,
    city text NOT NULL,
    state_or_province text NOT NULL,
    postal_code text,
    county_or_parish text,
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    property_type text,
    property_sub_type text,
    standard_status text,
    list_price numeric(14, 2) CHECK (list_price >= 0),
    original_list_price numeric(14, 2) CHECK (original_list_price >= 0),
    close_price numeric(14, 2) CHECK (close_price >= 0),
    close_date date,
    listing_contract_date date,
    days_on_market integer,
    bedrooms_total integer CHECK (bedrooms_total BETWEEN 0 AND 100),
    bathrooms_total_integer integer CHECK (bathrooms_total_integer BETWEEN 0 AND 100),
    living_area numeric(12, 2) CHECK (living_area >= 0),
    lot_size_area numeric(14, 4) CHECK (lot_size_area >= 0),
    lot_size_units text,
    year_built integer,
    tax_annual_amount numeric(14, 2),
    association_fee numeric(14, 2),
    features text[] NOT NULL DEFAULT '{}',
    search_text text GENERATED ALWAYS AS (
        lower(
            coalesce(unparsed_address, '') || ' ' || coalesce(city, '') || ' '
            || coalesce(postal_code, '') || ' ' || coalesce(listing_id, '') || ' '
            || coalesce(parcel_number, '') || ' ' || coalesce(county_or_parish, '')
        )
    ) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX properties_parcel_key_uq ON properties (tenant_id, parcel_key)
    WHERE parcel_key IS NOT NULL;
CREATE UNIQUE INDEX properties_address_key_uq ON properties (tenant_id, address_key);
CREATE INDEX properties_city_idx ON properties (tenant_id, lower(city));
CREATE INDEX properties_postal_idx ON properties (tenant_id, postal_code);
CREATE INDEX properties_list_price_idx ON properties (tenant_id, list_price, id);
CREATE INDEX properties_listed_idx ON properties (tenant_id, listing_contract_date, id);
CREATE INDEX properties_updated_idx ON properties (tenant_id, updated_at, id);
CREATE INDEX properties_created_idx ON properties (tenant_id, created_at, id);
CREATE INDEX properties_search_trgm_idx ON properties USING gin (search_text gin_trgm_ops);
CREATE INDEX properties_earth_idx ON properties USING gist (ll_to_earth(latitude, longitude))
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

CREATE TABLE property_media (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    property_id uuid NOT NULL,
    url text NOT NULL CHECK (length(url) <= 2048),
    media_category text NOT NULL DEFAULT 'Photo',
    short_description text CHECK (length(short_description) <= 500),
    "order" integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX property_media_property_idx ON property_media (tenant_id, property_id, "order");

CREATE TABLE property_provenance (
    tenant_id uuid NOT NULL,
    property_id uuid NOT NULL,
    field text NOT NULL,
    source text NOT NULL,
    fetched_at timestamptz NOT NULL,
    confidence numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    locked boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, property_id, field),
    FOREIGN KEY (tenant_id, property_id) REFERENCES properties (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE outbox (
    id bigserial NOT NULL,
    event_id uuid NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    correlation_id text,
    actor_id uuid,
    payload jsonb NOT NULL DEFAULT '{}',
    published_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, event_id)
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenants
    USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());

-- Login knows only an e-mail: with no tenant set, the rows of that one e-mail are readable.
CREATE POLICY login_lookup ON users FOR SELECT
    USING (app_current_tenant() IS NULL
           AND email = NULLIF(current_setting('app.login_email', true), ''));
"""


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END $$;
        """
    )
    run_script(UPGRADE)
    protect_tenant_tables(TENANT_TABLES)
    op.execute(f"GRANT CONNECT ON DATABASE {_current_database()} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON tenants TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON SEQUENCE outbox_id_seq TO {APP_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_current_tenant() TO {APP_ROLE}")


def _current_database() -> str:
    return '"' + op.get_bind().exec_driver_sql("SELECT current_database()").scalar_one() + '"'


def downgrade() -> None:
    for table in ("outbox", "property_provenance", "property_media", "properties"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS refresh_tokens")
    op.execute("DROP TABLE IF EXISTS users")
    op.execute("DROP TABLE IF EXISTS tenants")
    op.execute("DROP FUNCTION IF EXISTS app_current_tenant()")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}")
