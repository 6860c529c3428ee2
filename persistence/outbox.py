"""The transactional outbox: events commit with the change that caused them, or not at all."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, DateTime, Text, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
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
    if len(events) >= BULK_EVENTS:
        await conn.execute(INSERT_MANY, _arrays(events, correlation_id))
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


BULK_EVENTS = 50  # from this many events on, one INSERT ... SELECT FROM unnest(arrays)
_UUIDS = ARRAY(PG_UUID(as_uuid=True))
INSERT_MANY = text(
    "INSERT INTO outbox (event_id, tenant_id, event_type, aggregate_type, aggregate_id,"
    " occurred_at, correlation_id, actor_id, payload)"
    " SELECT event_id, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at,"
    " correlation_id, actor_id, payload::jsonb"
    " FROM unnest(:event_ids, :tenant_ids, :event_types, :aggregate_types, :aggregate_ids,"
    " :occurred_ats, :correlation_ids, :actor_ids, :payloads)"
    " AS t(event_id, tenant_id, event_type, aggregate_type, aggregate_id, occurred_at,"
    " correlation_id, actor_id, payload)"
).bindparams(
    bindparam("event_ids", type_=_UUIDS),
    bindparam("tenant_ids", type_=_UUIDS),
    bindparam("event_types", type_=ARRAY(Text)),
    bindparam("aggregate_types", type_=ARRAY(Text)),
    bindparam("aggregate_ids", type_=_UUIDS),
    bindparam("occurred_ats", type_=ARRAY(DateTime(timezone=True))),
    bindparam("correlation_ids", type_=ARRAY(Text)),
    bindparam("actor_ids", type_=_UUIDS),
    bindparam("payloads", type_=ARRAY(Text)),
)


def _arrays(events: Sequence[Event], correlation_id: str | None) -> dict[str, list[Any]]:
    """The events as one array per column (one statement, whatever their number)."""
    return {
        "event_ids": [event.event_id for event in events],
        "tenant_ids": [event.tenant_id for event in events],
        "event_types": [event.event_type for event in events],
        "aggregate_types": [event.aggregate_type for event in events],
        "aggregate_ids": [event.aggregate_id for event in events],
        "occurred_ats": [event.occurred_at for event in events],
        "correlation_ids": [correlation_id or event.correlation_id for event in events],
        "actor_ids": [event.actor_id for event in events],
        "payloads": [json.dumps(event.payload) for event in events],
    }


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
