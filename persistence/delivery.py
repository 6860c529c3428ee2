"""Delivery storage: webhook endpoints, the deliveries queue, daily digests, and the scan for
offers about to expire.

Workers claim due rows of every tenant under narrow RLS policies (`app.worker` = 'delivery' or
'alert_scheduler', no tenant set), then read and write everything else inside each row's own
tenant. Claims are leases (`locked_until`), so a worker that dies mid-send is taken over.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert import Alert, ExpiringOffer
from domain.delivery import Delivery, Digest, WebhookEndpoint
from persistence.alert import to_alert
from persistence.database import TenantSession, act_as_worker
from persistence.leases import lease_due
from persistence.pagination import SortKey, parse_timestamp
from persistence.tables import (
    alerts,
    deliveries,
    digests,
    offer_expiry_notices,
    offers,
    properties,
    users,
    webhook_endpoints,
)

ENDPOINT_SORT = SortKey(
    webhook_endpoints.c.created_at, webhook_endpoints.c.id, True, parse_timestamp
)
WAKE_CHANNEL = "reos_deliveries"  # NOTIFYed when deliveries are queued (on commit)


def to_endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(**row._mapping)


def to_delivery(row: Any) -> Delivery:
    return Delivery(**row._mapping)


def to_digest(row: Any) -> Digest:
    return Digest(**row._mapping)


# ---------------------------------------------------------------- webhook endpoints


async def insert_endpoint(
    conn: AsyncConnection,
    tenant_id: UUID,
    url: str,
    description: str,
    secret: str,
    created_by: UUID,
) -> WebhookEndpoint:
    row = (
        await conn.execute(
            pg_insert(webhook_endpoints)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                url=url,
                description=description,
                secret=secret,
                created_by=created_by,
            )
            .returning(*webhook_endpoints.c)
        )
    ).one()
    return to_endpoint(row)


async def endpoint_for_update(
    conn: AsyncConnection, tenant_id: UUID, endpoint_id: UUID
) -> WebhookEndpoint | None:
    w = webhook_endpoints.c
    row = (
        await conn.execute(
            select(*webhook_endpoints.c)
            .where(w.tenant_id == tenant_id, w.id == endpoint_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else to_endpoint(row)


async def update_endpoint(
    conn: AsyncConnection, tenant_id: UUID, endpoint_id: UUID, values: dict[str, Any]
) -> WebhookEndpoint:
    w = webhook_endpoints.c
    row = (
        await conn.execute(
            update(webhook_endpoints)
            .where(w.tenant_id == tenant_id, w.id == endpoint_id)
            .values(**values, updated_at=func.now())
            .returning(*webhook_endpoints.c)
        )
    ).one()
    return to_endpoint(row)


async def delete_endpoint(conn: AsyncConnection, tenant_id: UUID, endpoint_id: UUID) -> None:
    w = webhook_endpoints.c
    await conn.execute(
        delete(webhook_endpoints).where(w.tenant_id == tenant_id, w.id == endpoint_id)
    )


async def list_endpoints(
    session: TenantSession, tenant_id: UUID, after: tuple[Any, Any] | None, limit: int
) -> list[WebhookEndpoint]:
    where = [webhook_endpoints.c.tenant_id == tenant_id]
    if after is not None:
        where.append(ENDPOINT_SORT.after(*after))
    rows = await session.fetch(
        select(*webhook_endpoints.c)
        .where(*where)
        .order_by(*ENDPOINT_SORT.order_by())
        .limit(limit + 1)
    )
    return [to_endpoint(row) for row in rows]


async def count_endpoints(session: TenantSession, tenant_id: UUID) -> int:
    rows = await session.fetch(
        select(func.count()).where(webhook_endpoints.c.tenant_id == tenant_id)
    )
    return int(rows[0][0])


async def endpoints_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, WebhookEndpoint]:
    w = webhook_endpoints.c
    rows = await session.fetch(
        select(*webhook_endpoints.c).where(w.tenant_id == tenant_id, w.id.in_(ids))
    )
    return {row.id: to_endpoint(row) for row in rows}


async def enabled_endpoints(conn: AsyncConnection, tenant_id: UUID) -> list[WebhookEndpoint]:
    w = webhook_endpoints.c
    rows = await conn.execute(
        select(*webhook_endpoints.c)
        .where(w.tenant_id == tenant_id, w.disabled_at.is_(None))
        .order_by(w.created_at, w.id)
    )
    return [to_endpoint(row) for row in rows]


async def endpoints_in(
    conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID | None]
) -> dict[UUID, WebhookEndpoint]:
    """The endpoints among these ids (disabled ones included)."""
    wanted = [endpoint_id for endpoint_id in set(ids) if endpoint_id is not None]
    if not wanted:
        return {}
    w = webhook_endpoints.c
    rows = await conn.execute(
        select(*webhook_endpoints.c).where(w.tenant_id == tenant_id, w.id.in_(wanted))
    )
    return {row.id: to_endpoint(row) for row in rows}


async def record_endpoint_result(
    conn: AsyncConnection,
    tenant_id: UUID,
    endpoint_id: UUID,
    error: str | None,
    at: datetime,
    disable_after: int,
) -> WebhookEndpoint | None:
    """A success resets the endpoint's failure run; a failure extends it and disables the
    endpoint once it reaches disable_after."""
    w = webhook_endpoints.c
    if error is None:
        values: dict[str, Any] = {"consecutive_failures": 0, "last_success_at": at}
    else:
        failures = w.consecutive_failures + 1
        reached = failures >= disable_after
        reason = f"Disabled after {disable_after} failed deliveries in a row."
        values = {
            "consecutive_failures": failures,
            "last_failure_at": at,
            "last_error": error[:500],
            "disabled_at": func.coalesce(w.disabled_at, case((reached, literal(at)), else_=None)),
            "disabled_reason": func.coalesce(
                w.disabled_reason, case((reached, literal(reason)), else_=None)
            ),
        }
    row = (
        await conn.execute(
            update(webhook_endpoints)
            .where(w.tenant_id == tenant_id, w.id == endpoint_id)
            .values(**values, updated_at=func.now())
            .returning(*webhook_endpoints.c)
        )
    ).first()
    return None if row is None else to_endpoint(row)


# ---------------------------------------------------------------- queueing


async def enqueue(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    """Queue deliveries (one per alert and channel/endpoint; repeats are ignored) and wake
    the delivery workers when the transaction commits. One prepared statement, executed for
    many rows (no statement text that grows with the row count)."""
    if not rows:
        return 0
    await conn.execute(
        pg_insert(deliveries).on_conflict_do_nothing(),
        [{"id": uuid.uuid4(), **row} for row in rows],
    )
    await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL})
    return len(rows)


async def schedule_digests(
    conn: AsyncConnection, tenant_id: UUID, slots: dict[tuple[UUID, date], datetime]
) -> dict[tuple[UUID, date], str]:
    """Make sure each (user, day) has its digest; the status of each (PENDING: still open)."""
    if not slots:
        return {}
    d = digests.c
    statement = pg_insert(digests).values(
        [
            {"tenant_id": tenant_id, "user_id": user_id, "day": day, "next_attempt_at": send_at}
            for (user_id, day), send_at in slots.items()
        ]
    )
    rows = await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "user_id", "day"],
            set_={"updated_at": func.now()},
        ).returning(d.user_id, d.day, d.status)
    )
    return {(row.user_id, row.day): row.status for row in rows}


# ---------------------------------------------------------------- claiming and finishing


async def claim_deliveries(
    engine: AsyncEngine, limit: int, lease: timedelta, now: datetime
) -> list[Delivery]:
    """Take up to limit due deliveries of any tenant for a while (a lease, not a lock)."""
    d = deliveries.c
    async with engine.begin() as conn:
        await act_as_worker(conn, "delivery")
        rows = await lease_due(
            conn,
            deliveries,
            ("tenant_id", "id"),
            (d.status == "PENDING", d.digest_day.is_(None)),
            limit,
            lease,
            now,
            deliveries.c,
        )
        return [to_delivery(row) for row in rows]


async def claim_digests(
    engine: AsyncEngine, limit: int, lease: timedelta, now: datetime
) -> list[Digest]:
    """Take up to limit digests that are due, of any tenant, for a while."""
    g = digests.c
    async with engine.begin() as conn:
        await act_as_worker(conn, "delivery")
        rows = await lease_due(
            conn,
            digests,
            ("tenant_id", "user_id", "day"),
            (g.status == "PENDING",),
            limit,
            lease,
            now,
            digests.c,
        )
        return [to_digest(row) for row in rows]


async def finish_delivery(
    conn: AsyncConnection,
    delivery: Delivery,
    status: str,
    error: str | None,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """Close a delivery (SENT, FAILED, SKIPPED), or queue it again for retry_at."""
    d = deliveries.c
    values: dict[str, Any] = {
        "last_error": None if error is None else error[:500],
        "locked_until": None,
        "updated_at": now,
    }
    if retry_at is not None:
        values.update(status="PENDING", next_attempt_at=retry_at)
    else:
        values["status"] = status
        if status == "SENT":
            values["sent_at"] = now
    await conn.execute(
        update(deliveries)
        .where(d.tenant_id == delivery.tenant_id, d.id == delivery.id)
        .values(**values)
    )


async def digest_members(conn: AsyncConnection, digest: Digest) -> list[Delivery]:
    """The deliveries waiting for this digest, oldest first."""
    d = deliveries.c
    rows = await conn.execute(
        select(*deliveries.c)
        .where(
            d.tenant_id == digest.tenant_id,
            d.user_id == digest.user_id,
            d.digest_day == digest.day,
            d.status == "PENDING",
        )
        .order_by(d.created_at, d.id)
    )
    return [to_delivery(row) for row in rows]


async def finish_digest(
    conn: AsyncConnection,
    digest: Digest,
    status: str,
    error: str | None,
    retry_at: datetime | None,
    members: Sequence[UUID],
    now: datetime,
    following: tuple[date, datetime],
) -> None:
    """Close a digest and its members, or queue it again. Members that arrived after the
    digest was read move to the next day's digest (a sent digest is never sent again)."""
    g, d = digests.c, deliveries.c
    values: dict[str, Any] = {
        "last_error": None if error is None else error[:500],
        "locked_until": None,
        "updated_at": now,
    }
    if retry_at is not None:
        values.update(status="PENDING", next_attempt_at=retry_at)
    else:
        values.update(status=status, alert_count=len(members))
        if status == "SENT":
            values["sent_at"] = now
    mine = and_(g.tenant_id == digest.tenant_id, g.user_id == digest.user_id, g.day == digest.day)
    await conn.execute(update(digests).where(mine).values(**values))
    if retry_at is not None:
        return
    member_status = "SENT" if status == "SENT" else status
    if members:
        await conn.execute(
            update(deliveries)
            .where(d.tenant_id == digest.tenant_id, d.id.in_(list(members)))
            .values(status=member_status, sent_at=now if status == "SENT" else None, updated_at=now)
        )
    day, send_at = following
    moved = await conn.execute(
        update(deliveries)
        .where(
            d.tenant_id == digest.tenant_id,
            d.user_id == digest.user_id,
            d.digest_day == digest.day,
            d.status == "PENDING",
        )
        .values(digest_day=day, updated_at=now)
        .returning(d.id)
    )
    if moved.first() is not None:
        await schedule_digests(conn, digest.tenant_id, {(digest.user_id, day): send_at})


