"""The Property model (RESO Data Dictionary names), its validation and enrichment rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID

from domain.address import address_key, parcel_key, street_line
from domain.errors import DomainError, ErrorCode, FieldError
from domain.names import camel_case


class PropertyType(Enum):
    BUSINESS_OPPORTUNITY = "Business Opportunity"
    COMMERCIAL_LEASE = "Commercial Lease"
    COMMERCIAL_SALE = "Commercial Sale"
    FARM = "Farm"
    LAND = "Land"
    MANUFACTURED_IN_PARK = "Manufactured In Park"
    RESIDENTIAL = "Residential"
    RESIDENTIAL_INCOME = "Residential Income"
    RESIDENTIAL_LEASE = "Residential Lease"


class StandardStatus(Enum):
    ACTIVE = "Active"
    ACTIVE_UNDER_CONTRACT = "Active Under Contract"
    CANCELED = "Canceled"
    CLOSED = "Closed"
    COMING_SOON = "Coming Soon"
    DELETE = "Delete"
    EXPIRED = "Expired"
    HOLD = "Hold"
    INCOMPLETE = "Incomplete"
    PENDING = "Pending"
    WITHDRAWN = "Withdrawn"


class LotSizeUnits(Enum):
    ACRES = "Acres"
    SQUARE_FEET = "Square Feet"
    SQUARE_METERS = "Square Meters"


MAX_PRICE = Decimal("1000000000")
MAX_AREA = Decimal("10000000")
TEXT_LIMITS = {
    "listing_id": 64,
    "parcel_number": 64,
    "unparsed_address": 255,
    "street_number": 20,
    "street_name": 120,
    "unit_number": 20,
    "city": 100,
    "state_or_province": 50,
    "postal_code": 10,
    "county_or_parish": 100,
    "property_sub_type": 60,
}
MONEY_FIELDS = (
    "list_price",
    "original_list_price",
    "close_price",
    "tax_annual_amount",
    "association_fee",
)
COUNT_FIELDS = {"bedrooms_total": (0, 100), "bathrooms_total_integer": (0, 100)}
AREA_FIELDS = {"living_area": 2, "lot_size_area": 4}
MAX_FEATURES = 50
MAX_FEATURE_LENGTH = 80

ADDRESS_FIELDS = (
    "unparsed_address",
    "street_number",
    "street_name",
    "unit_number",
    "city",
    "state_or_province",
    "postal_code",
    "county_or_parish",
)

# Fields a person or a source can set; everything with provenance is one of these.
EDITABLE_FIELDS = (
    "listing_id",
    "parcel_number",
    *ADDRESS_FIELDS,
    "latitude",
    "longitude",
    "property_type",
    "property_sub_type",
    "standard_status",
    "list_price",
    "original_list_price",
    "close_price",
    "close_date",
    "listing_contract_date",
    "days_on_market",
    "bedrooms_total",
    "bathrooms_total_integer",
    "living_area",
    "lot_size_area",
    "lot_size_units",
    "year_built",
    "tax_annual_amount",
    "association_fee",
    "features",
)

USER_SOURCE = "USER"


@dataclass(slots=True)
class Property:
    id: UUID
    tenant_id: UUID
    address_key: str
    unparsed_address: str
    city: str
    state_or_province: str
    listing_id: str | None = None
    parcel_number: str | None = None
    parcel_key: str | None = None
    street_number: str | None = None
    street_name: str | None = None
    unit_number: str | None = None
    postal_code: str | None = None
    county_or_parish: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    property_type: str | None = None
    property_sub_type: str | None = None
    standard_status: str | None = None
    list_price: Decimal | None = None
    original_list_price: Decimal | None = None
    close_price: Decimal | None = None
    close_date: date | None = None
    listing_contract_date: date | None = None
    days_on_market: int | None = None
    bedrooms_total: int | None = None
    bathrooms_total_integer: int | None = None
    living_area: Decimal | None = None
    lot_size_area: Decimal | None = None
    lot_size_units: str | None = None
    year_built: int | None = None
    tax_annual_amount: Decimal | None = None
    association_fee: Decimal | None = None
    features: list[str] = field(default_factory=list)
    search_text: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    field: str
    source: str
    fetched_at: datetime
    confidence: Decimal
    locked: bool


def _invalid(path: tuple[str, ...], name: str, message: str) -> FieldError:
    where = (*path, "address") if name in ADDRESS_FIELDS else path
    return FieldError(ErrorCode.INVALID, message, (*where, camel_case(name)))


def _check_money(name: str, value: Any, path: tuple[str, ...]) -> FieldError | None:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return _invalid(path, name, f"{camel_case(name)} must be an amount of money.")
    if not amount.is_finite():
        return _invalid(path, name, f"{camel_case(name)} must be a finite amount.")
    if amount < 0:
        return _invalid(path, name, f"{camel_case(name)} cannot be negative.")
    if amount > MAX_PRICE:
        return _invalid(path, name, f"{camel_case(name)} above {MAX_PRICE:,} is not plausible.")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return _invalid(path, name, f"{camel_case(name)} has more than two decimal places.")
    return None


def validate_fields(values: dict[str, Any], path: tuple[str, ...] = ("input",)) -> list[FieldError]:
    """Every problem with a set of property field values (only the keys present are checked)."""
    errors: list[FieldError] = []
    today = date.today()
    for name, limit in TEXT_LIMITS.items():
        value = values.get(name)
        if value is not None and len(value) > limit:
            errors.append(
                _invalid(path, name, f"{camel_case(name)} is longer than {limit} characters.")
            )
    for name in ("unparsed_address", "city", "state_or_province"):
        if name in values and values[name] is not None and not str(values[name]).strip():
            errors.append(_invalid(path, name, f"{camel_case(name)} cannot be blank."))
    for name in MONEY_FIELDS:
        if values.get(name) is not None:
            error = _check_money(name, values[name], path)
            if error:
                errors.append(error)
    for name, (low, high) in COUNT_FIELDS.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            errors.append(
                _invalid(path, name, f"{camel_case(name)} must be between {low} and {high}.")
            )
    for name, places in AREA_FIELDS.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        if not value.is_finite() or value < 0 or value > MAX_AREA:
            errors.append(
                _invalid(path, name, f"{camel_case(name)} must be between 0 and {MAX_AREA:,}.")
            )
        elif value.as_tuple().exponent < -places:  # type: ignore[operator]
            errors.append(
                _invalid(path, name, f"{camel_case(name)} has more than {places} decimals.")
            )
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if latitude is not None and not -90 <= latitude <= 90:
        errors.append(_invalid(path, "latitude", "latitude must be between -90 and 90."))
    if longitude is not None and not -180 <= longitude <= 180:
        errors.append(_invalid(path, "longitude", "longitude must be between -180 and 180."))
    year = values.get("year_built")
    if year is not None and not 1600 <= year <= today.year + 3:
        errors.append(
            _invalid(path, "year_built", f"yearBuilt must be between 1600 and {today.year + 3}.")
        )
    dom = values.get("days_on_market")
    if dom is not None and not 0 <= dom <= 36500:
        errors.append(_invalid(path, "days_on_market", "daysOnMarket must be between 0 and 36500."))
    for name in ("close_date", "listing_contract_date"):
        value = values.get(name)
        if value is not None and value.year < 1900:
            errors.append(_invalid(path, name, f"{camel_case(name)} is before 1900."))
    features = values.get("features")
    if features is not None:
        if len(features) > MAX_FEATURES:
            errors.append(_invalid(path, "features", f"At most {MAX_FEATURES} features."))
        elif any(not f.strip() or len(f) > MAX_FEATURE_LENGTH for f in features):
            errors.append(
                _invalid(
                    path, "features", f"Each feature must be 1-{MAX_FEATURE_LENGTH} characters."
                )
            )
    return errors


def require_valid(values: dict[str, Any], path: tuple[str, ...] = ("input",)) -> None:
    """Raise a DomainError listing every problem with the given values."""
    errors = validate_fields(values, path)
    if errors:
        raise DomainError(*errors)


def require_complete(values: dict[str, Any], path: tuple[str, ...] = ("input",)) -> dict[str, Any]:
    """Validate a whole new property and return its derived fields; report every problem at once."""
    errors = validate_fields(values, path)
    try:
        derived = derived_fields(values, path)
    except DomainError as error:
        errors += list(error.errors)
    if errors:
        raise DomainError(*errors)
    return derived


def unlocked_changes(
    current: dict[str, Any], incoming: dict[str, Any], locked: set[str]
) -> dict[str, Any]:
    """The incoming values an enrichment may apply: never a locked field, only real changes."""
    return {
        name: value
        for name, value in incoming.items()
        if name not in locked and current.get(name) != value
    }


def change_events(
    before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The price and status events implied by a change, as (event_type, payload) pairs."""
    events: list[tuple[str, dict[str, Any]]] = []
    if before.get("list_price") != after.get("list_price") and "list_price" in after:
        events.append(
            (
                "property.price_changed",
                {"from": _text(before.get("list_price")), "to": _text(after.get("list_price"))},
            )
        )
    if before.get("standard_status") != after.get("standard_status") and "standard_status" in after:
        events.append(
            (
                "property.status_changed",
                {"from": before.get("standard_status"), "to": after.get("standard_status")},
            )
        )
    return events


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def editable_values(prop: Property) -> dict[str, Any]:
    """The person- or source-settable values of a property."""
    return {name: getattr(prop, name) for name in EDITABLE_FIELDS}


