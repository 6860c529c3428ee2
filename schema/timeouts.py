"""Per-field resolver timeouts: an async field that takes too long resolves to an error.

Only fields whose resolvers are async (the ones that wait on I/O) are wrapped, so plain
attribute reads pay nothing. A timed-out field becomes null with a `TIMEOUT` error; the rest
of the response is kept. Subscription fields stream for as long as they live and are not
wrapped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema

from resolvers.errors import ApiError

TIMEOUT = "TIMEOUT"
DEFINITION = "strawberry-definition"


def field_timed_out() -> ApiError:
    return ApiError("This field took too long to resolve.", TIMEOUT)


def _with_timeout(resolve: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    async def resolve_in_time(source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(seconds):
                return await resolve(source, info, **kwargs)
        except TimeoutError:
            raise field_timed_out() from None

    return resolve_in_time


def apply_field_timeouts(schema: GraphQLSchema, seconds: float) -> int:
    """Wrap every async field resolver with a timeout; returns how many fields were wrapped."""
    if seconds <= 0:
        return 0
    subscription = schema.subscription_type
    wrapped = 0
    for named_type in schema.type_map.values():
        if not isinstance(named_type, GraphQLObjectType) or named_type.name.startswith("__"):
            continue
        if named_type is subscription:
            continue
        for field in named_type.fields.values():
            definition = (field.extensions or {}).get(DEFINITION)
            if field.resolve is None or not getattr(definition, "is_async", False):
                continue
            field.resolve = _with_timeout(field.resolve, seconds)
            wrapped += 1
    return wrapped
