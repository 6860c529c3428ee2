"""Alert delivery outside the app, against real servers started here: e-mail to a local SMTP
server (aiosmtpd), webhooks to a local HTTP receiver that checks signatures (and can fail),
daily digests, endpoint management, and OFFER_EXPIRING from the periodic scan."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from integrations.delivery.email import LogMailer, SmtpMailer
from integrations.delivery.webhook import WebhookSender, verify
from server.delivery_worker import DeliveryWorker
from tests.api.test_deals import MEMBER_SET, deal_at, user_id
from tests.api.test_offers import future, make_offer
from tests.api.test_property_alerts import (
    ADMIN,
    ANALYST,
    create_search,
    drain,
    listing,
    local_id,
    run,
    take_in,
    top_code,
    town,
)
from tests.conftest import Api, free_port

ENDPOINT_FIELDS = """id url description enabled consecutiveFailures disabledAt disabledReason
  lastSuccessAt lastFailureAt lastError secretHint"""
ENDPOINT_CREATE = f"""mutation($input: WebhookEndpointInput!) {{
  webhookEndpointCreate(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret
    errors {{ field message code }} }} }}"""
ENDPOINT_UPDATE = f"""mutation($id: ID!, $input: WebhookEndpointUpdateInput!) {{
  webhookEndpointUpdate(id: $id, input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }}
    errors {{ field message code }} }} }}"""
ENDPOINT_ROTATE = f"""mutation($id: ID!) {{ webhookEndpointRotateSecret(id: $id) {{
  webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret errors {{ code }} }} }}"""
ENDPOINT_DELETE = """mutation($id: ID!) { webhookEndpointDelete(id: $id) {
  deletedId errors { code } } }"""
ENDPOINTS = f"""{{ webhookEndpoints(first: 100) {{ totalCount
  edges {{ node {{ {ENDPOINT_FIELDS} }} }} }} }}"""
DEAL_ALERTS = """{ alerts(first: 100) { edges { node { kind title body deal { id } } } } }"""


# ---------------------------------------------------------------- local servers


@dataclass
class Received:
    sender: str
    recipients: list[str]
    subject: str
    body: str


@dataclass
class Inbox:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                str(parsed["subject"]),
                body.get_content() if body is not None else "",
            )
        )
        return "250 Message accepted for delivery"

    def about(self, text: str) -> list[Received]:
        return [m for m in self.messages if text.lower() in (m.subject + m.body).lower()]


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on a free local port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


class Receiver(ThreadingHTTPServer):
    """A partner's endpoint: records each request; answers from a script, then `default`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.default = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/reos"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((dict(self.headers.items()), body))
        status = self.server.script.pop(0) if self.server.script else self.server.default
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def worker(client: TestClient, smtp: tuple[Inbox, str]) -> Iterator[DeliveryWorker]:
    """A delivery worker on the app's engine, sending to the local SMTP server."""
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    made = DeliveryWorker(engine, SmtpMailer(smtp[1]), WebhookSender(allow_private=True))
    try:
        yield made
    finally:
        client.portal.call(made.close)  # type: ignore[attr-defined]


def send(client: TestClient, worker: DeliveryWorker, now: datetime | None = None) -> int:
    """Run the worker until nothing more is due at `now`."""
    total = 0
    while taken := client.portal.call(worker.run_once, now):  # type: ignore[attr-defined]
        total += taken
    return total


@pytest.fixture
def endpoint(api: Api, receiver: Receiver) -> Iterator[dict]:
    """A webhook endpoint of the demo tenant pointing at the receiver (deleted afterwards)."""
    payload = run(api, ENDPOINT_CREATE, {"input": {"url": receiver.url}}, ADMIN)
    created = payload["webhookEndpointCreate"]
    assert created["errors"] == [], created["errors"]
    yield {**created["webhookEndpoint"], "secret": created["secret"]}
    run(api, ENDPOINT_DELETE, {"id": created["webhookEndpoint"]["id"]}, ADMIN)


def deliveries_of(db: Any, search_id: str) -> list[Any]:
    return db(
        "SELECT d.channel, d.status, d.attempts, d.last_error, d.next_attempt_at, d.digest_day"
        " FROM deliveries d JOIN alerts a ON a.tenant_id = d.tenant_id AND a.id = d.alert_id"
        " WHERE a.saved_search_id = $1 ORDER BY d.created_at",
        local_id(search_id),
    )


def endpoint_now(api: Api, endpoint_id: str) -> dict:
    nodes = [e["node"] for e in run(api, ENDPOINTS, user=ADMIN)["webhookEndpoints"]["edges"]]
    return next(node for node in nodes if node["id"] == endpoint_id)


# ---------------------------------------------------------------- e-mail


