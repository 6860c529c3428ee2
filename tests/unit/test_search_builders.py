"""Search without I/O: folding, bands, facets, cursors, and the Elasticsearch mapping, documents,
queries and responses (the Elasticsearch backend's logic, tested without a server)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.property import Property
from persistence.property import PropertyListQuery
from persistence.search import GeoRadius, SearchRequest, elastic
from persistence.search import cursor as cursors
from persistence.search.facets import MAX_BUCKETS, bedroom_band, facet, price_band
from persistence.search.text import fold, fuzzy, query_words

TENANT = uuid.UUID("11111111-1111-1111-1111-111111111111")


def request(**overrides: Any) -> SearchRequest:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "words": [],
        "filter": PropertyListQuery(tenant_id=TENANT),
        "near": None,
        "limit": 20,
    }
    values.update(overrides)
    return SearchRequest(**values)


def a_property(**overrides: Any) -> Property:
    values: dict[str, Any] = {
        "id": uuid.UUID("22222222-2222-2222-2222-222222222222"),
        "tenant_id": TENANT,
        "address_key": "1234 S LAMAR BLVD|AUSTIN|TX",
        "unparsed_address": "1234 S Lamar Blvd, Unit 201, Austin, TX 78704",
        "city": "Austin",
        "state_or_province": "TX",
        "postal_code": "78704",
        "listing_id": "ATX-2025-001234",
        "parcel_number": "0123456789",
        "county_or_parish": "Travis",
        "latitude": 30.25,
        "longitude": -97.76,
        "property_type": "Residential",
        "standard_status": "Active",
        "list_price": Decimal("412500.00"),
        "bedrooms_total": 3,
        "bathrooms_total_integer": 2,
        "living_area": Decimal("1850.00"),
        "updated_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return Property(**values)


def walk(node: Any) -> list[Any]:
    """Every dict and list inside a query body, depth first."""
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


# ---------------------------------------------------------------- text, bands, facets


def test_folding_splits_on_everything_but_letters_and_digits() -> None:
    assert fold("ATX-2025-001234") == "atx 2025 001234"
    assert fold("  S. Lamar Blvd,  Unit #4 ") == "s lamar blvd unit 4"
    assert fold(None) == ""
    assert query_words("1 2 3 4 5 6 7 8 9 10") == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert query_words("!!!") == []


def test_only_words_of_four_letters_or_more_match_with_typos() -> None:
    assert fuzzy("austn")
    assert not fuzzy("78704"), "ZIP codes and house numbers match as typed"
    assert not fuzzy("elm")


@pytest.mark.parametrize(
    ("bedrooms", "band"), [(None, None), (0, "0"), (1, "1"), (4, "4"), (5, "5+"), (12, "5+")]
)
def test_bedroom_bands(bedrooms: int | None, band: str | None) -> None:
    assert bedroom_band(bedrooms) == band


@pytest.mark.parametrize(
    ("price", "band"),
    [
        (None, None),
        ("0", "0-100000"),
        ("99999.99", "0-100000"),
        ("100000", "100000-200000"),
        ("749999", "500000-750000"),
        ("1999999.99", "1000000-2000000"),
        ("2000000", "2000000+"),
    ],
)
def test_price_bands_include_their_low_end_only(price: str | None, band: str | None) -> None:
    assert price_band(None if price is None else Decimal(price)) == band


def test_facet_orders_buckets_and_counts_the_rest() -> None:
    terms = facet("city", [("Phoenix", 3), (None, 9), ("Austin", 3), ("Columbus", 5)])
    assert [(b.value, b.count) for b in terms.buckets] == [
        ("Columbus", 5),
        ("Austin", 3),
        ("Phoenix", 3),
        (None, 9),
    ]
    bands = facet("price", [("2000000+", 1), (None, 2), ("0-100000", 4)])
    assert [b.value for b in bands.buckets] == ["0-100000", "2000000+", None]
    many = facet("postal_code", [(f"{n:05d}", 1) for n in range(MAX_BUCKETS + 7)], other=2)
    assert len(many.buckets) == MAX_BUCKETS
    assert many.other == 9


# ---------------------------------------------------------------- cursors


def test_cursors_are_opaque_and_bound_to_their_search() -> None:
    search = request(words=["austin"])
    print_ = cursors.fingerprint(search)
    cursor = cursors.encode("pg", print_, ["5.5", "0", str(TENANT)])
    assert "austin" not in cursor
    assert cursors.decode(cursor, "pg", print_) == ["5.5", "0", str(TENANT)]
    other = cursors.fingerprint(request(words=["phoenix"]))
    assert other != print_
    with pytest.raises(cursors.CursorError, match="another search"):
        cursors.decode(cursor, "pg", other)
    with pytest.raises(cursors.CursorError, match="another search"):
        cursors.decode(cursor, "es", print_)
    with pytest.raises(cursors.CursorError, match="Malformed"):
        cursors.decode("%%%", "pg", print_)


def test_the_fingerprint_ignores_the_page_but_not_the_radius() -> None:
    near = GeoRadius(30.0, -97.0, 1000.0)
    assert cursors.fingerprint(request(limit=5)) == cursors.fingerprint(request(limit=50))
    assert cursors.fingerprint(request()) != cursors.fingerprint(request(near=near))


# ---------------------------------------------------------------- Elasticsearch mapping


def test_the_mapping_is_explicit_and_strict() -> None:
    mapping = elastic.index_mappings()
    assert mapping["dynamic"] == "strict"
    fields = mapping["properties"]
    assert fields["location"] == {"type": "geo_point"}
    assert fields["tenant_id"]["type"] == "keyword"
    assert fields["search"]["fields"]["prefix"]["analyzer"] == "folded_prefix"
    assert fields["search"]["fields"]["prefix"]["search_analyzer"] == "folded"
    for name in ("city", "postal_code", "property_type", "standard_status"):
        assert fields[name]["type"] == "keyword"
    analysis = elastic.index_settings()["analysis"]
    assert analysis["filter"]["prefixes"]["type"] == "edge_ngram"


def test_a_document_has_exactly_the_mapped_fields() -> None:
    doc = elastic.document(a_property())
    assert set(doc) == set(elastic.index_mappings()["properties"])
    assert doc["search"] == (
        "1234 s lamar blvd unit 201 austin tx 78704 austin 78704 atx 2025 001234 0123456789 "
        "travis tx"
    )
    assert doc["address_folded"] == "1234 s lamar blvd unit 201 austin tx 78704"
    assert doc["city_state_folded"] == "austin tx"
    assert doc["ids_folded"] == ["78704", "atx 2025 001234", "0123456789"]
    assert doc["location"] == {"lat": 30.25, "lon": -97.76}
    assert (doc["bedroom_band"], doc["price_band"]) == ("3", "400000-500000")
    assert doc["list_price"] == 412500.0
    json.dumps(doc)  # serialisable as it is


def test_a_document_without_coordinates_or_numbers() -> None:
    doc = elastic.document(
        a_property(latitude=None, list_price=None, bedrooms_total=None, postal_code=None)
    )
    assert doc["location"] is None
    assert doc["price_band"] is None and doc["bedroom_band"] is None
    assert doc["ids_folded"] == ["atx 2025 001234", "0123456789"]


# ---------------------------------------------------------------- Elasticsearch queries


def _tenant_terms(body: dict[str, Any]) -> list[Any]:
    return [
        node["term"]["tenant_id"]
        for node in walk(body["query"])
        if isinstance(node, dict)
        and isinstance(node.get("term"), dict)
        and "tenant_id" in node["term"]
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"words": ["austin"]},
        {"near": GeoRadius(30.0, -97.0, 1609.344)},
        {
            "words": ["12", "main", "st"],
            "near": GeoRadius(30.0, -97.0, 5000.0),
            "filter": PropertyListQuery(
                tenant_id=TENANT, city="Austin", min_price=Decimal("1"), text="main"
            ),
            "after": [3.5, 120.0, str(TENANT)],
        },
    ],
)
def test_every_query_is_filtered_to_the_tenant(overrides: dict[str, Any]) -> None:
    body = elastic.search_body(request(**overrides))
    assert body["query"]["bool"]["filter"] == [{"term": {"tenant_id": str(TENANT)}}]
    assert _tenant_terms(body) == [str(TENANT)], "one tenant filter, at the top"
    assert body["routing"] == str(TENANT)
    assert body["track_total_hits"] is True
    assert body["size"] == 21
    assert set(body["aggs"]) == {
        "city",
        "postal_code",
        "property_type",
        "standard_status",
        "bedrooms",
        "price",
    }


def test_tenant_scope_wraps_any_query() -> None:
    scoped = elastic.tenant_scoped(TENANT, {"match_all": {}})
    assert scoped == {
        "bool": {"filter": [{"term": {"tenant_id": str(TENANT)}}], "must": [{"match_all": {}}]}
    }


def test_words_match_as_prefixes_or_with_typos_and_rank_exact_matches_first() -> None:
    body = elastic.search_body(request(words=["austn", "78704"]))
    inner = body["query"]["bool"]["must"][0]["bool"]
    first, second = inner["must"]
    assert {"match": {"search.prefix": "austn"}} in first["bool"]["should"]
    assert {"match": {"search": {"query": "austn", "fuzziness": "AUTO", "prefix_length": 1}}} in (
        first["bool"]["should"]
    )
    assert {"match": {"search": {"query": "78704"}}} in second["bool"]["should"]
    tiers = {
        json.dumps(clause["constant_score"]["filter"], sort_keys=True): clause["constant_score"][
            "boost"
        ]
        for clause in inner["should"]
    }
    assert tiers[json.dumps({"term": {"address_folded": "austn 78704"}}, sort_keys=True)] == 80
    assert tiers[json.dumps({"prefix": {"address_folded": "austn 78704 "}}, sort_keys=True)] == 80
    assert tiers[json.dumps({"term": {"city_folded": "austn 78704"}}, sort_keys=True)] == 40
    assert tiers[json.dumps({"term": {"ids_folded": "austn 78704"}}, sort_keys=True)] == 20
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]


def test_filters_and_radius_become_filters_and_sort_by_distance() -> None:
    query = PropertyListQuery(
        tenant_id=TENANT,
        city=" Austin ",
        postal_code="78704",
        property_types=["Residential"],
        standard_statuses=["Active", "Pending"],
        min_price=Decimal("100000"),
        max_price=Decimal("500000"),
        min_bedrooms=3,
        text="lamar*",
    )
    body = elastic.search_body(
        request(filter=query, near=GeoRadius(30.0, -97.0, 1609.344), after=[0.0, 10.5, "x"])
    )
    filters = body["query"]["bool"]["must"][0]["bool"]["filter"]
    assert {"term": {"city_lower": "austin"}} in filters
    assert {"term": {"postal_code": "78704"}} in filters
    assert {"terms": {"property_type": ["Residential"]}} in filters
    assert {"terms": {"standard_status": ["Active", "Pending"]}} in filters
    assert {"range": {"list_price": {"gte": 100000.0, "lte": 500000.0}}} in filters
    assert {"range": {"bedrooms_total": {"gte": 3}}} in filters
    assert {"wildcard": {"search_text": {"value": "*lamar\\**"}}} in filters
    assert {
        "geo_distance": {
            "distance": "1609.344m",
            "distance_type": "arc",
            "location": {"lat": 30.0, "lon": -97.0},
        }
    } in filters
    assert body["sort"][1]["_geo_distance"]["order"] == "asc"
    assert body["sort"][1]["_geo_distance"]["unit"] == "m"
    assert body["search_after"] == [0.0, 10.5, "x"]


def test_facets_are_terms_aggregations_with_a_bucket_for_missing_values() -> None:
    aggs = elastic.search_body(request())["aggs"]
    assert aggs["bedrooms"]["terms"]["field"] == "bedroom_band"
    assert aggs["bedrooms"]["terms"]["size"] == 7  # six bands and the missing bucket
    assert aggs["city"]["terms"]["size"] == MAX_BUCKETS
    assert aggs["price"]["terms"]["missing"] == elastic.MISSING


# ---------------------------------------------------------------- Elasticsearch responses


RESPONSE = {
    "hits": {
        "total": {"value": 7, "relation": "eq"},
        "hits": [
            {"_id": str(TENANT), "_score": 12.5, "sort": [12.5, 804.2, str(TENANT)]},
        ],
    },
    "aggregations": {
        "city": {
            "sum_other_doc_count": 2,
            "buckets": [{"key": "Austin", "doc_count": 4}, {"key": "__none__", "doc_count": 1}],
        },
        "bedrooms": {"sum_other_doc_count": 0, "buckets": [{"key": "3", "doc_count": 7}]},
    },
}


def test_responses_become_hits_and_a_summary() -> None:
    search = request(words=["austin"], near=GeoRadius(30.0, -97.0, 1000.0))
    (hit,) = elastic.hits_from_response(RESPONSE, search)
    assert hit.property_id == TENANT and hit.property is None
    assert (hit.score, hit.distance_m, hit.key) == (12.5, 804.2, [12.5, 804.2, str(TENANT)])
    summary = elastic.summary_from_response(RESPONSE)
    assert summary.total == 7
    city = next(f for f in summary.facets if f.field == "city")
    assert [(b.value, b.count) for b in city.buckets] == [("Austin", 4), (None, 1)]
    assert city.other == 2


def test_search_after_keys_from_cursors_are_checked() -> None:
    assert elastic.parse_key([1.5, str(TENANT)]) == [1.5, str(TENANT)]
    assert elastic.parse_key([1, 2.5, str(TENANT)]) == [1.0, 2.5, str(TENANT)]
    for bad in ([], ["1", str(TENANT)], [1.0, "not-a-uuid"], [True, str(TENANT)], [1, 2, 3, 4]):
        with pytest.raises(ValueError):
            elastic.parse_key(bad)
