"""WebSocket connections per user: capped, and slots come back when sockets close."""

from __future__ import annotations

from uuid import uuid4

from subscriptions.connections import ConnectionLimiter


def test_the_cap_is_per_user_and_slots_return() -> None:
    limiter = ConnectionLimiter(per_user=2)
    alice, bob = uuid4(), uuid4()
    assert limiter.acquire(alice) and limiter.acquire(alice)
    assert not limiter.acquire(alice)
    assert limiter.acquire(bob)
    limiter.release(alice)
    assert limiter.acquire(alice)
    assert limiter.open_for(alice) == 2


def test_releasing_more_than_acquired_never_goes_negative() -> None:
    limiter = ConnectionLimiter(per_user=1)
    user = uuid4()
    limiter.release(user)
    assert limiter.open_for(user) == 0
    assert limiter.acquire(user)
    assert not limiter.acquire(user)


def test_sockets_of_one_user_share_one_active_check_per_interval() -> None:
    import asyncio

    from subscriptions.connections import ActiveUsers

    asked: list[object] = []

    async def check(tenant_id: object, user_id: object) -> bool:
        asked.append(user_id)
        await asyncio.sleep(0.01)
        return True

    async def main() -> None:
        users = ActiveUsers(check, ttl=0.05)
        alice, bob = uuid4(), uuid4()
        tenant = uuid4()
        answers = await asyncio.gather(*(users.is_active(tenant, alice) for _ in range(100)))
        assert all(answers)
        await users.is_active(tenant, bob)
        assert asked == [alice, bob]
        await asyncio.sleep(0.06)
        await users.is_active(tenant, alice)
        assert asked == [alice, bob, alice]

    asyncio.run(main())
