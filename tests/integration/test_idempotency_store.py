"""Idempotency keys, in a real Redis and in memory: new, replay, conflict, in progress."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as redis_asyncio

from server.idempotency import (
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
    StoredResponse,
    idempotency_store_from,
    request_fingerprint,
)
from tests.conftest import make_settings

TTL = 3600
IN_PROGRESS = 0.3  # seconds; real time in Redis, a fake clock in memory
OK = StoredResponse(200, b'{"data":{"dealCreate":{"deal":{"id":"RGVhbDox"}}}}', "application/json")


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


class Store:
    """The store under test and a way to let time pass (really, or on the fake clock)."""

    def __init__(self, store: Any, clock: Clock | None) -> None:
        self.store = store
        self.clock = clock

    async def wait(self, seconds: float) -> None:
        if self.clock is None:
            await asyncio.sleep(seconds)
        else:
            self.clock.now += seconds


def run_with(kind: str, redis_url: str, body: Callable[[Store], Awaitable[None]]) -> None:
    async def run() -> None:
        if kind == "memory":
            clock = Clock()
            await body(Store(MemoryIdempotencyStore(TTL, IN_PROGRESS, clock=clock), clock))
            return
        client = redis_asyncio.from_url(redis_url)
        try:
            await body(Store(RedisIdempotencyStore(client, TTL, IN_PROGRESS), None))
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(run(), 20))


@pytest.fixture(params=["redis", "memory"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def ids() -> tuple[uuid.UUID, uuid.UUID, str]:
    return uuid.uuid4(), uuid.uuid4(), f"key-{uuid.uuid4()}"


def test_new_then_in_progress_then_replay_and_conflict(kind: str, redis_url: str) -> None:
    tenant, user, key = ids()

    async def body(s: Store) -> None:
        first = await s.store.claim(tenant, user, key, "fp-a")
        assert first.outcome == "new" and first.token and first.response is None
        running = await s.store.claim(tenant, user, key, "fp-a")
        assert running.outcome == "in_progress" and running.response is None
        other_while_running = await s.store.claim(tenant, user, key, "fp-b")
        assert other_while_running.outcome == "conflict"

        await s.store.complete(first, OK)
        replay = await s.store.claim(tenant, user, key, "fp-a")
        assert replay.outcome == "replay" and replay.response == OK
        assert (await s.store.claim(tenant, user, key, "fp-a")).response == OK  # again
        conflict = await s.store.claim(tenant, user, key, "fp-b")
        assert conflict.outcome == "conflict" and conflict.response is None
        await s.wait(IN_PROGRESS * 2)  # completed records outlive the in-progress expiry
        assert (await s.store.claim(tenant, user, key, "fp-a")).outcome == "replay"

    run_with(kind, redis_url, body)


def test_keys_are_scoped_to_tenant_and_user(kind: str, redis_url: str) -> None:
    tenant, user, key = ids()

    async def body(s: Store) -> None:
        mine = await s.store.claim(tenant, user, key, "fp")
        await s.store.complete(mine, OK)
        assert (await s.store.claim(tenant, uuid.uuid4(), key, "fp")).outcome == "new"
        assert (await s.store.claim(uuid.uuid4(), user, key, "fp")).outcome == "new"
        assert (await s.store.claim(tenant, user, key + "x", "fp")).outcome == "new"
        assert (await s.store.claim(tenant, user, key, "fp")).outcome == "replay"

    run_with(kind, redis_url, body)


def test_an_abandoned_claim_expires_and_its_late_result_is_dropped(
    kind: str, redis_url: str
) -> None:
    tenant, user, key = ids()

    async def body(s: Store) -> None:
        crashed = await s.store.claim(tenant, user, key, "fp")
        await s.wait(IN_PROGRESS + 0.2)
        retry = await s.store.claim(tenant, user, key, "fp")
        assert retry.outcome == "new" and retry.token != crashed.token
        late = StoredResponse(200, b'{"late":true}', "application/json")
        await s.store.complete(crashed, late)  # the first claim is no longer the owner
        await s.store.release(crashed)
        assert (await s.store.claim(tenant, user, key, "fp")).outcome == "in_progress"
        await s.store.complete(retry, OK)
        assert (await s.store.claim(tenant, user, key, "fp")).response == OK

    run_with(kind, redis_url, body)


def test_release_frees_the_key_but_not_a_completed_record(kind: str, redis_url: str) -> None:
    tenant, user, key = ids()

    async def body(s: Store) -> None:
        failed = await s.store.claim(tenant, user, key, "fp-a")
        await s.store.release(failed)
        again = await s.store.claim(tenant, user, key, "fp-b")  # even with another request
        assert again.outcome == "new"
        await s.store.complete(again, OK)
        await s.store.release(again)  # too late: the response is stored
        assert (await s.store.claim(tenant, user, key, "fp-b")).outcome == "replay"
        replay = await s.store.claim(tenant, user, key, "fp-b")
        await s.store.release(replay)  # only the owner of a new claim can release
        await s.store.complete(replay, StoredResponse(500, b"", "text/plain"))
        assert (await s.store.claim(tenant, user, key, "fp-b")).response == OK

    run_with(kind, redis_url, body)


def test_binary_and_empty_bodies_round_trip(kind: str, redis_url: str) -> None:
    tenant, user, key = ids()
    body_bytes = bytes(range(256)) + "\n\u00e9\n".encode()

    async def body(s: Store) -> None:
        claim = await s.store.claim(tenant, user, key, "fp")
        await s.store.complete(claim, StoredResponse(201, body_bytes, "application/x-test"))
        stored = (await s.store.claim(tenant, user, key, "fp")).response
        assert stored == StoredResponse(201, body_bytes, "application/x-test")
        empty_key = key + "-empty"
        claim = await s.store.claim(tenant, user, empty_key, "fp")
        await s.store.complete(claim, StoredResponse(204, b"", "text/plain"))
        assert (await s.store.claim(tenant, user, empty_key, "fp")).response.body == b""

    run_with(kind, redis_url, body)


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "nul\x00", "del\x7f", "c1\x85"])
def test_malformed_keys_are_refused(kind: str, redis_url: str, key: str) -> None:
    async def body(s: Store) -> None:
        with pytest.raises(ValueError):
            await s.store.claim(uuid.uuid4(), uuid.uuid4(), key, "fp")

    run_with(kind, redis_url, body)


def test_a_long_unicode_key_is_accepted(kind: str, redis_url: str) -> None:
    async def body(s: Store) -> None:
        claim = await s.store.claim(uuid.uuid4(), uuid.uuid4(), "\u00e9" * 255, "fp")
        assert claim.outcome == "new"

    run_with(kind, redis_url, body)


def test_the_redis_record_is_named_by_tenant_user_and_key_hash(redis_url: str) -> None:
    tenant, user, key = ids()

    async def run() -> tuple[list[bytes], int, int]:
        client = redis_asyncio.from_url(redis_url)
        try:
            store = RedisIdempotencyStore(client, TTL, 60)
            claim = await store.claim(tenant, user, key, "fp")
            names = await client.keys(f"idem:{tenant}:{user}:*")
            pending_ttl = await client.ttl(names[0])
            await store.complete(claim, OK)
            return names, pending_ttl, await client.ttl(names[0])
        finally:
            await client.aclose()

    names, pending_ttl, done_ttl = asyncio.run(run())
    assert names == [f"idem:{tenant}:{user}:{hashlib.sha256(key.encode()).hexdigest()}".encode()]
    assert 0 < pending_ttl <= 60
    assert TTL - 5 < done_ttl <= TTL


def test_concurrent_claims_yield_one_new(kind: str, redis_url: str) -> None:
    tenant, user, key = ids()

    async def body(s: Store) -> None:
        claims = await asyncio.gather(*(s.store.claim(tenant, user, key, "fp") for _ in range(20)))
        outcomes = sorted(c.outcome for c in claims)
        assert outcomes == ["in_progress"] * 19 + ["new"]

    run_with(kind, redis_url, body)


def test_fingerprints() -> None:
    query = "mutation M($n: String!) { a(n: $n) { id } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    base = {"query": query, "operationName": "M", "variables": {"n": "x", "m": 1}}
    same = [
        base,
        {"query": query, "operationName": "M", "variables": {"m": 1, "n": "x"}},
        {
            "operationName": "M",
            "variables": {"n": "x", "m": 1},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        },
        {**base, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
        {**base, "documentId": "ignored when the text is given"},
        {"documentId": f"sha256:{digest}", "operationName": "M", "variables": base["variables"]},
    ]
    assert len({request_fingerprint(body) for body in same}) == 1
    different = [
        base,
        {**base, "variables": {"n": "y", "m": 1}},
        {**base, "operationName": "N"},
        {**base, "query": query + " "},
        {"documentId": "M-v1", "operationName": "M", "variables": base["variables"]},
        {"documentId": "M-v2", "operationName": "M", "variables": base["variables"]},
    ]
    assert len({request_fingerprint(body) for body in different}) == len(different)
    assert request_fingerprint({"query": "{ a }"}) == request_fingerprint(
        {"query": "{ a }", "variables": None, "operationName": None}
    )


def test_idempotency_store_from_settings(redis_url: str) -> None:
    settings = make_settings(None, idempotency_ttl_seconds=123, request_timeout_seconds=30.0)
    memory = idempotency_store_from(None, settings)
    assert isinstance(memory, MemoryIdempotencyStore)
    assert (memory.ttl, memory.in_progress) == (123, 120.0)
    client = redis_asyncio.from_url(redis_url)
    assert isinstance(idempotency_store_from(client, settings), RedisIdempotencyStore)


def test_memory_store_stays_bounded() -> None:
    clock = Clock()
    store = MemoryIdempotencyStore(TTL, 60, clock=clock, max_entries=10)

    async def run() -> None:
        for _ in range(25):
            await store.claim(uuid.uuid4(), uuid.uuid4(), "k", "fp")
        assert len(store._records) <= 10

    asyncio.run(run())
