"""SQL statements per request: a nested list costs O(depth), never O(rows)."""

from __future__ import annotations

from tests.conftest import Api

NESTED = """query($n: Int!) { properties(first: $n) {
  totalCount
  edges { node { id address { city } media { url order } provenance { field source } } }
} }"""


def statements_for(api: Api, count_statements, first: int) -> tuple[int, int]:
    token = api.token("analyst@reos.dev")
    before = count_statements.count
    result = api.post(NESTED, {"n": first}, token=token)
    edges = result["data"]["properties"]["edges"]
    assert "errors" not in result
    return count_statements.count - before, len(edges)


def test_nested_media_costs_the_same_for_10_and_100_properties(api: Api, count_statements) -> None:
    small, small_rows = statements_for(api, count_statements, 10)
    large, large_rows = statements_for(api, count_statements, 100)
    assert (small_rows, large_rows) == (10, 100)
    assert small == large
    # tenant scope + page + count + media batch + provenance batch
    assert large <= 5


def test_loaders_batch_node_lookups(api: Api, count_statements) -> None:
    token = api.token("analyst@reos.dev")
    page = api.post("{ properties(first: 30) { edges { node { id } } } }", token=token)
    ids = [edge["node"]["id"] for edge in page["data"]["properties"]["edges"]]
    before = count_statements.count
    result = api.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Property { media { url } } } }",
        {"ids": ids},
        token=token,
    )
    assert [node["id"] for node in result["data"]["nodes"]] == ids
    assert count_statements.count - before <= 3
