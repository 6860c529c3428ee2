"""The alert inbox through the real app: system alerts raised by the alert consumer from
published events, privacy between users and tenants, marking read, the unread count, and
alertReceived over WebSocket (live and replayed with `since`)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.test_construction import new_bid, new_project
from tests.api.test_deals import (
    COMMENT,
    MEMBER_SET,
    create_deal,
    local_id,
    run,
    top_code,
    user_id,
)
from tests.api.test_finance import add, set_budget
from tests.api.test_websocket import connect, relay
from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"

ALERT_FIELDS = """id kind title body score reasons { code weight detail } readAt createdAt cursor
  deal { id } property { id }"""
ALERTS = f"""query($unread: Boolean, $first: Int, $after: String) {{
  alerts(unreadOnly: $unread, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{ cursor node {{ {ALERT_FIELDS} }} }} }} }}"""
UNREAD = "{ alertUnreadCount }"
MARK_READ = """mutation($ids: [ID!]!) { alertMarkRead(ids: $ids) {
  alerts { id readAt } errors { field message code } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Alert { title } } }"
ALERT_RECEIVED = f"""subscription($s: String) {{
  alertReceived(since: $s) {{ {ALERT_FIELDS} }} }}"""


# ---------------------------------------------------------------- helpers


def consume(client: TestClient) -> int:
    """Run the alert consumer until it has nothing left (the app does not run it in tests)."""
    total = 0
    consumer = client.app.state.alert_consumer  # type: ignore[attr-defined]
    while read := client.portal.call(consumer.run_once):  # type: ignore[attr-defined]
        total += read
    return total


def deliver(client: TestClient) -> None:
    """Publish, raise alerts from what was published, and publish their alert.created."""
    relay(client)
    consume(client)
    relay(client)


def team_deal(api: Api, *members: str) -> dict:
    """A fresh deal of ADMIN's (its LEAD) with more members; {id, property {id}, project}."""
    deal = create_deal(api)
    for email in members:
        variables = {"dealId": deal["id"], "userId": user_id(api, email), "role": "ANALYST"}
        assert run(api, MEMBER_SET, variables)["dealMemberSet"]["errors"] == []
    found = run(api, "query($id: ID!) { deal(id: $id) { property { id } } }", {"id": deal["id"]})
    return {**deal, "property": found["deal"]["property"]}


def alerts(api: Api, user: str, **variables: Any) -> dict:
    return run(api, ALERTS, {"first": 100, **variables}, user)["alerts"]


def alerts_on(api: Api, user: str, deal_id: str, **variables: Any) -> list[dict]:
    """The user's alerts about one deal, newest first."""
    nodes = [edge["node"] for edge in alerts(api, user, **variables)["edges"]]
    return [node for node in nodes if node["deal"] and node["deal"]["id"] == deal_id]


def unread(api: Api, user: str) -> int:
    return run(api, UNREAD, user=user)["alertUnreadCount"]


def bid_with_contractor(api: Api, deal_id: str, amount: str) -> tuple[str, str]:
    """A bid on a new project of the deal; (contractor name, project id)."""
    project = new_project(api, deal_id)
    bid = new_bid(api, project["id"], amount)
    name = run(
        api,
        "query($id: ID!) { node(id: $id) { ... on Bid { contractor { name } } } }",
        {"id": bid["id"]},
    )["node"]["contractor"]["name"]
    return name, project["id"]


def stored_alerts(db: Any, deal_id: str) -> list[Any]:
    return db(
        "SELECT a.id, u.email, a.kind, a.read_at FROM alerts a JOIN users u ON u.id = a.user_id "
        "WHERE a.deal_id = $1 ORDER BY a.seq",
        local_id(deal_id),
    )


# ---------------------------------------------------------------- system alerts


def test_a_bid_alerts_the_deal_team_but_not_whoever_submitted_it(
    client: TestClient, api: Api, db: Any
) -> None:
    deal = team_deal(api, ANALYST)
    contractor, _ = bid_with_contractor(api, deal["id"], "12500")
    deliver(client)

    [alert] = alerts_on(api, ANALYST, deal["id"])
    assert alert["kind"] == "BID_RECEIVED"
    assert alert["title"] == f"Bid received: {contractor} $12,500.00"
    assert alert["body"].startswith(f"{contractor} bid $12,500.00 on the rehab of ")
    assert alert["score"] is None and alert["reasons"] == [] and alert["readAt"] is None
    assert alert["property"] == deal["property"]
    assert alerts_on(api, ADMIN, deal["id"]) == []  # the admin submitted it


