"""Deal, team, offer and timeline storage."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.deal import Deal, DealMember, Offer
from domain.timeline import TimelineEntry
from persistence.database import TenantSession
from persistence.pagination import SortKey, first_rows_per_parent, parse_timestamp
from persistence.tables import deal_members, deals, offers, timeline_entries

DEAL_COLUMNS = list(deals.c)
OFFER_COLUMNS = list(offers.c)
TIMELINE_COLUMNS = list(timeline_entries.c)


DEAL_SORT = SortKey(deals.c.created_at, deals.c.id, True, parse_timestamp, nullable=False)
TIMELINE_SORT = SortKey(timeline_entries.c.seq, timeline_entries.c.id, True, int)


def to_deal(row: Any) -> Deal:
    return Deal(**row._mapping)


def to_offer(row: Any) -> Offer:
    return Offer(**row._mapping)


def to_entry(row: Any) -> TimelineEntry:
    return TimelineEntry(**row._mapping)


@dataclass
class DealListQuery:
    tenant_id: UUID
    statuses: list[str] | None = None
    strategies: list[str] | None = None
    property_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _deal_conditions(query: DealListQuery) -> list[Any]:
    c = deals.c
    where: list[Any] = [c.tenant_id == query.tenant_id]
    if query.statuses:
        where.append(c.status.in_(query.statuses))
    if query.strategies:
        where.append(c.strategy.in_(query.strategies))
    if query.property_id:
        where.append(c.property_id == query.property_id)
    if query.created_from:
        where.append(c.created_at >= query.created_from)
    if query.created_to:
        where.append(c.created_at < query.created_to)
    return where


async def list_deals(
    session: TenantSession, query: DealListQuery, after: tuple[Any, UUID] | None, limit: int
) -> list[Deal]:
    where = _deal_conditions(query)
    if after is not None:
        where.append(DEAL_SORT.after(*after))
    statement = select(*DEAL_COLUMNS).where(*where).order_by(*DEAL_SORT.order_by()).limit(limit + 1)
    return [to_deal(row) for row in await session.fetch(statement)]


async def count_deals(session: TenantSession, query: DealListQuery) -> int:
    rows = await session.fetch(
        select(func.count()).select_from(deals).where(*_deal_conditions(query))
    )
    return rows[0][0]


async def deals_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Deal]:
    rows = await session.fetch(
        select(*DEAL_COLUMNS).where(deals.c.tenant_id == tenant_id, deals.c.id.in_(ids))
    )
    return {row.id: to_deal(row) for row in rows}


async def deals_by_property_ids(
    session: TenantSession,
    tenant_id: UUID,
    property_ids: Sequence[UUID],
    limit: int,
    after: tuple[Any, UUID] | None,
) -> dict[UUID, list[Deal]]:
    """The first limit + 1 deals of each property, newest first."""
    where = [deals.c.tenant_id == tenant_id, deals.c.property_id.in_(property_ids)]
    if after is not None:
        where.append(DEAL_SORT.after(*after))
    statement = first_rows_per_parent(
        DEAL_COLUMNS, deals.c.property_id, DEAL_SORT.order_by(), where, limit + 1
    )
    grouped: dict[UUID, list[Deal]] = defaultdict(list)
    for row in await session.fetch(statement):
        grouped[row.property_id].append(to_deal(row))
    return grouped


async def count_deals_by_property_ids(
    session: TenantSession, tenant_id: UUID, property_ids: Sequence[UUID]
) -> dict[UUID, int]:
    rows = await session.fetch(
        select(deals.c.property_id, func.count())
        .where(deals.c.tenant_id == tenant_id, deals.c.property_id.in_(property_ids))
        .group_by(deals.c.property_id)
    )
    return {row[0]: row[1] for row in rows}


async def insert_deal(conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]) -> Deal:
    row = (
        await conn.execute(
            insert(deals)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*DEAL_COLUMNS)
        )
    ).one()
    return to_deal(row)


async def get_deal_for_update(conn: AsyncConnection, tenant_id: UUID, deal_id: UUID) -> Deal | None:
    row = (
        await conn.execute(
            select(*DEAL_COLUMNS)
            .where(deals.c.tenant_id == tenant_id, deals.c.id == deal_id)
            .with_for_update()
        )
    ).first()
    return to_deal(row) if row else None


async def update_deal(
    conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, values: dict[str, Any]
) -> Deal:
    row = (
        await conn.execute(
            update(deals)
            .where(deals.c.tenant_id == tenant_id, deals.c.id == deal_id)
            .values(**values, updated_at=func.now())
            .returning(*DEAL_COLUMNS)
        )
    ).one()
    return to_deal(row)


async def members_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, list[DealMember]]:
    m = deal_members.c
    rows = await session.fetch(
        select(m.deal_id, m.user_id, m.role, m.added_at)
        .where(m.tenant_id == tenant_id, m.deal_id.in_(deal_ids))
        .order_by(m.deal_id, m.added_at, m.user_id)
    )
    grouped: dict[UUID, list[DealMember]] = defaultdict(list)
    for row in rows:
        grouped[row.deal_id].append(DealMember(**row._mapping))
    return grouped


async def set_member(
    conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, user_id: UUID, role: str
) -> None:
    statement = pg_insert(deal_members).values(
        tenant_id=tenant_id, deal_id=deal_id, user_id=user_id, role=role
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "deal_id", "user_id"],
            set_={"role": statement.excluded.role},
        )
    )


async def remove_member(
    conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, user_id: UUID
) -> bool:
    m = deal_members.c
    result = await conn.execute(
        delete(deal_members)
        .where(m.tenant_id == tenant_id, m.deal_id == deal_id, m.user_id == user_id)
        .returning(m.user_id)
    )
    return result.first() is not None


async def offers_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, list[Offer]]:
    o = offers.c
    rows = await session.fetch(
        select(*OFFER_COLUMNS)
        .where(o.tenant_id == tenant_id, o.deal_id.in_(deal_ids))
        .order_by(o.deal_id, o.created_at.desc(), o.id.desc())
    )
    grouped: dict[UUID, list[Offer]] = defaultdict(list)
    for row in rows:
        grouped[row.deal_id].append(to_offer(row))
    return grouped


async def offers_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Offer]:
    rows = await session.fetch(
        select(*OFFER_COLUMNS).where(offers.c.tenant_id == tenant_id, offers.c.id.in_(ids))
    )
    return {row.id: to_offer(row) for row in rows}


async def insert_offer(conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]) -> Offer:
    row = (
        await conn.execute(
            insert(offers)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*OFFER_COLUMNS)
        )
    ).one()
    return to_offer(row)


async def get_offer(conn: AsyncConnection, tenant_id: UUID, offer_id: UUID) -> Offer | None:
    row = (
        await conn.execute(
            select(*OFFER_COLUMNS).where(offers.c.tenant_id == tenant_id, offers.c.id == offer_id)
        )
    ).first()
    return to_offer(row) if row else None


async def set_offer_status(
    conn: AsyncConnection, tenant_id: UUID, offer_id: UUID, status: str, responded_by: UUID
) -> Offer:
    row = (
        await conn.execute(
            update(offers)
            .where(offers.c.tenant_id == tenant_id, offers.c.id == offer_id)
            .values(status=status, responded_by=responded_by, responded_at=func.now())
            .returning(*OFFER_COLUMNS)
        )
    ).one()
    return to_offer(row)


async def offers_of_deal(conn: AsyncConnection, tenant_id: UUID, deal_id: UUID) -> list[Offer]:
    rows = await conn.execute(
        select(*OFFER_COLUMNS).where(offers.c.tenant_id == tenant_id, offers.c.deal_id == deal_id)
    )
    return [to_offer(row) for row in rows]


async def insert_entry(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> TimelineEntry:
    row = (
        await conn.execute(
            insert(timeline_entries)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*TIMELINE_COLUMNS)
        )
    ).one()
    return to_entry(row)


async def timeline_by_deal_ids(
    session: TenantSession,
    tenant_id: UUID,
    deal_ids: Sequence[UUID],
    limit: int,
    after: tuple[Any, Any] | None,
) -> dict[UUID, list[TimelineEntry]]:
    """The first limit + 1 entries of each deal, newest first."""
    t = timeline_entries.c
    where = [t.tenant_id == tenant_id, t.deal_id.in_(deal_ids)]
    if after is not None:
        where.append(t.seq < after[0])
    statement = first_rows_per_parent(TIMELINE_COLUMNS, t.deal_id, [t.seq.desc()], where, limit + 1)
    grouped: dict[UUID, list[TimelineEntry]] = defaultdict(list)
    for row in await session.fetch(statement):
        grouped[row.deal_id].append(to_entry(row))
    return grouped


async def count_timeline_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, int]:
    t = timeline_entries.c
    rows = await session.fetch(
        select(t.deal_id, func.count())
        .where(t.tenant_id == tenant_id, t.deal_id.in_(deal_ids))
        .group_by(t.deal_id)
    )
    return {row[0]: row[1] for row in rows}


async def entries_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, TimelineEntry]:
    t = timeline_entries.c
    rows = await session.fetch(
        select(*TIMELINE_COLUMNS).where(t.tenant_id == tenant_id, t.id.in_(ids))
    )
    return {row.id: to_entry(row) for row in rows}


def now() -> datetime:
    return datetime.now(UTC)


async def count_deals_by_property(conn: AsyncConnection, tenant_id: UUID, property_id: UUID) -> int:
    row = (
        await conn.execute(
            select(func.count()).where(
                deals.c.tenant_id == tenant_id, deals.c.property_id == property_id
            )
        )
    ).one()
    return row[0]


async def last_timeline_seq(session: TenantSession, tenant_id: UUID, deal_id: UUID) -> int:
    """The position of a deal's newest timeline entry (-1 when it has none)."""
    t = timeline_entries.c
    rows = await session.fetch(
        select(func.coalesce(func.max(t.seq), -1)).where(
            t.tenant_id == tenant_id, t.deal_id == deal_id
        )
    )
    return int(rows[0][0])


async def timeline_after(
    session: TenantSession, tenant_id: UUID, deal_id: UUID, after_seq: int, limit: int
) -> list[TimelineEntry]:
    """A deal's entries after a position, oldest first (for replaying to a subscriber)."""
    t = timeline_entries.c
    rows = await session.fetch(
        select(*TIMELINE_COLUMNS)
        .where(t.tenant_id == tenant_id, t.deal_id == deal_id, t.seq > after_seq)
        .order_by(t.seq)
        .limit(limit)
    )
    return [to_entry(row) for row in rows]
