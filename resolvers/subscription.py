"""Live subscriptions: replay what was committed after `since`, then stream, with no gap.

Every event is checked against the subscriber's tenant, permission and token before it is
sent, and gets fresh DataLoaders (never per connection) over a session that holds no connection.
The row an event names is read once per instance and shared by the tenant's subscribers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from domain.alert import Alert
from domain.construction import Bid
from domain.errors import DomainError
from domain.timeline import TimelineEntry
from persistence import alert as alert_store
from persistence import deal as deal_store
from persistence.database import ShortTenantSession
from persistence.deal import TIMELINE_SORT
from persistence.outbox import events_after, last_event_cursor
from resolvers.alert import decode_cursor
from resolvers.context import Context
from resolvers.deal import decode_query_id
from resolvers.errors import ApiError, bad_input
from resolvers.loaders import Loaders
from subscriptions import metrics
from subscriptions.bus import BusReconnected, BusUnavailable, SubscriberOverflow
from subscriptions.channels import deal_channel, project_channel, user_channel

logger = logging.getLogger("reos.subscriptions")

T = TypeVar("T")
Positioned = tuple[int, T]

REPLAY_LIMIT = 500
SLOW_CONSUMER_CLOSE = 4499
TRY_AGAIN_LATER = 1013
BID_EVENTS = {"bid.received": "RECEIVED", "bid.awarded": "AWARDED", "bid.withdrawn": "WITHDRAWN"}


@dataclass
class BidEvent:
    kind: str
    bid: Bid
    cursor: str


def _session(ctx: Context) -> ShortTenantSession:
    return ShortTenantSession(ctx.services.engine, ctx.require().tenant_id)


def _fresh(ctx: Context) -> Loaders:
    """New loaders for one event, over a session that keeps no connection."""
    ctx.loaders = Loaders(_session(ctx), ctx.require())
    return ctx.loaders


def _recheck(ctx: Context, permission: str, tenant_id: str | None = None) -> None:
    """Before each event: the token is still valid, the role still may, the tenant is theirs."""
    expires_at = getattr(ctx, "token_expires_at", None)
    if expires_at is not None and expires_at <= time.time():
        raise ApiError("Your access token expired; reconnect with a new one.", "UNAUTHENTICATED")
    principal = ctx.require(permission)
    if tenant_id is not None and tenant_id != str(principal.tenant_id):
        raise ApiError("This event is not yours.", "FORBIDDEN")


def _count_subscription(ctx: Context) -> None:
    limit = ctx.services.max_subscriptions_per_connection
    active = ctx.subscriptions + 1
    if active > limit:
        raise ApiError(f"At most {limit} subscriptions per connection.", "LIMIT_EXCEEDED")
    ctx.subscriptions = active


async def _close_slow(ctx: Context) -> None:
    metrics.slow_consumers_closed.inc()
    await _close_socket(ctx, SLOW_CONSUMER_CLOSE, "Too slow: reconnect with since")


async def _close_socket(ctx: Context, code: int, reason: str) -> None:
    websocket = ctx.request
    if hasattr(websocket, "close"):
        with contextlib.suppress(RuntimeError):
            await websocket.close(code=code, reason=reason)


async def _shared(ctx: Context, event: dict[str, Any], load: Callable[[], Awaitable[T]]) -> T:
    key = (ctx.require().tenant_id, event["event_id"])
    return await ctx.services.event_rows.get(key, load)


async def _stream(
    ctx: Context,
    field: str,
    channel: str,
    last: int,
    replay_first: bool,
    latest: Callable[[], Awaitable[int]],
    replay: Callable[[int], AsyncIterator[Positioned[T]]],
    from_event: Callable[[dict[str, Any], int], Awaitable[Positioned[T] | None]],
) -> AsyncIterator[T]:
    """Subscribe, replay after `last` if asked, then stream live events past `last`.

    Subscribing comes first, so nothing committed after the replay's read can fall in
    between; positions dedupe the seam. After a bus reconnect the database fills the gap.
    """
    _count_subscription(ctx)
    metrics.subscriptions_active.labels(field).inc()
    delivered = metrics.events_delivered.labels(field)
    try:
        async with ctx.services.bus.subscribe(channel) as events:
            if not replay_first:
                last = await latest()
            resync = replay_first
            while True:
                if resync:
                    async for position, item in replay(last):
                        last = position
                        delivered.inc()
                        yield item
                try:
                    async for message in events:
                        found = await from_event(json.loads(message.message), last)
                        if found is not None:
                            last, item = found
                            delivered.inc()
                            yield item
                    return
                except BusReconnected:
                    metrics.bus_resyncs.inc()
                    resync = True
    except SubscriberOverflow:
        await _close_slow(ctx)
    except (SQLAlchemyError, OSError, TimeoutError, BusUnavailable):
        # The database or Redis failed us mid-stream: say so with a close code the client
        # reconnects on (with `since`), rather than ending the subscription quietly.
        logger.warning("subscription %s interrupted; closing 1013", field, exc_info=True)
        await _close_socket(ctx, TRY_AGAIN_LATER, "Temporarily unavailable: reconnect with since")
    finally:
        ctx.subscriptions -= 1
        metrics.subscriptions_active.labels(field).dec()


async def timeline_updated(
    ctx: Context, deal_gid: str, since: str | None
) -> AsyncIterator[TimelineEntry]:
    _recheck(ctx, "timeline:read")
    principal = ctx.require()
    deal_id = decode_query_id(deal_gid, "Deal")
    if await _fresh(ctx).deal_by_id.load(deal_id) is None:
        raise ApiError("No deal with this ID.", "NOT_FOUND")
    last = -1
    if since:
        try:
            last = int(TIMELINE_SORT.decode(since)[0])
        except DomainError as error:
            raise bad_input("Malformed `since` cursor.") from error

    async def replay(after_seq: int) -> AsyncIterator[Positioned[TimelineEntry]]:
        while True:
            entries = await deal_store.timeline_after(
                _session(ctx), principal.tenant_id, deal_id, after_seq, REPLAY_LIMIT
            )
            for entry in entries:
                _recheck(ctx, "timeline:read")
                _fresh(ctx)
                after_seq = entry.seq
                yield entry.seq, entry
            if len(entries) < REPLAY_LIMIT:
                return

    async def from_event(event: dict[str, Any], after: int) -> Positioned[TimelineEntry] | None:
        if event["event_type"] != "timeline.entry_added":
            return None
        seq = int(event["payload"]["seq"])
        if seq <= after:
            return None
        _recheck(ctx, "timeline:read", event["tenant_id"])
        loaders = _fresh(ctx)
        entry_id = UUID(event["payload"]["entry_id"])
        entry = await _shared(ctx, event, lambda: loaders.timeline_entry_by_id.load(entry_id))
        return None if entry is None else (seq, entry)

    async def latest() -> int:
        return await deal_store.last_timeline_seq(_session(ctx), principal.tenant_id, deal_id)

    channel = deal_channel(principal.tenant_id, deal_id)
    async for entry in _stream(
        ctx, "timelineUpdated", channel, last, bool(since), latest, replay, from_event
    ):
        yield entry


def _bid_cursor(cursor: int) -> str:
    return f"o:{cursor}"


async def bid_updated(ctx: Context, project_gid: str, since: str | None) -> AsyncIterator[BidEvent]:
    _recheck(ctx, "construction:read")
    principal = ctx.require()
    project_id = decode_query_id(project_gid, "ConstructionProject")
    if await _fresh(ctx).project_by_id.load(project_id) is None:
        raise ApiError("No construction project with this ID.", "NOT_FOUND")
    last = -1
    if since:
        if not since.startswith("o:") or not since[2:].isdigit():
            raise bad_input("Malformed `since` cursor.")
        last = int(since[2:])

    async def bid_event(event: dict[str, Any]) -> BidEvent | None:
        loaders = _fresh(ctx)
        bid_id = UUID(event["payload"]["bid_id"])
        bid = await _shared(ctx, event, lambda: loaders.bid_by_id.load(bid_id))
        if bid is None:
            return None
        kind = BID_EVENTS[event["event_type"]]
        return BidEvent(kind=kind, bid=bid, cursor=_bid_cursor(event["cursor"]))

    async def replay(after: int) -> AsyncIterator[Positioned[BidEvent]]:
        while True:
            events = await events_after(
                _session(ctx),
                principal.tenant_id,
                "project",
                project_id,
                list(BID_EVENTS),
                after,
                REPLAY_LIMIT,
            )
            for event in events:
                _recheck(ctx, "construction:read")
                after = event["cursor"]
                if (item := await bid_event(event)) is not None:
                    yield after, item
            if len(events) < REPLAY_LIMIT:
                return

    async def from_event(event: dict[str, Any], after: int) -> Positioned[BidEvent] | None:
        if event["event_type"] not in BID_EVENTS or event["cursor"] <= after:
            return None
        _recheck(ctx, "construction:read", event["tenant_id"])
        item = await bid_event(event)
        return None if item is None else (event["cursor"], item)

    async def latest() -> int:
        return await last_event_cursor(_session(ctx), principal.tenant_id, "project", project_id)

    channel = project_channel(principal.tenant_id, project_id)
    async for item in _stream(
        ctx, "bidUpdated", channel, last, bool(since), latest, replay, from_event
    ):
        yield item


async def alert_received(ctx: Context, since: str | None) -> AsyncIterator[Alert]:
    """The caller's new alerts (any role); `since` replays the ones committed after it."""
    _recheck(ctx, "alerts:read")
    principal = ctx.require()
    tenant_id, user_id = principal.tenant_id, principal.user_id
    last = -1
    if since:
        last = int(decode_cursor(since, "since")[0])

    async def replay(after_seq: int) -> AsyncIterator[Positioned[Alert]]:
        while True:
            found = await alert_store.alerts_after(
                _session(ctx), tenant_id, user_id, after_seq, REPLAY_LIMIT
            )
            for alert in found:
                _recheck(ctx, "alerts:read")
                _fresh(ctx)
                after_seq = alert.seq or after_seq
                yield after_seq, alert
            if len(found) < REPLAY_LIMIT:
                return

    async def from_event(event: dict[str, Any], after: int) -> Positioned[Alert] | None:
        payload = event.get("payload") or {}
        if not event["event_type"].startswith("alert.") or payload.get("user_id") != str(user_id):
            return None
        seq = int(payload["seq"])
        if seq <= after:
            return None
        _recheck(ctx, "alerts:read", event["tenant_id"])
        loaders = _fresh(ctx)
        alert_id = UUID(payload["alert_id"])
        alert = await _shared(ctx, event, lambda: loaders.alert_by_id.load(alert_id))
        # The loader only finds the caller's own alerts; a shared row is checked again.
        if alert is None or alert.user_id != user_id or alert.tenant_id != tenant_id:
            return None
        return seq, alert

    async def latest() -> int:
        return await alert_store.last_alert_seq(_session(ctx), tenant_id, user_id)

    channel = user_channel(tenant_id, user_id)
    async for alert in _stream(
        ctx, "alertReceived", channel, last, bool(since), latest, replay, from_event
    ):
        yield alert
