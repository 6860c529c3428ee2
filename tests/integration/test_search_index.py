"""The database half of search against real PostgreSQL: the SQL folding agrees with Python's,
`reos search-reindex` reads every tenant (through its narrow policy) and catches up with changes
published while it copied, and the indexer turns published property events into writes of the
current rows. Elasticsearch itself is replaced by a recording index: what reaches it is checked
here, how Elasticsearch takes it by tests/api/test_search.py when ELASTICSEARCH_URL is set."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.database import create_engine
from persistence.search.elastic import CONSUMER_NAME, SearchIndex, reindex
from persistence.search.text import fold
from server.search_indexer import SearchIndexer
from subscriptions.bus import bus_from_url
from subscriptions.relay import OutboxRelay
from tests.conftest import APP_PASSWORD


class RecordingIndex(SearchIndex):
    """Indices as dictionaries of documents; the alias as a list of index names."""

    def __init__(self) -> None:
        super().__init__(client=None, alias="recording")
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.behind_alias: list[str] = []
        self.on_create: Callable[[], Awaitable[None]] | None = None

    async def indices(self) -> list[str]:
        return list(self.behind_alias)

    async def create(self) -> str:
        name = f"recording-{len(self.docs) + 1}"
        self.docs[name] = {}
        if self.on_create is not None:
            await self.on_create()
        return name

    async def swap(self, new: str, old: Sequence[str]) -> None:
        self.behind_alias = [new]

    async def drop(self, names: Iterable[str]) -> None:
        for name in names:
            self.docs.pop(name, None)

    async def write(
        self,
        tenant_id: UUID,
        docs: Sequence[dict[str, Any]],
        deleted: Sequence[UUID],
        index: str | None = None,
    ) -> None:
        target = self.docs[index or self.behind_alias[0]]
        for doc in docs:
            assert doc["tenant_id"] == str(tenant_id), "documents are routed by their own tenant"
            target[doc["id"]] = doc
        for item in deleted:
            target.pop(str(item), None)

    def current(self) -> dict[str, dict[str, Any]]:
        return self.docs[self.behind_alias[0]]


async def owner(owner_url: str, query: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(owner_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def event(owner_url: str, tenant: UUID, property_id: UUID, kind: str) -> None:
    await owner(
        owner_url,
        "INSERT INTO outbox (event_id, tenant_id, event_type, aggregate_type, aggregate_id,"
        " payload) VALUES ($1, $2, $3, 'property', $4, $5::jsonb)",
        uuid.uuid4(),
        tenant,
        kind,
        property_id,
        json.dumps({"property_id": str(property_id)}),
    )


def run(app_url: Any, test: Callable[[AsyncEngine, OutboxRelay], Awaitable[None]]) -> None:
    async def main() -> None:
        engine = create_engine(app_url, pool_size=3)
        bus = bus_from_url(None)
        await bus.connect()
        try:
            await test(engine, OutboxRelay(engine, bus))
        finally:
            await bus.disconnect()
            await engine.dispose()

    asyncio.run(main())


async def publish(relay: OutboxRelay) -> None:
    while await relay.run_once():
        pass


def test_sql_folds_text_as_python_does(db) -> None:
    samples = [
        "ATX-2025-001234",
        "1234 S. Lamar Blvd, Unit #201, Austin, TX 78704",
        "  010-123456-00  ",
        "O'Brien  Rd__West",
        "Cañada Ave",
    ]
    for sample in samples:
        assert db("SELECT search_fold($1)", sample)[0][0] == fold(sample), sample


def test_only_the_reindex_worker_may_list_tenants(db, owner_url: str) -> None:
    async def as_app(worker: str) -> tuple[set[UUID], int]:
        conn = await asyncpg.connect(owner_url, user="reos_app", password=APP_PASSWORD)
        try:
            await conn.execute("SELECT set_config('app.worker', $1, false)", worker)
            listed = {row[0] for row in await conn.fetch("SELECT id FROM tenants")}
            return listed, await conn.fetchval("SELECT count(*) FROM properties")
        finally:
            await conn.close()

    everyone = {row[0] for row in db("SELECT id FROM tenants")}
    assert asyncio.run(as_app("")) == (set(), 0)
    assert asyncio.run(as_app("consumer")) == (set(), 0)
    assert asyncio.run(as_app("search-reindex")) == (everyone, 0), "tenant ids, nothing else"


def test_reindex_copies_every_tenant_and_catches_up(owner_url: str, app_url: Any) -> None:
    async def test(engine: AsyncEngine, relay: OutboxRelay) -> None:
        await publish(relay)
        index = RecordingIndex()
        tenant, property_id = (
            await owner(owner_url, "SELECT tenant_id, id FROM properties ORDER BY id LIMIT 1")
        )[0]

        async def change_while_copying() -> None:
            await owner(
                owner_url,
                "UPDATE properties SET list_price = 123456 WHERE tenant_id = $1 AND id = $2",
                tenant,
                property_id,
            )
            await event(owner_url, tenant, property_id, "property.price_changed")
            await publish(relay)

        index.on_create = change_while_copying
        report = await reindex(engine, index, chunk=100)
        everything = await owner(owner_url, "SELECT id::text, tenant_id::text FROM properties")
        docs = index.current()
        assert report.documents == len(everything) == len(docs)
        assert {(doc["id"], doc["tenant_id"]) for doc in docs.values()} == {
            (row[0], row[1]) for row in everything
        }
        assert len({doc["tenant_id"] for doc in docs.values()}) >= 2
        assert report.caught_up >= 1
        assert docs[str(property_id)]["list_price"] == 123456.0

        again = await reindex(engine, index)
        assert again.dropped == [report.index]
        assert list(index.docs) == [again.index]

    run(app_url, test)


def test_the_indexer_writes_the_current_rows_of_published_events(
    owner_url: str, app_url: Any
) -> None:
    async def test(engine: AsyncEngine, relay: OutboxRelay) -> None:
        await publish(relay)
        index = RecordingIndex()
        index.behind_alias = ["live"]
        index.docs["live"] = {}
        indexer = SearchIndexer(engine, index)
        assert indexer.name == CONSUMER_NAME
        while await indexer.run_once():  # whatever earlier tests published
            pass
        index.docs["live"].clear()

        (tenant, kept), (_, gone) = [
            tuple(row)
            for row in await owner(
                owner_url,
                "SELECT tenant_id, id FROM properties WHERE tenant_id ="
                " (SELECT id FROM tenants ORDER BY name LIMIT 1) ORDER BY id LIMIT 2",
            )
        ]
        missing = uuid.uuid4()  # deleted before the indexer ran
        index.docs["live"][str(missing)] = {"id": str(missing)}
        for property_id, kind in (
            (kept, "property.updated"),
            (kept, "property.price_changed"),
            (gone, "property.status_changed"),
            (missing, "property.deleted"),
        ):
            await event(owner_url, tenant, property_id, kind)
        await event(owner_url, tenant, kept, "deal.created")  # not the indexer's business
        await publish(relay)
        handled = 0
        while read := await indexer.run_once():
            handled += read
        assert handled == 4
        assert set(index.docs["live"]) == {str(kept), str(gone)}
        assert index.docs["live"][str(kept)]["tenant_id"] == str(tenant)

    run(app_url, test)
