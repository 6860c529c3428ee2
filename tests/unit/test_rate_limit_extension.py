"""The rate-limit extension on the real schema, with the in-memory limiter: who pays, and how."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from domain.permissions import Principal, Role
from schema.rate_limits import RatePolicy, buckets_for
from schema.root import build_schema
from server.rate_limit import MemoryRateLimiter

SCHEMA = build_schema()
USER = Principal(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), role=Role.ANALYST)


@dataclass
class Services:
    rate_limiter: Any


@dataclass
class Request:
    scope: dict[str, Any]


@dataclass
class Context:
    services: Any
    principal: Principal | None = None
    api_key_id: uuid.UUID | None = None
    client_address: str = "10.0.0.1"
    request: Any = field(default_factory=lambda: Request({"type": "http"}))
    query_cost: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    status_code: int | None = None


def execute(query: str, context: Any) -> Any:
    return asyncio.run(SCHEMA.execute(query, context_value=context))


def test_each_kind_of_caller_pays_on_its_buckets() -> None:
    policy = RatePolicy(60, user_cost=10, api_key_cost=20, address_cost=30)
    key = uuid.uuid4()
    assert buckets_for(policy, USER, key, "1.2.3.4") == [
        (f"rl:key:{key}", 20),
        ("rl:addr:1.2.3.4", 30),
    ]
    assert buckets_for(policy, USER, None, "1.2.3.4") == [
        (f"rl:user:{USER.tenant_id}:{USER.user_id}", 10),
        ("rl:addr:1.2.3.4", 30),
    ]
    assert buckets_for(policy, None, None, None) == [("rl:addr:unknown", 30)]
    no_address_limit = RatePolicy(60, user_cost=10, api_key_cost=20, address_cost=0)
    assert buckets_for(no_address_limit, None, None, "1.2.3.4") == []


def test_a_partner_key_and_its_address_are_charged_the_query_cost() -> None:
    limiter = MemoryRateLimiter(RatePolicy(60, 100, 100, 100))
    key = uuid.uuid4()
    context = Context(Services(limiter), principal=USER, api_key_id=key)
    result = execute("{ a: __typename b: __typename c: __typename }", context)
    assert result.errors is None
    assert context.query_cost == 3
    assert set(limiter._tats) == {f"rl:key:{key}", "rl:addr:10.0.0.1"}
    assert context.response_headers["RateLimit-Remaining"] == "97"


def test_over_a_websocket_the_error_comes_without_headers() -> None:
    limiter = MemoryRateLimiter(RatePolicy(60, 1, 1, 1))
    context = Context(Services(limiter), principal=USER, request=Request({"type": "websocket"}))
    assert execute("{ __typename }", context).errors is None
    refused = execute("{ __typename }", context)
    assert [e.extensions["code"] for e in refused.errors] == ["RATE_LIMITED"]
    assert refused.errors[0].extensions["retryAfter"] == 60  # 1 unit per minute
    assert context.response_headers == {} and context.status_code is None


def test_without_a_limiter_or_services_nothing_is_charged() -> None:
    context = Context(Services(None))
    assert execute("{ __typename }", context).errors is None
    assert context.response_headers == {}
    assert execute("{ __typename }", object()).errors is None
