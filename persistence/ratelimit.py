"""Failed-login counters per key in a sliding window: in memory, or in Redis when configured."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Protocol


class FailureCounter(Protocol):
    async def failures(self, key: str) -> int: ...
    async def record_failure(self, key: str) -> None: ...
    async def reset(self, key: str) -> None: ...


class MemoryFailureCounter:
    """Per-process counters; enough for one instance."""

    def __init__(self, window_seconds: int) -> None:
        self.window = window_seconds
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str) -> deque[float]:
        events = self._events[key]
        horizon = time.monotonic() - self.window
        while events and events[0] < horizon:
            events.popleft()
        return events

    async def failures(self, key: str) -> int:
        return len(self._trim(key))

    async def record_failure(self, key: str) -> None:
        self._trim(key).append(time.monotonic())

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)


class RedisFailureCounter:
    """Counters shared by every instance through Redis (a fixed window per key)."""

    def __init__(
        self, redis: object, window_seconds: int, prefix: str = "reos:login-fail:"
    ) -> None:
        self.redis = redis
        self.window = window_seconds
        self.prefix = prefix

    async def failures(self, key: str) -> int:
        value = await self.redis.get(self.prefix + key)  # type: ignore[attr-defined]
        return int(value or 0)

    async def record_failure(self, key: str) -> None:
        pipe = self.redis.pipeline()  # type: ignore[attr-defined]
        pipe.set(self.prefix + key, 0, ex=self.window, nx=True)
        pipe.incr(self.prefix + key)
        await pipe.execute()

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)  # type: ignore[attr-defined]


class LoginLimiter:
    """Refuses logins after too many failures for one e-mail or one client address."""

    def __init__(self, counter: FailureCounter, per_email: int, per_address: int) -> None:
        self.counter = counter
        self.per_email = per_email
        self.per_address = per_address

    async def blocked(self, email: str, address: str) -> bool:
        return (
            await self.counter.failures(f"email:{email}") >= self.per_email
            or await self.counter.failures(f"addr:{address}") >= self.per_address
        )

    async def failed(self, email: str, address: str) -> None:
        await self.counter.record_failure(f"email:{email}")
        await self.counter.record_failure(f"addr:{address}")

    async def succeeded(self, email: str) -> None:
        await self.counter.reset(f"email:{email}")
