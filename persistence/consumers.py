"""Outbox consumers: background work driven by published events, exactly once per position.

A consumer (alerts today; search indexing, saved-search matching later) reads the events the
relay has published, in `published_seq` order, and keeps its position in `outbox_consumers`.
One transaction locks the position row, reads a batch past the position, hands each event to
`handle` inside the event's own tenant, and advances the position: the work and the new
position commit together, or neither does. Handlers write idempotently anyway (ON CONFLICT on
dedupe keys), so a consumer that is reset or rerun does nothing twice.

`published_seq` is drawn by the one relay publishing at a time, for rows whose transactions
have committed, so it grows in commit order: everything up to the highest number a consumer
sees is already visible to it, and a row that committed late gets a later number rather than
falling behind the position.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.events import Event
from persistence.database import act_as_worker
from persistence.passes import run_passes
from persistence.tables import outbox, outbox_consumers

logger = logging.getLogger("reos.consumers")

PUBLISHED_CHANNEL = "reos_published"  # the relay NOTIFYs here when a publishing pass commits

SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant_id, true)")


def _event(row: Any) -> Event:
    return Event(
        event_type=row.event_type,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        tenant_id=row.tenant_id,
        payload=row.payload,
        actor_id=row.actor_id,
        event_id=row.event_id,
        occurred_at=row.occurred_at,
        correlation_id=row.correlation_id,
    )


def _transient(error: Exception) -> bool:
    """Lost connections and timeouts: the event is not at fault, so it is not given up on."""
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated)
    return isinstance(error, OSError | TimeoutError)


class OutboxConsumer:
    """Subclasses set `name` and `event_types` and implement `handle`."""

    name: str = ""
    event_types: tuple[str, ...] = ()

    def __init__(
        self,
        engine: AsyncEngine,
        batch: int = 100,
        poll_seconds: float = 2.0,
        max_attempts: int = 5,
    ) -> None:
        if not self.name or not self.event_types:
            raise TypeError("an outbox consumer needs a name and event types")
        self.engine = engine
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.handled = 0
        self._wake = asyncio.Event()
        self._failing: tuple[UUID, int] | None = None  # (event id, consecutive failures)
        self._batches = type(self).handle_batch is not OutboxConsumer.handle_batch
        self._isolating = False  # a batch failed: find the event at fault, one at a time

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        """Do this consumer's work for one event, in the event's tenant and the pass's
        transaction. Raising rolls the whole pass back; it is retried with backoff."""
        raise NotImplementedError

    async def handle_batch(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Do the work for consecutive events of one tenant (in order), inside that tenant.

        By default one `handle` per event. Consumers that share work across events (one read
        for many) override this; when such a batch fails, the next passes hand events over one
        at a time, so the event at fault is found and, after `max_attempts`, skipped."""
        for event in events:
            await self.handle(conn, event)

    def wake(self) -> None:
        """Look for events now rather than at the next poll."""
        self._wake.set()

    async def position(self) -> int:
        """How far this consumer has got (0 before its first pass)."""
        async with self.engine.connect() as conn:
            found = await conn.execute(
                select(outbox_consumers.c.position).where(outbox_consumers.c.name == self.name)
            )
            return found.scalar() or 0

    async def run_once(self) -> int:
        """Handle one batch; how many events were read (0 while another instance consumes)."""
        async with self.engine.begin() as conn:
            await act_as_worker(conn, "consumer")
            position = await self._lock(conn)
            if position is None:
                return 0
            rows = (await conn.execute(self._batch(position))).all()
            high = rows[0].high if rows else None
            events = [row for row in rows if row.published_seq is not None]
            if self._batches and not self._isolating:
                await self._handle_batches(conn, events)
            else:
                for row in events:
                    await self._handle(conn, row)
            if len(events) >= self.batch:
                reached = events[-1].published_seq
            else:  # everything up to `high` is visible now, and nothing later can fall below it
                reached = max(position, high or 0)
            if reached != position:
                await conn.execute(
                    update(outbox_consumers)
                    .where(outbox_consumers.c.name == self.name)
                    .values(position=reached, updated_at=func.now())
                )
        self._failing = None
        self._isolating = False
        self.handled += len(events)
        return len(events)

    async def _lock(self, conn: AsyncConnection) -> int | None:
        """This consumer's position, locked for the pass; None while another instance has it."""
        c = outbox_consumers.c
        row = (
            await conn.execute(
                select(c.position).where(c.name == self.name).with_for_update(skip_locked=True)
            )
        ).first()
        if row is not None:
            return int(row.position)
        created = (
            await conn.execute(
                pg_insert(outbox_consumers)
                .values(name=self.name, position=0)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(c.position)
            )
        ).first()
        return None if created is None else int(created.position)

    def _batch(self, position: int) -> Any:
        """Up to `batch` wanted events past the position, with the highest number published
        (one statement, so one snapshot: the high mark is safe to move to)."""
        o = outbox.c
        high = (
            select(func.max(o.published_seq).label("high"))
            .where(o.published_seq > position)
            .subquery("h")
        )
        wanted = (
            select(*outbox.c)
            .where(o.published_seq > position, o.event_type.in_(self.event_types))
            .order_by(o.published_seq)
            .limit(self.batch)
            .lateral("e")
        )
        return (
            select(high.c.high, *wanted.c)
            .select_from(high.outerjoin(wanted, true()))
            .order_by(wanted.c.published_seq)
        )

    async def _handle(self, conn: AsyncConnection, row: Any) -> None:
        event = _event(row)
        if self._gave_up(event.event_id):
            logger.error(
                "consumer skipped an event that kept failing",
                extra={
                    "consumer": self.name,
                    "event_id": str(event.event_id),
                    "event_type": event.event_type,
                    "attempts": self.max_attempts,
                },
            )
            return
        await conn.execute(SET_TENANT, {"tenant_id": str(event.tenant_id)})
        try:
            if self._batches:
                await self.handle_batch(conn, [event])
            else:
                await self.handle(conn, event)
        except Exception as error:
            if not _transient(error):
                self._count_failure(event.event_id)
            raise
        await conn.execute(SET_TENANT, {"tenant_id": ""})

    async def _handle_batches(self, conn: AsyncConnection, rows: Sequence[Any]) -> None:
        """Consecutive events of the same tenant go to handle_batch together."""
        for tenant_id, group in itertools.groupby(rows, key=lambda row: row.tenant_id):
            events = [_event(row) for row in group]
            await conn.execute(SET_TENANT, {"tenant_id": str(tenant_id)})
            try:
                await self.handle_batch(conn, events)
            except Exception as error:
                if not _transient(error):
                    if len(events) == 1:
                        self._count_failure(events[0].event_id)
                    else:
                        self._isolating = True
                raise
            await conn.execute(SET_TENANT, {"tenant_id": ""})

    def _count_failure(self, event_id: UUID) -> None:
        attempts = self._failing[1] + 1 if self._failing and self._failing[0] == event_id else 1
        self._failing = (event_id, attempts)

    def _gave_up(self, event_id: UUID) -> bool:
        return self._failing is not None and self._failing == (event_id, self.max_attempts)

    async def run(self) -> None:
        """Consume until cancelled: wake on the relay's NOTIFY, poll as a fallback."""
        await run_passes(
            self.run_once,
            name=f"consumer {self.name}",
            wake=self._wake,
            poll_seconds=self.poll_seconds,
            full=self.batch,
            engine=self.engine,
            channel=PUBLISHED_CHANNEL,
        )
