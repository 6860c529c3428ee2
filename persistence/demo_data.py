"""Deterministic, realistic demo properties used to seed demo tenants.

Everything is derived from ``random.Random(f"reos-demo:{tenant_slug}")`` and the ``today`` argument,
so the same inputs always produce the same list (including order). Standard library only.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENTS = Decimal("0.01")
ACRE_PRECISION = Decimal("0.0001")
MILES_PER_DEGREE_LAT = 69.0
MAX_RADIUS_MILES = 12.0
MAX_UNIQUE_ATTEMPTS = 10_000


def _zip_codes(prefix: str, suffixes: str) -> tuple[str, ...]:
    """ZIP codes sharing a 3-digit prefix, e.g. ("787", "01 04") -> ("78701", "78704")."""
    return tuple(prefix + suffix for suffix in suffixes.split())


@dataclass(frozen=True)
class Metro:
    code: str
    city: str
    state: str
    county: str
    latitude: float
    longitude: float
    postal_codes: tuple[str, ...]
    streets: tuple[str, ...]
    price_per_sqft: float
    land_price_per_sqrt_acre: float
    tax_rate: float
    oldest_year_built: int
    typical_year_built: int
    rare_features: frozenset[str]


AUSTIN = Metro(
    code="ATX",
    city="Austin",
    state="TX",
    county="Travis",
    latitude=30.2672,
    longitude=-97.7431,
    postal_codes=_zip_codes(
        "787", "01 02 03 04 05 21 22 23 27 28 29 31 35 41 44 45 46 48 49 51 52 53 56 57 58 59"
    ),
    streets=(
        "Barton Springs Rd",
        "S Lamar Blvd",
        "N Lamar Blvd",
        "S Congress Ave",
        "Guadalupe St",
        "Burnet Rd",
        "Manor Rd",
        "E Riverside Dr",
        "W Anderson Ln",
        "Shoal Creek Blvd",
        "Exposition Blvd",
        "Enfield Rd",
        "E Cesar Chavez St",
        "Red River St",
        "Duval St",
        "Airport Blvd",
        "Cameron Rd",
        "Slaughter Ln",
        "William Cannon Dr",
        "Brodie Ln",
        "Escarpment Blvd",
        "Spicewood Springs Rd",
        "Bee Caves Rd",
        "Westlake Dr",
        "Oltorf St",
        "Woodrow Ave",
        "Koenig Ln",
        "Balcones Dr",
        "Far West Blvd",
        "Mesa Dr",
        "Bluebonnet Ln",
        "Rain Lily Ln",
        "Pecan Grove Ct",
        "Hill Country Way",
        "Live Oak St",
    ),
    price_per_sqft=276.0,
    land_price_per_sqrt_acre=240_000.0,
    tax_rate=0.020,
    oldest_year_built=1930,
    typical_year_built=1998,
    rare_features=frozenset({"Basement"}),
)

PHOENIX = Metro(
    code="PHX",
    city="Phoenix",
    state="AZ",
    county="Maricopa",
    latitude=33.4484,
    longitude=-112.0740,
    postal_codes=_zip_codes(
        "850",
        "03 04 06 07 08 12 13 14 15 16 18 20 21 22 23 24 28 29 32 33 35 40 41 42 44 48 50 51 53 54",
    ),
    streets=(
        "E Camelback Rd",
        "N Central Ave",
        "E Indian School Rd",
        "W Thomas Rd",
        "E McDowell Rd",
        "N 7th St",
        "N 16th St",
        "N 24th St",
        "N 32nd St",
        "N 44th St",
        "W Glendale Ave",
        "E Bethany Home Rd",
        "W Northern Ave",
        "E Thunderbird Rd",
        "W Peoria Ave",
        "E Cactus Rd",
        "E Shea Blvd",
        "W Dunlap Ave",
        "E Baseline Rd",
        "W Southern Ave",
        "E Broadway Rd",
        "N 19th Ave",
        "N 35th Ave",
        "E Osborn Rd",
        "W Encanto Blvd",
        "E Roosevelt St",
        "N Tatum Blvd",
        "E Bell Rd",
        "N Cave Creek Rd",
        "E Desert Cove Ave",
        "E Palo Verde Dr",
        "W Saguaro Ln",
        "E Mesquite Ct",
        "N Ocotillo Way",
    ),
    price_per_sqft=214.0,
    land_price_per_sqrt_acre=170_000.0,
    tax_rate=0.007,
    oldest_year_built=1940,
    typical_year_built=1995,
    rare_features=frozenset({"Basement", "Fireplace"}),
)

COLUMBUS = Metro(
    code="CMH",
    city="Columbus",
    state="OH",
    county="Franklin",
    latitude=39.9612,
    longitude=-82.9988,
    postal_codes=_zip_codes(
        "432", "01 02 03 04 05 06 07 09 11 12 13 14 15 19 20 21 22 23 24 27 28 29 31 32 35"
    ),
    streets=(
        "N High St",
        "E Broad St",
        "W Broad St",
        "Cleveland Ave",
        "Parsons Ave",
        "Livingston Ave",
        "E Main St",
        "Neil Ave",
        "Summit St",
        "Indianola Ave",
        "Olentangy River Rd",
        "Morse Rd",
        "Hudson St",
        "Lane Ave",
        "King Ave",
        "W 5th Ave",
        "Kenny Rd",
        "Sawmill Rd",
        "Karl Rd",
        "Refugee Rd",
        "Hamilton Rd",
        "Sullivant Ave",
        "Henderson Rd",
        "Bethel Rd",
        "Alum Creek Dr",
        "Tremont Rd",
        "Fishinger Rd",
        "Whittier St",
        "City Park Ave",
        "Mohawk St",
        "Thurman Ave",
        "Kelton Ave",
        "Northwest Blvd",
        "Riverside Dr",
        "Buckeye Ln",
        "Maple Grove Ct",
        "Schiller Way",
    ),
    price_per_sqft=143.0,
    land_price_per_sqrt_acre=95_000.0,
    tax_rate=0.018,
    oldest_year_built=1925,
    typical_year_built=1965,
    rare_features=frozenset({"Pool", "Solar Panels"}),
)

METROS: tuple[Metro, ...] = (AUSTIN, PHOENIX, COLUMBUS)

PROPERTY_TYPE_WEIGHTS: dict[str, float] = {
    "Residential": 80,
    "Residential Income": 15,
    "Land": 5,
}

SUB_TYPE_WEIGHTS: dict[str, dict[str, float]] = {
    "Residential": {"Single Family Residence": 75, "Townhouse": 12, "Condominium": 13},
    "Residential Income": {"Duplex": 60, "Triplex": 25, "Quadruplex": 15},
    "Land": {"Unimproved Land": 100},
}

STATUS_WEIGHTS: dict[str, float] = {
    "Active": 40,
    "Pending": 8,
    "Active Under Contract": 7,
    "Coming Soon": 5,
    "Closed": 35,
    "Expired": 3,
    "Withdrawn": 2,
}

BEDROOM_RANGES: dict[str, tuple[int, int]] = {
    "Single Family Residence": (2, 5),
    "Townhouse": (2, 4),
    "Condominium": (1, 3),
    "Duplex": (4, 6),
    "Triplex": (5, 8),
    "Quadruplex": (6, 8),
}

UNITS_PER_BUILDING: dict[str, int] = {"Duplex": 2, "Triplex": 3, "Quadruplex": 4}

PRICE_FACTOR_BY_SUB_TYPE: dict[str, float] = {
    "Single Family Residence": 1.0,
    "Townhouse": 0.95,
    "Condominium": 1.05,
    "Duplex": 0.85,
    "Triplex": 0.82,
    "Quadruplex": 0.80,
}

LAND_ACREAGE_RANGES: tuple[tuple[float, float], ...] = ((0.15, 0.5), (0.5, 2.0), (2.0, 5.0))

HOA_SUB_TYPES = frozenset({"Townhouse", "Condominium"})

FEATURE_POOL: tuple[str, ...] = (
    "Garage",
    "Pool",
    "Fireplace",
    "Basement",
    "Central Air",
    "Hardwood Floors",
    "Fenced Yard",
    "Solar Panels",
    "Updated Kitchen",
    "Needs Repair",
    "Corner Lot",
    "Covered Patio",
)
LAND_FEATURES: tuple[str, ...] = ("Corner Lot", "Fenced Yard")
CONDO_EXCLUDED_FEATURES = frozenset({"Basement", "Fenced Yard", "Corner Lot", "Solar Panels"})

HOUSE_PHOTOS: tuple[str, ...] = ("Front exterior", "Kitchen", "Living room", "Backyard")
CONDO_PHOTOS: tuple[str, ...] = ("Front exterior", "Kitchen", "Living room", "Primary bedroom")
LAND_PHOTO = "Lot overview"

UNDER_CONTRACT_STATUSES = frozenset({"Pending", "Active Under Contract"})
COUNTY_SOURCE_SHARE_OF_CLOSED = 0.29  # ~10% of all records when ~35% are Closed


@dataclass(frozen=True)
class Timeline:
    listing_contract_date: datetime.date
    close_date: datetime.date | None
    days_on_market: int


@dataclass(frozen=True)
class Structure:
    bedrooms_total: int | None
    bathrooms_total_integer: int | None
    living_area: Decimal | None
    year_built: int | None


@dataclass(frozen=True)
class Pricing:
    list_price: Decimal
    original_list_price: Decimal
    close_price: Decimal | None


@dataclass
class UsedKeys:
    """Identifiers already handed out within one tenant's list."""

    listing_ids: set[str] = field(default_factory=set)
    parcel_numbers: set[str] = field(default_factory=set)
    street_lines: set[tuple[str, str, str | None, str]] = field(default_factory=set)


