"""One read per event and instance: subscribers in a tenant share the row an event names."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class SharedEventRows:
    """Memoizes the row behind (tenant, event) for every subscriber of that event, bounded."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._loads: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The row for key; the first caller loads it, the others await the same load."""
        future = self._loads.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._loads[key] = future
            future.add_done_callback(lambda done: self._forget_failed(key, done))
            while len(self._loads) > self.size:
                self._loads.popitem(last=False)
        return await asyncio.shield(future)

    def _forget_failed(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        if (future.cancelled() or future.exception() is not None) and self._loads.get(
            key
        ) is future:
            del self._loads[key]
