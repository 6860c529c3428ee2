"""Subscribers of one event share one read; failures are not remembered."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.event_rows import SharedEventRows


def test_concurrent_subscribers_share_one_load() -> None:
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return "entry"

    async def main() -> list[str]:
        rows = SharedEventRows()
        return await asyncio.gather(*(rows.get(("t", "e1"), load) for _ in range(50)))

    assert asyncio.run(main()) == ["entry"] * 50
    assert loads == 1


def test_a_failed_load_is_retried_by_the_next_subscriber() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database restarting")
        return "entry"

    async def main() -> str:
        rows = SharedEventRows()
        with pytest.raises(ConnectionError):
            await rows.get("k", flaky)
        return await rows.get("k", flaky)

    assert asyncio.run(main()) == "entry"
    assert attempts == 2


def test_keys_are_bounded_oldest_first() -> None:
    async def main() -> int:
        rows = SharedEventRows(size=3)
        for key in range(10):
            await rows.get(key, lambda key=key: asyncio.sleep(0, result=key))
        calls = 0

        async def again() -> int:
            nonlocal calls
            calls += 1
            return 0

        await rows.get(9, again)  # still remembered
        await rows.get(0, again)  # evicted: loaded again
        return calls

    assert asyncio.run(main()) == 1


def test_a_cancelled_subscriber_does_not_cancel_the_shared_load() -> None:
    async def main() -> str:
        rows = SharedEventRows()
        started = asyncio.Event()

        async def slow() -> str:
            started.set()
            await asyncio.sleep(0.05)
            return "entry"

        first = asyncio.create_task(rows.get("k", slow))
        await started.wait()
        first.cancel()
        return await rows.get("k", slow)

    assert asyncio.run(main()) == "entry"
