"""Outbox consumers against real PostgreSQL and Redis: the position advances in commit order,
reruns do nothing twice, other event types are passed over, late commits are not skipped."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.events import Event
from persistence.consumers import OutboxConsumer
from persistence.database import create_engine
from subscriptions.bus import bus_from_url
from subscriptions.relay import OutboxRelay

WANTED = "test.pinged"
IGNORED = "test.ignored"


class Recorder(OutboxConsumer):
    """Records what it was handed, with the tenant its transaction was scoped to."""

    event_types = (WANTED,)

    def __init__(self, engine: AsyncEngine, fail: set[UUID] | None = None, **options: Any):
        self.name = f"test-{uuid.uuid4().hex[:12]}"
        super().__init__(engine, **options)
        self.seen: list[tuple[UUID, str]] = []
        self.fail = fail or set()

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        if event.event_id in self.fail:
            raise ValueError("this event cannot be handled")
        tenant = await conn.execute(text("SELECT current_setting('app.tenant_id', true)"))
        self.seen.append((event.event_id, tenant.scalar()))

    def ids(self) -> list[UUID]:
        return [event_id for event_id, _ in self.seen]


class Harness:
    def __init__(self, owner_url: str, engine: AsyncEngine, relay: OutboxRelay) -> None:
        self.owner_url = owner_url
        self.engine = engine
        self.relay = relay

    async def tenant(self) -> UUID:
        return (await self.owner("SELECT id FROM tenants ORDER BY name LIMIT 1"))[0][0]

    async def owner(self, query: str, *args: Any) -> list[Any]:
        conn = await asyncpg.connect(self.owner_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    @staticmethod
    async def insert(conn: asyncpg.Connection, tenant: UUID, event_type: str = WANTED) -> UUID:
        event_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO outbox (event_id, tenant_id, event_type, aggregate_type, aggregate_id,"
            " payload) VALUES ($1, $2, $3, 'test', $4, $5::jsonb)",
            event_id,
            tenant,
            event_type,
            uuid.uuid4(),
            json.dumps({"n": 1}),
        )
        return event_id

    async def committed(self, tenant: UUID, event_type: str = WANTED) -> UUID:
        conn = await asyncpg.connect(self.owner_url)
        try:
            return await self.insert(conn, tenant, event_type)
        finally:
            await conn.close()

    async def publish(self) -> None:
        """Everything committed so far (other tests may have left a backlog)."""
        while await self.relay.run_once():
            pass

    @staticmethod
    async def consume(consumer: OutboxConsumer) -> int:
        total = 0
        while read := await consumer.run_once():
            total += read
        return total

    async def published_seq(self, event_id: UUID) -> int:
        rows = await self.owner("SELECT published_seq FROM outbox WHERE event_id = $1", event_id)
        return rows[0][0]


@asynccontextmanager
async def harness(owner_url: str, app_url: Any, redis_url: str) -> AsyncIterator[Harness]:
    engine = create_engine(app_url, pool_size=4)
    bus = bus_from_url(redis_url)
    await bus.connect()
    try:
        yield Harness(owner_url, engine, OutboxRelay(engine, bus))
    finally:
        await bus.disconnect()
        await engine.dispose()


def run(
    owner_url: str, app_url: Any, redis_url: str, test: Callable[[Harness], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with harness(owner_url, app_url, redis_url) as h:
            await test(h)

    asyncio.run(main())


def test_a_consumer_handles_published_events_once_in_their_tenant(
    owner_url: str, app_url: Any, redis_url: str
) -> None:
    async def test(h: Harness) -> None:
        tenant = await h.tenant()
        first, ignored, second = (
            await h.committed(tenant),
            await h.committed(tenant, IGNORED),
            await h.committed(tenant),
        )
        consumer = Recorder(h.engine, batch=1)
        assert await h.consume(consumer) == 0  # nothing published yet
        await h.publish()
        assert await h.consume(consumer) >= 2
        assert consumer.ids()[-2:] == [first, second]
        assert ignored not in consumer.ids()
        assert dict(consumer.seen)[first] == str(tenant)  # handled inside the event's tenant
        assert await consumer.position() >= await h.published_seq(second)
        assert await consumer.position() >= await h.published_seq(ignored)

        seen = len(consumer.seen)
        assert await h.consume(consumer) == 0  # a rerun hands nothing over again
        assert len(consumer.seen) == seen

    run(owner_url, app_url, redis_url, test)


def test_a_row_that_commits_late_is_not_skipped(
    owner_url: str, app_url: Any, redis_url: str
) -> None:
    async def test(h: Harness) -> None:
        tenant = await h.tenant()
        consumer = Recorder(h.engine)
        await h.publish()
        await h.consume(consumer)
        slow = await asyncpg.connect(h.owner_url)
        try:
            transaction = slow.transaction()
            await transaction.start()
            late = await h.insert(slow, tenant)  # a lower outbox id, still uncommitted
            early = await h.committed(tenant)
            await h.publish()
            await h.consume(consumer)
            assert consumer.ids()[-1] == early and late not in consumer.ids()
            await transaction.commit()
        finally:
            await slow.close()
        late_id, early_id = [
            (await h.owner("SELECT id FROM outbox WHERE event_id = $1", e))[0][0]
            for e in (late, early)
        ]
        assert late_id < early_id  # outbox ids are not commit order ...
        await h.publish()
        assert await h.published_seq(late) > await h.published_seq(early)  # ... published_seq is
        await h.consume(consumer)
        assert consumer.ids()[-2:] == [early, late]

    run(owner_url, app_url, redis_url, test)


def test_a_failing_event_rolls_the_pass_back_and_is_skipped_after_repeated_failures(
    owner_url: str, app_url: Any, redis_url: str
) -> None:
    async def test(h: Harness) -> None:
        tenant = await h.tenant()
        await h.publish()
        consumer = Recorder(h.engine, max_attempts=3)
        await h.consume(consumer)
        before = await consumer.position()
        poison = await h.committed(tenant)
        after = await h.committed(tenant)
        consumer.fail.add(poison)
        await h.publish()
        for _ in range(3):
            with pytest.raises(ValueError):
                await consumer.run_once()
            assert await consumer.position() == before  # nothing advanced, nothing committed
        await h.consume(consumer)  # after the third failure it is given up on
        assert poison not in consumer.ids()
        assert consumer.ids()[-1] == after
        assert await consumer.position() >= await h.published_seq(after)

    run(owner_url, app_url, redis_url, test)


def test_two_instances_of_a_consumer_do_not_work_at_once(
    owner_url: str, app_url: Any, redis_url: str
) -> None:
    async def test(h: Harness) -> None:
        tenant = await h.tenant()
        await h.publish()
        one = Recorder(h.engine)
        two = Recorder(h.engine)
        two.name = one.name
        await h.consume(one)
        one.seen.clear()
        event_id = await h.committed(tenant)
        await h.publish()
        gate = asyncio.Event()
        release = asyncio.Event()
        original = one.handle

        async def slow_handle(conn: AsyncConnection, event: Event) -> None:
            await original(conn, event)
            gate.set()
            await release.wait()

        one.handle = slow_handle  # type: ignore[method-assign]
        first = asyncio.create_task(one.run_once())
        await asyncio.wait_for(gate.wait(), 5)
        assert await two.run_once() == 0  # the position row is locked: it does not wait or work
        release.set()
        assert await first == 1
        assert await two.run_once() == 0  # and afterwards there is nothing left
        assert one.ids() == [event_id] and two.ids() == []

    run(owner_url, app_url, redis_url, test)