def test_handling_the_same_events_again_alerts_no_one_twice(
    client: TestClient, api: Api, db: Any
) -> None:
    deal = team_deal(api, ANALYST)
    bid_with_contractor(api, deal["id"], "900")
    deliver(client)
    assert [(r[1], r[2]) for r in stored_alerts(db, deal["id"])] == [(ANALYST, "BID_RECEIVED")]
    [(alert_id, *_)] = stored_alerts(db, deal["id"])
    # Rewind the consumer to just before the bid's event and let it run over it again.
    [(seq,)] = db(
        "SELECT published_seq FROM outbox WHERE event_type = 'bid.received' AND payload->>'deal_id'"
        " = $1",
        str(local_id(deal["id"])),
    )
    db("UPDATE outbox_consumers SET position = $1 WHERE name = 'alerts'", seq - 1)
    assert consume(client) >= 1
    relay(client)
    assert len(stored_alerts(db, deal["id"])) == 1
    announced = db(
        "SELECT count(*) FROM outbox WHERE event_type = 'alert.created' AND aggregate_id = $1",
        alert_id,
    )
    assert announced[0][0] == 1
    assert len(alerts_on(api, ANALYST, deal["id"])) == 1


def test_a_blown_budget_alerts_the_whole_team(client: TestClient, api: Api) -> None:
    deal = team_deal(api, ANALYST)
    assert set_budget(api, deal["id"], "REPAIRS", "100.00")["errors"] == []
    add(api, deal["id"], "-150.00", "REPAIRS", "2026-01-05")
    deliver(client)
    for user in (ADMIN, ANALYST):  # the admin spent it and is told too
        [alert] = alerts_on(api, user, deal["id"])
        assert alert["kind"] == "BUDGET_EXCEEDED"
        assert alert["title"] == "Repairs budget exceeded: $150.00 spent of $100.00"


def test_events_that_raise_no_alert_raise_none(client: TestClient, api: Api) -> None:
    deal = team_deal(api, ANALYST)
    run(api, COMMENT, {"dealId": deal["id"], "body": "no alert for this"})
    deliver(client)
    assert alerts_on(api, ANALYST, deal["id"]) == []


# ---------------------------------------------------------------- privacy


def test_alerts_are_seen_only_by_their_own_user(client: TestClient, api: Api) -> None:
    deal = team_deal(api, ANALYST)
    bid_with_contractor(api, deal["id"], "700")
    deliver(client)
    [alert] = alerts_on(api, ANALYST, deal["id"])
    for someone_else in (ADMIN, VIEWER, OTHER_ADMIN):
        assert alerts_on(api, someone_else, deal["id"]) == []
        assert alert["id"] not in {e["node"]["id"] for e in alerts(api, someone_else)["edges"]}
        assert run(api, NODE, {"id": alert["id"]}, someone_else)["node"] is None
    assert run(api, NODE, {"id": alert["id"]}, ANALYST)["node"]["title"] == alert["title"]


def test_any_role_reads_its_inbox_and_anonymous_callers_none(api: Api) -> None:
    assert "edges" in alerts(api, VIEWER)
    assert unread(api, VIEWER) >= 0
    assert top_code(api.post(UNREAD)) == "UNAUTHENTICATED"
    assert top_code(api.post(ALERTS, {"first": 1})) == "UNAUTHENTICATED"


# ---------------------------------------------------------------- reading, marking read


def test_mark_read_updates_the_unread_count_and_keeps_the_first_read_time(
    client: TestClient, api: Api
) -> None:
    deal = team_deal(api, ANALYST)
    bid_with_contractor(api, deal["id"], "100")
    bid_with_contractor(api, deal["id"], "200")
    deliver(client)
    newer, older = alerts_on(api, ANALYST, deal["id"])
    assert newer["title"].endswith("$200.00") and older["title"].endswith("$100.00")
    before = unread(api, ANALYST)

    marked = run(api, MARK_READ, {"ids": [older["id"]]}, ANALYST)["alertMarkRead"]
    assert marked["errors"] == []
    assert [a["id"] for a in marked["alerts"]] == [older["id"]]
    assert marked["alerts"][0]["readAt"] is not None
    assert unread(api, ANALYST) == before - 1
    unread_ids = {e["node"]["id"] for e in alerts(api, ANALYST, unread=True)["edges"]}
    assert newer["id"] in unread_ids and older["id"] not in unread_ids

    again = run(api, MARK_READ, {"ids": [older["id"], older["id"]]}, ANALYST)["alertMarkRead"]
    assert again["errors"] == []
    assert again["alerts"] == marked["alerts"]  # read once, at the first time
    assert unread(api, ANALYST) == before - 1


