"""propertySearch through the real API, against each search backend with one suite: ranking,
typos, radius, facets, tenant isolation, paging and bad input.

The PostgreSQL backend always runs. The Elasticsearch backend runs when ELASTICSEARCH_URL names
a real Elasticsearch (an index alias of its own per run, removed at the end), and is skipped
otherwise: none can be installed on this machine (not in Debian's archive or on PyPI).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Api, make_settings

ADMIN = "demo@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER = "other@reos.dev"
EARTH_RADIUS_MILES = 6_371_008.8 / 1609.344
ORIGIN = (46.80, -100.90)  # far from every demo metro

SEARCH = """query($q: String, $filter: PropertyFilter, $near: GeoRadiusInput, $first: Int,
                  $after: String) {
  propertySearch(query: $q, filter: $filter, near: $near, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    facets { field otherCount buckets { value count } }
    edges { cursor score distanceMiles node {
      id latitude longitude propertyType standardStatus listPrice bedroomsTotal
      address { unparsedAddress city postalCode }
    } }
  } }"""
EDGES_ONLY = """query($q: String, $near: GeoRadiusInput, $first: Int, $after: String) {
  propertySearch(query: $q, near: $near, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }"""
CREATE = """mutation($input: PropertyInput!) {
  propertyCreate(input: $input) { property { id } errors { field message code } } }"""
LIST = """query($filter: PropertyFilter, $after: String) {
  properties(filter: $filter, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id latitude longitude } } } }"""


# ---------------------------------------------------------------- geometry


def haversine_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


def destination(start: tuple[float, float], miles: float, bearing: float) -> tuple[float, float]:
    """The point `miles` away from start along a great circle at `bearing` degrees."""
    lat, lon, theta = map(math.radians, (*start, bearing))
    d = miles / EARTH_RADIUS_MILES
    lat2 = math.asin(math.sin(lat) * math.cos(d) + math.cos(lat) * math.sin(d) * math.cos(theta))
    lon2 = lon + math.atan2(
        math.sin(theta) * math.sin(d) * math.cos(lat), math.cos(d) - math.sin(lat) * math.sin(lat2)
    )
    return round(math.degrees(lat2), 6), round(math.degrees(lon2), 6)


# ---------------------------------------------------------------- fixture properties


@dataclass
class World:
    """Distinctively named properties of both tenants, shared by the module's tests."""

    tag: str
    city: str  # a made-up city name, e.g. "Kqzvmtrpville"
    brook: str  # a made-up street word
    ids: dict[str, str] = field(default_factory=dict)  # name -> global ID
    points: dict[str, tuple[float, float]] = field(default_factory=dict)


def _property(
    street_number: str,
    street_name: str,
    city: str,
    postal: str,
    point: tuple[float, float],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "address": {
            "streetNumber": street_number,
            "streetName": street_name,
            "city": city,
            "stateOrProvince": "ND",
            "postalCode": postal,
            "countyOrParish": "Burleigh",
        },
        "latitude": point[0],
        "longitude": point[1],
        **extra,
    }


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    tag = "".join(random.choices(string.ascii_lowercase, k=8))
    city = f"{tag.capitalize()}ville"
    brook = f"{tag.capitalize()}brook"
    w = World(tag=tag, city=city, brook=brook)
    plan = {
        # name: (user, property input, distance from ORIGIN in miles, bearing)
        "city1": (
            ADMIN,
            ("10", "Oak St", city, "58501"),
            1.0,
            0,
            "RESIDENTIAL",
            "ACTIVE",
            "250000",
            3,
        ),
        "city2": (
            ADMIN,
            ("20", "Elm St", city, "58502"),
            3.0,
            90,
            "RESIDENTIAL_INCOME",
            "PENDING",
            "650000",
            5,
        ),
        "street": (
            ADMIN,
            ("5", f"{city} Rd", "Springfield", "58503"),
            4.9,
            180,
            "LAND",
            "ACTIVE",
            "90000",
            None,
        ),
        "prefix": (
            ADMIN,
            ("7", f"{city}ton Ave", "Springfield", "58504"),
            5.2,
            270,
            "RESIDENTIAL",
            "CLOSED",
            "1200000",
            4,
        ),
        "addr1": (
            ADMIN,
            ("12", f"{brook} Rd", "Springfield", "58505"),
            8.0,
            45,
            "RESIDENTIAL",
            "ACTIVE",
            "310000",
            2,
        ),
        "addr2": (
            ADMIN,
            ("120", f"{brook} Rd", "Springfield", "58505"),
            8.5,
            45,
            "RESIDENTIAL",
            "ACTIVE",
            "320000",
            2,
        ),
        "addr3": (
            ADMIN,
            ("9", f"{brook} Rd", "Springfield", "58505"),
            9.0,
            45,
            "RESIDENTIAL",
            "ACTIVE",
            "330000",
            2,
        ),
        "other": (
            OTHER,
            ("30", "Pine St", city, "58501"),
            0.5,
            0,
            "RESIDENTIAL",
            "ACTIVE",
            "260000",
            3,
        ),
    }
    for name, (user, street, miles, bearing, kind, status, price, beds) in plan.items():
        point = destination(ORIGIN, miles, bearing)
        fields = _property(
            *street,
            point,
            propertyType=kind,
            standardStatus=status,
            listPrice=price,
            bedroomsTotal=beds,
        )
        result = api.as_user(user, CREATE, {"input": fields})
        payload = result["data"]["propertyCreate"]
        assert payload["errors"] == [], payload
        w.ids[name] = payload["property"]["id"]
        w.points[name] = point
    return w


