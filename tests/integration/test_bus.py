"""The event bus against a real redis-server that each test starts, kills and restarts itself."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from broadcaster import Event
from redis.asyncio import Redis

from subscriptions.bus import (
    BusReconnected,
    BusUnavailable,
    EventBus,
    RedisPubSubBackend,
    Subscriber,
    SubscriberOverflow,
    bus_from_url,
)
from tests.conftest import free_port, redis_binary

T = TypeVar("T")
WAIT = 5.0  # upper bound for any single wait in these tests


class RedisServer:
    """A redis-server process owned by the test: it can be killed and restarted on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def run(coro: Coroutine[Any, Any, T], timeout: float = 25.0) -> T:
    """Run a test coroutine with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def next_item(subscriber: Subscriber, timeout: float = WAIT) -> Event:
    return await asyncio.wait_for(subscriber.get(), timeout)


async def eventually(condition: Any, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def fast_backend(url: str) -> RedisPubSubBackend:
    return RedisPubSubBackend(url, backoff_initial=0.05, backoff_max=0.4, connect_timeout=1.0)


@pytest.fixture(params=["memory", "redis"])
def bus_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_server").url


def test_round_trip(bus_url: str | None) -> None:
    async def scenario() -> None:
        async with bus_from_url(bus_url) as bus, bus.subscribe("tenant-1:deals") as sub:
            await bus.publish("tenant-1:deals", '{"event_type": "deal.status_changed"}')
            item = await next_item(sub)
            assert item == Event("tenant-1:deals", '{"event_type": "deal.status_changed"}')
            assert (bus.published, bus.delivered, bus.subscribers) == (1, 1, 1)

    run(scenario())


def test_memory_when_no_url() -> None:
    assert type(bus_from_url(None).backend).__name__ == "MemoryBackend"
    assert isinstance(bus_from_url("redis://127.0.0.1:1/0").backend, RedisPubSubBackend)
    assert isinstance(bus_from_url("rediss://127.0.0.1:1/0").backend, RedisPubSubBackend)
    with pytest.raises(ValueError):
        bus_from_url("kafka://localhost:9092")


def test_two_servers_share_one_redis(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        async with bus_from_url(redis_server.url) as one, bus_from_url(redis_server.url) as two:
            async with one.subscribe("tenant-1:bids") as sub:
                await two.publish("tenant-1:bids", "bid-1")
                assert await next_item(sub) == Event("tenant-1:bids", "bid-1")
            assert (two.published, one.delivered) == (1, 1)

    run(scenario())


def test_first_subscribe_then_publish_immediately(redis_server: RedisServer) -> None:
    """Each fresh bus's very first subscription is live when subscribe() returns."""

    async def scenario() -> None:
        async with bus_from_url(redis_server.url) as publisher:
            for attempt in range(10):
                channel = f"race-{attempt}"
                async with bus_from_url(redis_server.url) as bus, bus.subscribe(channel) as sub:
                    await publisher.publish(channel, "from another connection")
                    await bus.publish(channel, "from the same bus")
                    assert await next_item(sub) == Event(channel, "from another connection")
                    assert await next_item(sub) == Event(channel, "from the same bus")

    run(scenario())


