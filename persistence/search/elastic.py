"""The Elasticsearch search backend (official `elasticsearch` client), used when
ELASTICSEARCH_URL is set.

Documents live in an index behind an alias (`ELASTICSEARCH_INDEX`, default "reos-properties");
`reos search-reindex` builds a fresh index and moves the alias in one atomic step, so searches
never see a missing or half-built index. Each document is one property: its folded words for
matching, exact-match keys for ranking tiers, the filter fields, a geo_point and the facet bands.
The database stays the source of truth: a search returns ids, and the properties are read from
PostgreSQL (through the request's DataLoader, under row-level security).

Every query is confined to one tenant by `tenant_scoped`, the only place a query body is
finished; documents are also routed by tenant, so a tenant's documents share a shard.

The builders here are pure functions (unit-tested without a server); `ElasticsearchSearch`,
`SearchIndex` and `reindex` do the I/O.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.property import Property
from persistence.consumers import SET_TENANT
from persistence.database import TenantSession, act_as_worker, transaction
from persistence.property import COLUMNS, PropertyListQuery
from persistence.search import SearchHit, SearchRequest, SearchResults, once
from persistence.search.facets import (
    BEDROOM_BANDS,
    BEDROOMS,
    CITY,
    FIELDS,
    MAX_BUCKETS,
    POSTAL_CODE,
    PRICE,
    PRICE_BANDS,
    PROPERTY_TYPE,
    STANDARD_STATUS,
    Summary,
    bedroom_band,
    facet,
    price_band,
)
from persistence.search.text import fold, fuzzy
from persistence.tables import outbox, properties, tenants

logger = logging.getLogger("reos.search")

DEFAULT_ALIAS = "reos-properties"
CONSUMER_NAME = "search-index"
PROPERTY_EVENTS = (
    "property.created",
    "property.updated",
    "property.price_changed",
    "property.status_changed",
    "property.deleted",
)
MISSING = "__none__"  # the facet bucket of documents without a value
FACET_SOURCES = {
    CITY: "city",
    POSTAL_CODE: "postal_code",
    PROPERTY_TYPE: "property_type",
    STANDARD_STATUS: "standard_status",
    BEDROOMS: "bedroom_band",
    PRICE: "price_band",
}
BAND_COUNTS = {BEDROOMS: len(BEDROOM_BANDS), PRICE: len(PRICE_BANDS)}
# Ranking tiers, as in the PostgreSQL backend (exact address, city, IDs, every word as typed);
# BM25 adds less than a tier for ordinary queries.
TIER_ADDRESS, TIER_CITY, TIER_ID, TIER_AS_TYPED, TIER_CITY_TYPO = 80.0, 40.0, 20.0, 10.0, 2.0


class SearchUnavailable(OSError):
    """Elasticsearch could not be reached or answered 429/5xx: retry later (an OSError, so
    outbox consumers treat it as transient and never skip the event for it)."""


class SearchIndexError(RuntimeError):
    """Elasticsearch refused a document (a mapping error): the event itself is at fault."""


# --------------------------------------------------------------------------- index definition


def index_settings() -> dict[str, Any]:
    """Analysis for folded words: whole words, and every prefix of a word up to 20 characters."""
    return {
        "number_of_shards": 1,  # facet counts stay exact; tenants are routed anyway
        "auto_expand_replicas": "0-1",
        "analysis": {
            "filter": {"prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
            "analyzer": {
                "folded": {
                    "type": "custom",
                    "tokenizer": "whitespace",
                    "filter": ["lowercase", "asciifolding"],
                },
                "folded_prefix": {
                    "type": "custom",
                    "tokenizer": "whitespace",
                    "filter": ["lowercase", "asciifolding", "prefixes"],
                },
            },
        },
    }


def index_mappings() -> dict[str, Any]:
    """The explicit mapping: nothing is mapped dynamically (`strict` refuses unknown fields)."""
    keyword = {"type": "keyword"}
    return {
        "dynamic": "strict",
        "properties": {
            "id": keyword,
            "tenant_id": keyword,
            "search": {
                "type": "text",
                "analyzer": "folded",
                "fields": {
                    "prefix": {
                        "type": "text",
                        "analyzer": "folded_prefix",
                        "search_analyzer": "folded",
                    }
                },
            },
            "address_folded": keyword,
            "city_folded": keyword,
            "city_state_folded": keyword,
            "ids_folded": keyword,
            "search_text": {"type": "keyword", "ignore_above": 2048},
            "city": keyword,
            "city_lower": keyword,
            "postal_code": keyword,
            "property_type": keyword,
            "standard_status": keyword,
            "list_price": {"type": "scaled_float", "scaling_factor": 100},
            "living_area": {"type": "scaled_float", "scaling_factor": 100},
            "bedrooms_total": {"type": "integer"},
            "bathrooms_total_integer": {"type": "integer"},
            "bedroom_band": keyword,
            "price_band": keyword,
            "location": {"type": "geo_point"},
            "updated_at": {"type": "date"},
        },
    }


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _search_text(prop: Property) -> str:
    """As the database's generated properties.search_text."""
    if prop.search_text is not None:
        return prop.search_text
    parts = (
        prop.unparsed_address,
        prop.city,
        prop.postal_code,
        prop.listing_id,
        prop.parcel_number,
        prop.county_or_parish,
    )
    return " ".join(part or "" for part in parts).lower()


