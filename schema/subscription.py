"""Live updates over WebSocket: deal timelines, project bids and alerts, resumable with `since`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import subscription as resolve
from schema.alert import Alert
from schema.construction import Bid
from schema.deal import TimelineEntry


@strawberry.enum(description="What happened to a bid.")
class BidEventKind(Enum):
    RECEIVED = "RECEIVED"
    AWARDED = "AWARDED"
    WITHDRAWN = "WITHDRAWN"


@strawberry.type(description="A bid that arrived or changed.")
class BidEvent:
    kind: BidEventKind
    bid: Bid
    cursor: str = strawberry.field(description="Pass as `since` to resume after this event.")


@strawberry.type(description="Live updates; the token comes in connection_init.")
class Subscription:
    @strawberry.subscription(
        description="New timeline entries of a deal; `since` (an entry's cursor) replays first."
    )
    async def timeline_updated(
        self, info: Info, deal_id: strawberry.ID, since: str | None = None
    ) -> AsyncGenerator[TimelineEntry, None]:
        async for entry in resolve.timeline_updated(info.context, deal_id, since):
            yield entry  # type: ignore[misc]

    @strawberry.subscription(
        description="Bids received and awarded on a project; `since` (a cursor) replays first."
    )
    async def bid_updated(
        self, info: Info, project_id: strawberry.ID, since: str | None = None
    ) -> AsyncGenerator[BidEvent, None]:
        async for event in resolve.bid_updated(info.context, project_id, since):
            yield event  # type: ignore[misc]

    @strawberry.subscription(
        description="The current user's new alerts; `since` (an alert's cursor) replays first."
    )
    async def alert_received(
        self, info: Info, since: str | None = None
    ) -> AsyncGenerator[Alert, None]:
        async for alert in resolve.alert_received(info.context, since):
            yield alert  # type: ignore[misc]