# ---------------------------------------------------------------- backends


@dataclass
class Searcher:
    """One backend behind the API, and how to make it see the database's current state."""

    backend: str
    api: Api
    sync: Callable[[], None]
    client: TestClient | None = None  # the app of a backend other than the session's

    def search(self, user: str = ADMIN, **variables: Any) -> dict:
        result = self.api.as_user(user, SEARCH, variables)
        assert "errors" not in result, result["errors"]
        return result["data"]["propertySearch"]

    def raw(self, user: str = ADMIN, query: str = SEARCH, **variables: Any) -> dict:
        return self.api.as_user(user, query, variables)


def _elasticsearch(
    url: str, app_url: Any, redis_url: str
) -> Iterator[tuple[Api, Callable[[], None], TestClient]]:
    from persistence.database import create_engine
    from persistence.search.elastic import SearchIndex, client_for, reindex
    from server.app import create_app

    alias = f"reos-test-{uuid.uuid4().hex[:8]}"
    settings = make_settings(redis_url, elasticsearch_url=url, elasticsearch_index=alias)

    async def rebuild() -> None:
        engine = create_engine(app_url, pool_size=2)
        client = client_for(url)
        try:
            index = SearchIndex(client, alias)
            await reindex(engine, index)
            await index.refresh()
        finally:
            await client.close()
            await engine.dispose()

    async def drop() -> None:
        client = client_for(url)
        try:
            index = SearchIndex(client, alias)
            await index.drop(await index.indices())
        finally:
            await client.close()

    with TestClient(create_app(settings, app_url)) as client:
        yield Api(client), lambda: asyncio.run(rebuild()), client
    asyncio.run(drop())


@pytest.fixture(scope="module", params=["postgresql", "elasticsearch"])
def searcher(
    request: Any, api: Api, world: World, app_url: Any, redis_url: str
) -> Iterator[Searcher]:
    if request.param == "postgresql":
        yield Searcher("postgresql", api, lambda: None)
        return
    url = os.environ.get("ELASTICSEARCH_URL")
    if not url:
        pytest.skip(
            "ELASTICSEARCH_URL is not set: the Elasticsearch backend needs a real Elasticsearch "
            "(none is installable on this machine); the same tests ran against PostgreSQL"
        )
    for es_api, sync, client in _elasticsearch(url, app_url, redis_url):
        sync()
        yield Searcher("elasticsearch", es_api, sync, client)


def ids(page: dict) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def facet(page: dict, field_name: str) -> dict[str | None, int]:
    for item in page["facets"]:
        if item["field"] == field_name:
            return {bucket["value"]: bucket["count"] for bucket in item["buckets"]}
    raise AssertionError(f"no facet {field_name}")


def top_code(result: dict) -> str:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["code"]


# ---------------------------------------------------------------- ranking and typos


def test_exact_city_matches_rank_first(searcher: Searcher, world: World) -> None:
    page = searcher.search(q=world.city, first=10)
    found = ids(page)
    w = world.ids
    assert set(found[:2]) == {w["city1"], w["city2"]}, page
    assert set(found[2:]) == {w["street"], w["prefix"]}, "the city's name in a street, and as "
    "the prefix of a word, match after the city itself"
    assert page["totalCount"] == 4
    assert page["edges"][0]["score"] > page["edges"][2]["score"]


