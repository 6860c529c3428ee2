"""Extraction by Claude: the Messages API with one forced tool call for structured output.

PDFs go as `document` blocks and images as `image` blocks, so Claude reads scans the
rules cannot; text files go as text. The tool input is validated strictly by
`DocumentExtraction.from_json`; SDK failures become `ExtractionError`s.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anthropic

from domain.extraction import DocumentExtraction, DocumentType, ExtractionError
from integrations.extraction.text import PDF_TYPE, TEXT_TYPES, extract_text, media_type

DEFAULT_MODEL = "claude-sonnet-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
TOOL_NAME = "record_extraction"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MALFORMED = "malformed answer"

_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
_LABELED = {
    "label": {"type": "string", "description": "What the value is, e.g. 'Closing Date'."},
    "confidence": _CONFIDENCE,
}
INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "document_type": {"type": "string", "enum": [kind.value for kind in DocumentType]},
        "parties": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "role": {
                        "type": "string",
                        "description": "Upper case, e.g. BUYER, SELLER, LANDLORD, TENANT, "
                        "BILL_TO, INSPECTOR, APPRAISER, LENDER, BORROWER.",
                    },
                    "confidence": _CONFIDENCE,
                },
                "required": ["name", "role", "confidence"],
                "additionalProperties": False,
            },
        },
        "dates": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": _LABELED["label"],
                    "value": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "confidence": _CONFIDENCE,
                },
                "required": ["label", "value", "confidence"],
                "additionalProperties": False,
            },
        },
        "amounts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "description": "e.g. 'Purchase Price'."},
                    "value": {
                        "type": "string",
                        "pattern": r"^-?\d+(\.\d+)?$",
                        "description": "Plain decimal, no currency sign or separators.",
                    },
                    "confidence": _CONFIDENCE,
                },
                "required": ["label", "value", "confidence"],
                "additionalProperties": False,
            },
        },
        "confidence": {**_CONFIDENCE, "description": "Confidence in document_type."},
    },
    "required": ["document_type", "parties", "dates", "amounts", "confidence"],
    "additionalProperties": False,
}
TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Record what was extracted from a real-estate document.",
    "input_schema": INPUT_SCHEMA,
}
SYSTEM = (
    "You extract data from real-estate documents (purchase agreements, inspection reports, "
    "appraisals, title commitments, closing disclosures, leases, invoices, receipts). "
    f"Call {TOOL_NAME} exactly once. Record only what the document states: the named parties "
    "with their roles, every labelled date as YYYY-MM-DD, every labelled money amount as a "
    "plain decimal string in dollars. Give each item a confidence from 0 to 1. Use OTHER "
    "when the document is none of the listed types."
)


class ClaudeExtractor:
    """Extraction through the Anthropic Messages API (async client, one call per document)."""

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 0,
        max_tokens: int = 4096,
    ) -> None:
        self.model = model
        self.name = f"claude:{model}"
        self.max_tokens = max_tokens
        # An explicit base URL: otherwise the SDK would read ANTHROPIC_BASE_URL from os.environ.
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.client.close()

    async def extract(self, content: bytes, content_type: str, filename: str) -> DocumentExtraction:
        """Ask Claude; raise ExtractionError (retryable for rate limits, overload, timeouts)."""
        block = _content_block(content, content_type, filename)
        if block is None:  # nothing Claude can read: like the rules, not an error
            return DocumentExtraction(DocumentType.OTHER, (), (), (), 0.0, self.name)
        try:
            message = await self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=SYSTEM,
                tools=[TOOL],  # type: ignore[list-item]
                tool_choice={"type": "tool", "name": TOOL_NAME},
                messages=[
                    {
                        "role": "user",
                        "content": [
                            block,  # type: ignore[list-item]
                            {"type": "text", "text": f"File name: {filename}"},
                        ],
                    }
                ],
            )
        except anthropic.APIError as error:
            raise _failure(error) from error
        return self._parse(message)

    def _parse(self, message: anthropic.types.Message) -> DocumentExtraction:
        if message.stop_reason == "max_tokens":
            raise ExtractionError(MALFORMED, retryable=False, detail="cut off at max_tokens")
        if message.stop_reason == "refusal":
            raise ExtractionError("refused", retryable=False, detail="the model declined")
        calls = [
            block
            for block in message.content
            if block.type == "tool_use" and block.name == TOOL_NAME
        ]
        if len(calls) != 1:
            kinds = ", ".join(block.type for block in message.content) or "nothing"
            raise ExtractionError(
                MALFORMED, retryable=False, detail=f"{len(calls)} {TOOL_NAME} calls in: {kinds}"
            )
        try:
            return DocumentExtraction.from_json({**calls[0].input, "extractor": self.name})
        except ValueError as error:
            raise ExtractionError(MALFORMED, retryable=False, detail=str(error)) from error


def _content_block(content: bytes, content_type: str, filename: str) -> dict[str, Any] | None:
    """The user content block for the file, or None when there is nothing to send."""
    kind = media_type(content_type)
    data = base64.standard_b64encode(content).decode("ascii")
    if kind == PDF_TYPE:
        return {
            "type": "document",
            "source": {"type": "base64", "media_type": PDF_TYPE, "data": data},
            "title": filename,
        }
    if kind in IMAGE_TYPES:
        return {"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}
    if kind in TEXT_TYPES:
        text = extract_text(content, content_type)
        return {"type": "text", "text": text} if text.strip() else None
    return None


def _failure(error: anthropic.APIError) -> ExtractionError:
    """The ExtractionError for an SDK error: rate limits, overload, 5xx and network retry."""
    if isinstance(error, anthropic.APITimeoutError):
        return ExtractionError("timeout", retryable=True, detail=error.message)
    if isinstance(error, anthropic.APIConnectionError):
        return ExtractionError("connection failed", retryable=True, detail=error.message)
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        detail = error.api_message or error.message
        retry_after = _retry_after(error.response.headers)
        if isinstance(error, anthropic.RateLimitError):
            return ExtractionError(
                "rate limited", retryable=True, detail=detail, retry_after=retry_after
            )
        if status == 529 or isinstance(error, anthropic.OverloadedError):
            return ExtractionError(
                "overloaded", retryable=True, detail=detail, retry_after=retry_after
            )
        if status >= 500 or status in (408, 409):
            return ExtractionError(
                f"server error {status}", retryable=True, detail=detail, retry_after=retry_after
            )
        return ExtractionError(f"rejected {status}", retryable=False, detail=detail)
    return ExtractionError(MALFORMED, retryable=False, detail=error.message)


def _retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if given."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
