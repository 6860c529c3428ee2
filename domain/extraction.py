"""Document extraction results: type, parties, dates and amounts, each with a confidence.

`DocumentExtraction.to_json` / `from_json` are the storage format (a JSONB column) and
`from_json` validates strictly, so an outside extractor's answer can be checked with it.
Failures are `ExtractionError`s; retryable ones are retried with `next_attempt_delay`
until `MAX_ATTEMPTS`, after which the failure is final (and recorded).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

MAX_ATTEMPTS = 8
FIRST_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 3600.0
MAX_TEXT_LENGTH = 500

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


class DocumentType(Enum):
    PURCHASE_AGREEMENT = "PURCHASE_AGREEMENT"
    INSPECTION_REPORT = "INSPECTION_REPORT"
    APPRAISAL = "APPRAISAL"
    TITLE_COMMITMENT = "TITLE_COMMITMENT"
    CLOSING_DISCLOSURE = "CLOSING_DISCLOSURE"
    LEASE = "LEASE"
    INVOICE = "INVOICE"
    RECEIPT = "RECEIPT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Party:
    name: str
    role: str
    confidence: float


@dataclass(frozen=True)
class LabeledDate:
    label: str
    value: date
    confidence: float


@dataclass(frozen=True)
class LabeledAmount:
    label: str
    value: Decimal
    confidence: float


@dataclass(frozen=True)
class DocumentExtraction:
    document_type: DocumentType
    parties: tuple[Party, ...]
    dates: tuple[LabeledDate, ...]
    amounts: tuple[LabeledAmount, ...]
    confidence: float
    extractor: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: enum by name, dates as YYYY-MM-DD, amounts as decimal strings."""
        return {
            "document_type": self.document_type.value,
            "parties": [
                {"name": p.name, "role": p.role, "confidence": p.confidence} for p in self.parties
            ],
            "dates": [
                {"label": d.label, "value": d.value.isoformat(), "confidence": d.confidence}
                for d in self.dates
            ],
            "amounts": [
                {"label": a.label, "value": str(a.value), "confidence": a.confidence}
                for a in self.amounts
            ],
            "confidence": self.confidence,
            "extractor": self.extractor,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DocumentExtraction:
        """Parse and validate `to_json`'s shape; raise ValueError naming the first bad field."""
        data = _mapping(data, "extraction")
        return cls(
            document_type=_document_type(_field(data, "document_type", "")),
            parties=tuple(
                Party(_text_at(item, "name", where), _text_at(item, "role", where).upper(), conf)
                for where, item, conf in _items(data, "parties")
            ),
            dates=tuple(
                LabeledDate(_text_at(item, "label", where), _date(item, where), conf)
                for where, item, conf in _items(data, "dates")
            ),
            amounts=tuple(
                LabeledAmount(_text_at(item, "label", where), _amount(item, where), conf)
                for where, item, conf in _items(data, "amounts")
            ),
            confidence=_confidence(_field(data, "confidence", ""), "confidence"),
            extractor=_text_at(data, "extractor", ""),
        )


class ExtractionError(Exception):
    """An extraction that failed; `retryable` says whether trying again later may succeed."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retryable = retryable
        self.detail = detail
        self.retry_after = retry_after


def next_attempt_delay(attempt: int, random: Callable[[], float] | None = None) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): 30 s doubling, capped at 1 h.

    With `random` (returning [0, 1)), the delay is jittered into [delay / 2, delay).
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    delay = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** min(attempt - 1, 32))
    if random is None:
        return delay
    return delay / 2 + delay / 2 * random()


def gives_up(attempt: int, error: ExtractionError) -> bool:
    """True when failed attempt `attempt` (1-based) is final: not retryable or out of attempts."""
    return not error.retryable or attempt >= MAX_ATTEMPTS


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _field(data: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in data:
        raise ValueError(f"{where + '.' if where else ''}{name}: missing")
    return data[name]


def _items(data: Mapping[str, Any], name: str) -> list[tuple[str, Mapping[str, Any], float]]:
    """Each object of list `name` with its path and its validated confidence."""
    value = _field(data, name, "")
    if not isinstance(value, list | tuple):
        raise ValueError(f"{name}: expected a list, got {type(value).__name__}")
    items = []
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        item = _mapping(item, where)
        items.append(
            (where, item, _confidence(_field(item, "confidence", where), f"{where}.confidence"))
        )
    return items


def _document_type(value: Any) -> DocumentType:
    try:
        return DocumentType(value)
    except ValueError:
        raise ValueError(f"document_type: unknown type {value!r}") from None


def _text_at(data: Mapping[str, Any], name: str, where: str) -> str:
    return _text(_field(data, name, where), f"{where}.{name}" if where else name)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string, got {value!r}")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"{where}: longer than {MAX_TEXT_LENGTH} characters")
    return value.strip()


def _confidence(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ValueError(f"{where}: {value!r} is outside 0-1")
    return float(value)


def _date(item: Mapping[str, Any], where: str) -> date:
    value, where = _field(item, "value", where), f"{where}.value"
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{where}: expected a YYYY-MM-DD date, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a calendar date") from None


def _amount(item: Mapping[str, Any], where: str) -> Decimal:
    value, where = _field(item, "value", where), f"{where}.value"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{where}: expected a decimal string, got {value!r}")
    text = value.strip() if isinstance(value, str) else str(value)
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{where}: {value!r} is not a plain decimal number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise ValueError(f"{where}: {value!r} is not a decimal number") from None
