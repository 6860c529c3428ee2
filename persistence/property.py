"""Property storage: reads for lists and loaders, writes with provenance and events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.property import Property, Provenance
from persistence.database import TenantSession
from persistence.pagination import SortKey, parse_timestamp
from persistence.tables import properties, property_media, property_provenance

COLUMNS = [c for c in properties.c]


@dataclass(slots=True)
class Media:
    id: UUID
    property_id: UUID
    url: str
    media_category: str
    short_description: str | None
    order: int


@dataclass
class PropertyListQuery:
    tenant_id: UUID
    city: str | None = None
    postal_code: str | None = None
    property_types: list[str] | None = None
    standard_statuses: list[str] | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_bedrooms: int | None = None
    max_bedrooms: int | None = None
    min_bathrooms: int | None = None
    max_bathrooms: int | None = None
    min_living_area: Decimal | None = None
    max_living_area: Decimal | None = None
    text: str | None = None
    ids: list[UUID] | None = field(default=None)


MAX_MONEY = Decimal("1e12")  # numeric(14, 2)
MAX_AREA = Decimal("1e10")  # numeric(12, 2)


def in_column_range(value: Decimal, limit: Decimal) -> bool:
    """Whether a decimal is finite and fits a numeric column bounded by limit."""
    return value.is_finite() and abs(value) < limit


def _money(raw: str) -> Decimal:
    value = Decimal(raw)
    if not in_column_range(value, MAX_MONEY):
        raise ValueError("amount out of range")
    return value


NOT_NULL_SORTS = {"created_at", "updated_at"}  # NOT NULL in the table: no nulls-last term
SORTS = {
    "LIST_PRICE": ("list_price", _money),
    "LISTED_DATE": ("listing_contract_date", date.fromisoformat),
    "UPDATED_AT": ("updated_at", parse_timestamp),
    "CREATED_AT": ("created_at", parse_timestamp),
}


def sort_key(field_name: str, descending: bool) -> SortKey:
    """The keyset sort for an order field."""
    column_name, parse = SORTS[field_name]
    nullable = column_name not in NOT_NULL_SORTS
    return SortKey(properties.c[column_name], properties.c.id, descending, parse, nullable=nullable)


def to_property(row: Any) -> Property:
    return Property(**row._mapping)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(query: PropertyListQuery) -> list[Any]:
    c = properties.c
    where: list[Any] = [c.tenant_id == query.tenant_id]
    if query.city:
        where.append(func.lower(c.city) == query.city.strip().lower())
    if query.postal_code:
        where.append(c.postal_code == query.postal_code.strip())
    if query.property_types:
        where.append(c.property_type.in_(query.property_types))
    if query.standard_statuses:
        where.append(c.standard_status.in_(query.standard_statuses))
    bounds = (
        (c.list_price, query.min_price, query.max_price),
        (c.bedrooms_total, query.min_bedrooms, query.max_bedrooms),
        (c.bathrooms_total_integer, query.min_bathrooms, query.max_bathrooms),
        (c.living_area, query.min_living_area, query.max_living_area),
    )
    for column, low, high in bounds:
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if query.text:
        for word in query.text.lower().split()[:8]:
            where.append(c.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    return where


async def list_properties(
    session: TenantSession,
    query: PropertyListQuery,
    sort: SortKey,
    after: tuple[Any, UUID] | None,
    limit: int,
) -> list[Property]:
    """One page of properties (limit + 1 rows are read to tell whether more follow)."""
    where = _conditions(query)
    if after is not None:
        where.append(sort.after(*after))
    statement = select(*COLUMNS).where(*where).order_by(*sort.order_by()).limit(limit + 1)
    return [to_property(row) for row in await session.fetch(statement)]


async def count_properties(session: TenantSession, query: PropertyListQuery) -> int:
    rows = await session.fetch(
        select(func.count()).select_from(properties).where(*_conditions(query))
    )
    return rows[0][0]


async def properties_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Property]:
    rows = await session.fetch(
        select(*COLUMNS).where(properties.c.tenant_id == tenant_id, properties.c.id.in_(ids))
    )
    return {row.id: to_property(row) for row in rows}


async def media_by_property_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, list[Media]]:
    m = property_media.c
    rows = await session.fetch(
        select(m.id, m.property_id, m.url, m.media_category, m.short_description, m.order)
        .where(m.tenant_id == tenant_id, m.property_id.in_(ids))
        .order_by(m.property_id, m.order, m.id)
    )
    grouped: dict[UUID, list[Media]] = {}
    for row in rows:
        grouped.setdefault(row.property_id, []).append(Media(**row._mapping))
    return grouped


async def provenance_by_property_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, list[Provenance]]:
    p = property_provenance.c
    rows = await session.fetch(
        select(p.property_id, p.field, p.source, p.fetched_at, p.confidence, p.locked)
        .where(p.tenant_id == tenant_id, p.property_id.in_(ids))
        .order_by(p.property_id, p.field)
    )
    grouped: dict[UUID, list[Provenance]] = {}
    for row in rows:
        values = dict(row._mapping)
        grouped.setdefault(values.pop("property_id"), []).append(Provenance(**values))
    return grouped


async def find_by_keys(
    conn: AsyncConnection, tenant_id: UUID, parcel_key: str | None, address_key: str
) -> Property | None:
    """The property with this parcel (preferred) or address, locked for update."""
    c = properties.c
    for column, key in ((c.parcel_key, parcel_key), (c.address_key, address_key)):
        if key is None:
            continue
        row = (
            await conn.execute(
                select(*COLUMNS).where(c.tenant_id == tenant_id, column == key).with_for_update()
            )
        ).first()
        if row is not None:
            return to_property(row)
    return None


async def get_for_update(
    conn: AsyncConnection, tenant_id: UUID, property_id: UUID
) -> Property | None:
    c = properties.c
    row = (
        await conn.execute(
            select(*COLUMNS).where(c.tenant_id == tenant_id, c.id == property_id).with_for_update()
        )
    ).first()
    return to_property(row) if row else None


async def locked_fields(conn: AsyncConnection, tenant_id: UUID, property_id: UUID) -> set[str]:
    p = property_provenance.c
    rows = await conn.execute(
        select(p.field).where(p.tenant_id == tenant_id, p.property_id == property_id, p.locked)
    )
    return {row.field for row in rows}


async def insert_property(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> Property | None:
    """The new property, or None when its parcel or address is already on file."""
    row = (
        await conn.execute(
            pg_insert(properties)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .on_conflict_do_nothing()
            .returning(*COLUMNS)
        )
    ).first()
    return to_property(row) if row else None


async def update_property(
    conn: AsyncConnection, tenant_id: UUID, property_id: UUID, values: dict[str, Any]
) -> Property:
    c = properties.c
    row = (
        await conn.execute(
            update(properties)
            .where(c.tenant_id == tenant_id, c.id == property_id)
            .values(**values, updated_at=func.now())
            .returning(*COLUMNS)
        )
    ).one()
    return to_property(row)


async def delete_property(conn: AsyncConnection, tenant_id: UUID, property_id: UUID) -> bool:
    c = properties.c
    result = await conn.execute(
        delete(properties).where(c.tenant_id == tenant_id, c.id == property_id).returning(c.id)
    )
    return result.first() is not None


async def record_provenance(
    conn: AsyncConnection,
    tenant_id: UUID,
    property_id: UUID,
    fields: Iterable[str],
    source: str,
    fetched_at: datetime,
    confidence: Decimal,
    locked: bool,
) -> None:
    """Upsert where each field's current value came from."""
    rows = [
        {
            "tenant_id": tenant_id,
            "property_id": property_id,
            "field": name,
            "source": source,
            "fetched_at": fetched_at,
            "confidence": confidence,
            "locked": locked,
        }
        for name in fields
    ]
    if not rows:
        return
    statement = pg_insert(property_provenance).values(rows)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "property_id", "field"],
            set_={
                "source": statement.excluded.source,
                "fetched_at": statement.excluded.fetched_at,
                "confidence": statement.excluded.confidence,
                "locked": statement.excluded.locked,
            },
        )
    )


async def replace_media(
    conn: AsyncConnection, tenant_id: UUID, property_id: UUID, media: list[dict[str, Any]]
) -> None:
    m = property_media.c
    await conn.execute(
        delete(property_media).where(m.tenant_id == tenant_id, m.property_id == property_id)
    )
    if media:
        await conn.execute(
            insert(property_media),
            [
                {"id": uuid.uuid4(), "tenant_id": tenant_id, "property_id": property_id, **item}
                for item in media
            ],
        )


async def media_of(
    conn: AsyncConnection, tenant_id: UUID, property_id: UUID
) -> list[dict[str, Any]]:
    """A property's media as plain values, in display order."""
    m = property_media.c
    rows = await conn.execute(
        select(m.url, m.media_category, m.short_description, m.order)
        .where(m.tenant_id == tenant_id, m.property_id == property_id)
        .order_by(m.order, m.id)
    )
    return [dict(row._mapping) for row in rows]
