"""Property search behind one interface, with a PostgreSQL backend (the default) and an
Elasticsearch backend (when ELASTICSEARCH_URL is set).

A search is words (folded by persistence.search.text), the filters of `properties`, an optional
radius, and a page position. Results come best first: by score (descending), then distance
(ascending, with a radius), then property id, and a page continues strictly after the sort key of
the previous page's last hit (keyset: no offsets, stable while the data changes). The total and
the facets are computed once, on first use, over the whole match (see facets.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.property import Property
from persistence.database import TenantSession
from persistence.property import PropertyListQuery
from persistence.search.facets import Summary

EARTH_MEAN_RADIUS_M = 6_371_008.8  # the sphere Elasticsearch's arc distance uses, too
METERS_PER_MILE = 1609.344


@dataclass(frozen=True, slots=True)
class GeoRadius:
    latitude: float
    longitude: float
    radius_m: float


@dataclass(slots=True)
class SearchRequest:
    tenant_id: UUID
    words: list[str]
    filter: PropertyListQuery
    near: GeoRadius | None
    limit: int
    after: list[Any] | None = None  # the sort key of the last hit of the previous page


@dataclass(slots=True)
class SearchHit:
    property_id: UUID
    property: Property | None  # None when the backend returns ids only
    score: float
    distance_m: float | None
    key: list[Any]  # JSON values; the next page starts after them


@dataclass(slots=True)
class SearchResults:
    hits: list[SearchHit]  # up to limit + 1: one more tells that a next page exists
    summary: Callable[[], Awaitable[Summary]]


class SearchBackend(Protocol):
    """A place properties are searched in; every search is confined to request.tenant_id."""

    name: str

    async def search(self, session: TenantSession, request: SearchRequest) -> SearchResults:
        """One page of hits, and the summary of the whole match on demand."""
        ...

    def parse_key(self, raw: list[Any]) -> list[Any]:
        """A sort key taken from a cursor, checked (ValueError when it is not one of ours)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def once(compute: Callable[[], Awaitable[Summary]]) -> Callable[[], Awaitable[Summary]]:
    """An awaitable that computes on first use and shares the result with every caller."""
    task: asyncio.Task[Summary] | None = None

    async def get() -> Summary:
        nonlocal task
        if task is None:
            task = asyncio.ensure_future(compute())
        return await asyncio.shield(task)

    return get


def backend_from_settings(elasticsearch_url: str | None, index: str) -> SearchBackend:
    """Elasticsearch when a URL is configured, else PostgreSQL."""
    if elasticsearch_url:
        from persistence.search.elastic import ElasticsearchSearch, client_for

        return ElasticsearchSearch(client_for(elasticsearch_url), index)
    from persistence.search.postgres import PostgresSearch

    return PostgresSearch()
