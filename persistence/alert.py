"""Alert storage: the inbox of each user, written idempotently and announced in the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Integer, Text, and_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
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
INSERT_CHUNK = 5000  # alerts per INSERT (bounded statements, bounded memory)


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
    """Store alerts whose (user, dedupe key) is new and announce each (`alert.created`, or
    `alert.matched` for saved-search matches) in the caller's transaction; the ones that were
    stored, in seq order."""
    if not new:
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALERTS_LOCK})
    stored: list[Alert] = []
    for start in range(0, len(new), INSERT_CHUNK):
        chunk = new[start : start + INSERT_CHUNK]
        rows = await conn.execute(INSERT_ALERTS, _columns(chunk))
        stored += (to_alert(row) for row in rows)
    stored.sort(key=lambda alert: alert.seq or 0)
    await add_events(conn, [created_event(alert, correlation_id) for alert in stored])
    return stored


# One statement for any number of rows (arrays, unnested): compiled and prepared once, unlike a
# multi-row VALUES list, whose text changes with its length.
_ARRAYS = {
    "ids": ARRAY(PG_UUID(as_uuid=True)),
    "tenant_ids": ARRAY(PG_UUID(as_uuid=True)),
    "user_ids": ARRAY(PG_UUID(as_uuid=True)),
    "kinds": ARRAY(Text),
    "titles": ARRAY(Text),
    "bodies": ARRAY(Text),
    "scores": ARRAY(Integer),
    "reasons": ARRAY(Text),
    "property_ids": ARRAY(PG_UUID(as_uuid=True)),
    "deal_ids": ARRAY(PG_UUID(as_uuid=True)),
    "saved_search_ids": ARRAY(PG_UUID(as_uuid=True)),
    "source_event_ids": ARRAY(PG_UUID(as_uuid=True)),
    "dedupe_keys": ARRAY(Text),
}
INSERT_ALERTS = (
    text(
        "INSERT INTO alerts (id, tenant_id, user_id, kind, title, body, score, reasons,"
        " property_id, deal_id, saved_search_id, source_event_id, dedupe_key)"
        " SELECT id, tenant_id, user_id, kind, title, body, score, reasons::jsonb,"
        " property_id, deal_id, saved_search_id, source_event_id, dedupe_key"
        " FROM unnest(:ids, :tenant_ids, :user_ids, :kinds, :titles, :bodies, :scores,"
        " :reasons, :property_ids, :deal_ids, :saved_search_ids, :source_event_ids,"
        " :dedupe_keys) AS t(id, tenant_id, user_id, kind, title, body, score, reasons,"
        " property_id, deal_id, saved_search_id, source_event_id, dedupe_key)"
        " ON CONFLICT (tenant_id, user_id, dedupe_key) DO NOTHING"
        " RETURNING " + ", ".join(column.name for column in alerts.c)
    )
    .bindparams(*(bindparam(name, type_=kind) for name, kind in _ARRAYS.items()))
    .columns(*alerts.c)
)


def _columns(chunk: Sequence[Alert]) -> dict[str, list[Any]]:
    return {
        "ids": [uuid.uuid4() for _ in chunk],
        "tenant_ids": [alert.tenant_id for alert in chunk],
        "user_ids": [alert.user_id for alert in chunk],
        "kinds": [alert.kind for alert in chunk],
        "titles": [alert.title for alert in chunk],
        "bodies": [alert.body for alert in chunk],
        "scores": [alert.score for alert in chunk],
        "reasons": [json.dumps(alert.reasons) for alert in chunk],
        "property_ids": [alert.property_id for alert in chunk],
        "deal_ids": [alert.deal_id for alert in chunk],
        "saved_search_ids": [alert.saved_search_id for alert in chunk],
        "source_event_ids": [alert.source_event_id for alert in chunk],
        "dedupe_keys": [alert.dedupe_key for alert in chunk],
    }


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
