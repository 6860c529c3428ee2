"""The compiled read path answers exactly as normal execution: a differential test.

A corpus of documents runs through two apps over the same database, one with compiled
execution and one without, as several users; every answer must be the same JSON. Documents
the plan covers must really take the compiled path, and the ones it does not cover (or that
fail) must fall back and still match.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from schema.compiled import CompiledExecution
from server.app import create_app
from tests.conftest import Api, make_settings

ADMIN = "demo@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER = "other@reos.dev"

DASHBOARD = """query Dashboard { properties(first: 50) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id listingId listPrice standardStatus propertyType bedroomsTotal
    livingArea features createdAt
    address { unparsedAddress city stateOrProvince postalCode }
    deals(first: 20) { totalCount edges { node { id name status strategy purchasePrice arv
      expectedProfit allowedTransitions
      offers { id amount status party earnestMoney contingencies closingDate expiresAt }
    } } } } } } }"""

DEAL_DETAIL = """query DealDetail($first: Int!) { deals(first: $first) { edges { node {
  __typename id name status assumptions
  property { id listPrice address { city } }
  team { role user { id email name role } }
  offers { id amount status submittedBy { email } parent { id } }
  timeline(first: 50) { totalCount edges { node { id kind message data createdAt cursor
    actor { email } mentions { email } } } }
  budgets { category amount }
  constructionProjects { id name budget status bids { id amount status contractor { name } } }
} } } }"""

FRAGMENTS = """query WithFragments { me { ...Me } properties(first: 5) { edges { node { ...Row
  again: listPrice } } } }
fragment Me on User { id email role tenant { id name } permissions }
fragment Row on Property { id listPrice ... on Property { yearBuilt } }"""

ALIASES_AND_VARIABLES = """query Page($n: Int = 3, $after: String) {
  firstPage: properties(first: $n, after: $after) { edges { cursor node { id } } }
  counted: properties(first: 1) { totalCount }
  alerts(first: 10) { totalCount edges { node { id kind title readAt } } }
}"""

PIPELINE = """query Pipeline($n: Int) { __typename
  properties(first: $n) { edges { node { __typename id listingId listPrice standardStatus
    propertyType features bedroomsTotal bathroomsTotalInteger livingArea yearBuilt latitude
    longitude daysOnMarket closeDate
    place: address { unparsedAddress city stateOrProvince postalCode countyOrParish }
    deals(first: 3) { edges { node { id name status strategy purchasePrice arv
      estimatedRepairs offers { id amount status party earnestMoney contingencies note
        closingDate } } } } } } } }"""

JSON_COVERED = {"pipeline", "pipeline, first 1", "pipeline, first 100"}

CORPUS = {
    "pipeline": (PIPELINE, {"n": 50}, True),
    "pipeline, first 1": (PIPELINE, {"n": 1}, True),
    "pipeline, first 100": (PIPELINE, {"n": 100}, True),
    "pipeline, first 0 falls back": (PIPELINE, {"n": 0}, True),
    "pipeline, first 101 falls back": (PIPELINE, {"n": 101}, False),
    "dashboard": (DASHBOARD, None, True),
    "deal detail": (DEAL_DETAIL, {"first": 3}, True),
    "fragments": (FRAGMENTS, None, True),
    "aliases and variables": (ALIASES_AND_VARIABLES, {"n": 4}, True),
    "directives fall back": (
        "query($on: Boolean!) { me { id email @include(if: $on) } }",
        {"on": False},
        False,
    ),
    "interfaces fall back": ("{ nodes(ids: []) { id } }", None, False),
    "bad variables fall back": (ALIASES_AND_VARIABLES, {"n": "three"}, False),
}

USERS = [ADMIN, VIEWER, OTHER, None]


@pytest.fixture(scope="module")
def normal(app_url, redis_url) -> Iterator[TestClient]:
    settings = make_settings(redis_url, compiled_execution=False)
    with TestClient(create_app(settings, app_url)) as client:
        yield client


def answer(client: TestClient, token: str | None, query: str, variables: dict | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return {"status": response.status_code, "body": response.json()}


@pytest.mark.parametrize("name", list(CORPUS))
@pytest.mark.parametrize("user", USERS, ids=lambda user: user or "anonymous")
def test_compiled_and_normal_execution_answer_the_same(
    client: TestClient, normal: TestClient, api: Api, name: str, user: str | None
) -> None:
    query, variables, covered = CORPUS[name]
    token = api.token(user) if user else None
    runs, json_runs = compiled_runs(), CompiledExecution.json_runs
    fast = answer(client, token, query, variables)
    slow = answer(normal, token, query, variables)
    assert fast == slow
    data = fast["body"].get("data")
    if covered and user in (ADMIN, OTHER):
        assert compiled_runs() == runs + 1, "expected the compiled path"
        assert data and "errors" not in fast["body"]
        taken = CompiledExecution.json_runs == json_runs + 1
        assert taken == (name in JSON_COVERED), "expected the one-statement JSON answer"
    if not covered:
        assert compiled_runs() == runs


def test_the_dashboard_costs_the_same_statements_either_way(
    client: TestClient, normal: TestClient, api: Api, count_statements
) -> None:
    token = api.token(ADMIN)
    answer(client, token, DASHBOARD, None)
    before = count_statements.count
    answer(client, token, DASHBOARD, None)
    compiled = count_statements.count - before
    assert 0 < compiled <= 6  # one per level of lists, plus the session's setup


def compiled_runs() -> int:
    return CompiledExecution.runs


def test_a_covered_nested_list_is_one_statement(
    client: TestClient, api: Api, count_statements
) -> None:
    token = api.token(ADMIN)
    answer(client, token, PIPELINE, {"n": 50})
    before = count_statements.count
    body = answer(client, token, PIPELINE, {"n": 50})["body"]
    assert len(body["data"]["properties"]["edges"]) > 0
    # The tenant scope of the read transaction, then the answer as one JSON document.
    assert count_statements.count - before == 2
