"""Construction storage: projects, contractors, bids, tasks, change orders, inspections."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.construction import Bid, ChangeOrder, Contractor, Inspection, Project, Task
from persistence.database import TenantSession
from persistence.pagination import SortKey, parse_timestamp
from persistence.tables import (
    bids,
    construction_projects,
    contractors,
    transactions,
)

R = TypeVar("R")
CONSTRUCTION_CATEGORIES = ("REPAIRS", "CAPEX")


PROJECT_SORT = SortKey(
    construction_projects.c.created_at, construction_projects.c.id, True, parse_timestamp
)
CONTRACTOR_SORT = SortKey(contractors.c.name, contractors.c.id, False, str)

FACTORIES: dict[str, Callable[..., Any]] = {
    "construction_projects": Project,
    "contractors": Contractor,
    "bids": Bid,
    "tasks": Task,
    "change_orders": ChangeOrder,
    "inspections": Inspection,
}


def _make(table: Table, row: Any) -> Any:
    return FACTORIES[table.name](**row._mapping)


async def by_ids(
    session: TenantSession, table: Table, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Any]:
    """Rows of a construction table by id, within the tenant."""
    rows = await session.fetch(
        select(*table.c).where(table.c.tenant_id == tenant_id, table.c.id.in_(ids))
    )
    return {row.id: _make(table, row) for row in rows}


async def by_parent(
    session: TenantSession,
    table: Table,
    parent: str,
    tenant_id: UUID,
    parent_ids: Sequence[UUID],
    order_by: Sequence[Any],
) -> dict[UUID, list[Any]]:
    """Rows of a table grouped by a parent column, in order, one statement for all parents."""
    rows = await session.fetch(
        select(*table.c)
        .where(table.c.tenant_id == tenant_id, table.c[parent].in_(parent_ids))
        .order_by(table.c[parent], *order_by)
    )
    grouped: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row._mapping[parent]].append(_make(table, row))
    return grouped


async def insert_row(
    conn: AsyncConnection, table: Table, tenant_id: UUID, values: dict[str, Any]
) -> Any:
    row = (
        await conn.execute(
            insert(table).values(id=uuid.uuid4(), tenant_id=tenant_id, **values).returning(*table.c)
        )
    ).one()
    return _make(table, row)


async def get_for_update(
    conn: AsyncConnection, table: Table, tenant_id: UUID, row_id: UUID, lock: bool = True
) -> Any:
    """A row by id, locked for the rest of the transaction unless lock is False."""
    statement = select(*table.c).where(table.c.tenant_id == tenant_id, table.c.id == row_id)
    row = (await conn.execute(statement.with_for_update() if lock else statement)).first()
    return _make(table, row) if row else None


async def update_row(
    conn: AsyncConnection, table: Table, tenant_id: UUID, row_id: UUID, values: dict[str, Any]
) -> Any:
    row = (
        await conn.execute(
            update(table)
            .where(table.c.tenant_id == tenant_id, table.c.id == row_id)
            .values(**values)
            .returning(*table.c)
        )
    ).one()
    return _make(table, row)


async def list_projects(
    session: TenantSession,
    tenant_id: UUID,
    deal_id: UUID | None,
    statuses: list[str] | None,
    after: tuple[Any, Any] | None,
    limit: int,
) -> list[Project]:
    c = construction_projects.c
    where = [c.tenant_id == tenant_id]
    if deal_id:
        where.append(c.deal_id == deal_id)
    if statuses:
        where.append(c.status.in_(statuses))
    if after is not None:
        where.append(PROJECT_SORT.after(*after))
    rows = await session.fetch(
        select(*construction_projects.c)
        .where(*where)
        .order_by(*PROJECT_SORT.order_by())
        .limit(limit + 1)
    )
    return [Project(**row._mapping) for row in rows]


async def count_projects(
    session: TenantSession, tenant_id: UUID, deal_id: UUID | None, statuses: list[str] | None
) -> int:
    c = construction_projects.c
    where = [c.tenant_id == tenant_id]
    if deal_id:
        where.append(c.deal_id == deal_id)
    if statuses:
        where.append(c.status.in_(statuses))
    return (
        await session.fetch(select(func.count()).select_from(construction_projects).where(*where))
    )[0][0]


async def list_contractors(
    session: TenantSession,
    tenant_id: UUID,
    trades: list[str] | None,
    after: tuple[Any, Any] | None,
    limit: int,
) -> list[Contractor]:
    c = contractors.c
    where = [c.tenant_id == tenant_id]
    if trades:
        where.append(c.trade.in_(trades))
    if after is not None:
        where.append(CONTRACTOR_SORT.after(*after))
    rows = await session.fetch(
        select(*contractors.c).where(*where).order_by(*CONTRACTOR_SORT.order_by()).limit(limit + 1)
    )
    return [Contractor(**row._mapping) for row in rows]


async def count_contractors(
    session: TenantSession, tenant_id: UUID, trades: list[str] | None
) -> int:
    c = contractors.c
    where = [c.tenant_id == tenant_id]
    if trades:
        where.append(c.trade.in_(trades))
    return (await session.fetch(select(func.count()).select_from(contractors).where(*where)))[0][0]


async def insert_contractor(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> Contractor | None:
    row = (
        await conn.execute(
            pg_insert(contractors)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
            .returning(*contractors.c)
        )
    ).first()
    return Contractor(**row._mapping) if row else None


async def bids_of_project(conn: AsyncConnection, tenant_id: UUID, project_id: UUID) -> list[Bid]:
    rows = await conn.execute(
        select(*bids.c)
        .where(bids.c.tenant_id == tenant_id, bids.c.project_id == project_id)
        .order_by(bids.c.seq)
    )
    return [Bid(**row._mapping) for row in rows]


async def reject_other_bids(
    conn: AsyncConnection, tenant_id: UUID, project_id: UUID, winner: UUID, actor: UUID
) -> list[Bid]:
    c = bids.c
    rows = await conn.execute(
        update(bids)
        .where(
            c.tenant_id == tenant_id,
            c.project_id == project_id,
            c.id != winner,
            c.status == "SUBMITTED",
        )
        .values(status="REJECTED", decided_by=actor, decided_at=func.now())
        .returning(*bids.c)
    )
    return [Bid(**row._mapping) for row in rows]


async def construction_spent_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, Decimal]:
    """Rehab spending per deal: repairs and capital expenses net of refunds."""
    t = transactions.c
    rows = await session.fetch(
        select(t.deal_id, -func.sum(t.amount))
        .where(
            t.tenant_id == tenant_id,
            t.deal_id.in_(deal_ids),
            t.category.in_(CONSTRUCTION_CATEGORIES),
        )
        .group_by(t.deal_id)
    )
    return {row[0]: Decimal(row[1]) for row in rows}
