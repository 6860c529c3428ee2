"""The transactional outbox: events commit with the change that caused them, or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import Event
from persistence.database import TenantSession
from persistence.tables import outbox


async def add_events(
    conn: AsyncConnection, events: Sequence[Event], correlation_id: str | None = None
) -> None:
    """Insert events in the caller's transaction (correlated to the request, or to their cause)."""
    if not events:
        return
    await conn.execute(
        insert(outbox),
        [
            {
                "event_id": event.event_id,
                "tenant_id": event.tenant_id,
                "event_type": event.event_type,
                "aggregate_type": event.aggregate_type,
                "aggregate_id": event.aggregate_id,
                "occurred_at": event.occurred_at,
                "correlation_id": correlation_id or event.correlation_id,
                "actor_id": event.actor_id,
                "payload": event.payload,
            }
            for event in events
        ],
    )


async def events_after(
    session: TenantSession,
    tenant_id: UUID,
    aggregate_type: str,
    aggregate_id: UUID,
    event_types: Sequence[str],
    after_id: int,
    limit: int,
) -> list[dict[str, Any]]:
    """An aggregate's committed events after a cursor, oldest first (for replay)."""
    o = outbox.c
    rows = await session.fetch(
        select(o.id, o.event_id, o.event_type, o.payload, o.tenant_id)
        .where(
            o.tenant_id == tenant_id,
            o.aggregate_type == aggregate_type,
            o.aggregate_id == aggregate_id,
            o.event_type.in_(list(event_types)),
            o.id > after_id,
        )
        .order_by(o.id)
        .limit(limit)
    )
    return [
        {
            "cursor": r.id,
            "event_id": str(r.event_id),
            "event_type": r.event_type,
            "payload": r.payload,
            "tenant_id": str(r.tenant_id),
        }
        for r in rows
    ]


async def last_event_cursor(
    session: TenantSession, tenant_id: UUID, aggregate_type: str, aggregate_id: UUID
) -> int:
    """The cursor of an aggregate's newest committed event (0 when it has none)."""
    o = outbox.c
    rows = await session.fetch(
        select(func.coalesce(func.max(o.id), 0)).where(
            o.tenant_id == tenant_id,
            o.aggregate_type == aggregate_type,
            o.aggregate_id == aggregate_id,
        )
    )
    return int(rows[0][0])
