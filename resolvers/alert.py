"""The alert inbox: each user reads and marks only their own alerts (any role may)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.alert import Alert
from domain.errors import DomainError, ErrorCode, FieldError
from persistence import alert as store
from resolvers.context import Context
from resolvers.deal import decode
from resolvers.errors import bad_input, run_write
from resolvers.pagination import Page, build_page, page_size

MAX_MARK_READ = 100


@dataclass
class MarkReadResult:
    alerts: list[Alert] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def alert_cursor(alert: Alert) -> str:
    """Both the list's `after` and alertReceived's `since`."""
    return store.ALERT_SORT.cursor(alert.seq, alert.id)


def decode_cursor(cursor: str, argument: str) -> tuple[Any, Any]:
    try:
        return store.ALERT_SORT.decode(cursor)
    except DomainError as error:
        raise bad_input(f"Malformed `{argument}` cursor.") from error


async def alerts(
    ctx: Context, unread_only: bool | None, first: int | None, after: str | None
) -> Page[Alert]:
    principal = ctx.require("alerts:read")
    limit = page_size(first)
    position = decode_cursor(after, "after") if after else None
    tenant_id, user_id, unread = principal.tenant_id, principal.user_id, bool(unread_only)
    rows = await store.list_alerts(ctx.session, tenant_id, user_id, unread, position, limit)

    async def count() -> int:
        return await store.count_alerts(ctx.session, tenant_id, user_id, unread)

    return build_page(rows, limit, alert_cursor, count, after)


async def unread_count(ctx: Context) -> int:
    principal = ctx.require("alerts:read")
    return await store.count_alerts(ctx.session, principal.tenant_id, principal.user_id, True)


async def mark_read(ctx: Context, global_ids: list[str]) -> MarkReadResult:
    """Mark the caller's alerts read; any ID that is not theirs fails the whole request."""
    principal = ctx.require("alerts:read")
    if len(global_ids) > MAX_MARK_READ:
        message = f"At most {MAX_MARK_READ} alerts at a time."
        return MarkReadResult(errors=[FieldError(ErrorCode.LIMIT_EXCEEDED, message, ("ids",))])
    ids, errors = [], []
    for index, global_id in enumerate(global_ids):
        try:
            ids.append(decode(global_id, "Alert", "ids", str(index)))
        except DomainError as error:
            errors += error.errors
    if errors:
        return MarkReadResult(errors=errors)
    unique = list(dict.fromkeys(ids))
    if not unique:
        return MarkReadResult()

    async def apply(conn: AsyncConnection) -> list[Alert]:
        marked = await store.mark_read(conn, principal.tenant_id, principal.user_id, unique)
        missing = [
            FieldError(ErrorCode.NOT_FOUND, "You have no alert with this ID.", ("ids", str(i)))
            for i, alert_id in enumerate(ids)
            if alert_id not in marked
        ]
        if missing:
            raise DomainError(*missing)
        return [marked[alert_id] for alert_id in unique]

    marked, errors = await run_write(ctx, apply)
    return MarkReadResult(marked or [], errors)
