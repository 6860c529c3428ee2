"""After-repair value (ARV) by sales comparison, with a market-derived adjustment grid.

Method `SALES_COMPARISON_MEDIAN_ADJUSTED`. Each comp's sale price is adjusted towards the
subject for four differences, in this order: living area, bedrooms, bathrooms, age (year
built). An adjustment is `rate * (subject value - comp value)`, so a comp that is inferior to
the subject (smaller, fewer rooms, older) gets a positive adjustment. The adjusted price is the
sale price plus the sum of its adjustments, and

    ARV = median of the adjusted prices (the mean of the middle two for an even count).

Every rate comes from the comps themselves (Fannie Mae B4-1.3-09: adjustments must be
market-derived), deterministically:

- Living area: `$/sq ft = median over the comps of (sale price / living area)`. This is
  also the valuation's `pricePerSqft`.
- Bedrooms, bathrooms, age: paired-sales analysis on the prices adjusted so far. Each pair of
  comps that differ in the feature implies a value per unit,
  `(adjusted price_j - adjusted price_i) / (value_j - value_i)`; the rate is the median of
  those implied values (the Theil-Sen slope), bounded below by 0 (an extra bedroom or bathroom,
  or a newer house, is never worth less) and above by 10 % of the median sale price per bedroom
  or bathroom and 1 % per year. No pair that differs, or a subject without the value -> rate 0,
  and the reason is shown. Age adjusts on year built: a comp built 10 years before the subject
  is 10 years older.

Rates and adjustments are rounded half-even to cents as they are computed, so the shown
adjustments add up to the shown adjusted price exactly and anyone can redo the arithmetic.
The order of the comps does not matter (medians over all comps and all pairs).

Confidence (0 to 1, two places) = `min(n, 5) / 5 * max(0, 1 - 2 * COD)`, where n is the number
of comps and COD (the IAAO coefficient of dispersion) is the mean absolute deviation of the
adjusted prices from the ARV, divided by the ARV: five or more comps that agree exactly give
1.00; the three comps of the example below give 3/5 * (1 - 2 * 0.00525) = 0.59.

Worked example (the API test builds it): subject 1,600 sq ft, 3 bd, 2 ba, built 2000; comps
A 1,500 sq ft 3/2 2000 sold $300,000; B 1,700 sq ft 4/2 2000 sold $350,000; C 1,600 sq ft 3/1
1990 sold $310,000. $/sq ft: median(200.00, 205.88, 193.75) = $200.00, so A +$20,000, B -$20,000.
Bedrooms on 320,000 / 330,000 / 310,000: pairs A-B 10,000 and B-C 20,000 -> $15,000, B -$15,000.
Bathrooms on 320,000 / 315,000 / 310,000: pairs A-C 10,000 and B-C 5,000 -> $7,500, C +$7,500.
Age on 320,000 / 315,000 / 317,500: pairs A-C +250 and B-C -250 -> $0. Adjusted 320,000,
315,000, 317,500 -> ARV $317,500.00; COD = (2,500 + 2,500 + 0) / 3 / 317,500 = 0.00525.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import Enum
from uuid import UUID

from domain.comps import Candidate, CompSearch, select_comps
from domain.property import Property

METHOD = "SALES_COMPARISON_MEDIAN_ADJUSTED"
CENT = Decimal("0.01")
ZERO = Decimal(0)
ROOM_CAP_SHARE = Decimal("0.10")  # at most 10 % of the median sale price per bedroom/bathroom
YEAR_CAP_SHARE = Decimal("0.01")  # at most 1 % of the median sale price per year of age
FULL_CONFIDENCE_COMPS = 5
PRECISION = 40


class AdjustmentKind(Enum):
    LIVING_AREA = "LIVING_AREA"
    BEDROOMS = "BEDROOMS"
    BATHROOMS = "BATHROOMS"
    AGE = "AGE"


UNITS = {
    AdjustmentKind.LIVING_AREA: "sq ft",
    AdjustmentKind.BEDROOMS: "bedroom",
    AdjustmentKind.BATHROOMS: "bathroom",
    AdjustmentKind.AGE: "year",
}


@dataclass(frozen=True, slots=True)
class AdjustmentRate:
    """A market-derived dollar value per unit of difference, and how it was derived."""

    kind: AdjustmentKind
    rate: Decimal
    unit: str
    pairs: int
    detail: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One line of a comp's adjustment grid: rate * (subject - comp), in cents."""

    kind: AdjustmentKind
    amount: Decimal
    rate: Decimal
    subject_value: Decimal | None
    comp_value: Decimal | None
    difference: Decimal | None
    detail: str