def document(prop: Property) -> dict[str, Any]:
    """The search document of a property."""
    words = [
        fold(prop.unparsed_address),
        fold(prop.city),
        fold(prop.postal_code),
        fold(prop.listing_id),
        fold(prop.parcel_number),
        fold(prop.county_or_parish),
        fold(prop.state_or_province),
    ]
    located = prop.latitude is not None and prop.longitude is not None
    return {
        "id": str(prop.id),
        "tenant_id": str(prop.tenant_id),
        "search": " ".join(word for word in words if word),
        "address_folded": fold(prop.unparsed_address),
        "city_folded": fold(prop.city),
        "city_state_folded": fold(f"{prop.city} {prop.state_or_province}"),
        "ids_folded": [
            key
            for key in (fold(prop.postal_code), fold(prop.listing_id), fold(prop.parcel_number))
            if key
        ],
        "search_text": _search_text(prop),
        "city": prop.city,
        "city_lower": prop.city.lower(),
        "postal_code": prop.postal_code,
        "property_type": prop.property_type,
        "standard_status": prop.standard_status,
        "list_price": _number(prop.list_price),
        "living_area": _number(prop.living_area),
        "bedrooms_total": prop.bedrooms_total,
        "bathrooms_total_integer": prop.bathrooms_total_integer,
        "bedroom_band": bedroom_band(prop.bedrooms_total),
        "price_band": price_band(prop.list_price),
        "location": {"lat": prop.latitude, "lon": prop.longitude} if located else None,
        "updated_at": prop.updated_at.isoformat() if prop.updated_at else None,
    }


# --------------------------------------------------------------------------- query builders


def tenant_scoped(tenant_id: UUID, query: dict[str, Any]) -> dict[str, Any]:
    """The query confined to one tenant: every search body is finished here, and only here."""
    return {"bool": {"filter": [{"term": {"tenant_id": str(tenant_id)}}], "must": [query]}}


def _escape_wildcard(word: str) -> str:
    return word.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def filter_clauses(query: PropertyListQuery) -> list[dict[str, Any]]:
    """The filters of `properties` (persistence.property) as Elasticsearch filters."""
    clauses: list[dict[str, Any]] = []
    if query.city:
        clauses.append({"term": {"city_lower": query.city.strip().lower()}})
    if query.postal_code:
        clauses.append({"term": {"postal_code": query.postal_code.strip()}})
    if query.property_types:
        clauses.append({"terms": {"property_type": list(query.property_types)}})
    if query.standard_statuses:
        clauses.append({"terms": {"standard_status": list(query.standard_statuses)}})
    bounds = (
        ("list_price", query.min_price, query.max_price),
        ("bedrooms_total", query.min_bedrooms, query.max_bedrooms),
        ("bathrooms_total_integer", query.min_bathrooms, query.max_bathrooms),
        ("living_area", query.min_living_area, query.max_living_area),
    )
    for field, low, high in bounds:
        limits: dict[str, Any] = {}
        if low is not None:
            limits["gte"] = float(low)
        if high is not None:
            limits["lte"] = float(high)
        if limits:
            clauses.append({"range": {field: limits}})
    if query.text:
        for word in query.text.lower().split()[:8]:
            clauses.append({"wildcard": {"search_text": {"value": f"*{_escape_wildcard(word)}*"}}})
    if query.ids:
        clauses.append({"ids": {"values": [str(item) for item in query.ids]}})
    return clauses


def _word_clause(word: str) -> dict[str, Any]:
    """One word: as typed or as a prefix, or (letters only, 4+) with a typo."""
    whole: dict[str, Any] = {"query": word}
    if fuzzy(word):
        whole = {"query": word, "fuzziness": "AUTO", "prefix_length": 1}
    return {
        "bool": {
            "should": [{"match": {"search.prefix": word}}, {"match": {"search": whole}}],
            "minimum_should_match": 1,
        }
    }


