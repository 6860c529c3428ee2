"""Property search: propertySearch with its result, edges, facets and the radius input."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from persistence.search import facets as facet_fields
from resolvers import search as resolve
from schema.common import PageInfo
from schema.permissions import requires
from schema.property import Property, PropertyFilter


@strawberry.input(description="A circle on the map: properties within radiusMiles of a point.")
class GeoRadiusInput:
    latitude: float = strawberry.field(description="Degrees, -90 to 90.")
    longitude: float = strawberry.field(description="Degrees, -180 to 180.")
    radius_miles: float = strawberry.field(
        description="Great-circle distance in miles, more than 0 and at most 250."
    )


@strawberry.enum(description="What a search facet counts by.")
class PropertyFacetField(Enum):
    CITY = facet_fields.CITY
    POSTAL_CODE = facet_fields.POSTAL_CODE
    PROPERTY_TYPE = facet_fields.PROPERTY_TYPE
    STANDARD_STATUS = facet_fields.STANDARD_STATUS
    BEDROOMS = facet_fields.BEDROOMS
    PRICE = facet_fields.PRICE


@strawberry.type(description="How many matching properties have one value of a facet.")
class FacetBucket:
    value: str | None = strawberry.field(
        description=(
            "The value: a city or postal code as stored; a PropertyType or StandardStatus name; "
            'a bedroom band "0".."4", "5+"; a listPrice band "low-high" (low included, high '
            'excluded) or "2000000+". null: properties without a value.'
        )
    )
    count: int


@strawberry.type(
    description=(
        "Counts of the whole match (query, filter and radius, including this facet's own "
        "filter) by one field: the buckets and otherCount add up to totalCount."
    )
)
class PropertyFacet:
    buckets: list[FacetBucket] = strawberry.field(
        description="Bands in band order; other fields by count, then value; null last."
    )

    @strawberry.field(description="The field counted.")
    def field(self) -> PropertyFacetField:
        return PropertyFacetField(self.field)  # type: ignore[arg-type]

    @strawberry.field(
        description="Properties in values past the first 100 buckets (0 for most facets)."
    )
    def other_count(self) -> int:
        return self.other  # type: ignore[attr-defined,no-any-return]


@strawberry.type(description="A search hit with its cursor.")
class PropertySearchEdge:
    cursor: str = strawberry.field(description="Opaque cursor: pass as `after` to continue.")
    node: Property
    score: float = strawberry.field(
        description="Relevance, higher first (0 without a query); comparable within one search."
    )
    distance_miles: float | None = strawberry.field(
        description="Great-circle distance from `near`, when given."
    )


@strawberry.type(description="A page of search results with the total and the facets.")
class PropertySearchResult:
    edges: list[PropertySearchEdge]
    page_info: PageInfo

    @strawberry.field(description="Number of matching properties across all pages.")
    async def total_count(self) -> int:
        return await resolve.SearchPage.total_count(self)  # type: ignore[arg-type]

    @strawberry.field(
        description=(
            "Counts by city, postal code, property type, standard status, bedrooms and price "
            "band over the whole match."
        )
    )
    async def facets(self) -> list[PropertyFacet]:
        return await resolve.SearchPage.facets(self)  # type: ignore[arg-type,return-value]


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description=(
            "Search the tenant's properties by words (address, city, postal code, listing ID, "
            "APN; prefixes and typos match), the filters of `properties`, and a radius. Best "
            "matches first: exact address, then exact city, then exact IDs, then partial "
            "matches; ties nearest first (with `near`). Bad arguments are BAD_USER_INPUT."
        ),
        extensions=requires("properties:read"),
    )
    async def property_search(
        self,
        info: Info,
        query: Annotated[
            str | None, strawberry.argument(description="Words, at most 200 characters.")
        ] = None,
        filter: PropertyFilter | None = None,
        near: GeoRadiusInput | None = None,
        first: Annotated[
            int | None, strawberry.argument(description="Default 20, at most 100.")
        ] = None,
        after: str | None = None,
    ) -> PropertySearchResult:
        return await resolve.property_search(info.context, query, filter, near, first, after)  # type: ignore[return-value]
