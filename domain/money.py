"""Money as people read it."""

from __future__ import annotations

from decimal import Decimal


def money_text(amount: Decimal) -> str:
    """An amount as people write it: -$1,234.50."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
