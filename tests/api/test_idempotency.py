"""Idempotency-Key on mutations: a retry replays the stored result instead of writing twice."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
OTHER = "other@reos.dev"

COMMENT = """mutation($d: ID!, $b: String!) {
  timelineCommentAdd(dealId: $d, body: $b) { entry { id } errors { code } }
}"""


@pytest.fixture(scope="module")
def deal_id(api: Api) -> str:
    deals = api.as_user(ADMIN, "{ deals(first: 1) { edges { node { id } } } }")
    return deals["data"]["deals"]["edges"][0]["node"]["id"]


def send(client: TestClient, api: Api, email: str, key: str, variables: dict):
    return client.post(
        "/graphql",
        json={"query": COMMENT, "variables": variables},
        headers={"Authorization": f"Bearer {api.token(email)}", "Idempotency-Key": key},
    )


def comments_with(api: Api, deal_id: str, body: str) -> int:
    query = """query($d: ID!) { deal(id: $d) { timeline(first: 100) {
      edges { node { kind message } } } } }"""
    edges = api.as_user(ADMIN, query, {"d": deal_id})["data"]["deal"]["timeline"]["edges"]
    return sum(1 for edge in edges if edge["node"]["message"] == body)


def test_the_same_key_and_body_replays_the_first_result(
    client: TestClient, api: Api, deal_id: str
) -> None:
    key, text = uuid.uuid4().hex, "idempotent " + uuid.uuid4().hex
    first = send(client, api, ADMIN, key, {"d": deal_id, "b": text})
    again = send(client, api, ADMIN, key, {"d": deal_id, "b": text})
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["timelineCommentAdd"]["errors"] == []
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert comments_with(api, deal_id, text) == 1


def test_the_same_key_with_another_body_is_a_conflict(
    client: TestClient, api: Api, deal_id: str
) -> None:
    key, text = uuid.uuid4().hex, "conflict " + uuid.uuid4().hex
    assert send(client, api, ADMIN, key, {"d": deal_id, "b": text}).status_code == 200
    other = send(client, api, ADMIN, key, {"d": deal_id, "b": text + " changed"})
    assert other.status_code == 409
    assert other.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert comments_with(api, deal_id, text + " changed") == 0


def test_keys_are_scoped_to_the_user(client: TestClient, api: Api, deal_id: str) -> None:
    key, text = uuid.uuid4().hex, "scoped " + uuid.uuid4().hex
    mine = send(client, api, ADMIN, key, {"d": deal_id, "b": text})
    theirs = send(client, api, ANALYST, key, {"d": deal_id, "b": text})
    assert "idempotent-replayed" not in theirs.headers
    assert (
        theirs.json()["data"]["timelineCommentAdd"]["entry"]["id"]
        != (mine.json()["data"]["timelineCommentAdd"]["entry"]["id"])
    )
    assert comments_with(api, deal_id, text) == 2


def test_a_bad_key_is_refused_and_writes_nothing(
    client: TestClient, api: Api, deal_id: str
) -> None:
    text = "bad key " + uuid.uuid4().hex
    response = send(client, api, ADMIN, "x" * 300, {"d": deal_id, "b": text})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert comments_with(api, deal_id, text) == 0