def test_exact_address_ranks_first(searcher: Searcher, world: World) -> None:
    page = searcher.search(q=f"12 {world.brook} Rd", first=10)
    found = ids(page)
    assert found[0] == world.ids["addr1"]
    assert world.ids["addr2"] in found  # "12" is a prefix of "120"
    assert world.ids["addr3"] not in found  # "9 ..." has no word starting with 12
    full = searcher.search(q=f"12 {world.brook} Rd, Springfield, ND 58505", first=10)
    assert ids(full)[0] == world.ids["addr1"]


def test_typos_still_match(searcher: Searcher, world: World) -> None:
    austin = searcher.search(q="Austn", first=100)
    assert austin["totalCount"] > 0
    assert {edge["node"]["address"]["city"] for edge in austin["edges"]} == {"Austin"}
    in_austin = searcher.api.as_user(ADMIN, LIST, {"filter": {"city": "Austin"}})
    assert austin["totalCount"] >= in_austin["data"]["properties"]["totalCount"]

    typo = world.city[:3] + world.city[4:]  # one letter missing
    found = ids(searcher.search(q=typo, first=10))
    assert set(found[:2]) == {world.ids["city1"], world.ids["city2"]}


def test_prefix_of_a_word_matches(searcher: Searcher, world: World) -> None:
    found = ids(searcher.search(q=world.brook[:-2], first=10))  # "...bro"
    assert {world.ids["addr1"], world.ids["addr2"], world.ids["addr3"]} <= set(found)


# ---------------------------------------------------------------- radius


def test_radius_results_are_within_the_radius(searcher: Searcher, world: World) -> None:
    near = {"latitude": ORIGIN[0], "longitude": ORIGIN[1], "radiusMiles": 5}
    page = searcher.search(near=near, first=100)
    found = ids(page)
    for edge in page["edges"]:
        node = edge["node"]
        miles = haversine_miles(ORIGIN, (node["latitude"], node["longitude"]))
        assert miles <= 5, node
        assert edge["distanceMiles"] == pytest.approx(miles, rel=1e-4)
    w = world.ids
    assert set(found) == {w["city1"], w["city2"], w["street"]}
    distances = [edge["distanceMiles"] for edge in page["edges"]]
    assert distances == sorted(distances), "without a query, nearest first"


