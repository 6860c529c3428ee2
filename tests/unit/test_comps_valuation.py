"""Comp selection and the market-derived adjustment grid, with hand-computed numbers."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.comps import (
    DEFAULT_SEARCH,
    Candidate,
    CompGap,
    CompSearch,
    changes_comps_nearby,
    comp_search,
    comps_first,
    months_before,
    select_comps,
)
from domain.errors import DomainError
from domain.property import Property
from domain.valuation import METHOD, AdjustmentKind, median, value_property

AS_OF = date(2026, 6, 15)
TENANT = uuid.UUID(int=1)


def house(**values: Any) -> Property:
    defaults: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "address_key": uuid.uuid4().hex,
        "unparsed_address": "1 Main St",
        "city": "Springfield",
        "state_or_province": "IL",
        "latitude": 40.0,
        "longitude": -89.0,
        "property_type": "Residential",
        "standard_status": "Active",
        "living_area": Decimal("1600.00"),
        "bedrooms_total": 3,
        "bathrooms_total_integer": 2,
        "year_built": 2000,
    }
    return Property(**{**defaults, **values})


def sale(price: str, miles: float = 0.2, **values: Any) -> Candidate:
    prop = house(
        standard_status="Closed",
        close_price=Decimal(price),
        close_date=values.pop("close_date", date(2026, 3, 1)),
        **values,
    )
    return Candidate(prop, miles)


SUBJECT = house()


def worked_comps() -> list[Candidate]:
    return [
        sale("300000.00", 0.10, living_area=Decimal("1500.00")),  # A
        sale("350000.00", 0.20, living_area=Decimal("1700.00"), bedrooms_total=4),  # B
        sale("310000.00", 0.30, bathrooms_total_integer=1, year_built=1990),  # C
    ]


# ---------------------------------------------------------------- selection


def test_months_before_clamps_to_the_end_of_the_month() -> None:
    assert months_before(date(2026, 6, 15), 12) == date(2025, 6, 15)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 10), 1) == date(2025, 12, 10)


def test_only_comparable_closed_sales_are_selected() -> None:
    good = sale("300000", 0.1)
    rejected = [
        sale("300000", 0.1, property_type="Residential Income"),  # other type
        sale("300000", 0.1, living_area=Decimal("1279.99")),  # 20 % smaller is the limit
        sale("300000", 0.1, living_area=Decimal("1920.01")),  # 20 % larger is the limit
        sale("300000", 0.1, close_date=date(2025, 6, 14)),  # older than 12 months
        sale("300000", 0.1, close_date=date(2026, 6, 16)),  # after as_of
        sale("300000", 1.01),  # beyond 1 mile
        sale("300000", 0.1, tenant_id=uuid.UUID(int=2)),  # another tenant
        Candidate(house(standard_status="Active", close_price=Decimal(1)), 0.1),
        Candidate(house(standard_status="Closed"), 0.1),  # no close price or date
        Candidate(replace(SUBJECT), 0.0),  # the subject itself
    ]
    edges = [
        sale("300000", 0.1, living_area=Decimal("1280.00")),
        sale("300000", 0.1, living_area=Decimal("1920.00")),
        sale("300000", 0.1, close_date=date(2025, 6, 15)),
    ]
    selection = select_comps(SUBJECT, [good, *rejected, *edges], DEFAULT_SEARCH, AS_OF)
    assert {c.property.id for c in selection.comps} == {c.property.id for c in [good, *edges]}


def test_half_a_mile_is_enough_with_three_comps() -> None:
    near = [sale("300000", 0.1), sale("300000", 0.3), sale("300000", 0.5)]
    far = sale("300000", 0.8)
    selection = select_comps(SUBJECT, [far, *near], DEFAULT_SEARCH, AS_OF)
    assert [c.distance_miles for c in selection.comps] == [0.1, 0.3, 0.5]
    assert (selection.radius_miles, selection.widened) == (0.5, False)


def test_fewer_than_three_within_half_a_mile_widens_to_one_mile() -> None:
    candidates = [sale("300000", 0.2), sale("300000", 0.45), sale("300000", 0.9)]
    selection = select_comps(SUBJECT, candidates, DEFAULT_SEARCH, AS_OF)
    assert [c.distance_miles for c in selection.comps] == [0.2, 0.45, 0.9]
    assert (selection.radius_miles, selection.widened) == (1.0, True)


def test_an_explicit_radius_is_not_widened() -> None:
    candidates = [sale("300000", 0.2), sale("300000", 0.9)]
    selection = select_comps(SUBJECT, candidates, comp_search(0.5, None), AS_OF)
    assert [c.distance_miles for c in selection.comps] == [0.2]
    assert selection.widened is False


def test_comps_are_ordered_nearest_then_most_recent() -> None:
    older = sale("300000", 0.2, close_date=date(2026, 1, 1))
    newer = sale("300000", 0.2, close_date=date(2026, 2, 1))
    nearest = sale("300000", 0.1, close_date=date(2025, 12, 1))
    selection = select_comps(SUBJECT, [older, newer, nearest], DEFAULT_SEARCH, AS_OF)
    assert [c.property.id for c in selection.comps] == [
        nearest.property.id,
        newer.property.id,
        older.property.id,
    ]


@pytest.mark.parametrize(
    ("subject", "gap"),
    [
        (house(latitude=None), CompGap.NO_LOCATION),
        (house(property_type=None), CompGap.NO_PROPERTY_TYPE),
        (house(living_area=None), CompGap.NO_LIVING_AREA),
        (house(), CompGap.NO_COMPS),
    ],
)
def test_no_comps_is_a_reason_not_an_error(subject: Property, gap: CompGap) -> None:
    valuation = value_property(subject, [], DEFAULT_SEARCH, AS_OF)
    assert valuation.arv is None and valuation.comps == ()
    assert valuation.reason_code == gap.value
    assert valuation.reason


def test_no_comps_reason_names_the_search() -> None:
    valuation = value_property(SUBJECT, [], DEFAULT_SEARCH, AS_OF)
    assert valuation.reason == (
        "No closed sales of Residential within 1 mile in the last 12 months with a living area "
        "within 20 % of 1,600 sq ft."
    )


def test_search_arguments_are_validated() -> None:
    assert comp_search(None, None) == CompSearch()
    assert comp_search(10, 60) == CompSearch(10.0, None, 60)
    for radius, months in ((0, None), (-1, None), (10.01, None), (None, 0), (None, 61)):
        with pytest.raises(DomainError):
            comp_search(radius, months)
    assert comps_first(None) == 20 and comps_first(50) == 50
    with pytest.raises(DomainError):
        comps_first(51)


def test_which_events_change_the_comps_of_neighbours() -> None:
    closed = {"standard_status": "Closed"}
    assert changes_comps_nearby("property.created", closed)
    assert not changes_comps_nearby("property.created", {"standard_status": "Active"})
    assert changes_comps_nearby("property.status_changed", {"from": "Pending", "to": "Closed"})
    assert changes_comps_nearby("property.status_changed", {"from": "Closed", "to": "Active"})
    assert not changes_comps_nearby("property.status_changed", {"from": "Active", "to": "Hold"})
    assert changes_comps_nearby("property.updated", {**closed, "changed": ["close_price"]})
    assert not changes_comps_nearby("property.updated", {**closed, "changed": ["list_price"]})
    assert changes_comps_nearby("property.deleted", closed)
    assert not changes_comps_nearby("property.price_changed", closed)


# ---------------------------------------------------------------- the adjustment grid


def test_worked_example() -> None:
    valuation = value_property(SUBJECT, worked_comps(), DEFAULT_SEARCH, AS_OF)
    # $/sq ft: A 300,000 / 1,500 = 200.00, B 350,000 / 1,700 = 205.88, C 310,000 / 1,600 =
    # 193.75 -> median 200.00.
    assert valuation.price_per_sqft == Decimal("200.00")
    rates = {rate.kind: rate.rate for rate in valuation.rates}
    # Size-adjusted: A 300,000 + 100 x 200 = 320,000; B 350,000 - 100 x 200 = 330,000; C 310,000.
    # Bedrooms (A 3, B 4, C 3): A-B (330,000 - 320,000) / 1 = 10,000; B-C (310,000 - 330,000) / -1
    # = 20,000 -> median 15,000. B: (3 - 4) x 15,000 = -15,000 -> 315,000.
    # Bathrooms (A 2, B 2, C 1): A-C (310,000 - 320,000) / -1 = 10,000; B-C (310,000 - 315,000) /
    # -1 = 5,000 -> median 7,500. C: (2 - 1) x 7,500 = +7,500 -> 317,500.
    # Age (built A 2000, B 2000, C 1990): A-C (317,500 - 320,000) / -10 = 250; B-C (317,500 -
    # 315,000) / -10 = -250 -> median 0.
    assert rates == {
        AdjustmentKind.LIVING_AREA: Decimal("200.00"),
        AdjustmentKind.BEDROOMS: Decimal("15000.00"),
        AdjustmentKind.BATHROOMS: Decimal("7500.00"),
        AdjustmentKind.AGE: Decimal("0.00"),
    }
    grid = [[line.amount for line in comp.adjustments] for comp in valuation.comps]
    assert grid == [
        [Decimal("20000.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")],
        [Decimal("-20000.00"), Decimal("-15000.00"), Decimal("0.00"), Decimal("0.00")],
        [Decimal("0.00"), Decimal("0.00"), Decimal("7500.00"), Decimal("0.00")],
    ]
    adjusted = [comp.adjusted_price for comp in valuation.comps]
    assert adjusted == [Decimal("320000.00"), Decimal("315000.00"), Decimal("317500.00")]
    assert valuation.arv == Decimal("317500.00")
    assert valuation.method == METHOD == "SALES_COMPARISON_MEDIAN_ADJUSTED"
    # COD = (2,500 + 2,500 + 0) / 3 / 317,500 = 0.00525; 3/5 x (1 - 0.0105) = 0.5937 -> 0.59
    assert valuation.confidence == Decimal("0.59")
    b_bedrooms = valuation.comps[1].adjustments[1]
    assert b_bedrooms.detail == "Subject 3 bedrooms, comp 4: -1 x $15,000.00/bedroom = -$15,000.00."
    assert valuation.comps[2].adjustments[3].detail.startswith("Subject built 2000, comp 1990")


def test_each_adjusted_price_is_the_sale_price_plus_its_shown_adjustments() -> None:
    valuation = value_property(SUBJECT, worked_comps(), DEFAULT_SEARCH, AS_OF)
    for comp in valuation.comps:
        assert comp.adjusted_price == comp.sale_price + sum(a.amount for a in comp.adjustments)
        assert [a.kind for a in comp.adjustments] == list(AdjustmentKind)


def test_the_order_of_the_comps_does_not_change_the_value() -> None:
    comps = worked_comps()
    forward = value_property(SUBJECT, comps, DEFAULT_SEARCH, AS_OF)
    backward = value_property(SUBJECT, list(reversed(comps)), DEFAULT_SEARCH, AS_OF)
    assert forward == backward


def test_an_inferior_comp_is_adjusted_up_and_a_superior_one_down() -> None:
    smaller = sale("300000", 0.1, living_area=Decimal("1500"))
    larger = sale("340000", 0.2, living_area=Decimal("1700"))
    valuation = value_property(SUBJECT, [smaller, larger], DEFAULT_SEARCH, AS_OF)
    by_id = {comp.property.id: comp for comp in valuation.comps}
    assert by_id[smaller.property.id].adjustments[0].amount > 0
    assert by_id[larger.property.id].adjustments[0].amount < 0


def test_a_negative_paired_value_is_floored_at_zero_and_said_so() -> None:
    # The 4-bedroom sold for less per size-adjusted dollar: no market evidence for a bedroom.
    comps = [sale("320000", 0.1), sale("300000", 0.2, bedrooms_total=4)]
    valuation = value_property(SUBJECT, comps, DEFAULT_SEARCH, AS_OF)
    bedrooms = valuation.rates[1]
    assert bedrooms.kind is AdjustmentKind.BEDROOMS and bedrooms.rate == Decimal("0.00")
    assert "negative, so 0" in bedrooms.detail


def test_a_large_paired_value_is_capped() -> None:
    # One pair implies $100,000 a bathroom; the cap is 10 % of the median sale (35,000).
    comps = [sale("300000", 0.1, bathrooms_total_integer=1), sale("400000", 0.2)]
    valuation = value_property(SUBJECT, comps, DEFAULT_SEARCH, AS_OF)
    bathrooms = valuation.rates[2]
    assert bathrooms.rate == Decimal("35000.00")
    assert "capped at $35,000.00" in bathrooms.detail


def test_no_variation_means_no_adjustment_and_a_reason() -> None:
    comps = [sale("300000", 0.1), sale("310000", 0.2), sale("305000", 0.3)]
    valuation = value_property(SUBJECT, comps, DEFAULT_SEARCH, AS_OF)
    for rate in valuation.rates[1:]:
        assert rate.rate == Decimal("0.00") and rate.pairs == 0
        assert rate.detail.startswith("No two comps differ")
    assert valuation.arv == Decimal("305000.00")


def test_missing_values_are_not_adjusted_and_say_why() -> None:
    comps = [sale("300000", 0.1, year_built=None), sale("310000", 0.2, year_built=1990)]
    valuation = value_property(house(bedrooms_total=None), comps, DEFAULT_SEARCH, AS_OF)
    assert valuation.rates[1].detail == "The subject has no bedrooms: no adjustment."
    age = valuation.comps[0].adjustments[3]
    assert age.amount == Decimal("0.00") and age.difference is None
    assert age.detail == "The comp has no year built."


def test_confidence_grows_with_comps_and_falls_with_spread() -> None:
    same = [sale("300000", 0.1 * i) for i in range(1, 6)]
    assert value_property(SUBJECT, same, DEFAULT_SEARCH, AS_OF).confidence == Decimal("1.00")
    assert value_property(SUBJECT, same[:3], DEFAULT_SEARCH, AS_OF).confidence == Decimal("0.60")
    spread = [sale("200000", 0.1), sale("300000", 0.2), sale("400000", 0.3)]
    # COD = (100,000 + 0 + 100,000) / 3 / 300,000 = 0.2222; 0.6 x (1 - 0.4444) = 0.3333
    assert value_property(SUBJECT, spread, DEFAULT_SEARCH, AS_OF).confidence == Decimal("0.33")


def test_median() -> None:
    assert median([Decimal(3), Decimal(1), Decimal(2)]) == 2
    assert median([Decimal(4), Decimal(1), Decimal(2), Decimal(3)]) == Decimal("2.5")
