"""Time-value-of-money math on Decimals: loan payments, amortization, NPV and IRR."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

PRECISION = 40
ZERO = Decimal(0)
ONE = Decimal(1)
TWELVE = Decimal(12)

# IRR search: the rate is found far tighter than the 1e-10 the spec asks for.
IRR_TOLERANCE = Decimal("1e-30")
IRR_MAX_ITERATIONS = 500
# Brackets for the unique root (one sign change): 2**-k above -1, 2**k above 0.
IRR_MAX_DOUBLINGS = 120
# Grid for several sign changes: fine steps near 0, then geometric out to both ends.
GRID_STEP = Decimal("0.005")
GRID_FINE_LIMIT = 180
GRID_GROWTH = Decimal("1.05")
GRID_MAX_RATE = Decimal("10000")
GRID_MIN_GAP = Decimal("1e-12")


@dataclass(frozen=True)
class AmortizationRow:
    month: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


def _check_loan(principal: Decimal, annual_rate: Decimal, months: int) -> None:
    if months < 1:
        raise ValueError("months must be at least 1")
    if principal < 0:
        raise ValueError("principal cannot be negative")
    if annual_rate <= -TWELVE:
        raise ValueError("annual_rate must be above -12 (a monthly rate above -100 %)")


def monthly_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The level payment L*r*(1+r)^n/((1+r)^n-1) with r = annual/12; L/n when r = 0."""
    _check_loan(principal, annual_rate, months)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        rate = annual_rate / TWELVE
        if rate == 0:
            return principal / months
        growth = (ONE + rate) ** months
        return principal * rate * growth / (growth - ONE)


def amortization_schedule(
    principal: Decimal, annual_rate: Decimal, months: int
) -> list[AmortizationRow]:
    """Month-by-month interest, principal and balance; the last balance is exactly 0."""
    payment = monthly_payment(principal, annual_rate, months)
    rows: list[AmortizationRow] = []
    with localcontext() as ctx:
        ctx.prec = PRECISION
        rate = annual_rate / TWELVE
        balance = principal
        for month in range(1, months + 1):
            interest = balance * rate
            if month < months:
                paid, part = payment, payment - interest
                balance = balance - part
            else:
                paid, part, balance = interest + balance, balance, ZERO
            rows.append(AmortizationRow(month, paid, interest, part, balance))
    return rows


def remaining_balance(
    principal: Decimal, annual_rate: Decimal, months: int, after_months: int
) -> Decimal:
    """The balance left after `after_months` level payments (0 once the term is over)."""
    if not 0 <= after_months <= months:
        raise ValueError("after_months must be between 0 and months")
    payment = monthly_payment(principal, annual_rate, months)
    if after_months == months:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = PRECISION
        rate = annual_rate / TWELVE
        if rate == 0:
            return principal - payment * after_months
        growth = (ONE + rate) ** after_months
        return principal * growth - payment * (growth - ONE) / rate


def npv(rate: Decimal, cash_flows: Sequence[Decimal]) -> Decimal:
    """Sum of flow_t / (1+rate)^t for t = 0, 1, ... (the first flow is not discounted)."""
    if rate <= -ONE:
        raise ValueError("rate must be above -1")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _npv_and_slope([Decimal(v) for v in cash_flows], Decimal(rate))[0]


def _npv_and_slope(flows: Sequence[Decimal], rate: Decimal) -> tuple[Decimal, Decimal]:
    """NPV at `rate` and its derivative d NPV / d rate, by Horner's rule in x = 1/(1+rate)."""
    x = ONE / (ONE + rate)
    value, slope = ZERO, ZERO
    for flow in reversed(flows):
        slope = slope * x + value
        value = value * x + flow
    return value, -slope * x * x


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def _sign_changes(flows: Sequence[Decimal]) -> int:
    signs = [_sign(v) for v in flows if v != 0]
    return sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)


def irr(cash_flows: Sequence[Decimal]) -> Decimal | None:
    """The rate where NPV = 0 (root closest to 0 when several); None without a sign change."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        flows = [Decimal(v) for v in cash_flows]
        changes = _sign_changes(flows)
        if changes == 0:
            return None
        if changes == 1:
            return _unique_root(flows)
        return _nearest_root(flows)


def _unique_root(flows: Sequence[Decimal]) -> Decimal | None:
    """The only root when the flows change sign once (Descartes): bracket, then refine."""
    at_zero = _npv_and_slope(flows, ZERO)[0]
    if at_zero == 0:
        return ZERO
    first = _sign(next(v for v in flows if v != 0))  # the sign of NPV as rate -> infinity
    if _sign(at_zero) == first:
        points = (-ONE + Decimal(2) ** -k for k in range(1, IRR_MAX_DOUBLINGS))
        return _first_bracket(flows, ZERO, points)
    points = (Decimal(2) ** k for k in range(IRR_MAX_DOUBLINGS))
    return _first_bracket(flows, ZERO, points)


def _first_bracket(
    flows: Sequence[Decimal], start: Decimal, points: Iterator[Decimal]
) -> Decimal | None:
    """Walk away from `start` until NPV changes sign, then refine inside that bracket."""
    start_sign = _sign(_npv_and_slope(flows, start)[0])
    for point in points:
        value = _npv_and_slope(flows, point)[0]
        if value == 0:
            return point
        if _sign(value) != start_sign:
            return _refine(flows, min(start, point), max(start, point))
        start = point
    return None


def _refine(flows: Sequence[Decimal], low: Decimal, high: Decimal) -> Decimal | None:
    """Newton's method kept inside a sign-change bracket, bisecting when Newton strays."""
    low_sign = _sign(_npv_and_slope(flows, low)[0])
    rate = (low + high) / 2
    last_step = high - low
    for _ in range(IRR_MAX_ITERATIONS):
        value, slope = _npv_and_slope(flows, rate)
        if value == 0:
            return rate
        if _sign(value) == low_sign:
            low = rate
        else:
            high = rate
        candidate = rate - value / slope if slope != 0 else None
        if candidate is None or not low < candidate < high or abs(candidate - rate) > last_step / 2:
            candidate = (low + high) / 2
        last_step = abs(candidate - rate)
        rate = candidate
        if last_step <= IRR_TOLERANCE or high - low <= IRR_TOLERANCE:
            return rate
    return None


def _grid() -> list[Decimal]:
    """Rates in (-1, GRID_MAX_RATE], ascending, fine near 0 and geometric further out."""
    fine = [GRID_STEP * k for k in range(-GRID_FINE_LIMIT, GRID_FINE_LIMIT + 1)]
    below: list[Decimal] = []
    gap = ONE + fine[0]
    while gap > GRID_MIN_GAP:
        gap /= 2
        below.append(-ONE + gap)
    above: list[Decimal] = []
    rate = fine[-1]
    while rate < GRID_MAX_RATE:
        rate = rate * GRID_GROWTH + GRID_STEP
        above.append(rate)
    return sorted(below) + fine + above


def _nearest_root(flows: Sequence[Decimal]) -> Decimal | None:
    """Several sign changes: every root found on a grid of rates, the one closest to 0 wins."""
    grid = _grid()
    values = [_npv_and_slope(flows, rate)[0] for rate in grid]
    roots: list[Decimal] = [rate for rate, value in zip(grid, values, strict=True) if value == 0]
    for i in range(len(grid) - 1):
        if values[i] != 0 and values[i + 1] != 0 and _sign(values[i]) != _sign(values[i + 1]):
            root = _refine(flows, grid[i], grid[i + 1])
            if root is not None:
                roots.append(root)
    return min(roots, key=abs) if roots else None
