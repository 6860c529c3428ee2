"""The valuation consumer: keeps each property's stored ARV and score current from its events.

On `property.created`, `property.updated`, `property.price_changed` and
`property.status_changed` it recomputes the property's valuation (default comp search) and
score as of today, and stores them in `property_valuations`. When the event is about a closed
sale that appeared, went away or changed (`domain.comps.changes_comps_nearby`; this includes
`property.deleted`), the stored valuations of up to `NEIGHBOR_LIMIT` properties within 1 mile
that the sale may be a comp of are recomputed too, since their comps changed.

The work is idempotent: a property whose inputs digest equals the stored one is skipped, and
`property.valued` (payload: the property's event fields, `arv`, `score`, `previous_arv`,
`previous_score`, the reason, confidence and comp count) is written to the outbox, in the same
transaction as the stored row, only when the stored ARV or score actually changes. Handling an
event twice therefore stores nothing twice and announces nothing twice. A recomputation costs a
fixed number of statements however many neighbours it covers (one comps query for up to 500
properties, one read of their stored rows, one upsert, one outbox insert), and when the outbox
consumer hands over a batch of one tenant's events, each property they touch is recomputed once
for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.comps import DEFAULT_SEARCH, WIDENED_RADIUS_MILES, changes_comps_nearby
from domain.events import Event
from domain.property import Property, event_payload
from domain.scoring import Score, inputs_hash, score_property
from domain.valuation import Valuation, value_property
from persistence import valuation as store
from persistence.consumers import OutboxConsumer
from persistence.outbox import add_events
from persistence.valuation import StoredValuation

PROPERTY_EVENTS = (
    "property.created",
    "property.updated",
    "property.price_changed",
    "property.status_changed",
    "property.deleted",
)
VALUED = "property.valued"
NEIGHBOR_LIMIT = 200  # the nearest properties re-valued when a closed sale near them changes
CHUNK = 500  # properties per comps statement


def _today() -> date:
    return datetime.now(UTC).date()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def stored_row(valuation: Valuation, score: Score, digest: str) -> StoredValuation:
    """What is kept of a valuation and score."""
    return StoredValuation(
        property_id=valuation.property_id,
        arv=valuation.arv,
        arv_reason=valuation.reason_code,
        method=valuation.method,
        price_per_sqft=valuation.price_per_sqft,
        confidence=valuation.confidence,
        comp_count=len(valuation.comps),
        radius_miles=Decimal(str(valuation.radius_miles)),
        score=score.value,
        score_reasons=[
            {"code": r.code, "weight": r.weight, "detail": r.detail} for r in score.reasons
        ],
        score_version=score.version,
        inputs_hash=digest,
        as_of=valuation.as_of,
    )


def valued_event(
    subject: Property, row: StoredValuation, previous: StoredValuation | None, cause: Event | None
) -> Event:
    """`property.valued`: the new ARV and score with the previous ones."""
    payload: dict[str, Any] = {
        **event_payload(subject),
        "arv": _text(row.arv),
        "arv_reason": row.arv_reason,
        "confidence": _text(row.confidence),
        "comp_count": row.comp_count,
        "score": row.score,
        "score_version": row.score_version,
        "score_reasons": row.score_reasons,
        "previous_arv": _text(previous.arv) if previous else None,
        "previous_score": previous.score if previous else None,
    }
    return Event(
        event_type=VALUED,
        aggregate_type="property",
        aggregate_id=subject.id,
        tenant_id=subject.tenant_id,
        payload=payload,
        actor_id=cause.actor_id if cause else None,
        correlation_id=cause.correlation_id if cause else None,
    )


async def recompute(
    conn: AsyncConnection,
    tenant_id: UUID,
    causes: Mapping[UUID, Event | None],
    as_of: date,
) -> list[Event]:
    """Recompute and store the valuations and scores of these properties (each with the event
    that caused it, if any); the `property.valued` events written, one per property whose
    ARV or score changed."""
    ids = sorted(causes)
    events: list[Event] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        subjects = await store.comps_for(conn, tenant_id, chunk, DEFAULT_SEARCH, as_of)
        stored = await store.valuations_by_property_ids(conn, tenant_id, list(subjects))
        rows: list[StoredValuation] = []
        for property_id in sorted(subjects):
            subject, candidates = subjects[property_id]
            valuation = value_property(subject, candidates, DEFAULT_SEARCH, as_of)
            score = score_property(subject, valuation.arv, as_of)
            digest = inputs_hash(subject, valuation)
            previous = stored.get(property_id)
            if previous is not None and previous.inputs_hash == digest:
                continue
            row = stored_row(valuation, score, digest)
            rows.append(row)
            if previous is None or previous.arv != row.arv or previous.score != row.score:
                events.append(valued_event(subject, row, previous, causes[property_id]))
        await store.save_valuations(conn, tenant_id, rows)
    await add_events(conn, events)
    return events


class ValuationConsumer(OutboxConsumer):
    name = "valuations"
    event_types = PROPERTY_EVENTS

    def __init__(
        self, engine: AsyncEngine, today: Callable[[], date] = _today, **options: Any
    ) -> None:
        super().__init__(engine, **options)
        self.today = today

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        await self.handle_batch(conn, [event])

    async def handle_batch(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Consecutive events of one tenant: every property they touch is recomputed once."""
        causes: dict[UUID, Event | None] = {}
        for event in events:
            for neighbor in await self._neighbors(conn, event):
                causes[neighbor] = event
            if event.event_type == "property.deleted":
                causes.pop(event.aggregate_id, None)
            else:
                causes[event.aggregate_id] = event
        if causes:
            await recompute(conn, events[0].tenant_id, causes, self.today())

    @staticmethod
    async def _neighbors(conn: AsyncConnection, event: Event) -> list[UUID]:
        """Properties whose comps may have changed with this sale (none for other events)."""
        payload = event.payload or {}
        latitude, longitude = payload.get("latitude"), payload.get("longitude")
        property_type = payload.get("property_type")
        if not changes_comps_nearby(event.event_type, payload):
            return []
        if latitude is None or longitude is None or property_type is None:
            return []
        return await store.neighbor_ids(
            conn,
            event.tenant_id,
            event.aggregate_id,
            float(latitude),
            float(longitude),
            str(property_type),
            WIDENED_RADIUS_MILES,
            NEIGHBOR_LIMIT,
        )
