"""Subscriptions over both WebSocket protocols: auth in connection_init, replay, live, isolation."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.test_deals import ADMIN, create_deal
from tests.conftest import Api

TIMELINE = """subscription($d: ID!, $s: String) {
  timelineUpdated(dealId: $d, since: $s) { kind message cursor actor { email } } }"""
COMMENT = """mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) {
  entry { cursor } errors { code } } }"""


def relay(client: TestClient) -> int:
    """Publish everything committed so far (earlier tests may have left a backlog)."""
    total = 0
    while sent := client.portal.call(client.app.state.relay.run_once):  # type: ignore[attr-defined]
        total += sent
    return total


def connect(client: TestClient, token: str | None, protocol: str = "graphql-transport-ws"):
    ws = client.websocket_connect("/graphql", subprotocols=[protocol])
    socket = ws.__enter__()
    payload = {"authorization": f"Bearer {token}"} if token else {}
    socket.send_json({"type": "connection_init", "payload": payload})
    return ws, socket


def test_connection_init_without_a_valid_token_is_refused(client: TestClient) -> None:
    for token in (None, "not-a-token"):
        ws, socket = connect(client, token)
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4403
        ws.__exit__(None, None, None)


def test_subscribing_before_connection_init_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4401


def test_a_foreign_origin_is_refused(client: TestClient, api: Api) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(
            "/graphql",
            subprotocols=["graphql-transport-ws"],
            headers={"Origin": "https://evil.example"},
        ) as socket,
    ):
        socket.receive_json()
    assert closed.value.code == 4403


def test_timeline_streams_live_and_replays_since(client: TestClient, api: Api) -> None:
    deal_id = create_deal(api)["id"]
    first = api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "before subscribing"})
    since = first["data"]["timelineCommentAdd"]["entry"]["cursor"]
    api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "missed while away"})
    ws, socket = connect(client, api.token(ADMIN))
    assert socket.receive_json()["type"] == "connection_ack"
    socket.send_json(
        {
            "id": "t",
            "type": "subscribe",
            "payload": {"query": TIMELINE, "variables": {"d": deal_id, "s": since}},
        }
    )
    replayed = socket.receive_json()
    assert replayed["payload"]["data"]["timelineUpdated"]["message"] == "missed while away"
    api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "live one"})
    relay(client)
    live = socket.receive_json()["payload"]["data"]["timelineUpdated"]
    assert live["message"] == "live one"
    assert live["actor"] == {"email": ADMIN}
    ws.__exit__(None, None, None)


def test_legacy_graphql_ws_protocol_streams_too(client: TestClient, api: Api) -> None:
    deal_id = create_deal(api)["id"]
    first = api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "seen"})
    since = first["data"]["timelineCommentAdd"]["entry"]["cursor"]
    api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "replayed over graphql-ws"})
    ws, socket = connect(client, api.token(ADMIN), protocol="graphql-ws")
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        variables = {"d": deal_id, "s": since}
        socket.send_json(
            {"id": "1", "type": "start", "payload": {"query": TIMELINE, "variables": variables}}
        )
        messages = []
        for expected in ("replayed over graphql-ws", "live over graphql-ws"):
            message = socket.receive_json()
            while message["type"] == "ka":
                message = socket.receive_json()
            messages.append(message)
            assert message["type"] == "data", message
            assert message["payload"]["data"]["timelineUpdated"]["message"] == expected
            if expected.startswith("replayed"):
                api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "live over graphql-ws"})
                relay(client)
    finally:
        ws.__exit__(None, None, None)


def test_the_relay_publishes_each_committed_event_once(client: TestClient, api: Api, db) -> None:
    deal_id = create_deal(api)["id"]
    api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "publish me"})
    relay(client)
    assert db("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] == 0
    assert relay(client) == 0
