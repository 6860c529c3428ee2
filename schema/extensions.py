"""Schema extensions: error codes and masking, and closing the request's database session."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from persistence.document import log_access
from resolvers.errors import ApiError

logger = logging.getLogger("reos.graphql")

INTERNAL_MESSAGE = "Internal server error."


def _code_for_request_error(error: GraphQLError) -> str:
    if "tokens. Parsing aborted" in error.message:
        return "QUERY_TOO_COMPLEX"
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
SCHEMA_COORDINATES = re.compile(r" (?:(?:on|by) (?:type|field|directive)|in) '[^']*'(?: enum)?")


def without_schema_hints(message: str) -> str:
    """A validation message without suggestions or the names of types and fields it probed."""
    return SCHEMA_COORDINATES.sub("", SUGGESTION.sub("", message))


def shape_error(
    error: GraphQLError, request_id: str | None, mask_suggestions: bool = False
) -> GraphQLError:
    """Known errors keep their message and code; anything unexpected is masked as INTERNAL."""
    original = error.original_error
    if isinstance(error, ApiError) or isinstance(original, ApiError):
        return error
    if original is None or isinstance(original, GraphQLError):
        if (error.extensions or {}).get("code"):
            return error
        return GraphQLError(
            without_schema_hints(error.message) if mask_suggestions else error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": _code_for_request_error(error)},
        )
    logger.error(
        "unexpected error",
        exc_info=(type(original), original, original.__traceback__),
        extra={"request_id": request_id, "path": error.path},
    )
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


class ErrorPolicy(SchemaExtension):
    """Every top-level error carries extensions.code; no exception text or stack leaks out."""

    mask_suggestions = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [
            shape_error(error, request_id, self.mask_suggestions) for error in result.errors
        ]


def error_policy(mask_suggestions: bool) -> type[ErrorPolicy]:
    return type("ErrorPolicy", (ErrorPolicy,), {"mask_suggestions": mask_suggestions})


class CloseSession(SchemaExtension):
    """Write the request's download log in one statement, then release its connection."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        try:
            yield
            pending = getattr(context, "pending_access", None)
            if pending:
                async with context.session.write() as conn:
                    await log_access(conn, pending)
                pending.clear()
        finally:
            session = getattr(context, "session", None)
            if session is not None:
                await session.close()
