"""Unit tests for the deterministic demo property generator."""

from __future__ import annotations

import datetime
import math
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from persistence.demo_data import demo_properties

TODAY = datetime.date(2026, 3, 15)
TENANT = "acme-realty"
CENTERS: dict[str, tuple[float, float]] = {
    "Austin": (30.2672, -97.7431),
    "Phoenix": (33.4484, -112.0740),
    "Columbus": (39.9612, -82.9988),
}
EXPECTED_KEYS = {
    "listing_id",
    "parcel_number",
    "unparsed_address",
    "street_number",
    "street_name",
    "unit_number",
    "city",
    "state_or_province",
    "postal_code",
    "county_or_parish",
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
    "media",
    "source",
}


@pytest.fixture(scope="module")
def properties() -> list[dict[str, Any]]:
    return demo_properties(TENANT, TODAY)


def _miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles (haversine)."""
    earth_radius_miles = 3958.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * earth_radius_miles * math.asin(math.sqrt(a))


def _eighteen_months_before(day: datetime.date) -> datetime.date:
    month_index = day.year * 12 + (day.month - 1) - 18
    return datetime.date(month_index // 12, month_index % 12 + 1, min(day.day, 28))


def test_same_inputs_give_identical_lists() -> None:
    assert demo_properties(TENANT, TODAY) == demo_properties(TENANT, TODAY)


def test_does_not_touch_global_random() -> None:
    random.seed(1234)
    expected_next = random.random()
    random.seed(1234)
    demo_properties(TENANT, TODAY, count=20)
    assert random.random() == expected_next


def test_count_and_exact_keys(properties: list[dict[str, Any]]) -> None:
    assert len(properties) == 300
    assert all(set(prop) == EXPECTED_KEYS for prop in properties)
    assert len(demo_properties(TENANT, TODAY, count=7)) == 7
    assert demo_properties(TENANT, TODAY, count=0) == []


def test_all_three_cities_with_at_least_80_each(properties: list[dict[str, Any]]) -> None:
    cities = Counter(prop["city"] for prop in properties)
    assert set(cities) == set(CENTERS)
    assert all(cities[city] >= 80 for city in CENTERS)


def test_closed_share_and_close_fields(properties: list[dict[str, Any]]) -> None:
    closed = [prop for prop in properties if prop["standard_status"] == "Closed"]
    assert len(closed) >= 0.3 * len(properties)
    earliest = _eighteen_months_before(TODAY)
    for prop in closed:
        assert isinstance(prop["close_price"], Decimal) and prop["close_price"] > 0
        assert isinstance(prop["close_date"], datetime.date)
        assert earliest <= prop["close_date"] <= TODAY
        assert prop["listing_contract_date"] < prop["close_date"]


def test_non_closed_have_no_close_fields(properties: list[dict[str, Any]]) -> None:
    for prop in properties:
        if prop["standard_status"] != "Closed":
            assert prop["close_price"] is None and prop["close_date"] is None
        assert prop["listing_contract_date"] < TODAY
        assert prop["days_on_market"] >= 0


def test_no_duplicate_identifiers_or_addresses(properties: list[dict[str, Any]]) -> None:
    listing_ids = [prop["listing_id"] for prop in properties]
    parcels = [prop["parcel_number"] for prop in properties]
    street_lines = [
        (prop["street_number"], prop["street_name"], prop["unit_number"], prop["city"])
        for prop in properties
    ]
    assert len(set(listing_ids)) == len(listing_ids)
    assert len(set(parcels)) == len(parcels)
    assert len(set(street_lines)) == len(street_lines)


def test_two_tenants_differ(properties: list[dict[str, Any]]) -> None:
    other = demo_properties("other-brokerage", TODAY)
    assert other != properties
    assert {prop["listing_id"] for prop in other} != {prop["listing_id"] for prop in properties}
    assert [prop["unparsed_address"] for prop in other] != [
        prop["unparsed_address"] for prop in properties
    ]


def test_coordinates_within_15_miles_of_metro_center(properties: list[dict[str, Any]]) -> None:
    for prop in properties:
        center_lat, center_lon = CENTERS[prop["city"]]
        distance = _miles_between(prop["latitude"], prop["longitude"], center_lat, center_lon)
        assert distance <= 15, prop["unparsed_address"]


def test_prices_positive_with_two_decimals(properties: list[dict[str, Any]]) -> None:
    for prop in properties:
        for field in ("list_price", "original_list_price", "close_price", "tax_annual_amount"):
            value = prop[field]
            if value is None:
                continue
            assert isinstance(value, Decimal)
            assert value > 0
            assert value.as_tuple().exponent == -2
        assert prop["original_list_price"] >= prop["list_price"]
        assert prop["list_price"] % 100 == 0


def test_address_fields_are_consistent(properties: list[dict[str, Any]]) -> None:
    for prop in properties:
        street = f"{prop['street_number']} {prop['street_name']}"
        if prop["unit_number"] is not None:
            street += f", Unit {prop['unit_number']}"
        expected = f"{street}, {prop['city']}, {prop['state_or_province']} {prop['postal_code']}"
        assert prop["unparsed_address"] == expected
        assert 100 <= int(prop["street_number"]) <= 9999
        assert len(prop["postal_code"]) == 5 and prop["postal_code"].isdigit()


def test_media_and_features_are_well_formed(properties: list[dict[str, Any]]) -> None:
    for prop in properties:
        assert len(prop["features"]) == len(set(prop["features"])) <= 4
        media = prop["media"]
        assert 1 <= len(media) <= 4
        assert [item["order"] for item in media] == list(range(1, len(media) + 1))
        assert media[0]["url"] == f"/media/demo/{prop['listing_id']}/1.jpg"
        if prop["property_type"] == "Land":
            assert len(media) == 1 and prop["bedrooms_total"] is None
