"""Matching properties against saved searches: reasons, a 0-100 match score, and which
property changes are worth an alert. Pure: the matcher consumer feeds it rows.

Match score. A property that fits every criterion scores at least 50; the other 50 points
measure how deep inside the buy box it sits, over the criteria that carry a reason:

    score = 50 + round(50 * sum(w_i * q_i) / sum(w_i))

with weights IN_AREA 25, PRICE_IN_RANGE 25, BELOW_ARV 30, SCORE_ABOVE_MIN 20 and a quality
q_i in [0, 1] per reason:

    IN_AREA          1 in a named city or postal code; 1 - distance/radius inside a radius
    PRICE_IN_RANGE   (max - price) / (max - min) with both bounds; (max - price) / max with
                     only a maximum; min / price with only a minimum (cheaper is better)
    BELOW_ARV        (maxRatio - price/ARV) / maxRatio
    SCORE_ABOVE_MIN  (score - minScore) / (100 - minScore); 1 when minScore is 100

Each reason's `weight` is the points it adds (largest-remainder rounding, so the weights add
up to score - 50 exactly). A search whose only criteria are filters without a reason
(property types, bedrooms, bathrooms) scores 50. Example: max price $400,000, property at
$300,000 in Austin (a named city): q = 1 and 0.25, weights 25 and 25 -> 50 + 50 * (25 + 6.25)
/ 50 = 81.25 -> 81, reasons IN_AREA 25 and PRICE_IN_RANGE 6.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.money import money_text
from domain.saved_search import Criteria, SavedSearch, normalize_city, normalize_postal

IN_AREA = "IN_AREA"
PRICE_IN_RANGE = "PRICE_IN_RANGE"
BELOW_ARV = "BELOW_ARV"
SCORE_ABOVE_MIN = "SCORE_ABOVE_MIN"
WEIGHTS = {IN_AREA: 25, PRICE_IN_RANGE: 25, BELOW_ARV: 30, SCORE_ABOVE_MIN: 20}
BASE_SCORE = 50

EARTH_RADIUS_MILES = 3958.8
MILES_PER_DEGREE = 69.0
CELL_DEGREES = 1.0

# Listings a buy box can act on: for sale or about to be (unknown status: off-market leads).
AVAILABLE_STATUSES = frozenset({"Active", "Coming Soon", None})

PROPERTY_EVENTS = (
    "property.created",
    "property.updated",
    "property.price_changed",
    "property.status_changed",
    "property.valued",
)
# property.updated alerts only when one of these changed (price and status have their events).
MATCH_FIELDS = frozenset(
    {
        "city",
        "postal_code",
        "latitude",
        "longitude",
        "property_type",
        "bedrooms_total",
        "bathrooms_total_integer",
    }
)


@dataclass(frozen=True, slots=True)
class Listing:
    """What the matcher knows of a property: its row, plus its valuation when there is one."""

    id: UUID
    tenant_id: UUID
    address: str
    city: str
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    property_type: str | None
    standard_status: str | None
    list_price: Decimal | None
    bedrooms: int | None
    bathrooms: int | None
    arv: Decimal | None = None
    score: int | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    weight: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Match:
    search: SavedSearch
    score: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """The change an event reports, as far as alerts care.

    `key` names it in dedupe keys (`at:<price>`, `back:<status>:<price>`): a search hears
    about a property once per asking price, and once more each time it comes back on the
    market. `previous` is the listing as it was before, when the event tells: then a search
    is alerted only if the listing did not match it before.
    """

    key: str
    previous: Listing | None = None


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


class Compiled:
    """One search's criteria in the shape the hot loop wants (sets, normalized keys)."""

    __slots__ = ("search", "c", "cities", "postal_codes", "types", "low", "high", "priced")

    def __init__(self, search: SavedSearch) -> None:
        self.search = search
        self.c: Criteria = search.criteria
        self.cities = {normalize_city(city): city for city in self.c.cities}
        self.postal_codes = frozenset(self.c.postal_codes)
        self.types = frozenset(self.c.property_types)
        # A coarse price window for the hot loop (exact Decimal checks follow in evaluate).
        self.priced = self.c.min_price is not None or self.c.max_price is not None
        self.low = float(self.c.min_price) - 0.01 if self.c.min_price is not None else -math.inf
        self.high = float(self.c.max_price) + 0.01 if self.c.max_price is not None else math.inf


