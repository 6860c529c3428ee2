"""Bounds on analysis assumptions: what a user may type before any formula runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.errors import ErrorCode, FieldError
from domain.names import camel_case

RATES = {
    "down_payment_rate",
    "interest_rate",
    "vacancy_rate",
    "management_rate",
    "maintenance_rate",
    "capex_rate",
    "selling_cost_rate",
    "refinance_ltv",
    "appreciation_rate",
    "rent_growth_rate",
    "expense_growth_rate",
    "discount_rate",
}
GROWTH_RATES = {"appreciation_rate", "rent_growth_rate", "expense_growth_rate"}
INTEGERS = {"loan_term_months": (1, 600), "hold_years": (1, 50)}
MAX_MONEY = Decimal("1000000000")


def assumption_errors(values: dict[str, Any], path: tuple[str, ...]) -> list[FieldError]:
    """Every out-of-bounds assumption: rates are fractions, money is non-negative cents."""
    errors: list[FieldError] = []
    for name, value in values.items():
        if value is None:
            continue
        where = (*path, camel_case(name))
        if name in INTEGERS:
            low, high = INTEGERS[name]
            if not low <= value <= high:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID, f"{camel_case(name)} must be {low}-{high}.", where
                    )
                )
        elif not value.is_finite():
            errors.append(
                FieldError(ErrorCode.INVALID, f"{camel_case(name)} must be a number.", where)
            )
        elif name in RATES:
            low = Decimal("-1") if name in GROWTH_RATES else Decimal(0)
            if not low <= value <= 1:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID,
                        f"{camel_case(name)} is a fraction between {low} and 1 (0.05 is 5 %).",
                        where,
                    )
                )
        elif value < 0 or value > MAX_MONEY:
            errors.append(
                FieldError(
                    ErrorCode.INVALID, f"{camel_case(name)} must be 0 to {MAX_MONEY:,}.", where
                )
            )
    return errors
