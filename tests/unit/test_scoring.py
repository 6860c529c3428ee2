"""The investment score: deterministic, versioned, bounded 0-100, every reason explained."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from domain.comps import DEFAULT_SEARCH
from domain.property import Property
from domain.scoring import (
    SCORE_WEIGHTS_V1,
    ScoreWeights,
    days_on_market,
    inputs_hash,
    score_property,
)
from domain.valuation import value_property

AS_OF = date(2026, 6, 15)
ARV = Decimal("300000.00")


def listing(**values: Any) -> Property:
    defaults: dict[str, Any] = {
        "id": uuid.UUID(int=7),
        "tenant_id": uuid.UUID(int=1),
        "address_key": "k",
        "unparsed_address": "1 Main St",
        "city": "Springfield",
        "state_or_province": "IL",
        "property_type": "Residential",
        "standard_status": "Active",
        "list_price": Decimal("300000.00"),
        "days_on_market": 10,
        "features": [],
    }
    merged = {**defaults, **values}
    merged.setdefault("original_list_price", merged["list_price"])  # no price cut unless given
    return Property(**merged)


def reasons(prop: Property, arv: Decimal | None = ARV) -> dict[str, int]:
    return {r.code: r.weight for r in score_property(prop, arv, AS_OF).reasons}


def test_the_weights_are_versioned_and_add_up_to_100() -> None:
    w = SCORE_WEIGHTS_V1
    assert w.version == "v1"
    top = w.price_below_arv + w.high_equity + w.days_on_market[0][1] + w.price_reduced + w.distress
    assert top == 100
    assert score_property(listing(), ARV, AS_OF).version == "v1"


def test_same_inputs_same_score() -> None:
    prop = listing(list_price=Decimal("240000"), features=["Needs Repair"], days_on_market=75)
    first, second = score_property(prop, ARV, AS_OF), score_property(prop, ARV, AS_OF)
    assert first == second
    assert [r.detail for r in first.reasons] == [r.detail for r in second.reasons]


def test_a_fair_listing_scores_zero_with_no_reasons() -> None:
    result = score_property(listing(), ARV, AS_OF)
    assert result.value == 0 and result.reasons == ()


def test_price_below_arv_scales_to_40_at_30_percent() -> None:
    # 10 % below: 40 x 0.10 / 0.30 = 13.33 -> 13
    assert reasons(listing(list_price=Decimal("270000"))) == {"PRICE_BELOW_ARV": 13}
    # 20 % below: 26.67 -> 27
    assert reasons(listing(list_price=Decimal("240000"))) == {"PRICE_BELOW_ARV": 27}
    detail = score_property(listing(list_price=Decimal("240000")), ARV, AS_OF).reasons[0].detail
    assert detail == (
        "List price $240,000.00 is 20.0 % below the ARV $300,000.00 (full 40 points at 30.0 %)."
    )
    assert reasons(listing(list_price=Decimal("330000"))) == {}


def test_high_equity_at_or_under_70_percent_of_arv() -> None:
    assert reasons(listing(list_price=Decimal("210000"))) == {
        "PRICE_BELOW_ARV": 40,
        "HIGH_EQUITY": 15,
    }
    assert "HIGH_EQUITY" not in reasons(listing(list_price=Decimal("210000.01")))


def test_days_on_market_bands_for_unsold_listings() -> None:
    assert reasons(listing(days_on_market=29)) == {}
    assert reasons(listing(days_on_market=30)) == {"DAYS_ON_MARKET": 5}
    assert reasons(listing(days_on_market=60)) == {"DAYS_ON_MARKET": 10}
    assert reasons(listing(days_on_market=400, standard_status="Expired")) == {"DAYS_ON_MARKET": 15}
    assert reasons(listing(days_on_market=400, standard_status="Pending")) == {}
    assert reasons(listing(days_on_market=400, standard_status="Closed")) == {}


def test_days_on_market_falls_back_to_the_listing_date() -> None:
    prop = listing(days_on_market=None, listing_contract_date=AS_OF - timedelta(days=95))
    assert days_on_market(prop, AS_OF) == 95
    assert reasons(prop) == {"DAYS_ON_MARKET": 15}


def test_price_reduced_scales_to_10_at_10_percent() -> None:
    # cut 5 %: 10 x 0.05 / 0.10 = 5; the price is then also 5 % below the ARV: 40 x 0.05 / 0.3
    prop = listing(list_price=Decimal("285000"))
    assert reasons(prop) == {"PRICE_BELOW_ARV": 7}  # original = list: no cut
    cut = listing(original_list_price=Decimal("300000"), list_price=Decimal("285000"))
    assert reasons(cut, None) == {"NO_ARV": 0, "PRICE_REDUCED": 5}


def test_distress_signal_from_features_as_whole_words() -> None:
    assert reasons(listing(features=["Needs Repair", "Garage"])) == {"DISTRESS_SIGNAL": 20}
    assert reasons(listing(features=["Sold AS-IS"])) == {"DISTRESS_SIGNAL": 20}
    assert reasons(listing(features=["REO / bank owned"])) == {"DISTRESS_SIGNAL": 20}
    assert reasons(listing(features=["Stereo system", "Garage"])) == {}
    detail = score_property(listing(features=["Vacant", "Pool"]), ARV, AS_OF).reasons[0].detail
    assert detail == "Listed as: Vacant."


def test_no_arv_is_a_zero_point_reason() -> None:
    result = score_property(listing(list_price=Decimal("100000")), None, AS_OF)
    assert [(r.code, r.weight) for r in result.reasons] == [("NO_ARV", 0)]
    assert result.value == 0


def test_bounds_0_to_100() -> None:
    best = listing(
        list_price=Decimal("100000"),
        original_list_price=Decimal("200000"),
        days_on_market=365,
        features=["Foreclosure"],
    )
    result = score_property(best, ARV, AS_OF)
    assert result.value == 100
    assert {r.code for r in result.reasons} == {
        "PRICE_BELOW_ARV",
        "HIGH_EQUITY",
        "DAYS_ON_MARKET",
        "PRICE_REDUCED",
        "DISTRESS_SIGNAL",
    }
    generous: ScoreWeights = replace(SCORE_WEIGHTS_V1, version="test", distress=90)
    assert score_property(best, ARV, AS_OF, generous).value == 100  # capped
    assert score_property(listing(), ARV, AS_OF, generous).value == 0


def test_the_inputs_digest_changes_with_the_inputs_only() -> None:
    prop = listing()
    valuation = value_property(prop, [], DEFAULT_SEARCH, AS_OF)
    digest = inputs_hash(prop, valuation)
    assert digest == inputs_hash(listing(), value_property(listing(), [], DEFAULT_SEARCH, AS_OF))
    cheaper = listing(list_price=Decimal("1"))
    assert digest != inputs_hash(cheaper, value_property(cheaper, [], DEFAULT_SEARCH, AS_OF))
