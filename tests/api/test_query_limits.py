"""Query limits: every crafted document is refused with QUERY_TOO_COMPLEX before execution."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_deals import ADMIN
from tests.conftest import Api

FIELDS = "id city"


def ask(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return api.as_user(ADMIN, query, variables)


def codes(body: dict[str, Any]) -> set[str]:
    return {error["extensions"]["code"] for error in body.get("errors", [])}


def nested(depth: int) -> str:
    """`deals { property { deals { property ... } } }` reaching `depth` fields."""
    inner = "id"
    for level in range(depth - 1):
        inner = (
            f"property {{ {inner} }}"
            if level % 2 == 0
            else f"deals {{ edges {{ node {{ {inner} }} }} }}"
        )
    return f"{{ deals(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


def test_a_deep_query_is_refused_before_execution(api: Api, count_statements) -> None:
    api.token(ADMIN)
    before = count_statements.count
    body = ask(api, nested(30))
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert body["errors"][0]["extensions"]["limit"] == "depth"
    assert body.get("data") is None
    assert count_statements.count == before


def test_a_reasonable_nested_query_still_runs(api: Api) -> None:
    body = ask(
        api,
        "{ deals(first: 2) { edges { node { id property {"
        " address { city } deals { totalCount } } } } } }",
    )
    assert "errors" not in body, body


def test_too_many_aliases(api: Api) -> None:
    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(101))
    body = ask(api, f"{{ {aliases} }}")
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert {e["extensions"]["limit"] for e in body["errors"]} >= {"aliases", "rootFields"}


def test_ten_thousand_tokens_are_refused_by_the_parser(api: Api) -> None:
    body = ask(api, "{ me { " + "id " * 10_000 + "} }")
    assert codes(body) == {"QUERY_TOO_COMPLEX"}


def test_a_huge_first_is_refused(api: Api) -> None:
    body = ask(api, "{ properties(first: 100000) { edges { node { id } } } }")
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert body["errors"][0]["extensions"]["limit"] == "first"


def test_a_huge_first_in_a_variable_is_refused(api: Api) -> None:
    body = ask(
        api, "query($n: Int) { properties(first: $n) { edges { node { id } } } }", {"n": 5000}
    )
    assert codes(body) == {"QUERY_TOO_COMPLEX"}


def test_a_cost_bomb_through_nested_connections_is_refused(api: Api, count_statements) -> None:
    query = """{ properties(first: 100) { edges { node {
      deals(first: 100) { edges { node {
        offers { id }
        timeline(first: 100) { edges { node { id actor { email } } } } } } } } } } }"""
    api.token(ADMIN)
    before = count_statements.count
    body = ask(api, query)
    assert codes(body) == {"QUERY_TOO_COMPLEX"}
    assert body["errors"][0]["extensions"]["limit"] == "cost"
    assert count_statements.count == before


def test_circular_fragments_fail_validation(api: Api) -> None:
    body = ask(
        api,
        "query { me { ...A } } fragment A on User { id ...B } fragment B on User { name ...A }",
    )
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}


def test_fragment_fan_out_is_counted_not_expanded_forever(api: Api) -> None:
    fragments = ["fragment F0 on User { id name email }"]
    for level in range(1, 25):
        fragments.append(f"fragment F{level} on User {{ ...F{level - 1} ...F{level - 1} }}")
    body = ask(api, "{ me { ...F24 } } " + " ".join(fragments))
    assert codes(body) <= {"QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"}
    assert body.get("errors")


@pytest.mark.parametrize("count", [40])
def test_directive_overloading_is_refused(api: Api, count: int) -> None:
    directives = " ".join("@include(if: true)" for _ in range(count))
    body = ask(api, f"{{ me {{ id {directives} }} }}")
    assert codes(body) & {"QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"}
