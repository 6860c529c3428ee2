"""The outbox relay: publishes committed outbox rows to the bus, in order, at least once.

Rows are claimed with FOR UPDATE SKIP LOCKED inside a transaction that also takes an advisory
lock, so any number of instances can run it while one publishes at a time (keeping each
aggregate's order). Rows are marked sent in the same transaction that published them: a crash
before commit leaves them unsent, and the next pass (here or elsewhere) sends them again.
Rolled-back changes never reach the outbox, so they publish nothing. Marking a row sent also
numbers it (`published_seq`, in commit order) for the background consumers, which that
transaction's NOTIFY wakes (persistence/consumers.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.consumers import PUBLISHED_CHANNEL
from persistence.database import act_as_worker
from persistence.passes import run_passes
from persistence.tables import outbox
from subscriptions import metrics
from subscriptions.channels import channels_for

logger = logging.getLogger("reos.relay")

RELAY_LOCK = 7_463_221  # pg advisory lock key: one publishing relay at a time
NOTIFY_CHANNEL = "reos_outbox"

NEXT_PUBLISHED_SEQS = text("SELECT nextval('outbox_published_seq') FROM generate_series(1, :n)")
MARK_SENT = text(
    "UPDATE outbox o SET published_at = now(), published_seq = v.seq "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[])) AS v(id, seq) "
    "WHERE o.id = v.id AND o.published_at IS NULL"
)


class Publisher(Protocol):
    async def publish(self, channel: str, message: str) -> None: ...


def envelope(row: Any) -> dict[str, Any]:
    """The message subscribers receive: the event envelope plus its outbox cursor."""
    return {
        "cursor": row.id,
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "aggregate_type": row.aggregate_type,
        "aggregate_id": str(row.aggregate_id),
        "tenant_id": str(row.tenant_id),
        "occurred_at": row.occurred_at.isoformat(),
        "correlation_id": row.correlation_id,
        "actor_id": str(row.actor_id) if row.actor_id else None,
        "payload": row.payload,
    }


class OutboxRelay:
    def __init__(
        self, engine: AsyncEngine, bus: Publisher, batch: int = 200, poll_seconds: float = 1.0
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.published = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Publish one batch of unsent rows; how many were sent (0 while another relay works)."""
        async with self.engine.begin() as conn:
            await act_as_worker(conn, "relay")
            if not (
                await conn.execute(text(f"SELECT pg_try_advisory_xact_lock({RELAY_LOCK})"))
            ).scalar():
                return 0
            rows = (
                await conn.execute(
                    select(*outbox.c)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                message = envelope(row)
                body = json.dumps(message, default=str)
                for channel in channels_for(message):
                    await self.bus.publish(channel, body)
            if rows:
                await self._mark_sent(conn, rows)
        self.published += len(rows)
        if rows:
            metrics.events_published.inc(len(rows))
            if (oldest := rows[0].occurred_at) is not None:
                lag = (datetime.now(UTC) - oldest).total_seconds()
                metrics.outbox_lag_seconds.set(max(0.0, lag))
        return len(rows)

    @staticmethod
    async def _mark_sent(conn: AsyncConnection, rows: list[Any]) -> None:
        """Mark rows sent and number them, in id order, for the outbox consumers.

        Only one relay publishes at a time and rows are claimed only after they committed, so
        published_seq follows commit order: consumers reading past a position miss nothing.
        Listening consumers wake when this transaction commits.
        """
        ids = sorted(row.id for row in rows)
        drawn = await conn.execute(NEXT_PUBLISHED_SEQS, {"n": len(ids)})
        await conn.execute(MARK_SENT, {"ids": ids, "seqs": sorted(drawn.scalars())})
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": PUBLISHED_CHANNEL})

    async def run(self) -> None:
        """Relay until cancelled: wake on NOTIFY of committed inserts, poll as a fallback."""
        await run_passes(
            self.run_once,
            name="relay",
            wake=self._wake,
            poll_seconds=self.poll_seconds,
            full=self.batch,
            engine=self.engine,
            channel=NOTIFY_CHANNEL,
        )
