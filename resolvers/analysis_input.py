"""Analysis assumptions from GraphQL input, saved deal assumptions and the deal's own numbers."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from strawberry import UNSET

from domain.analysis import Assumptions
from domain.assumption_rules import INTEGERS, assumption_errors
from domain.deal import Deal
from domain.errors import DomainError
from domain.property import camel_case

NAMES = [f.name for f in fields(Assumptions)]


def input_values(data: Any) -> dict[str, Any]:
    """The assumptions a GraphQL input sets (omitted and null fields are absent)."""
    if data is None:
        return {}
    return {
        name: getattr(data, name)
        for name in NAMES
        if getattr(data, name, UNSET) not in (UNSET, None)
    }


def checked(data: Any, path: tuple[str, ...]) -> dict[str, Any]:
    values = input_values(data)
    errors = assumption_errors(values, path)
    if errors:
        raise DomainError(*errors)
    return values


def assumptions_to_json(data: Any) -> dict[str, Any]:
    """Assumptions to save on a deal: decimals as strings, so nothing is lost."""
    values = checked(data, ("input", "assumptions"))
    return {k: v if k in INTEGERS else str(v) for k, v in values.items()}


def _from_json(saved: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k in INTEGERS else Decimal(v)) for k, v in saved.items() if k in NAMES}


def deal_assumptions(deal: Deal, values: dict[str, Any]) -> Assumptions:
    """Given values first, then the deal's saved assumptions, then its price, repairs and ARV."""
    own = Assumptions(
        purchase_price=deal.purchase_price, rehab_cost=deal.estimated_repairs, arv=deal.arv
    )
    saved = Assumptions(**_from_json(deal.assumptions))
    return Assumptions(**values).merged(saved.merged(own))


def camel_keys(saved: dict[str, Any]) -> dict[str, Any]:
    """Saved assumptions under their GraphQL names (monthlyRent, not monthly_rent)."""
    return {camel_case(key): value for key, value in saved.items()}
