"""Saved searches and PROPERTY_MATCH alerts through the real app: buy boxes are their owner's
own, bad criteria come back as errors at their field, and the matcher (an outbox consumer on
property events) alerts once per search, property and change, with reasons and a score.

Each test's buy boxes use a city name of their own, so properties of other tests (and the
backlog they leave in the outbox) never match them."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from starlette.testclient import TestClient

from tests.api.test_properties import address, intake, property_input
from tests.api.test_websocket import connect, relay
from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
UNDERWRITER = "underwriter@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"

ERRORS = "errors { field message code }"
SEARCH_FIELDS = """id name frequency channels paused pausedAt createdAt updatedAt
  criteria { cities postalCodes near { latitude longitude radiusMiles } propertyTypes minPrice
             maxPrice minBedrooms minBathrooms maxPriceToArv minScore }"""
CREATE = f"""mutation($input: SavedSearchInput!) {{
  savedSearchCreate(input: $input) {{ savedSearch {{ {SEARCH_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: SavedSearchUpdateInput!) {{
  savedSearchUpdate(id: $id, input: $input) {{ savedSearch {{ {SEARCH_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"mutation($id: ID!) {{ savedSearchDelete(id: $id) {{ deletedId {ERRORS} }} }}"
LIST = f"""query($first: Int, $after: String) {{ savedSearches(first: $first, after: $after) {{
  totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {SEARCH_FIELDS} }} }}
}} }}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on SavedSearch { name } } }"
MATCH_FIELDS = """id kind title body score reasons { code weight detail } readAt createdAt
  cursor property { id listPrice } savedSearch { id name }"""
ALERTS = f"""query {{ alerts(first: 100) {{ edges {{ node {{ {MATCH_FIELDS} }} }} }} }}"""
ALERT_RECEIVED = f"subscription {{ alertReceived {{ {MATCH_FIELDS} }} }}"


# ---------------------------------------------------------------- helpers


def run(api: Api, query: str, variables: dict[str, Any] | None = None, user: str = ANALYST) -> dict:
    result = api.as_user(user, query, variables)
    assert "errors" not in result, result["errors"]
    return result["data"]


def top_code(result: dict) -> str:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["code"]


def town() -> str:
    """A city no other test uses."""
    return "Matchville " + uuid.uuid4().hex[:8]


def create_search(api: Api, criteria: dict[str, Any], user: str = ANALYST, **fields: Any) -> dict:
    payload = run(api, CREATE, {"input": {"criteria": criteria, **fields}}, user)
    result = payload["savedSearchCreate"]
    assert result["errors"] == [], result["errors"]
    return result["savedSearch"]


def create_errors(api: Api, criteria: dict[str, Any], **fields: Any) -> list[tuple]:
    payload = run(api, CREATE, {"input": {"criteria": criteria, **fields}})["savedSearchCreate"]
    assert payload["savedSearch"] is None
    return sorted((e["code"], tuple(e["field"] or ())) for e in payload["errors"])


def listing(city: str, price: str, **fields: Any) -> dict:
    """PropertyIntakeInput.property for a house in `city` (its own street, from a tag)."""
    tag = "t" + uuid.uuid4().hex[:10]
    return property_input(
        tag, address=address(tag, city=city, postalCode="73301"), listPrice=price, **fields
    )


def take_in(api: Api, fields: dict[str, Any]) -> dict:
    """propertyIntake as ADMIN (an MLS feed), checked."""
    payload = intake(api, fields)
    assert payload["errors"] == [], payload
    return payload["property"]


def drain(client: TestClient) -> None:
    """Publish, match, publish the alerts: until nothing moves (earlier tests leave a backlog).
    The valuation consumer runs too when the app has one (property.valued feeds matching)."""
    state = client.app.state  # type: ignore[attr-defined]
    consumers = [state.match_consumer]
    if getattr(state, "valuation_consumer", None) is not None:
        consumers.append(state.valuation_consumer)
    while True:
        moved = relay(client)
        for consumer in consumers:
            while read := client.portal.call(consumer.run_once):  # type: ignore[attr-defined]
                moved += read
        if not moved:
            return


def matches(api: Api, user: str, search_id: str) -> list[dict]:
    """The user's PROPERTY_MATCH alerts of one search, newest first."""
    nodes = [edge["node"] for edge in run(api, ALERTS, user=user)["alerts"]["edges"]]
    return [
        node
        for node in nodes
        if node["kind"] == "PROPERTY_MATCH"
        and node["savedSearch"]
        and node["savedSearch"]["id"] == search_id
    ]


def local_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().partition(":")[2])


def stored_matches(db: Any, search_id: str) -> int:
    return db("SELECT count(*) FROM alerts WHERE saved_search_id = $1", local_id(search_id))[0][0]


# ---------------------------------------------------------------- saved searches


def test_a_saved_search_is_created_normalized_and_listed_for_its_owner_only(api: Api) -> None:
    city = town()
    search = create_search(
        api,
        {
            "cities": [f"  {city.upper()} ", city],
            "postalCodes": ["78701-1234", "78701"],
            "near": {"latitude": 30.27, "longitude": -97.74, "radiusMiles": 5},
            "propertyTypes": ["RESIDENTIAL"],
            "minPrice": "200000",
            "maxPrice": "450000",
            "minBedrooms": 3,
            "minBathrooms": 2,
            "maxPriceToArv": "0.75",
            "minScore": 60,
        },
        frequency="DAILY",
        channels=["EMAIL"],
    )
    criteria = search["criteria"]
    assert criteria["cities"] == [city.upper()]  # case-insensitive duplicates collapse
    assert criteria["postalCodes"] == ["78701"]  # ZIP+4 on its five digits
    assert criteria["near"] == {"latitude": 30.27, "longitude": -97.74, "radiusMiles": 5.0}
    assert criteria["minPrice"] == "200000" and criteria["maxPriceToArv"] == "0.75"
    assert search["frequency"] == "DAILY"
    assert search["channels"] == ["IN_APP", "EMAIL"]  # in-app is always on
    assert search["paused"] is False
    assert city.upper() in search["name"]  # named from its criteria

    mine = [edge["node"]["id"] for edge in run(api, LIST, {"first": 100})["savedSearches"]["edges"]]
    assert search["id"] in mine
    for someone_else in (ADMIN, OTHER_ADMIN, VIEWER):
        theirs = run(api, LIST, {"first": 100}, someone_else)["savedSearches"]["edges"]
        assert search["id"] not in [edge["node"]["id"] for edge in theirs]
        assert run(api, NODE, {"id": search["id"]}, someone_else)["node"] is None
    assert run(api, NODE, {"id": search["id"]})["node"]["name"] == search["name"]


def test_bad_criteria_fail_at_their_field(api: Api) -> None:
    base = ("input", "criteria")
    assert create_errors(api, {"minPrice": "500000", "maxPrice": "400000"}) == [
        ("INVALID", (*base, "minPrice"))
    ]
    assert create_errors(api, {}) == [("INVALID", base)]
    assert create_errors(
        api,
        {
            "cities": [""],
            "near": {"latitude": 91, "longitude": 0, "radiusMiles": 0},
            "maxPriceToArv": "0",
            "minScore": 101,
            "minBedrooms": -1,
            "maxPrice": "-5",
        },
    ) == sorted(
        [
            ("INVALID", (*base, "cities", "0")),
            ("INVALID", (*base, "near", "latitude")),
            ("INVALID", (*base, "near", "radiusMiles")),
            ("INVALID", (*base, "maxPriceToArv")),
            ("INVALID", (*base, "minScore")),
            ("INVALID", (*base, "minBedrooms")),
            ("INVALID", (*base, "maxPrice")),
        ]
    )
    assert create_errors(api, {"cities": ["Austin"]}, name="  ") == [("INVALID", ("input", "name"))]


def test_viewers_may_not_save_searches_and_anonymous_callers_nothing(api: Api) -> None:
    variables = {"input": {"criteria": {"cities": ["Austin"]}}}
    assert top_code(api.as_user(VIEWER, CREATE, variables)) == "FORBIDDEN"
    assert top_code(api.post(CREATE, variables)) == "UNAUTHENTICATED"
    assert top_code(api.post(LIST)) == "UNAUTHENTICATED"
    assert run(api, LIST, user=VIEWER)["savedSearches"]["totalCount"] >= 0
    create_search(api, {"cities": [town()]}, user=UNDERWRITER)


def test_update_pause_and_delete_only_your_own(api: Api) -> None:
    search = create_search(api, {"cities": [town()], "maxPrice": "300000"})
    changed = run(
        api,
        UPDATE,
        {"id": search["id"], "input": {"paused": True, "name": "Cheap", "channels": ["WEBHOOK"]}},
    )["savedSearchUpdate"]
    assert changed["errors"] == []
    updated = changed["savedSearch"]
    assert updated["paused"] is True and updated["pausedAt"] is not None
    assert updated["name"] == "Cheap" and updated["channels"] == ["IN_APP", "WEBHOOK"]
    assert updated["criteria"] == search["criteria"]

    bad = run(
        api,
        UPDATE,
        {"id": search["id"], "input": {"criteria": {"minPrice": "400000", "maxPrice": "300000"}}},
    )["savedSearchUpdate"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [
        ("INVALID", ["input", "criteria", "minPrice"])
    ]
    for user in (ADMIN, OTHER_ADMIN):
        other = run(api, UPDATE, {"id": search["id"], "input": {"paused": False}}, user)
        assert [e["code"] for e in other["savedSearchUpdate"]["errors"]] == ["NOT_FOUND"]
        gone = run(api, DELETE, {"id": search["id"]}, user)["savedSearchDelete"]
        assert [e["code"] for e in gone["errors"]] == ["NOT_FOUND"]

    deleted = run(api, DELETE, {"id": search["id"]})["savedSearchDelete"]
    assert deleted == {"deletedId": search["id"], "errors": []}
    assert run(api, NODE, {"id": search["id"]})["node"] is None


def test_saved_searches_page_newest_first(api: Api) -> None:
    made = [create_search(api, {"cities": [town()]}, user=UNDERWRITER) for _ in range(3)]
    first = run(api, LIST, {"first": 2}, UNDERWRITER)["savedSearches"]
    assert [e["node"]["id"] for e in first["edges"]] == [made[2]["id"], made[1]["id"]]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = run(api, LIST, {"first": 1, "after": first["pageInfo"]["endCursor"]}, UNDERWRITER)
    assert rest["savedSearches"]["edges"][0]["node"]["id"] == made[0]["id"]


# ---------------------------------------------------------------- matching


def test_a_matching_intake_alerts_once_with_reasons_and_a_score(
    client: TestClient, api: Api, db: Any
) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city], "maxPrice": "450000"}, name="Austin flips")
    fields = listing(city, "412500.00")
    prop = take_in(api, fields)
    drain(client)

    [alert] = matches(api, ANALYST, search["id"])
    assert alert["property"]["id"] == prop["id"]
    assert alert["title"].startswith("New match: ") and "$412,500.00" in alert["title"]
    assert 'Fits your saved search "Austin flips"' in alert["body"]
    # IN_AREA quality 1, PRICE_IN_RANGE (450000 - 412500) / 450000: 50 + 50 * 27.08 / 50 = 77
    assert alert["score"] == 77
    assert [(r["code"], r["weight"]) for r in alert["reasons"]] == [
        ("IN_AREA", 25),
        ("PRICE_IN_RANGE", 2),
    ]
    assert alert["reasons"][0]["detail"] == f"In {city}"
    assert alert["reasons"][1]["detail"] == "$412,500.00, at most $450,000.00"

    again = intake(api, fields)  # the same intake: nothing changed, nothing new
    assert again["created"] is False
    drain(client)
    assert len(matches(api, ANALYST, search["id"])) == 1
    # Rewinding the matcher over the same events stores nothing twice either.
    [(seq,)] = db(
        "SELECT published_seq FROM outbox WHERE event_type = 'property.created'"
        " AND aggregate_id = $1",
        local_id(prop["id"]),
    )
    db("UPDATE outbox_consumers SET position = $1 WHERE name = 'property_matcher'", seq - 1)
    drain(client)
    assert stored_matches(db, search["id"]) == 1


def test_a_price_drop_into_range_alerts_and_a_rise_does_not(client: TestClient, api: Api) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city], "minPrice": "100000", "maxPrice": "450000"})
    fields = listing(city, "500000.00")
    take_in(api, fields)
    drain(client)
    assert matches(api, ANALYST, search["id"]) == []  # above the range

    take_in(api, {**fields, "listPrice": "440000.00"})  # dropped into range
    drain(client)
    [dropped] = matches(api, ANALYST, search["id"])
    assert "$440,000.00" in dropped["title"]

    take_in(api, {**fields, "listPrice": "445000.00"})  # a rise: still in range, no news
    drain(client)
    assert len(matches(api, ANALYST, search["id"])) == 1

    take_in(api, {**fields, "listPrice": "430000.00"})  # another drop: news again
    drain(client)
    newest = matches(api, ANALYST, search["id"])
    assert len(newest) == 2 and "$430,000.00" in newest[0]["title"]


def test_a_property_back_on_the_market_alerts_again(client: TestClient, api: Api) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city]})
    fields = listing(city, "300000.00")
    take_in(api, fields)
    drain(client)
    assert len(matches(api, ANALYST, search["id"])) == 1
    take_in(api, {**fields, "standardStatus": "PENDING"})  # off the market: no news
    drain(client)
    assert len(matches(api, ANALYST, search["id"])) == 1
    take_in(api, {**fields, "standardStatus": "ACTIVE"})
    drain(client)
    newest = matches(api, ANALYST, search["id"])
    assert len(newest) == 2 and newest[0]["title"].startswith("Back on the market: ")
    # Score 50 + 50 for a named city: every area criterion is met fully.
    assert newest[0]["score"] == 100


def test_filters_without_reasons_and_a_radius(client: TestClient, api: Api) -> None:
    drain(client)
    city = town()
    near = {"latitude": 30.2672, "longitude": -97.7431, "radiusMiles": 2}
    search = create_search(api, {"near": near, "propertyTypes": ["RESIDENTIAL"], "minBedrooms": 4})
    small = listing(city, "350000.00", latitude=30.2672, longitude=-97.7431)
    far = listing(city, "350000.00", latitude=30.5, longitude=-97.7431, bedroomsTotal=5)
    close = listing(city, "350000.00", latitude=30.2817, longitude=-97.7431, bedroomsTotal=5)
    for fields in (small, far, close):
        take_in(api, fields)
    drain(client)
    [alert] = matches(api, ANALYST, search["id"])
    assert [r["code"] for r in alert["reasons"]] == ["IN_AREA"]
    assert alert["reasons"][0]["detail"].startswith("1.0 mi from your center")
    # 1.0 of 2 miles: quality 0.5 -> 50 + 50 * 0.5 = 75
    assert alert["score"] == 75


def test_paused_searches_match_nothing_until_resumed(client: TestClient, api: Api) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city]})
    run(api, UPDATE, {"id": search["id"], "input": {"paused": True}})
    take_in(api, listing(city, "250000.00"))
    drain(client)
    assert matches(api, ANALYST, search["id"]) == []
    run(api, UPDATE, {"id": search["id"], "input": {"paused": False}})
    take_in(api, listing(city, "260000.00"))
    drain(client)
    assert len(matches(api, ANALYST, search["id"])) == 1


def test_another_tenants_properties_never_match(client: TestClient, api: Api, db: Any) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city]})
    theirs = listing(city, "250000.00")
    payload = api.as_user(
        OTHER_ADMIN,
        """mutation($input: PropertyIntakeInput!) { propertyIntake(input: $input) {
             property { id } errors { code } } }""",
        {"input": {"source": "MLS", "property": theirs}},
    )
    assert payload["data"]["propertyIntake"]["errors"] == []
    drain(client)
    assert matches(api, ANALYST, search["id"]) == []
    assert stored_matches(db, search["id"]) == 0


def test_alert_received_delivers_a_property_match(client: TestClient, api: Api) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city], "maxPrice": "500000"})
    ws, socket = connect(client, api.token(ANALYST))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_json({"id": "m", "type": "subscribe", "payload": {"query": ALERT_RECEIVED}})
        prop = take_in(api, listing(city, "350000.00"))
        drain(client)
        while True:
            message = socket.receive_json()
            if message["type"] in ("ping", "pong", "ka"):
                continue
            assert message["type"] == "next", message
            received = message["payload"]["data"]["alertReceived"]
            if received["kind"] == "PROPERTY_MATCH":
                break
        assert received["property"]["id"] == prop["id"]
        assert received["savedSearch"]["id"] == search["id"]
        assert {r["code"] for r in received["reasons"]} == {"IN_AREA", "PRICE_IN_RANGE"}
    finally:
        ws.__exit__(None, None, None)
