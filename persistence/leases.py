"""Work queues in tables: lease due rows to one worker for a while (a lease, not a lock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def lease_due(
    conn: AsyncConnection,
    table: Table,
    keys: Sequence[str],
    ready: Sequence[ColumnElement[bool]],
    limit: int,
    lease: timedelta,
    now: datetime,
    returning: Sequence[Any],
) -> Sequence[Row[Any]]:
    """Lease up to limit ready, due, unleased rows until now + lease, counting one more attempt.

    The table has next_attempt_at, locked_until, attempts and updated_at; SKIP LOCKED lets
    several workers lease at once without taking each other's rows.
    """
    c = table.c
    due = (
        select(*(c[key] for key in keys))
        .where(
            *ready,
            c.next_attempt_at <= now,
            or_(c.locked_until.is_(None), c.locked_until < now),
        )
        .order_by(c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    rows = await conn.execute(
        update(table)
        .where(*(c[key] == due.c[key] for key in keys))
        .values(locked_until=now + lease, attempts=c.attempts + 1, updated_at=now)
        .returning(*returning)
    )
    return rows.all()
