"""Accounts, transactions, budgets, and the sums behind the money reports."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ledger import Category, Transaction
from persistence.database import TenantSession
from persistence.pagination import SortKey, first_rows_per_parent
from persistence.tables import accounts, budgets, transactions

TRANSACTION_COLUMNS = [
    transactions.c.id,
    transactions.c.tenant_id,
    transactions.c.occurred_on,
    transactions.c.amount,
    transactions.c.category,
    transactions.c.account_id,
    transactions.c.deal_id,
    transactions.c.description,
    transactions.c.counterparty,
    transactions.c.receipt_document_id,
    transactions.c.created_by,
    transactions.c.seq,
]
TRANSACTION_SORT = SortKey(
    transactions.c.occurred_on, transactions.c.seq, True, date.fromisoformat, int
)
ZERO = Decimal("0.00")


@dataclass(slots=True)
class Account:
    id: UUID
    tenant_id: UUID
    name: str
    kind: str


@dataclass(slots=True)
class Budget:
    id: UUID
    tenant_id: UUID
    deal_id: UUID
    category: str
    amount: Decimal
    spent: Decimal = ZERO
    exceeded_at: Any = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.spent

    @property
    def exceeded(self) -> bool:
        return self.spent > self.amount


@dataclass
class TransactionListQuery:
    tenant_id: UUID
    deal_id: UUID | None = None
    account_id: UUID | None = None
    categories: list[str] | None = None
    start: date | None = None
    end: date | None = None


def to_transaction(row: Any) -> Transaction:
    return Transaction(**row._mapping)


def _transaction_conditions(query: TransactionListQuery) -> list[Any]:
    t = transactions.c
    where: list[Any] = [t.tenant_id == query.tenant_id]
    if query.deal_id:
        where.append(t.deal_id == query.deal_id)
    if query.account_id:
        where.append(t.account_id == query.account_id)
    if query.categories:
        where.append(t.category.in_(query.categories))
    if query.start:
        where.append(t.occurred_on >= query.start)
    if query.end:
        where.append(t.occurred_on <= query.end)
    return where


async def list_transactions(
    session: TenantSession, query: TransactionListQuery, after: tuple[Any, Any] | None, limit: int
) -> list[Transaction]:
    where = _transaction_conditions(query)
    if after is not None:
        where.append(TRANSACTION_SORT.after(*after))
    statement = (
        select(*TRANSACTION_COLUMNS)
        .where(*where)
        .order_by(*TRANSACTION_SORT.order_by())
        .limit(limit + 1)
    )
    return [to_transaction(row) for row in await session.fetch(statement)]


async def count_transactions(session: TenantSession, query: TransactionListQuery) -> int:
    statement = (
        select(func.count()).select_from(transactions).where(*_transaction_conditions(query))
    )
    return (await session.fetch(statement))[0][0]


async def transactions_by_deal_ids(
    session: TenantSession,
    tenant_id: UUID,
    deal_ids: Sequence[UUID],
    limit: int,
    after: tuple[Any, Any] | None,
) -> dict[UUID, list[Transaction]]:
    """The first limit + 1 transactions of each deal, newest first."""
    t = transactions.c
    where = [t.tenant_id == tenant_id, t.deal_id.in_(deal_ids)]
    if after is not None:
        where.append(TRANSACTION_SORT.after(*after))
    statement = first_rows_per_parent(
        TRANSACTION_COLUMNS, t.deal_id, TRANSACTION_SORT.order_by(), where, limit + 1
    )
    grouped: dict[UUID, list[Transaction]] = defaultdict(list)
    for row in await session.fetch(statement):
        grouped[row.deal_id].append(to_transaction(row))
    return grouped


async def transactions_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Transaction]:
    t = transactions.c
    rows = await session.fetch(
        select(*TRANSACTION_COLUMNS).where(t.tenant_id == tenant_id, t.id.in_(ids))
    )
    return {row.id: to_transaction(row) for row in rows}


async def insert_transaction(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> Transaction:
    row = (
        await conn.execute(
            insert(transactions)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*TRANSACTION_COLUMNS)
        )
    ).one()
    return to_transaction(row)


async def pnl_totals(
    session: TenantSession, tenant_id: UUID, deal_id: UUID | None, start: date, end: date
) -> dict[Category, Decimal]:
    t = transactions.c
    where = [t.tenant_id == tenant_id, t.occurred_on >= start, t.occurred_on <= end]
    if deal_id:
        where.append(t.deal_id == deal_id)
    rows = await session.fetch(
        select(t.category, func.sum(t.amount)).where(*where).group_by(t.category)
    )
    return {Category(row[0]): row[1] for row in rows}


async def daily_flows(
    session: TenantSession, tenant_id: UUID, deal_id: UUID | None, start: date, end: date
) -> list[tuple[date, Decimal, Decimal]]:
    """(day, money in, money out) for each day with transactions."""
    t = transactions.c
    where = [t.tenant_id == tenant_id, t.occurred_on >= start, t.occurred_on <= end]
    if deal_id:
        where.append(t.deal_id == deal_id)
    inflow = func.coalesce(func.sum(t.amount).filter(t.amount > 0), 0)
    outflow = func.coalesce(-func.sum(t.amount).filter(t.amount < 0), 0)
    rows = await session.fetch(
        select(t.occurred_on, inflow, outflow)
        .where(*where)
        .group_by(t.occurred_on)
        .order_by(t.occurred_on)
    )
    return [(row[0], Decimal(row[1]), Decimal(row[2])) for row in rows]


async def list_accounts(session: TenantSession, tenant_id: UUID) -> list[Account]:
    a = accounts.c
    rows = await session.fetch(
        select(a.id, a.tenant_id, a.name, a.kind).where(a.tenant_id == tenant_id).order_by(a.name)
    )
    return [Account(**row._mapping) for row in rows]


async def accounts_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Account]:
    a = accounts.c
    rows = await session.fetch(
        select(a.id, a.tenant_id, a.name, a.kind).where(a.tenant_id == tenant_id, a.id.in_(ids))
    )
    return {row.id: Account(**row._mapping) for row in rows}


async def insert_account(
    conn: AsyncConnection, tenant_id: UUID, name: str, kind: str
) -> Account | None:
    a = accounts.c
    row = (
        await conn.execute(
            pg_insert(accounts)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, name=name, kind=kind)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
            .returning(a.id, a.tenant_id, a.name, a.kind)
        )
    ).first()
    return Account(**row._mapping) if row else None


async def account_exists(conn: AsyncConnection, tenant_id: UUID, account_id: UUID) -> bool:
    a = accounts.c
    row = (
        await conn.execute(select(a.id).where(a.tenant_id == tenant_id, a.id == account_id))
    ).first()
    return row is not None


def _spent(tenant_id: UUID) -> Any:
    """Spending per (deal, category): expenses net of refunds."""
    t = transactions.c
    return (
        select(t.deal_id, t.category, (-func.sum(t.amount)).label("spent"))
        .where(t.tenant_id == tenant_id, t.deal_id.is_not(None))
        .group_by(t.deal_id, t.category)
        .subquery()
    )


async def budgets_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, list[Budget]]:
    b = budgets.c
    spent = _spent(tenant_id)
    rows = await session.fetch(
        select(b.id, b.tenant_id, b.deal_id, b.category, b.amount, b.exceeded_at, spent.c.spent)
        .select_from(
            budgets.outerjoin(
                spent, (spent.c.deal_id == b.deal_id) & (spent.c.category == b.category)
            )
        )
        .where(b.tenant_id == tenant_id, b.deal_id.in_(deal_ids))
        .order_by(b.deal_id, b.category)
    )
    grouped: dict[UUID, list[Budget]] = defaultdict(list)
    for row in rows:
        values = dict(row._mapping)
        values["spent"] = Decimal(values["spent"] or 0).quantize(Decimal("0.01"))
        grouped[row.deal_id].append(Budget(**values))
    return grouped


async def spent_on(conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, category: str) -> Decimal:
    t = transactions.c
    row = (
        await conn.execute(
            select(func.coalesce(-func.sum(t.amount), 0)).where(
                t.tenant_id == tenant_id, t.deal_id == deal_id, t.category == category
            )
        )
    ).one()
    return Decimal(row[0]).quantize(Decimal("0.01"))


async def budget_for_update(
    conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, category: str
) -> Budget | None:
    b = budgets.c
    row = (
        await conn.execute(
            select(b.id, b.tenant_id, b.deal_id, b.category, b.amount, b.exceeded_at)
            .where(b.tenant_id == tenant_id, b.deal_id == deal_id, b.category == category)
            .with_for_update()
        )
    ).first()
    return Budget(**row._mapping) if row else None


async def upsert_budget(
    conn: AsyncConnection, tenant_id: UUID, deal_id: UUID, category: str, amount: Decimal
) -> Budget:
    b = budgets.c
    statement = pg_insert(budgets).values(
        id=uuid.uuid4(), tenant_id=tenant_id, deal_id=deal_id, category=category, amount=amount
    )
    row = (
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "deal_id", "category"],
                set_={"amount": statement.excluded.amount, "updated_at": func.now()},
            ).returning(b.id, b.tenant_id, b.deal_id, b.category, b.amount, b.exceeded_at)
        )
    ).one()
    return Budget(**row._mapping)


async def mark_budget(
    conn: AsyncConnection, tenant_id: UUID, budget_id: UUID, exceeded: bool
) -> Any:
    """Set or clear when spending went over; returns the new mark."""
    b = budgets.c
    row = (
        await conn.execute(
            update(budgets)
            .where(b.tenant_id == tenant_id, b.id == budget_id)
            .values(exceeded_at=func.now() if exceeded else None)
            .returning(b.exceeded_at)
        )
    ).one()
    return row[0]


async def count_transactions_by_deal_ids(
    session: TenantSession, tenant_id: UUID, deal_ids: Sequence[UUID]
) -> dict[UUID, int]:
    t = transactions.c
    rows = await session.fetch(
        select(t.deal_id, func.count())
        .where(t.tenant_id == tenant_id, t.deal_id.in_(deal_ids))
        .group_by(t.deal_id)
    )
    return {row[0]: row[1] for row in rows}