def test_radius_matches_haversine_on_demo_data(searcher: Searcher) -> None:
    center, radius = (30.2672, -97.7431), 4.0
    points: dict[str, tuple[float, float]] = {}
    after = None
    while True:
        data = searcher.api.as_user(ADMIN, LIST, {"after": after})["data"]["properties"]
        for edge in data["edges"]:
            node = edge["node"]
            if node["latitude"] is not None and node["longitude"] is not None:
                points[node["id"]] = (node["latitude"], node["longitude"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    inside = {pid for pid, p in points.items() if haversine_miles(center, p) <= radius}
    near = {"latitude": center[0], "longitude": center[1], "radiusMiles": radius}
    page = searcher.search(near=near, first=100)
    assert inside, "the demo data has properties near downtown Austin"
    assert set(ids(page)) == inside
    assert page["totalCount"] == len(inside)


def test_text_filter_and_radius_combine(searcher: Searcher, world: World) -> None:
    near = {"latitude": ORIGIN[0], "longitude": ORIGIN[1], "radiusMiles": 5.1}
    page = searcher.search(
        q=world.city, near=near, filter={"propertyType": ["RESIDENTIAL", "LAND"]}, first=10
    )
    assert ids(page) == [world.ids["city1"], world.ids["street"]]
    assert page["edges"][0]["distanceMiles"] == pytest.approx(1.0, rel=1e-3)


# ---------------------------------------------------------------- facets


def _assert_facets_add_up(page: dict) -> None:
    assert {item["field"] for item in page["facets"]} == {
        "CITY",
        "POSTAL_CODE",
        "PROPERTY_TYPE",
        "STANDARD_STATUS",
        "BEDROOMS",
        "PRICE",
    }
    for item in page["facets"]:
        total = sum(bucket["count"] for bucket in item["buckets"]) + item["otherCount"]
        assert total == page["totalCount"], item


def test_facet_counts_equal_the_filtered_totals(searcher: Searcher, world: World) -> None:
    near = {"latitude": 30.2672, "longitude": -97.7431, "radiusMiles": 6}
    for variables in (
        {},
        {"q": "Austin"},
        {"q": "Austn", "filter": {"minPrice": "300000", "standardStatus": ["ACTIVE", "CLOSED"]}},
        {"near": near},
        {"q": "Austin", "near": near, "filter": {"minBedrooms": 3}},
        {"q": world.city},
    ):
        page = searcher.search(first=5, **variables)
        _assert_facets_add_up(page)

    page = searcher.search(q=world.city)
    assert facet(page, "CITY") == {world.city: 2, "Springfield": 2}
    assert facet(page, "POSTAL_CODE") == {"58501": 1, "58502": 1, "58503": 1, "58504": 1}
    assert facet(page, "PROPERTY_TYPE") == {"RESIDENTIAL": 2, "RESIDENTIAL_INCOME": 1, "LAND": 1}
    assert facet(page, "STANDARD_STATUS") == {"ACTIVE": 2, "PENDING": 1, "CLOSED": 1}
    assert facet(page, "BEDROOMS") == {"3": 1, "4": 1, "5+": 1, None: 1}
    assert facet(page, "PRICE") == {
        "0-100000": 1,
        "200000-300000": 1,
        "500000-750000": 1,
        "1000000-2000000": 1,
    }
    bands = [
        bucket["value"]
        for item in page["facets"]
        if item["field"] == "PRICE"
        for bucket in item["buckets"]
    ]
    assert bands == ["0-100000", "200000-300000", "500000-750000", "1000000-2000000"]


def test_facets_count_the_whole_match_including_their_own_filter(
    searcher: Searcher, world: World
) -> None:
    page = searcher.search(q=world.city, filter={"standardStatus": ["ACTIVE"]})
    assert page["totalCount"] == 2
    assert facet(page, "STANDARD_STATUS") == {"ACTIVE": 2}
    assert facet(page, "CITY") == {world.city: 1, "Springfield": 1}

    everything = searcher.search(first=1)
    in_austin = searcher.api.as_user(ADMIN, LIST, {"filter": {"city": "Austin"}})
    assert facet(everything, "CITY")["Austin"] == in_austin["data"]["properties"]["totalCount"]


# ---------------------------------------------------------------- tenants


def test_another_tenants_properties_never_appear(searcher: Searcher, world: World) -> None:
    theirs = world.ids["other"]
    near = {"latitude": ORIGIN[0], "longitude": ORIGIN[1], "radiusMiles": 10}
    for variables in ({"q": world.city}, {"near": near}, {"q": world.city, "near": near}):
        page = searcher.search(first=100, **variables)
        assert theirs not in ids(page)
        assert facet(page, "CITY").get(world.city, 0) == 2  # theirs would make 3
        _assert_facets_add_up(page)

    mine = searcher.search(user=OTHER, q=world.city, first=100)
    assert ids(mine) == [theirs]
    assert mine["totalCount"] == 1
    assert facet(mine, "CITY") == {world.city: 1}
    assert facet(mine, "POSTAL_CODE") == {"58501": 1}

    total_a = searcher.api.as_user(ADMIN, LIST, {})["data"]["properties"]["totalCount"]
    total_b = searcher.api.as_user(OTHER, LIST, {})["data"]["properties"]["totalCount"]
    assert searcher.search(first=1)["totalCount"] == total_a
    assert searcher.search(user=OTHER, first=1)["totalCount"] == total_b


# ---------------------------------------------------------------- paging


def _walk(searcher: Searcher, size: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        result = searcher.raw(query=EDGES_ONLY, first=size, after=after, **variables)
        assert "errors" not in result, result
        page = result["data"]["propertySearch"]
        seen += ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("too many pages")


def test_pages_follow_the_ranking_without_gaps_or_repeats(searcher: Searcher, world: World) -> None:
    near = {"latitude": ORIGIN[0], "longitude": ORIGIN[1], "radiusMiles": 10}
    everything = ids(searcher.search(near=near, first=100))
    assert len(everything) == 7
    assert _walk(searcher, 2, near=near) == everything

    ranked = ids(searcher.search(q="Austin", first=100))
    walked = _walk(searcher, 30, q="Austin")
    assert walked[:100] == ranked
    assert len(walked) == len(set(walked)) == searcher.search(q="Austin", first=0)["totalCount"]


# ---------------------------------------------------------------- errors and access


@pytest.mark.parametrize(
    ("variables", "mentions"),
    [
        ({"near": {"latitude": 30, "longitude": -97, "radiusMiles": 0}}, "radiusMiles"),
        ({"near": {"latitude": 30, "longitude": -97, "radiusMiles": -1}}, "radiusMiles"),
        ({"near": {"latitude": 30, "longitude": -97, "radiusMiles": 5000}}, "radiusMiles"),
        ({"near": {"latitude": 91, "longitude": -97, "radiusMiles": 1}}, "latitude"),
        ({"near": {"latitude": 30, "longitude": -181, "radiusMiles": 1}}, "longitude"),
        ({"first": -1}, "first"),
        ({"after": "not-a-cursor"}, "cursor"),
        ({"after": "eyJ2IjoxfQ"}, "cursor"),
        ({"q": "x" * 201}, "query"),
    ],
)
def test_bad_input_is_a_clear_error(
    searcher: Searcher, variables: dict[str, Any], mentions: str
) -> None:
    result = searcher.raw(**variables)
    assert top_code(result) == "BAD_USER_INPUT"
    assert mentions in result["errors"][0]["message"]
    assert result.get("data") is None


def test_more_than_100_results_a_page_is_refused(searcher: Searcher) -> None:
    result = searcher.raw(first=101)
    # The schema's query limits refuse it before the resolver (QUERY_TOO_COMPLEX) where they
    # are installed; the resolver itself answers BAD_USER_INPUT.
    assert top_code(result) in ("QUERY_TOO_COMPLEX", "BAD_USER_INPUT")
    assert "first" in result["errors"][0]["message"] or "100" in result["errors"][0]["message"]
    assert result.get("data") is None


def test_a_cursor_only_continues_its_own_search(searcher: Searcher) -> None:
    page = searcher.search(q="Austin", first=2)
    result = searcher.raw(q="Phoenix", first=2, after=page["pageInfo"]["endCursor"])
    assert top_code(result) == "BAD_USER_INPUT"
    assert "another search" in result["errors"][0]["message"]


def test_search_needs_a_login_and_is_open_to_viewers(searcher: Searcher) -> None:
    anonymous = searcher.api.post(SEARCH, {"q": "Austin"})
    assert top_code(anonymous) == "UNAUTHENTICATED"
    assert searcher.search(user=VIEWER, q="Austin", first=1)["totalCount"] > 0


# ---------------------------------------------------------------- cost and indexing


STATEMENT_QUERY = """query($q: String, $near: GeoRadiusInput, $first: Int) {
  propertySearch(query: $q, near: $near, first: $first, filter: {minBedrooms: 1}) {
    totalCount facets { field otherCount buckets { value count } }
    edges { node { id address { city } } } } }"""


def test_a_search_costs_three_statements_whatever_the_page_size(
    api: Api, world: World, count_statements: Any
) -> None:
    """PostgreSQL: the tenant scope, the page, and the total with every facet (GROUPING SETS)."""
    token = api.token(ADMIN)
    near = {"latitude": 30.2672, "longitude": -97.7431, "radiusMiles": 10}
    costs = []
    for first in (5, 50):
        before = count_statements.count
        result = api.post(STATEMENT_QUERY, {"q": "Austin", "near": near, "first": first}, token)
        assert "errors" not in result, result
        assert len(result["data"]["propertySearch"]["edges"]) == first
        costs.append(count_statements.count - before)
    assert costs[0] == costs[1] <= 3, costs


def test_the_indexer_follows_property_events(searcher: Searcher, world: World) -> None:
    if searcher.client is None:
        pytest.skip("PostgreSQL searches the live tables: there is no index to keep up to date")
    client = searcher.client
    app = client.app  # type: ignore[attr-defined]

    def index() -> None:
        while client.portal.call(app.state.relay.run_once):  # type: ignore[attr-defined]
            pass
        while client.portal.call(app.state.search_indexer.run_once):  # type: ignore[attr-defined]
            pass
        client.portal.call(app.state.search.index.refresh)  # type: ignore[attr-defined]

    word = f"{world.tag.capitalize()}haven"
    fields = _property("44", "Lake Dr", word, "58509", ORIGIN, listPrice="150000")
    created = searcher.api.as_user(ADMIN, CREATE, {"input": fields})["data"]["propertyCreate"]
    new_id = created["property"]["id"]
    index()
    page = searcher.search(q=word)
    assert ids(page) == [new_id]
    assert facet(page, "PRICE") == {"100000-200000": 1}

    update = """mutation($id: ID!, $input: PropertyInput!) {
      propertyUpdate(id: $id, input: $input) { errors { message } } }"""
    searcher.api.as_user(ADMIN, update, {"id": new_id, "input": {"listPrice": "450000"}})
    index()
    assert facet(searcher.search(q=word), "PRICE") == {"400000-500000": 1}

    delete = "mutation($id: ID!) { propertyDelete(id: $id) { errors { message } } }"
    searcher.api.as_user(ADMIN, delete, {"id": new_id})
    index()
    assert searcher.search(q=word)["totalCount"] == 0
