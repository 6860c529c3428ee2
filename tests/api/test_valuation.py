"""Comps, valuation and score through the real app, and the consumer that stores them.

Every test builds its own neighbourhood at a random spot in Montana, far from the demo data
(Austin, Phoenix, Columbus) and from other tests, so no other sale can interfere. Comps are
placed due north of the subject at exact great-circle distances (earthdistance's sphere).
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from starlette.testclient import TestClient

from persistence.database import TenantSession, transaction
from persistence.seed import DEMO_TENANTS
from persistence.valuation import valuations_by_property_ids
from tests.api.test_properties import (
    ADMIN,
    ANALYST,
    OTHER_ADMIN,
    create,
    local_id,
    new_tag,
    run,
    top_code,
    update,
)
from tests.api.test_websocket import relay
from tests.conftest import Api

EARTH_METERS = 6378168.0  # earthdistance's earth()
METERS_PER_MILE = 1609.344
TODAY = datetime.now(UTC).date()
SOLD = (TODAY - timedelta(days=30)).isoformat()

ADJUSTMENTS = "adjustments { kind amount rate subjectValue compValue difference detail }"
COMP = (
    f"property {{ id }} salePrice closeDate distanceMiles pricePerSqft adjustedPrice {ADJUSTMENTS}"
)
VALUATION = f"""arv method pricePerSqft confidence compCount radiusMiles widened monthsBack asOf
  reasonCode reason rates {{ kind rate unit pairs detail }} comps {{ {COMP} }}"""
SCORE = "score { value version reasons { code weight detail } }"
GET = f"""query($id: ID!) {{ property(id: $id) {{ id valuation {{ {VALUATION} }} {SCORE} }} }}"""


class Spot:
    """A random empty neighbourhood; `north(miles)` is a point that far due north."""

    def __init__(self) -> None:
        self.latitude = round(random.uniform(45.0, 48.5), 6)
        self.longitude = round(random.uniform(-113.0, -105.0), 6)
        self.tag = new_tag()
        self.count = 0

    def north(self, miles: float) -> float:
        return self.latitude + math.degrees(miles * METERS_PER_MILE / EARTH_METERS)

    def house(self, miles: float = 0.0, **fields: Any) -> dict[str, Any]:
        self.count += 1
        return {
            "address": {
                "streetNumber": str(self.count),
                "streetName": f"{self.tag} Rd",
                "city": "Lewistown",
                "stateOrProvince": "MT",
                "postalCode": "59457",
            },
            "latitude": self.north(miles),
            "longitude": self.longitude,
            "propertyType": "RESIDENTIAL",
            "standardStatus": "ACTIVE",
            "livingArea": "1600",
            "bedroomsTotal": 3,
            "bathroomsTotalInteger": 2,
            "yearBuilt": 2000,
            **fields,
        }

    def sale(self, miles: float, price: str, **fields: Any) -> dict[str, Any]:
        sold = {"standardStatus": "CLOSED", "closePrice": price, "closeDate": SOLD}
        return self.house(miles, **{**sold, **fields})


def add(api: Api, fields: dict[str, Any], user: str = ADMIN) -> str:
    return create(api, fields, user)["id"]


def worked_example(api: Api) -> tuple[Spot, str, list[str]]:
    """The subject of domain/valuation.py's worked example and its three comps."""
    spot = Spot()
    subject = add(
        api,
        spot.house(
            listPrice="250000", originalListPrice="250000", daysOnMarket=45, features=["Garage"]
        ),
    )
    comps = [
        add(api, spot.sale(0.10, "300000", livingArea="1500")),  # A
        add(api, spot.sale(0.20, "350000", livingArea="1700", bedroomsTotal=4)),  # B
        add(api, spot.sale(0.30, "310000", bathroomsTotalInteger=1, yearBuilt=1990)),  # C
    ]
    return spot, subject, comps


def valuation_of(api: Api, property_id: str, user: str = ADMIN) -> dict:
    return run(api, GET, {"id": property_id}, user)["property"]


# ---------------------------------------------------------------- comps and ARV


