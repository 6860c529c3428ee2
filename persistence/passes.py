"""The loop every background worker runs: a pass, then again at once or after a wake-up.

Workers wake on a PostgreSQL NOTIFY when they have one (LISTEN on a dedicated connection),
poll as a fallback, and back off after a failed pass; failures are logged and the loop goes
on. Cancellation (shutdown) always ends it, even when it lands inside a database call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger("reos.worker")


async def run_passes(
    one_pass: Callable[[], Awaitable[int]],
    *,
    name: str,
    wake: asyncio.Event,
    poll_seconds: float,
    full: int,
    engine: AsyncEngine | None = None,
    channel: str | None = None,
    max_backoff: float = 30.0,
) -> None:
    """Run passes until cancelled; a pass that did `full` items of work runs again at once."""
    listener = await listen(engine, channel, wake.set) if engine and channel else None
    delay = poll_seconds
    try:
        while True:
            try:
                done = await one_pass()
                delay = poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                if cancelling():  # cancelled mid-query: the driver may raise anything
                    raise
                logger.warning("%s pass failed; will retry", name, exc_info=True)
                done, delay = 0, min(delay * 2, max_backoff)
            if done >= full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
            wake.clear()
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()


def cancelling() -> bool:
    """Whether the running task is being cancelled (shutdown), whatever was raised."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def listen(
    engine: AsyncEngine, channel: str, callback: Callable[[], None]
) -> AsyncConnection | None:
    """LISTEN on a dedicated connection; None (poll only) when that is not possible."""
    conn: AsyncConnection | None = None
    try:
        conn = await engine.connect()
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.add_listener(channel, lambda *_: callback())  # type: ignore[union-attr]
        return conn
    except Exception:
        logger.warning("LISTEN unavailable; polling only", exc_info=True)
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        return None
