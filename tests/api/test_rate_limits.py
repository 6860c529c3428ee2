"""Rate limits through the real app: budgets per user, address and window, weighted by cost."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis as redis_client
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import DEVELOPMENT_JWT_SECRET
from tests.api.test_deals import ADMIN, ANALYST, create_deal
from tests.api.test_websocket import relay
from tests.conftest import APP_PASSWORD, Api, make_settings
from tests.support.processes import ServerProcess

CHEAP = "{ me { id } }"  # cost 2
EXPENSIVE = "{ properties(first: 50) { edges { node { id } } } }"  # cost 151
COMMENT = """mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) {
  entry { cursor } errors { code } } }"""
TIMELINE = """subscription($d: ID!, $s: String) {
  timelineUpdated(dealId: $d, since: $s) { message } }"""


def forget_rate_limits(redis_url: str) -> None:
    """Every bucket full again (earlier tests in the session share this Redis)."""
    client = redis_client.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("rl:*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def limited(app_url: Any, redis_url: str) -> Iterator[Callable[..., Api]]:
    """`limited(**settings)`: an Api over a fresh app with rate limits on, all buckets full."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> Api:
            forget_rate_limits(redis_url)
            values = {
                "rate_limit_enabled": True,
                "rate_limit_user_cost": 1_000,
                "rate_limit_address_cost": 100_000,
                **overrides,
            }
            app = create_app(make_settings(redis_url, **values), app_url)
            return Api(stack.enter_context(TestClient(app)))

        yield start
    forget_rate_limits(redis_url)


def send(api: Api, query: str, user: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token(user)}"} if user else {}
    return api.client.post("/graphql", json={"query": query, **body}, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def test_the_request_past_the_budget_is_refused_with_429_and_retry_after(
    limited: Callable[..., Api],
) -> None:
    api = limited(rate_limit_user_cost=10)  # five queries of cost 2
    api.token(ADMIN)
    answers = [send(api, CHEAP, ADMIN) for _ in range(6)]
    for answer in answers[:5]:
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        assert answer.headers["RateLimit-Limit"] == "10"
    assert [a.headers["RateLimit-Remaining"] for a in answers[:5]] == ["8", "6", "4", "2", "0"]
    assert 1 <= int(answers[0].headers["RateLimit-Reset"]) <= 12

    refused = answers[5]
    assert refused.status_code == 429
    body = refused.json()
    assert body.get("data") is None
    assert codes(refused) == ["RATE_LIMITED"]
    retry_after = body["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 12  # 2 units refill in 12 s
    assert refused.headers["Retry-After"] == str(retry_after)
    assert body["errors"][0]["message"] == f"Rate limit exceeded; retry in {retry_after} seconds."


def test_another_user_is_unaffected(limited: Callable[..., Api]) -> None:
    api = limited(rate_limit_user_cost=10)
    api.token(ADMIN), api.token(ANALYST)
    while send(api, CHEAP, ADMIN).status_code == 200:
        pass
    assert send(api, CHEAP, ADMIN).status_code == 429
    other = send(api, CHEAP, ANALYST)
    assert other.status_code == 200 and "errors" not in other.json()
    assert other.headers["RateLimit-Remaining"] == "8"


def test_an_expensive_query_uses_up_the_budget_faster(limited: Callable[..., Api]) -> None:
    api = limited(rate_limit_user_cost=400, rate_limit_window_seconds=3600)  # ~no refill
    api.token(ADMIN), api.token(ANALYST)
    expensive = [send(api, EXPENSIVE, ANALYST) for _ in range(3)]
    assert [a.status_code for a in expensive] == [200, 200, 429]
    assert int(expensive[0].headers["RateLimit-Remaining"]) == 400 - 151
    cheap = [send(api, CHEAP, ADMIN) for _ in range(20)]
    assert {a.status_code for a in cheap} == {200}
    assert cheap[-1].headers["RateLimit-Remaining"] == str(400 - 20 * 2)


def test_anonymous_callers_share_their_address_budget_and_garbage_is_not_free(
    limited: Callable[..., Api],
) -> None:
    api = limited(rate_limit_address_cost=5)
    assert codes(send(api, "{ nonsense")) == ["GRAPHQL_PARSE_FAILED"]  # costs 1
    assert codes(send(api, "{ noSuchField }")) == ["GRAPHQL_VALIDATION_FAILED"]  # costs 1
    statuses = [send(api, "{ __typename }").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert codes(send(api, "{ broken")) == ["RATE_LIMITED"]  # garbage is refused too


def test_without_rate_limits_there_are_no_rate_limit_headers(client: TestClient) -> None:
    answer = client.post("/graphql", json={"query": "{ __typename }"})
    assert answer.status_code == 200
    assert "RateLimit-Limit" not in answer.headers


def test_subscriptions_still_work_and_are_refused_over_budget(
    limited: Callable[..., Api],
) -> None:
    api = limited(rate_limit_user_cost=1_000, rate_limit_window_seconds=86_400)  # ~no refill
    deal_id = create_deal(api)["id"]
    first = api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "before subscribing"})
    since = first["data"]["timelineCommentAdd"]["entry"]["cursor"]
    api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "missed while away"})
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:

        def receive() -> dict[str, Any]:
            while (message := ws.receive_json())["type"] in ("ping", "pong", "ka"):
                pass
            return message

        ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {api.token(ADMIN)}"}}
        )
        assert receive()["type"] == "connection_ack"
        variables = {"d": deal_id, "s": since}
        ws.send_json(
            {"id": "t", "type": "subscribe", "payload": {"query": TIMELINE, "variables": variables}}
        )
        replayed = receive()
        assert replayed["payload"]["data"]["timelineUpdated"]["message"] == "missed while away"
        for query in (EXPENSIVE, CHEAP):  # spend the user's budget: less than 2 units are left
            while send(api, query, ADMIN).status_code == 200:
                pass
        ws.send_json(
            {"id": "u", "type": "subscribe", "payload": {"query": TIMELINE, "variables": variables}}
        )
        refused = receive()
        assert (refused["id"], refused["type"]) == ("u", "error"), refused
        assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        api.as_user(ANALYST, COMMENT, {"d": deal_id, "b": "still live"})  # another user
        relay(api.client)
        assert receive()["payload"]["data"]["timelineUpdated"]["message"] == "still live"


def test_the_limit_holds_across_two_server_processes_sharing_redis(
    owner_url: str, redis_url: str
) -> None:
    budget = 12
    env = {
        "DATABASE_URL": owner_url,
        "APP_DB_PASSWORD": APP_PASSWORD,
        "APP_DATABASE_URL": "",
        "REDIS_URL": redis_url,
        "JWT_SECRET": DEVELOPMENT_JWT_SECRET,
        "RUN_RELAY": "false",
        "RUN_WORKERS": "false",
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_WINDOW_SECONDS": "3600",  # no refill to speak of during the test
        "RATE_LIMIT_ADDRESS_COST": str(budget),
    }
    servers = [ServerProcess(env, name=f"rate-limit-{n}") for n in (1, 2)]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        forget_rate_limits(redis_url)
        statuses = []
        for attempt in range(2 * budget):
            server = servers[attempt % 2]
            answer = httpx.post(server.graphql_url, json={"query": "{ __typename }"}, timeout=10)
            statuses.append(answer.status_code)
        assert statuses.count(200) == budget, statuses
        assert statuses[:budget] == [200] * budget
        assert set(statuses[budget:]) == {429}
    finally:
        for server in servers:
            server.stop()
        forget_rate_limits(redis_url)
