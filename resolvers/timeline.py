"""Writing timeline entries: each one commits with its change and is announced in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import Event
from domain.timeline import TimelineEntry, TimelineKind
from persistence import deal as store
from persistence.outbox import add_events
from resolvers.context import Context


async def record(
    conn: AsyncConnection,
    ctx: Context,
    deal_id: UUID,
    kind: TimelineKind,
    message: str,
    data: dict[str, Any] | None = None,
    mentions: Sequence[UUID] = (),
    events: Sequence[Event] = (),
) -> TimelineEntry:
    """Add an entry to a deal's timeline plus its events, in the caller's transaction."""
    principal = ctx.require()
    entry = await store.insert_entry(
        conn,
        principal.tenant_id,
        {
            "deal_id": deal_id,
            "actor_id": principal.user_id,
            "kind": kind.value,
            "message": message,
            "data": data or {},
            "mentions": list(mentions),
        },
    )
    added = Event(
        event_type="timeline.entry_added",
        aggregate_type="deal",
        aggregate_id=deal_id,
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        payload={
            "entry_id": str(entry.id),
            "deal_id": str(deal_id),
            "seq": entry.seq,
            "kind": kind.value,
            "message": message,
            "mentions": [str(user_id) for user_id in mentions],
        },
    )
    await add_events(conn, [*events, added], ctx.request_id)
    return entry


def deal_event(
    ctx: Context, deal_id: UUID, event_type: str, payload: dict[str, Any], aggregate: str = "deal"
) -> Event:
    """A domain event about a deal (or one of its offers, budgets, transactions)."""
    principal = ctx.require()
    return Event(
        event_type=event_type,
        aggregate_type=aggregate,
        aggregate_id=deal_id,
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        payload={"deal_id": str(deal_id), **payload},
    )