def demo_properties(
    tenant_slug: str, today: datetime.date, count: int = 300
) -> list[dict[str, Any]]:
    """Deterministic realistic properties for one demo tenant across three metro areas."""
    if count < 0:
        raise ValueError("count must be non-negative")
    rng = random.Random(f"reos-demo:{tenant_slug}")
    metros = _allocate(rng, {metro.code: 1 for metro in METROS}, count)
    property_types = _allocate(rng, PROPERTY_TYPE_WEIGHTS, count)
    statuses = _allocate(rng, STATUS_WEIGHTS, count)
    metro_by_code = {metro.code: metro for metro in METROS}
    used = UsedKeys()
    return [
        _build_property(rng, metro_by_code[code], property_type, status, today, used)
        for code, property_type, status in zip(metros, property_types, statuses, strict=True)
    ]


def _allocate(rng: random.Random, weights: dict[str, float], count: int) -> list[str]:
    """Shuffled list of `count` labels whose shares follow `weights` (largest remainder)."""
    total = sum(weights.values())
    exact = {label: count * weight / total for label, weight in weights.items()}
    quotas = {label: math.floor(share) for label, share in exact.items()}
    leftover = count - sum(quotas.values())
    by_remainder = sorted(weights, key=lambda label: exact[label] - quotas[label], reverse=True)
    for label in by_remainder[:leftover]:
        quotas[label] += 1
    labels = [label for label in weights for _ in range(quotas[label])]
    rng.shuffle(labels)
    return labels


