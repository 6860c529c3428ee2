"""Saved-search storage, the per-tenant version matchers cache by, and the reads of the matcher
(listings with their valuation, active owners) in one statement each per batch."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.matching import Listing
from domain.saved_search import (
    Channel,
    Frequency,
    SavedSearch,
    criteria_from_json,
    criteria_to_json,
)
from persistence.database import TenantSession
from persistence.pagination import SortKey, parse_timestamp
from persistence.tables import properties, saved_search_versions, saved_searches, users
from persistence.valuation import valuations_by_property_ids

SEARCH_SORT = SortKey(saved_searches.c.created_at, saved_searches.c.id, True, parse_timestamp)


def to_search(row: Any) -> SavedSearch:
    return SavedSearch(
        id=row.id,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        name=row.name,
        criteria=criteria_from_json(row.criteria),
        frequency=Frequency(row.frequency),
        channels=tuple(Channel(channel) for channel in row.channels),
        paused_at=row.paused_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(search: SavedSearch) -> dict[str, Any]:
    return {
        "name": search.name,
        "criteria": criteria_to_json(search.criteria),
        "frequency": search.frequency.value,
        "channels": [channel.value for channel in search.channels],
        "paused_at": search.paused_at,
    }


async def bump_version(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Tell matchers the tenant's searches changed (in the writer's transaction)."""
    v = saved_search_versions
    await conn.execute(
        pg_insert(v)
        .values(tenant_id=tenant_id, version=1)
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"version": v.c.version + 1})
    )


async def version(conn: AsyncConnection, tenant_id: UUID) -> int:
    """The tenant's searches' version (0 before the first write)."""
    v = saved_search_versions.c
    found = await conn.execute(select(v.version).where(v.tenant_id == tenant_id))
    return int(found.scalar() or 0)


async def insert_search(conn: AsyncConnection, search: SavedSearch) -> SavedSearch:
    row = (
        await conn.execute(
            pg_insert(saved_searches)
            .values(
                id=search.id, tenant_id=search.tenant_id, user_id=search.user_id, **_row(search)
            )
            .returning(*saved_searches.c)
        )
    ).one()
    await bump_version(conn, search.tenant_id)
    return to_search(row)


async def update_search(conn: AsyncConnection, search: SavedSearch) -> SavedSearch:
    s = saved_searches.c
    row = (
        await conn.execute(
            update(saved_searches)
            .where(s.tenant_id == search.tenant_id, s.id == search.id)
            .values(**_row(search), updated_at=func.now())
            .returning(*saved_searches.c)
        )
    ).one()
    await bump_version(conn, search.tenant_id)
    return to_search(row)


async def delete_search(conn: AsyncConnection, tenant_id: UUID, search_id: UUID) -> None:
    s = saved_searches.c
    await conn.execute(delete(saved_searches).where(s.tenant_id == tenant_id, s.id == search_id))
    await bump_version(conn, tenant_id)


async def own_search_for_update(
    conn: AsyncConnection, tenant_id: UUID, user_id: UUID, search_id: UUID
) -> SavedSearch | None:
    """The user's own search, locked; None for anyone else's."""
    s = saved_searches.c
    row = (
        await conn.execute(
            select(*saved_searches.c)
            .where(s.tenant_id == tenant_id, s.user_id == user_id, s.id == search_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else to_search(row)


async def count_own(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> int:
    s = saved_searches.c
    found = await conn.execute(
        select(func.count()).where(s.tenant_id == tenant_id, s.user_id == user_id)
    )
    return int(found.scalar() or 0)


async def list_own(
    session: TenantSession,
    tenant_id: UUID,
    user_id: UUID,
    after: tuple[Any, Any] | None,
    limit: int,
) -> list[SavedSearch]:
    """The user's searches, newest first (limit + 1 rows, for hasNextPage)."""
    s = saved_searches.c
    where = [s.tenant_id == tenant_id, s.user_id == user_id]
    if after is not None:
        where.append(SEARCH_SORT.after(*after))
    rows = await session.fetch(
        select(*saved_searches.c).where(*where).order_by(*SEARCH_SORT.order_by()).limit(limit + 1)
    )
    return [to_search(row) for row in rows]


async def count_own_in(session: TenantSession, tenant_id: UUID, user_id: UUID) -> int:
    s = saved_searches.c
    rows = await session.fetch(
        select(func.count()).where(s.tenant_id == tenant_id, s.user_id == user_id)
    )
    return int(rows[0][0])


async def own_searches_by_ids(
    session: TenantSession, tenant_id: UUID, user_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, SavedSearch]:
    """Searches by id, of this user only: anyone else's are not found."""
    s = saved_searches.c
    rows = await session.fetch(
        select(*saved_searches.c).where(
            s.tenant_id == tenant_id, s.user_id == user_id, s.id.in_(ids)
        )
    )
    return {row.id: to_search(row) for row in rows}


async def active_searches(conn: AsyncConnection, tenant_id: UUID) -> list[SavedSearch]:
    """Every search of the tenant that is not paused, oldest first."""
    s = saved_searches.c
    rows = await conn.execute(
        select(*saved_searches.c)
        .where(s.tenant_id == tenant_id, s.paused_at.is_(None))
        .order_by(s.created_at, s.id)
    )
    return [to_search(row) for row in rows]


async def active_users(conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID]) -> set[UUID]:
    """Which of these users may still be told anything (not disabled)."""
    if not ids:
        return set()
    u = users.c
    rows = await conn.execute(
        select(u.id).where(u.tenant_id == tenant_id, u.id.in_(ids), u.disabled_at.is_(None))
    )
    return {row.id for row in rows}


LISTING_COLUMNS = (
    properties.c.id,
    properties.c.tenant_id,
    properties.c.unparsed_address,
    properties.c.city,
    properties.c.postal_code,
    properties.c.latitude,
    properties.c.longitude,
    properties.c.property_type,
    properties.c.standard_status,
    properties.c.list_price,
    properties.c.bedrooms_total,
    properties.c.bathrooms_total_integer,
)


async def listings(
    conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Listing]:
    """Properties as the matcher sees them now, with ARV and score where they are known."""
    if not ids:
        return {}
    p = properties.c
    rows = await conn.execute(
        select(*LISTING_COLUMNS).where(p.tenant_id == tenant_id, p.id.in_(ids))
    )
    found = {row.id: row for row in rows}
    valued = await valuations(conn, tenant_id, list(found))
    result = {}
    for property_id, row in found.items():
        arv, score = valued.get(property_id, (None, None))
        result[property_id] = Listing(
            id=row.id,
            tenant_id=row.tenant_id,
            address=row.unparsed_address,
            city=row.city,
            postal_code=row.postal_code,
            latitude=row.latitude,
            longitude=row.longitude,
            property_type=row.property_type,
            standard_status=row.standard_status,
            list_price=row.list_price,
            bedrooms=row.bedrooms_total,
            bathrooms=row.bathrooms_total_integer,
            arv=arv,
            score=score,
        )
    return result


async def valuations(
    conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, tuple[Decimal | None, int | None]]:
    """(ARV, score) per property from the stored valuations (persistence/valuation.py); a
    property not valued yet is absent (searches with maxPriceToArv or minScore then skip it,
    and match once `property.valued` arrives)."""
    if not ids:
        return {}
    found = await valuations_by_property_ids(conn, tenant_id, list(ids))
    return {
        property_id: (stored.arv, None if stored.score is None else int(stored.score))
        for property_id, stored in found.items()
    }