def derived_fields(values: dict[str, Any], path: tuple[str, ...] = ("input",)) -> dict[str, Any]:
    """The unparsed address and the natural keys (address, parcel) implied by complete values."""
    address_path = (*path, "address")
    city = (values.get("city") or "").strip()
    state = (values.get("state_or_province") or "").strip()
    line = street_line(
        values.get("street_number"),
        values.get("street_name"),
        values.get("unit_number"),
        values.get("unparsed_address"),
    )
    errors = []
    if not line:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                "Give a street address: unparsedAddress, or streetNumber and streetName.",
                (*address_path, "unparsedAddress"),
            )
        )
    if not city:
        errors.append(FieldError(ErrorCode.INVALID, "city is required.", (*address_path, "city")))
    if not state:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                "stateOrProvince is required.",
                (*address_path, "stateOrProvince"),
            )
        )
    parcel = values.get("parcel_number")
    if parcel is not None and not any(ch.isalnum() for ch in parcel):
        errors.append(
            FieldError(
                ErrorCode.INVALID, "parcelNumber has no letters or digits.", (*path, "parcelNumber")
            )
        )
    if errors:
        raise DomainError(*errors)
    assert line is not None
    postal = values.get("postal_code")
    unparsed = values.get("unparsed_address") or ", ".join(
        part for part in (line, city, f"{state} {postal or ''}".strip()) if part
    )
    return {
        "unparsed_address": unparsed,
        "address_key": address_key(line, city, state),
        "parcel_key": parcel_key(parcel, values.get("county_or_parish"), state) if parcel else None,
    }


def event_payload(prop: Property) -> dict[str, Any]:
    """What consumers of property events (alerts, search, scoring) need without a lookup."""
    return {
        "property_id": str(prop.id),
        "city": prop.city,
        "postal_code": prop.postal_code,
        "property_type": prop.property_type,
        "standard_status": prop.standard_status,
        "list_price": None if prop.list_price is None else str(prop.list_price),
        "latitude": prop.latitude,
        "longitude": prop.longitude,
    }


def media_equal(current: list[dict[str, Any]], incoming: list[dict[str, Any]]) -> bool:
    """Whether two media lists show the same items in the same order."""
    keys = ("url", "media_category", "short_description", "order")
    return [tuple(m.get(k) for k in keys) for m in current] == [
        tuple(m.get(k) for k in keys) for m in incoming
    ]