def test_worked_example_with_hand_computed_adjustments(api: Api) -> None:
    _, subject, (a, b, c) = worked_example(api)
    found = valuation_of(api, subject, ANALYST)
    valuation = found["valuation"]
    assert [comp["property"]["id"] for comp in valuation["comps"]] == [a, b, c]  # nearest first
    assert [round(comp["distanceMiles"], 2) for comp in valuation["comps"]] == [0.1, 0.2, 0.3]
    # $/sq ft: A 300,000 / 1,500 = 200.00; B 350,000 / 1,700 = 205.88; C 310,000 / 1,600 =
    # 193.75; median 200.00, the living-area rate.
    assert [comp["pricePerSqft"] for comp in valuation["comps"]] == ["200.00", "205.88", "193.75"]
    assert valuation["pricePerSqft"] == "200.00"
    # Living area: A (1,600 - 1,500) x 200 = +20,000 -> 320,000; B (1,600 - 1,700) x 200 =
    # -20,000 -> 330,000; C same size -> 310,000.
    # Bedrooms (A 3, B 4, C 3) on those prices: pair A-B (330,000 - 320,000) / (4 - 3) = 10,000,
    # pair B-C (310,000 - 330,000) / (3 - 4) = 20,000; median 15,000. B: (3 - 4) x 15,000 =
    # -15,000 -> 315,000.
    # Bathrooms (A 2, B 2, C 1): pair A-C (310,000 - 320,000) / (1 - 2) = 10,000, pair B-C
    # (310,000 - 315,000) / (1 - 2) = 5,000; median 7,500. C: (2 - 1) x 7,500 = +7,500 -> 317,500.
    # Age (built A 2000, B 2000, C 1990): pair A-C (317,500 - 320,000) / (1990 - 2000) = 250,
    # pair B-C (317,500 - 315,000) / (1990 - 2000) = -250; median 0: no age adjustment.
    assert [(r["kind"], r["rate"], r["pairs"]) for r in valuation["rates"]] == [
        ("LIVING_AREA", "200.00", 3),
        ("BEDROOMS", "15000.00", 2),
        ("BATHROOMS", "7500.00", 2),
        ("AGE", "0.00", 2),
    ]
    grid = [[adj["amount"] for adj in comp["adjustments"]] for comp in valuation["comps"]]
    assert grid == [
        ["20000.00", "0.00", "0.00", "0.00"],
        ["-20000.00", "-15000.00", "0.00", "0.00"],
        ["0.00", "0.00", "7500.00", "0.00"],
    ]
    assert [comp["salePrice"] for comp in valuation["comps"]] == [
        "300000.00",
        "350000.00",
        "310000.00",
    ]
    assert [comp["adjustedPrice"] for comp in valuation["comps"]] == [
        "320000.00",
        "315000.00",
        "317500.00",
    ]
    # ARV = median(320,000, 315,000, 317,500) = 317,500
    assert valuation["arv"] == "317500.00"
    assert valuation["method"] == "SALES_COMPARISON_MEDIAN_ADJUSTED"
    # COD = (2,500 + 2,500 + 0) / 3 / 317,500 = 0.00525; 3/5 x (1 - 2 x 0.00525) = 0.59
    assert valuation["confidence"] == "0.59"
    assert (valuation["compCount"], valuation["radiusMiles"], valuation["widened"]) == (
        3,
        0.5,
        False,
    )
    assert valuation["reason"] is None and valuation["reasonCode"] is None
    area = valuation["comps"][0]["adjustments"][0]
    assert area == {
        "kind": "LIVING_AREA",
        "amount": "20000.00",
        "rate": "200.00",
        "subjectValue": "1600.00",
        "compValue": "1500.00",
        "difference": "100.00",
        "detail": "Subject 1,600 sq ft, comp 1,500: +100 x $200.00/sq ft = +$20,000.00.",
    }
    # Score: list 250,000 is 21.3 % under the ARV: 40 x 0.2126 / 0.30 = 28.3 -> 28; 45 days on
    # the market -> 5; not at or under 70 % of the ARV (222,250): no HIGH_EQUITY.
    score = found["score"]
    assert score["version"] == "v1"
    assert [(r["code"], r["weight"]) for r in score["reasons"]] == [
        ("PRICE_BELOW_ARV", 28),
        ("DAYS_ON_MARKET", 5),
    ]
    assert score["value"] == 33


