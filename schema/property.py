"""Properties (RESO Data Dictionary names): types, inputs and operations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain import property as domain
from resolvers import deal as resolve_deal
from resolvers import property as resolve
from resolvers import valuation as resolve_valuation
from resolvers.ids import to_global_id
from schema.common import Connection, Node, OrderDirection, UserError
from schema.permissions import requires
from schema.valuation import Comp, Score, Valuation

if TYPE_CHECKING:
    from schema.deal import DealConnection

PropertyType = strawberry.enum(
    domain.PropertyType, name="PropertyType", description="RESO PropertyType."
)
StandardStatus = strawberry.enum(
    domain.StandardStatus, name="StandardStatus", description="RESO StandardStatus."
)
LotSizeUnits = strawberry.enum(
    domain.LotSizeUnits, name="LotSizeUnits", description="RESO LotSizeUnits."
)


@strawberry.type(description="Postal address (RESO names).")
class Address:
    unparsed_address: str
    street_number: str | None
    street_name: str | None
    unit_number: str | None
    city: str
    state_or_province: str
    postal_code: str | None
    county_or_parish: str | None


@strawberry.type(description="A photo or other media item of a property.")
class Media:
    url: str
    media_category: str
    short_description: str | None
    order: int


@strawberry.type(description="Where a field's current value came from.")
class FieldProvenance:
    field: str = strawberry.field(description="RESO field name in camelCase, e.g. listPrice.")
    source: str = strawberry.field(description="USER for typed values, else the data source.")
    fetched_at: datetime
    confidence: Decimal = strawberry.field(description="0 to 1.")
    locked: bool = strawberry.field(
        description="A value a user typed: later enrichment never overwrites it."
    )


@strawberry.type(description="A property, with RESO Data Dictionary fields.")
class Property(Node):
    listing_id: str | None
    parcel_number: str | None = strawberry.field(description="Assessor's parcel number (APN).")
    latitude: float | None
    longitude: float | None
    property_type: PropertyType | None
    property_sub_type: str | None
    standard_status: StandardStatus | None
    list_price: Decimal | None
    original_list_price: Decimal | None
    close_price: Decimal | None
    close_date: date | None
    listing_contract_date: date | None = strawberry.field(description="The listed date.")
    days_on_market: int | None
    bedrooms_total: int | None
    bathrooms_total_integer: int | None
    living_area: Decimal | None = strawberry.field(description="Square feet.")
    lot_size_area: Decimal | None
    lot_size_units: LotSizeUnits | None
    year_built: int | None
    tax_annual_amount: Decimal | None
    association_fee: Decimal | None
    features: list[str]
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Property", self.id))  # type: ignore[arg-type]

    @strawberry.field
    def address(self) -> Address:
        return self  # type: ignore[return-value]

    @strawberry.field(description="Photos and other media, in display order.")
    async def media(self, info: Info) -> list[Media]:
        return await resolve.media(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Per-field source, time, confidence and lock.")
    async def provenance(self, info: Info) -> list[FieldProvenance]:
        return await resolve.provenance(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Deals on this property, newest first.")
    async def deals(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Annotated[DealConnection, strawberry.lazy("schema.deal")]:
        info.context.require("deals:read")
        return await resolve_deal.property_deals(info.context, self.id, first, after)  # type: ignore[attr-defined,return-value]

    @strawberry.field(
        description="Investment score 0-100 with reasons: deterministic, versioned weights, "
        "from the live ARV."
    )
    async def score(self, info: Info) -> Score:
        return await resolve_valuation.score(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(
        description="Comparable closed sales (same type, living area within 20 %), nearest "
        "first, each with its adjustments as in `valuation`."
    )
    async def comps(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Default 20, at most 50.")
        ] = None,
        radius_miles: Annotated[
            float | None,
            strawberry.argument(
                description="Search exactly this radius, over 0 and at most 10. Omitted: 0.5, "
                "widened to 1 when fewer than 3 comps."
            ),
        ] = None,
        months_back: Annotated[
            int | None, strawberry.argument(description="1 to 60; default 12.")
        ] = None,
    ) -> list[Comp]:
        return await resolve_valuation.comps(  # type: ignore[return-value]
            info.context,
            self,  # type: ignore[arg-type]
            first,
            radius_miles,
            months_back,
        )

    @strawberry.field(
        description="After-repair value from the comps with every adjustment shown; no comps "
        "gives a null ARV with the reason."
    )
    async def valuation(
        self,
        info: Info,
        radius_miles: Annotated[
            float | None,
            strawberry.argument(description="As for comps: omitted, 0.5 widened to 1."),
        ] = None,
        months_back: Annotated[
            int | None, strawberry.argument(description="1 to 60; default 12.")
        ] = None,
    ) -> Valuation:
        return await resolve_valuation.valuation(info.context, self, radius_miles, months_back)  # type: ignore[arg-type,return-value]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Property)


@strawberry.input(description="Filters; all given ones must match.")
class PropertyFilter:
    city: str | None = None
    postal_code: str | None = None
    property_type: list[PropertyType] | None = None
    standard_status: list[StandardStatus] | None = None
    min_price: Decimal | None = strawberry.field(default=None, description="On listPrice.")
    max_price: Decimal | None = None
    min_bedrooms: int | None = None
    max_bedrooms: int | None = None
    min_bathrooms: int | None = None
    max_bathrooms: int | None = None
    min_living_area: Decimal | None = None
    max_living_area: Decimal | None = None
    text: str | None = strawberry.field(
        default=None, description="Words matched in address, city, postal code, listing ID, APN."
    )


@strawberry.enum(description="Property sort keys.")
class PropertyOrderField(Enum):
    LIST_PRICE = "LIST_PRICE"
    LISTED_DATE = "LISTED_DATE"
    UPDATED_AT = "UPDATED_AT"
    CREATED_AT = "CREATED_AT"


@strawberry.input(description="Sort order; empty values sort last.")
class PropertyOrder:
    field: PropertyOrderField = PropertyOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input
class AddressInput:
    unparsed_address: str | None = UNSET
    street_number: str | None = UNSET
    street_name: str | None = UNSET
    unit_number: str | None = UNSET
    city: str | None = UNSET
    state_or_province: str | None = UNSET
    postal_code: str | None = UNSET
    county_or_parish: str | None = UNSET


@strawberry.input
class MediaInput:
    url: str
    media_category: str | None = UNSET
    short_description: str | None = UNSET
    order: int | None = UNSET


@strawberry.input(
    description="Property fields. On update, omitted fields stay as they are; null clears."
)
class PropertyInput:
    address: AddressInput | None = UNSET
    listing_id: str | None = UNSET
    parcel_number: str | None = UNSET
    latitude: float | None = UNSET
    longitude: float | None = UNSET
    property_type: PropertyType | None = UNSET
    property_sub_type: str | None = UNSET
    standard_status: StandardStatus | None = UNSET
    list_price: Decimal | None = UNSET
    original_list_price: Decimal | None = UNSET
    close_price: Decimal | None = UNSET
    close_date: date | None = UNSET
    listing_contract_date: date | None = UNSET
    days_on_market: int | None = UNSET
    bedrooms_total: int | None = UNSET
    bathrooms_total_integer: int | None = UNSET
    living_area: Decimal | None = UNSET
    lot_size_area: Decimal | None = UNSET
    lot_size_units: LotSizeUnits | None = UNSET
    year_built: int | None = UNSET
    tax_annual_amount: Decimal | None = UNSET
    association_fee: Decimal | None = UNSET
    features: list[str] | None = UNSET
    media: list[MediaInput] | None = strawberry.field(
        default=UNSET, description="Replaces all media when given."
    )


@strawberry.input(description="A property from a data source, matched by APN or address.")
class PropertyIntakeInput:
    source: str = strawberry.field(description="Data source, e.g. MLS or COUNTY.")
    property: PropertyInput
    confidence: float | None = strawberry.field(default=UNSET, description="0 to 1; default 1.")
    fetched_at: datetime | None = UNSET


@strawberry.type
class PropertyPayload:
    property: Property | None
    errors: list[UserError]


@strawberry.type
class PropertyIntakePayload:
    property: Property | None
    created: bool = strawberry.field(description="False when an existing property was matched.")
    errors: list[UserError]


@strawberry.type
class PropertyDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class PropertyQuery:
    @strawberry.field(
        description="A property by ID; null when not found.", extensions=requires("properties:read")
    )
    async def property(self, info: Info, id: strawberry.ID) -> Property | None:
        return await resolve.property_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field(
        description="Properties, filtered and sorted.", extensions=requires("properties:read")
    )
    async def properties(
        self,
        info: Info,
        filter: PropertyFilter | None = None,
        order_by: PropertyOrder | None = None,
        first: Annotated[
            int | None, strawberry.argument(description="Default 20, at most 100.")
        ] = None,
        after: str | None = None,
    ) -> Connection[Property]:
        return await resolve.properties(info.context, filter, order_by, first, after)  # type: ignore[return-value]


@strawberry.type
class PropertyMutation:
    @strawberry.mutation(extensions=requires("properties:write"))
    async def property_create(self, info: Info, input: PropertyInput) -> PropertyPayload:
        return await resolve.property_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("properties:write"))
    async def property_update(
        self, info: Info, id: strawberry.ID, input: PropertyInput
    ) -> PropertyPayload:
        return await resolve.property_update(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("properties:write"))
    async def property_delete(self, info: Info, id: strawberry.ID) -> PropertyDeletePayload:
        return await resolve.property_delete(info.context, id)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Create or enrich a property; the same parcel or address is the same property.",
        extensions=requires("properties:write"),
    )
    async def property_intake(
        self, info: Info, input: PropertyIntakeInput
    ) -> PropertyIntakePayload:
        return await resolve.property_intake(info.context, input)  # type: ignore[return-value]