def test_an_instant_search_emails_each_match_over_smtp(
    client: TestClient, api: Api, db: Any, smtp: tuple[Inbox, str], worker: DeliveryWorker
) -> None:
    inbox, _ = smtp
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city], "maxPrice": "400000"}, channels=["EMAIL"])
    take_in(api, listing(city, "333000.00", bedroomsTotal=4))
    drain(client)
    assert [row[0:2] for row in deliveries_of(db, search["id"])] == [("EMAIL", "PENDING")]
    send(client, worker)

    [message] = inbox.about(city)
    assert message.recipients == [ANALYST]
    assert message.subject.startswith("New match: ") and "$333,000.00" in message.subject
    assert city.upper() in message.body.upper()
    assert "4 bd" in message.body and "IN_AREA" in message.body
    assert "PRICE_IN_RANGE" in message.body
    [(channel, status, attempts, error, _, _)] = deliveries_of(db, search["id"])
    assert (channel, status, attempts, error) == ("EMAIL", "SENT", 1, None)
    send(client, worker)
    assert len(inbox.about(city)) == 1  # sent once


def test_a_daily_search_sends_one_digest_with_every_match(
    client: TestClient, api: Api, db: Any, smtp: tuple[Inbox, str], worker: DeliveryWorker
) -> None:
    inbox, _ = smtp
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city]}, channels=["EMAIL"], frequency="DAILY")
    for price in ("210000.00", "220000.00", "230000.00"):
        take_in(api, listing(city, price))
    drain(client)
    rows = deliveries_of(db, search["id"])
    assert len(rows) == 3 and {row[5] for row in rows} == {rows[0][5]}  # one digest day
    send(client, worker)
    assert inbox.about(city) == []  # not before the digest hour

    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    send(client, worker, later)
    [digest] = inbox.about(city)
    assert digest.recipients == [ANALYST]
    assert digest.subject == f"Your daily matches for {rows[0][5].isoformat()}: 3 properties"
    for price in ("$210,000.00", "$220,000.00", "$230,000.00"):
        assert price in digest.body
    assert {row[1] for row in deliveries_of(db, search["id"])} == {"SENT"}
    [(status, count)] = db(
        "SELECT status, alert_count FROM digests WHERE user_id = $1 AND day = $2",
        local_id(user_id(api, ANALYST)),
        rows[0][5],
    )
    assert (status, count) == ("SENT", 3)
    send(client, worker, later + timedelta(minutes=5))
    assert len(inbox.about(city)) == 1  # once per user and day


def test_without_smtp_url_e_mail_goes_to_the_log(client: TestClient) -> None:
    mailer = LogMailer()
    from integrations.delivery.email import Email

    client.portal.call(mailer.send, Email("a@b.c", "Hello", "Body"))  # type: ignore[attr-defined]
    assert mailer.sent == [Email("a@b.c", "Hello", "Body")]


# ---------------------------------------------------------------- webhooks


def test_a_webhook_is_signed_retried_after_a_500_and_then_delivered(
    client: TestClient,
    api: Api,
    db: Any,
    receiver: Receiver,
    endpoint: dict,
    worker: DeliveryWorker,
) -> None:
    drain(client)
    city = town()
    search = create_search(api, {"cities": [city]}, channels=["WEBHOOK"])
    prop = take_in(api, listing(city, "287500.00"))
    receiver.script = [500]
    drain(client)
    now = datetime.now(UTC)
    send(client, worker, now)
    assert len(receiver.requests) == 1
    [(channel, status, attempts, error, retry_at, _)] = deliveries_of(db, search["id"])
    assert (channel, status, attempts, error) == ("WEBHOOK", "PENDING", 1, "HTTP 500")
    assert now + timedelta(seconds=29) < retry_at < now + timedelta(seconds=34)
    assert endpoint_now(api, endpoint["id"])["consecutiveFailures"] == 1

    send(client, worker, now)  # not due yet
    assert len(receiver.requests) == 1
    send(client, worker, now + timedelta(minutes=1))
    assert len(receiver.requests) == 2

    for headers, body in receiver.requests:
        assert verify(endpoint["secret"], headers, body)
        assert not verify(endpoint["secret"], headers, body + b" ")  # tampered
        assert not verify("whsec_wrong", headers, body)
        assert not verify(endpoint["secret"], headers, body, now=now.timestamp() + 3600)  # replay
    (first_headers, first), (second_headers, second) = receiver.requests
    assert first_headers["X-Reos-Delivery"] == second_headers["X-Reos-Delivery"]
    assert first_headers["X-Reos-Event"] == "alert.matched"
    sent = json.loads(second)
    assert sent["type"] == "alert.matched"
    assert sent["alert"]["kind"] == "PROPERTY_MATCH"
    assert sent["alert"]["savedSearchId"] == search["id"]
    assert sent["property"]["id"] == prop["id"]
    assert sent["property"]["listPrice"] == "287500.00"
    assert [r["code"] for r in sent["alert"]["reasons"]] == ["IN_AREA"]
    [(_, status, attempts, error, _, _)] = deliveries_of(db, search["id"])
    assert (status, attempts, error) == ("SENT", 2, None)
    state = endpoint_now(api, endpoint["id"])
    assert state["consecutiveFailures"] == 0 and state["lastSuccessAt"] is not None
    assert state["lastError"] == "HTTP 500" and state["enabled"] is True