def test_comps_field_shows_the_first_comps_with_the_same_adjustments(api: Api) -> None:
    _, subject, (a, b, _) = worked_example(api)
    query = f"""query($id: ID!) {{ property(id: $id) {{
      comps(first: 2) {{ {COMP} }} valuation {{ comps {{ {COMP} }} }} }} }}"""
    found = run(api, query, {"id": subject})["property"]
    assert [comp["property"]["id"] for comp in found["comps"]] == [a, b]
    assert found["comps"] == found["valuation"]["comps"][:2]


def test_fewer_than_three_within_half_a_mile_widens_to_one_mile(api: Api) -> None:
    spot = Spot()
    subject = add(api, spot.house(listPrice="300000"))
    for miles in (0.2, 0.45, 0.8):
        add(api, spot.sale(miles, "300000"))
    add(api, spot.sale(1.2, "300000"))  # beyond a mile: never a comp
    valuation = valuation_of(api, subject)["valuation"]
    assert (valuation["radiusMiles"], valuation["widened"]) == (1.0, True)
    assert [round(c["distanceMiles"], 2) for c in valuation["comps"]] == [0.2, 0.45, 0.8]
    add(api, spot.sale(0.3, "300000"))  # now three within half a mile
    valuation = valuation_of(api, subject)["valuation"]
    assert (valuation["radiusMiles"], valuation["widened"]) == (0.5, False)
    assert [round(c["distanceMiles"], 2) for c in valuation["comps"]] == [0.2, 0.3, 0.45]
    wide = run(
        api,
        "query($id: ID!) { property(id: $id) { comps(radiusMiles: 2) { distanceMiles } } }",
        {"id": subject},
    )["property"]["comps"]
    assert [round(c["distanceMiles"], 2) for c in wide] == [0.2, 0.3, 0.45, 0.8, 1.2]


def test_only_same_type_similar_size_recent_closed_sales_are_comps(api: Api) -> None:
    spot = Spot()
    subject = add(api, spot.house(listPrice="300000"))
    comp = add(api, spot.sale(0.1, "300000"))
    for fields in (
        {"propertyType": "RESIDENTIAL_INCOME"},
        {"livingArea": "1279"},  # more than 20 % smaller
        {"livingArea": "1921"},  # more than 20 % larger
        {"closeDate": (TODAY - timedelta(days=400)).isoformat()},  # over 12 months ago
    ):
        add(api, spot.sale(0.1, "300000", **fields))
    add(api, spot.house(0.1, listPrice="300000"))  # active, not sold
    valuation = valuation_of(api, subject)["valuation"]
    assert [c["property"]["id"] for c in valuation["comps"]] == [comp]
    longer = run(
        api,
        "query($id: ID!) { property(id: $id) { comps(monthsBack: 24) { salePrice } } }",
        {"id": subject},
    )["property"]["comps"]
    assert len(longer) == 2


def test_a_property_without_comps_gets_a_reason_not_an_error(api: Api) -> None:
    spot = Spot()
    lonely = add(api, spot.house(listPrice="300000"))
    result = api.as_user(ADMIN, GET, {"id": lonely})
    assert "errors" not in result
    valuation = result["data"]["property"]["valuation"]
    assert valuation["arv"] is None and valuation["comps"] == [] and valuation["compCount"] == 0
    assert valuation["reasonCode"] == "NO_COMPS"
    assert valuation["reason"] == (
        "No closed sales of Residential within 1 mile in the last 12 months with a living area "
        "within 20 % of 1,600 sq ft."
    )
    assert (valuation["radiusMiles"], valuation["widened"]) == (1.0, True)
    score = result["data"]["property"]["score"]
    assert score["value"] == 0
    assert [r["code"] for r in score["reasons"]] == ["NO_ARV"]

    unlocated = add(api, {**spot.house(), "latitude": None, "longitude": None})
    valuation = valuation_of(api, unlocated)["valuation"]
    assert valuation["arv"] is None and valuation["reasonCode"] == "NO_LOCATION"