def _tier(boost: float, condition: dict[str, Any]) -> dict[str, Any]:
    return {"constant_score": {"filter": condition, "boost": boost}}


def ranking_clauses(words: list[str]) -> list[dict[str, Any]]:
    """The exact-match tiers of the ranking (see persistence.search.postgres)."""
    phrase = " ".join(words)
    as_typed = [
        {
            "bool": {
                "should": [{"match": {"search.prefix": word}}, {"match": {"search": word}}],
                "minimum_should_match": 1,
            }
        }
        for word in words
    ]
    return [
        _tier(TIER_ADDRESS, {"term": {"address_folded": phrase}}),
        _tier(TIER_ADDRESS, {"prefix": {"address_folded": f"{phrase} "}}),
        _tier(TIER_CITY, {"term": {"city_folded": phrase}}),
        _tier(TIER_CITY, {"term": {"city_state_folded": phrase}}),
        _tier(TIER_ID, {"term": {"ids_folded": phrase}}),
        _tier(TIER_AS_TYPED, {"bool": {"must": as_typed}}),
        _tier(TIER_CITY_TYPO, {"fuzzy": {"city_folded": {"value": phrase, "fuzziness": "AUTO"}}}),
    ]


def _geo(request: SearchRequest) -> dict[str, float] | None:
    near = request.near
    return None if near is None else {"lat": near.latitude, "lon": near.longitude}


