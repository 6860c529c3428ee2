"""The HTTP surface: health, readiness, request IDs, GraphiQL, production hardening, masking."""

from __future__ import annotations

import re

import pytest
from graphql import GraphQLError
from starlette.testclient import TestClient

from schema.extensions import shape_error
from server.app import create_app
from server.settings import Settings, SettingsError
from tests.conftest import make_settings

INTROSPECTION = "{ __schema { queryType { name } } }"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    latency = body.pop("latency_ms")
    assert body == {
        "status": "ready",
        "database": "ok",
        "pubsub": "ok",
        "storage": "ok",
        "search": "ok (postgres)",
        "smtp": "off",
    }
    assert set(latency) == {"database", "pubsub", "storage", "search", "smtp"}
    assert all(isinstance(ms, int | float) and ms >= 0 for ms in latency.values())


def test_every_response_has_a_request_id(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert (
        client.get("/health", headers={"X-Request-ID": "trace-123"}).headers["x-request-id"]
        == "trace-123"
    )
    # A hostile header value is replaced, not echoed.
    assert (
        client.get("/health", headers={"X-Request-ID": "bad id\x7f"}).headers["x-request-id"]
        != "bad id\x7f"
    )
    posted = client.post("/graphql", json={"query": "{ me { id } }"})
    assert posted.headers["x-request-id"]


def test_graphiql_is_served_without_any_cdn(client: TestClient) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert not re.search(r"https?://", page.text)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_queries_work_over_get_but_mutations_do_not(client: TestClient) -> None:
    preflighted = {"Apollo-Require-Preflight": "true"}
    ok = client.get("/graphql", params={"query": "{ me { id } }"}, headers=preflighted)
    assert ok.status_code == 200 and ok.json() == {"data": {"me": None}}
    refused = client.get(
        "/graphql",
        params={"query": 'mutation { logout(refreshToken: "x") { ok } }'},
        headers=preflighted,
    )
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_cors_allows_only_configured_origins(app_url) -> None:
    settings = make_settings(None, cors_origins=["https://app.example.com"])
    with TestClient(create_app(settings, app_url)) as client:
        allowed = client.options(
            "/graphql",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
        denied = client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in denied.headers


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(SettingsError):
        Settings(env="production").check()
    with pytest.raises(SettingsError):
        Settings(env="production", jwt_secret="short").check()
    Settings(env="production", jwt_secret="x" * 40, app_db_password="strong-password").check()


def test_production_turns_off_graphiql_and_introspection(app_url) -> None:
    settings = make_settings(
        None, env="production", jwt_secret="p" * 48, app_db_password="strong-password"
    )
    with TestClient(create_app(settings, app_url)) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert client.get("/static/graphiql/index.html").status_code == 404
        result = client.post("/graphql", json={"query": INTROSPECTION}).json()
        assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "data" not in result or result["data"] is None
    with TestClient(create_app(make_settings(None), app_url)) as dev:
        data = dev.post("/graphql", json={"query": INTROSPECTION}).json()["data"]
        assert data["__schema"]["queryType"]["name"] == "Query"


def test_unexpected_errors_are_masked() -> None:
    try:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")
    except RuntimeError as exc:
        error = GraphQLError("password=hunter2", original_error=exc, path=["x"])
    shaped = shape_error(error, "req-1").formatted
    assert shaped["message"] == "Internal server error."
    assert shaped["extensions"] == {"code": "INTERNAL", "requestId": "req-1"}
    assert "hunter2" not in str(shaped)


def test_errors_carry_codes(client: TestClient) -> None:
    parse = client.post("/graphql", json={"query": "{ properties("}).json()
    assert parse["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    invalid = client.post("/graphql", json={"query": "{ nope }"}).json()
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    variables = client.post(
        "/graphql",
        json={
            "query": "query($n: Int!) { properties(first: $n) { totalCount } }",
            "variables": {"n": "x"},
        },
    ).json()
    assert variables["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
