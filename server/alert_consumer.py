"""Alert consumers: published events in, alerts out.

`AlertConsumer`: `bid.received` -> BID_RECEIVED, `budget.exceeded` -> BUDGET_EXCEEDED for the
deal's team (rules in domain/alert.py). `PropertyMatchConsumer`: property events ->
PROPERTY_MATCH for the owners of the saved searches the property fits (domain/matching.py),
with their e-mail and webhook deliveries queued in the same transaction. Each stored alert is
announced (`alert.created`, `alert.matched`) in the same transaction, which the relay then
publishes to the recipient's own channel for `alertReceived`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import alert as rules
from domain.alert import SYSTEM_ALERTS, Alert, deal_of, system_alerts
from domain.delivery import WebhookEndpoint, digest_slot, next_slot
from domain.events import Event
from domain.matching import (
    PROPERTY_EVENTS,
    Change,
    Listing,
    Match,
    SearchIndex,
    alerts_for,
    change_of,
    property_id_of,
)
from domain.saved_search import Channel, Frequency, SavedSearch
from persistence import alert as store
from persistence import delivery as delivery_store
from persistence import saved_search as search_store
from persistence.consumers import OutboxConsumer


class AlertConsumer(OutboxConsumer):
    name = "alerts"
    event_types = tuple(SYSTEM_ALERTS)

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        deal_id = await self._deal_id(conn, event)
        if deal_id is None:
            return
        team = await store.deal_team(conn, event.tenant_id, deal_id)
        if team is None:
            return
        await store.insert_alerts(conn, system_alerts(event, team), event.correlation_id)

    @staticmethod
    async def _deal_id(conn: AsyncConnection, event: Event) -> UUID | None:
        """The deal the event is about: named in its payload, else its project's deal."""
        deal_id = deal_of(event)
        if deal_id is None and event.aggregate_type == "project":
            deal_id = await store.project_deal_id(conn, event.tenant_id, event.aggregate_id)
        return deal_id


class SearchCache:
    """Each tenant's active searches, compiled into a SearchIndex and kept in process; reloaded
    only when the tenant's saved-search version moves (one primary-key read per batch)."""

    def __init__(self, max_tenants: int = 256) -> None:
        self.max_tenants = max_tenants
        self.loads = 0
        self._items: OrderedDict[UUID, tuple[int, SearchIndex]] = OrderedDict()

    async def index(self, conn: AsyncConnection, tenant_id: UUID) -> SearchIndex:
        version = await search_store.version(conn, tenant_id)
        cached = self._items.get(tenant_id)
        if cached is not None and cached[0] == version:
            self._items.move_to_end(tenant_id)
            return cached[1]
        index = SearchIndex(await search_store.active_searches(conn, tenant_id))
        self.loads += 1
        self._items[tenant_id] = (version, index)
        self._items.move_to_end(tenant_id)
        while len(self._items) > self.max_tenants:
            self._items.popitem(last=False)
        return index


class PropertyMatchConsumer(OutboxConsumer):
    """Matches changed properties against their tenant's saved searches.

    Per batch of a tenant's events: one read of the search version (the compiled searches are
    cached), one read of the properties with their valuations, matching in Python through the
    index's prefilters, then multi-row INSERT ... ON CONFLICT DO NOTHING for alerts, their
    `alert.matched` events and their deliveries. No statement per (search, property) pair.
    """

    name = "property_matcher"
    event_types = PROPERTY_EVENTS

    def __init__(
        self,
        engine: AsyncEngine,
        digest_hour_utc: int = 12,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        **options: Any,
    ) -> None:
        super().__init__(engine, **options)
        self.cache = SearchCache()
        self.digest_hour_utc = digest_hour_utc
        self.clock = clock
        self.alerted = 0

    async def handle_batch(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        tenant_id = events[0].tenant_id
        by_property: dict[UUID, list[Event]] = {}
        for event in events:
            property_id = property_id_of(event.event_type, event.aggregate_id, event.payload)
            by_property.setdefault(property_id, []).append(event)
        index = await self.cache.index(conn, tenant_id)
        if not len(index):
            return
        found = await search_store.listings(conn, tenant_id, list(by_property))
        chosen: list[tuple[Match, Change, Listing, Event]] = []
        for property_id, reported in by_property.items():
            listing = found.get(property_id)
            if listing is None:  # deleted since
                continue
            causes: dict[str, Event] = {}
            changes: list[Change] = []
            for event in reported:
                change = change_of(event.event_type, event.payload, listing)
                if change is not None:
                    changes.append(change)
                    causes.setdefault(change.key, event)
            for match, change in alerts_for(index, listing, changes):
                chosen.append((match, change, listing, causes[change.key]))
        if not chosen:
            return
        owners = await search_store.active_users(
            conn, tenant_id, list({match.search.user_id for match, *_ in chosen})
        )
        searches = {match.search.id: match.search for match, *_ in chosen}
        new = [
            rules.property_match(match.search.user_id, match, listing, change, event)
            for match, change, listing, event in chosen
            if match.search.user_id in owners
        ]
        stored = await store.insert_alerts(conn, new)
        self.alerted += len(stored)
        await self._queue_deliveries(conn, tenant_id, stored, searches)

    async def _queue_deliveries(
        self,
        conn: AsyncConnection,
        tenant_id: UUID,
        stored: Sequence[Alert],
        searches: dict[UUID, SavedSearch],
    ) -> None:
        """E-mail now (INSTANT) or in the day's digest (DAILY); every enabled webhook endpoint
        of the tenant for searches with the WEBHOOK channel."""
        now = self.clock()
        rows: list[dict[str, Any]] = []
        endpoints: list[WebhookEndpoint] | None = None
        for alert in stored:
            search = searches[alert.saved_search_id]  # type: ignore[index]
            base = {
                "tenant_id": tenant_id,
                "alert_id": alert.id,
                "user_id": alert.user_id,
                "endpoint_id": None,
                "digest_day": None,
                "next_attempt_at": now,
            }
            if search.wants(Channel.EMAIL):
                row = {**base, "channel": "EMAIL"}
                if search.frequency is Frequency.DAILY:
                    row["digest_day"], row["next_attempt_at"] = digest_slot(
                        now, self.digest_hour_utc
                    )
                rows.append(row)
            if search.wants(Channel.WEBHOOK):
                if endpoints is None:
                    endpoints = await delivery_store.enabled_endpoints(conn, tenant_id)
                rows += [
                    {**base, "channel": "WEBHOOK", "endpoint_id": endpoint.id}
                    for endpoint in endpoints
                ]
        await self._schedule_digests(conn, tenant_id, rows)
        await delivery_store.enqueue(conn, rows)

    async def _schedule_digests(
        self, conn: AsyncConnection, tenant_id: UUID, rows: list[dict[str, Any]]
    ) -> None:
        """Open each (user, day) digest; a day whose digest already went out passes its new
        matches on to the next day's."""
        waiting = [row for row in rows if row["digest_day"] is not None]
        for _ in range(3):
            if not waiting:
                return
            slots = {(row["user_id"], row["digest_day"]): row["next_attempt_at"] for row in waiting}
            statuses = await delivery_store.schedule_digests(conn, tenant_id, slots)
            closed = {slot for slot, status in statuses.items() if status != "PENDING"}
            waiting = [row for row in waiting if (row["user_id"], row["digest_day"]) in closed]
            for row in waiting:
                row["digest_day"], row["next_attempt_at"] = next_slot(
                    row["digest_day"], self.digest_hour_utc
                )