def test_arguments_are_checked(api: Api) -> None:
    _, subject, _ = worked_example(api)
    for arguments, message in (
        ("radiusMiles: 0", "radiusMiles must be greater than 0 and at most 10."),
        ("radiusMiles: 10.5", "radiusMiles must be greater than 0 and at most 10."),
        ("monthsBack: 0", "monthsBack must be between 1 and 60."),
        ("monthsBack: 61", "monthsBack must be between 1 and 60."),
        ("first: 51", "first must be between 0 and 50."),
    ):
        query = f"query($id: ID!) {{ property(id: $id) {{ comps({arguments}) {{ salePrice }} }} }}"
        result = api.as_user(ADMIN, query, {"id": subject})
        assert top_code(result) == "BAD_USER_INPUT"
        assert result["errors"][0]["message"] == message
    result = api.as_user(
        ADMIN,
        "query($id: ID!) { property(id: $id) { valuation(radiusMiles: 11) { arv } } }",
        {"id": subject},
    )
    assert top_code(result) == "BAD_USER_INPUT"
    ok = run(
        api,
        "query($id: ID!) { property(id: $id) { comps(first: 0) { salePrice } } }",
        {"id": subject},
    )
    assert ok["property"]["comps"] == []


def test_comps_never_come_from_another_tenant(api: Api) -> None:
    spot = Spot()
    ours = add(api, spot.house(listPrice="300000"))
    theirs = add(api, spot.house(listPrice="300000"), OTHER_ADMIN)
    for miles in (0.1, 0.2, 0.3):
        add(api, spot.sale(miles, "250000"), OTHER_ADMIN)  # the other tenant's sales
    mine = valuation_of(api, ours)["valuation"]
    assert mine["comps"] == [] and mine["reasonCode"] == "NO_COMPS"
    assert len(valuation_of(api, theirs, OTHER_ADMIN)["valuation"]["comps"]) == 3
    add(api, spot.sale(0.4, "300000"))  # one of our own
    assert valuation_of(api, ours)["valuation"]["compCount"] == 1
    assert valuation_of(api, theirs, OTHER_ADMIN)["valuation"]["compCount"] == 3


# ---------------------------------------------------------------- cost


LIST = f"""query($n: Int!) {{ properties(first: $n) {{ edges {{ node {{
  id comps {{ {COMP} }} valuation {{ arv compCount reason }} score {{ value }} }} }} }} }}"""


def test_a_page_asking_for_comps_and_valuations_costs_a_constant_number_of_statements(
    api: Api, count_statements: Any
) -> None:
    token = api.token(ANALYST)

    def statements(first: int) -> int:
        before = count_statements.count
        result = api.post(LIST, {"n": first}, token=token)
        assert "errors" not in result, result
        assert len(result["data"]["properties"]["edges"]) == first
        return count_statements.count - before

    few, many = statements(2), statements(20)
    assert few == many
    assert many <= 3  # tenant scope, the page, one comps statement for every property


# ---------------------------------------------------------------- the stored valuation


def consume(client: TestClient) -> int:
    """Publish what is committed, then run the valuation consumer until it has nothing left."""
    relay(client)
    consumer = client.app.state.valuation_consumer  # type: ignore[attr-defined]
    total = 0
    while read := client.portal.call(consumer.run_once):  # type: ignore[attr-defined]
        total += read
    relay(client)
    return total


def stored(db: Any, property_id: str) -> Any:
    rows = db(
        "SELECT arv, arv_reason, score, score_reasons, score_version, comp_count, confidence,"
        " computed_at FROM property_valuations WHERE property_id = $1",
        local_id(property_id),
    )
    return rows[0] if rows else None


def valued(db: Any, property_id: str) -> list[dict]:
    rows = db(
        "SELECT payload FROM outbox WHERE event_type = 'property.valued' AND aggregate_id = $1"
        " ORDER BY id",
        local_id(property_id),
    )
    return [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in rows]


