"""/graphql speaks both WebSocket protocols (subscriptions come with the real-time issue)."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_graphql_transport_ws_handshake_and_a_query(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        assert ws.receive_json() == {"id": "1", "type": "next", "payload": {"data": {"me": None}}}
        assert ws.receive_json() == {"id": "1", "type": "complete"}


def test_legacy_graphql_ws_handshake(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "connection_terminate"})
