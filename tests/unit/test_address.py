"""Unit tests for USPS-style address and parcel normalization."""

from __future__ import annotations

import pytest

from domain.address import (
    address_key,
    normalize_city,
    normalize_street_line,
    parcel_key,
    street_line,
)
from domain.errors import DomainError


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("123 Main Street", "123 MAIN ST"),
        ("123 main st.", "123 MAIN ST"),
        ("  123   Main    Str ", "123 MAIN ST"),
        ("500 Congress Avenue", "500 CONGRESS AVE"),
        ("500 Congress Av", "500 CONGRESS AVE"),
        ("500 Congress Aven", "500 CONGRESS AVE"),
        ("77 Sunset Boulevard", "77 SUNSET BLVD"),
        ("8 Old Mill Road", "8 OLD MILL RD"),
        ("14 Lake Shore Drive", "14 LAKE SHORE DR"),
        ("3 Cherry Lane", "3 CHERRY LN"),
        ("3 Elm Terrace", "3 ELM TER"),
        ("3 Elm Circle", "3 ELM CIR"),
        ("3 Blue Ridge Parkway", "3 BLUE RIDGE PKWY"),
        ("3 Pacific Coast Highway", "3 PACIFIC COAST HWY"),
        ("3 Pine Trail", "3 PINE TRL"),
        ("3 Elm Crossing", "3 ELM XING"),
        ("3 Garden State Turnpike", "3 GARDEN STATE TPKE"),
        ("3 Ocean View", "3 OCEAN VW"),
        ("3 Willow Way", "3 WILLOW WAY"),
    ],
)
def test_street_suffix_is_abbreviated(line: str, expected: str) -> None:
    assert normalize_street_line(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("123 Court St", "123 COURT ST"),
        ("9 Avenue Road", "9 AVENUE RD"),
        ("9 Park Place Drive", "9 PARK PLACE DR"),
        ("9 Avenue", "9 AVENUE"),
    ],
)
def test_suffix_word_is_kept_when_it_is_part_of_the_name(line: str, expected: str) -> None:
    assert normalize_street_line(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("45 North Oak Avenue", "45 N OAK AVE"),
        ("45 Oak Avenue Southwest", "45 OAK AVE SW"),
        ("45 Northeast Oak Avenue", "45 NE OAK AVE"),
        ("100 Avenue North", "100 AVENUE N"),
        ("9 West Street", "9 WEST ST"),
        ("9 W St", "9 W ST"),
        ("10 North Avenue", "10 NORTH AVE"),
        ("10 West Street North", "10 WEST ST N"),
    ],
)
def test_directional_is_abbreviated_unless_it_is_the_name(line: str, expected: str) -> None:
    assert normalize_street_line(line) == expected


@pytest.mark.parametrize(
    "line",
    ["12 Elm St Apt 4B", "12 Elm St #4B", "12 Elm St # 4B", "12 Elm St Unit 4b",
     "12 Elm St Suite 4B", "12 Elm St Ste. 4B", "12 Elm St, Apartment 4B", "12 Elm St Apt #4B",
     "12 Elm St No. 4B", "12 Elm St Number 4B", "12 Elm St APT#4B"],
)  # fmt: skip
def test_unit_designators_become_unit(line: str) -> None:
    assert normalize_street_line(line) == "12 ELM ST UNIT 4B"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("12-B Elm Rd", "12-B ELM RD"),
        ("123 1/2 North Main St", "123 1/2 N MAIN ST"),
        ("12 Elm St Suite 4-B", "12 ELM ST UNIT 4-B"),
        ("100 1st Avenue", "100 1ST AVE"),
        ("100 Fifth Avenue", "100 FIFTH AVE"),
        ("123 Main St Apt", "123 MAIN ST APT"),
        ("", ""),
    ],
)
def test_tokens_and_edge_cases(line: str, expected: str) -> None:
    assert normalize_street_line(line) == expected


def test_same_address_written_three_ways_normalizes_identically() -> None:
    forms = ["45 North Oak Avenue Apt 3", "45 N OAK AVE #3", "45 n. oak ave., unit 3"]
    assert {normalize_street_line(form) for form in forms} == {"45 N OAK AVE UNIT 3"}


@pytest.mark.parametrize(
    "line",
    ["123 Main Street", "45 North Oak Avenue Apt 3", "9 West Street", "100 Avenue North",
     "10 West Street North", "12 Elm St # 4B"],
)  # fmt: skip
def test_normalization_is_idempotent(line: str) -> None:
    once = normalize_street_line(line)
    assert normalize_street_line(once) == once


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        ("  austin ", "AUSTIN"),
        ("Saint Louis", "ST LOUIS"),
        ("St. Louis", "ST LOUIS"),
        ("Fort Worth", "FT WORTH"),
        ("Ft. Worth", "FT WORTH"),
        ("Mount Pleasant", "MT PLEASANT"),
        ("Winston-Salem", "WINSTON SALEM"),
        ("Coeur d'Alene", "COEUR D ALENE"),
    ],
)
def test_normalize_city(city: str, expected: str) -> None:
    assert normalize_city(city) == expected


def test_address_key_matches_across_spellings() -> None:
    assert address_key("123 Main Street", "Saint Louis", " mo ") == "123 MAIN ST|ST LOUIS|MO"
    assert address_key("123 Main Street", "Saint Louis", "MO") == address_key(
        "123 main st.", "St. Louis", "mo"
    )


def test_address_key_differs_by_city_and_state() -> None:
    key = address_key("123 Main St", "Austin", "TX")
    assert key != address_key("123 Main St", "Dallas", "TX")
    assert key != address_key("123 Main St", "Austin", "MN")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("123", "Main St", None, None), "123 Main St"),
        ((" 123 ", " Main St ", "4B", "ignored, Austin"), "123 Main St UNIT 4B"),
        (("123", None, None, "123 Main St, Austin, TX 78701"), "123 Main St"),
        ((None, None, None, "  45 Oak Ave Apt 3 , Austin"), "45 Oak Ave Apt 3"),
        (("", "  ", None, None), None),
        ((None, None, None, " , Austin"), None),
        ((None, None, None, None), None),
    ],
)
def test_street_line(parts: tuple[str | None, ...], expected: str | None) -> None:
    assert street_line(*parts) == expected


def test_street_line_from_components_matches_unparsed_address() -> None:
    built = street_line("45", "North Oak Avenue", "#3", None)
    parsed = street_line(None, None, None, "45 N Oak Ave Apt 3, Austin, TX")
    assert built is not None and parsed is not None
    assert address_key(built, "Austin", "TX") == address_key(parsed, "austin", "tx")


def test_parcel_key_ignores_formatting() -> None:
    assert parcel_key("123-456-78", "Travis County", "TX") == "TX|TRAVIS|12345678"
    assert parcel_key("12345678", "TRAVIS", "tx") == "TX|TRAVIS|12345678"
    assert parcel_key("ab 12.3", "Orleans Parish", "la") == "LA|ORLEANS|AB123"


def test_parcel_key_with_missing_county_and_state() -> None:
    assert parcel_key("0012-34", None, None) == "||001234"


def test_parcel_key_differs_by_county() -> None:
    assert parcel_key("123", "Travis", "TX") != parcel_key("123", "Hays", "TX")


def test_parcel_key_rejects_number_without_letters_or_digits() -> None:
    with pytest.raises(DomainError):
        parcel_key(" - ", "Travis", "TX")
