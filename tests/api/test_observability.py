"""Observability: Prometheus request metrics, one JSON log line per operation, OpenTelemetry
spans sent to a real OTLP/HTTP peer, and readiness that reports each dependency on its own."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from starlette.testclient import TestClient

from schema.observation import OperationLabels, record_rejection
from server.app import create_app
from server.logging import JsonFormatter, RequestContextFilter
from server.readiness import run_checks
from tests.api.test_deals import create_deal
from tests.api.test_websocket import COMMENT, connect
from tests.conftest import Api, free_port, make_settings

ADMIN = "demo@reos.dev"
NESTED = """query ObsDashboard {
  properties(first: 5) { edges { node { id
    deals(first: 5) { totalCount edges { node { id offers { id } } } }
  } } } }"""


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def metric(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: dict, after: dict, name: str, **labels: str) -> float:
    return metric(after, name, **labels) - metric(before, name, **labels)


def user_row(db: Any, email: str) -> Any:
    return db("SELECT id, tenant_id FROM users WHERE email = $1", email)[0]


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "reos.request"
    ]


def test_request_metrics_by_operation_and_outcome(client: TestClient, api: Api) -> None:
    token = api.token(ADMIN)
    before = scrape(client)

    data = api.post(NESTED, token=token)
    assert "errors" not in data
    properties = data["data"]["properties"]["edges"]
    assert properties
    invalid = api.post("query ObsInvalid { nope }", token=token)
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    anonymous = api.post("query ObsAnon { properties(first: 1) { totalCount } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.post("{ me { id } }", token=token)["data"]["me"]["id"]
    over_get = client.get(
        "/graphql",
        params={"query": 'mutation ObsOverGet { logout(refreshToken: "x") { ok } }'},
        headers={"Apollo-Require-Preflight": "true"},
    )
    assert over_get.status_code == 405

    after = scrape(client)
    requests = "reos_graphql_requests_total"
    assert grew(before, after, requests, operation="ObsDashboard", type="query", outcome="ok") == 1
    assert (
        grew(before, after, requests, operation="ObsInvalid", type="query", outcome="rejected") == 1
    )
    assert grew(before, after, requests, operation="ObsAnon", type="query", outcome="error") == 1
    assert grew(before, after, requests, operation="anonymous", type="query", outcome="ok") >= 1
    assert (
        grew(before, after, requests, operation="ObsOverGet", type="mutation", outcome="rejected")
        == 1
    )
    errors = "reos_graphql_errors_total"
    assert grew(before, after, errors, code="GRAPHQL_VALIDATION_FAILED") >= 1
    assert grew(before, after, errors, code="UNAUTHENTICATED") >= 1
    assert grew(before, after, errors, code="BAD_REQUEST") >= 1

    duration = "reos_graphql_request_duration_seconds"
    assert grew(before, after, f"{duration}_count", operation="ObsDashboard") == 1
    assert grew(before, after, f"{duration}_sum", operation="ObsDashboard") > 0
    statements = "reos_sql_statements_per_request"
    assert grew(before, after, f"{statements}_count", operation="ObsDashboard") == 1
    assert grew(before, after, f"{statements}_sum", operation="ObsDashboard") > 0
    assert grew(before, after, "reos_sql_seconds_per_request_sum", operation="ObsDashboard") > 0
    # a rejected request ran no SQL and is kept out of the SQL histograms
    assert grew(before, after, f"{statements}_count", operation="ObsInvalid") == 0

    batches = "reos_dataloader_batch_size"
    # one batch for all the properties' deals, of one key per property
    assert grew(before, after, f"{batches}_count", loader="deals_by_property_id") == 1
    assert grew(before, after, f"{batches}_sum", loader="deals_by_property_id") == len(properties)
    assert grew(before, after, f"{batches}_count", loader="deal_count_by_property_id") == 1

    # the existing real-time gauges are still served
    text = client.get("/metrics").text
    assert "reos_websocket_connections" in text
    assert "reos_outbox_lag_seconds" in text


def test_one_json_log_line_per_operation(
    client: TestClient, api: Api, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.token(ADMIN)
    user = user_row(db, ADMIN)
    caplog.set_level(logging.INFO, logger="reos.request")
    response = client.post(
        "/graphql", json={"query": NESTED}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and "errors" not in response.json()

    [line] = [entry for entry in request_lines(caplog) if entry["operation"] == "ObsDashboard"]
    assert line["msg"] == "graphql request"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["tenant_id"] == str(user["tenant_id"])
    assert line["user_id"] == str(user["id"])
    assert line["operation_type"] == "query"
    assert line["outcome"] == "ok"
    assert line["error_codes"] == []
    assert line["duration_ms"] > 0
    assert line["sql_statements"] > 0
    assert line["sql_ms"] > 0
    assert line["cost"] > 0
    assert "api_key_id" not in line

    caplog.clear()
    client.post("/graphql", json={"query": "query ObsBroken { nope }"})
    [rejected] = request_lines(caplog)
    assert rejected["operation"] == "ObsBroken"
    assert rejected["outcome"] == "rejected"
    assert rejected["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert rejected["sql_statements"] == 0
    assert rejected["tenant_id"] is None and rejected["user_id"] is None


def test_every_log_line_of_a_request_carries_who_it_is_for(
    client: TestClient, api: Api, db: Any
) -> None:
    """Any logger, anywhere below the request (here: inside SQLAlchemy's engine events)."""
    token = api.token(ADMIN)
    user = user_row(db, ADMIN)
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    probe = logging.getLogger("reos.test.probe")
    probe.addHandler(handler)
    probe.setLevel(logging.INFO)
    probe.propagate = False

    def log_statement(*args: Any) -> None:
        probe.info("statement")

    engine = client.app.state.services.engine.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", log_statement)
    try:
        response = client.post(
            "/graphql",
            json={"query": "query ObsProbe { properties(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "obs-probe-1"},
        )
    finally:
        event.remove(engine, "before_cursor_execute", log_statement)
        probe.removeHandler(handler)
    assert response.status_code == 200
    assert lines
    for line in lines:
        assert line["request_id"] == "obs-probe-1"
        assert line["tenant_id"] == str(user["tenant_id"])
        assert line["user_id"] == str(user["id"])


def test_a_subscription_is_observed_once_not_per_event(
    client: TestClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    deal_id = create_deal(api)["id"]
    first = api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": "seen"})
    since = first["data"]["timelineCommentAdd"]["entry"]["cursor"]
    for number in range(3):
        api.as_user(ADMIN, COMMENT, {"d": deal_id, "b": f"replayed {number}"})
    caplog.set_level(logging.INFO, logger="reos.request")
    before = scrape(client)
    query = """subscription ObsTimeline($d: ID!, $s: String) {
      timelineUpdated(dealId: $d, since: $s) { message } }"""
    ws, socket = connect(client, api.token(ADMIN))
    try:
        assert socket.receive_json()["type"] == "connection_ack"
        variables = {"d": deal_id, "s": since}
        socket.send_json(
            {"id": "s", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        for number in range(3):
            event = socket.receive_json()
            assert event["payload"]["data"]["timelineUpdated"]["message"] == f"replayed {number}"
        assert not [e for e in request_lines(caplog) if e["operation"] == "ObsTimeline"]
        socket.send_json({"id": "s", "type": "complete"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not [
            e for e in request_lines(caplog) if e["operation"] == "ObsTimeline"
        ]:
            time.sleep(0.05)
    finally:
        ws.__exit__(None, None, None)
    [line] = [e for e in request_lines(caplog) if e["operation"] == "ObsTimeline"]
    assert line["operation_type"] == "subscription"
    assert line["outcome"] == "ok"
    assert line["user_id"] and line["tenant_id"] and line["request_id"]
    after = scrape(client)
    requests = "reos_graphql_requests_total"
    labels = {"operation": "ObsTimeline", "type": "subscription", "outcome": "ok"}
    assert grew(before, after, requests, **labels) == 1
    # a subscription's lifetime is not a request duration
    duration = "reos_graphql_request_duration_seconds_count"
    assert grew(before, after, duration, operation="ObsTimeline") == 0


def test_operation_labels_are_bounded() -> None:
    labels = OperationLabels(limit=2)
    assert labels(None) == "anonymous"
    assert labels("") == "anonymous"
    assert labels("First") == "First"
    assert labels("bad name; drop table") == "other"
    assert labels("x" * 65) == "other"
    assert labels("Second") == "Second"
    assert labels("Third") == "other"  # past the limit
    assert labels("First") == "First"  # names already seen keep their label
    assert labels(42) == "other"  # type: ignore[arg-type]  # operationName is client JSON


def test_rejections_before_the_schema_count_too(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reos.request")
    before = scrape(client)
    record_rejection("ObsUnknownHash", ["PERSISTED_QUERY_NOT_FOUND"], request_id="obs-rej-1")
    after = scrape(client)
    labels = {"operation": "ObsUnknownHash", "type": "unknown", "outcome": "rejected"}
    assert grew(before, after, "reos_graphql_requests_total", **labels) == 1
    code = "PERSISTED_QUERY_NOT_FOUND"
    assert grew(before, after, "reos_graphql_errors_total", code=code) == 1
    [line] = request_lines(caplog)
    assert line["request_id"] == "obs-rej-1"
    assert line["outcome"] == "rejected" and line["error_codes"] == [code]


# --- tracing -------------------------------------------------------------------------------


class OtlpCollector:
    """A tiny OTLP/HTTP peer: keeps every ExportTraceServiceRequest POSTed to /v1/traces."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        collector = self
        self.requests: list[Any] = []
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                collector.paths.append(self.path)
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                collector.requests.append(message)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found


def attributes(pairs: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        value = getattr(pair.value, kind)
        if kind == "array_value":
            value = [getattr(item, item.WhichOneof("value")) for item in value.values]
        values[pair.key] = value
    return values


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    peer = OtlpCollector()
    peer.thread.start()
    yield peer
    peer.server.shutdown()
    peer.server.server_close()


def test_operations_and_their_sql_are_traced_over_otlp(
    app_url: Any, redis_url: str, collector: OtlpCollector, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        redis_url, otel_endpoint=collector.url, otel_service_name="reos-under-test"
    )
    caplog.set_level(logging.INFO, logger="reos.request")
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with TestClient(create_app(settings, app_url)) as client:
        api = Api(client)
        token = api.token(ADMIN)
        response = client.post(
            "/graphql",
            json={"query": "query ObsTraced { properties(first: 2) { edges { node { id } } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200 and "errors" not in response.json()
        continued = client.post(
            "/graphql",
            json={"query": "query ObsContinued { me { id } }"},
            headers={
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01",
            },
        )
        assert continued.status_code == 200
    # leaving the app shut tracing down, which flushed the spans to the collector
    assert set(collector.paths) == {"/v1/traces"}
    spans = collector.spans()
    [(resource, operation)] = [
        (resource, span) for resource, span in spans if span.name == "query ObsTraced"
    ]
    assert resource["service.name"] == "reos-under-test"
    tags = attributes(operation.attributes)
    assert tags["graphql.operation.name"] == "ObsTraced"
    assert tags["graphql.operation.type"] == "query"
    assert tags["reos.outcome"] == "ok"

    [line] = [entry for entry in request_lines(caplog) if entry["operation"] == "ObsTraced"]
    assert line["trace_id"] == operation.trace_id.hex()
    assert tags["reos.request_id"] == line["request_id"]

    statements = [span for _, span in spans if span.parent_span_id == operation.span_id]
    assert len(statements) == line["sql_statements"] > 0
    assert all(span.trace_id == operation.trace_id for span in statements)
    assert any(span.name == "SELECT" for span in statements)
    assert all("db.query.text" in attributes(span.attributes) for span in statements)

    [(_, joined)] = [(r, span) for r, span in spans if span.name == "query ObsContinued"]
    assert joined.trace_id.hex() == caller_trace


def test_no_tracing_without_an_endpoint(client: TestClient, caplog) -> None:
    caplog.set_level(logging.INFO, logger="reos.request")
    client.post("/graphql", json={"query": "query ObsUntraced { me { id } }"})
    [line] = [entry for entry in request_lines(caplog) if entry["operation"] == "ObsUntraced"]
    assert "trace_id" not in line


# --- readiness -----------------------------------------------------------------------------


def closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:  # nothing listens there: connecting is refused at once
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_a_down_dependency_makes_the_app_unready(app_url: Any, redis_url: str) -> None:
    settings = make_settings(redis_url, smtp_url=f"smtp://127.0.0.1:{closed_port()}")
    with TestClient(create_app(settings, app_url)) as client:
        ready = client.get("/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["smtp"] == "unavailable"
    assert body["database"] == "ok"
    assert body["pubsub"] == "ok"
    assert body["storage"] == "ok"
    assert body["search"] == "ok (postgres)"


def test_a_reachable_smtp_server_is_ready(app_url: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        port = listener.getsockname()[1]
        settings = make_settings(None, smtp_url=f"smtp://127.0.0.1:{port}")
        with TestClient(create_app(settings, app_url)) as client:
            ready = client.get("/ready")
    finally:
        listener.close()
    assert ready.status_code == 200, ready.text
    assert ready.json()["smtp"] == "ok"
    assert ready.json()["pubsub"] == "ok (in-memory)"


def test_storage_readiness_heads_the_s3_bucket(app_url: Any, monkeypatch) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="reos-ready")
        for bucket, expected, status in (
            ("reos-ready", "ok", 200),
            ("reos-missing", "unavailable", 503),
        ):
            settings = make_settings(
                None, s3_bucket=bucket, s3_endpoint_url=endpoint, s3_region="us-east-1"
            )
            with TestClient(create_app(settings, app_url)) as client:
                ready = client.get("/ready")
            assert ready.json()["storage"] == expected, ready.text
            assert ready.status_code == status
    finally:
        server.stop()


def test_readiness_checks_run_concurrently_and_give_up_on_a_hang() -> None:
    async def hangs() -> str:
        await asyncio.sleep(60)
        return "ok"

    async def fails() -> str:
        raise ConnectionRefusedError

    async def fine() -> str:
        return "ok"

    started = time.monotonic()
    statuses, latency = asyncio.run(
        run_checks({"a": hangs, "b": hangs, "c": fails, "d": fine}, timeout=0.3)
    )
    assert time.monotonic() - started < 1.5  # both hangs waited for together, not in turn
    assert statuses == {"a": "unavailable", "b": "unavailable", "c": "unavailable", "d": "ok"}
    assert latency["a"] >= 300 and latency["d"] < 300
