"""Rounding for display: money to cents and ratios to six places, half-even, never in the math."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal

from domain.analysis import DealAnalysis, Projection, ProjectionYear
from domain.finance_math import AmortizationRow

CENT = Decimal("0.01")
RATIO = Decimal("0.000001")

ANALYSIS_MONEY = (
    "max_allowable_offer",
    "total_cash_invested",
    "loan_amount",
    "net_profit",
    "gross_scheduled_rent",
    "effective_gross_income",
    "operating_expenses",
    "noi",
    "annual_cash_flow",
    "monthly_payment",
    "annual_debt_service",
    "npv",
    "cash_left_in_deal",
)
ANALYSIS_RATIOS = ("roi", "cap_rate", "cash_on_cash", "dscr", "grm", "irr")


def cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, ROUND_HALF_EVEN)


def ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(RATIO, ROUND_HALF_EVEN)


def analysis_for_display(analysis: DealAnalysis) -> DealAnalysis:
    rounded = {name: cents(getattr(analysis, name)) for name in ANALYSIS_MONEY}
    rounded.update({name: ratio(getattr(analysis, name)) for name in ANALYSIS_RATIOS})
    return replace(analysis, **rounded)


def _year(year: ProjectionYear) -> ProjectionYear:
    money = ("gross_rent", "noi", "debt_service", "cash_flow", "loan_balance", "property_value")
    return replace(year, **{name: cents(getattr(year, name)) for name in money})


def _schedule(rows: tuple[AmortizationRow, ...]) -> tuple[AmortizationRow, ...]:
    """Cents that add up: principal = previous balance - balance, interest = payment - principal."""
    shown: list[AmortizationRow] = []
    previous = None
    for row in rows:
        balance = cents(row.balance)
        payment = cents(row.payment)
        opening = cents(row.balance + row.principal) if previous is None else previous
        principal = opening - balance
        shown.append(
            replace(
                row,
                payment=payment,
                principal=principal,
                interest=payment - principal,
                balance=balance,
            )
        )
        previous = balance
    return tuple(shown)


def projection_for_display(projection: Projection) -> Projection:
    return replace(
        projection,
        years=tuple(_year(year) for year in projection.years),
        sale_proceeds=cents(projection.sale_proceeds),
        irr=ratio(projection.irr),
        npv=cents(projection.npv),
        amortization=_schedule(projection.amortization),
    )
