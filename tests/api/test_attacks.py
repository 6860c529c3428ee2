"""The attack suite: crafted requests against a production-mode server, each refused with its
code, while another client keeps getting normal answers at normal speed."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import APP_PASSWORD
from tests.support.processes import ServerProcess

DEMO = "demo@reos.dev"
SECRET = "attack-suite-secret-" + "x" * 40
JSON_HEADERS = {"Content-Type": "application/json"}


def nested(levels: int) -> str:
    """property -> deals -> property ... : `levels` levels of data (edges/node do not count)."""
    opening = "properties(first: 1) { edges { node { "
    for level in range(1, levels):
        opening += "deals(first: 1) { edges { node { " if level % 2 else "property { "
    closing = ""
    for level in range(levels - 1, 0, -1):
        closing += "} } } " if level % 2 else "} "
    return "{ " + opening + "id " + closing + "} } } }"


def deep_introspection(levels: int) -> str:
    query = "__schema { types { "
    for _ in range(levels):
        query += "fields { type { "
    return "{ " + query + "name" + " } }" * levels + " } } }"


COST_BOMB = """{ properties(first: 100) { edges { node {
  deals(first: 100) { edges { node { timeline(first: 100) { edges { node { id } } } } } }
} } } }"""


@dataclass(frozen=True)
class Attack:
    name: str
    send: Callable[[httpx.Client], httpx.Response]
    status: int
    code: str
    check: Callable[[dict], bool] = lambda body: True


def post_json(body: object) -> Callable[[httpx.Client], httpx.Response]:
    return lambda client: client.post("/graphql", content=json.dumps(body), headers=JSON_HEADERS)


ATTACKS = [
    Attack(
        "101 aliases",
        post_json({"query": "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"}),
        200,
        "QUERY_TOO_COMPLEX",
        lambda body: body["errors"][0]["extensions"]["limit"] == "aliases",
    ),
    Attack(
        "depth 30",
        post_json({"query": nested(30)}),
        200,
        "QUERY_TOO_COMPLEX",
        lambda body: body["errors"][0]["extensions"]["limit"] == "depth",
    ),
    Attack(
        "10,000 tokens",
        post_json({"query": "{ " + "__typename " * 10_000 + "}"}),
        200,
        "QUERY_TOO_COMPLEX",
    ),
    Attack(
        "directive overloading",
        post_json({"query": "{ __typename " + "@include(if: true) " * 200 + "}"}),
        200,
        "QUERY_TOO_COMPLEX",
        lambda body: body["errors"][0]["extensions"]["limit"] == "directives",
    ),
    Attack(
        "circular fragments",
        post_json(
            {
                "query": "query { ...A } fragment A on Query { ...B } "
                "fragment B on Query { ...A __typename }"
            }
        ),
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Attack(
        "a batch of 50",
        post_json([{"query": "{ __typename }"}] * 50),
        400,
        "QUERY_TOO_COMPLEX",
    ),
    Attack(
        "deep introspection (off in production)",
        post_json({"query": deep_introspection(20)}),
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Attack(
        "first: 100000",
        post_json({"query": "{ properties(first: 100000) { totalCount } }"}),
        200,
        "QUERY_TOO_COMPLEX",
        lambda body: body["errors"][0]["extensions"]["limit"] == "first",
    ),
    Attack(
        "a cost bomb through nested connections",
        post_json({"query": COST_BOMB}),
        200,
        "QUERY_TOO_COMPLEX",
        lambda body: body["errors"][0]["extensions"]["limit"] == "cost",
    ),
    Attack(
        "a 5 MB body",
        post_json({"query": "{ __typename }", "variables": {"pad": "x" * 5_000_000}}),
        413,
        "QUERY_TOO_COMPLEX",
    ),
    Attack(
        "a GET mutation",
        lambda client: client.get(
            "/graphql",
            params={"query": 'mutation { logout(refreshToken: "x") { ok } }'},
            headers={"Apollo-Require-Preflight": "true"},
        ),
        405,
        "BAD_REQUEST",
    ),
    Attack(
        "a form-encoded POST",
        lambda client: client.post("/graphql", data={"query": "{ __typename }"}),
        415,
        "BAD_REQUEST",
    ),
    Attack(
        "field-suggestion probing",
        post_json({"query": "{ me { emial passwrd } propertie { id } }"}),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        lambda body: all(
            "Did you mean" not in e["message"] and "'User'" not in e["message"]
            for e in body["errors"]
        ),
    ),
]


def app_database_url(owner_url: str) -> str:
    from persistence.database import app_role_url

    return app_role_url(owner_url, APP_PASSWORD).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def production_server(owner_url: str, redis_url: str) -> Iterator[ServerProcess]:
    env = {
        "REOS_ENV": "production",
        "DATABASE_URL": owner_url,
        "APP_DATABASE_URL": app_database_url(owner_url),
        "REDIS_URL": redis_url,
        "JWT_SECRET": SECRET,
        "RUN_RELAY": "false",
        "BATCHING_ENABLED": "true",
        "RATE_LIMIT_ENABLED": "false",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
    }
    with ServerProcess(env, name="attacks") as server:
        yield server


@pytest.fixture(scope="module")
def bystander(production_server: ServerProcess) -> Callable[[], float]:
    """An ordinary signed-in client: each call runs one small query and returns its seconds."""
    client = httpx.Client(base_url=production_server.url, timeout=10)
    login = client.post(
        "/graphql",
        json={
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
            "{ accessToken } }",
            "variables": {"e": DEMO, "p": "reos-demo"},
        },
    ).json()
    token = login["data"]["login"]["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    query = {"query": "{ me { email } properties(first: 5) { totalCount } }"}

    def one_request() -> float:
        started = time.perf_counter()
        response = client.post("/graphql", json=query, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["email"] == DEMO
        return elapsed

    return one_request


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_each_attack_is_refused_with_its_code(
    production_server: ServerProcess, attack: Attack
) -> None:
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        response = attack.send(client)
    assert response.status_code == attack.status, response.text[:500]
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == attack.code, body
    assert attack.check(body), body
    assert "data" not in body or body["data"] is None
    assert "Traceback" not in response.text


def test_other_clients_keep_normal_latency_under_attack(
    production_server: ServerProcess, bystander: Callable[[], float]
) -> None:
    bystander()  # warm
    calm = [bystander() for _ in range(20)]
    stop = threading.Event()
    refused: list[int] = []

    def attack_loop(offset: int) -> None:
        with httpx.Client(base_url=production_server.url, timeout=30) as client:
            index = offset
            while not stop.is_set():
                response = ATTACKS[index % len(ATTACKS)].send(client)
                refused.append(response.status_code)
                index += 1

    attackers = [threading.Thread(target=attack_loop, args=(n * 5,)) for n in range(3)]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(0.5)
        under_attack = [bystander() for _ in range(30)]
    finally:
        stop.set()
        for thread in attackers:
            thread.join()
    calm_p50, attacked_p50 = statistics.median(calm), statistics.median(under_attack)
    print(
        f"\nbystander p50 calm {calm_p50 * 1000:.1f} ms, under attack {attacked_p50 * 1000:.1f} ms"
        f" (max {max(under_attack) * 1000:.1f} ms); {len(refused)} attack requests refused"
    )
    assert len(refused) > 30
    # Three attackers sending back to back share the server's one event loop and this
    # machine's cores with the bystander: its requests wait behind a few refusals, no more.
    assert attacked_p50 < 0.1
    assert max(under_attack) < 1.0


def test_introspection_depth_is_limited_where_introspection_is_on(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": deep_introspection(20)}).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection depth" in body["errors"][0]["message"]
