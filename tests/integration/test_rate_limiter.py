"""GCRA rate limits, in memory and in a real Redis: budgets, refills, cost, atomic buckets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as redis_asyncio

from schema.rate_limits import RatePolicy
from server.rate_limit import (
    MemoryRateLimiter,
    RateDecision,
    RedisRateLimiter,
    rate_limiter_from,
)
from tests.conftest import free_port, make_settings

WINDOW = 60


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Body = Callable[[Any, Clock, Callable[[str], str]], Awaitable[None]]


def with_limiter(kind: str, redis_url: str, body: Body) -> None:
    """Run `body(limiter, clock, key)` against a fresh limiter; `key(name)` makes unique keys."""
    prefix = f"test:{uuid.uuid4().hex}:"

    def key(name: str) -> str:
        return prefix + name

    async def run() -> None:
        clock = Clock()
        if kind == "memory":
            await body(MemoryRateLimiter(clock=clock), clock, key)
            return
        client = redis_asyncio.from_url(redis_url)
        try:
            await body(RedisRateLimiter(client, clock=clock), clock, key)
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(run(), 20))


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


async def spend(limiter: Any, buckets: list[tuple[str, int]], cost: int, times: int) -> int:
    """How many of `times` requests of `cost` were allowed."""
    allowed = 0
    for _ in range(times):
        decision = await limiter.charge(buckets, cost, WINDOW)
        allowed += decision.allowed
    return allowed


def test_n_requests_pass_and_the_next_is_refused_with_a_retry_after(
    kind: str, redis_url: str
) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        bucket = [(key("user"), 5)]
        remaining = []
        for _ in range(5):
            decision = await limiter.charge(bucket, 1, WINDOW)
            assert decision.allowed and decision.retry_after == 0
            remaining.append(decision.remaining)
        assert remaining == [4, 3, 2, 1, 0]
        refused = await limiter.charge(bucket, 1, WINDOW)
        assert not refused.allowed
        assert refused.retry_after == pytest.approx(WINDOW / 5)  # one unit refills in 12 s
        assert refused.limit == 5 and refused.remaining == 0
        assert refused.reset_after == pytest.approx(WINDOW)

    with_limiter(kind, redis_url, body)


def test_the_budget_refills_over_time(kind: str, redis_url: str) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        bucket = [(key("user"), 5)]
        assert await spend(limiter, bucket, 1, 6) == 5
        clock.advance(11.9)
        assert not (await limiter.charge(bucket, 1, WINDOW)).allowed
        clock.advance(0.2)  # 12.1 s later: one unit is back, one only
        assert await spend(limiter, bucket, 1, 2) == 1
        clock.advance(WINDOW)  # a whole window: the whole budget
        assert await spend(limiter, bucket, 1, 6) == 5

    with_limiter(kind, redis_url, body)


def test_a_refusal_on_one_bucket_charges_none_of_them(kind: str, redis_url: str) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        wide, narrow = (key("addr"), 10), (key("user"), 3)
        assert await spend(limiter, [narrow, wide], 1, 5) == 3  # the narrow bucket refuses
        # the wide bucket was charged for the 3 allowed requests only: 7 units are left
        assert (await limiter.charge([wide], 7, WINDOW)).allowed
        assert not (await limiter.charge([wide], 1, WINDOW)).allowed

    with_limiter(kind, redis_url, body)


def test_the_tightest_bucket_is_reported(kind: str, redis_url: str) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        decision = await limiter.charge([(key("addr"), 100), (key("user"), 10)], 4, WINDOW)
        assert (decision.limit, decision.remaining) == (10, 6)
        assert decision.reset_after == pytest.approx(WINDOW * 4 / 10)

    with_limiter(kind, redis_url, body)


def test_one_expensive_request_uses_what_many_cheap_ones_would(kind: str, redis_url: str) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        cheap, expensive = [(key("cheap"), 100)], [(key("expensive"), 100)]
        assert await spend(limiter, cheap, 1, 101) == 100
        decision = await limiter.charge(expensive, 60, WINDOW)
        assert decision.allowed and decision.remaining == 40
        assert await spend(limiter, expensive, 1, 50) == 40
        refused = await limiter.charge(expensive, 30, WINDOW)  # 30 units refill in 18 s
        assert not refused.allowed and refused.retry_after == pytest.approx(18)

    with_limiter(kind, redis_url, body)


def test_a_cost_above_the_whole_budget_never_passes_and_costs_nothing(
    kind: str, redis_url: str
) -> None:
    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        bucket = [(key("user"), 50)]
        refused = await limiter.charge(bucket, 51, WINDOW)
        assert not refused.allowed and refused.retry_after == WINDOW
        assert refused.remaining == 50
        clock.advance(10 * WINDOW)
        assert not (await limiter.charge(bucket, 51, WINDOW)).allowed
        assert (await limiter.charge(bucket, 50, WINDOW)).allowed

    with_limiter(kind, redis_url, body)


def test_odd_budgets_allow_exactly_n(kind: str, redis_url: str) -> None:
    """Float rounding (window / limit is not exact) never refuses the last allowed unit."""

    async def body(limiter: Any, clock: Clock, key: Callable[[str], str]) -> None:
        for limit in (3, 7, 11, 300_000):
            bucket = [(key(f"odd{limit}"), limit)]
            cost = max(1, limit // 7)
            times = limit // cost
            assert await spend(limiter, bucket, cost, times) == times, limit
            assert not (await limiter.charge(bucket, cost, WINDOW)).allowed, limit

    with_limiter(kind, redis_url, body)


def test_redis_clock_and_state_are_shared_by_limiters(redis_url: str) -> None:
    """Two limiters (as in two processes) on one Redis, on Redis's own clock, share a budget."""
    bucket = [(f"test:{uuid.uuid4().hex}", 6)]

    async def run() -> None:
        first, second = redis_asyncio.from_url(redis_url), redis_asyncio.from_url(redis_url)
        try:
            limiters = [RedisRateLimiter(first), RedisRateLimiter(second)]
            decisions = [await limiters[i % 2].charge(bucket, 1, WINDOW) for i in range(10)]
            assert sum(d.allowed for d in decisions) == 6
            assert decisions[6].retry_after == pytest.approx(WINDOW / 6, abs=0.5)
            ttl = await first.pttl(bucket[0][0])
            assert 0 < ttl <= WINDOW * 1000  # the state expires once the bucket is full again
        finally:
            await first.aclose()
            await second.aclose()

    asyncio.run(run())