def test_an_endpoint_is_disabled_after_eight_failures_in_a_row(
    client: TestClient,
    api: Api,
    db: Any,
    receiver: Receiver,
    endpoint: dict,
    worker: DeliveryWorker,
) -> None:
    drain(client)
    receiver.default = 500
    city = town()
    search = create_search(api, {"cities": [city]}, channels=["WEBHOOK"])
    take_in(api, listing(city, "199000.00"))
    drain(client)
    now = datetime.now(UTC)
    for _ in range(8):
        send(client, worker, now)
        now += timedelta(hours=7)  # past the longest backoff (6 h + jitter)
    assert len(receiver.requests) == 8
    state = endpoint_now(api, endpoint["id"])
    assert state["enabled"] is False and state["consecutiveFailures"] == 8
    assert state["disabledReason"] == "Disabled after 8 failed deliveries in a row."
    [(_, status, attempts, error, _, _)] = deliveries_of(db, search["id"])
    assert (status, attempts, error) == ("FAILED", 8, "HTTP 500")

    take_in(api, listing(city, "189000.00"))  # a disabled endpoint gets nothing new
    drain(client)
    send(client, worker, now)
    assert len(receiver.requests) == 8
    assert len(deliveries_of(db, search["id"])) == 1

    enabled = run(api, ENDPOINT_UPDATE, {"id": endpoint["id"], "input": {"enabled": True}}, ADMIN)
    again = enabled["webhookEndpointUpdate"]["webhookEndpoint"]
    assert again["enabled"] is True and again["consecutiveFailures"] == 0


def test_webhook_endpoints_are_admin_only_with_a_secret_shown_once(
    api: Api, receiver: Receiver
) -> None:
    variables = {"input": {"url": receiver.url, "description": "CRM"}}
    assert top_code(api.as_user(ANALYST, ENDPOINT_CREATE, variables)) == "FORBIDDEN"
    assert top_code(api.as_user(ANALYST, ENDPOINTS)) == "FORBIDDEN"
    for url in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url"):
        bad = run(api, ENDPOINT_CREATE, {"input": {"url": url}}, ADMIN)["webhookEndpointCreate"]
        assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "url"])]

    created = run(api, ENDPOINT_CREATE, variables, ADMIN)["webhookEndpointCreate"]
    secret, made = created["secret"], created["webhookEndpoint"]
    try:
        assert secret.startswith("whsec_") and len(secret) > 40
        assert made["secretHint"] == "..." + secret[-4:]
        listed = endpoint_now(api, made["id"])
        assert "secret" not in listed and listed["description"] == "CRM"
        rotated = run(api, ENDPOINT_ROTATE, {"id": made["id"]}, ADMIN)[
            "webhookEndpointRotateSecret"
        ]
        assert rotated["secret"] != secret and rotated["errors"] == []
        other = api.as_user("other@reos.dev", ENDPOINTS)["data"]["webhookEndpoints"]["edges"]
        assert made["id"] not in [edge["node"]["id"] for edge in other]
    finally:
        deleted = run(api, ENDPOINT_DELETE, {"id": made["id"]}, ADMIN)["webhookEndpointDelete"]
        assert deleted == {"deletedId": made["id"], "errors": []}


# ---------------------------------------------------------------- offers about to expire


def test_an_offer_about_to_expire_alerts_the_deal_team_once(
    client: TestClient, api: Api, worker: DeliveryWorker
) -> None:
    deal = deal_at(api, "ANALYZING")
    variables = {"dealId": deal["id"], "userId": user_id(api, ANALYST), "role": "ANALYST"}
    assert run(api, MEMBER_SET, variables, ADMIN)["dealMemberSet"]["errors"] == []
    make_offer(api, deal["id"], amount="250000", expiresAt=future(3 * 3600))
    make_offer(api, deal["id"], amount="260000", expiresAt=future(3 * 86400))

    def expiring() -> list[dict]:
        nodes = [e["node"] for e in run(api, DEAL_ALERTS)["alerts"]["edges"]]
        return [
            n
            for n in nodes
            if n["kind"] == "OFFER_EXPIRING" and n["deal"] and n["deal"]["id"] == deal["id"]
        ]

    assert client.portal.call(worker.scan_offers) >= 1  # type: ignore[attr-defined]
    [soon] = expiring()
    assert soon["title"] == "Offer expires in 3 h: $250,000.00 (buyer)"
    assert "expires at" in soon["body"]
    client.portal.call(worker.scan_offers)  # type: ignore[attr-defined]
    assert len(expiring()) == 1  # once per offer

    two_days_on = datetime.now(UTC) + timedelta(days=2, hours=1)
    client.portal.call(worker.scan_offers, two_days_on)  # type: ignore[attr-defined]
    titles = sorted(alert["title"] for alert in expiring())
    assert titles == [
        "Offer expires in 23 h: $260,000.00 (buyer)",
        "Offer expires in 3 h: $250,000.00 (buyer)",
    ]