def test_redis_restart_resubscribes_and_asks_for_resync(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        bus = EventBus(backend=fast_backend(redis_server.url))
        async with bus, bus.subscribe("tenant-1:timeline") as sub:
            await bus.publish("tenant-1:timeline", "before")
            assert await next_item(sub) == Event("tenant-1:timeline", "before")

            redis_server.kill()
            await eventually(lambda: not bus.connected)
            with pytest.raises(BusUnavailable, match="disconnected"):
                await bus.publish("tenant-1:timeline", "while down")

            redis_server.start()  # same port, empty server: it knows no subscriptions
            with pytest.raises(BusReconnected) as told:
                await next_item(sub)
            assert (told.value.channel, told.value.reconnects) == ("tenant-1:timeline", 1)
            assert bus.connected and bus.reconnects == 1
            assert isinstance(bus.backend, RedisPubSubBackend) and bus.backend.reconnects == 1

            async with bus_from_url(redis_server.url) as other_server:
                await other_server.publish("tenant-1:timeline", "after, elsewhere")
            await bus.publish("tenant-1:timeline", "after")
            assert await next_item(sub) == Event("tenant-1:timeline", "after, elsewhere")
            assert await next_item(sub) == Event("tenant-1:timeline", "after")
            assert bus.published == 2  # the refused publish was not counted

    run(scenario())


def test_async_for_is_told_to_resync_and_continues(redis_server: RedisServer) -> None:
    """The consumer's loop: iterate, catch BusReconnected, replay, iterate the same subscriber."""

    async def scenario() -> list[str]:
        bus = EventBus(backend=fast_backend(redis_server.url))
        seen: list[str] = []
        async with bus, bus.subscribe("alerts") as sub:

            async def consume() -> None:
                while True:
                    try:
                        async for event in sub:
                            seen.append(event.message)
                            if event.message == "after":
                                return
                    except BusReconnected:
                        seen.append("<replay from the database>")

            consumer = asyncio.create_task(consume())
            await bus.publish("alerts", "before")
            await eventually(lambda: seen == ["before"])
            redis_server.kill()
            await eventually(lambda: not bus.connected)
            redis_server.start()
            await eventually(lambda: bus.connected)
            await bus.publish("alerts", "after")
            await asyncio.wait_for(consumer, WAIT)
        return seen

    assert run(scenario()) == ["before", "<replay from the database>", "after"]


def test_publish_while_redis_down_raises(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        bus = EventBus(backend=fast_backend(redis_server.url))
        async with bus:
            redis_server.kill()
            # Straight after the kill (the pooled connection is dead), and once it is known.
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(bus.publish("c", "lost?"), WAIT)
            await eventually(lambda: not bus.connected)
            with pytest.raises(BusUnavailable):
                await bus.publish("c", "lost?")
            assert bus.published == 0

    run(scenario())


def test_connect_fails_clearly_when_redis_is_down() -> None:
    async def scenario() -> None:
        bus = EventBus(backend=fast_backend(f"redis://127.0.0.1:{free_port()}/0"))
        with pytest.raises(BusUnavailable, match="cannot reach Redis"):
            await bus.connect()

    run(scenario())


def test_slow_subscriber_overflows_without_delaying_others(bus_url: str | None) -> None:
    messages = 200

    async def scenario() -> None:
        bus = bus_from_url(bus_url)
        async with bus, bus.subscribe("bids", max_queue=5) as slow, bus.subscribe("bids") as fast:
            started = time.monotonic()
            for number in range(messages):
                await bus.publish("bids", str(number))
            received = [await next_item(fast, timeout=2.0) for _ in range(messages)]
            assert time.monotonic() - started < 3.0
            assert received == [Event("bids", str(n)) for n in range(messages)]
            with pytest.raises(SubscriberOverflow, match="more than 5 events behind"):
                await next_item(slow)
            assert bus.overflows == 1
            assert bus.delivered == messages + 5

    run(scenario())


def test_unsubscribe_on_exit(redis_server: RedisServer) -> None:
    async def numsub(client: Redis, channel: str) -> int:
        return int((await client.pubsub_numsub(channel))[0][1])

    async def scenario() -> None:
        client = Redis.from_url(redis_server.url)
        try:
            async with bus_from_url(redis_server.url) as bus:
                async with bus.subscribe("c") as first:
                    async with bus.subscribe("c"):
                        assert bus.subscribers == 2
                        assert await numsub(client, "c") == 1  # one Redis subscription per bus
                    assert bus.subscribers == 1
                    assert await numsub(client, "c") == 1
                assert bus.subscribers == 0
                deadline = time.monotonic() + WAIT
                while await numsub(client, "c") and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert await numsub(client, "c") == 0
                assert [item async for item in first] == []  # iteration ends after exit
                await bus.publish("c", "nobody listens")
                await asyncio.sleep(0.1)
                assert bus.delivered == 0
        finally:
            await client.aclose()

    run(scenario())
