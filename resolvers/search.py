"""propertySearch: arguments -> a search request -> the configured backend -> a result page."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.property import Property, PropertyType, StandardStatus
from persistence.search import (
    METERS_PER_MILE,
    GeoRadius,
    SearchBackend,
    SearchHit,
    SearchRequest,
)
from persistence.search import cursor as cursors
from persistence.search.facets import PROPERTY_TYPE, STANDARD_STATUS, Bucket, Facet, Summary
from persistence.search.postgres import PostgresSearch
from persistence.search.text import query_words
from resolvers.context import Context
from resolvers.errors import bad_input
from resolvers.pagination import DEFAULT_FIRST, MAX_FIRST, PageInfo
from resolvers.property import list_query

MAX_QUERY_LENGTH = 200
MAX_RADIUS_MILES = 250.0
ENUM_NAMES = {
    PROPERTY_TYPE: {member.value: member.name for member in PropertyType},
    STANDARD_STATUS: {member.value: member.name for member in StandardStatus},
}
DEFAULT_BACKEND = PostgresSearch()


@dataclass(slots=True)
class SearchEdge:
    cursor: str
    node: Property
    score: float
    distance_miles: float | None


@dataclass(slots=True)
class SearchPage:
    edges: list[SearchEdge]
    page_info: PageInfo
    summary: Callable[[], Awaitable[Summary]]

    async def total_count(self) -> int:
        return (await self.summary()).total

    async def facets(self) -> list[Facet]:
        """Facets with enum names (ACTIVE_UNDER_CONTRACT) where the field is an enum."""
        facets = (await self.summary()).facets
        return [_with_enum_names(facet) for facet in facets]


def _with_enum_names(facet: Facet) -> Facet:
    names = ENUM_NAMES.get(facet.field)
    if names is None:
        return facet
    buckets = [
        Bucket(names.get(bucket.value, bucket.value) if bucket.value else None, bucket.count)
        for bucket in facet.buckets
    ]
    return Facet(field=facet.field, buckets=buckets, other=facet.other)


def _first(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if first < 0 or first > MAX_FIRST:
        raise bad_input(f"`first` must be between 0 and {MAX_FIRST}.")
    return first


def _words(query: str | None) -> list[str]:
    if query is None:
        return []
    if len(query) > MAX_QUERY_LENGTH:
        raise bad_input(f"`query` is longer than {MAX_QUERY_LENGTH} characters.")
    return query_words(query)


def _near(near: Any) -> GeoRadius | None:
    if near is None:
        return None
    latitude, longitude, radius = near.latitude, near.longitude, near.radius_miles
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise bad_input("`near.latitude` must be between -90 and 90.")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise bad_input("`near.longitude` must be between -180 and 180.")
    if not (math.isfinite(radius) and 0 < radius <= MAX_RADIUS_MILES):
        raise bad_input(
            f"`near.radiusMiles` must be greater than 0 and at most {MAX_RADIUS_MILES:g}."
        )
    return GeoRadius(latitude, longitude, radius * METERS_PER_MILE)


def backend_of(ctx: Context) -> SearchBackend:
    return getattr(ctx.services, "search", None) or DEFAULT_BACKEND


async def property_search(
    ctx: Context,
    query: str | None,
    filter: Any,
    near: Any,
    first: int | None,
    after: str | None,
) -> SearchPage:
    """One page of the tenant's properties matching words, filters and a radius, best first."""
    ctx.require("properties:read")
    backend = backend_of(ctx)
    request = SearchRequest(
        tenant_id=ctx.tenant_id,
        words=_words(query),
        filter=list_query(ctx, filter),
        near=_near(near),
        limit=_first(first),
    )
    fingerprint = cursors.fingerprint(request)
    if after is not None:
        try:
            request.after = backend.parse_key(cursors.decode(after, backend.name, fingerprint))
        except cursors.CursorError as error:
            raise bad_input(str(error)) from error
        except (ValueError, TypeError, ArithmeticError) as error:
            raise bad_input("Malformed cursor.") from error
    results = await backend.search(ctx.session, request)
    hits = results.hits[: request.limit]
    nodes = await _nodes(ctx, hits)
    edges = [
        SearchEdge(
            cursor=cursors.encode(backend.name, fingerprint, hit.key),
            node=prop,
            score=hit.score,
            distance_miles=None if hit.distance_m is None else hit.distance_m / METERS_PER_MILE,
        )
        for hit, prop in zip(hits, nodes, strict=True)
        if prop is not None
    ]
    return SearchPage(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(results.hits) > request.limit,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        summary=results.summary,
    )


async def _nodes(ctx: Context, hits: list[SearchHit]) -> list[Property | None]:
    """The properties of the hits: as the backend read them, else through the loader (one
    batched read; an id the index still has but the database no longer does is dropped)."""
    loader = ctx.loaders.property_by_id
    for hit in hits:
        if hit.property is not None:
            loader.prime(hit.property_id, hit.property)
    return list(await loader.load_many([hit.property_id for hit in hits]))