def _weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _build_property(
    rng: random.Random,
    metro: Metro,
    property_type: str,
    status: str,
    today: datetime.date,
    used: UsedKeys,
) -> dict[str, Any]:
    sub_type = _weighted_choice(rng, SUB_TYPE_WEIGHTS[property_type])
    timeline = _timeline(rng, status, today)
    structure = _structure(rng, metro, sub_type, today)
    lot_size = _lot_size(rng, sub_type)
    pricing = _pricing(rng, metro, sub_type, structure, lot_size, status, timeline)
    listing_id = _unique(used.listing_ids, lambda: _listing_id(rng, metro, timeline))
    parcel_number = _unique(used.parcel_numbers, lambda: _parcel_number(rng, metro))
    street_number, street_name, unit_number = _street_line(rng, metro, sub_type, used)
    postal_code = rng.choice(metro.postal_codes)
    latitude, longitude = _random_point(rng, metro)
    return {
        "listing_id": listing_id,
        "parcel_number": parcel_number,
        "unparsed_address": _unparsed_address(
            street_number, street_name, unit_number, metro, postal_code
        ),
        "street_number": street_number,
        "street_name": street_name,
        "unit_number": unit_number,
        "city": metro.city,
        "state_or_province": metro.state,
        "postal_code": postal_code,
        "county_or_parish": metro.county,
        "latitude": latitude,
        "longitude": longitude,
        "property_type": property_type,
        "property_sub_type": sub_type,
        "standard_status": status,
        "list_price": pricing.list_price,
        "original_list_price": pricing.original_list_price,
        "close_price": pricing.close_price,
        "close_date": timeline.close_date,
        "listing_contract_date": timeline.listing_contract_date,
        "days_on_market": timeline.days_on_market,
        "bedrooms_total": structure.bedrooms_total,
        "bathrooms_total_integer": structure.bathrooms_total_integer,
        "living_area": structure.living_area,
        "lot_size_area": lot_size,
        "lot_size_units": "Acres" if lot_size is not None else None,
        "year_built": structure.year_built,
        "tax_annual_amount": _tax_annual_amount(rng, metro, pricing.list_price),
        "association_fee": _association_fee(rng, sub_type),
        "features": _features(rng, metro, sub_type, structure.year_built),
        "media": _media(rng, listing_id, sub_type),
        "source": _source(rng, status),
    }


