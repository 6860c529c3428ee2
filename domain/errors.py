"""Domain errors: expected failures with a code, a message and the offending field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_TOKEN = "INVALID_TOKEN"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class FieldError:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


class DomainError(Exception):
    """One or more expected failures that must reach the client as data."""

    def __init__(self, *errors: FieldError) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @classmethod
    def of(cls, code: ErrorCode, message: str, *field: str) -> DomainError:
        """A single error, optionally pointing at a field path."""
        return cls(FieldError(code, message, tuple(field) or None))


def collect(*checks: Callable[[], Any]) -> tuple[list[Any], list[FieldError]]:
    """Run every check; return their results (None where one failed) and all their errors."""
    results: list[Any] = []
    errors: list[FieldError] = []
    for check in checks:
        try:
            results.append(check())
        except DomainError as error:
            results.append(None)
            errors += error.errors
    return results, errors
