"""Webhook endpoints for partners: ADMIN only (`partners:write`), tenant-wide.

Every enabled endpoint receives the tenant's matches from saved searches with the WEBHOOK
channel. The signing secret is returned once, by create and by rotate; reads show its last
four characters only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.delivery import WebhookEndpoint
from domain.errors import DomainError, ErrorCode, FieldError
from integrations.delivery.webhook import UnsafeUrl, check_destination, new_secret
from persistence import delivery as store
from resolvers.context import Context
from resolvers.deal import decode
from resolvers.errors import bad_input, run_write
from resolvers.ids import to_global_id
from resolvers.pagination import Page, build_page, page_size

PERMISSION = "partners:write"
NOT_FOUND = FieldError(ErrorCode.NOT_FOUND, "No webhook endpoint with this ID.", ("id",))
MAX_DESCRIPTION = 500
MAX_ENDPOINTS = 20


@dataclass
class EndpointResult:
    webhook_endpoint: WebhookEndpoint | None = None
    secret: str | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class EndpointDeleteResult:
    deleted_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)


def endpoint_cursor(endpoint: WebhookEndpoint) -> str:
    return store.ENDPOINT_SORT.cursor(endpoint.created_at, endpoint.id)


async def _checked_url(ctx: Context, url: str) -> str:
    """A URL we may call: http(s), and in production only public addresses."""
    try:
        await check_destination(url, ctx.services.allow_private_webhooks)
    except UnsafeUrl as error:
        raise DomainError.of(ErrorCode.INVALID, str(error), "input", "url") from error
    if len(url) > 2000:
        raise DomainError.of(ErrorCode.INVALID, "At most 2000 characters.", "input", "url")
    return url.strip()


def _description(raw: Any) -> str:
    text = " ".join((raw or "").split())
    if len(text) > MAX_DESCRIPTION:
        message = f"At most {MAX_DESCRIPTION} characters."
        raise DomainError.of(ErrorCode.INVALID, message, "input", "description")
    return text


async def webhook_endpoints(
    ctx: Context, first: int | None, after: str | None
) -> Page[WebhookEndpoint]:
    principal = ctx.require(PERMISSION)
    limit = page_size(first)
    position = None
    if after:
        try:
            position = store.ENDPOINT_SORT.decode(after)
        except DomainError as error:
            raise bad_input("Malformed `after` cursor.") from error
    rows = await store.list_endpoints(ctx.session, principal.tenant_id, position, limit)

    async def count() -> int:
        return await store.count_endpoints(ctx.session, principal.tenant_id)

    return build_page(rows, limit, endpoint_cursor, count, after)


async def webhook_endpoint_create(ctx: Context, data: Any) -> EndpointResult:
    principal = ctx.require(PERMISSION)
    try:
        url = await _checked_url(ctx, data.url)
        description = _description(data.description if data.description is not UNSET else "")
    except DomainError as error:
        return EndpointResult(errors=list(error.errors))
    secret = new_secret()

    async def create(conn: AsyncConnection) -> WebhookEndpoint:
        existing = await store.enabled_endpoints(conn, principal.tenant_id)
        if len(existing) >= MAX_ENDPOINTS:
            message = f"At most {MAX_ENDPOINTS} enabled endpoints per tenant."
            raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, message)
        return await store.insert_endpoint(
            conn, principal.tenant_id, url, description, secret, principal.user_id
        )

    endpoint, errors = await run_write(ctx, create)
    return EndpointResult(endpoint, secret if endpoint else None, errors)


async def webhook_endpoint_update(ctx: Context, global_id: str, data: Any) -> EndpointResult:
    """Change the URL or description, or disable / re-enable (which clears the failure run)."""
    principal = ctx.require(PERMISSION)
    values: dict[str, Any] = {}
    try:
        endpoint_id = decode(global_id, "WebhookEndpoint", "id")
        if data.url not in (UNSET, None):
            values["url"] = await _checked_url(ctx, data.url)
        if data.description not in (UNSET, None):
            values["description"] = _description(data.description)
    except DomainError as error:
        return EndpointResult(errors=list(error.errors))

    async def change(conn: AsyncConnection) -> WebhookEndpoint:
        current = await store.endpoint_for_update(conn, principal.tenant_id, endpoint_id)
        if current is None:
            raise DomainError(NOT_FOUND)
        if data.enabled is True and not current.enabled:
            values.update(disabled_at=None, disabled_reason=None, consecutive_failures=0)
        elif data.enabled is False and current.enabled:
            reason = "Disabled by an administrator."
            values.update(disabled_at=datetime.now(UTC), disabled_reason=reason)
        if not values:
            return current
        return await store.update_endpoint(conn, principal.tenant_id, endpoint_id, values)

    endpoint, errors = await run_write(ctx, change)
    return EndpointResult(endpoint, None, errors)


async def webhook_endpoint_rotate_secret(ctx: Context, global_id: str) -> EndpointResult:
    """A new signing secret, returned once; the old one stops working at once."""
    principal = ctx.require(PERMISSION)
    try:
        endpoint_id = decode(global_id, "WebhookEndpoint", "id")
    except DomainError as error:
        return EndpointResult(errors=list(error.errors))
    secret = new_secret()

    async def rotate(conn: AsyncConnection) -> WebhookEndpoint:
        if await store.endpoint_for_update(conn, principal.tenant_id, endpoint_id) is None:
            raise DomainError(NOT_FOUND)
        return await store.update_endpoint(
            conn, principal.tenant_id, endpoint_id, {"secret": secret}
        )

    endpoint, errors = await run_write(ctx, rotate)
    return EndpointResult(endpoint, secret if endpoint else None, errors)


async def webhook_endpoint_delete(ctx: Context, global_id: str) -> EndpointDeleteResult:
    """Delete an endpoint and its queued deliveries."""
    principal = ctx.require(PERMISSION)
    try:
        endpoint_id = decode(global_id, "WebhookEndpoint", "id")
    except DomainError as error:
        return EndpointDeleteResult(errors=list(error.errors))

    async def remove(conn: AsyncConnection) -> str:
        if await store.endpoint_for_update(conn, principal.tenant_id, endpoint_id) is None:
            raise DomainError(NOT_FOUND)
        await store.delete_endpoint(conn, principal.tenant_id, endpoint_id)
        return to_global_id("WebhookEndpoint", endpoint_id)

    deleted_id, errors = await run_write(ctx, remove)
    return EndpointDeleteResult(deleted_id, errors)
