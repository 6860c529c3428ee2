"""Property queries and mutations: arguments -> domain rules -> storage -> results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.errors import DomainError, ErrorCode, FieldError
from domain.events import Event
from domain.property import (
    ADDRESS_FIELDS,
    EDITABLE_FIELDS,
    USER_SOURCE,
    Property,
    Provenance,
    camel_case,
    change_events,
    derived_fields,
    editable_values,
    event_payload,
    media_equal,
    require_complete,
    require_valid,
    unlocked_changes,
)
from persistence import deal as deal_store
from persistence import property as store
from persistence.outbox import add_events
from persistence.property import Media, PropertyListQuery
from resolvers.context import Context
from resolvers.errors import bad_input, run_write
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import Page, build_page, page_size

NOT_FOUND = FieldError(ErrorCode.NOT_FOUND, "No property with this ID.", ("id",))
MEDIA_FIELD = "media"
COMPOSED_FROM = tuple(
    f for f in ADDRESS_FIELDS if f not in ("unparsed_address", "county_or_parish")
)
MAX_MEDIA = 100


@dataclass
class PropertyResult:
    property: Property | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class PropertyIntakeResult:
    property: Property | None = None
    created: bool = False
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class PropertyDeleteResult:
    deleted_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)


def _present(data: Any, name: str) -> bool:
    return getattr(data, name, UNSET) is not UNSET


def _clean(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    if isinstance(value, list):
        seen: dict[str, str] = {}
        for item in value:
            text = " ".join(str(item).split())
            seen.setdefault(text.lower(), text)
        return list(seen.values())
    return value


def input_values(data: Any) -> dict[str, Any]:
    """The fields a PropertyInput sets, flattened to column names (omitted fields are absent)."""
    values: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name not in ADDRESS_FIELDS and _present(data, name):
            values[name] = _clean(getattr(data, name))
    address = getattr(data, "address", UNSET)
    if address not in (UNSET, None):
        for name in ADDRESS_FIELDS:
            if _present(address, name):
                values[name] = _clean(getattr(address, name))
    if values.get("features", UNSET) is None:
        values["features"] = []
    return values


def media_values(data: Any) -> list[dict[str, Any]] | None:
    media = getattr(data, "media", UNSET)
    if media in (UNSET, None):
        return None
    if len(media) > MAX_MEDIA:
        raise DomainError.of(ErrorCode.INVALID, f"At most {MAX_MEDIA} media.", "input", "media")
    items = []
    for index, item in enumerate(media):
        url = (item.url or "").strip()
        if not url or len(url) > 2048 or not (url.startswith(("https://", "http://", "/"))):
            raise DomainError.of(
                ErrorCode.INVALID,
                "Media URL must be an http(s) URL or a path.",
                "input",
                "media",
                str(index),
                "url",
            )
        description = item.short_description if item.short_description is not UNSET else None
        if description is not None and len(description) > 500:
            raise DomainError.of(
                ErrorCode.INVALID,
                "shortDescription is longer than 500 characters.",
                "input",
                "media",
                str(index),
                "shortDescription",
            )
        category = item.media_category if item.media_category not in (UNSET, None) else "Photo"
        items.append(
            {
                "url": url,
                "media_category": _clean(category)[:60],
                "short_description": description,
                "order": item.order if item.order not in (UNSET, None) else index + 1,
            }
        )
    return items


def _decode_property_id(global_id: str) -> UUID:
    return from_global_id(global_id, expected="Property")[1]


def _event(
    prop: Property, actor: UUID, event_type: str, extra: dict[str, Any] | None = None
) -> Event:
    return Event(
        event_type=event_type,
        aggregate_type="property",
        aggregate_id=prop.id,
        tenant_id=prop.tenant_id,
        actor_id=actor,
        payload={**event_payload(prop), **(extra or {})},
    )


async def property_by_id(ctx: Context, global_id: str) -> Property | None:
    ctx.require("properties:read")
    try:
        property_id = _decode_property_id(global_id)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error
    return await ctx.loaders.property_by_id.load(property_id)


def list_query(ctx: Context, filter: Any) -> PropertyListQuery:
    query = PropertyListQuery(tenant_id=ctx.tenant_id)
    if filter is None:
        return query
    for name in (
        "city",
        "postal_code",
        "min_price",
        "max_price",
        "min_bedrooms",
        "max_bedrooms",
        "min_bathrooms",
        "max_bathrooms",
        "min_living_area",
        "max_living_area",
        "text",
    ):
        value = getattr(filter, name, None)
        if value is not None and value is not UNSET:
            if isinstance(value, str) and len(value) > 200:
                raise bad_input(f"filter.{name} is longer than 200 characters.")
            if isinstance(value, Decimal):
                limit = store.MAX_AREA if "living_area" in name else store.MAX_MONEY
                if not value.is_finite():
                    raise bad_input(f"filter.{camel_case(name)} must be a finite number.")
                value = max(min(value, limit - 1), 1 - limit)
            setattr(query, name, value)
    if filter.property_type:
        query.property_types = [item.value for item in filter.property_type]
    if filter.standard_status:
        query.standard_statuses = [item.value for item in filter.standard_status]
    return query


async def properties(
    ctx: Context, filter: Any, order_by: Any, first: int | None, after: str | None
) -> Page[Property]:
    ctx.require("properties:read")
    limit = page_size(first)
    field_name = order_by.field.value if order_by else "CREATED_AT"
    descending = order_by.direction.value == "DESC" if order_by else True
    sort = store.sort_key(field_name, descending)
    position = None
    if after:
        try:
            position = sort.decode(after)
        except DomainError as error:
            raise bad_input(error.errors[0].message) from error
    query = list_query(ctx, filter)
    rows = await store.list_properties(ctx.session, query, sort, position, limit)
    column = sort.column.key

    def cursor_of(prop: Property) -> str:
        return sort.cursor(getattr(prop, column), prop.id)

    async def count() -> int:
        return await store.count_properties(ctx.session, query)

    return build_page(rows, limit, cursor_of, count, after)


async def media(ctx: Context, prop: Property) -> list[Media]:
    return await ctx.loaders.media_by_property_id.load(prop.id)


async def provenance(ctx: Context, prop: Property) -> list[Provenance]:
    """Provenance with GraphQL field names (listPrice, not list_price)."""
    records = await ctx.loaders.provenance_by_property_id.load(prop.id)
    return [replace(record, field=camel_case(record.field)) for record in records]


async def property_create(ctx: Context, data: Any) -> PropertyResult:
    principal = ctx.require("properties:write")
    try:
        values = input_values(data)
        media_items = media_values(data)
        values.update(require_complete(values))
    except DomainError as error:
        return PropertyResult(errors=list(error.errors))
    typed = [name for name in EDITABLE_FIELDS if values.get(name) not in (None, [])]
    if media_items:
        typed.append(MEDIA_FIELD)

    async def create(conn: AsyncConnection) -> Property:
        prop = await store.insert_property(conn, principal.tenant_id, values)
        if prop is None:
            raise DomainError.of(
                ErrorCode.CONFLICT,
                "A property with this address or parcel already exists.",
                "input",
                "address",
            )
        await store.record_provenance(
            conn,
            principal.tenant_id,
            prop.id,
            typed,
            USER_SOURCE,
            datetime.now(UTC),
            Decimal(1),
            True,
        )
        if media_items:
            await store.replace_media(conn, principal.tenant_id, prop.id, media_items)
        await add_events(
            conn, [_event(prop, principal.user_id, "property.created")], ctx.request_id
        )
        return prop

    prop, errors = await run_write(ctx, create)
    return PropertyResult(property=prop, errors=errors)


async def _apply_changes(
    conn: AsyncConnection,
    ctx: Context,
    current: Property,
    changes: dict[str, Any],
    media_items: list[dict[str, Any]] | None,
    source: tuple[str, datetime, Decimal, bool],
    provenance_fields: Iterable[str],
) -> Property:
    """Write changed fields, the provenance of provenance_fields, and the implied events."""
    principal = ctx.require()
    tenant_id = principal.tenant_id
    before = editable_values(current)
    merged = {**before, **changes}
    if "unparsed_address" not in changes and any(name in changes for name in COMPOSED_FROM):
        merged["unparsed_address"] = None
    derived = derived_fields(merged)
    updates = {**changes, **{k: v for k, v in derived.items() if getattr(current, k) != v}}
    if media_items is not None and media_equal(
        await store.media_of(conn, tenant_id, current.id), media_items
    ):
        media_items = None
    prop = current
    if updates:
        prop = await store.update_property(conn, tenant_id, current.id, updates)
    if media_items is not None:
        await store.replace_media(conn, tenant_id, current.id, media_items)
    source_name, fetched_at, confidence, locked = source
    await store.record_provenance(
        conn, tenant_id, current.id, provenance_fields, source_name, fetched_at, confidence, locked
    )
    if updates or media_items is not None:
        changed = sorted(changes) + (["media"] if media_items is not None else [])
        events = [_event(prop, principal.user_id, "property.updated", {"changed": changed})]
        events += [
            _event(prop, principal.user_id, kind, payload)
            for kind, payload in change_events(before, changes)
        ]
        await add_events(conn, events, ctx.request_id)
    return prop


async def property_update(ctx: Context, global_id: str, data: Any) -> PropertyResult:
    principal = ctx.require("properties:write")
    try:
        property_id = _decode_property_id(global_id)
        values = input_values(data)
        media_items = media_values(data)
        require_valid(values)
    except DomainError as error:
        return PropertyResult(errors=list(error.errors))

    async def update(conn: AsyncConnection) -> Property:
        current = await store.get_for_update(conn, principal.tenant_id, property_id)
        if current is None:
            raise DomainError(NOT_FOUND)
        changes = {k: v for k, v in values.items() if getattr(current, k) != v}
        typed = [k for k, v in values.items() if v not in (None, [])]
        if media_items is not None:
            typed.append(MEDIA_FIELD)
        source = (USER_SOURCE, datetime.now(UTC), Decimal(1), True)
        return await _apply_changes(conn, ctx, current, changes, media_items, source, typed)

    prop, errors = await run_write(ctx, update)
    return PropertyResult(property=prop, errors=errors)


async def property_delete(ctx: Context, global_id: str) -> PropertyDeleteResult:
    principal = ctx.require("properties:write")
    try:
        property_id = _decode_property_id(global_id)
    except DomainError as error:
        return PropertyDeleteResult(errors=list(error.errors))

    async def delete(conn: AsyncConnection) -> str:
        current = await store.get_for_update(conn, principal.tenant_id, property_id)
        if current is None:
            raise DomainError(NOT_FOUND)
        if await deal_store.count_deals_by_property(conn, principal.tenant_id, property_id):
            raise DomainError.of(
                ErrorCode.CONFLICT, "This property has deals; close or move them first.", "id"
            )
        await store.delete_property(conn, principal.tenant_id, property_id)
        await add_events(
            conn, [_event(current, principal.user_id, "property.deleted")], ctx.request_id
        )
        return to_global_id("Property", property_id)

    deleted_id, errors = await run_write(ctx, delete)
    return PropertyDeleteResult(deleted_id=deleted_id, errors=errors)


def _intake_source(data: Any) -> tuple[str, datetime, Decimal, bool]:
    source = " ".join((data.source or "").split()).upper()
    if not source or len(source) > 40 or source == USER_SOURCE:
        raise DomainError.of(
            ErrorCode.INVALID, "source must be 1-40 characters and not USER.", "input", "source"
        )
    confidence = data.confidence if data.confidence not in (UNSET, None) else 1.0
    if not 0 <= confidence <= 1:
        raise DomainError.of(
            ErrorCode.INVALID, "confidence must be between 0 and 1.", "input", "confidence"
        )
    fetched_at = data.fetched_at if data.fetched_at not in (UNSET, None) else datetime.now(UTC)
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return source, fetched_at, Decimal(str(round(confidence, 3))), False


async def property_intake(ctx: Context, data: Any) -> PropertyIntakeResult:
    """Create or enrich a property by its natural key; user-typed fields are never overwritten."""
    principal = ctx.require("properties:write")
    path = ("input", "property")
    try:
        provenance_source = _intake_source(data)
        values = input_values(data.property)
        media_items = media_values(data.property)
        keys = require_complete(values, path)
    except DomainError as error:
        return PropertyIntakeResult(errors=list(error.errors))
    source, fetched_at, confidence, _ = provenance_source
    present = [name for name in EDITABLE_FIELDS if values.get(name) not in (None, [])]
    if media_items:
        present.append(MEDIA_FIELD)

    async def intake(conn: AsyncConnection) -> tuple[Property, bool]:
        tenant_id = principal.tenant_id
        for _attempt in range(2):
            current = await store.find_by_keys(
                conn, tenant_id, keys["parcel_key"], keys["address_key"]
            )
            if current is not None:
                locked = await store.locked_fields(conn, tenant_id, current.id)
                incoming = {k: v for k, v in values.items() if v is not None}
                changes = unlocked_changes(editable_values(current), incoming, locked)
                changes.pop("unparsed_address", None)
                media = None if MEDIA_FIELD in locked else media_items
                enriched = [*changes, *([MEDIA_FIELD] if media is not None else [])]
                prop = await _apply_changes(
                    conn, ctx, current, changes, media, provenance_source, enriched
                )
                return prop, False
            prop = await store.insert_property(conn, tenant_id, {**values, **keys})
            if prop is not None:
                await store.record_provenance(
                    conn, tenant_id, prop.id, present, source, fetched_at, confidence, False
                )
                if media_items:
                    await store.replace_media(conn, tenant_id, prop.id, media_items)
                await add_events(
                    conn, [_event(prop, principal.user_id, "property.created")], ctx.request_id
                )
                return prop, True
        raise DomainError.of(ErrorCode.CONFLICT, "This property changed while it was being saved.")

    result, errors = await run_write(ctx, intake)
    if result is None:
        return PropertyIntakeResult(errors=errors)
    return PropertyIntakeResult(property=result[0], created=result[1])
