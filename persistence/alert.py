"""Alert storage: the inbox of each user, written idempotently and announced in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.alert import Alert, DealTeam, TeamMember, created_event
from domain.permissions import Role
from persistence.database import TenantSession
from persistence.outbox import add_events
from persistence.pagination import SortKey
from persistence.tables import alerts, construction_projects, deal_members, deals, users

ALERT_SORT = SortKey(alerts.c.seq, alerts.c.id, True, int)

# Writers of alerts take this transaction-level lock before drawing seqs, so seqs grow in commit
# order: a subscriber's position (the last seq it got) never passes an alert still committing.
ALERTS_LOCK = 7_463_222


def to_alert(row: Any) -> Alert:
    return Alert(**row._mapping)


async def deal_team(conn: AsyncConnection, tenant_id: UUID, deal_id: UUID) -> DealTeam | None:
    """A deal with its active team members (in the order they joined), or None."""
    deal = (
        await conn.execute(
            select(deals.c.name, deals.c.property_id).where(
                deals.c.tenant_id == tenant_id, deals.c.id == deal_id
            )
        )
    ).first()
    if deal is None:
        return None
    m, u = deal_members.c, users.c
    rows = await conn.execute(
        select(m.user_id, u.role)
        .join_from(deal_members, users, and_(u.tenant_id == m.tenant_id, u.id == m.user_id))
        .where(m.tenant_id == tenant_id, m.deal_id == deal_id, u.disabled_at.is_(None))
        .order_by(m.added_at, m.user_id)
    )
    members = tuple(TeamMember(row.user_id, Role(row.role)) for row in rows)
    return DealTeam(deal_id=deal_id, name=deal.name, property_id=deal.property_id, members=members)


async def project_deal_id(conn: AsyncConnection, tenant_id: UUID, project_id: UUID) -> UUID | None:
    c = construction_projects.c
    return (
        await conn.execute(select(c.deal_id).where(c.tenant_id == tenant_id, c.id == project_id))
    ).scalar()


async def insert_alerts(
    conn: AsyncConnection, new: Sequence[Alert], correlation_id: str | None = None
) -> list[Alert]:
    """Store alerts whose (user, dedupe key) is new and announce each with `alert.created`,
    in the caller's transaction; the ones that were stored, in seq order."""
    if not new:
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALERTS_LOCK})
    rows = await conn.execute(
        pg_insert(alerts)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": alert.tenant_id,
                    "user_id": alert.user_id,
                    "kind": alert.kind,
                    "title": alert.title,
                    "body": alert.body,
                    "score": alert.score,
                    "reasons": alert.reasons,
                    "property_id": alert.property_id,
                    "deal_id": alert.deal_id,
                    "saved_search_id": alert.saved_search_id,
                    "source_event_id": alert.source_event_id,
                    "dedupe_key": alert.dedupe_key,
                }
                for alert in new
            ]
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "user_id", "dedupe_key"])
        .returning(*alerts.c)
    )
    stored = sorted((to_alert(row) for row in rows), key=lambda alert: alert.seq or 0)
    await add_events(conn, [created_event(alert, correlation_id) for alert in stored])
    return stored


def _mine(tenant_id: UUID, user_id: UUID, unread_only: bool = False) -> list[Any]:
    a = alerts.c
    where = [a.tenant_id == tenant_id, a.user_id == user_id]
    if unread_only:
        where.append(a.read_at.is_(None))
    return where


async def list_alerts(
    session: TenantSession,
    tenant_id: UUID,
    user_id: UUID,
    unread_only: bool,
    after: tuple[Any, Any] | None,
    limit: int,
) -> list[Alert]:
    """A user's alerts, newest first (limit + 1 rows, for the page's hasNextPage)."""
    where = _mine(tenant_id, user_id, unread_only)
    if after is not None:
        where.append(ALERT_SORT.after(*after))
    rows = await session.fetch(
        select(*alerts.c).where(*where).order_by(*ALERT_SORT.order_by()).limit(limit + 1)
    )
    return [to_alert(row) for row in rows]


async def count_alerts(
    session: TenantSession, tenant_id: UUID, user_id: UUID, unread_only: bool
) -> int:
    rows = await session.fetch(
        select(func.count()).select_from(alerts).where(*_mine(tenant_id, user_id, unread_only))
    )
    return int(rows[0][0])


async def alerts_by_ids(
    session: TenantSession, tenant_id: UUID, user_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Alert]:
    """Alerts by id, of this user only: anyone else's are simply not found."""
    rows = await session.fetch(
        select(*alerts.c).where(*_mine(tenant_id, user_id), alerts.c.id.in_(ids))
    )
    return {row.id: to_alert(row) for row in rows}


async def mark_read(
    conn: AsyncConnection, tenant_id: UUID, user_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Alert]:
    """Mark the user's alerts read (an alert read before keeps its first read time)."""
    a = alerts.c
    rows = await conn.execute(
        update(alerts)
        .where(*_mine(tenant_id, user_id), a.id.in_(ids))
        .values(read_at=func.coalesce(a.read_at, func.now()))
        .returning(*alerts.c)
    )
    return {row.id: to_alert(row) for row in rows}


async def last_alert_seq(session: TenantSession, tenant_id: UUID, user_id: UUID) -> int:
    """The position of the user's newest alert (0 when they have none)."""
    rows = await session.fetch(
        select(func.coalesce(func.max(alerts.c.seq), 0)).where(*_mine(tenant_id, user_id))
    )
    return int(rows[0][0])


async def alerts_after(
    session: TenantSession, tenant_id: UUID, user_id: UUID, after_seq: int, limit: int
) -> list[Alert]:
    """The user's alerts after a position, oldest first (for replaying to a subscriber)."""
    rows = await session.fetch(
        select(*alerts.c)
        .where(*_mine(tenant_id, user_id), alerts.c.seq > after_seq)
        .order_by(alerts.c.seq)
        .limit(limit)
    )
    return [to_alert(row) for row in rows]