def _area(compiled: Compiled, listing: Listing) -> tuple[float, str] | None:
    """(quality, detail) when the listing is in the search's area; None when it is not."""
    best: tuple[float, str] | None = None
    if compiled.cities:
        city = compiled.cities.get(normalize_city(listing.city))
        if city is not None:
            best = (1.0, f"In {city}")
    if best is None and compiled.postal_codes and listing.postal_code:
        postal = normalize_postal(listing.postal_code)
        if postal in compiled.postal_codes:
            best = (1.0, f"In {postal}")
    near = compiled.c.near
    if best is None and near is not None and listing.latitude is not None:
        if listing.longitude is None:
            return None
        miles = miles_between(near.latitude, near.longitude, listing.latitude, listing.longitude)
        if miles <= near.radius_miles:
            quality = 1.0 - miles / near.radius_miles
            best = (quality, f"{miles:.1f} mi from your center (radius {near.radius_miles:g} mi)")
    return best


def _price(c: Criteria, price: Decimal) -> float:
    low, high = c.min_price, c.max_price
    if low is not None and high is not None:
        return 1.0 if high == low else float((high - price) / (high - low))
    if high is not None:
        return 1.0 if high == 0 else float((high - price) / high)
    assert low is not None
    return 1.0 if price == 0 else float(low / price)


def _price_detail(c: Criteria, price: Decimal) -> str:
    low, high = c.min_price, c.max_price
    if low is not None and high is not None:
        return f"{money_text(price)} within {money_text(low)}-{money_text(high)}"
    if high is not None:
        return f"{money_text(price)}, at most {money_text(high)}"
    assert low is not None
    return f"{money_text(price)}, from {money_text(low)}"


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.1')).normalize():f}%"


def evaluate(compiled: Compiled, listing: Listing) -> list[tuple[str, float, str]] | None:
    """(code, quality, detail) per reason when the listing fits every criterion; else None."""
    c = compiled.c
    if listing.standard_status not in AVAILABLE_STATUSES:
        return None
    if compiled.types and listing.property_type not in compiled.types:
        return None
    if c.min_bedrooms is not None and (
        listing.bedrooms is None or listing.bedrooms < c.min_bedrooms
    ):
        return None
    if c.min_bathrooms is not None and (
        listing.bathrooms is None or listing.bathrooms < c.min_bathrooms
    ):
        return None
    found: list[tuple[str, float, str]] = []
    price = listing.list_price
    if c.min_price is not None or c.max_price is not None:
        if price is None:
            return None
        if (c.min_price is not None and price < c.min_price) or (
            c.max_price is not None and price > c.max_price
        ):
            return None
        found.append((PRICE_IN_RANGE, _price(c, price), _price_detail(c, price)))
    if c.max_price_to_arv is not None:
        arv = listing.arv
        if price is None or arv is None or arv <= 0 or price > c.max_price_to_arv * arv:
            return None
        ratio = price / arv
        quality = float((c.max_price_to_arv - ratio) / c.max_price_to_arv)
        detail = (
            f"{money_text(price)} is {_percent(ratio)} of ARV {money_text(arv)} "
            f"(at most {_percent(c.max_price_to_arv)})"
        )
        found.append((BELOW_ARV, quality, detail))
    if c.min_score is not None:
        if listing.score is None or listing.score < c.min_score:
            return None
        quality = 1.0 if c.min_score >= 100 else (listing.score - c.min_score) / (100 - c.min_score)
        found.append((SCORE_ABOVE_MIN, quality, f"Score {listing.score} (at least {c.min_score})"))
    if c.has_area:
        area = _area(compiled, listing)
        if area is None:
            return None
        found.insert(0, (IN_AREA, area[0], area[1]))
    return found