# ---------------------------------------------------------------- what messages say


@dataclass(frozen=True, slots=True)
class Recipient:
    id: UUID
    email: str
    name: str
    active: bool


async def recipients(
    conn: AsyncConnection, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Recipient]:
    if not ids:
        return {}
    u = users.c
    rows = await conn.execute(
        select(u.id, u.email, u.name, u.disabled_at).where(
            u.tenant_id == tenant_id, u.id.in_(list(set(ids)))
        )
    )
    return {row.id: Recipient(row.id, row.email, row.name, row.disabled_at is None) for row in rows}


async def alerts_with_properties(
    conn: AsyncConnection, tenant_id: UUID, alert_ids: Sequence[UUID]
) -> dict[UUID, tuple[Alert, dict[str, Any] | None]]:
    """Alerts by id with the property each is about (its row as a dict), in one statement."""
    if not alert_ids:
        return {}
    a, p = alerts.c, properties.c
    property_columns = [
        p.unparsed_address.label("p_address"),
        p.city.label("p_city"),
        p.state_or_province.label("p_state"),
        p.postal_code.label("p_postal_code"),
        p.list_price.label("p_list_price"),
        p.bedrooms_total.label("p_bedrooms"),
        p.bathrooms_total_integer.label("p_bathrooms"),
        p.living_area.label("p_living_area"),
        p.property_type.label("p_property_type"),
        p.standard_status.label("p_standard_status"),
        p.latitude.label("p_latitude"),
        p.longitude.label("p_longitude"),
        p.id.label("p_id"),
    ]
    rows = await conn.execute(
        select(*alerts.c, *property_columns)
        .select_from(
            alerts.outerjoin(properties, and_(p.tenant_id == a.tenant_id, p.id == a.property_id))
        )
        .where(a.tenant_id == tenant_id, a.id.in_(list(set(alert_ids))))
    )
    found = {}
    for row in rows:
        mapping = row._mapping
        alert = to_alert_columns(mapping)
        prop = None
        if mapping["p_id"] is not None:
            prop = {key[2:]: value for key, value in mapping.items() if key.startswith("p_")}
        found[alert.id] = (alert, prop)
    return found