@dataclass(frozen=True, slots=True)
class CompValue:
    """A comp as the valuation used it: its sale, its adjustments, its adjusted price."""

    property: Property
    distance_miles: float
    sale_price: Decimal
    close_date: date
    price_per_sqft: Decimal
    adjustments: tuple[Adjustment, ...]
    adjusted_price: Decimal


@dataclass(frozen=True, slots=True)
class Valuation:
    """A property's ARV with everything behind it; a null ARV always comes with a reason."""

    property_id: UUID
    arv: Decimal | None
    method: str
    price_per_sqft: Decimal | None
    confidence: Decimal | None
    comps: tuple[CompValue, ...]
    rates: tuple[AdjustmentRate, ...]
    radius_miles: float
    widened: bool
    months_back: int
    as_of: date
    reason_code: str | None = None
    reason: str | None = None


def cents(value: Decimal) -> Decimal:
    """Money to cents, half-even."""
    return value.quantize(CENT, ROUND_HALF_EVEN)


def median(values: Sequence[Decimal]) -> Decimal:
    """The middle value, or the mean of the two middle values for an even count."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _dollars(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "-") + _dollars(abs(amount))


def _number(value: Decimal) -> str:
    return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:,}"


Getter = Callable[[Property], Decimal | None]


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


GETTERS: dict[AdjustmentKind, Getter] = {
    AdjustmentKind.LIVING_AREA: lambda p: _decimal(p.living_area),
    AdjustmentKind.BEDROOMS: lambda p: _decimal(p.bedrooms_total),
    AdjustmentKind.BATHROOMS: lambda p: _decimal(p.bathrooms_total_integer),
    AdjustmentKind.AGE: lambda p: _decimal(p.year_built),
}
LABELS = {
    AdjustmentKind.BEDROOMS: "bedrooms",
    AdjustmentKind.BATHROOMS: "bathrooms",
    AdjustmentKind.AGE: "year built",
}


def _paired_rate(
    kind: AdjustmentKind,
    subject: Property,
    comps: Sequence[Property],
    prices: Sequence[Decimal],
    cap: Decimal,
) -> AdjustmentRate:
    """Theil-Sen: the median value per unit implied by every pair of comps that differ."""
    unit, label = UNITS[kind], LABELS[kind]
    get = GETTERS[kind]
    if get(subject) is None:
        return AdjustmentRate(kind, ZERO, unit, 0, f"The subject has no {label}: no adjustment.")
    points = [(get(comp), price) for comp, price in zip(comps, prices, strict=True)]
    known = [(x, y) for x, y in points if x is not None]
    slopes = [
        (y2 - y1) / (x2 - x1)
        for i, (x1, y1) in enumerate(known)
        for x2, y2 in known[i + 1 :]
        if x2 != x1
    ]
    if not slopes:
        detail = f"No two comps differ in {label}: no market evidence, no adjustment."
        return AdjustmentRate(kind, ZERO, unit, 0, detail)
    implied = median(slopes)
    rate = cents(min(max(implied, ZERO), cap))
    detail = (
        f"Median of {len(slopes)} paired sale{'s' if len(slopes) != 1 else ''}: "
        f"{_dollars(cents(implied))} per {unit}"
    )
    if implied < 0:
        detail += "; negative, so 0 (a better house is never worth less)"
    elif implied > cap:
        detail += f"; capped at {_dollars(cents(cap))}"
    return AdjustmentRate(kind, rate, unit, len(slopes), detail + ".")


def _area_rate(per_sqft: Decimal, count: int) -> AdjustmentRate:
    detail = (
        f"Median sale price per sq ft of {count} comp{'s' if count != 1 else ''}: "
        f"{_dollars(per_sqft)}."
    )
    return AdjustmentRate(AdjustmentKind.LIVING_AREA, per_sqft, "sq ft", count, detail)


def _adjustment(
    kind: AdjustmentKind, rate: Decimal, subject: Property, comp: Property
) -> Adjustment:
    get = GETTERS[kind]
    mine, theirs = get(subject), get(comp)
    if mine is None or theirs is None:
        who = "subject" if mine is None else "comp"
        label = LABELS.get(kind, "living area")
        return Adjustment(kind, ZERO, rate, mine, theirs, None, f"The {who} has no {label}.")
    difference = mine - theirs
    amount = cents(rate * difference)
    unit = UNITS[kind]
    if kind is AdjustmentKind.AGE:
        detail = f"Subject built {mine}, comp {theirs}: "
        if difference == 0:
            detail += "same age."
        else:
            newer = "newer" if difference > 0 else "older"
            years = abs(difference)
            detail += (
                f"subject {_number(years)} year{'s' if years != 1 else ''} {newer} "
                f"x {_dollars(rate)}/{unit} = {_signed(amount)}."
            )
        return Adjustment(kind, amount, rate, mine, theirs, difference, detail)
    plural = "" if unit == "sq ft" else "s"
    detail = f"Subject {_number(mine)} {unit}{plural}, comp {_number(theirs)}: "
    if difference == 0:
        detail += "no difference."
    else:
        detail += f"{'+' if difference > 0 else '-'}{_number(abs(difference))} x "
        detail += f"{_dollars(rate)}/{unit} = {_signed(amount)}."
    return Adjustment(kind, amount, rate, mine, theirs, difference, detail)


def _confidence(arv: Decimal, adjusted: Sequence[Decimal]) -> Decimal:
    count_factor = Decimal(min(len(adjusted), FULL_CONFIDENCE_COMPS)) / FULL_CONFIDENCE_COMPS
    if arv <= 0:
        return ZERO.quantize(CENT)
    cod = sum((abs(price - arv) for price in adjusted), ZERO) / len(adjusted) / arv
    spread_factor = max(ZERO, 1 - 2 * cod)
    return cents(count_factor * spread_factor)


def value_property(
    subject: Property, candidates: list[Candidate], search: CompSearch, as_of: date
) -> Valuation:
    """The subject's ARV from its comps (a null ARV with a reason when it has none)."""
    selection = select_comps(subject, candidates, search, as_of)
    base = {
        "property_id": subject.id,
        "method": METHOD,
        "radius_miles": selection.radius_miles,
        "widened": selection.widened,
        "months_back": search.months_back,
        "as_of": as_of,
    }
    if selection.gap is not None:
        return Valuation(
            arv=None,
            price_per_sqft=None,
            confidence=None,
            comps=(),
            rates=(),
            reason_code=selection.gap.value,
            reason=selection.reason,
            **base,  # type: ignore[arg-type]
        )
    comps = [candidate.property for candidate in selection.comps]
    with localcontext() as ctx:
        ctx.prec = PRECISION
        ctx.rounding = ROUND_HALF_EVEN
        sales = [comp.close_price for comp in comps]
        assert all(price is not None for price in sales)
        prices: list[Decimal] = list(sales)  # type: ignore[arg-type]
        per_sqft = [price / comp.living_area for price, comp in zip(prices, comps, strict=True)]  # type: ignore[operator]
        area_rate = cents(median(per_sqft))
        middle_sale = median(prices)
        caps = {
            AdjustmentKind.BEDROOMS: middle_sale * ROOM_CAP_SHARE,
            AdjustmentKind.BATHROOMS: middle_sale * ROOM_CAP_SHARE,
            AdjustmentKind.AGE: middle_sale * YEAR_CAP_SHARE,
        }
        adjusted = list(prices)
        grids: list[list[Adjustment]] = [[] for _ in comps]
        rates: list[AdjustmentRate] = []
        for kind in AdjustmentKind:
            if kind is AdjustmentKind.LIVING_AREA:
                rate = _area_rate(area_rate, len(comps))
            else:
                rate = _paired_rate(kind, subject, comps, adjusted, caps[kind])
            rates.append(rate)
            for index, comp in enumerate(comps):
                line = _adjustment(kind, rate.rate, subject, comp)
                grids[index].append(line)
                adjusted[index] += line.amount
        arv = cents(median(adjusted))
        confidence = _confidence(arv, adjusted)
        values = tuple(
            CompValue(
                property=candidate.property,
                distance_miles=candidate.distance_miles,
                sale_price=prices[index],
                close_date=candidate.property.close_date,  # type: ignore[arg-type]
                price_per_sqft=cents(per_sqft[index]),
                adjustments=tuple(grids[index]),
                adjusted_price=adjusted[index],
            )
            for index, candidate in enumerate(selection.comps)
        )
    return Valuation(
        arv=arv,
        price_per_sqft=area_rate,
        confidence=confidence,
        comps=values,
        rates=tuple(rates),
        **base,  # type: ignore[arg-type]
    )