def test_the_script_is_loaded_again_after_a_script_flush(redis_url: str) -> None:
    bucket = [(f"test:{uuid.uuid4().hex}", 2)]

    async def run() -> list[RateDecision]:
        client = redis_asyncio.from_url(redis_url)
        try:
            limiter = RedisRateLimiter(client)
            first = await limiter.charge(bucket, 1, WINDOW)
            await client.script_flush()
            return [first, *[await limiter.charge(bucket, 1, WINDOW) for _ in range(2)]]
        finally:
            await client.aclose()

    assert [d.allowed for d in asyncio.run(run())] == [True, True, False]


def test_without_redis_requests_pass_and_one_warning_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> list[RateDecision]:
        client = redis_asyncio.from_url(
            f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5
        )
        try:
            limiter = RedisRateLimiter(client)
            return [await limiter.charge([("rl:user:x", 1)], 5, WINDOW) for _ in range(3)]
        finally:
            await client.aclose()

    with caplog.at_level(logging.WARNING, logger="reos.rate_limit"):
        decisions = asyncio.run(run())
    assert all(d.allowed for d in decisions)
    assert len([r for r in caplog.records if r.name == "reos.rate_limit"]) == 1


def test_rate_limiter_from_settings(redis_url: str) -> None:
    assert rate_limiter_from(None, make_settings(None, rate_limit_enabled=False)) is None
    settings = make_settings(
        None,
        rate_limit_enabled=True,
        rate_limit_window_seconds=30,
        rate_limit_user_cost=10,
        rate_limit_api_key_cost=20,
        rate_limit_address_cost=40,
    )
    memory = rate_limiter_from(None, settings)
    assert isinstance(memory, MemoryRateLimiter)
    assert memory.policy == RatePolicy(30, 10, 20, 40)
    client = redis_asyncio.from_url(redis_url)
    assert isinstance(rate_limiter_from(client, settings), RedisRateLimiter)


def test_a_redis_that_does_not_answer_does_not_hold_requests_up() -> None:
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        async def run() -> RateDecision:
            client = redis_asyncio.from_url(f"redis://127.0.0.1:{port}/0")
            try:
                limiter = RedisRateLimiter(client, timeout_seconds=0.3)
                return await limiter.charge([("rl:user:x", 1)], 5, WINDOW)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

        started = time.monotonic()
        assert asyncio.run(run()).allowed
        assert time.monotonic() - started < 2
