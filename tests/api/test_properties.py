"""Properties through the real API: lists, filters, paging, the write flow, errors as data,
roles, intake and the outbox. Everything here is what a user or an integration would notice."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from persistence.seed import DEMO_TENANTS
from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
OPS = "ops@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"
DEMO_TENANT_ID = DEMO_TENANTS[0].id

PROPERTY_FIELDS = """
  id listingId parcelNumber latitude longitude propertyType propertySubType standardStatus
  listPrice originalListPrice closePrice closeDate listingContractDate daysOnMarket
  bedroomsTotal bathroomsTotalInteger livingArea lotSizeArea lotSizeUnits yearBuilt
  taxAnnualAmount associationFee features createdAt updatedAt
  address {
    unparsedAddress streetNumber streetName unitNumber city stateOrProvince postalCode
    countyOrParish
  }
  media { url mediaCategory shortDescription order }
  provenance { field source confidence locked }
"""
ERRORS = "errors { field message code }"

CREATE = f"""mutation($input: PropertyInput!) {{
  propertyCreate(input: $input) {{ property {{ {PROPERTY_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: PropertyInput!) {{
  propertyUpdate(id: $id, input: $input) {{ property {{ {PROPERTY_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"mutation($id: ID!) {{ propertyDelete(id: $id) {{ deletedId {ERRORS} }} }}"
INTAKE = f"""mutation($input: PropertyIntakeInput!) {{
  propertyIntake(input: $input) {{ property {{ {PROPERTY_FIELDS} }} created {ERRORS} }} }}"""
GET = f"query($id: ID!) {{ property(id: $id) {{ {PROPERTY_FIELDS} }} }}"
NODE = f"query($id: ID!) {{ node(id: $id) {{ id ... on Property {{ {PROPERTY_FIELDS} }} }} }}"
LIST = """query($filter: PropertyFilter, $orderBy: PropertyOrder, $first: Int, $after: String) {
  properties(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id listingId propertyType standardStatus listPrice closePrice closeDate
      listingContractDate bedroomsTotal bathroomsTotalInteger livingArea createdAt updatedAt
      address { unparsedAddress streetName city postalCode }
    } }
  } }"""


# ---------------------------------------------------------------- helpers


def new_tag() -> str:
    """A unique lower-case word for addresses, so tests never collide in the shared database."""
    return "t" + uuid.uuid4().hex[:10]


def top_code(result: dict) -> str:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["code"]


def run(api: Api, query: str, variables: dict[str, Any] | None = None, user: str = ADMIN) -> dict:
    """The data of a request that must not fail at the top level."""
    result = api.as_user(user, query, variables)
    assert "errors" not in result, result["errors"]
    return result["data"]


def address(tag: str, **overrides: Any) -> dict[str, Any]:
    """AddressInput components; the tag goes in the street name."""
    return {
        "streetNumber": "123",
        "streetName": f"Main {tag} Street",
        "city": "Austin",
        "stateOrProvince": "TX",
        "postalCode": "78701",
        "countyOrParish": "Travis",
        **overrides,
    }


def property_input(tag: str, **overrides: Any) -> dict[str, Any]:
    """A small valid PropertyInput for the given tag."""
    return {
        "address": address(tag),
        "propertyType": "RESIDENTIAL",
        "standardStatus": "ACTIVE",
        "listPrice": "412500.00",
        "bedroomsTotal": 3,
        "bathroomsTotalInteger": 2,
        "livingArea": "1850",
        **overrides,
    }


def create(api: Api, fields: dict[str, Any], user: str = ADMIN) -> dict:
    payload = run(api, CREATE, {"input": fields}, user)["propertyCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["property"]


def update(api: Api, global_id: str, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, UPDATE, {"id": global_id, "input": fields}, user)["propertyUpdate"]


def delete(api: Api, global_id: str, user: str = ADMIN) -> dict:
    return run(api, DELETE, {"id": global_id}, user)["propertyDelete"]


def intake(
    api: Api,
    fields: dict[str, Any],
    source: str = "MLS",
    confidence: float | None = 0.9,
    **extra: Any,
) -> dict:
    variables = {"input": {"source": source, "confidence": confidence, "property": fields, **extra}}
    return run(api, INTAKE, variables)["propertyIntake"]


def fetch(api: Api, global_id: str, user: str = ADMIN) -> dict | None:
    return run(api, GET, {"id": global_id}, user)["property"]


def page(api: Api, user: str = ADMIN, **variables: Any) -> dict:
    return run(api, LIST, variables, user)["properties"]


def nodes_of(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def error_fields(errors: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((error["code"], tuple(error["field"] or ())) for error in errors)


def stored_count(db: Any, tag: str) -> int:
    """Properties whose address or city mention the tag (in any tenant)."""
    return db("SELECT count(*) FROM properties WHERE search_text LIKE $1", f"%{tag}%")[0][0]


def local_id(global_id: str) -> uuid.UUID:
    type_name, _, raw = base64.b64decode(global_id).decode().partition(":")
    assert type_name == "Property"
    return uuid.UUID(raw)


def global_id(type_name: str, local: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def outbox(db: Any, property_global_id: str) -> list[tuple[str, dict]]:
    rows = db(
        "SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id",
        local_id(property_global_id),
    )
    return [(row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1]) for row in rows]


def provenance_of(prop: dict) -> dict[str, dict]:
    return {item["field"]: item for item in prop["provenance"]}


def demo_count(db: Any, where: str, *args: Any) -> int:
    """Rows of the demo tenant matching a SQL condition, counted as the owner (no RLS)."""
    query = f"SELECT count(*) FROM properties WHERE tenant_id = $1 AND ({where})"
    return db(query, DEMO_TENANT_ID, *args)[0][0]


def assert_sorted(values: list[Any], descending: bool) -> None:
    """Sorted in the given direction with empty values last."""
    present = [value for value in values if value is not None]
    assert values == present + [None] * (len(values) - len(present)), "nulls must sort last"
    assert present == sorted(present, reverse=descending)


# ---------------------------------------------------------------- the properties connection


def test_default_page_is_20_and_first_is_at_most_100(api: Api) -> None:
    default = page(api)
    assert len(default["edges"]) == 20
    assert default["pageInfo"]["hasNextPage"] is True
    assert default["pageInfo"]["hasPreviousPage"] is False
    assert default["pageInfo"]["startCursor"] == default["edges"][0]["cursor"]
    assert default["pageInfo"]["endCursor"] == default["edges"][-1]["cursor"]
    assert default["totalCount"] >= 300
    assert len(page(api, first=100)["edges"]) == 100
    refused = api.as_user(ADMIN, LIST, {"first": 500})
    assert refused.get("data") is None
    assert refused["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "first",
        "max": 100,
    }


def test_total_count_is_the_tenants_count_not_the_page_size(api: Api, db: Any) -> None:
    connection = page(api, first=5)
    assert len(connection["edges"]) == 5
    assert connection["totalCount"] == demo_count(db, "true")
    # Other Fund's 300 properties are not visible to Demo Capital.
    other = run(api, "{ properties(first: 1) { totalCount } }", user=OTHER_ADMIN)
    assert (
        other["properties"]["totalCount"]
        == db("SELECT count(*) FROM properties WHERE tenant_id = $1", DEMO_TENANTS[1].id)[0][0]
    )


FILTER_CASES: list[tuple[str, dict[str, Any], str, Callable[[dict], bool]]] = [
    (
        "city-any-case",
        {"city": "aUsTiN"},
        "lower(city) = 'austin'",
        lambda n: n["address"]["city"] == "Austin",
    ),
    (
        "postal-code",
        {"postalCode": "78731"},
        "postal_code = '78731'",
        lambda n: n["address"]["postalCode"] == "78731",
    ),
    (
        "property-type",
        {"propertyType": ["RESIDENTIAL_INCOME"]},
        "property_type = 'Residential Income'",
        lambda n: n["propertyType"] == "RESIDENTIAL_INCOME",
    ),
    (
        "property-types",
        {"propertyType": ["LAND", "RESIDENTIAL_INCOME"]},
        "property_type IN ('Land', 'Residential Income')",
        lambda n: n["propertyType"] in ("LAND", "RESIDENTIAL_INCOME"),
    ),
    (
        "closed",
        {"standardStatus": ["CLOSED"]},
        "standard_status = 'Closed'",
        lambda n: n["standardStatus"] == "CLOSED" and n["closePrice"] and n["closeDate"],
    ),
    (
        "price-range",
        {"minPrice": "200000", "maxPrice": "400000.50"},
        "list_price BETWEEN 200000 AND 400000.50",
        lambda n: Decimal("200000") <= Decimal(n["listPrice"]) <= Decimal("400000.50"),
    ),
    (
        "bedrooms",
        {"minBedrooms": 3, "maxBedrooms": 4},
        "bedrooms_total BETWEEN 3 AND 4",
        lambda n: 3 <= n["bedroomsTotal"] <= 4,
    ),
    (
        "bathrooms",
        {"minBathrooms": 3},
        "bathrooms_total_integer >= 3",
        lambda n: n["bathroomsTotalInteger"] >= 3,
    ),
    (
        "living-area",
        {"minLivingArea": "1500", "maxLivingArea": "2500"},
        "living_area BETWEEN 1500 AND 2500",
        lambda n: Decimal("1500") <= Decimal(n["livingArea"]) <= Decimal("2500"),
    ),
    (
        "combined",
        {
            "city": "phoenix",
            "propertyType": ["RESIDENTIAL"],
            "minBedrooms": 3,
            "maxPrice": "600000",
        },
        "lower(city) = 'phoenix' AND property_type = 'Residential' AND bedrooms_total >= 3"
        " AND list_price <= 600000",
        lambda n: (
            n["address"]["city"] == "Phoenix"
            and n["propertyType"] == "RESIDENTIAL"
            and n["bedroomsTotal"] >= 3
            and Decimal(n["listPrice"]) <= 600000
        ),
    ),
]


@pytest.mark.parametrize(
    ("filter", "where", "matches"),
    [pytest.param(f, w, m, id=name) for name, f, w, m in FILTER_CASES],
)
def test_filters_return_exactly_the_matching_properties(
    api: Api, db: Any, filter: dict[str, Any], where: str, matches: Callable[[dict], bool]
) -> None:
    connection = page(api, filter=filter, first=100)
    expected = demo_count(db, where)
    assert expected > 0, "the seed should have matching properties"
    assert connection["totalCount"] == expected
    found = nodes_of(connection)
    assert len(found) == min(expected, 100)
    mismatches = [node for node in found if not matches(node)]
    assert mismatches == []


def test_text_finds_a_listing_id_and_a_street_word(api: Api) -> None:
    seeded = nodes_of(page(api, filter={"city": "Columbus"}, first=1))[0]
    by_listing = page(api, filter={"text": seeded["listingId"]})
    assert seeded["id"] in [node["id"] for node in nodes_of(by_listing)]
    assert all(node["listingId"] == seeded["listingId"] for node in nodes_of(by_listing))

    tag = new_tag()
    mine = create(
        api, property_input(tag, address=address(tag, city="Columbus", stateOrProvince="OH"))
    )
    for text in (tag, tag.upper(), f"main {tag}", f"{tag} columbus"):
        connection = page(api, filter={"text": text})
        assert [node["id"] for node in nodes_of(connection)] == [mine["id"]], text
        assert connection["totalCount"] == 1
    assert page(api, filter={"text": f"{tag} phoenix"})["totalCount"] == 0


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_order_by_list_price_sorts_with_empty_prices_last(api: Api, direction: str) -> None:
    tag = new_tag()
    city = f"Sortville {tag}"
    prices = ["300000.00", None, "100000.00", "200000.00"]
    for number, price in enumerate(prices, start=1):
        fields = property_input(tag, listPrice=price)
        fields["address"] = address(tag, streetNumber=str(number), city=city)
        create(api, fields)
    listed = page(
        api, filter={"city": city}, orderBy={"field": "LIST_PRICE", "direction": direction}
    )
    got = [node["listPrice"] for node in nodes_of(listed)]
    expected = ["100000.00", "200000.00", "300000.00"]
    assert got == (expected if direction == "ASC" else expected[::-1]) + [None]

    seeded = nodes_of(
        page(
            api,
            filter={"city": "Austin"},
            first=100,
            orderBy={"field": "LIST_PRICE", "direction": direction},
        )
    )
    prices_seen = [None if n["listPrice"] is None else Decimal(n["listPrice"]) for n in seeded]
    assert_sorted(prices_seen, descending=direction == "DESC")


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_order_by_listed_date(api: Api, direction: str) -> None:
    nodes = nodes_of(
        page(
            api,
            filter={"city": "Phoenix"},
            first=100,
            orderBy={"field": "LISTED_DATE", "direction": direction},
        )
    )
    dates = [
        None if n["listingContractDate"] is None else date.fromisoformat(n["listingContractDate"])
        for n in nodes
    ]
    assert len(set(dates)) > 10
    assert_sorted(dates, descending=direction == "DESC")


def test_order_by_updated_at_puts_the_last_edited_first(api: Api) -> None:
    tag = new_tag()
    city = f"Editville {tag}"
    first, second = (
        create(api, property_input(tag, address=address(tag, streetNumber=str(n), city=city)))
        for n in (1, 2)
    )
    assert update(api, first["id"], {"listPrice": "399000.00"})["errors"] == []
    newest = page(api, filter={"city": city}, orderBy={"field": "UPDATED_AT", "direction": "DESC"})
    assert [n["id"] for n in nodes_of(newest)] == [first["id"], second["id"]]
    oldest = page(api, filter={"city": city}, orderBy={"field": "UPDATED_AT", "direction": "ASC"})
    assert [n["id"] for n in nodes_of(oldest)] == [second["id"], first["id"]]

    everyone = nodes_of(page(api, first=100, orderBy={"field": "UPDATED_AT", "direction": "DESC"}))
    assert_sorted([datetime.fromisoformat(n["updatedAt"]) for n in everyone], descending=True)
    assert everyone[0]["id"] == first["id"]


def test_default_order_is_newest_first(api: Api) -> None:
    tag = new_tag()
    mine = create(api, property_input(tag, address=address(tag, city=f"Newville {tag}")))
    assert nodes_of(page(api, first=1))[0]["id"] == mine["id"]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_paging_by_list_price_visits_every_austin_property_once(
    api: Api, db: Any, direction: str
) -> None:
    tag = new_tag()
    # Ties and empty prices are where keyset paging goes wrong: add some of each.
    extras = [
        create(api, property_input(tag, listPrice=price, address=address(tag, streetNumber=str(n))))
        for n, price in enumerate([None, None, "250000.00", "250000.00", "250000.00"], start=1)
    ]
    try:
        order = {"field": "LIST_PRICE", "direction": direction}
        seen: list[dict] = []
        after = None
        pages = 0
        while True:
            connection = page(api, filter={"city": "austin"}, orderBy=order, first=10, after=after)
            pages += 1
            assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
            seen += nodes_of(connection)
            if not connection["pageInfo"]["hasNextPage"]:
                break
            assert len(connection["edges"]) == 10
            after = connection["pageInfo"]["endCursor"]
            assert after == connection["edges"][-1]["cursor"]
            assert pages < 100, "paging does not terminate"
        ids = [node["id"] for node in seen]
        assert len(ids) == len(set(ids)), "a property was shown twice"
        assert len(ids) == connection["totalCount"] == demo_count(db, "lower(city) = 'austin'")
        assert {extra["id"] for extra in extras} <= set(ids)
        prices = [None if n["listPrice"] is None else Decimal(n["listPrice"]) for n in seen]
        assert_sorted(prices, descending=direction == "DESC")
    finally:
        for extra in extras:
            delete(api, extra["id"])


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not-a-cursor", id="garbage"),
        pytest.param("!!!", id="symbols"),
        pytest.param(base64.urlsafe_b64encode(b'{"a": 1}').decode(), id="wrong-shape"),
        pytest.param(base64.urlsafe_b64encode(b'["1.00", "not-a-uuid"]').decode(), id="bad-uuid"),
    ],
)
def test_malformed_after_cursor_is_bad_user_input(api: Api, cursor: str) -> None:
    result = api.as_user(ADMIN, LIST, {"after": cursor, "orderBy": {"field": "LIST_PRICE"}})
    assert top_code(result) == "BAD_USER_INPUT"


def crafted_cursor(value: str) -> str:
    raw = json.dumps([value, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("LIST_PRICE", "not a number", id="price-text"),
        pytest.param("LISTED_DATE", "2026-13-01", id="impossible-date"),
        pytest.param("UPDATED_AT", "yesterday", id="timestamp-text"),
        pytest.param(
            "LIST_PRICE",
            "1e999999",
            id="huge-price",
        ),
        pytest.param(
            "LIST_PRICE",
            "Infinity",
            id="infinite-price",
        ),
        pytest.param(
            "UPDATED_AT",
            "0001-01-01T00:00:00+14:00",
            id="timestamp-before-year-1-utc",
        ),
    ],
)
def test_crafted_cursor_is_bad_user_input(api: Api, field: str, value: str) -> None:
    result = api.as_user(ADMIN, LIST, {"after": crafted_cursor(value), "orderBy": {"field": field}})
    assert top_code(result) == "BAD_USER_INPUT"


def test_cursor_of_another_order_is_bad_user_input(api: Api) -> None:
    by_price = page(api, first=1, orderBy={"field": "LIST_PRICE"})
    result = api.as_user(
        ADMIN,
        LIST,
        {"after": by_price["pageInfo"]["endCursor"], "orderBy": {"field": "UPDATED_AT"}},
    )
    assert top_code(result) == "BAD_USER_INPUT"


def test_negative_first_is_bad_user_input(api: Api) -> None:
    result = api.as_user(ADMIN, LIST, {"first": -1})
    assert top_code(result) == "BAD_USER_INPUT"


def test_first_zero_gives_no_edges_but_the_count(api: Api) -> None:
    empty = page(api, first=0)
    assert empty["edges"] == []
    assert empty["totalCount"] >= 300
    assert empty["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("order", [None, {"field": "UPDATED_AT", "direction": "ASC"}])
def test_paging_through_timestamps_with_ties_visits_every_property_once(
    api: Api, db: Any, order: dict[str, str] | None
) -> None:
    # The seed inserts hundreds of rows in one transaction: same created_at, same updated_at.
    ids: list[str] = []
    after = None
    while True:
        connection = page(api, orderBy=order, first=100, after=after)
        ids += [node["id"] for node in nodes_of(connection)]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(ids) == len(set(ids)) == connection["totalCount"] == demo_count(db, "true")


@pytest.mark.parametrize("text", ["%", "_", "\\", "%%%"])
def test_text_wildcards_match_literally(api: Api, text: str) -> None:
    assert page(api, filter={"text": text})["totalCount"] == 0


@pytest.mark.parametrize(
    ("filter", "everything"),
    [
        pytest.param({"maxPrice": "999999999999999"}, True, id="max-price-no-limit"),
        pytest.param({"minPrice": "1e20"}, False, id="min-price-huge"),
        pytest.param({"maxLivingArea": "1e11"}, True, id="max-area-huge"),
    ],
)
def test_huge_decimal_filter_bounds_are_just_bounds(
    api: Api, db: Any, filter: dict[str, Any], everything: bool
) -> None:
    result = api.as_user(ADMIN, LIST, {"filter": filter, "first": 1})
    assert "errors" not in result, result["errors"]
    column = "list_price" if "Price" in next(iter(filter)) else "living_area"
    expected = demo_count(db, f"{column} IS NOT NULL") if everything else 0
    assert result["data"]["properties"]["totalCount"] == expected


@pytest.mark.parametrize("value", ["Infinity", "NaN"])
def test_non_finite_decimal_filter_bound_is_bad_user_input(api: Api, value: str) -> None:
    assert top_code(api.as_user(ADMIN, LIST, {"filter": {"minPrice": value}})) == "BAD_USER_INPUT"


def test_a_page_with_media_and_provenance_is_a_handful_of_statements(
    api: Api, count_statements: Any
) -> None:
    query = """{ properties(first: 100) { totalCount edges { node {
        id media { url } provenance { field } address { city } } } } }"""
    api.token(ADMIN)
    count_statements.statements.clear()
    assert len(run(api, query)["properties"]["edges"]) == 100
    assert count_statements.count <= 6, count_statements.statements


def test_over_long_text_filter_is_bad_user_input(api: Api) -> None:
    result = api.as_user(ADMIN, LIST, {"filter": {"text": "x" * 201}})
    assert top_code(result) == "BAD_USER_INPUT"


# ---------------------------------------------------------------- create, read, update, delete

FULL_INPUT_EXTRAS: dict[str, Any] = {
    "listingId": None,  # set per test
    "parcelNumber": None,  # set per test
    "latitude": 30.2711,
    "longitude": -97.7437,
    "propertyType": "RESIDENTIAL_INCOME",
    "propertySubType": "Duplex",
    "standardStatus": "ACTIVE_UNDER_CONTRACT",
    "listPrice": "412500.00",
    "originalListPrice": "425000",
    "closePrice": None,
    "closeDate": None,
    "listingContractDate": "2025-03-14",
    "daysOnMarket": 12,
    "bedroomsTotal": 4,
    "bathroomsTotalInteger": 3,
    "livingArea": "2140.5",
    "lotSizeArea": "0.25",
    "lotSizeUnits": "ACRES",
    "yearBuilt": 1987,
    "taxAnnualAmount": "8250.5",
    "associationFee": "75",
    "features": ["Pool", "Fenced Yard", "Garage"],
    "media": [
        {"url": "https://img.example.com/front.jpg", "shortDescription": "Front"},
        {"url": "https://img.example.com/kitchen.jpg", "mediaCategory": "Photo"},
        {"url": "/media/floorplan.pdf", "mediaCategory": "FloorPlan"},
    ],
}


def full_input(tag: str) -> dict[str, Any]:
    digits = str(uuid.uuid4().int)[:9]
    return {
        **FULL_INPUT_EXTRAS,
        "listingId": f"TST-{tag}",
        "parcelNumber": f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        "address": address(tag),
    }


def expected_fields(tag: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What reading back `full_input` must show."""
    return {
        "listingId": fields["listingId"],
        "parcelNumber": fields["parcelNumber"],
        "latitude": 30.2711,
        "longitude": -97.7437,
        "propertyType": "RESIDENTIAL_INCOME",
        "propertySubType": "Duplex",
        "standardStatus": "ACTIVE_UNDER_CONTRACT",
        "listPrice": "412500.00",
        "originalListPrice": "425000.00",
        "closePrice": None,
        "closeDate": None,
        "listingContractDate": "2025-03-14",
        "daysOnMarket": 12,
        "bedroomsTotal": 4,
        "bathroomsTotalInteger": 3,
        "yearBuilt": 1987,
        "taxAnnualAmount": "8250.50",
        "associationFee": "75.00",
        "lotSizeUnits": "ACRES",
        "features": ["Pool", "Fenced Yard", "Garage"],
        "address": {
            "unparsedAddress": f"123 Main {tag} Street, Austin, TX 78701",
            "streetNumber": "123",
            "streetName": f"Main {tag} Street",
            "unitNumber": None,
            "city": "Austin",
            "stateOrProvince": "TX",
            "postalCode": "78701",
            "countyOrParish": "Travis",
        },
        "media": [
            {
                "url": "https://img.example.com/front.jpg",
                "mediaCategory": "Photo",
                "shortDescription": "Front",
                "order": 1,
            },
            {
                "url": "https://img.example.com/kitchen.jpg",
                "mediaCategory": "Photo",
                "shortDescription": None,
                "order": 2,
            },
            {
                "url": "/media/floorplan.pdf",
                "mediaCategory": "FloorPlan",
                "shortDescription": None,
                "order": 3,
            },
        ],
    }


def assert_round_trip(prop: dict, expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        assert prop[name] == value, name
    assert Decimal(prop["livingArea"]) == Decimal("2140.5")
    assert Decimal(prop["lotSizeArea"]) == Decimal("0.25")


def test_create_read_update_delete(api: Api, db: Any) -> None:
    tag = new_tag()
    fields = full_input(tag)
    created = create(api, fields)
    expected = expected_fields(tag, fields)
    assert_round_trip(created, expected)
    assert created["createdAt"] and created["updatedAt"]

    by_id = fetch(api, created["id"])
    assert by_id is not None
    assert_round_trip(by_id, expected)
    assert by_id == created
    by_node = run(api, NODE, {"id": created["id"]})["node"]
    assert by_node == created

    provenance = provenance_of(by_id)
    typed = {
        "listingId", "parcelNumber", "latitude", "longitude", "propertyType", "propertySubType",
        "standardStatus", "listPrice", "originalListPrice", "listingContractDate", "daysOnMarket",
        "bedroomsTotal", "bathroomsTotalInteger", "livingArea", "lotSizeArea", "lotSizeUnits",
        "yearBuilt", "taxAnnualAmount", "associationFee", "features", "streetNumber", "streetName",
        "city", "stateOrProvince", "postalCode", "countyOrParish",
    }  # fmt: skip
    assert typed <= set(provenance)
    assert "closePrice" not in provenance  # not given, so no provenance
    for name in typed:
        assert provenance[name]["source"] == "USER", name
        assert provenance[name]["locked"] is True, name
        assert Decimal(provenance[name]["confidence"]) == 1, name

    changed = update(
        api,
        created["id"],
        {"listPrice": "399000.00", "standardStatus": "PENDING", "associationFee": None},
    )
    assert changed["errors"] == []
    after = changed["property"]
    assert after["listPrice"] == "399000.00"
    assert after["standardStatus"] == "PENDING"
    assert after["associationFee"] is None
    unchanged = {
        k: v
        for k, v in expected.items()
        if k not in ("listPrice", "standardStatus", "associationFee")
    }
    assert_round_trip(after, unchanged)
    assert after["createdAt"] == created["createdAt"]
    assert datetime.fromisoformat(after["updatedAt"]) > datetime.fromisoformat(created["updatedAt"])
    assert fetch(api, created["id"]) == after
    assert provenance_of(after)["listPrice"]["source"] == "USER"
    assert provenance_of(after)["listPrice"]["locked"] is True

    deleted = delete(api, created["id"])
    assert deleted == {"deletedId": created["id"], "errors": []}
    assert fetch(api, created["id"]) is None
    assert run(api, NODE, {"id": created["id"]})["node"] is None
    assert stored_count(db, tag) == 0
    again = delete(api, created["id"])
    assert again["deletedId"] is None
    assert error_fields(again["errors"]) == [("NOT_FOUND", ("id",))]
    missing = update(api, created["id"], {"listPrice": "1.00"})
    assert missing["property"] is None
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]


def test_minimal_create_and_given_unparsed_address(api: Api) -> None:
    tag = new_tag()
    minimal = create(api, {"address": address(tag, postalCode=None, countyOrParish=None)})
    assert minimal["address"]["unparsedAddress"] == f"123 Main {tag} Street, Austin, TX"
    assert minimal["listPrice"] is None
    assert minimal["features"] == []
    assert minimal["media"] == []

    given = f"9 {tag} Rd, Unit 4, Austin, TX 78702"
    typed = create(
        api, {"address": {"unparsedAddress": given, "city": "Austin", "stateOrProvince": "TX"}}
    )
    assert typed["address"]["unparsedAddress"] == given
    assert typed["address"]["streetName"] is None


def test_update_with_omitted_fields_changes_nothing_else(api: Api) -> None:
    tag = new_tag()
    created = create(api, property_input(tag, features=["Pool"]))
    result = update(api, created["id"], {"bedroomsTotal": 5})
    assert result["errors"] == []
    after = result["property"]
    assert after["bedroomsTotal"] == 5
    same = ("listPrice", "standardStatus", "propertyType", "features", "address", "livingArea")
    assert {k: after[k] for k in same} == {k: created[k] for k in same}
    cleared = update(api, created["id"], {"features": None, "listPrice": None})["property"]
    assert cleared["features"] == []
    assert cleared["listPrice"] is None


def test_updating_the_city_recomposes_a_composed_unparsed_address(api: Api) -> None:
    tag = new_tag()
    created = create(api, property_input(tag))
    assert created["address"]["unparsedAddress"] == f"123 Main {tag} Street, Austin, TX 78701"
    moved = update(api, created["id"], {"address": {"city": "Round Rock", "postalCode": "78664"}})
    assert moved["errors"] == []
    assert moved["property"]["address"]["city"] == "Round Rock"
    assert (
        moved["property"]["address"]["unparsedAddress"]
        == f"123 Main {tag} Street, Round Rock, TX 78664"
    )


# ---------------------------------------------------------------- errors as data

# (case id, PropertyInput fields to merge, expected field path)
FIELD_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("negative-price", {"listPrice": "-1.00"}, ["input", "listPrice"]),
    ("absurd-price", {"listPrice": "1000000000.01"}, ["input", "listPrice"]),
    ("huge-price", {"listPrice": "5e12"}, ["input", "listPrice"]),
    ("three-decimals", {"listPrice": "412500.123"}, ["input", "listPrice"]),
    ("negative-close-price", {"closePrice": "-5"}, ["input", "closePrice"]),
    ("bedrooms-negative", {"bedroomsTotal": -1}, ["input", "bedroomsTotal"]),
    ("bedrooms-101", {"bedroomsTotal": 101}, ["input", "bedroomsTotal"]),
    ("bathrooms-101", {"bathroomsTotalInteger": 101}, ["input", "bathroomsTotalInteger"]),
    ("latitude-91", {"latitude": 91}, ["input", "latitude"]),
    ("longitude-minus-181", {"longitude": -181}, ["input", "longitude"]),
    ("negative-living-area", {"livingArea": "-10"}, ["input", "livingArea"]),
    ("year-built-1500", {"yearBuilt": 1500}, ["input", "yearBuilt"]),
    ("blank-feature", {"features": ["Pool", " "]}, ["input", "features"]),
]
ADDRESS_LENGTH_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("city-101-chars", {"city": "C" * 101}, ["input", "address", "city"]),
    ("street-name-121-chars", {"streetName": "S" * 121}, ["input", "address", "streetName"]),
]


def tagged_long(tag: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Over-long address values that still contain the tag, so the row could be counted."""
    return {name: tag + value[len(tag) :] for name, value in overrides.items()}


def assert_invalid(payload: dict, *paths: list[str]) -> None:
    assert payload["property"] is None
    assert error_fields(payload["errors"]) == sorted(("INVALID", tuple(path)) for path in paths)
    assert all(error["message"] for error in payload["errors"])


@pytest.mark.parametrize(
    ("fields", "path"), [pytest.param(f, p, id=name) for name, f, p in FIELD_CASES]
)
def test_create_with_an_invalid_value_is_an_error_and_writes_nothing(
    api: Api, db: Any, fields: dict[str, Any], path: list[str]
) -> None:
    tag = new_tag()
    payload = run(api, CREATE, {"input": property_input(tag, **fields)})["propertyCreate"]
    assert_invalid(payload, path)
    assert stored_count(db, tag) == 0


@pytest.mark.parametrize(
    ("overrides", "path"),
    [pytest.param(o, p, id=name) for name, o, p in ADDRESS_LENGTH_CASES],
)
def test_create_with_an_over_long_address_part_is_an_error(
    api: Api, db: Any, overrides: dict[str, Any], path: list[str]
) -> None:
    tag = new_tag()
    fields = property_input(tag, address=address(tag, **tagged_long(tag, overrides)))
    payload = run(api, CREATE, {"input": fields})["propertyCreate"]
    assert stored_count(db, tag) == 0
    assert_invalid(payload, path)


@pytest.mark.parametrize(
    ("removed", "path"),
    [
        pytest.param(
            ("streetNumber", "streetName"), ["input", "address", "unparsedAddress"], id="no-street"
        ),
        pytest.param(("city",), ["input", "address", "city"], id="no-city"),
        pytest.param(("stateOrProvince",), ["input", "address", "stateOrProvince"], id="no-state"),
    ],
)
def test_create_without_a_required_address_part_is_an_error(
    api: Api, db: Any, removed: tuple[str, ...], path: list[str]
) -> None:
    tag = new_tag()
    parts = {k: v for k, v in address(tag, city=f"Town {tag}").items() if k not in removed}
    payload = run(api, CREATE, {"input": property_input(tag, address=parts)})["propertyCreate"]
    assert_invalid(payload, path)
    assert stored_count(db, tag) == 0
    blank = {**parts, **{name: "   " for name in removed}}
    payload = run(api, CREATE, {"input": property_input(tag, address=blank)})["propertyCreate"]
    assert_invalid(payload, path)
    no_address = run(api, CREATE, {"input": {"listPrice": "1.00"}})["propertyCreate"]
    assert no_address["property"] is None
    assert {e["code"] for e in no_address["errors"]} == {"INVALID"}
    assert stored_count(db, tag) == 0


def test_several_bad_fields_are_all_reported(api: Api, db: Any) -> None:
    tag = new_tag()
    bad = {"listPrice": "-1", "bedroomsTotal": 101, "latitude": 91, "yearBuilt": 1500}
    payload = run(api, CREATE, {"input": property_input(tag, **bad)})["propertyCreate"]
    assert_invalid(
        payload,
        ["input", "listPrice"],
        ["input", "bedroomsTotal"],
        ["input", "latitude"],
        ["input", "yearBuilt"],
    )
    assert stored_count(db, tag) == 0


def test_bad_values_and_a_missing_city_are_reported_together(api: Api, db: Any) -> None:
    tag = new_tag()
    parts = {k: v for k, v in address(tag).items() if k != "city"}
    payload = run(api, CREATE, {"input": property_input(tag, listPrice="-1", address=parts)})
    assert_invalid(payload["propertyCreate"], ["input", "listPrice"], ["input", "address", "city"])
    assert stored_count(db, tag) == 0


@pytest.mark.parametrize(
    ("fields", "path"), [pytest.param(f, p, id=name) for name, f, p in FIELD_CASES]
)
def test_update_with_an_invalid_value_leaves_the_property_unchanged(
    api: Api, db: Any, fields: dict[str, Any], path: list[str]
) -> None:
    created = create(api, property_input(new_tag()))
    before_events = outbox(db, created["id"])
    payload = update(api, created["id"], {"standardStatus": "PENDING", **fields})
    assert_invalid(payload, path)
    assert fetch(api, created["id"]) == created
    assert outbox(db, created["id"]) == before_events


@pytest.mark.parametrize(
    ("address_change", "path"),
    [
        pytest.param({"city": None}, ["input", "address", "city"], id="city-null"),
        pytest.param({"city": "  "}, ["input", "address", "city"], id="city-blank"),
        pytest.param(
            {"stateOrProvince": None}, ["input", "address", "stateOrProvince"], id="state-null"
        ),
        pytest.param(
            {"streetNumber": None, "streetName": None, "unparsedAddress": None},
            ["input", "address", "unparsedAddress"],
            id="street-null",
        ),
        pytest.param(
            {"city": "C" * 101},
            ["input", "address", "city"],
            id="city-101-chars",
        ),
    ],
)
def test_update_that_breaks_the_address_leaves_the_property_unchanged(
    api: Api, address_change: dict[str, Any], path: list[str]
) -> None:
    created = create(api, property_input(new_tag()))
    payload = update(api, created["id"], {"listPrice": "1.00", "address": address_change})
    assert fetch(api, created["id"]) == created
    assert_invalid(payload, path)


def test_unknown_enum_literal_fails_validation_and_writes_nothing(api: Api, db: Any) -> None:
    tag = new_tag()
    literal = f"""mutation {{ propertyCreate(input: {{
        address: {{ streetNumber: "1", streetName: "{tag} St", city: "Austin",
                   stateOrProvince: "TX" }}
        propertyType: MANSION }}) {{ property {{ id }} errors {{ code }} }} }}"""
    result = api.as_user(ADMIN, literal)
    assert result.get("data") is None
    assert top_code(result) == "GRAPHQL_VALIDATION_FAILED"

    as_variable = api.as_user(ADMIN, CREATE, {"input": property_input(tag, propertyType="MANSION")})
    assert as_variable.get("data") is None
    assert top_code(as_variable) == "BAD_USER_INPUT"
    status_variable = api.as_user(
        ADMIN, CREATE, {"input": property_input(tag, standardStatus="Active")}
    )
    assert top_code(status_variable) == "BAD_USER_INPUT"
    assert stored_count(db, tag) == 0


def test_unknown_enum_in_a_filter_is_bad_user_input(api: Api) -> None:
    result = api.as_user(ADMIN, LIST, {"filter": {"standardStatus": ["SOLD"]}})
    assert top_code(result) == "BAD_USER_INPUT"


def test_not_a_decimal_is_bad_user_input(api: Api, db: Any) -> None:
    tag = new_tag()
    result = api.as_user(ADMIN, CREATE, {"input": property_input(tag, listPrice="a lot")})
    assert top_code(result) in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")
    assert "Traceback" not in json.dumps(result)
    assert stored_count(db, tag) == 0


def other_type_ids(api: Api) -> list[str]:
    me = run(api, "{ me { id tenant { id } } }")["me"]
    return [global_id("User", uuid.uuid4()), me["id"], me["tenant"]["id"]]


def test_malformed_or_foreign_type_ids_on_update_and_delete_are_invalid(api: Api, db: Any) -> None:
    created = create(api, property_input(new_tag()))
    for bad_id in ["nope", "!!!", "", *other_type_ids(api)]:
        updated = update(api, bad_id, {"listPrice": "1.00"})
        assert updated["property"] is None, bad_id
        assert error_fields(updated["errors"]) == [("INVALID", ("id",))], bad_id
        deleted = delete(api, bad_id)
        assert deleted["deletedId"] is None, bad_id
        assert error_fields(deleted["errors"]) == [("INVALID", ("id",))], bad_id
    assert fetch(api, created["id"]) == created


def test_unknown_property_id_is_not_found_on_update_and_delete(api: Api) -> None:
    unknown = global_id("Property", uuid.uuid4())
    assert fetch(api, unknown) is None
    assert error_fields(update(api, unknown, {"listPrice": "1.00"})["errors"]) == [
        ("NOT_FOUND", ("id",))
    ]
    assert error_fields(delete(api, unknown)["errors"]) == [("NOT_FOUND", ("id",))]


def test_malformed_id_on_property_and_node_is_bad_user_input(api: Api) -> None:
    for bad_id in ["nope", "!!!", global_id("User", uuid.uuid4())]:
        result = api.as_user(ADMIN, GET, {"id": bad_id})
        assert top_code(result) == "BAD_USER_INPUT", bad_id
    for bad_id in ["nope", "!!!"]:
        assert top_code(api.as_user(ADMIN, NODE, {"id": bad_id})) == "BAD_USER_INPUT", bad_id


@pytest.mark.parametrize(
    "variant",
    [
        {"streetName": "MAIN {tag} ST"},
        {"streetName": "main  {tag}  street.", "city": "AUSTIN", "stateOrProvince": "tx"},
        {"streetName": "Main {tag} Str", "postalCode": "78702"},
    ],
)
def test_same_address_spelled_differently_is_a_conflict(
    api: Api, db: Any, variant: dict[str, str]
) -> None:
    tag = new_tag()
    create(api, property_input(tag))
    spelled = {name: value.format(tag=tag) for name, value in variant.items()}
    payload = run(api, CREATE, {"input": property_input(tag, address=address(tag, **spelled))})
    result = payload["propertyCreate"]
    assert result["property"] is None
    assert [e["code"] for e in result["errors"]] == ["CONFLICT"]
    assert stored_count(db, tag) == 1


def test_same_unit_written_another_way_is_a_conflict_but_another_unit_is_not(
    api: Api, db: Any
) -> None:
    tag = new_tag()
    create(api, property_input(tag, address=address(tag, unitNumber="2")))
    create(api, property_input(tag, address=address(tag, unitNumber="3")))
    line = f"123 Main {tag} St Apt 2, Austin, TX"
    same = {"address": {"unparsedAddress": line, "city": "Austin", "stateOrProvince": "TX"}}
    result = run(api, CREATE, {"input": same})["propertyCreate"]
    assert [e["code"] for e in result["errors"]] == ["CONFLICT"]
    assert stored_count(db, tag) == 2


def test_moving_a_property_onto_another_address_is_a_conflict(api: Api) -> None:
    tag = new_tag()
    create(api, property_input(tag, address=address(tag, streetNumber="1")))
    second = create(api, property_input(tag, address=address(tag, streetNumber="2")))
    result = update(api, second["id"], {"listPrice": "1.00", "address": {"streetNumber": "1"}})
    assert result["property"] is None
    assert [e["code"] for e in result["errors"]] == ["CONFLICT"]
    assert fetch(api, second["id"]) == second


def test_bad_media_url_is_invalid(api: Api, db: Any) -> None:
    tag = new_tag()
    media = [{"url": "https://img.example.com/ok.jpg"}, {"url": "javascript:alert(1)"}]
    payload = run(api, CREATE, {"input": property_input(tag, media=media)})["propertyCreate"]
    assert_invalid(payload, ["input", "media", "1", "url"])
    assert stored_count(db, tag) == 0


def test_same_parcel_formatted_differently_is_a_conflict(api: Api, db: Any) -> None:
    tag = new_tag()
    digits = str(uuid.uuid4().int)[:8]
    create(api, property_input(tag, parcelNumber=f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"))
    other = property_input(tag, parcelNumber=digits, address=address(tag, streetNumber="999"))
    result = run(api, CREATE, {"input": other})["propertyCreate"]
    assert [e["code"] for e in result["errors"]] == ["CONFLICT"]
    assert stored_count(db, tag) == 1


def test_same_address_in_another_tenant_is_not_a_conflict(api: Api, db: Any) -> None:
    tag = new_tag()
    mine = create(api, property_input(tag))
    theirs = create(api, property_input(tag), user=OTHER_ADMIN)
    assert mine["id"] != theirs["id"]
    assert stored_count(db, tag) == 2


# ---------------------------------------------------------------- roles and tenants


def test_viewer_reads_but_cannot_write(api: Api, db: Any) -> None:
    tag = new_tag()
    existing = create(api, property_input(tag, address=address(tag, streetNumber="1")))
    assert page(api, user=VIEWER, first=1)["totalCount"] > 0
    assert fetch(api, existing["id"], user=VIEWER) == existing

    attempts = [
        (CREATE, {"input": property_input(tag, address=address(tag, streetNumber="2"))}),
        (UPDATE, {"id": existing["id"], "input": {"listPrice": "1.00"}}),
        (DELETE, {"id": existing["id"]}),
        (INTAKE, {"input": {"source": "MLS", "property": property_input(tag, listPrice="1.00")}}),
    ]
    for query, variables in attempts:
        result = api.as_user(VIEWER, query, variables)
        assert result["data"] is None
        assert top_code(result) == "FORBIDDEN"
    assert stored_count(db, tag) == 1
    assert fetch(api, existing["id"]) == existing
    assert [kind for kind, _ in outbox(db, existing["id"])] == ["property.created"]


@pytest.mark.parametrize("user", [ANALYST, OPS])
def test_analyst_and_ops_can_create(api: Api, user: str) -> None:
    created = create(api, property_input(new_tag()), user=user)
    assert fetch(api, created["id"]) == created


def test_without_a_token_everything_is_unauthenticated(api: Api, db: Any) -> None:
    tag = new_tag()
    existing = create(api, property_input(tag))
    for query, variables in [
        (LIST, {}),
        (GET, {"id": existing["id"]}),
        (NODE, {"id": existing["id"]}),
        (CREATE, {"input": property_input(tag, address=address(tag, streetNumber="2"))}),
        (UPDATE, {"id": existing["id"], "input": {"listPrice": "1.00"}}),
        (DELETE, {"id": existing["id"]}),
    ]:
        assert top_code(api.post(query, variables)) == "UNAUTHENTICATED"
    assert stored_count(db, tag) == 1


def test_another_tenant_cannot_see_or_touch_a_property(api: Api) -> None:
    tag = new_tag()
    mine = create(api, property_input(tag))
    assert fetch(api, mine["id"], user=OTHER_ADMIN) is None
    assert run(api, NODE, {"id": mine["id"]}, user=OTHER_ADMIN)["node"] is None
    assert page(api, user=OTHER_ADMIN, filter={"text": tag})["totalCount"] == 0
    updated = update(api, mine["id"], {"listPrice": "1.00"}, user=OTHER_ADMIN)
    assert [e["code"] for e in updated["errors"]] == ["NOT_FOUND"]
    deleted = delete(api, mine["id"], user=OTHER_ADMIN)
    assert [e["code"] for e in deleted["errors"]] == ["NOT_FOUND"]
    assert fetch(api, mine["id"]) == mine


# ---------------------------------------------------------------- intake


def test_intake_twice_with_address_variants_is_one_property(api: Api, db: Any) -> None:
    tag = new_tag()
    first = intake(api, property_input(tag, address=address(tag, streetName=f"Main {tag} Street")))
    assert first["errors"] == []
    assert first["created"] is True
    again = intake(api, property_input(tag, address=address(tag, streetName=f"MAIN {tag} ST")))
    assert again["errors"] == []
    assert again["created"] is False
    assert again["property"]["id"] == first["property"]["id"]
    assert stored_count(db, tag) == 1
    provenance = provenance_of(first["property"])
    assert provenance["listPrice"]["source"] == "MLS"
    assert provenance["listPrice"]["locked"] is False
    assert Decimal(provenance["listPrice"]["confidence"]) == Decimal("0.9")


def test_intake_matches_by_parcel_number_even_when_the_address_differs(api: Api, db: Any) -> None:
    tag = new_tag()
    digits = str(uuid.uuid4().int)[:8]
    formatted = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    first = intake(api, property_input(tag, parcelNumber=formatted), source="COUNTY")
    assert first["created"] is True
    moved = address(
        tag, streetNumber="77", streetName=f"Oak {tag} Avenue", countyOrParish="Travis County"
    )
    again = intake(api, property_input(tag, parcelNumber=digits, address=moved), source="COUNTY")
    assert again["errors"] == []
    assert again["created"] is False
    assert again["property"]["id"] == first["property"]["id"]
    assert stored_count(db, tag) == 1

    elsewhere = address(tag, streetNumber="78", countyOrParish="Williamson")
    different_county = intake(api, property_input(tag, parcelNumber=digits, address=elsewhere))
    assert different_county["created"] is True
    assert stored_count(db, tag) == 2


def test_enrichment_updates_unlocked_fields_but_never_typed_ones(api: Api) -> None:
    tag = new_tag()
    first = intake(api, property_input(tag, listPrice="400000.00", daysOnMarket=3), source="MLS")
    prop_id = first["property"]["id"]

    enriched = intake(
        api,
        property_input(tag, listPrice="390000.00", daysOnMarket=10),
        source="ZILLOW",
        confidence=0.6,
    )
    assert enriched["created"] is False
    assert enriched["property"]["listPrice"] == "390000.00"
    provenance = provenance_of(enriched["property"])
    assert provenance["listPrice"]["source"] == "ZILLOW"
    assert provenance["listPrice"]["locked"] is False
    assert Decimal(provenance["listPrice"]["confidence"]) == Decimal("0.6")

    typed = update(api, prop_id, {"listPrice": "385000.00"})
    assert typed["errors"] == []
    assert provenance_of(typed["property"])["listPrice"]["locked"] is True

    later = intake(api, property_input(tag, listPrice="999000.00", daysOnMarket=20), source="MLS")
    assert later["errors"] == []
    assert later["created"] is False
    after = fetch(api, prop_id)
    assert after is not None
    assert after["listPrice"] == "385000.00"
    assert after["daysOnMarket"] == 20
    provenance = provenance_of(after)
    assert provenance["listPrice"]["source"] == "USER"
    assert provenance["listPrice"]["locked"] is True
    assert provenance["daysOnMarket"]["source"] == "MLS"
    assert provenance["daysOnMarket"]["locked"] is False


def test_intake_never_overwrites_a_property_a_user_created(api: Api) -> None:
    tag = new_tag()
    created = create(api, property_input(tag, listPrice="500000.00"))
    result = intake(api, property_input(tag, listPrice="1.00", bedroomsTotal=9, yearBuilt=1999))
    assert result["created"] is False
    assert result["property"]["id"] == created["id"]
    after = fetch(api, created["id"])
    assert after is not None
    assert (after["listPrice"], after["bedroomsTotal"], after["yearBuilt"]) == (
        "500000.00",
        3,
        1999,
    )
    assert provenance_of(after)["yearBuilt"]["source"] == "MLS"


def test_intake_never_replaces_media_a_user_typed(api: Api) -> None:
    tag = new_tag()
    mine = [{"url": "https://img.example.com/mine.jpg", "shortDescription": "Mine"}]
    created = create(api, property_input(tag, media=mine))
    result = intake(api, property_input(tag, media=[{"url": "https://mls.example.com/1.jpg"}]))
    assert result["created"] is False
    after = fetch(api, created["id"])
    assert after is not None
    assert [m["url"] for m in after["media"]] == ["https://img.example.com/mine.jpg"]


def test_a_value_the_user_confirms_is_locked_even_if_unchanged(api: Api) -> None:
    tag = new_tag()
    first = intake(api, property_input(tag, listPrice="400000.00"))
    prop_id = first["property"]["id"]
    confirmed = update(api, prop_id, {"listPrice": "400000.00"})
    assert confirmed["errors"] == []
    later = intake(api, property_input(tag, listPrice="390000.00"))
    assert later["errors"] == []
    after = fetch(api, prop_id)
    assert after is not None
    assert after["listPrice"] == "400000.00"
    listed = provenance_of(after)["listPrice"]
    assert (listed["source"], listed["locked"]) == ("USER", True)


def test_resending_the_same_intake_changes_nothing(api: Api, db: Any) -> None:
    tag = new_tag()
    fields = property_input(tag, features=["Pool"])
    first = intake(api, fields)
    again = intake(api, fields)
    assert again["created"] is False
    assert again["property"] == first["property"]
    assert [kind for kind, _ in outbox(db, first["property"]["id"])] == ["property.created"]


def test_resending_the_same_intake_with_media_emits_no_event(api: Api, db: Any) -> None:
    tag = new_tag()
    fields = property_input(tag, media=[{"url": "https://mls.example.com/1.jpg"}])
    first = intake(api, fields)
    again = intake(api, fields)
    assert again["property"]["media"] == first["property"]["media"]
    assert [kind for kind, _ in outbox(db, first["property"]["id"])] == ["property.created"]


@pytest.mark.parametrize(
    ("source", "confidence", "path"),
    [
        pytest.param("", 0.9, ["input", "source"], id="empty-source"),
        pytest.param("   ", 0.9, ["input", "source"], id="blank-source"),
        pytest.param("USER", 0.9, ["input", "source"], id="user-source"),
        pytest.param("MLS", 1.5, ["input", "confidence"], id="confidence-1.5"),
        pytest.param("MLS", -0.1, ["input", "confidence"], id="negative-confidence"),
    ],
)
def test_intake_with_a_bad_source_or_confidence_writes_nothing(
    api: Api, db: Any, source: str, confidence: float, path: list[str]
) -> None:
    tag = new_tag()
    payload = intake(api, property_input(tag), source=source, confidence=confidence)
    assert payload["property"] is None
    assert payload["created"] is False
    assert error_fields(payload["errors"]) == [("INVALID", tuple(path))]
    assert stored_count(db, tag) == 0


def test_intake_with_an_invalid_property_reports_the_nested_path(api: Api, db: Any) -> None:
    tag = new_tag()
    parts = {k: v for k, v in address(tag, city=f"Town {tag}").items() if k != "streetName"}
    bad = intake(api, property_input(tag, listPrice="-1"))
    assert error_fields(bad["errors"]) == [("INVALID", ("input", "property", "listPrice"))]
    no_street = intake(api, property_input(tag, address=parts))
    assert error_fields(no_street["errors"]) == [
        ("INVALID", ("input", "property", "address", "unparsedAddress"))
    ]
    assert stored_count(db, tag) == 0


# ---------------------------------------------------------------- outbox


def test_writes_emit_outbox_events(api: Api, db: Any) -> None:
    tag = new_tag()
    created = create(api, property_input(tag))
    assert [kind for kind, _ in outbox(db, created["id"])] == ["property.created"]
    ((_, payload),) = outbox(db, created["id"])
    assert payload["property_id"] == str(local_id(created["id"]))
    assert payload["list_price"] == "412500.00"

    update(api, created["id"], {"listPrice": "399000.00", "standardStatus": "PENDING"})
    events = outbox(db, created["id"])
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "property.created"
    assert sorted(kinds[1:]) == [
        "property.price_changed",
        "property.status_changed",
        "property.updated",
    ]
    by_kind = dict(events)
    assert by_kind["property.price_changed"]["from"] == "412500.00"
    assert by_kind["property.price_changed"]["to"] == "399000.00"
    assert by_kind["property.status_changed"]["from"] == "Active"
    assert by_kind["property.status_changed"]["to"] == "Pending"
    assert set(by_kind["property.updated"]["changed"]) == {"list_price", "standard_status"}

    update(api, created["id"], {"bedroomsTotal": 4})
    kinds = [kind for kind, _ in outbox(db, created["id"])]
    assert kinds[4:] == ["property.updated"], "no price or status event without such a change"

    delete(api, created["id"])
    assert [kind for kind, _ in outbox(db, created["id"])][-1] == "property.deleted"


def test_rejected_writes_emit_no_events(api: Api, db: Any) -> None:
    tag = new_tag()
    created = create(api, property_input(tag))
    before = outbox(db, created["id"])
    update(api, created["id"], {"listPrice": "-1", "standardStatus": "CLOSED"})
    update(api, created["id"], {"listPrice": "412500.00"})  # no change, nothing to tell
    assert outbox(db, created["id"]) == before

    city = f"Nowhere {tag}"
    run(
        api, CREATE, {"input": property_input(tag, listPrice="-1", address=address(tag, city=city))}
    )
    assert db("SELECT count(*) FROM outbox WHERE payload->>'city' = $1", city)[0][0] == 0


def test_intake_enrichment_emits_price_change(api: Api, db: Any) -> None:
    tag = new_tag()
    first = intake(api, property_input(tag, listPrice="400000.00"))
    intake(api, property_input(tag, listPrice="390000.00"))
    events = outbox(db, first["property"]["id"])
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "property.created"
    assert sorted(kinds[1:]) == ["property.price_changed", "property.updated"]
    price_changed = dict(events)["property.price_changed"]
    assert (price_changed["from"], price_changed["to"]) == ("400000.00", "390000.00")
