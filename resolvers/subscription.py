"""Live subscriptions: replay what was committed after `since`, then stream, with no gap.

Every event is checked against the subscriber's tenant, permission and token before it is
sent, and gets fresh DataLoaders (never per connection) over a session that holds no connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.construction import Bid
from domain.errors import DomainError
from domain.timeline import TimelineEntry
from persistence import deal as deal_store
from persistence.database import ShortTenantSession
from persistence.deal import TIMELINE_SORT
from persistence.outbox import events_after
from resolvers.context import Context
from resolvers.deal import decode_query_id
from resolvers.errors import ApiError, bad_input
from resolvers.loaders import Loaders
from subscriptions.bus import BusReconnected, SubscriberOverflow
from subscriptions.channels import deal_channel, project_channel

REPLAY_LIMIT = 500
SLOW_CONSUMER_CLOSE = 4499
BID_EVENTS = {"bid.received": "RECEIVED", "bid.awarded": "AWARDED", "bid.withdrawn": "WITHDRAWN"}


@dataclass
class BidEvent:
    kind: str
    bid: Bid
    cursor: str


def _fresh(ctx: Context) -> Loaders:
    """New loaders for one event, over a session that keeps no connection."""
    principal = ctx.require()
    ctx.loaders = Loaders(ShortTenantSession(ctx.services.engine, principal.tenant_id), principal)
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
    websocket = ctx.request
    if hasattr(websocket, "close"):
        await websocket.close(code=SLOW_CONSUMER_CLOSE, reason="Too slow: reconnect with since")


async def timeline_updated(
    ctx: Context, deal_gid: str, since: str | None
) -> AsyncIterator[TimelineEntry]:
    _recheck(ctx, "timeline:read")
    principal = ctx.require()
    deal_id = decode_query_id(deal_gid, "Deal")
    if await _fresh(ctx).deal_by_id.load(deal_id) is None:
        raise ApiError("No deal with this ID.", "NOT_FOUND")
    last_seq = -1
    if since:
        try:
            last_seq = int(TIMELINE_SORT.decode(since)[0])
        except DomainError as error:
            raise bad_input("Malformed `since` cursor.") from error
    _count_subscription(ctx)
    try:
        async with ctx.services.bus.subscribe(deal_channel(principal.tenant_id, deal_id)) as events:
            if since:
                async for entry in _replay_timeline(ctx, deal_id, last_seq):
                    last_seq = entry.seq
                    yield entry
            while True:
                try:
                    async for message in events:
                        event = json.loads(message.message)
                        if event["event_type"] != "timeline.entry_added":
                            continue
                        seq = int(event["payload"]["seq"])
                        if seq <= last_seq:
                            continue
                        _recheck(ctx, "timeline:read", event["tenant_id"])
                        entry = await _fresh(ctx).timeline_entry_by_id.load(
                            UUID(event["payload"]["entry_id"])
                        )
                        if entry is not None:
                            last_seq = seq
                            yield entry
                    return
                except BusReconnected:
                    async for entry in _replay_timeline(ctx, deal_id, last_seq):
                        last_seq = entry.seq
                        yield entry
    except SubscriberOverflow:
        await _close_slow(ctx)
    finally:
        ctx.subscriptions -= 1


async def _replay_timeline(
    ctx: Context, deal_id: UUID, after_seq: int
) -> AsyncIterator[TimelineEntry]:
    principal = ctx.require()
    session = ShortTenantSession(ctx.services.engine, principal.tenant_id)
    while True:
        entries = await deal_store.timeline_after(
            session, principal.tenant_id, deal_id, after_seq, REPLAY_LIMIT
        )
        for entry in entries:
            _recheck(ctx, "timeline:read")
            _fresh(ctx)
            after_seq = entry.seq
            yield entry
        if len(entries) < REPLAY_LIMIT:
            return


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
    _count_subscription(ctx)
    try:
        async with ctx.services.bus.subscribe(
            project_channel(principal.tenant_id, project_id)
        ) as events:
            if since:
                async for item in _replay_bids(ctx, project_id, last):
                    last = int(item.cursor[2:])
                    yield item
            while True:
                try:
                    async for message in events:
                        event = json.loads(message.message)
                        if event["event_type"] not in BID_EVENTS or event["cursor"] <= last:
                            continue
                        _recheck(ctx, "construction:read", event["tenant_id"])
                        item = await _bid_event(ctx, event)
                        if item is not None:
                            last = event["cursor"]
                            yield item
                    return
                except BusReconnected:
                    async for item in _replay_bids(ctx, project_id, last):
                        last = int(item.cursor[2:])
                        yield item
    except SubscriberOverflow:
        await _close_slow(ctx)
    finally:
        ctx.subscriptions -= 1


async def _bid_event(ctx: Context, event: dict[str, Any]) -> BidEvent | None:
    bid = await _fresh(ctx).bid_by_id.load(UUID(event["payload"]["bid_id"]))
    if bid is None:
        return None
    return BidEvent(
        kind=BID_EVENTS[event["event_type"]], bid=bid, cursor=_bid_cursor(event["cursor"])
    )


async def _replay_bids(ctx: Context, project_id: UUID, after: int) -> AsyncIterator[BidEvent]:
    principal = ctx.require()
    session = ShortTenantSession(ctx.services.engine, principal.tenant_id)
    while True:
        events = await events_after(
            session,
            principal.tenant_id,
            "project",
            project_id,
            list(BID_EVENTS),
            after,
            REPLAY_LIMIT,
        )
        for event in events:
            _recheck(ctx, "construction:read")
            item = await _bid_event(ctx, event)
            after = event["cursor"]
            if item is not None:
                yield item
        if len(events) < REPLAY_LIMIT:
            return