def test_the_consumer_stores_the_valuation_and_recomputes_on_a_price_change(
    client: TestClient, api: Api, db: Any
) -> None:
    spot, subject, _ = worked_example(api)
    consume(client)
    row = stored(db, subject)
    assert (str(row["arv"]), row["score"], row["comp_count"], row["score_version"]) == (
        "317500.00",
        33,
        3,
        "v1",
    )
    [first] = valued(db, subject)
    assert (first["arv"], first["score"], first["previous_arv"], first["previous_score"]) == (
        "317500.00",
        33,
        None,
        None,
    )

    # A price cut: 200,000 is 37 % under the ARV (40), at most 70 % of it (15), 45 days (5),
    # a 20 % cut from 250,000 (10): 70.
    result = update(api, subject, {"listPrice": "200000"})
    assert result["errors"] == []
    consume(client)
    row = stored(db, subject)
    assert (str(row["arv"]), row["score"]) == ("317500.00", 70)
    codes = [reason["code"] for reason in json.loads(row["score_reasons"])]
    assert codes == ["PRICE_BELOW_ARV", "HIGH_EQUITY", "DAYS_ON_MARKET", "PRICE_REDUCED"]
    events = valued(db, subject)
    assert len(events) == 2  # once for the price change (updated + price_changed)
    assert (events[1]["score"], events[1]["previous_score"]) == (70, 33)
    assert (events[1]["arv"], events[1]["previous_arv"]) == ("317500.00", "317500.00")
    assert events[1]["list_price"] == "200000.00" and events[1]["property_id"]

    # Handling the same events again stores nothing new and announces nothing again.
    [(seq,)] = db(
        "SELECT min(published_seq) FROM outbox WHERE aggregate_id = $1"
        " AND event_type = 'property.price_changed'",
        local_id(subject),
    )
    db("UPDATE outbox_consumers SET position = $1 WHERE name = 'valuations'", seq - 1)
    assert consume(client) >= 1
    assert len(valued(db, subject)) == 2
    assert stored(db, subject)["computed_at"] == row["computed_at"]


def test_a_new_sale_nearby_revalues_its_neighbours(client: TestClient, api: Api, db: Any) -> None:
    spot, subject, _ = worked_example(api)
    consume(client)
    assert stored(db, subject)["comp_count"] == 3
    before = len(valued(db, subject))
    add(api, spot.sale(0.4, "330000"))  # a fourth comp, exactly like the subject
    consume(client)
    row = stored(db, subject)
    assert row["comp_count"] == 4
    events = valued(db, subject)
    assert len(events) == before + 1 and events[-1]["previous_arv"] == "317500.00"
    assert events[-1]["arv"] == str(row["arv"]) != "317500.00"


def test_stored_valuations_are_tenant_scoped_and_readable_by_other_consumers(
    client: TestClient, api: Api, db: Any
) -> None:
    _, subject, _ = worked_example(api)
    consume(client)
    assert stored(db, subject) is not None
    visible = db.app(
        "SELECT count(*) FROM property_valuations WHERE property_id = $1", local_id(subject)
    )
    assert visible[0][0] == 0  # the app role without a tenant sees nothing (FORCE RLS)

    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    ours, other = DEMO_TENANTS[0].id, DEMO_TENANTS[1].id
    property_id = local_id(subject)

    async def read(tenant_id: UUID) -> tuple[dict, dict]:
        async with transaction(engine, tenant_id) as conn:
            via_connection = await valuations_by_property_ids(conn, tenant_id, [property_id])
        session = TenantSession(engine, tenant_id)
        try:
            via_session = await valuations_by_property_ids(session, tenant_id, [property_id])
        finally:
            await session.close()
        return via_connection, via_session

    via_connection, via_session = client.portal.call(read, ours)  # type: ignore[attr-defined]
    assert via_connection == via_session
    found = via_connection[property_id]
    assert (found.arv, found.score, found.comp_count) == (Decimal("317500.00"), 33, 3)
    assert client.portal.call(read, other) == ({}, {})  # type: ignore[attr-defined]
