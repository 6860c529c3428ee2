"""WebSocket connections per user on this instance: a cap, and a shared is-still-active check."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from uuid import UUID

from subscriptions import metrics


class ConnectionLimiter:
    """Counts open connections per user; `acquire` refuses one past the cap."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: Counter[UUID] = Counter()

    def acquire(self, user_id: UUID) -> bool:
        if self._open[user_id] >= self.per_user:
            return False
        self._open[user_id] += 1
        metrics.websocket_connections.inc()
        return True

    def release(self, user_id: UUID) -> None:
        if self._open[user_id] <= 0:
            return
        self._open[user_id] -= 1
        if not self._open[user_id]:
            del self._open[user_id]
        metrics.websocket_connections.dec()

    def open_for(self, user_id: UUID) -> int:
        return self._open[user_id]


class ActiveUsers:
    """Whether a user is still active, asked at most once per `ttl` per user and instance.

    Every open socket rechecks its user; sockets of the same user share one answer, so the
    database sees one query per user and interval, not one per connection.
    """

    def __init__(self, check: Callable[[UUID, UUID], Awaitable[bool]], ttl: float) -> None:
        self.check = check
        self.ttl = ttl
        self._answers: dict[UUID, tuple[float, asyncio.Future[bool]]] = {}

    async def is_active(self, tenant_id: UUID, user_id: UUID) -> bool:
        now = time.monotonic()
        known = self._answers.get(user_id)
        if known is None or now - known[0] >= self.ttl:
            known = (now, asyncio.ensure_future(self.check(tenant_id, user_id)))
            self._answers[user_id] = known
            if len(self._answers) > 10_000:
                self._forget_old(now)
        try:
            return await asyncio.shield(known[1])
        except Exception:
            if self._answers.get(user_id) is known:
                del self._answers[user_id]
            raise

    def _forget_old(self, now: float) -> None:
        for user_id, (asked, _) in list(self._answers.items()):
            if now - asked >= self.ttl:
                del self._answers[user_id]
