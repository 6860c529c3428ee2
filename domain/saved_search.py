"""Saved searches: an investor's buy box, its validation, and how it is stored.

A saved search belongs to the user who saved it; its alerts go to that user only. Criteria
combine as AND across kinds (area, price, type, rooms, ARV, score); the area kinds (cities,
postal codes, a radius) combine as OR among themselves: "in Austin, or in 85004, or within
5 miles of this point".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID

from domain.errors import DomainError, ErrorCode, FieldError
from domain.money import money_text

MAX_NAME = 200
MAX_CITIES = 50
MAX_POSTAL_CODES = 100
MAX_PROPERTY_TYPES = 20
MAX_RADIUS_MILES = Decimal(100)
MAX_PRICE = Decimal("1000000000")
MAX_PRICE_TO_ARV = Decimal(2)
MAX_SEARCHES_PER_USER = 200
US_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")


class Frequency(Enum):
    INSTANT = "INSTANT"
    DAILY = "DAILY"


class Channel(Enum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"


@dataclass(frozen=True, slots=True)
class GeoCircle:
    latitude: float
    longitude: float
    radius_miles: float


@dataclass(frozen=True, slots=True)
class Criteria:
    """What a property must be to match. Empty tuples and None mean "any"."""

    cities: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
    near: GeoCircle | None = None
    property_types: tuple[str, ...] = ()  # RESO values ("Residential")
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_bedrooms: int | None = None
    min_bathrooms: int | None = None
    max_price_to_arv: Decimal | None = None  # a fraction: 0.70 is "at most 70 % of ARV"
    min_score: int | None = None

    @property
    def has_area(self) -> bool:
        return bool(self.cities or self.postal_codes or self.near)

    def is_empty(self) -> bool:
        return self == Criteria()


@dataclass(slots=True)
class SavedSearch:
    id: UUID
    tenant_id: UUID
    user_id: UUID
    name: str
    criteria: Criteria
    frequency: Frequency = Frequency.INSTANT
    channels: tuple[Channel, ...] = (Channel.IN_APP,)
    paused_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def wants(self, channel: Channel) -> bool:
        """In-app is always on; e-mail and webhooks when chosen."""
        return channel is Channel.IN_APP or channel in self.channels


@dataclass
class CriteriaInput:
    """Raw criteria as a caller gave them (GraphQL names in error paths)."""

    cities: list[str] | None = None
    postal_codes: list[str] | None = None
    near: tuple[Any, Any, Any] | None = None
    property_types: list[str] | None = None
    min_price: Any = None
    max_price: Any = None
    min_bedrooms: int | None = None
    min_bathrooms: int | None = None
    max_price_to_arv: Any = None
    min_score: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def normalize_city(city: str) -> str:
    """Cities compare case- and space-insensitively: ' san  antonio' == 'San Antonio'."""
    return " ".join(city.split()).casefold()


def normalize_postal(code: str) -> str:
    """US ZIP+4 compares on its five digits; other codes upper case without spaces."""
    compact = "".join(code.split()).upper()
    zip_match = US_ZIP.match(compact)
    return zip_match.group(1) if zip_match else compact


def _decimal(value: Any, path: tuple[str, ...], errors: list[FieldError]) -> Decimal | None:
    if value is None:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(FieldError(ErrorCode.INVALID, "Must be a number.", path))
        return None
    if not number.is_finite():
        errors.append(FieldError(ErrorCode.INVALID, "Must be a finite number.", path))
        return None
    return number


def _texts(
    values: list[str] | None,
    limit: int,
    longest: int,
    key: Any,
    path: tuple[str, ...],
    errors: list[FieldError],
) -> tuple[str, ...]:
    """Trimmed, de-duplicated (by key) values in the order given."""
    if not values:
        return ()
    if len(values) > limit:
        errors.append(FieldError(ErrorCode.LIMIT_EXCEEDED, f"At most {limit} values.", path))
        return ()
    seen: dict[str, str] = {}
    for index, raw in enumerate(values):
        text = " ".join(raw.split())
        if not text or len(text) > longest:
            message = f"Must be 1-{longest} characters."
            errors.append(FieldError(ErrorCode.INVALID, message, (*path, str(index))))
            continue
        seen.setdefault(key(text), text)
    return tuple(seen.values())


def _count(
    value: int | None, low: int, high: int, path: tuple[str, ...], errors: list[FieldError]
) -> int | None:
    if value is not None and not low <= value <= high:
        errors.append(FieldError(ErrorCode.INVALID, f"Must be between {low} and {high}.", path))
        return None
    return value


def validate_criteria(raw: CriteriaInput, path: tuple[str, ...]) -> Criteria:
    """Checked, normalized criteria; every problem at once, each at its field path."""
    errors: list[FieldError] = []
    cities = _texts(raw.cities, MAX_CITIES, 100, normalize_city, (*path, "cities"), errors)
    postal_codes = tuple(
        dict.fromkeys(
            normalize_postal(code)
            for code in _texts(
                raw.postal_codes,
                MAX_POSTAL_CODES,
                10,
                normalize_postal,
                (*path, "postalCodes"),
                errors,
            )
        )
    )
    near = None
    if raw.near is not None:
        near = _circle(raw.near, (*path, "near"), errors)
    property_types = tuple(dict.fromkeys(raw.property_types or ()))
    if len(property_types) > MAX_PROPERTY_TYPES:
        errors.append(
            FieldError(
                ErrorCode.LIMIT_EXCEEDED, "Too many property types.", (*path, "propertyTypes")
            )
        )
    prices = {}
    for name, camel in (("min_price", "minPrice"), ("max_price", "maxPrice")):
        value = _decimal(getattr(raw, name), (*path, camel), errors)
        if value is not None and not 0 <= value < MAX_PRICE:
            message = f"Must be between 0 and {money_text(MAX_PRICE)}."
            errors.append(FieldError(ErrorCode.INVALID, message, (*path, camel)))
            value = None
        prices[name] = value
    low, high = prices["min_price"], prices["max_price"]
    if low is not None and high is not None and low > high:
        message = f"minPrice ({money_text(low)}) is above maxPrice ({money_text(high)})."
        errors.append(FieldError(ErrorCode.INVALID, message, (*path, "minPrice")))
    ratio = _decimal(raw.max_price_to_arv, (*path, "maxPriceToArv"), errors)
    if ratio is not None and not 0 < ratio <= MAX_PRICE_TO_ARV:
        message = "Must be a fraction of ARV above 0 and at most 2 (0.70 is 70 %)."
        errors.append(FieldError(ErrorCode.INVALID, message, (*path, "maxPriceToArv")))
    criteria = Criteria(
        cities=cities,
        postal_codes=postal_codes,
        near=near,
        property_types=property_types,
        min_price=low,
        max_price=high,
        min_bedrooms=_count(raw.min_bedrooms, 0, 100, (*path, "minBedrooms"), errors),
        min_bathrooms=_count(raw.min_bathrooms, 0, 100, (*path, "minBathrooms"), errors),
        max_price_to_arv=ratio,
        min_score=_count(raw.min_score, 0, 100, (*path, "minScore"), errors),
    )
    if not errors and criteria.is_empty():
        message = "Give at least one criterion: a buy box that matches everything alerts on all."
        errors.append(FieldError(ErrorCode.INVALID, message, path))
    if errors:
        raise DomainError(*errors)
    return criteria


def _circle(
    raw: tuple[Any, Any, Any], path: tuple[str, ...], errors: list[FieldError]
) -> GeoCircle | None:
    latitude, longitude, radius = raw
    ok = True
    checks = (
        ("latitude", latitude, -90, 90),
        ("longitude", longitude, -180, 180),
    )
    for name, value, low, high in checks:
        if value is None or not low <= float(value) <= high:
            message = f"Must be between {low} and {high}."
            errors.append(FieldError(ErrorCode.INVALID, message, (*path, name)))
            ok = False
    if radius is None or not 0 < float(radius) <= float(MAX_RADIUS_MILES):
        message = f"Must be above 0 and at most {MAX_RADIUS_MILES} miles."
        errors.append(FieldError(ErrorCode.INVALID, message, (*path, "radiusMiles")))
        ok = False
    return GeoCircle(float(latitude), float(longitude), float(radius)) if ok else None


def validate_name(name: str | None, criteria: Criteria, path: tuple[str, ...]) -> str:
    """A given name, trimmed; without one, a name made from the criteria."""
    if name is None:
        return describe(criteria)[:MAX_NAME]
    text = " ".join(name.split())
    if not text or len(text) > MAX_NAME:
        raise DomainError.of(ErrorCode.INVALID, f"Must be 1-{MAX_NAME} characters.", *path)
    return text


def validate_channels(channels: list[Channel] | None) -> tuple[Channel, ...]:
    """Distinct channels in a stable order; in-app is always among them."""
    chosen = set(channels or ()) | {Channel.IN_APP}
    return tuple(channel for channel in Channel if channel in chosen)


def describe(criteria: Criteria) -> str:
    """A short name for a buy box: 'Austin, 78704 · $200,000-$400,000 · 3+ bd'."""
    parts = []
    area = [*criteria.cities, *criteria.postal_codes]
    if criteria.near:
        area.append(f"within {criteria.near.radius_miles:g} mi")
    if area:
        parts.append(", ".join(area[:3]) + (" ..." if len(area) > 3 else ""))
    low, high = criteria.min_price, criteria.max_price
    if low is not None and high is not None:
        parts.append(f"{money_text(low)}-{money_text(high)}")
    elif high is not None:
        parts.append(f"up to {money_text(high)}")
    elif low is not None:
        parts.append(f"from {money_text(low)}")
    if criteria.min_bedrooms:
        parts.append(f"{criteria.min_bedrooms}+ bd")
    if criteria.max_price_to_arv is not None:
        parts.append(f"<= {criteria.max_price_to_arv * 100:g}% of ARV")
    if criteria.min_score is not None:
        parts.append(f"score {criteria.min_score}+")
    return " · ".join(parts) or "Saved search"


def criteria_to_json(criteria: Criteria) -> dict[str, Any]:
    """The stored form (only what is set; money as strings)."""
    stored: dict[str, Any] = {}
    if criteria.cities:
        stored["cities"] = list(criteria.cities)
    if criteria.postal_codes:
        stored["postal_codes"] = list(criteria.postal_codes)
    if criteria.near:
        near = criteria.near
        stored["near"] = {
            "latitude": near.latitude,
            "longitude": near.longitude,
            "radius_miles": near.radius_miles,
        }
    if criteria.property_types:
        stored["property_types"] = list(criteria.property_types)
    for name in ("min_price", "max_price", "max_price_to_arv"):
        value = getattr(criteria, name)
        if value is not None:
            stored[name] = str(value)
    for name in ("min_bedrooms", "min_bathrooms", "min_score"):
        value = getattr(criteria, name)
        if value is not None:
            stored[name] = value
    return stored


def criteria_from_json(stored: dict[str, Any]) -> Criteria:
    near = stored.get("near")

    def money(name: str) -> Decimal | None:
        return None if stored.get(name) is None else Decimal(stored[name])

    return Criteria(
        cities=tuple(stored.get("cities", ())),
        postal_codes=tuple(stored.get("postal_codes", ())),
        near=GeoCircle(near["latitude"], near["longitude"], near["radius_miles"]) if near else None,
        property_types=tuple(stored.get("property_types", ())),
        min_price=money("min_price"),
        max_price=money("max_price"),
        min_bedrooms=stored.get("min_bedrooms"),
        min_bathrooms=stored.get("min_bathrooms"),
        max_price_to_arv=money("max_price_to_arv"),
        min_score=stored.get("min_score"),
    )


def paused(search: SavedSearch, pause: bool, at: datetime) -> SavedSearch:
    """The search paused (keeping the first pause time) or resumed."""
    if pause:
        return replace(search, paused_at=search.paused_at or at)
    return replace(search, paused_at=None)
