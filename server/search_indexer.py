"""The search indexer: keeps the Elasticsearch index in step with property events.

An outbox consumer (persistence/consumers.py) of property.created, .updated, .price_changed,
.status_changed and .deleted. Events of one tenant that arrive together are handled as one
batch: one read of the current rows, one bulk request (a property that no longer exists is
deleted from the index). Documents are always rebuilt from the database, never from event
payloads, so replaying events, or handling them out of order, leaves the latest state.

Elasticsearch being down rolls the pass back and it is retried with backoff (the error is
transient for the consumer: no event is skipped for it); a document Elasticsearch refuses is
the event's own fault and is skipped after the consumer's usual attempts. Only started when
ELASTICSEARCH_URL is set; on its first start (no alias yet) it builds the index.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.events import Event
from persistence.consumers import OutboxConsumer
from persistence.search.elastic import CONSUMER_NAME, PROPERTY_EVENTS, SearchIndex, changes, reindex

logger = logging.getLogger("reos.search")


class SearchIndexer(OutboxConsumer):
    name = CONSUMER_NAME
    event_types = PROPERTY_EVENTS

    def __init__(self, engine: AsyncEngine, index: SearchIndex, **options: Any) -> None:
        super().__init__(engine, **options)
        self.index = index

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        await self.handle_batch(conn, [event])

    async def handle_batch(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Write the current state of the properties these events (of one tenant) name."""
        if events:
            ids = [event.aggregate_id for event in events]
            await changes(self.index, conn, events[0].tenant_id, ids)

    async def ensure_index(self) -> None:
        """Build the index when the alias does not exist yet (a first start)."""
        if not await self.index.indices():
            logger.info("no search index yet: building it", extra={"alias": self.index.alias})
            await reindex(self.engine, self.index)

    async def run(self) -> None:
        """Build the index if needed (retrying while Elasticsearch is unreachable), then
        consume property events until cancelled."""
        delay = 1.0
        while True:
            try:
                await self.ensure_index()
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("could not build the search index; will retry", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        await super().run()


def indexer_for(engine: AsyncEngine, backend: Any) -> SearchIndexer | None:
    """The indexer of an Elasticsearch backend; None for PostgreSQL (it searches live rows)."""
    index = getattr(backend, "index", None)
    return SearchIndexer(engine, index) if isinstance(index, SearchIndex) else None
