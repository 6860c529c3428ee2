"""The investment score: a deterministic, versioned weighted sum from 0 to 100, with reasons.

Same inputs, same score: the inputs are the property, its ARV (from domain.valuation) and
`as_of` (the day the score is for; nothing here reads a clock). Weights are versioned
(`SCORE_WEIGHTS_V1`, version "v1"); a stored score records its version, and changing any weight
means a new version, never an edit of an old one.

Signals in version v1 (points; the maximum adds up to 100):

- PRICE_BELOW_ARV, 0-40: list price under the ARV,
  `40 * min(discount, 30 %) / 30 %` with discount = (ARV - list price) / ARV.
- HIGH_EQUITY, 15: list price at or under 70 % of the ARV (the 70 % rule: room for repairs
  and profit).
- DAYS_ON_MARKET, 5 / 10 / 15: listed and unsold (Active, Expired, Withdrawn, Canceled, Hold)
  for 30 / 60 / 90 or more days (RESO DaysOnMarket, else days since the listing date).
- PRICE_REDUCED, 0-10: list price under the original list price, `10 * min(cut, 10 %) / 10 %`.
- DISTRESS_SIGNAL, 20: a feature naming distress (needs repair, fixer, as-is, foreclosure, REO,
  bank owned, short sale, probate, estate sale, vacant, tax lien, fire or water damage,
  auction, distressed), matched as whole words.
- NO_ARV, 0: no ARV (no comps), shown so it is clear why the price signals are missing.

Points are rounded half-even to whole numbers; reasons with 0 points are left out (except
NO_ARV). We hold no mortgage data, so "equity" here is the investor's equity at purchase:
ARV minus the asking price.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from domain.property import Property, StandardStatus
from domain.valuation import METHOD, Valuation

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """One version of the score's weights and thresholds."""

    version: str
    price_below_arv: int
    full_discount: Decimal
    high_equity: int
    high_equity_ratio: Decimal
    days_on_market: tuple[tuple[int, int], ...]  # (at least this many days, points), longest first
    price_reduced: int
    full_reduction: Decimal
    distress: int
    distress_terms: tuple[str, ...]
    unsold_statuses: frozenset[str]


SCORE_WEIGHTS_V1 = ScoreWeights(
    version="v1",
    price_below_arv=40,
    full_discount=Decimal("0.30"),
    high_equity=15,
    high_equity_ratio=Decimal("0.70"),
    days_on_market=((90, 15), (60, 10), (30, 5)),
    price_reduced=10,
    full_reduction=Decimal("0.10"),
    distress=20,
    distress_terms=(
        "needs repair",
        "needs repairs",
        "fixer",
        "fixer upper",
        "as is",
        "foreclosure",
        "pre foreclosure",
        "reo",
        "bank owned",
        "short sale",
        "probate",
        "estate sale",
        "vacant",
        "tax lien",
        "fire damage",
        "water damage",
        "auction",
        "distressed",
    ),
    unsold_statuses=frozenset(
        status.value
        for status in (
            StandardStatus.ACTIVE,
            StandardStatus.EXPIRED,
            StandardStatus.WITHDRAWN,
            StandardStatus.CANCELED,
            StandardStatus.HOLD,
        )
    ),
)
CURRENT_WEIGHTS = SCORE_WEIGHTS_V1


@dataclass(frozen=True, slots=True)
class ScoreReason:
    code: str
    weight: int
    detail: str


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    reasons: tuple[ScoreReason, ...]
    version: str


def _points(full: int, share: Decimal, cap: Decimal) -> int:
    """`full * min(share, cap) / cap`, rounded half-even to a whole number."""
    fraction = min(share, cap) / cap
    return int((full * fraction).quantize(Decimal(1), ROUND_HALF_EVEN))


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def _percent(share: Decimal) -> str:
    return f"{(share * HUNDRED).quantize(Decimal('0.1'), ROUND_HALF_EVEN)} %"


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) + " "


def days_on_market(prop: Property, as_of: date) -> int | None:
    """RESO DaysOnMarket when known, else the days since the listing date."""
    if prop.days_on_market is not None:
        return prop.days_on_market
    if prop.listing_contract_date is not None:
        return max((as_of - prop.listing_contract_date).days, 0)
    return None


