"""Valuation storage: comp candidates for many subjects in one statement, stored summaries.

`comps_for` finds every subject's candidate comps in one statement (a LATERAL join per subject
over the earthdistance GiST index), so a page of properties asking for comps costs one query,
not one per property. `property_valuations` keeps the latest ARV and score per property, which
the valuation consumer maintains and other consumers (saved-search matching) read through
`valuations_by_property_ids`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Executable,
    Integer,
    Numeric,
    Row,
    Table,
    Text,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.comps import (
    AREA_TOLERANCE,
    CLOSED,
    MAX_COMPS,
    METERS_PER_MILE,
    Candidate,
    CompSearch,
    months_before,
)
from domain.property import Property
from persistence.database import TenantSession
from persistence.tables import metadata, properties

property_valuations = Table(
    "property_valuations",
    metadata,
    Column("tenant_id", PG_UUID(as_uuid=True), primary_key=True),
    Column("property_id", PG_UUID(as_uuid=True), primary_key=True),
    Column("arv", Numeric(14, 2)),
    Column("arv_reason", Text),
    Column("method", Text, nullable=False),
    Column("price_per_sqft", Numeric(14, 2)),
    Column("confidence", Numeric(3, 2)),
    Column("comp_count", Integer, nullable=False),
    Column("radius_miles", Numeric(5, 2)),
    Column("score", Integer, nullable=False),
    Column("score_reasons", JSONB, nullable=False),
    Column("score_version", Text, nullable=False),
    Column("inputs_hash", Text, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True)),
)

Db = TenantSession | AsyncConnection
PROPERTY_COLUMNS = [column.name for column in properties.c]


async def _fetch(db: Db, statement: Executable) -> Sequence[Row]:
    """Rows of a read, in a request's session or a worker's transaction."""
    if isinstance(db, TenantSession):
        return await db.fetch(statement)
    return (await db.execute(statement)).all()


def _earth(latitude: Any, longitude: Any) -> Any:
    return func.ll_to_earth(latitude, longitude)


def _within(center: Any, point: Any, meters: float) -> list[Any]:
    """Great-circle distance at most `meters`: the cube box uses the GiST index, the distance
    check makes it exact."""
    return [
        func.earth_box(center, meters).op("@>", is_comparison=True)(point),
        func.earth_distance(center, point) <= meters,
    ]


def comps_statement(
    tenant_id: UUID, subject_ids: Sequence[UUID], search: CompSearch, as_of: date
) -> Any:
    """Each subject's row, then its up to MAX_COMPS nearest candidate comps (LEFT JOIN LATERAL:
    a subject without any still comes back once, with null comp columns)."""
    s = properties.alias("s")
    c = properties.alias("c")
    subject_point = _earth(s.c.latitude, s.c.longitude)
    comp_point = _earth(c.c.latitude, c.c.longitude)
    meters = search.search_miles * METERS_PER_MILE
    distance = func.earth_distance(subject_point, comp_point)
    near = (
        select(
            *[column.label(f"c_{column.name}") for column in c.c],
            (distance / METERS_PER_MILE).label("distance_miles"),
        )
        .where(
            c.c.tenant_id == tenant_id,
            c.c.id != s.c.id,
            c.c.standard_status == CLOSED,
            c.c.close_price.is_not(None),
            c.c.close_date.between(months_before(as_of, search.months_back), as_of),
            c.c.property_type == s.c.property_type,
            c.c.living_area.between(
                s.c.living_area * literal(1 - AREA_TOLERANCE),
                s.c.living_area * literal(1 + AREA_TOLERANCE),
            ),
            c.c.latitude.is_not(None),
            c.c.longitude.is_not(None),
            *_within(subject_point, comp_point, meters),
        )
        .order_by(distance, c.c.close_date.desc(), c.c.id)
        .limit(MAX_COMPS)
        .lateral("near")
    )
    return (
        select(*s.c, *near.c)
        .select_from(s.outerjoin(near, true()))
        .where(s.c.tenant_id == tenant_id, s.c.id.in_(list(subject_ids)))
        .order_by(s.c.id, near.c.distance_miles)
    )


async def comps_for(
    db: Db, tenant_id: UUID, subject_ids: Sequence[UUID], search: CompSearch, as_of: date
) -> dict[UUID, tuple[Property, list[Candidate]]]:
    """Every found subject with its candidate comps, nearest first (one statement)."""
    if not subject_ids:
        return {}
    rows = await _fetch(db, comps_statement(tenant_id, subject_ids, search, as_of))
    found: dict[UUID, tuple[Property, list[Candidate]]] = {}
    for row in rows:
        values = row._mapping
        subject_id = values["id"]
        if subject_id not in found:
            subject = Property(**{name: values[name] for name in PROPERTY_COLUMNS})
            found[subject_id] = (subject, [])
        if values["c_id"] is not None:
            comp = Property(**{name: values[f"c_{name}"] for name in PROPERTY_COLUMNS})
            found[subject_id][1].append(Candidate(comp, float(values["distance_miles"])))
    return found


async def neighbor_ids(
    conn: AsyncConnection,
    tenant_id: UUID,
    sale_id: UUID,
    latitude: float,
    longitude: float,
    property_type: str,
    miles: float,
    limit: int,
) -> list[UUID]:
    """Properties a sale here may be a comp of: the same type within `miles`, with a living
    area the sale's is within +-20 % of (any area when the sale's is unknown), nearest first."""
    n = properties.c
    center = _earth(literal(latitude), literal(longitude))
    point = _earth(n.latitude, n.longitude)
    sale_area = (
        select(properties.c.living_area)
        .where(properties.c.tenant_id == tenant_id, properties.c.id == sale_id)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(n.id)
        .where(
            n.tenant_id == tenant_id,
            n.id != sale_id,
            n.property_type == property_type,
            n.latitude.is_not(None),
            n.longitude.is_not(None),
            *_within(center, point, miles * METERS_PER_MILE),
            sale_area.is_(None)
            | sale_area.between(
                n.living_area * literal(1 - AREA_TOLERANCE),
                n.living_area * literal(1 + AREA_TOLERANCE),
            ),
        )
        .order_by(func.earth_distance(center, point), n.id)
        .limit(limit)
    )
    return [row.id for row in rows]


@dataclass(frozen=True, slots=True)
class StoredValuation:
    """The latest stored ARV and score of a property (kept by the valuation consumer)."""

    property_id: UUID
    arv: Decimal | None
    arv_reason: str | None
    method: str
    price_per_sqft: Decimal | None
    confidence: Decimal | None
    comp_count: int
    radius_miles: Decimal | None
    score: int
    score_reasons: list[dict[str, Any]]
    score_version: str
    inputs_hash: str
    as_of: date
    computed_at: datetime | None = None


STORED_COLUMNS = [c for c in property_valuations.c if c.name != "tenant_id"]


async def valuations_by_property_ids(
    db: Db, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, StoredValuation]:
    """The stored valuation of each property that has one (`arv` may be null; `score` is not)."""
    if not ids:
        return {}
    v = property_valuations.c
    rows = await _fetch(
        db, select(*STORED_COLUMNS).where(v.tenant_id == tenant_id, v.property_id.in_(list(ids)))
    )
    return {row.property_id: StoredValuation(**row._mapping) for row in rows}


async def save_valuations(
    conn: AsyncConnection, tenant_id: UUID, rows: Sequence[StoredValuation]
) -> None:
    """Insert or replace stored valuations (one statement)."""
    if not rows:
        return
    values = [
        {
            "tenant_id": tenant_id,
            **{column.name: getattr(row, column.name) for column in STORED_COLUMNS},
            "computed_at": func.now(),
        }
        for row in rows
    ]
    statement = pg_insert(property_valuations).values(values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "property_id"],
            set_={
                column.name: statement.excluded[column.name]
                for column in STORED_COLUMNS
                if column.name != "property_id"
            },
        )
    )
