"""The typed per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.permissions import Principal
from persistence.database import TenantSession
from persistence.ratelimit import LoginLimiter
from resolvers.errors import forbidden, unauthenticated
from resolvers.event_rows import SharedEventRows
from resolvers.loaders import Loaders


@dataclass
class Services:
    """Long-lived collaborators built once at start-up."""

    engine: AsyncEngine
    authenticator: Any
    passwords: Any
    login_limiter: LoginLimiter
    refresh_ttl: timedelta
    storage: Any = None
    bus: Any = None
    max_subscriptions_per_connection: int = 20
    connections: Any = None
    event_rows: SharedEventRows = field(default_factory=SharedEventRows)
    ws_recheck_seconds: float = 60.0
    active_users: Any = None
    max_upload_bytes: int = 25 * 1024 * 1024
    wake_extraction: Callable[[], None] = lambda: None
    allow_private_webhooks: bool = False  # webhooks to private addresses: not in production
    search: Any = None  # a persistence.search backend; None: PostgreSQL
    rate_limiter: Any = None  # server.rate_limit.RateLimiter; None: no rate limiting
    persisted_queries: Any = None  # server.persisted_queries.PersistedQueries
    idempotency: Any = None  # server.idempotency.IdempotencyStore


@dataclass
class Context:
    request: Any
    response: Any
    services: Services
    principal: Principal | None
    session: TenantSession
    loaders: Loaders
    client_address: str = "unknown"
    request_id: str | None = None
    auth_error: str | None = None
    pending_access: list[dict[str, Any]] = field(default_factory=list)
    connection_params: dict[str, Any] | None = None
    token_expires_at: float | None = None
    subscriptions: int = 0
    release_connection: Callable[[], None] | None = None
    api_key_id: UUID | None = None  # set when a partner API key authenticated the request
    partner: Any = None  # server.persisted_queries.Partner for a partner API key
    query_cost: int = 0  # measured by the query limits before execution
    response_headers: dict[str, str] = field(default_factory=dict)  # added to the HTTP response
    status_code: int | None = None  # an HTTP status the response must carry (e.g. 429)

    def require(self, permission: str | None = None) -> Principal:
        """The principal, after checking authentication and (optionally) a permission."""
        if self.principal is None:
            message = "Your access token is invalid or expired." if self.auth_error else None
            raise unauthenticated(message or "Authentication required.")
        if permission is not None and not self.principal.can(permission):
            raise forbidden()
        return self.principal

    @property
    def tenant_id(self) -> UUID:
        return self.require().tenant_id
