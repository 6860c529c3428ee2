"""The measurements behind the query limits: depth, aliases, pages and cost."""

from __future__ import annotations

from graphql import parse

from schema.limits import QueryLimits, limit_errors, measure_request
from schema.root import build_schema
from server.settings import Settings

SCHEMA = build_schema()._schema


def errors(query: str, limits: QueryLimits, variables: dict | None = None) -> dict[str, int]:
    shape = measure_request(SCHEMA, parse(query), None, variables, limits)
    found = limit_errors(shape, limits) if shape is not None else []
    return {error.extensions["limit"]: error.extensions["max"] for error in found}


def test_connection_plumbing_does_not_count_as_depth() -> None:
    query = "{ properties { edges { node { deals { edges { node { id } } } } } } }"
    assert errors(query, QueryLimits(max_depth=3)) == {}
    assert errors(query, QueryLimits(max_depth=2)) == {"depth": 2}


def test_cost_multiplies_by_first_and_defaults_to_the_page_size() -> None:
    query = "query($n: Int) { properties(first: $n) { edges { node { id city: id } } } }"
    # properties 1 + n * (edges 1 + node 1 + id 1 + alias 1)
    assert errors(query, QueryLimits(max_cost=1 + 10 * 4), {"n": 10}) == {}
    assert errors(query, QueryLimits(max_cost=1 + 10 * 4 - 1), {"n": 10}) == {"cost": 40}
    assert errors(query, QueryLimits(max_cost=1 + 20 * 4)) == {}  # no $n: the default page
    assert errors(query, QueryLimits(max_aliases=0)) == {"aliases": 0}


def test_settings_carry_the_limits_from_the_environment() -> None:
    limits = Settings.from_env({"QUERY_MAX_DEPTH": "4", "QUERY_MAX_COST": "99"}).query_limits
    assert (limits.max_depth, limits.max_cost, limits.max_first) == (4, 99, 100)
