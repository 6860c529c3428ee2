"""Rate limits per caller, weighted by query cost, checked before execution.

Each request is charged its cost (as measured by the query limits; at least 1) on the buckets
of its caller: a partner API key's bucket, or a signed-in user's, and always the client
address's. A request refused earlier (unparsable, invalid, too complex) is charged 1, so a
flood of garbage is not free. Over budget, the request is refused with `RATE_LIMITED`,
`extensions.retryAfter` (seconds) and, over HTTP, status 429 with `Retry-After`. Every
charged HTTP response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(draft-ietf-httpapi-ratelimit-headers) for the caller's tightest bucket.

The limiter itself (Redis or memory) is `services.rate_limiter` (server/rate_limit.py); no
limiter, no limits.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class RatePolicy:
    """Cost units per window for each kind of caller."""

    window_seconds: int = 60
    user_cost: int = 300_000
    api_key_cost: int = 600_000
    address_cost: int = 600_000


def buckets_for(
    policy: RatePolicy, principal: Any, api_key_id: UUID | None, address: str | None
) -> list[tuple[str, int]]:
    """The buckets (key, budget) a request is charged on; a budget of 0 or less: no bucket."""
    buckets: list[tuple[str, int]] = []
    if api_key_id is not None:
        buckets.append((f"rl:key:{api_key_id}", policy.api_key_cost))
    elif principal is not None:
        buckets.append((f"rl:user:{principal.tenant_id}:{principal.user_id}", policy.user_cost))
    buckets.append((f"rl:addr:{address or 'unknown'}", policy.address_cost))
    return [(key, budget) for key, budget in buckets if budget > 0]


def rate_limited_error(retry_after: int) -> GraphQLError:
    return GraphQLError(
        f"Rate limit exceeded; retry in {retry_after} seconds.",
        extensions={"code": RATE_LIMITED, "retryAfter": retry_after},
    )


def _over_http(context: Any) -> bool:
    """Whether the request is plain HTTP (over a WebSocket there are no headers to send)."""
    scope = getattr(getattr(context, "request", None), "scope", None)
    return not (isinstance(scope, dict) and scope.get("type") == "websocket")


class RateLimitExtension(SchemaExtension):
    """Charge the caller's buckets after validation, and refuse over budget."""

    charged = False

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        except Exception:  # unparsable, no query at all, a mutation over GET...
            refused = None if self.charged else await self._charge(1)
            if refused is not None:
                raise refused from None  # the caller answers with this error instead
            raise
        if self.charged:
            return
        refused = await self._charge(1)  # refused while parsing: charged all the same
        result = self.execution_context.result
        if refused is not None and result is not None:
            result.data = None
            result.errors = [refused]

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        valid = execution.pre_execution_errors == []  # validated (and measured) before us
        cost = max(getattr(execution.context, "query_cost", 0), 1) if valid else 1
        refused = await self._charge(cost)
        if refused is not None:
            execution.pre_execution_errors = [refused]
        yield

    async def _charge(self, cost: int) -> GraphQLError | None:
        """Charge the caller; the error to answer with when over budget (None: go ahead)."""
        context = self.execution_context.context
        limiter = getattr(getattr(context, "services", None), "rate_limiter", None)
        if limiter is None or self.charged:
            return None
        self.charged = True
        policy: RatePolicy = getattr(limiter, "policy", None) or RatePolicy()
        buckets = buckets_for(
            policy,
            getattr(context, "principal", None),
            getattr(context, "api_key_id", None),
            getattr(context, "client_address", None),
        )
        if not buckets or policy.window_seconds <= 0:
            return None
        decision = await limiter.charge(buckets, cost, policy.window_seconds)
        over_http = _over_http(context)
        headers: dict[str, str] = {}
        if decision.limit > 0:
            headers = {
                "RateLimit-Limit": str(decision.limit),
                "RateLimit-Remaining": str(decision.remaining),
                "RateLimit-Reset": str(math.ceil(decision.reset_after)),
            }
        if decision.allowed:
            if over_http:
                _send(context, headers, None)
            return None
        retry_after = max(1, math.ceil(decision.retry_after))
        if over_http:
            _send(context, {**headers, "Retry-After": str(retry_after)}, 429)
        return rate_limited_error(retry_after)


def _send(context: Any, headers: dict[str, str], status: int | None) -> None:
    """Headers (and a status) for the HTTP endpoint to copy onto its response."""
    extra = getattr(context, "response_headers", None)
    if isinstance(extra, dict):
        extra.update(headers)
    if status is not None and hasattr(context, "status_code"):
        context.status_code = status
