"""Relay `node` and `nodes`: any object by its global ID, within the caller's tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from domain.errors import DomainError
from resolvers.context import Context
from resolvers.errors import bad_input
from resolvers.ids import from_global_id

READ_PERMISSION = {
    "Property": "properties:read",
    "User": "users:read",
    "Tenant": None,
    "Deal": "deals:read",
    "Offer": "deals:read",
    "TimelineEntry": "deals:read",
    "Transaction": "finance:read",
    "Account": "finance:read",
    "ConstructionProject": "construction:read",
    "Contractor": "construction:read",
    "Bid": "construction:read",
    "Task": "construction:read",
    "Inspection": "construction:read",
    "Document": "documents:read",
    "Alert": "alerts:read",  # and only the caller's own: the loader finds no one else's
    "SavedSearch": "alerts:read",  # the caller's own only, like alerts
    "WebhookEndpoint": "partners:write",
}


def _loader(ctx: Context, type_name: str) -> Callable[[Any], Any] | None:
    loaders = {
        "Property": lambda: ctx.loaders.property_by_id,
        "User": lambda: ctx.loaders.user_by_id,
        "Tenant": lambda: ctx.loaders.tenant_by_id,
        "Deal": lambda: ctx.loaders.deal_by_id,
        "Offer": lambda: ctx.loaders.offer_by_id,
        "TimelineEntry": lambda: ctx.loaders.timeline_entry_by_id,
        "Transaction": lambda: ctx.loaders.transaction_by_id,
        "Account": lambda: ctx.loaders.account_by_id,
        "ConstructionProject": lambda: ctx.loaders.project_by_id,
        "Contractor": lambda: ctx.loaders.contractor_by_id,
        "Bid": lambda: ctx.loaders.bid_by_id,
        "Task": lambda: ctx.loaders.task_by_id,
        "Inspection": lambda: ctx.loaders.inspection_by_id,
        "Document": lambda: ctx.loaders.document_by_id,
        "Alert": lambda: ctx.loaders.alert_by_id,
        "SavedSearch": lambda: ctx.loaders.saved_search_by_id,
        "WebhookEndpoint": lambda: ctx.loaders.webhook_endpoint_by_id,
    }
    make = loaders.get(type_name)
    return make().load if make else None


async def node(ctx: Context, global_id: str) -> Any:
    principal = ctx.require()
    try:
        type_name, local_id = from_global_id(global_id)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error
    load = _loader(ctx, type_name)
    if load is None:
        return None
    permission = READ_PERMISSION.get(type_name)
    if permission and not principal.can(permission):
        return None
    if type_name == "Tenant" and local_id != principal.tenant_id:
        return None
    return await load(local_id)


async def nodes(ctx: Context, global_ids: list[str]) -> list[Any]:
    if len(global_ids) > 100:
        raise bad_input("At most 100 IDs per request.")
    return list(await asyncio.gather(*(node(ctx, gid) for gid in global_ids)))
