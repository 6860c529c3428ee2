"""Accounts, transactions, budgets, money reports, analysis, projections and commission splits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.analysis import DealAnalysis, Projection, analyze, project
from domain.commission import CommissionRule, Share, split_commission
from domain.deal import Deal, check_money
from domain.errors import DomainError, ErrorCode, FieldError, collect
from domain.ledger import (
    AccountKind,
    CashFlowPeriod,
    Category,
    Interval,
    ProfitAndLoss,
    Transaction,
    cash_flow,
    check_range,
    crossed,
    profit_and_loss,
    validate_transaction,
)
from domain.money import money_text
from domain.timeline import TimelineKind
from persistence import deal as deal_store
from persistence import finance as store
from persistence.finance import Account, Budget, TransactionListQuery
from resolvers.analysis_input import checked, deal_assumptions
from resolvers.context import Context
from resolvers.deal import decode, decode_query_id
from resolvers.errors import bad_input, run_write
from resolvers.pagination import Page, build_page, page_size
from resolvers.timeline import deal_event, record


@dataclass
class AccountResult:
    account: Account | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class TransactionResult:
    transaction: Transaction | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class BudgetResult:
    budget: Budget | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class CommissionResult:
    gross: Decimal | None
    shares: list[Share]
    errors: list[FieldError] = field(default_factory=list)


async def accounts(ctx: Context) -> list[Account]:
    principal = ctx.require("finance:read")
    return await store.list_accounts(ctx.session, principal.tenant_id)


async def account_create(ctx: Context, name: str, kind: AccountKind) -> AccountResult:
    principal = ctx.require("finance:write")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        return AccountResult(
            errors=[
                FieldError(ErrorCode.INVALID, "name must be 1-200 characters.", ("input", "name"))
            ]
        )

    async def create(conn: AsyncConnection) -> Account:
        account = await store.insert_account(conn, principal.tenant_id, name, kind.value)
        if account is None:
            raise DomainError.of(
                ErrorCode.CONFLICT, "An account with this name exists.", "input", "name"
            )
        return account

    account, errors = await run_write(ctx, create)
    return AccountResult(account=account, errors=errors)


def _cursor(item: Transaction) -> str:
    return store.TRANSACTION_SORT.cursor(item.occurred_on, item.seq)


def _decode_transaction_after(after: str | None) -> Any:
    if not after:
        return None
    try:
        return store.TRANSACTION_SORT.decode(after)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error


async def transactions(
    ctx: Context, filter: Any, first: int | None, after: str | None
) -> Page[Transaction]:
    principal = ctx.require("finance:read")
    limit = page_size(first)
    position = _decode_transaction_after(after)
    query = TransactionListQuery(tenant_id=principal.tenant_id)
    if filter is not None:
        if filter.deal_id:
            query.deal_id = decode_query_id(filter.deal_id, "Deal")
        if filter.account_id:
            query.account_id = decode_query_id(filter.account_id, "Account")
        query.categories = [c.value for c in filter.category] if filter.category else None
        query.start, query.end = filter.from_, filter.to
    rows = await store.list_transactions(ctx.session, query, position, limit)

    async def count() -> int:
        return await store.count_transactions(ctx.session, query)

    return build_page(rows, limit, _cursor, count, after)


async def deal_transactions(
    ctx: Context, deal: Deal, first: int | None, after: str | None
) -> Page[Transaction]:
    ctx.require("finance:read")
    limit = page_size(first)
    position = _decode_transaction_after(after)
    rows = await ctx.loaders.transactions_by_deal_id.load((deal.id, limit, position))

    async def count() -> int:
        return await ctx.loaders.transaction_count_by_deal_id.load(deal.id)

    return build_page(rows, limit, _cursor, count, after)


async def _budget_checked(
    conn: AsyncConnection,
    ctx: Context,
    budget: Budget,
    budget_before: Decimal | None,
    spent_before: Decimal,
    spent_after: Decimal,
) -> None:
    """Announce a crossing over the budget once; clear the mark when back under it."""
    tenant_id = ctx.require().tenant_id
    budget.spent = spent_after
    if crossed(budget_before, spent_before, budget.amount, spent_after):
        budget.exceeded_at = await store.mark_budget(conn, tenant_id, budget.id, exceeded=True)
        payload = {
            "budget_id": str(budget.id),
            "category": budget.category,
            "amount": str(budget.amount),
            "spent": str(spent_after),
        }
        event = deal_event(ctx, budget.deal_id, "budget.exceeded", payload)
        message = (
            f"{budget.category} budget exceeded: ${spent_after:,.2f} spent of ${budget.amount:,.2f}"
        )
        await record(
            conn,
            ctx,
            budget.deal_id,
            TimelineKind.BUDGET_EXCEEDED,
            message,
            payload,
            events=[event],
        )
    elif spent_after <= budget.amount and budget.exceeded_at is not None:
        budget.exceeded_at = await store.mark_budget(conn, tenant_id, budget.id, exceeded=False)


def _check_counterparty(counterparty: str | None) -> None:
    if counterparty is not None and len(counterparty) > 200:
        raise DomainError.of(
            ErrorCode.INVALID, "counterparty is over 200 characters.", "input", "counterparty"
        )


async def transaction_create(ctx: Context, data: Any) -> TransactionResult:
    principal = ctx.require("finance:write")
    tenant_id = principal.tenant_id
    category = Category(data.category.value)
    description = data.description if data.description is not UNSET else None
    counterparty = data.counterparty if data.counterparty is not UNSET else None
    (_, _, deal_id, account_id), problems = collect(
        lambda: validate_transaction(data.amount, category, description),
        lambda: _check_counterparty(counterparty),
        lambda: decode(data.deal_id, "Deal", "input", "dealId") if data.deal_id else None,
        lambda: (
            decode(data.account_id, "Account", "input", "accountId") if data.account_id else None
        ),
    )
    if problems:
        return TransactionResult(errors=problems)

    async def create(conn: AsyncConnection) -> Transaction:
        if deal_id and await deal_store.get_deal_for_update(conn, tenant_id, deal_id) is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "input", "dealId")
        if account_id and not await store.account_exists(conn, tenant_id, account_id):
            raise DomainError.of(
                ErrorCode.NOT_FOUND, "No account with this ID.", "input", "accountId"
            )
        budget = (
            await store.budget_for_update(conn, tenant_id, deal_id, category.value)
            if deal_id
            else None
        )
        before = await store.spent_on(conn, tenant_id, deal_id, category.value) if budget else None
        item = await store.insert_transaction(
            conn,
            tenant_id,
            {
                "occurred_on": data.date,
                "amount": data.amount,
                "category": category.value,
                "deal_id": deal_id,
                "account_id": account_id,
                "description": description,
                "counterparty": counterparty,
                "created_by": principal.user_id,
            },
        )
        if deal_id:
            payload = {
                "transaction_id": str(item.id),
                "amount": str(item.amount),
                "category": item.category,
                "date": item.occurred_on.isoformat(),
            }
            event = deal_event(ctx, deal_id, "transaction.created", payload)
            message = f"{category.value}: {money_text(item.amount)}" + (
                f" — {description}" if description else ""
            )
            await record(
                conn, ctx, deal_id, TimelineKind.TRANSACTION_ADDED, message, payload, events=[event]
            )
        if budget is not None and before is not None:
            after = await store.spent_on(conn, tenant_id, deal_id, category.value)
            await _budget_checked(conn, ctx, budget, budget.amount, before, after)
        return item

    item, errors = await run_write(ctx, create)
    return TransactionResult(transaction=item, errors=errors)


async def budget_set(ctx: Context, data: Any) -> BudgetResult:
    principal = ctx.require("finance:write")
    tenant_id = principal.tenant_id
    try:
        deal_id = decode(data.deal_id, "Deal", "input", "dealId")
        category = Category(data.category.value)
        errors = check_money(data.amount, ("input", "amount"))
        if errors:
            raise DomainError(*errors)
    except DomainError as error:
        return BudgetResult(errors=list(error.errors))

    async def set_budget(conn: AsyncConnection) -> Budget:
        if await deal_store.get_deal_for_update(conn, tenant_id, deal_id) is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "input", "dealId")
        previous = await store.budget_for_update(conn, tenant_id, deal_id, category.value)
        budget = await store.upsert_budget(conn, tenant_id, deal_id, category.value, data.amount)
        spent = await store.spent_on(conn, tenant_id, deal_id, category.value)
        payload = {
            "budget_id": str(budget.id),
            "category": category.value,
            "amount": str(budget.amount),
        }
        event = deal_event(ctx, deal_id, "budget.set", payload)
        message = f"{category.value} budget set to ${budget.amount:,.2f}"
        await record(conn, ctx, deal_id, TimelineKind.BUDGET_SET, message, payload, events=[event])
        await _budget_checked(
            conn, ctx, budget, previous.amount if previous else None, spent, spent
        )
        return budget

    budget, errors = await run_write(ctx, set_budget)
    return BudgetResult(budget=budget, errors=errors)


async def deal_budgets(ctx: Context, deal: Deal) -> list[Budget]:
    ctx.require("finance:read")
    return await ctx.loaders.budgets_by_deal_id.load(deal.id)


async def _report_deal(ctx: Context, deal_gid: str | None) -> UUID | None:
    if not deal_gid:
        return None
    deal_id = decode_query_id(deal_gid, "Deal")
    if await ctx.loaders.deal_by_id.load(deal_id) is None:
        raise bad_input("No deal with this ID.")
    return deal_id


def _checked_range(start: date, end: date) -> None:
    try:
        check_range(start, end)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error


async def pnl(ctx: Context, deal_gid: str | None, start: date, end: date) -> ProfitAndLoss:
    principal = ctx.require("finance:read")
    _checked_range(start, end)
    deal_id = await _report_deal(ctx, deal_gid)
    totals = await store.pnl_totals(ctx.session, principal.tenant_id, deal_id, start, end)
    return profit_and_loss(totals, start, end)


async def cash_flow_report(
    ctx: Context, deal_gid: str | None, start: date, end: date, interval: Any
) -> list[CashFlowPeriod]:
    principal = ctx.require("finance:read")
    _checked_range(start, end)
    deal_id = await _report_deal(ctx, deal_gid)
    daily = await store.daily_flows(ctx.session, principal.tenant_id, deal_id, start, end)
    return cash_flow(daily, start, end, Interval(interval.value))


def _assumption_values(data: Any, path: tuple[str, ...]) -> dict[str, Any]:
    try:
        return checked(data, path)
    except DomainError as error:
        first = error.errors[0]
        raise bad_input(f"{'.'.join(first.field or ())}: {first.message}") from error


async def analysis(ctx: Context, deal: Deal, data: Any) -> DealAnalysis:
    ctx.require("deals:read")
    values = _assumption_values(data, ("assumptions",))
    return analyze(deal.strategy, deal_assumptions(deal, values))


async def projection(ctx: Context, deal_gid: str, data: Any) -> Projection:
    ctx.require("deals:read")
    deal = await ctx.loaders.deal_by_id.load(decode_query_id(deal_gid, "Deal"))
    if deal is None:
        raise bad_input("No deal with this ID.")
    values = _assumption_values(data, ("input",))
    return project(deal_assumptions(deal, values))


def commission(ctx: Context, data: Any) -> CommissionResult:
    ctx.require("finance:read")
    rules = [
        CommissionRule(
            party=rule.party,
            rate=rule.rate if rule.rate is not UNSET else None,
            flat_fee=rule.flat_fee if rule.flat_fee is not UNSET else None,
            cap=rule.cap if rule.cap is not UNSET else None,
        )
        for rule in data.rules
    ]
    try:
        shares = split_commission(data.gross, rules, data.remainder_party)
    except DomainError as error:
        return CommissionResult(gross=None, shares=[], errors=list(error.errors))
    return CommissionResult(gross=data.gross, shares=shares)


def amortization_page(rows: Sequence[Any], first: int | None, after: str | None) -> list[Any]:
    """Months after the cursor (a month number), `first` of them (default 360, at most 600)."""
    size = 360 if first is None else first
    if size < 0:
        raise bad_input("`first` cannot be negative.")
    start = 0
    if after is not None:
        if not after.isdigit():
            raise bad_input("Malformed cursor.")
        start = int(after)
    return list(rows[start : start + min(size, 600)])
