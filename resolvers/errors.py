"""Top-level API errors and the one helper that turns domain failures into payload errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import DomainError, ErrorCode, FieldError

T = TypeVar("T")

UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
CONCURRENCY_FAILURES = ("40P01", "40001")  # deadlock, serialization failure


class ApiError(GraphQLError):
    """A top-level error whose message is safe to show and whose code clients can branch on."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code


def unauthenticated(message: str = "Authentication required.") -> ApiError:
    return ApiError(message, "UNAUTHENTICATED")


def forbidden(message: str = "You do not have permission to do this.") -> ApiError:
    return ApiError(message, "FORBIDDEN")


def bad_input(message: str) -> ApiError:
    return ApiError(message, "BAD_USER_INPUT")


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


async def run_write(
    context: Any, work: Callable[[AsyncConnection], Awaitable[T]]
) -> tuple[T | None, list[FieldError]]:
    """Run work in one transaction; domain failures roll everything back and come back as data."""
    try:
        async with context.session.write() as conn:
            return await work(conn), []
    except DomainError as error:
        return None, list(error.errors)
    except IntegrityError as error:
        state = _sqlstate(error)
        if state == UNIQUE_VIOLATION:
            return None, [FieldError(ErrorCode.CONFLICT, "This conflicts with an existing record.")]
        if state == FOREIGN_KEY_VIOLATION:
            return None, [FieldError(ErrorCode.CONFLICT, "Other records still refer to this one.")]
        raise
    except DBAPIError as error:
        if _sqlstate(error) in CONCURRENCY_FAILURES:
            return None, [
                FieldError(ErrorCode.CONFLICT, "Another change got there first; try again.")
            ]
        raise
