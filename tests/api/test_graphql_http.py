"""GraphQL over HTTP: media types and status codes, CSRF, bodies, batching, deadlines, headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.conftest import Api, make_settings

RESPONSE_JSON = "application/graphql-response+json"
DEMO = "demo@reos.dev"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


def post(client: TestClient, body: object, **headers: str):
    return client.post("/graphql", json=body, headers=headers)


def test_the_response_media_type_follows_accept(client: TestClient) -> None:
    modern = post(client, {"query": "{ __typename }"}, Accept=RESPONSE_JSON)
    assert modern.status_code == 200
    assert modern.headers["content-type"].startswith(RESPONSE_JSON)
    assert modern.json() == {"data": {"__typename": "Query"}}
    legacy = post(client, {"query": "{ __typename }"}, Accept="application/json")
    assert legacy.headers["content-type"].startswith("application/json")
    unacceptable = post(client, {"query": "{ __typename }"}, Accept="text/plain")
    assert unacceptable.status_code == 406


@pytest.mark.parametrize(
    ("query", "code"),
    [("{ properties(", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")],
)
def test_request_errors_are_400_in_the_new_media_type_and_200_in_json(
    client: TestClient, query: str, code: str
) -> None:
    modern = post(client, {"query": query}, Accept=RESPONSE_JSON)
    assert modern.status_code == 400
    assert "data" not in modern.json()
    assert modern.json()["errors"][0]["extensions"]["code"] == code
    legacy = post(client, {"query": query}, Accept="application/json")
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == code


def test_field_errors_keep_data_and_200(client: TestClient) -> None:
    response = post(client, {"query": "{ properties { totalCount } }"}, Accept=RESPONSE_JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["properties"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("query={__typename}", "application/x-www-form-urlencoded", 415),
        ('{"query": "{ __typename }"}', "text/plain", 415),
        ("{not json", "application/json", 400),
        ('"a string"', "application/json", 400),
        ('{"query": 7}', "application/json", 400),
        ('{"query": "{ __typename }", "variables": [1]}', "application/json", 400),
    ],
)
def test_malformed_requests_are_refused_with_a_code(
    client: TestClient, content: str, content_type: str, status: int
) -> None:
    response = client.post("/graphql", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Traceback" not in response.text


def test_simple_get_requests_need_a_preflight_header(client: TestClient, api: Api) -> None:
    params = {"query": "{ __typename }"}
    forged = client.get("/graphql", params=params)
    assert forged.status_code == 400
    assert forged.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert client.get("/graphql", params=params, headers=PREFLIGHT).status_code == 200
    authorized = client.get(
        "/graphql",
        params={"query": "{ me { email } }"},
        headers={"Authorization": f"Bearer {api.token(DEMO)}"},
    )
    assert authorized.json() == {"data": {"me": {"email": DEMO}}}
    assert authorized.headers["cache-control"] == "private, no-store"
    assert "Authorization" in authorized.headers["vary"]


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/health"), post(client, {"query": "{ __typename }"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_batches_are_off_by_default(client: TestClient) -> None:
    response = post(client, [{"query": "{ __typename }"}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.fixture(scope="module")
def batching_client(app_url, redis_url) -> Iterator[TestClient]:
    settings = make_settings(redis_url, batching_enabled=True, batch_max_operations=10)
    with TestClient(create_app(settings, app_url)) as client:
        yield client


def test_batches_when_enabled_answer_in_order(batching_client: TestClient, api: Api) -> None:
    token = api.token(DEMO)
    response = batching_client.post(
        "/graphql",
        json=[{"query": "{ me { email } }"}, {"query": "{ __typename }"}, {"query": "{ nope }"}],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"data": {"me": {"email": DEMO}}}
    assert second == {"data": {"__typename": "Query"}}
    assert third["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_batches_are_capped_and_never_carry_login(batching_client: TestClient) -> None:
    too_many = post(batching_client, [{"query": "{ __typename }"}] * 11)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    login = 'mutation { signIn: login(email: "a@b.c", password: "x") { accessToken } }'
    refused = post(batching_client, [{"query": "{ __typename }"}, {"query": login}])
    assert refused.status_code == 400
    assert "login" in refused.json()["errors"][0]["message"]


def test_a_slow_field_times_out_alone(app_url, redis_url, api: Api) -> None:
    settings = make_settings(redis_url, field_timeout_seconds=0.000_001)
    with TestClient(create_app(settings, app_url)) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ __typename me { email } }"},
            headers={"Authorization": f"Bearer {api.token(DEMO)}"},
        )
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"__typename": "Query", "me": None}
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert body["errors"][0]["path"] == ["me"]


def test_the_request_deadline_stops_a_long_request(app_url, redis_url, api: Api) -> None:
    settings = make_settings(redis_url, request_timeout_seconds=0.000_001)
    with TestClient(create_app(settings, app_url)) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ properties(first: 5) { totalCount } }"},
            headers={"Authorization": f"Bearer {api.token(DEMO)}"},
        )
        assert response.status_code == 503
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert client.get("/ready").status_code == 200  # nothing left holding a connection


def test_production_masks_field_suggestions(app_url, redis_url) -> None:
    settings = make_settings(
        redis_url, env="production", jwt_secret="p" * 48, app_db_password="strong-password"
    )
    with TestClient(create_app(settings, app_url)) as client:
        for query in (
            "{ me { emial } }",
            "{ propertie { id } }",
            "{ properties(frist: 1) { totalCount } }",
        ):
            message = post(client, {"query": query}).json()["errors"][0]["message"]
            assert "Did you mean" not in message, message
            assert "'User'" not in message and "'Query" not in message, message
    with TestClient(create_app(make_settings(redis_url), app_url)) as dev:
        message = post(dev, {"query": "{ me { emial } }"}).json()["errors"][0]["message"]
        assert "Did you mean" in message


def test_refused_requests_are_charged_to_their_address(app_url, redis_url) -> None:
    settings = make_settings(
        redis_url,
        rate_limit_enabled=True,
        rate_limit_address_cost=3,
        rate_limit_window_seconds=3600,
    )
    with TestClient(create_app(settings, app_url), client=("10.9.8.7", 4000)) as client:
        statuses = [
            client.post(
                "/graphql", content="{not json", headers={"Content-Type": "application/json"}
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        limited = client.post("/graphql", json={"query": "{ __typename }"})
        assert limited.status_code == 429
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) > 0
