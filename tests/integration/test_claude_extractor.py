"""ClaudeExtractor through the real anthropic SDK against a local Messages API endpoint."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from domain.extraction import DocumentExtraction, DocumentType, ExtractionError, Party
from integrations.extraction import (
    ClaudeExtractor,
    RuleBasedExtractor,
    extractor_from_env,
)
from tests.conftest import free_port

PDF = b"%PDF-1.4\n% a stand-in: the fake endpoint never parses it\n%%EOF\n"

GOOD_INPUT = {
    "document_type": "PURCHASE_AGREEMENT",
    "parties": [
        {"name": "John A. Smith", "role": "buyer", "confidence": 0.97},
        {"name": "Oakwood Holdings LLC", "role": "SELLER", "confidence": 0.95},
    ],
    "dates": [{"label": "Closing Date", "value": "2026-04-15", "confidence": 0.9}],
    "amounts": [
        {"label": "Purchase Price", "value": "412500.00", "confidence": 0.98},
        {"label": "Earnest Money", "value": "10000", "confidence": 0.93},
    ],
    "confidence": 0.96,
}


def tool_answer(tool_input: dict[str, Any]) -> dict[str, Any]:
    """A Messages API answer whose one content block calls record_extraction."""
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "record_extraction", "input": tool_input}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 1520, "output_tokens": 212},
    }


@dataclass
class Scenario:
    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: tool_answer(GOOD_INPUT))
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeMessagesApi:
    """`POST /v1/messages` on 127.0.0.1: records each request, answers with the scenario."""

    def __init__(self) -> None:
        self.scenario = Scenario()
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # wakes handlers that are "slow" at teardown
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                api.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "json": json.loads(body),
                    }
                )
                scenario = api.scenario
                if scenario.delay:
                    api.release.wait(scenario.delay)
                payload = json.dumps(scenario.body).encode()
                try:
                    self.send_response(scenario.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.send_header("request-id", "req_test")
                    for name, value in scenario.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (the timeout scenario)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeMessagesApi]:
    api = FakeMessagesApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def api(fake_api: FakeMessagesApi) -> FakeMessagesApi:
    fake_api.scenario = Scenario()
    fake_api.requests.clear()
    return fake_api


def extract(
    api: FakeMessagesApi,
    content: bytes = PDF,
    content_type: str = "application/pdf",
    filename: str = "pa.pdf",
) -> DocumentExtraction:
    """One extraction with the real SDK client pointed at the fake endpoint."""

    async def run() -> DocumentExtraction:
        extractor = ClaudeExtractor(
            api_key="test", model="claude-test", base_url=api.url, timeout=2.5, max_retries=0
        )
        try:
            return await extractor.extract(content, content_type, filename)
        finally:
            await extractor.aclose()

    return asyncio.run(run())


def failure(api: FakeMessagesApi, **kwargs: Any) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        extract(api, **kwargs)
    return caught.value


def test_a_good_answer_becomes_the_extraction(api: FakeMessagesApi) -> None:
    result = extract(api)

    assert result.document_type is DocumentType.PURCHASE_AGREEMENT
    assert result.parties == (
        Party("John A. Smith", "BUYER", 0.97),
        Party("Oakwood Holdings LLC", "SELLER", 0.95),
    )
    assert [(d.label, d.value) for d in result.dates] == [("Closing Date", date(2026, 4, 15))]
    assert [(a.label, a.value) for a in result.amounts] == [
        ("Purchase Price", Decimal("412500.00")),
        ("Earnest Money", Decimal("10000")),
    ]
    assert result.confidence == 0.96
    assert result.extractor == "claude:claude-test"


def test_the_request_forces_the_tool_and_carries_the_pdf(api: FakeMessagesApi) -> None:
    extract(api)

    [request] = api.requests
    assert request["path"] == "/v1/messages"
    # anthropic 2.x sends the API key as a bearer token, not as x-api-key
    assert request["headers"]["authorization"] == "Bearer test"
    sent = request["json"]
    assert sent["model"] == "claude-test"
    assert sent["max_tokens"] > 0
    [tool] = sent["tools"]
    assert tool["name"] == "record_extraction"
    schema = tool["input_schema"]
    assert set(schema["required"]) == {
        "document_type",
        "parties",
        "dates",
        "amounts",
        "confidence",
    }
    assert schema["properties"]["document_type"]["enum"] == [t.value for t in DocumentType]
    assert sent["tool_choice"] == {"type": "tool", "name": "record_extraction"}
    [message] = sent["messages"]
    assert message["role"] == "user"
    document = message["content"][0]
    assert document["type"] == "document"
    assert document["source"] == {
        "type": "base64",
        "media_type": "application/pdf",
        "data": base64.standard_b64encode(PDF).decode(),
    }
    assert {"type": "text", "text": "File name: pa.pdf"} in message["content"]


def test_an_image_goes_as_an_image_block(api: FakeMessagesApi) -> None:
    png = b"\x89PNG\r\n\x1a\n not really"
    extract(api, content=png, content_type="image/png", filename="receipt.png")

    block = api.requests[0]["json"]["messages"][0]["content"][0]
    assert block == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.standard_b64encode(png).decode(),
        },
    }


def test_a_text_file_goes_as_its_text(api: FakeMessagesApi) -> None:
    text = "INVOICE\nBill To: Maple Street Investments LLC\nTotal: $9,255.38\n"
    extract(api, content=text.encode(), content_type="text/plain; charset=utf-8")

    block = api.requests[0]["json"]["messages"][0]["content"][0]
    assert block == {"type": "text", "text": text}


def test_nothing_readable_is_other_without_a_call(api: FakeMessagesApi) -> None:
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for content, content_type in ((b"  \n", "text/plain"), (b"PK\x03\x04", docx)):
        result = extract(api, content=content, content_type=content_type)
        assert (result.document_type, result.confidence) == (DocumentType.OTHER, 0.0)
    assert api.requests == []


def text_only() -> dict[str, Any]:
    answer = tool_answer(GOOD_INPUT)
    answer["content"] = [{"type": "text", "text": "This is a purchase agreement."}]
    answer["stop_reason"] = "end_turn"
    return answer


def without(key: str) -> dict[str, Any]:
    return tool_answer({k: v for k, v in GOOD_INPUT.items() if k != key})


def with_date(value: str) -> dict[str, Any]:
    return tool_answer(
        {**GOOD_INPUT, "dates": [{"label": "Closing", "value": value, "confidence": 1}]}
    )


def with_amount(value: Any) -> dict[str, Any]:
    amount = {"label": "Total", "value": value, "confidence": 0.5}
    return tool_answer({**GOOD_INPUT, "amounts": [amount]})


def cut_off() -> dict[str, Any]:
    return {**tool_answer(GOOD_INPUT), "stop_reason": "max_tokens"}


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (text_only(), "0 record_extraction calls in: text"),
        (without("amounts"), "amounts: missing"),
        (without("confidence"), "confidence: missing"),
        (tool_answer({**GOOD_INPUT, "document_type": "DEED"}), "unknown type 'DEED'"),
        (with_date("04/15/2026"), "dates[0].value"),
        (with_date("2026-02-30"), "not a calendar date"),
        (with_amount("$412,500"), "amounts[0].value"),
        (with_amount("about 400k"), "amounts[0].value"),
        (tool_answer({**GOOD_INPUT, "confidence": 1.5}), "outside 0-1"),
        (
            tool_answer({**GOOD_INPUT, "parties": [{"name": "", "role": "X", "confidence": 1}]}),
            "parties[0].name",
        ),
        (tool_answer({**GOOD_INPUT, "parties": [{"name": "Ann"}]}), "parties[0].confidence"),
        (cut_off(), "max_tokens"),
    ],
)
def test_a_malformed_answer_is_final(api: FakeMessagesApi, answer: dict, detail: str) -> None:
    api.scenario = Scenario(body=answer)

    error = failure(api)

    assert (error.retryable, error.reason) == (False, "malformed answer")
    assert detail in error.detail


def test_a_timeout_is_retryable(api: FakeMessagesApi) -> None:
    api.scenario = Scenario(delay=6.0)

    error = failure(api)

    assert (error.retryable, error.reason) == (True, "timeout")
    assert len(api.requests) == 1  # max_retries=0: the SDK did not retry behind our back


def test_a_rate_limit_is_retryable_and_says_when(api: FakeMessagesApi) -> None:
    api.scenario = Scenario(
        status=429,
        body={
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Number of requests exceeded"},
        },
        headers={"retry-after": "7"},
    )

    error = failure(api)

    assert (error.retryable, error.reason) == (True, "rate limited")
    assert error.retry_after == 7.0
    assert error.detail == "Number of requests exceeded"
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("status", "kind", "retryable", "reason"),
    [
        (529, "overloaded_error", True, "overloaded"),
        (500, "api_error", True, "server error 500"),
        (400, "invalid_request_error", False, "rejected 400"),
        (401, "authentication_error", False, "rejected 401"),
        (413, "request_too_large", False, "rejected 413"),
    ],
)
def test_status_errors(
    api: FakeMessagesApi, status: int, kind: str, retryable: bool, reason: str
) -> None:
    api.scenario = Scenario(
        status=status, body={"type": "error", "error": {"type": kind, "message": "no"}}
    )

    error = failure(api)

    assert (error.retryable, error.reason) == (retryable, reason)


def test_a_refused_connection_is_retryable() -> None:
    closed = FakeMessagesApi()
    closed.server.server_close()  # bound, never served, closed: connecting is refused

    error = failure(closed)

    assert (error.retryable, error.reason) == (True, "connection failed")


def test_rules_without_a_key() -> None:
    assert isinstance(extractor_from_env({}), RuleBasedExtractor)
    assert isinstance(extractor_from_env({"ANTHROPIC_API_KEY": "  "}), RuleBasedExtractor)


def test_claude_with_a_key() -> None:
    extractor = extractor_from_env({"ANTHROPIC_API_KEY": "sk-test"})
    assert isinstance(extractor, ClaudeExtractor)
    assert extractor.name == "claude:claude-sonnet-5"
    assert str(extractor.client.base_url) == "https://api.anthropic.com"

    custom = extractor_from_env(
        {
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_MODEL": "claude-haiku-4-5",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9999",
        }
    )
    assert isinstance(custom, ClaudeExtractor)
    assert custom.name == "claude:claude-haiku-4-5"
    assert str(custom.client.base_url) == "http://127.0.0.1:9999"
    assert custom.client.api_key == "sk-test"
