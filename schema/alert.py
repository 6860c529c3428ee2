"""The alert inbox: a user's own alerts, unread count, marking read."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from domain import alert as domain
from resolvers import alert as resolve
from resolvers.ids import to_global_id
from schema.common import Connection, Node, UserError
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.deal import Deal
    from schema.property import Property
    from schema.saved_search import SavedSearch

AlertKind = strawberry.enum(
    domain.AlertKind,
    name="AlertKind",
    description="PROPERTY_MATCH (a saved search matched), or a system alert about a deal.",
)
DealRef = Annotated["Deal", strawberry.lazy("schema.deal")]
PropertyRef = Annotated["Property", strawberry.lazy("schema.property")]
SavedSearchRef = Annotated["SavedSearch", strawberry.lazy("schema.saved_search")]


@strawberry.type(description="Why an alert fired, and the points it adds to the score.")
class AlertReason:
    code: str = strawberry.field(
        description="IN_AREA, PRICE_IN_RANGE, BELOW_ARV or SCORE_ABOVE_MIN for matches."
    )
    weight: int | None = strawberry.field(
        description="Points this reason adds to the match score (50 + the weights)."
    )
    detail: str | None


@strawberry.type(description="Something a user should know about; each user sees only their own.")
class Alert(Node):
    kind: AlertKind
    title: str
    body: str
    score: int | None = strawberry.field(description="0-100 for matches; null for system alerts.")
    read_at: datetime | None
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Alert", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="Pass as `since` to alertReceived to resume after this alert.")
    def cursor(self) -> str:
        return resolve.alert_cursor(self)  # type: ignore[arg-type]

    @strawberry.field
    def reasons(self) -> list[AlertReason]:
        return [
            AlertReason(code=str(r.get("code")), weight=r.get("weight"), detail=r.get("detail"))
            for r in self.reasons  # type: ignore[attr-defined]
        ]

    @strawberry.field
    async def property(self, info: Info) -> PropertyRef | None:
        if self.property_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.property_by_id.load(self.property_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The saved search that matched (PROPERTY_MATCH), if yours.")
    async def saved_search(self, info: Info) -> SavedSearchRef | None:
        if self.saved_search_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.saved_search_by_id.load(self.saved_search_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def deal(self, info: Info) -> DealRef | None:
        if self.deal_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Alert)


@strawberry.type
class AlertMarkReadPayload:
    alerts: list[Alert] = strawberry.field(description="The alerts, now read, in the order asked.")
    errors: list[UserError]


R = requires("alerts:read")


@strawberry.type
class AlertQuery:
    @strawberry.field(description="The current user's own alerts, newest first.", extensions=R)
    async def alerts(
        self,
        info: Info,
        unread_only: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Alert]:
        return await resolve.alerts(info.context, unread_only, first, after)  # type: ignore[return-value]

    @strawberry.field(description="How many of the current user's alerts are unread.", extensions=R)
    async def alert_unread_count(self, info: Info) -> int:
        return await resolve.unread_count(info.context)


@strawberry.type
class AlertMutation:
    @strawberry.mutation(
        description="Mark your alerts read. An ID that is not one of your alerts fails the "
        "request with NOT_FOUND and nothing is marked.",
        extensions=R,
    )
    async def alert_mark_read(self, info: Info, ids: list[strawberry.ID]) -> AlertMarkReadPayload:
        return await resolve.mark_read(info.context, ids)  # type: ignore[return-value]
