"""Comps, valuation (ARV with its adjustment grid) and score: types shown on Property."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain import valuation as domain

if TYPE_CHECKING:
    from schema.property import Property

PropertyRef = Annotated["Property", strawberry.lazy("schema.property")]

AdjustmentKind = strawberry.enum(
    domain.AdjustmentKind,
    name="AdjustmentKind",
    description="What an adjustment accounts for: LIVING_AREA (per sq ft), BEDROOMS, "
    "BATHROOMS, AGE (per year of year built).",
)


@strawberry.type(
    description="One line of a comp's adjustment grid: rate x (subject value - comp value), "
    "in cents; positive when the comp is inferior to the subject."
)
class CompAdjustment:
    kind: AdjustmentKind
    amount: Decimal = strawberry.field(description="Dollars added to the comp's sale price.")
    rate: Decimal = strawberry.field(
        description="Dollars per unit (sq ft, bedroom, bathroom, year), derived from the comps."
    )
    subject_value: Decimal | None = strawberry.field(
        description="The subject's living area, bedrooms, bathrooms or year built."
    )
    comp_value: Decimal | None = strawberry.field(description="The comp's value of the same.")
    difference: Decimal | None = strawberry.field(
        description="Subject minus comp; null when either is unknown (then amount is 0)."
    )
    detail: str = strawberry.field(description="The arithmetic, for people.")


@strawberry.type(description="A market-derived adjustment rate and how it was derived.")
class AdjustmentRate:
    kind: AdjustmentKind
    rate: Decimal = strawberry.field(description="Dollars per unit, to the cent.")
    unit: str = strawberry.field(description="sq ft, bedroom, bathroom or year.")
    pairs: int = strawberry.field(
        description="Comps (living area) or paired sales (the others) behind the rate."
    )
    detail: str


@strawberry.type(description="A comparable closed sale, adjusted towards the subject.")
class Comp:
    property: PropertyRef = strawberry.field(description="The sold property.")
    sale_price: Decimal = strawberry.field(description="Its close price.")
    close_date: date
    price_per_sqft: Decimal = strawberry.field(description="Sale price / living area.")
    adjustments: list[CompAdjustment] = strawberry.field(
        description="LIVING_AREA, BEDROOMS, BATHROOMS, AGE, in that order."
    )
    adjusted_price: Decimal = strawberry.field(
        description="Sale price + the sum of the adjustments: what it indicates for the subject."
    )

    @strawberry.field(description="Great-circle miles from the subject, to 3 places.")
    def distance_miles(self) -> float:
        return round(self.distance_miles, 3)  # type: ignore[call-overload]


@strawberry.type(
    description="After-repair value by sales comparison: the median of the comps' adjusted "
    "prices, every adjustment market-derived and shown. No comps: a null ARV with the reason."
)
class Valuation:
    arv: Decimal | None = strawberry.field(description="Median adjusted comp price, to the cent.")
    method: str = strawberry.field(description="SALES_COMPARISON_MEDIAN_ADJUSTED.")
    price_per_sqft: Decimal | None = strawberry.field(
        description="Median sale price per sq ft of the comps (the living-area rate)."
    )
    confidence: Decimal | None = strawberry.field(
        description="0 to 1: min(comps, 5) / 5 * max(0, 1 - 2 * COD), COD = mean absolute "
        "deviation of the adjusted prices from the ARV / ARV."
    )
    comps: list[Comp] = strawberry.field(description="The comps used, nearest first.")
    rates: list[AdjustmentRate] = strawberry.field(description="The adjustment rates used.")
    radius_miles: float = strawberry.field(
        description="The radius the comps came from (0.5 widened to 1 when fewer than 3)."
    )
    widened: bool = strawberry.field(description="Whether the default radius was widened.")
    months_back: int = strawberry.field(description="How many months of sales were searched.")
    as_of: date = strawberry.field(description="The day the valuation is for.")
    reason_code: str | None = strawberry.field(
        description="Why there is no ARV: NO_COMPS, NO_LOCATION, NO_PROPERTY_TYPE, NO_LIVING_AREA."
    )
    reason: str | None = strawberry.field(description="Why there is no ARV, for people.")

    @strawberry.field(description="How many comps the ARV rests on.")
    def comp_count(self) -> int:
        return len(self.comps)


@strawberry.type(description="Why a property scored what it did, and the points it added.")
class ScoreReason:
    code: str = strawberry.field(
        description="PRICE_BELOW_ARV, HIGH_EQUITY, DAYS_ON_MARKET, PRICE_REDUCED, "
        "DISTRESS_SIGNAL, NO_ARV."
    )
    weight: int = strawberry.field(description="Points this reason adds to the score.")
    detail: str


@strawberry.type(
    description="Investment score: a deterministic weighted sum from 0 to 100 with its reasons."
)
class Score:
    value: int = strawberry.field(description="0 to 100.")
    reasons: list[ScoreReason]
    version: str = strawberry.field(description="The weights' version, e.g. v1.")