def _apportion(parts: Sequence[float], total: int) -> list[int]:
    """Integers proportional to parts that add up to total (largest remainder)."""
    whole = sum(parts)
    if whole <= 0:
        return [0] * len(parts)
    exact = [total * part / whole for part in parts]
    floors = [math.floor(value) for value in exact]
    order = sorted(range(len(parts)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def score_of(found: Sequence[tuple[str, float, str]]) -> tuple[int, tuple[Reason, ...]]:
    """The match score and the reasons with the points each adds (see the module doc)."""
    if not found:
        return BASE_SCORE, ()
    weights = [WEIGHTS[code] for code, _, _ in found]
    earned = [w * max(0.0, min(1.0, q)) for w, (_, q, _) in zip(weights, found, strict=True)]
    bonus = round((100 - BASE_SCORE) * sum(earned) / sum(weights))
    points = _apportion(earned, bonus)
    reasons = tuple(
        Reason(code, point, detail) for (code, _, detail), point in zip(found, points, strict=True)
    )
    return BASE_SCORE + bonus, reasons


def match(compiled: Compiled, listing: Listing) -> Match | None:
    """The match of one search and one listing, or None."""
    found = evaluate(compiled, listing)
    if found is None:
        return None
    score, reasons = score_of(found)
    return Match(compiled.search, score, reasons)


def _cells(latitude: float, longitude: float, radius_miles: float) -> Iterable[tuple[int, int]]:
    """The grid cells a circle's bounding box touches."""
    dlat = radius_miles / MILES_PER_DEGREE
    cos = max(math.cos(math.radians(latitude)), 0.01)
    dlon = min(radius_miles / (MILES_PER_DEGREE * cos), 180.0)
    first, last = (
        math.floor((latitude - dlat) / CELL_DEGREES),
        math.floor((latitude + dlat) / CELL_DEGREES),
    )
    for i in range(first, last + 1):
        for j in range(
            math.floor((longitude - dlon) / CELL_DEGREES),
            math.floor((longitude + dlon) / CELL_DEGREES) + 1,
        ):
            yield i, _wrap(j)


def _wrap(cell: int) -> int:
    per_turn = round(360 / CELL_DEGREES)
    return (cell + per_turn // 2) % per_turn - per_turn // 2


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / CELL_DEGREES), _wrap(math.floor(longitude / CELL_DEGREES))


class SearchIndex:
    """A tenant's active searches, indexed so that a listing is checked only against searches
    that could match it: by city, by postal code, by a 1-degree grid for radius searches, plus
    the searches that name no area. Build once per version of the tenant's searches."""

    def __init__(self, searches: Iterable[SavedSearch]) -> None:
        self.compiled: list[Compiled] = []
        self.by_city: dict[str, list[int]] = {}
        self.by_postal: dict[str, list[int]] = {}
        self.by_cell: dict[tuple[int, int], list[int]] = {}
        self.anywhere: list[int] = []
        for search in searches:
            if search.paused:
                continue
            index = len(self.compiled)
            compiled = Compiled(search)
            self.compiled.append(compiled)
            c = search.criteria
            if not c.has_area:
                self.anywhere.append(index)
                continue
            for city in compiled.cities:
                self.by_city.setdefault(city, []).append(index)
            for postal in compiled.postal_codes:
                self.by_postal.setdefault(postal, []).append(index)
            if c.near is not None:
                for cell in set(_cells(c.near.latitude, c.near.longitude, c.near.radius_miles)):
                    self.by_cell.setdefault(cell, []).append(index)

    def __len__(self) -> int:
        return len(self.compiled)

    def candidates(self, listing: Listing) -> list[Compiled]:
        """The searches that could match the listing (a superset of those that do)."""
        found: set[int] = set(self.anywhere)
        found.update(self.by_city.get(normalize_city(listing.city), ()))
        if listing.postal_code:
            found.update(self.by_postal.get(normalize_postal(listing.postal_code), ()))
        if listing.latitude is not None and listing.longitude is not None:
            found.update(self.by_cell.get(_cell(listing.latitude, listing.longitude), ()))
        return [self.compiled[i] for i in sorted(found)]

    def matches(self, listing: Listing) -> list[tuple[Compiled, Match]]:
        """Every search the listing matches, with its match."""
        if listing.standard_status not in AVAILABLE_STATUSES:
            return []
        found = []
        price = None if listing.list_price is None else float(listing.list_price)
        for compiled in self.candidates(listing):
            if compiled.priced and (price is None or not compiled.low <= price <= compiled.high):
                continue
            result = match(compiled, listing)
            if result is not None:
                found.append((compiled, result))
        return found


def _price_key(price: Decimal | None) -> str:
    return "-" if price is None else f"{price:.2f}"


def _money_or_none(raw: Any) -> Decimal | None:
    return None if raw in (None, "") else Decimal(str(raw))


def change_of(event_type: str, payload: dict[str, Any], now: Listing) -> Change | None:
    """What an event changed, judged against the listing as it is now; None: no alert.

    created -> `at:<price>`; a price drop -> `at:<new price>` (a rise alerts only a search it
    newly fits, e.g. one with a minimum price); a status change -> `back:<status>:<price>` for
    searches it did not fit under the old status (back on the market); a change to the area,
    type or rooms -> `at:<price>`; a valuation -> `at:<price>` for searches it did not fit
    with the previous ARV and score.
    """
    price = _price_key(now.list_price)
    if event_type == "property.created":
        return Change(f"at:{price}")
    if event_type == "property.price_changed":
        before = _money_or_none(payload.get("from"))
        if before is not None and now.list_price is not None and now.list_price >= before:
            return Change(f"at:{price}", replace(now, list_price=before))
        return Change(f"at:{price}")
    if event_type == "property.status_changed":
        before = replace(now, standard_status=payload.get("from"))
        return Change(f"back:{now.standard_status}:{price}", before)
    if event_type == "property.updated":
        if not MATCH_FIELDS.intersection(payload.get("changed") or ()):
            return None
        return Change(f"at:{price}")
    if event_type == "property.valued":
        previous = payload.get("previous") if isinstance(payload.get("previous"), dict) else {}
        arv = payload.get("previous_arv", previous.get("arv"))
        score = payload.get("previous_score", previous.get("score"))
        before = replace(now, arv=_money_or_none(arv), score=None if score is None else int(score))
        return Change(f"at:{price}", before)
    return None


def property_id_of(event_type: str, aggregate_id: UUID, payload: dict[str, Any]) -> UUID:
    """The property an event is about (its aggregate, or the payload's property_id)."""
    raw = payload.get("property_id")
    return UUID(str(raw)) if raw else aggregate_id


def dedupe_key(search_id: UUID, property_id: UUID, change: Change) -> str:
    """One alert per search, property and change: `PROPERTY_MATCH:<search>:<property>:<change>`."""
    return f"PROPERTY_MATCH:{search_id}:{property_id}:{change.key}"


def alerts_for(
    index: SearchIndex, listing: Listing, changes: Sequence[Change]
) -> list[tuple[Match, Change]]:
    """The (match, change) pairs to alert on for one listing and the changes events reported
    for it: per search, the first change it did not fit before (deduplicated by key)."""
    if not changes:
        return []
    chosen: list[tuple[Match, Change]] = []
    for compiled, found in index.matches(listing):
        for change in changes:
            if change.previous is not None and evaluate(compiled, change.previous) is not None:
                continue
            chosen.append((found, change))
            break
    return chosen
