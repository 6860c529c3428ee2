"""How many WebSocket connections each user holds on this instance, with a cap."""

from __future__ import annotations

from collections import Counter
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