def search_body(request: SearchRequest) -> dict[str, Any]:
    """Keyword arguments of `AsyncElasticsearch.search` for one page with totals and facets."""
    filters = filter_clauses(request.filter)
    point = _geo(request)
    if request.near is not None and point is not None:
        filters.append(
            {
                "geo_distance": {
                    "distance": f"{request.near.radius_m}m",
                    "distance_type": "arc",
                    "location": point,
                }
            }
        )
    inner: dict[str, Any] = {"filter": filters}
    if request.words:
        inner["must"] = [_word_clause(word) for word in request.words]
        inner["should"] = ranking_clauses(request.words)
    sort: list[dict[str, Any]] = [{"_score": {"order": "desc"}}]
    if point is not None:
        sort.append(
            {
                "_geo_distance": {
                    "location": point,
                    "order": "asc",
                    "unit": "m",
                    "distance_type": "arc",
                }
            }
        )
    sort.append({"id": {"order": "asc"}})
    body: dict[str, Any] = {
        "query": tenant_scoped(request.tenant_id, {"bool": inner}),
        "sort": sort,
        "size": request.limit + 1,
        "track_total_hits": True,
        "track_scores": True,
        "source": False,
        "routing": str(request.tenant_id),
        "aggs": {
            name: {
                "terms": {
                    "field": FACET_SOURCES[name],
                    "size": BAND_COUNTS.get(name, MAX_BUCKETS) + (1 if name in BAND_COUNTS else 0),
                    "missing": MISSING,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
            for name in FIELDS
        },
    }
    if request.after is not None:
        body["search_after"] = list(request.after)
    return body


def hits_from_response(response: dict[str, Any], request: SearchRequest) -> list[SearchHit]:
    """Hits with their sort keys (score, [distance,] id), in order."""
    hits = []
    for hit in response["hits"]["hits"]:
        key = list(hit["sort"])
        hits.append(
            SearchHit(
                property_id=UUID(hit["_id"]),
                property=None,
                score=float(hit.get("_score") or key[0] or 0.0),
                distance_m=float(key[1]) if request.near is not None else None,
                key=key,
            )
        )
    return hits


def summary_from_response(response: dict[str, Any]) -> Summary:
    """The exact total and the facets of a response (bucket "__none__" is the None bucket)."""
    aggregations = response.get("aggregations", {})
    facets = []
    for name in FIELDS:
        agg = aggregations.get(name, {})
        pairs = [
            (None if bucket["key"] == MISSING else str(bucket["key"]), int(bucket["doc_count"]))
            for bucket in agg.get("buckets", [])
        ]
        facets.append(facet(name, pairs, int(agg.get("sum_other_doc_count", 0))))
    return Summary(total=int(response["hits"]["total"]["value"]), facets=facets)


def parse_key(raw: list[Any], near: bool | None = None) -> list[Any]:
    """A search_after key: score, [distance,] property id."""
    if len(raw) not in (2, 3) or (near is not None and len(raw) != (3 if near else 2)):
        raise ValueError("not a search key")
    *numbers, row_id = raw
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise ValueError("not a search key")
    return [*[float(n) for n in numbers], str(UUID(str(row_id)))]


# --------------------------------------------------------------------------- I/O


def client_for(url: str) -> Any:
    """An async client that retries timeouts and connection errors (3 times)."""
    from elasticsearch import AsyncElasticsearch

    return AsyncElasticsearch(url, request_timeout=10, max_retries=3, retry_on_timeout=True)


def _unavailable(error: Exception) -> bool:
    from elasticsearch import ApiError, TransportError

    if isinstance(error, TransportError):
        return True
    return isinstance(error, ApiError) and (
        error.status_code in (408, 429) or error.status_code >= 500
    )


class ElasticsearchSearch:
    """Searches the alias; the properties themselves are read from PostgreSQL by id."""

    name = "es"

    def __init__(self, client: Any, alias: str = DEFAULT_ALIAS) -> None:
        self.client = client
        self.alias = alias
        self.index = SearchIndex(client, alias)

    async def search(self, session: TenantSession, request: SearchRequest) -> SearchResults:
        response = await self.client.search(index=self.alias, **search_body(request))
        body = response.body
        summary = summary_from_response(body)

        async def computed() -> Summary:
            return summary

        return SearchResults(hits=hits_from_response(body, request), summary=once(computed))

    def parse_key(self, raw: list[Any]) -> list[Any]:
        return parse_key(raw)

    async def close(self) -> None:
        await self.client.close()


@dataclass
class IndexReport:
    index: str
    documents: int
    caught_up: int
    dropped: list[str]


class SearchIndex:
    """Index administration and bulk writes through the alias."""

    def __init__(self, client: Any, alias: str = DEFAULT_ALIAS) -> None:
        self.client = client
        self.alias = alias

    async def indices(self) -> list[str]:
        """The concrete indices behind the alias (none before the first build)."""
        from elasticsearch import NotFoundError

        try:
            response = await self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        return sorted(response.body)

    async def create(self) -> str:
        """A new, empty index with the explicit mapping (not yet behind the alias)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        name = f"{self.alias}-{stamp}-{uuid.uuid4().hex[:6]}"
        await self.client.indices.create(
            index=name, settings=index_settings(), mappings=index_mappings()
        )
        return name

    async def swap(self, new: str, old: Sequence[str]) -> None:
        """Point the alias at `new` only, in one atomic step."""
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in old if name != new
        ]
        actions.append({"add": {"index": new, "alias": self.alias}})
        await self.client.indices.update_aliases(actions=actions)

    async def drop(self, names: Iterable[str]) -> None:
        for name in names:
            await self.client.indices.delete(index=name, ignore_unavailable=True)

    async def refresh(self) -> None:
        await self.client.indices.refresh(index=self.alias)

    async def write(
        self,
        tenant_id: UUID,
        docs: Sequence[dict[str, Any]],
        deleted: Sequence[UUID],
        index: str | None = None,
    ) -> None:
        """Index and delete documents of one tenant in bulk (429s retried with backoff);
        SearchUnavailable when Elasticsearch is down, SearchIndexError for refused documents."""
        from elasticsearch.helpers import async_bulk

        target = index or self.alias
        routing = str(tenant_id)
        actions: list[dict[str, Any]] = [
            {
                "_op_type": "index",
                "_index": target,
                "_id": d["id"],
                "_routing": routing,
                "_source": d,
            }
            for d in docs
        ]
        actions += [
            {"_op_type": "delete", "_index": target, "_id": str(i), "_routing": routing}
            for i in deleted
        ]
        if not actions:
            return
        try:
            _, errors = await async_bulk(
                self.client,
                actions,
                max_retries=5,
                initial_backoff=1,
                max_backoff=30,
                raise_on_error=False,
                raise_on_exception=True,
            )
        except Exception as error:
            if _unavailable(error):
                raise SearchUnavailable(f"Elasticsearch unavailable: {error}") from error
            raise
        failures = [item for item in errors if not _missing_delete(item)]  # type: ignore[union-attr]
        if failures:
            statuses = {_status(item) for item in failures}
            if any(status in (408, 429) or status >= 500 for status in statuses):
                raise SearchUnavailable(f"Elasticsearch bulk failed: {failures[:3]}")
            raise SearchIndexError(f"Elasticsearch refused documents: {failures[:3]}")


def _status(item: dict[str, Any]) -> int:
    return int(next(iter(item.values())).get("status", 500))


def _missing_delete(item: dict[str, Any]) -> bool:
    """Deleting a document that is not there is success."""
    return "delete" in item and item["delete"].get("status") == 404


# --------------------------------------------------------------------------- reading properties


async def properties_of(
    conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID]
) -> list[Property]:
    """The properties that still exist among ids (in the connection's tenant scope)."""
    c = properties.c
    rows = await conn.execute(select(*COLUMNS).where(c.tenant_id == tenant_id, c.id.in_(ids)))
    return [Property(**row._mapping) for row in rows]


async def changes(
    index: SearchIndex,
    conn: AsyncConnection,
    tenant_id: UUID,
    ids: Sequence[UUID],
    target: str | None = None,
) -> int:
    """Write the current state of these properties (deleted ones are removed); how many."""
    unique = list(dict.fromkeys(ids))
    found = await properties_of(conn, tenant_id, unique)
    present = {prop.id for prop in found}
    await index.write(
        tenant_id,
        [document(prop) for prop in found],
        [item for item in unique if item not in present],
        target,
    )
    return len(unique)


async def _tenant_ids(engine: AsyncEngine) -> list[UUID]:
    async with engine.begin() as conn:
        await act_as_worker(conn, "search-reindex")
        return list((await conn.execute(select(tenants.c.id).order_by(tenants.c.id))).scalars())


async def _all_properties(
    engine: AsyncEngine, tenant_id: UUID, chunk: int
) -> AsyncIterator[list[Property]]:
    c = properties.c
    last: UUID | None = None
    while True:
        async with transaction(engine, tenant_id) as conn:
            statement = select(*COLUMNS).where(c.tenant_id == tenant_id)
            if last is not None:
                statement = statement.where(c.id > last)
            rows = (await conn.execute(statement.order_by(c.id).limit(chunk))).all()
        if not rows:
            return
        batch = [Property(**row._mapping) for row in rows]
        last = batch[-1].id
        yield batch


async def _published_high(conn: AsyncConnection) -> int:
    return int(
        (
            await conn.execute(select(func.coalesce(func.max(outbox.c.published_seq), 0)))
        ).scalar_one()
    )


async def reindex(engine: AsyncEngine, index: SearchIndex, chunk: int = 1000) -> IndexReport:
    """Build a fresh index from the database and swap the alias to it, without downtime.

    1. Note the highest published outbox position, then copy every tenant's properties into a
       new index (searches keep using the old one; the indexer keeps updating it).
    2. Take the indexer's position lock (its passes pause), re-copy every property that a
       property event published after the noted position names (those changed while copying),
       move the alias in one atomic step, and release the lock: the indexer goes on from its
       own position, now writing to the new index. Then drop the old indices.
    """
    async with engine.begin() as conn:
        await act_as_worker(conn, "consumer")
        start = await _published_high(conn)
    new = await index.create()
    try:
        copied = 0
        for tenant_id in await _tenant_ids(engine):
            async for batch in _all_properties(engine, tenant_id, chunk):
                await index.write(tenant_id, [document(prop) for prop in batch], [], new)
                copied += len(batch)
        async with engine.begin() as conn:
            await act_as_worker(conn, "consumer")
            await _lock_indexer(conn)
            caught_up = await _catch_up(conn, index, start, new)
            old = await index.indices()
            await index.swap(new, old)
    except BaseException:
        await index.drop([new])
        raise
    dropped = [name for name in old if name != new]
    await index.drop(dropped)
    logger.info(
        "search index rebuilt",
        extra={"index": new, "documents": copied, "caught_up": caught_up, "dropped": dropped},
    )
    return IndexReport(index=new, documents=copied, caught_up=caught_up, dropped=dropped)


async def _lock_indexer(conn: AsyncConnection) -> None:
    """Wait for the indexer's position row (its running pass finishes; later passes skip)."""
    await conn.execute(
        text("INSERT INTO outbox_consumers (name) VALUES (:name) ON CONFLICT (name) DO NOTHING"),
        {"name": CONSUMER_NAME},
    )
    await conn.execute(
        text("SELECT position FROM outbox_consumers WHERE name = :name FOR UPDATE"),
        {"name": CONSUMER_NAME},
    )


async def _catch_up(conn: AsyncConnection, index: SearchIndex, start: int, target: str) -> int:
    o = outbox.c
    rows = (
        await conn.execute(
            select(o.tenant_id, o.aggregate_id)
            .where(o.published_seq > start, o.event_type.in_(PROPERTY_EVENTS))
            .order_by(o.published_seq)
        )
    ).all()
    by_tenant: dict[UUID, list[UUID]] = {}
    for row in rows:
        by_tenant.setdefault(row.tenant_id, []).append(row.aggregate_id)
    total = 0
    for tenant_id, ids in by_tenant.items():
        await conn.execute(SET_TENANT, {"tenant_id": str(tenant_id)})
        total += await changes(index, conn, tenant_id, ids, target)
    await conn.execute(SET_TENANT, {"tenant_id": ""})
    return total
