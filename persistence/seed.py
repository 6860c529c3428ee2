"""Demo data: two tenants, a user per role, ~300 properties and ~40 deals each.

Seeding twice changes nothing: tenants and users are added when missing, properties only when a
tenant has none, deals (with their team, offers, timeline, budgets, accounts and transactions)
only when it has no deals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.property import EDITABLE_FIELDS, derived_fields
from persistence.database import async_url, create_engine, transaction
from persistence.demo_data import demo_properties
from persistence.demo_deals import DealPlan, demo_deals
from persistence.tables import (
    accounts,
    budgets,
    deal_members,
    deals,
    offers,
    properties,
    property_media,
    property_provenance,
    tenants,
    timeline_entries,
    transactions,
    users,
)

NAMESPACE = uuid.UUID("6f1c7d1e-3b0a-4c55-9a53-6f2f1b8e0d21")
DEMO_PASSWORD = "reos-demo"


@dataclass(frozen=True)
class DemoTenant:
    name: str
    slug: str
    users: tuple[tuple[str, str, str], ...]  # (email, name, role)

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"tenant:{self.slug}")


DEMO_TENANTS = (
    DemoTenant(
        "Demo Capital",
        "demo-capital",
        (
            ("demo@reos.dev", "Dana Admin", "ADMIN"),
            ("analyst@reos.dev", "Alex Analyst", "ANALYST"),
            ("underwriter@reos.dev", "Uma Underwriter", "UNDERWRITER"),
            ("ops@reos.dev", "Omar Ops", "OPS"),
            ("viewer@reos.dev", "Vic Viewer", "VIEWER"),
        ),
    ),
    DemoTenant("Other Fund", "other-fund", (("other@reos.dev", "Olivia Other", "ADMIN"),)),
)


@dataclass
class SeedReport:
    tenants: int = 0
    users: int = 0
    properties: int = 0
    deals: int = 0


async def _seed_tenant(
    conn: AsyncConnection, tenant: DemoTenant, hash_password: Callable[[str], str], today: date
) -> SeedReport:
    report = SeedReport()
    inserted = await conn.execute(
        pg_insert(tenants)
        .values(id=tenant.id, name=tenant.name)
        .on_conflict_do_nothing()
        .returning(tenants.c.id)
    )
    report.tenants += len(inserted.all())
    existing = set(
        (await conn.execute(select(users.c.email).where(users.c.tenant_id == tenant.id))).scalars()
    )
    for email, name, role in tenant.users:
        if email in existing:
            continue
        await conn.execute(
            insert(users).values(
                id=uuid.uuid5(NAMESPACE, f"user:{tenant.slug}:{email}"),
                tenant_id=tenant.id,
                email=email,
                name=name,
                role=role,
                password_hash=hash_password(DEMO_PASSWORD),
            )
        )
        report.users += 1
    count = (
        await conn.execute(
            select(func.count()).select_from(properties).where(properties.c.tenant_id == tenant.id)
        )
    ).scalar_one()
    if count == 0:
        report.properties = await _seed_properties(conn, tenant, today)
    has_deals = (
        await conn.execute(select(deals.c.id).where(deals.c.tenant_id == tenant.id).limit(1))
    ).first()
    if has_deals is None:
        report.deals = await _seed_deals(conn, tenant, today)
    return report


async def _seed_properties(conn: AsyncConnection, tenant: DemoTenant, today: date) -> int:
    fetched_at = datetime.now(UTC)
    property_rows: list[dict[str, Any]] = []
    media_rows: list[dict[str, Any]] = []
    provenance_rows: list[dict[str, Any]] = []
    for item in demo_properties(tenant.slug, today):
        values = {name: item[name] for name in EDITABLE_FIELDS}
        property_id = uuid.uuid5(tenant.id, item["listing_id"])
        property_rows.append(
            {"id": property_id, "tenant_id": tenant.id, **values, **derived_fields(values)}
        )
        media_rows += [
            {
                "id": uuid.uuid5(property_id, m["url"]),
                "tenant_id": tenant.id,
                "property_id": property_id,
                **m,
            }
            for m in item["media"]
        ]
        provenance_rows += [
            {
                "tenant_id": tenant.id,
                "property_id": property_id,
                "field": name,
                "source": item["source"],
                "fetched_at": fetched_at,
                "confidence": Decimal("0.950"),
                "locked": False,
            }
            for name in EDITABLE_FIELDS
            if values[name] not in (None, [])
        ]
    await conn.execute(insert(properties), property_rows)
    await conn.execute(insert(property_media), media_rows)
    await conn.execute(insert(property_provenance), provenance_rows)
    return len(property_rows)


async def _seed_deals(conn: AsyncConnection, tenant: DemoTenant, today: date) -> int:
    """The tenant's demo deals and everything around them (no outbox events: nothing happened)."""
    p = properties.c
    found = await conn.execute(
        select(
            p.id,
            p.list_price,
            p.close_price,
            p.standard_status,
            p.unparsed_address,
            p.city,
            p.county_or_parish,
            p.property_type,
            p.tax_annual_amount,
        ).where(p.tenant_id == tenant.id)
    )
    people = await conn.execute(
        select(users.c.id, users.c.email, users.c.name, users.c.role).where(
            users.c.tenant_id == tenant.id, users.c.disabled_at.is_(None)
        )
    )
    plan = demo_deals(
        tenant.slug,
        tenant.id,
        today,
        [dict(row._mapping) for row in found],
        [dict(row._mapping) for row in people],
    )
    if not plan.deals:
        return 0
    await _insert_accounts(conn, tenant, plan)
    for table, rows in (
        (deals, plan.deals),
        (deal_members, plan.deal_members),
        (offers, plan.offers),
        (timeline_entries, plan.timeline_entries),  # in time order, so seq follows time
        (budgets, plan.budgets),
        (transactions, plan.transactions),
    ):
        if rows:
            await conn.execute(insert(table), rows)
    return len(plan.deals)


async def _insert_accounts(conn: AsyncConnection, tenant: DemoTenant, plan: DealPlan) -> None:
    """The demo accounts; an account of the same name that already exists is used instead."""
    await conn.execute(
        pg_insert(accounts)
        .values(plan.accounts)
        .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
    )
    names = [account["name"] for account in plan.accounts]
    rows = await conn.execute(
        select(accounts.c.name, accounts.c.id).where(
            accounts.c.tenant_id == tenant.id, accounts.c.name.in_(names)
        )
    )
    existing = {row.name: row.id for row in rows}
    moved = {a["id"]: existing[a["name"]] for a in plan.accounts if existing[a["name"]] != a["id"]}
    for row in plan.transactions:
        row["account_id"] = moved.get(row["account_id"], row["account_id"])


async def seed(
    owner_url: str, hash_password: Callable[[str], str], today: date | None = None
) -> SeedReport:
    """Create the demo tenants, users, properties and deals that are missing."""
    engine = create_engine(async_url(owner_url), pool_size=1)
    total = SeedReport()
    try:
        for tenant in DEMO_TENANTS:
            async with transaction(engine, tenant.id) as conn:
                report = await _seed_tenant(conn, tenant, hash_password, today or date.today())
            total.tenants += report.tenants
            total.users += report.users
            total.properties += report.properties
            total.deals += report.deals
    finally:
        await engine.dispose()
    return total