def to_alert_columns(mapping: Any) -> Alert:
    return to_alert(_Row({column.key: mapping[column.key] for column in alerts.c}))


class _Row:
    """A mapping dressed as a row for to_alert."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


# ---------------------------------------------------------------- offers about to expire


async def expiring_offers(
    engine: AsyncEngine, now: datetime, window: timedelta, limit: int
) -> list[ExpiringOffer]:
    """Pending offers of any tenant expiring within the window, not yet announced."""
    o, n = offers.c, offer_expiry_notices.c
    async with engine.begin() as conn:
        await act_as_worker(conn, "alert_scheduler")
        announced = (
            select(n.offer_id).where(n.tenant_id == o.tenant_id, n.offer_id == o.id).exists()
        )
        rows = await conn.execute(
            select(o.id, o.tenant_id, o.deal_id, o.party, o.amount, o.expires_at)
            .where(
                o.status == "PENDING",
                o.expires_at.is_not(None),
                o.expires_at > now,
                o.expires_at <= now + window,
                ~announced,
            )
            .order_by(o.expires_at)
            .limit(limit)
        )
        return [
            ExpiringOffer(
                offer_id=row.id,
                tenant_id=row.tenant_id,
                deal_id=row.deal_id,
                party=row.party,
                amount=row.amount,
                expires_at=row.expires_at,
            )
            for row in rows
        ]


async def offer_state(
    conn: AsyncConnection, tenant_id: UUID, offer_id: UUID
) -> tuple[str, datetime | None] | None:
    """An offer's status and expiry, locked (None when it is gone)."""
    o = offers.c
    row = (
        await conn.execute(
            select(o.status, o.expires_at)
            .where(o.tenant_id == tenant_id, o.id == offer_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else (row.status, row.expires_at)


async def note_offer_announced(conn: AsyncConnection, tenant_id: UUID, offer_id: UUID) -> bool:
    """Record that an offer's expiry was announced; False when it already was."""
    row = (
        await conn.execute(
            pg_insert(offer_expiry_notices)
            .values(tenant_id=tenant_id, offer_id=offer_id)
            .on_conflict_do_nothing()
            .returning(offer_expiry_notices.c.offer_id)
        )
    ).first()
    return row is not None
