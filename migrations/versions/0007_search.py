"""Property search: full-text vector and indexes for the PostgreSQL search backend.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from alembic import op

from migrations.helpers import run_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Text is folded the way persistence/search/text.py folds a query: lower case, every run of
# characters other than letters and digits becomes one space ("ATX-2025-000123" -> "atx 2025
# 000123"), so a query word is always a whole lexeme or the prefix of one.
UPGRADE = r"""
CREATE FUNCTION search_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(lower(value), '[^[:alnum:]]+', ' ', 'g')) $$;

-- Weighted words for ranking: the address and the city (A) weigh most, then the postal code,
-- listing ID and APN (B), then the county and state (C). 'simple': no stemming, no stop words
-- (street names are not English prose).
ALTER TABLE properties ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, coalesce(search_fold(unparsed_address), '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, coalesce(search_fold(city), '')), 'A')
    || setweight(to_tsvector('simple'::regconfig,
           coalesce(search_fold(postal_code), '') || ' ' || coalesce(search_fold(listing_id), '')
           || ' ' || coalesce(search_fold(parcel_number), '')), 'B')
    || setweight(to_tsvector('simple'::regconfig,
           coalesce(search_fold(county_or_parish), '') || ' '
           || coalesce(search_fold(state_or_province), '')), 'C')
) STORED;

-- The folded address and city, for the exact-match tiers of the ranking (otherwise folded again
-- for every matched row of every search).
ALTER TABLE properties ADD COLUMN search_address text
    GENERATED ALWAYS AS (search_fold(unparsed_address)) STORED;
ALTER TABLE properties ADD COLUMN search_city text
    GENERATED ALWAYS AS (search_fold(city)) STORED;

CREATE INDEX properties_search_vector_idx ON properties USING gin (search_vector);

-- Radius searches narrow by a latitude/longitude box first: float comparisons are leakproof, so
-- this index serves the application role under row-level security (the earthdistance GiST index
-- of 0001 cannot: see below).
CREATE INDEX properties_geo_idx ON properties (tenant_id, latitude, longitude)
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

-- `reos search-reindex` lists the tenants it rebuilds (ids only); nothing else may.
CREATE POLICY search_reindex_tenants ON tenants FOR SELECT
    USING (app_current_tenant() IS NULL AND current_setting('app.worker', true) = 'search-reindex');
"""

DOWNGRADE = r"""
DROP POLICY IF EXISTS search_reindex_tenants ON tenants;
DROP INDEX IF EXISTS properties_geo_idx;
DROP INDEX IF EXISTS properties_search_vector_idx;
ALTER TABLE properties DROP COLUMN IF EXISTS search_city;
ALTER TABLE properties DROP COLUMN IF EXISTS search_address;
ALTER TABLE properties DROP COLUMN IF EXISTS search_vector;
DROP FUNCTION IF EXISTS search_fold(text);
"""


# Under row-level security PostgreSQL evaluates the policy before any condition whose functions
# are not LEAKPROOF, so such conditions cannot drive an index scan: as the application role, a
# full-text (@@) or trigram (<%) search would read every row of the table. The operators search
# uses cannot reveal anything about a row but through their result (no data-dependent errors),
# so they are marked LEAKPROOF. Only a superuser may do that: elsewhere (managed PostgreSQL) the
# migration warns and search still answers correctly, by scanning (use Elasticsearch at scale).
LEAKPROOF = r"""
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
        ALTER FUNCTION word_similarity_op(text, text) LEAKPROOF;
        ALTER FUNCTION word_similarity_commutator_op(text, text) LEAKPROOF;
    ELSE
        RAISE WARNING 'not a superuser: full-text and trigram operators stay non-leakproof, so '
            'property search cannot use its indexes under row-level security';
    END IF;
END $$
"""


def upgrade() -> None:
    run_script(UPGRADE)
    op.execute(LEAKPROOF)


def downgrade() -> None:
    op.execute(LEAKPROOF.replace(" LEAKPROOF;", " NOT LEAKPROOF;"))
    run_script(DOWNGRADE)
