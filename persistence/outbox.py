"""The transactional outbox: events commit with the change that caused them, or not at all."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import Event
from persistence.tables import outbox


async def add_events(
    conn: AsyncConnection, events: Sequence[Event], correlation_id: str | None = None
) -> None:
    """Insert events in the caller's transaction."""
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
                "correlation_id": correlation_id,
                "actor_id": event.actor_id,
                "payload": event.payload,
            }
            for event in events
        ],
    )
