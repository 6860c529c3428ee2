"""Saved searches (buy boxes) and the webhook endpoints that receive their matches."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain import delivery as delivery_domain
from domain import saved_search as domain
from domain.property import PropertyType as DomainPropertyType
from resolvers import saved_search as resolve
from resolvers import webhook as resolve_webhook
from resolvers.ids import to_global_id
from schema.common import Connection, Node, UserError
from schema.permissions import requires
from schema.property import PropertyType
from schema.search import GeoRadiusInput

SavedSearchFrequency = strawberry.enum(
    domain.Frequency,
    name="SavedSearchFrequency",
    description="When e-mail goes out: INSTANT (one e-mail per match, at once) or DAILY (one "
    "digest a day). In-app alerts always arrive at once; webhooks always per match.",
)
AlertChannel = strawberry.enum(
    domain.Channel,
    name="AlertChannel",
    description="IN_APP (always on), EMAIL (to the owner), WEBHOOK (to the tenant's endpoints).",
)


@strawberry.input(
    description="What a property must be to match. Given criteria must all hold; among the "
    "area criteria (cities, postalCodes, near) one is enough. At least one criterion."
)
class SavedSearchCriteriaInput:
    cities: list[str] | None = strawberry.field(
        default=UNSET, description="City names, case-insensitive (up to 50)."
    )
    postal_codes: list[str] | None = strawberry.field(
        default=UNSET, description="Postal codes; US ZIP+4 matches on its 5 digits (up to 100)."
    )
    near: GeoRadiusInput | None = strawberry.field(
        default=UNSET, description="Within this radius (great-circle distance)."
    )
    property_types: list[PropertyType] | None = UNSET
    min_price: Decimal | None = strawberry.field(default=UNSET, description="On listPrice.")
    max_price: Decimal | None = strawberry.field(default=UNSET, description="On listPrice.")
    min_bedrooms: int | None = UNSET
    min_bathrooms: int | None = UNSET
    max_price_to_arv: Decimal | None = strawberry.field(
        default=UNSET,
        description="List price at most this fraction of the ARV (0.70 is 70 %); a property "
        "without an ARV matches once it is valued.",
    )
    min_score: int | None = strawberry.field(
        default=UNSET, description="Property score at least this (0-100)."
    )


@strawberry.input(description="A new saved search.")
class SavedSearchInput:
    criteria: SavedSearchCriteriaInput
    frequency: SavedSearchFrequency = domain.Frequency.INSTANT  # type: ignore[assignment]
    channels: list[AlertChannel] | None = strawberry.field(
        default=UNSET, description="Default [IN_APP]; IN_APP is always included."
    )
    name: str | None = strawberry.field(
        default=UNSET, description="1-200 characters; default: made from the criteria."
    )


@strawberry.input(description="Changes to a saved search; omitted fields stay as they are.")
class SavedSearchUpdateInput:
    criteria: SavedSearchCriteriaInput | None = strawberry.field(
        default=UNSET, description="Replaces all criteria when given."
    )
    frequency: SavedSearchFrequency | None = UNSET
    channels: list[AlertChannel] | None = UNSET
    name: str | None = UNSET
    paused: bool | None = strawberry.field(
        default=UNSET, description="A paused search matches nothing until resumed."
    )


@strawberry.type(description="A circle on the map.")
class GeoCircle:
    latitude: float
    longitude: float
    radius_miles: float


@strawberry.type(description="A saved search's criteria, as stored (normalized).")
class SavedSearchCriteria:
    cities: list[str]
    postal_codes: list[str]
    near: GeoCircle | None
    property_types: list[PropertyType]
    min_price: Decimal | None
    max_price: Decimal | None
    min_bedrooms: int | None
    min_bathrooms: int | None
    max_price_to_arv: Decimal | None
    min_score: int | None


def _criteria(criteria: domain.Criteria) -> SavedSearchCriteria:
    near = criteria.near
    return SavedSearchCriteria(
        cities=list(criteria.cities),
        postal_codes=list(criteria.postal_codes),
        near=GeoCircle(
            latitude=near.latitude, longitude=near.longitude, radius_miles=near.radius_miles
        )
        if near
        else None,
        property_types=[DomainPropertyType(value) for value in criteria.property_types],  # type: ignore[misc]
        min_price=criteria.min_price,
        max_price=criteria.max_price,
        min_bedrooms=criteria.min_bedrooms,
        min_bathrooms=criteria.min_bathrooms,
        max_price_to_arv=criteria.max_price_to_arv,
        min_score=criteria.min_score,
    )


@strawberry.type(
    description="A buy box: new and changed properties that fit it alert its owner, with "
    "reasons and a match score. Only its owner sees it."
)
class SavedSearch(Node):
    name: str
    frequency: SavedSearchFrequency
    channels: list[AlertChannel]
    paused_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("SavedSearch", self.id))  # type: ignore[arg-type]

    @strawberry.field
    def criteria(self) -> SavedSearchCriteria:
        return _criteria(self.criteria)  # type: ignore[arg-type]

    @strawberry.field(description="Paused searches match nothing.")
    def paused(self) -> bool:
        return self.paused_at is not None

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.SavedSearch)


@strawberry.type
class SavedSearchPayload:
    saved_search: SavedSearch | None
    errors: list[UserError]


@strawberry.type
class SavedSearchDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type(
    description="A partner's HTTPS endpoint that receives the tenant's matches as signed JSON "
    "(X-Reos-Signature: sha256=HMAC(secret, timestamp + '.' + body), X-Reos-Timestamp)."
)
class WebhookEndpoint(Node):
    url: str
    description: str
    consecutive_failures: int = strawberry.field(
        description="Failed attempts in a row; at 8 the endpoint is disabled."
    )
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookEndpoint", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="False once disabled (by failures or by an admin).")
    def enabled(self) -> bool:
        return self.disabled_at is None

    @strawberry.field(description="The secret's last four characters (it is shown only once).")
    def secret_hint(self) -> str:
        return "..." + self.secret[-4:]  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, delivery_domain.WebhookEndpoint)


@strawberry.input(description="A new webhook endpoint.")
class WebhookEndpointInput:
    url: str = strawberry.field(
        description="http(s); in production it must resolve to public addresses only."
    )
    description: str | None = UNSET


@strawberry.input(description="Changes to a webhook endpoint; omitted fields stay as they are.")
class WebhookEndpointUpdateInput:
    url: str | None = UNSET
    description: str | None = UNSET
    enabled: bool | None = strawberry.field(
        default=UNSET, description="true re-enables a disabled endpoint and clears its failures."
    )


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None
    errors: list[UserError]


@strawberry.type
class WebhookEndpointSecretPayload:
    webhook_endpoint: WebhookEndpoint | None
    secret: str | None = strawberry.field(
        description="The signing secret, shown this once: store it now."
    )
    errors: list[UserError]


@strawberry.type
class WebhookEndpointDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


READ = requires("alerts:read")
WRITE = requires("alerts:write")
ADMIN = requires(resolve_webhook.PERMISSION)


@strawberry.type
class SavedSearchQuery:
    @strawberry.field(
        description="The current user's own saved searches, newest first.", extensions=READ
    )
    async def saved_searches(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SavedSearch]:
        return await resolve.saved_searches(info.context, first, after)  # type: ignore[return-value]

    @strawberry.field(description="The tenant's webhook endpoints (ADMIN).", extensions=ADMIN)
    async def webhook_endpoints(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        return await resolve_webhook.webhook_endpoints(info.context, first, after)  # type: ignore[return-value]


@strawberry.type
class SavedSearchMutation:
    @strawberry.mutation(
        description="Save a buy box for yourself; new and changed properties that fit it alert "
        "you. minPrice above maxPrice and other bad criteria fail with INVALID at the field.",
        extensions=WRITE,
    )
    async def saved_search_create(self, info: Info, input: SavedSearchInput) -> SavedSearchPayload:
        return await resolve.saved_search_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Change, pause or resume one of your saved searches.", extensions=WRITE
    )
    async def saved_search_update(
        self, info: Info, id: strawberry.ID, input: SavedSearchUpdateInput
    ) -> SavedSearchPayload:
        return await resolve.saved_search_update(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Delete one of your saved searches (its alerts stay).", extensions=WRITE
    )
    async def saved_search_delete(self, info: Info, id: strawberry.ID) -> SavedSearchDeletePayload:
        return await resolve.saved_search_delete(info.context, id)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Register a partner endpoint (ADMIN); the payload's secret is shown once.",
        extensions=ADMIN,
    )
    async def webhook_endpoint_create(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        return await resolve_webhook.webhook_endpoint_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Change, disable or re-enable an endpoint (ADMIN).", extensions=ADMIN
    )
    async def webhook_endpoint_update(
        self, info: Info, id: strawberry.ID, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpointPayload:
        return await resolve_webhook.webhook_endpoint_update(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Replace an endpoint's signing secret (ADMIN); the new one is shown once.",
        extensions=ADMIN,
    )
    async def webhook_endpoint_rotate_secret(
        self, info: Info, id: strawberry.ID
    ) -> WebhookEndpointSecretPayload:
        return await resolve_webhook.webhook_endpoint_rotate_secret(info.context, id)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Delete an endpoint and its queued deliveries (ADMIN).", extensions=ADMIN
    )
    async def webhook_endpoint_delete(
        self, info: Info, id: strawberry.ID
    ) -> WebhookEndpointDeletePayload:
        return await resolve_webhook.webhook_endpoint_delete(info.context, id)  # type: ignore[return-value]
