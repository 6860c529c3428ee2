"""Saved-search rules with worked numbers: criteria validation, matching with reasons, the match
score formula, which changes alert, the index's prefilters, delivery schedules and signatures."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.delivery import digest_slot, next_slot, retry_delay, should_disable
from domain.errors import DomainError
from domain.matching import (
    Compiled,
    Listing,
    SearchIndex,
    alerts_for,
    change_of,
    dedupe_key,
    match,
    miles_between,
    score_of,
)
from domain.saved_search import (
    Channel,
    Criteria,
    CriteriaInput,
    GeoCircle,
    SavedSearch,
    criteria_from_json,
    criteria_to_json,
    describe,
    validate_channels,
    validate_criteria,
)
from integrations.delivery.webhook import (
    UnsafeUrl,
    check_destination,
    sign,
    verify,
)

TENANT = uuid.uuid4()


def search(**criteria: object) -> SavedSearch:
    return SavedSearch(
        id=uuid.uuid4(),
        tenant_id=TENANT,
        user_id=uuid.uuid4(),
        name="Buy box",
        criteria=Criteria(**criteria),  # type: ignore[arg-type]
    )


def house(**fields: object) -> Listing:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "address": "1 MAIN ST, Austin, TX 78701",
        "city": "Austin",
        "postal_code": "78701",
        "latitude": 30.2672,
        "longitude": -97.7431,
        "property_type": "Residential",
        "standard_status": "Active",
        "list_price": Decimal("300000"),
        "bedrooms": 3,
        "bathrooms": 2,
    }
    values.update(fields)
    return Listing(**values)  # type: ignore[arg-type]


def reasons(found: object) -> list[tuple[str, int]]:
    return [(reason.code, reason.weight) for reason in found.reasons]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- validation


def test_criteria_are_normalized() -> None:
    criteria = validate_criteria(
        CriteriaInput(
            cities=[" san  antonio ", "San Antonio", "Austin"],
            postal_codes=["78701-1234", "787011234", "sw1a 1aa"],
            property_types=["Residential", "Residential"],
            min_price="100000",
            max_price=Decimal("250000.50"),
        ),
        ("input", "criteria"),
    )
    assert criteria.cities == ("san antonio", "Austin")
    assert criteria.postal_codes == ("78701", "SW1A1AA")
    assert criteria.property_types == ("Residential",)
    assert criteria.min_price == Decimal("100000")
    assert criteria_from_json(criteria_to_json(criteria)) == criteria


def test_criteria_errors_name_their_fields() -> None:
    path = ("input", "criteria")
    with pytest.raises(DomainError) as raised:
        validate_criteria(CriteriaInput(min_price="9", max_price="5", min_score=200), path)
    assert sorted(e.field for e in raised.value.errors) == [
        (*path, "minPrice"),
        (*path, "minScore"),
    ]
    with pytest.raises(DomainError) as empty:
        validate_criteria(CriteriaInput(), path)
    assert [e.field for e in empty.value.errors] == [path]
    with pytest.raises(DomainError) as too_many:
        validate_criteria(CriteriaInput(cities=["x"] * 51), path)
    assert too_many.value.errors[0].code.value == "LIMIT_EXCEEDED"


def test_channels_always_include_in_app_and_names_come_from_criteria() -> None:
    assert validate_channels([Channel.WEBHOOK, Channel.EMAIL, Channel.EMAIL]) == (
        Channel.IN_APP,
        Channel.EMAIL,
        Channel.WEBHOOK,
    )
    assert validate_channels(None) == (Channel.IN_APP,)
    criteria = Criteria(cities=("Austin",), max_price=Decimal(400000), min_bedrooms=3)
    assert describe(criteria) == "Austin · up to $400,000.00 · 3+ bd"


# ---------------------------------------------------------------- matching and scores


def test_the_worked_example_of_the_score_formula() -> None:
    # Max $400,000, a $300,000 house in a named city: q = 1 and 0.25 with weights 25 and 25:
    # 50 + 50 * (25 + 6.25) / 50 = 81.25 -> 81; the reasons add 25 and 6.
    found = match(Compiled(search(cities=("Austin",), max_price=Decimal(400000))), house())
    assert found is not None and found.score == 81
    assert reasons(found) == [("IN_AREA", 25), ("PRICE_IN_RANGE", 6)]
    assert [r.detail for r in found.reasons] == ["In Austin", "$300,000.00, at most $400,000.00"]


def test_every_reason_with_its_quality() -> None:
    criteria = {
        "postal_codes": ("78701",),
        "min_price": Decimal(200000),
        "max_price": Decimal(400000),
        "max_price_to_arv": Decimal("0.75"),
        "min_score": 60,
    }
    listing = house(arv=Decimal(500000), score=80)
    found = match(Compiled(search(**criteria)), listing)
    assert found is not None
    # IN_AREA 1 * 25; PRICE (400-300)/(400-200) = .5 * 25 = 12.5; BELOW_ARV ratio .6:
    # (.75 - .6) / .75 = .2 * 30 = 6; SCORE (80 - 60) / 40 = .5 * 20 = 10. Sum 53.5 of 100
    # weight -> 50 * .535 = 26.75 -> 27 -> 77.
    assert found.score == 77
    assert reasons(found) == [
        ("IN_AREA", 13),
        ("PRICE_IN_RANGE", 6),
        ("BELOW_ARV", 3),
        ("SCORE_ABOVE_MIN", 5),
    ]
    assert sum(weight for _, weight in reasons(found)) == found.score - 50
    assert found.reasons[2].detail == ("$300,000.00 is 60% of ARV $500,000.00 (at most 75%)")
    assert found.reasons[3].detail == "Score 80 (at least 60)"


def test_what_does_not_match() -> None:
    box = Compiled(
        search(
            cities=("Austin",),
            max_price=Decimal(350000),
            property_types=("Residential",),
            min_bedrooms=3,
            min_bathrooms=2,
            max_price_to_arv=Decimal("0.8"),
        )
    )
    valued = house(arv=Decimal(400000))
    assert match(box, valued) is not None
    for different in (
        replace(valued, city="Dallas"),
        replace(valued, list_price=Decimal(350001)),
        replace(valued, list_price=None),
        replace(valued, property_type="Land"),
        replace(valued, bedrooms=2),
        replace(valued, bathrooms=None),
        replace(valued, arv=None),  # not valued yet: no match until it is
        replace(valued, arv=Decimal(374999)),  # 350000 / 374999 > 0.8
        replace(valued, standard_status="Closed"),
        replace(valued, standard_status="Pending"),
    ):
        assert match(box, different) is None, different
    assert match(box, replace(valued, standard_status="Coming Soon")) is not None
    assert match(box, replace(valued, standard_status=None)) is not None  # off-market lead


def test_a_radius_match_loses_points_with_distance() -> None:
    box = Compiled(search(near=GeoCircle(30.2672, -97.7431, 2.0)))
    center = match(box, house())
    edge = match(box, house(latitude=30.2672 + 1.9 / 69.09))
    assert center is not None and center.score == 100
    assert edge is not None and 50 <= edge.score <= 53
    assert match(box, house(latitude=30.2672 + 2.1 / 69.09)) is None
    assert match(box, house(latitude=None, longitude=None)) is None
    assert abs(miles_between(30.2672, -97.7431, 32.7767, -96.797) - 182.1) < 1  # Austin-Dallas


def test_a_search_of_filters_only_scores_fifty() -> None:
    assert score_of([]) == (50, ())
    found = match(Compiled(search(min_bedrooms=2)), house())
    assert found is not None and found.score == 50 and found.reasons == ()


# ---------------------------------------------------------------- which changes alert


def test_the_changes_that_alert() -> None:
    now = house(list_price=Decimal("290000.00"))
    created = change_of("property.created", {}, now)
    assert created is not None and created.key == "at:290000.00" and created.previous is None
    drop = change_of("property.price_changed", {"from": "300000.00", "to": "290000.00"}, now)
    assert drop is not None and drop.key == "at:290000.00" and drop.previous is None
    rise = change_of("property.price_changed", {"from": "280000.00"}, now)
    assert rise is not None and rise.previous == replace(now, list_price=Decimal("280000.00"))
    back = change_of("property.status_changed", {"from": "Pending", "to": "Active"}, now)
    assert back is not None and back.key == "back:Active:290000.00"
    assert change_of("property.updated", {"changed": ["features", "media"]}, now) is None
    assert change_of("property.updated", {"changed": ["bedrooms_total"]}, now) is not None
    valued = change_of("property.valued", {"previous_arv": None, "previous_score": 40}, now)
    assert valued is not None and valued.previous == replace(now, arv=None, score=40)
    assert change_of("property.deleted", {}, now) is None


def test_a_search_is_alerted_only_when_the_change_makes_news_for_it() -> None:
    box = search(cities=("Austin",), min_price=Decimal(250000), min_score=50)
    index = SearchIndex([box])
    listing = house(score=70)
    rise = change_of("property.price_changed", {"from": "240000"}, listing)
    assert rise is not None
    [(found, change)] = alerts_for(index, listing, [rise])  # rose into the range: news
    assert change.key == "at:300000.00"
    rise_within = change_of("property.price_changed", {"from": "260000"}, listing)
    assert alerts_for(index, listing, [rise_within]) == []  # rose within the range
    valued = change_of("property.valued", {"previous_score": 45}, listing)
    assert len(alerts_for(index, listing, [valued])) == 1  # became a match by its score
    rescored = change_of("property.valued", {"previous_score": 60}, listing)
    assert alerts_for(index, listing, [rescored]) == []  # matched before too
    key = dedupe_key(box.id, listing.id, change)
    assert key == f"PROPERTY_MATCH:{box.id}:{listing.id}:at:300000.00"


def test_the_index_finds_exactly_what_brute_force_finds() -> None:
    rng = random.Random(7)
    cities = ["Austin", "Phoenix", "Columbus", "Dallas"]
    searches = []
    for _ in range(600):
        kind = rng.random()
        criteria: dict[str, object] = {"max_price": Decimal(rng.randrange(150, 600) * 1000)}
        if kind < 0.4:
            criteria["cities"] = tuple(rng.sample(cities, 2))
        elif kind < 0.6:
            criteria["postal_codes"] = (f"787{rng.randrange(0, 20):02d}",)
        elif kind < 0.9:
            criteria["near"] = GeoCircle(
                30 + rng.uniform(-1, 1), -97.7 + rng.uniform(-1, 1), rng.uniform(1, 60)
            )
        searches.append(search(**criteria))
    paused = replace(searches[0], paused_at=datetime.now(UTC))
    index = SearchIndex([*searches, paused])
    assert len(index) == 600
    for _ in range(300):
        listing = house(
            city=rng.choice(cities),
            postal_code=f"787{rng.randrange(0, 20):02d}",
            latitude=30 + rng.uniform(-1.5, 1.5),
            longitude=-97.7 + rng.uniform(-1.5, 1.5),
            list_price=Decimal(rng.randrange(100, 700) * 1000),
        )
        fast = {found.search.id for _, found in index.matches(listing)}
        slow = {s.id for s in searches if match(Compiled(s), listing) is not None}
        assert fast == slow
        assert len(index.candidates(listing)) <= 600


# ---------------------------------------------------------------- delivery rules


def test_retries_back_off_exponentially_up_to_six_hours() -> None:
    assert [retry_delay(n, jitter=0) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20, jitter=0) == 6 * 3600
    assert 30 <= retry_delay(1, rng=random.Random(1)) <= 33
    assert not should_disable(7) and should_disable(8)


def test_digest_slots() -> None:
    before = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    after = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert digest_slot(before, 12) == (date(2026, 11, 22), datetime(2026, 11, 22, 12, tzinfo=UTC))
    assert digest_slot(after, 12) == (date(2026, 11, 23), datetime(2026, 11, 23, 12, tzinfo=UTC))
    assert next_slot(date(2026, 11, 22), 12)[0] == date(2026, 11, 23)


def test_signatures_cover_the_timestamp_and_the_raw_body() -> None:
    secret, body = "whsec_test", b'{"a":1}'
    signature = sign(secret, 1_700_000_000, body)
    # HMAC-SHA256(secret, "1700000000." + body), hex
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected
    headers = {"X-Reos-Signature": signature, "X-Reos-Timestamp": "1700000000"}
    assert verify(secret, headers, body, now=1_700_000_100)
    assert not verify(secret, headers, body, now=1_700_000_400)  # too old: a replay
    assert not verify(secret, {**headers, "X-Reos-Timestamp": "1700000001"}, body, now=1.7e9)


def test_production_refuses_private_and_loopback_destinations() -> None:
    async def check(url: str, allow_private: bool) -> None:
        await check_destination(url, allow_private)

    for url in (
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
    ):
        with pytest.raises(UnsafeUrl):
            asyncio.run(check(url, False))
        asyncio.run(check(url, True))  # development and test may call local receivers
    asyncio.run(check("https://93.184.216.34/hook", False))  # a public address
    for url in ("ftp://example.com/", "https://user:pw@example.com/", "https:///nohost"):
        with pytest.raises(UnsafeUrl):
            asyncio.run(check(url, True))
