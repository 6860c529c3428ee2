"""Transactions by Schedule E category: profit and loss, cash flow by period, budget crossings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from uuid import UUID

from domain.errors import DomainError, ErrorCode, FieldError

ZERO = Decimal("0.00")


class Category(Enum):
    RENTS = "RENTS"
    ADVERTISING = "ADVERTISING"
    AUTO_TRAVEL = "AUTO_TRAVEL"
    CLEANING_MAINTENANCE = "CLEANING_MAINTENANCE"
    COMMISSIONS = "COMMISSIONS"
    INSURANCE = "INSURANCE"
    LEGAL_PROFESSIONAL = "LEGAL_PROFESSIONAL"
    MANAGEMENT_FEES = "MANAGEMENT_FEES"
    MORTGAGE_INTEREST = "MORTGAGE_INTEREST"
    OTHER_INTEREST = "OTHER_INTEREST"
    REPAIRS = "REPAIRS"
    SUPPLIES = "SUPPLIES"
    TAXES = "TAXES"
    UTILITIES = "UTILITIES"
    DEPRECIATION = "DEPRECIATION"
    OTHER = "OTHER"
    CAPEX = "CAPEX"
    PURCHASE = "PURCHASE"
    SALE = "SALE"
    LOAN_PRINCIPAL = "LOAN_PRINCIPAL"
    TRANSFER = "TRANSFER"


class Interval(Enum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


class AccountKind(Enum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    CREDIT_CARD = "CREDIT_CARD"
    LOAN = "LOAN"
    ESCROW = "ESCROW"
    OTHER = "OTHER"


NOT_IN_PNL = frozenset(
    {Category.CAPEX, Category.PURCHASE, Category.SALE, Category.LOAN_PRINCIPAL, Category.TRANSFER}
)
INCOME = frozenset({Category.RENTS})
MAX_AMOUNT = Decimal("1000000000")


@dataclass(slots=True)
class Transaction:
    id: UUID
    tenant_id: UUID
    occurred_on: date
    amount: Decimal
    category: str
    account_id: UUID | None = None
    deal_id: UUID | None = None
    description: str | None = None
    counterparty: str | None = None
    receipt_document_id: UUID | None = None
    created_by: UUID | None = None
    seq: int = 0


@dataclass(frozen=True)
class PnlLine:
    category: Category
    amount: Decimal


@dataclass(frozen=True)
class ProfitAndLoss:
    start: date
    end: date
    income: tuple[PnlLine, ...]
    expenses: tuple[PnlLine, ...]
    total_income: Decimal
    total_expenses: Decimal
    net_income: Decimal


@dataclass(frozen=True)
class CashFlowPeriod:
    label: str
    start: date
    end: date
    inflow: Decimal
    outflow: Decimal
    net: Decimal


def in_pnl(category: Category) -> bool:
    """Whether a category is income or an expense (not capital, principal or transfers)."""
    return category not in NOT_IN_PNL


def validate_transaction(amount: Decimal, category: Category, description: str | None) -> None:
    """Amounts are signed cents (money in > 0, out < 0); rents come in, expenses go out."""
    errors: list[FieldError] = []
    if not amount.is_finite() or amount == 0 or abs(amount) > MAX_AMOUNT:
        errors.append(
            FieldError(
                ErrorCode.INVALID, "amount must be non-zero and plausible.", ("input", "amount")
            )
        )
    elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.append(
            FieldError(
                ErrorCode.INVALID, "amount has more than two decimal places.", ("input", "amount")
            )
        )
    if description is not None and len(description) > 500:
        errors.append(
            FieldError(
                ErrorCode.INVALID, "description is over 500 characters.", ("input", "description")
            )
        )
    if errors:
        raise DomainError(*errors)


def profit_and_loss(totals: Mapping[Category, Decimal], start: date, end: date) -> ProfitAndLoss:
    """Income and expenses by category; capital, principal and transfers stay out."""
    kept = {c: amount for c, amount in totals.items() if in_pnl(c)}
    income = tuple(PnlLine(c, kept[c]) for c in Category if c in kept and c in INCOME)
    expenses = tuple(PnlLine(c, -kept[c]) for c in Category if c in kept and c not in INCOME)
    total_income = sum((line.amount for line in income), ZERO)
    total_expenses = sum((line.amount for line in expenses), ZERO)
    return ProfitAndLoss(
        start, end, income, expenses, total_income, total_expenses, total_income - total_expenses
    )


def period_of(day: date, interval: Interval) -> tuple[str, date, date]:
    """(label, first day, last day) of the period containing day."""
    if interval is Interval.MONTH:
        start = day.replace(day=1)
        label = f"{day.year}-{day.month:02d}"
        months = 1
    elif interval is Interval.QUARTER:
        quarter = (day.month - 1) // 3
        start = date(day.year, quarter * 3 + 1, 1)
        label = f"{day.year}-Q{quarter + 1}"
        months = 3
    else:
        start = date(day.year, 1, 1)
        label = str(day.year)
        months = 12
    month_index = start.month - 1 + months
    following = date(start.year + month_index // 12, month_index % 12 + 1, 1)
    return label, start, date.fromordinal(following.toordinal() - 1)


def cash_flow(
    daily: Iterable[tuple[date, Decimal, Decimal]], start: date, end: date, interval: Interval
) -> list[CashFlowPeriod]:
    """Money in and out per period from (day, inflow, outflow) totals; empty periods included."""
    buckets: dict[str, list[Decimal]] = {}
    spans: dict[str, tuple[date, date]] = {}
    cursor = start
    while cursor <= end:
        label, first, last = period_of(cursor, interval)
        buckets[label] = [ZERO, ZERO]
        spans[label] = (max(first, start), min(last, end))
        cursor = date.fromordinal(last.toordinal() + 1)
    for day, inflow, outflow in daily:
        if start <= day <= end:
            bucket = buckets[period_of(day, interval)[0]]
            bucket[0] += inflow
            bucket[1] += outflow
    return [
        CashFlowPeriod(label, *spans[label], inflow, outflow, inflow - outflow)
        for label, (inflow, outflow) in buckets.items()
    ]


def crossed(
    budget_before: Decimal | None,
    spent_before: Decimal,
    budget_after: Decimal,
    spent_after: Decimal,
) -> bool:
    """Whether a change took spending from within the budget (or no budget) to over it."""
    was_over = budget_before is not None and spent_before > budget_before
    return not was_over and spent_after > budget_after


MAX_REPORT_DAYS = 366 * 20


def check_range(start: date, end: date) -> None:
    """A report range must run forwards and span at most twenty years."""
    if end < start:
        raise DomainError.of(ErrorCode.INVALID, "`to` is before `from`.", "to")
    if (end - start).days > MAX_REPORT_DAYS:
        raise DomainError.of(ErrorCode.INVALID, "A report spans at most 20 years.", "to")