def _unique(used: set[str], draw: Callable[[], str]) -> str:
    for _ in range(MAX_UNIQUE_ATTEMPTS):
        value = draw()
        if value not in used:
            used.add(value)
            return value
    raise RuntimeError("could not generate a unique value; count is too large")


# --- Dates -----------------------------------------------------------------------------------


def _timeline(rng: random.Random, status: str, today: datetime.date) -> Timeline:
    if status == "Closed":
        return _closed_timeline(rng, today)
    if status == "Coming Soon":
        listed_days_ago = rng.randint(5, 20)
        return Timeline(_days_before(today, listed_days_ago), None, 0)
    listed_days_ago = rng.randint(90, 200) if status == "Expired" else rng.randint(5, 200)
    days_on_market = listed_days_ago
    if status in UNDER_CONTRACT_STATUSES:
        days_under_contract = rng.randint(2, 30)
        days_on_market = max(listed_days_ago - days_under_contract, 1)
    return Timeline(_days_before(today, listed_days_ago), None, days_on_market)


def _closed_timeline(rng: random.Random, today: datetime.date) -> Timeline:
    recent = rng.random() < 0.9
    closed_days_ago = rng.randint(1, 365) if recent else rng.randint(366, 535)
    close_date = _days_before(today, closed_days_ago)
    listing_to_close = rng.randint(15, 120)
    escrow_days = min(rng.randint(21, 40), listing_to_close * 2 // 3)
    return Timeline(
        listing_contract_date=close_date - datetime.timedelta(days=listing_to_close),
        close_date=close_date,
        days_on_market=listing_to_close - escrow_days,
    )


def _days_before(day: datetime.date, days: int) -> datetime.date:
    return day - datetime.timedelta(days=days)


# --- Physical characteristics ------------------------------------------------------------------


def _structure(rng: random.Random, metro: Metro, sub_type: str, today: datetime.date) -> Structure:
    if sub_type == "Unimproved Land":
        return Structure(None, None, None, None)
    bedrooms = rng.randint(*BEDROOM_RANGES[sub_type])
    return Structure(
        bedrooms_total=bedrooms,
        bathrooms_total_integer=_bathrooms(rng, sub_type, bedrooms),
        living_area=_living_area(rng, bedrooms),
        year_built=_year_built(rng, metro, sub_type, today),
    )


def _bathrooms(rng: random.Random, sub_type: str, bedrooms: int) -> int:
    if sub_type in UNITS_PER_BUILDING:
        baths = UNITS_PER_BUILDING[sub_type] + rng.randint(0, 1)
    else:
        baths = math.ceil(bedrooms / 2) + rng.randint(0, 1)
    return min(max(baths, 1), 4)


def _living_area(rng: random.Random, bedrooms: int) -> Decimal:
    square_feet = bedrooms * rng.uniform(380, 560) + rng.uniform(250, 650)
    square_feet = min(max(square_feet, 700), 4200)
    return Decimal(round(square_feet / 10) * 10).quantize(CENTS)


def _year_built(rng: random.Random, metro: Metro, sub_type: str, today: datetime.date) -> int:
    newest = min(2024, today.year)
    oldest = metro.oldest_year_built
    if sub_type in HOA_SUB_TYPES:
        oldest = max(oldest, 1970)
    mode = min(max(metro.typical_year_built, oldest), newest)
    return min(max(round(rng.triangular(oldest, newest, mode)), oldest), newest)


def _lot_size(rng: random.Random, sub_type: str) -> Decimal | None:
    if sub_type == "Condominium":
        return None
    if sub_type == "Townhouse":
        acres = rng.uniform(0.02, 0.08)
    elif sub_type == "Unimproved Land":
        low, high = rng.choice(LAND_ACREAGE_RANGES)
        acres = rng.uniform(low, high)
    elif rng.random() < 0.1:
        acres = rng.uniform(0.4, 2.0)
    else:
        acres = rng.uniform(0.11, 0.35)
    return Decimal(str(acres)).quantize(ACRE_PRECISION, rounding=ROUND_HALF_UP)


# --- Money -----------------------------------------------------------------------------------


def _pricing(
    rng: random.Random,
    metro: Metro,
    sub_type: str,
    structure: Structure,
    lot_size: Decimal | None,
    status: str,
    timeline: Timeline,
) -> Pricing:
    original = _round_to_hundred(_base_price(rng, metro, sub_type, structure, lot_size))
    list_price = original
    if _had_price_drop(rng, status, timeline):
        reduced = float(original) * (1 - rng.uniform(0.02, 0.08))
        list_price = min(_round_to_hundred(reduced), original)
    close_price = None
    if status == "Closed":
        close_price = _round_to_hundred(float(list_price) * rng.uniform(0.94, 1.04))
    return Pricing(list_price=list_price, original_list_price=original, close_price=close_price)


def _base_price(
    rng: random.Random,
    metro: Metro,
    sub_type: str,
    structure: Structure,
    lot_size: Decimal | None,
) -> float:
    if structure.living_area is None:
        acres = float(lot_size) if lot_size is not None else 0.25
        return metro.land_price_per_sqrt_acre * math.sqrt(acres) * rng.uniform(0.75, 1.3)
    price_per_sqft = metro.price_per_sqft * PRICE_FACTOR_BY_SUB_TYPE[sub_type]
    return float(structure.living_area) * price_per_sqft * rng.uniform(0.8, 1.25)


def _had_price_drop(rng: random.Random, status: str, timeline: Timeline) -> bool:
    if status == "Coming Soon":
        return False
    chance = 0.6 if status in ("Expired", "Withdrawn") else 0.25
    if timeline.days_on_market > 60:
        chance += 0.2
    return rng.random() < chance


def _round_to_hundred(amount: float) -> Decimal:
    hundreds = Decimal(str(amount)).quantize(Decimal("1E2"), rounding=ROUND_HALF_UP)
    return max(hundreds, Decimal(100)).quantize(CENTS)


def _tax_annual_amount(rng: random.Random, metro: Metro, list_price: Decimal) -> Decimal:
    rate = metro.tax_rate * rng.uniform(0.85, 1.15)
    return Decimal(str(float(list_price) * rate)).quantize(CENTS, rounding=ROUND_HALF_UP)


def _association_fee(rng: random.Random, sub_type: str) -> Decimal | None:
    if sub_type not in HOA_SUB_TYPES:
        return None
    return Decimal(rng.randrange(150, 451, 5)).quantize(CENTS)


# --- Location --------------------------------------------------------------------------------


def _street_line(
    rng: random.Random, metro: Metro, sub_type: str, used: UsedKeys
) -> tuple[str, str, str | None]:
    for _ in range(MAX_UNIQUE_ATTEMPTS):
        street_number = str(rng.randint(100, 9999))
        street_name = rng.choice(metro.streets)
        unit_number = _unit_number(rng) if sub_type == "Condominium" else None
        key = (street_number, street_name, unit_number, metro.city)
        if key not in used.street_lines:
            used.street_lines.add(key)
            return street_number, street_name, unit_number
    raise RuntimeError("could not generate a unique street address; count is too large")


def _unit_number(rng: random.Random) -> str | None:
    if rng.random() < 0.25:
        return None
    return str(rng.randint(1, 4) * 100 + rng.randint(1, 24))


def _unparsed_address(
    street_number: str, street_name: str, unit_number: str | None, metro: Metro, postal_code: str
) -> str:
    street = f"{street_number} {street_name}"
    if unit_number is not None:
        street = f"{street}, Unit {unit_number}"
    return f"{street}, {metro.city}, {metro.state} {postal_code}"


def _random_point(rng: random.Random, metro: Metro) -> tuple[float, float]:
    """Uniform point in a disk of MAX_RADIUS_MILES around the metro center."""
    radius = MAX_RADIUS_MILES * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    miles_per_degree_lon = MILES_PER_DEGREE_LAT * math.cos(math.radians(metro.latitude))
    latitude = metro.latitude + radius * math.cos(angle) / MILES_PER_DEGREE_LAT
    longitude = metro.longitude + radius * math.sin(angle) / miles_per_degree_lon
    return round(latitude, 6), round(longitude, 6)


# --- Identifiers -----------------------------------------------------------------------------


def _listing_id(rng: random.Random, metro: Metro, timeline: Timeline) -> str:
    year = timeline.listing_contract_date.year
    return f"{metro.code}-{year}-{rng.randint(1, 999_999):06d}"


def _parcel_number(rng: random.Random, metro: Metro) -> str:
    if metro.county == "Travis":
        return f"0{rng.randint(100_000_000, 999_999_999)}"
    if metro.county == "Maricopa":
        return f"{rng.randint(100, 312)}-{rng.randint(1, 99):02d}-{rng.randint(1, 999):03d}"
    return f"010-{rng.randint(1, 299_999):06d}-00"


# --- Listing details -------------------------------------------------------------------------


def _features(rng: random.Random, metro: Metro, sub_type: str, year_built: int | None) -> list[str]:
    if sub_type == "Unimproved Land":
        return [feature for feature in LAND_FEATURES if rng.random() < 0.3]
    candidates = [feature for feature in FEATURE_POOL if feature not in metro.rare_features]
    if sub_type == "Condominium":
        candidates = [feature for feature in candidates if feature not in CONDO_EXCLUDED_FEATURES]
    if year_built is not None and year_built >= 2010:
        candidates.remove("Needs Repair")
    chosen = rng.sample(candidates, rng.randint(0, 4))
    if "Needs Repair" in chosen and "Updated Kitchen" in chosen:
        chosen.remove("Updated Kitchen")
    return sorted(chosen, key=FEATURE_POOL.index)


def _media(rng: random.Random, listing_id: str, sub_type: str) -> list[dict[str, Any]]:
    if sub_type == "Unimproved Land":
        descriptions: tuple[str, ...] = (LAND_PHOTO,)
    else:
        photos = CONDO_PHOTOS if sub_type == "Condominium" else HOUSE_PHOTOS
        descriptions = photos[: rng.randint(1, len(photos))]
    return [
        {
            "url": f"/media/demo/{listing_id}/{order}.jpg",
            "media_category": "Photo",
            "short_description": description,
            "order": order,
        }
        for order, description in enumerate(descriptions, start=1)
    ]


def _source(rng: random.Random, status: str) -> str:
    """Most records come from the MLS; some closed sales only come from county deed records."""
    if status == "Closed" and rng.random() < COUNTY_SOURCE_SHARE_OF_CLOSED:
        return "COUNTY"
    return "MLS"