def _arv_reasons(prop: Property, arv: Decimal | None, w: ScoreWeights) -> list[ScoreReason]:
    if arv is None or arv <= 0:
        detail = "No ARV (no comparable sales), so no price-to-ARV signals."
        return [ScoreReason("NO_ARV", 0, detail)]
    price = prop.list_price
    if price is None:
        return []
    reasons = []
    discount = (arv - price) / arv
    if discount > 0:
        points = _points(w.price_below_arv, discount, w.full_discount)
        if points:
            detail = (
                f"List price {_money(price)} is {_percent(discount)} below the ARV "
                f"{_money(arv)} (full {w.price_below_arv} points at {_percent(w.full_discount)})."
            )
            reasons.append(ScoreReason("PRICE_BELOW_ARV", points, detail))
    if price <= w.high_equity_ratio * arv:
        detail = (
            f"List price is {_percent(price / arv)} of the ARV, at or under "
            f"{_percent(w.high_equity_ratio)}: room for repairs and profit."
        )
        reasons.append(ScoreReason("HIGH_EQUITY", w.high_equity, detail))
    return reasons


def _market_reasons(prop: Property, as_of: date, w: ScoreWeights) -> list[ScoreReason]:
    reasons = []
    days = days_on_market(prop, as_of)
    if days is not None and prop.standard_status in w.unsold_statuses:
        for threshold, points in w.days_on_market:
            if days >= threshold:
                detail = (
                    f"{days} days on market ({prop.standard_status}, unsold): "
                    f"{threshold}+ days earns {points}."
                )
                reasons.append(ScoreReason("DAYS_ON_MARKET", points, detail))
                break
    original, price = prop.original_list_price, prop.list_price
    if original and price is not None and price < original:
        cut = (original - price) / original
        points = _points(w.price_reduced, cut, w.full_reduction)
        if points:
            detail = (
                f"Price cut {_percent(cut)} from {_money(original)} to {_money(price)} "
                f"(full {w.price_reduced} points at {_percent(w.full_reduction)})."
            )
            reasons.append(ScoreReason("PRICE_REDUCED", points, detail))
    return reasons


def _distress_reasons(prop: Property, w: ScoreWeights) -> list[ScoreReason]:
    terms = [_words(term) for term in w.distress_terms]
    matched = [f for f in prop.features if any(term in _words(f) for term in terms)]
    if not matched:
        return []
    return [ScoreReason("DISTRESS_SIGNAL", w.distress, "Listed as: " + ", ".join(matched) + ".")]


def score_property(
    prop: Property, arv: Decimal | None, as_of: date, weights: ScoreWeights = CURRENT_WEIGHTS
) -> Score:
    """The property's 0-100 score with its reasons (deterministic: no clock, fixed order)."""
    reasons = [
        *_arv_reasons(prop, arv, weights),
        *_market_reasons(prop, as_of, weights),
        *_distress_reasons(prop, weights),
    ]
    value = max(0, min(100, sum(reason.weight for reason in reasons)))
    return Score(value=value, reasons=tuple(reasons), version=weights.version)


SCORED_FIELDS = (
    "standard_status",
    "list_price",
    "original_list_price",
    "days_on_market",
    "listing_contract_date",
    "features",
)
VALUED_FIELDS = (
    "tenant_id",
    "property_type",
    "latitude",
    "longitude",
    "living_area",
    "bedrooms_total",
    "bathrooms_total_integer",
    "year_built",
)
COMP_FIELDS = (
    "id",
    "close_price",
    "close_date",
    "living_area",
    "bedrooms_total",
    "bathrooms_total_integer",
    "year_built",
)


def inputs_hash(
    subject: Property, valuation: Valuation, weights: ScoreWeights = CURRENT_WEIGHTS
) -> str:
    """A digest of everything a stored valuation and score are computed from."""
    inputs = {
        "method": METHOD,
        "score_version": weights.version,
        "as_of": valuation.as_of.isoformat(),
        "months_back": valuation.months_back,
        "subject": {name: getattr(subject, name) for name in (*VALUED_FIELDS, *SCORED_FIELDS)},
        "comps": [
            [*(getattr(comp.property, name) for name in COMP_FIELDS), round(comp.distance_miles, 6)]
            for comp in valuation.comps
        ],
    }
    encoded = json.dumps(inputs, default=str, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()
