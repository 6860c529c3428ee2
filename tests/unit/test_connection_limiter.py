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