def test_marking_someone_elses_alert_fails_and_changes_nothing(
    client: TestClient, api: Api, db: Any
) -> None:
    deal = team_deal(api, ANALYST)
    bid_with_contractor(api, deal["id"], "300")
    deliver(client)
    [theirs] = alerts_on(api, ANALYST, deal["id"])
    own_deal = team_deal(api, ANALYST)  # and an alert the admin does own
    assert set_budget(api, own_deal["id"], "UTILITIES", "10.00")["errors"] == []
    add(api, own_deal["id"], "-20.00", "UTILITIES", "2026-01-05")
    deliver(client)
    [mine] = alerts_on(api, ADMIN, own_deal["id"])
    admin_unread = unread(api, ADMIN)

    for user, ids in ((ADMIN, [theirs["id"]]), (ADMIN, [mine["id"], theirs["id"]])):
        result = run(api, MARK_READ, {"ids": ids}, user)["alertMarkRead"]
        assert result["alerts"] == []
        assert [(e["code"], e["field"]) for e in result["errors"]] == [
            ("NOT_FOUND", ["ids", str(ids.index(theirs["id"]))])
        ]
    other = run(api, MARK_READ, {"ids": [theirs["id"]]}, OTHER_ADMIN)["alertMarkRead"]
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]
    assert all(row[3] is None for row in stored_alerts(db, deal["id"]))
    assert all(row[3] is None for row in stored_alerts(db, own_deal["id"]))
    assert unread(api, ADMIN) == admin_unread

    bad = run(api, MARK_READ, {"ids": ["not-an-id"]}, ANALYST)["alertMarkRead"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["ids", "0"])]
    assert run(api, MARK_READ, {"ids": []}, ANALYST)["alertMarkRead"] == {
        "alerts": [],
        "errors": [],
    }


def test_alerts_page_newest_first(client: TestClient, api: Api) -> None:
    deal = team_deal(api, ANALYST)
    for amount in ("1", "2", "3"):
        bid_with_contractor(api, deal["id"], amount)
    deliver(client)
    ours = {a["id"] for a in alerts_on(api, ANALYST, deal["id"])}
    assert len(ours) == 3
    first = alerts(api, ANALYST, first=2)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    titles = [e["node"]["title"] for e in first["edges"]]
    assert titles[0].endswith("$3.00") and titles[1].endswith("$2.00")
    rest = alerts(api, ANALYST, first=1, after=first["pageInfo"]["endCursor"])
    assert rest["edges"][0]["node"]["title"].endswith("$1.00")
    assert rest["pageInfo"]["hasPreviousPage"] is True
    assert first["totalCount"] == rest["totalCount"] >= 3
    assert top_code(api.as_user(ANALYST, ALERTS, {"after": "nonsense"})) == "BAD_USER_INPUT"


# ---------------------------------------------------------------- alertReceived


def next_alert(socket: Any) -> dict:
    while True:
        message = socket.receive_json()
        if message["type"] in ("ping", "pong", "ka"):
            continue
        assert message["type"] == "next", message
        return message["payload"]["data"]["alertReceived"]


def test_alert_received_delivers_live_and_replays_since(client: TestClient, api: Api) -> None:
    deliver(client)  # alerts from earlier events are raised and published first
    deal = team_deal(api, ANALYST)
    ws, socket = connect(client, api.token(ANALYST))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_json({"id": "a", "type": "subscribe", "payload": {"query": ALERT_RECEIVED}})
        contractor, _ = bid_with_contractor(api, deal["id"], "5000")
        deliver(client)
        live = next_alert(socket)
        assert live["kind"] == "BID_RECEIVED"
        assert live["title"] == f"Bid received: {contractor} $5,000.00"
        assert live["deal"] == {"id": deal["id"]}
        socket.send_json({"id": "a", "type": "complete"})
    finally:
        ws.__exit__(None, None, None)

    bid_with_contractor(api, deal["id"], "6000")
    bid_with_contractor(api, deal["id"], "7000")
    deliver(client)
    ws, socket = connect(client, api.token(ANALYST))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        variables = {"s": live["cursor"]}
        payload = {"query": ALERT_RECEIVED, "variables": variables}
        socket.send_json({"id": "b", "type": "subscribe", "payload": payload})
        replayed = [next_alert(socket), next_alert(socket)]
        assert [a["title"][-9:] for a in replayed] == ["$6,000.00", "$7,000.00"]
        bid_with_contractor(api, deal["id"], "8000")
        deliver(client)
        assert next_alert(socket)["title"].endswith("$8,000.00")
    finally:
        ws.__exit__(None, None, None)


def test_alert_received_refuses_a_malformed_since(client: TestClient, api: Api) -> None:
    ws, socket = connect(client, api.token(VIEWER))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        payload = {"query": ALERT_RECEIVED, "variables": {"s": "garbage"}}
        socket.send_json({"id": "c", "type": "subscribe", "payload": payload})
        message = socket.receive_json()
        while message["type"] == "ping":
            message = socket.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", message
    finally:
        ws.__exit__(None, None, None)


def test_alert_received_never_sends_someone_elses_alert(client: TestClient, api: Api) -> None:
    deliver(client)
    analysts_deal = team_deal(api, ANALYST)
    viewers_deal = team_deal(api, VIEWER)
    ws, socket = connect(client, api.token(VIEWER))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_json({"id": "v", "type": "subscribe", "payload": {"query": ALERT_RECEIVED}})
        bid_with_contractor(api, analysts_deal["id"], "111")  # the analyst's alert, first
        deliver(client)
        bid_with_contractor(api, viewers_deal["id"], "222")  # then the viewer's own
        deliver(client)
        received = next_alert(socket)
        assert received["deal"] == {"id": viewers_deal["id"]}
        assert received["title"].endswith("$222.00")
    finally:
        ws.__exit__(None, None, None)
    assert len(alerts_on(api, ANALYST, analysts_deal["id"])) == 1
