"""Property rules with worked examples: validation, enrichment locks, change events, keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import DomainError, ErrorCode
from domain.property import change_events, derived_fields, unlocked_changes, validate_fields


def fields_of(values: dict) -> list[tuple[str, ...]]:
    return [error.field for error in validate_fields(values)]


def test_valid_values_pass() -> None:
    assert (
        validate_fields(
            {
                "list_price": Decimal("412500.00"),
                "bedrooms_total": 3,
                "bathrooms_total_integer": 2,
                "latitude": 30.27,
                "longitude": -97.74,
                "living_area": Decimal("1850"),
                "year_built": 1987,
                "close_date": date(2026, 3, 1),
                "features": ["Pool"],
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"list_price": Decimal("-1")}, "listPrice"),
        ({"list_price": Decimal("1000000000.01")}, "listPrice"),
        ({"close_price": Decimal("10.001")}, "closePrice"),
        ({"list_price": Decimal("NaN")}, "listPrice"),
        ({"bedrooms_total": 101}, "bedroomsTotal"),
        ({"bedrooms_total": -1}, "bedroomsTotal"),
        ({"latitude": 90.5}, "latitude"),
        ({"longitude": -180.1}, "longitude"),
        ({"city": "x" * 101}, "address.city"),
        ({"year_built": 1200}, "yearBuilt"),
        ({"features": ["x" * 81]}, "features"),
    ],
)
def test_each_bad_value_names_its_field(values: dict, field: str) -> None:
    assert fields_of(values) == [("input", *field.split("."))]


def test_all_problems_are_reported_at_once() -> None:
    assert (
        len(validate_fields({"list_price": Decimal("-5"), "bedrooms_total": 500, "latitude": 99}))
        == 3
    )


def test_enrichment_never_touches_locked_fields() -> None:
    current = {"list_price": Decimal("400000.00"), "bedrooms_total": 3, "city": "Austin"}
    incoming = {"list_price": Decimal("390000.00"), "bedrooms_total": 4, "city": "Austin"}
    assert unlocked_changes(current, incoming, locked={"list_price"}) == {"bedrooms_total": 4}


def test_price_and_status_changes_become_events() -> None:
    before = {"list_price": Decimal("400000.00"), "standard_status": "Active"}
    after = {"list_price": Decimal("385000.00"), "standard_status": "Pending"}
    assert change_events(before, after) == [
        ("property.price_changed", {"from": "400000.00", "to": "385000.00"}),
        ("property.status_changed", {"from": "Active", "to": "Pending"}),
    ]
    assert change_events(before, {"bedrooms_total": 3}) == []


def test_address_variants_share_one_key() -> None:
    a = derived_fields(
        {"unparsed_address": "123 Main Street", "city": "Austin", "state_or_province": "TX"}
    )
    b = derived_fields(
        {
            "street_number": "123",
            "street_name": "MAIN ST",
            "city": "austin",
            "state_or_province": "tx",
        }
    )
    assert a["address_key"] == b["address_key"]
    assert b["unparsed_address"] == "123 MAIN ST, austin, tx"


def test_missing_address_parts_are_reported() -> None:
    with pytest.raises(DomainError) as raised:
        derived_fields({"street_name": "Main St"})
    codes = {(error.code, error.field[-1]) for error in raised.value.errors}
    assert codes == {
        (ErrorCode.INVALID, "unparsedAddress"),
        (ErrorCode.INVALID, "city"),
        (ErrorCode.INVALID, "stateOrProvince"),
    }
