"""SQLAlchemy Core tables (the DDL lives in migrations/)."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("family_id", UUID(as_uuid=True), nullable=False),
    Column("token_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

properties = Table(
    "properties",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("listing_id", Text),
    Column("parcel_number", Text),
    Column("parcel_key", Text),
    Column("address_key", Text, nullable=False),
    Column("unparsed_address", Text, nullable=False),
    Column("street_number", Text),
    Column("street_name", Text),
    Column("unit_number", Text),
    Column("city", Text, nullable=False),
    Column("state_or_province", Text, nullable=False),
    Column("postal_code", Text),
    Column("county_or_parish", Text),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("property_type", Text),
    Column("property_sub_type", Text),
    Column("standard_status", Text),
    Column("list_price", Numeric(14, 2)),
    Column("original_list_price", Numeric(14, 2)),
    Column("close_price", Numeric(14, 2)),
    Column("close_date", Date),
    Column("listing_contract_date", Date),
    Column("days_on_market", Integer),
    Column("bedrooms_total", Integer),
    Column("bathrooms_total_integer", Integer),
    Column("living_area", Numeric(12, 2)),
    Column("lot_size_area", Numeric(14, 4)),
    Column("lot_size_units", Text),
    Column("year_built", Integer),
    Column("tax_annual_amount", Numeric(14, 2)),
    Column("association_fee", Numeric(14, 2)),
    Column("features", ARRAY(Text), nullable=False),
    Column("search_text", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

property_media = Table(
    "property_media",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("property_id", UUID(as_uuid=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("media_category", Text, nullable=False),
    Column("short_description", Text),
    Column("order", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

property_provenance = Table(
    "property_provenance",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("property_id", UUID(as_uuid=True), primary_key=True),
    Column("field", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("confidence", Numeric(4, 3), nullable=False),
    Column("locked", Boolean, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("aggregate_type", Text, nullable=False),
    Column("aggregate_id", UUID(as_uuid=True), nullable=False),
    Column("occurred_at", DateTime(timezone=True)),
    Column("correlation_id", Text),
    Column("actor_id", UUID(as_uuid=True)),
    Column("payload", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("published_seq", BigInteger),
)

outbox_consumers = Table(
    "outbox_consumers",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

deals = Table(
    "deals",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("property_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("purchase_price", Numeric(14, 2)),
    Column("estimated_repairs", Numeric(14, 2)),
    Column("arv", Numeric(14, 2)),
    Column("assumptions", JSONB, nullable=False),
    Column("created_by", UUID(as_uuid=True)),
    Column("status_changed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

deal_members = Table(
    "deal_members",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("deal_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("role", Text, nullable=False),
    Column("added_at", DateTime(timezone=True)),
)

offers = Table(
    "offers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("deal_id", UUID(as_uuid=True), nullable=False),
    Column("parent_id", UUID(as_uuid=True)),
    Column("party", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("earnest_money", Numeric(14, 2)),
    Column("closing_date", Date),
    Column("contingencies", ARRAY(Text), nullable=False),
    Column("note", Text),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("submitted_by", UUID(as_uuid=True)),
    Column("responded_by", UUID(as_uuid=True)),
    Column("responded_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("deal_id", UUID(as_uuid=True), nullable=False),
    Column("actor_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("mentions", ARRAY(UUID(as_uuid=True)), nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("account_id", UUID(as_uuid=True)),
    Column("deal_id", UUID(as_uuid=True)),
    Column("occurred_on", Date, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("category", Text, nullable=False),
    Column("description", Text),
    Column("counterparty", Text),
    Column("receipt_document_id", UUID(as_uuid=True)),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("deal_id", UUID(as_uuid=True), nullable=False),
    Column("category", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("exceeded_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

construction_projects = Table(
    "construction_projects",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("deal_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("scope", Text),
    Column("budget", Numeric(14, 2), nullable=False),
    Column("status", Text, nullable=False),
    Column("start_date", Date),
    Column("target_end_date", Date),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

contractors = Table(
    "contractors",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("trade", Text, nullable=False),
    Column("license_number", Text),
    Column("insurance_expires_on", Date),
    Column("rating", Numeric(2, 1)),
    Column("email", Text),
    Column("phone", Text),
    Column("created_at", DateTime(timezone=True)),
)

bids = Table(
    "bids",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("project_id", UUID(as_uuid=True), nullable=False),
    Column("contractor_id", UUID(as_uuid=True), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("status", Text, nullable=False),
    Column("scope", Text),
    Column("submitted_by", UUID(as_uuid=True)),
    Column("decided_by", UUID(as_uuid=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("project_id", UUID(as_uuid=True), nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("milestone", Boolean, nullable=False),
    Column("due_date", Date),
    Column("assignee_id", UUID(as_uuid=True)),
    Column("budget", Numeric(14, 2)),
    Column("completed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

change_orders = Table(
    "change_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("project_id", UUID(as_uuid=True), nullable=False),
    Column("description", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("project_id", UUID(as_uuid=True), nullable=False),
    Column("title", Text, nullable=False),
    Column("scheduled_for", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("inspector", Text),
    Column("notes", Text),
    Column("completed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

documents = Table(
    "documents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("deal_id", UUID(as_uuid=True)),
    Column("property_id", UUID(as_uuid=True)),
    Column("project_id", UUID(as_uuid=True)),
    Column("extracted_text", Text),
    Column("extraction", JSONB),
    Column("extraction_status", Text, nullable=False),
    Column("extraction_error", Text),
    Column("search", TSVECTOR),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("document_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("declared_size", BigInteger, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("uploaded_by", UUID(as_uuid=True)),
    Column("stored_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

document_shares = Table(
    "document_shares",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("document_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("permission", Text, nullable=False),
    Column("granted_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
)

document_access_log = Table(
    "document_access_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("document_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True)),
)

extraction_jobs = Table(
    "extraction_jobs",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("document_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("score", Integer),
    Column("reasons", JSONB, nullable=False),
    Column("property_id", UUID(as_uuid=True)),
    Column("deal_id", UUID(as_uuid=True)),
    Column("saved_search_id", UUID(as_uuid=True)),
    Column("source_event_id", UUID(as_uuid=True)),
    Column("dedupe_key", Text, nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

saved_searches = Table(
    "saved_searches",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("criteria", JSONB, nullable=False),
    Column("frequency", Text, nullable=False),
    Column("channels", ARRAY(Text), nullable=False),
    Column("paused_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

saved_search_versions = Table(
    "saved_search_versions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("disabled_reason", Text),
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_success_at", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("alert_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("channel", Text, nullable=False),
    Column("endpoint_id", UUID(as_uuid=True)),
    Column("digest_day", Date),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

digests = Table(
    "digests",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("status", Text, nullable=False),
    Column("alert_count", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

offer_expiry_notices = Table(
    "offer_expiry_notices",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("offer_id", UUID(as_uuid=True), primary_key=True),
    Column("notified_at", DateTime(timezone=True)),
)

persisted_manifests = Table(
    "persisted_manifests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
)

persisted_documents = Table(
    "persisted_documents",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("manifest_id", UUID(as_uuid=True), primary_key=True),
    Column("sha256", Text, primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

partner_api_keys = Table(
    "partner_api_keys",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("manifest_id", UUID(as_uuid=True)),
    Column("persisted_only", Boolean, nullable=False),
    Column("key_hash", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
