"""Saved searches: each user's own buy boxes (create, list, update, pause, delete).

A saved search belongs to the user who saved it: only they list, change or delete it, and its
alerts go to them. Others in the tenant (admins included) do not see it: a buy box is a
personal working tool, like the alert inbox. Creating needs `alerts:write` (not VIEWER).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.errors import DomainError, ErrorCode, FieldError, collect
from domain.saved_search import (
    MAX_SEARCHES_PER_USER,
    Channel,
    CriteriaInput,
    Frequency,
    SavedSearch,
    paused,
    validate_channels,
    validate_criteria,
    validate_name,
)
from persistence import saved_search as store
from resolvers.context import Context
from resolvers.deal import decode
from resolvers.errors import bad_input, run_write
from resolvers.ids import to_global_id
from resolvers.pagination import Page, build_page, page_size

NOT_FOUND = FieldError(ErrorCode.NOT_FOUND, "You have no saved search with this ID.", ("id",))


@dataclass
class SavedSearchResult:
    saved_search: SavedSearch | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class SavedSearchDeleteResult:
    deleted_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)


def _given(value: Any) -> Any:
    return None if value is UNSET else value


def criteria_input(data: Any) -> CriteriaInput:
    """GraphQL criteria as the domain's raw input."""
    near = _given(data.near)
    types = _given(data.property_types)
    return CriteriaInput(
        cities=_given(data.cities),
        postal_codes=_given(data.postal_codes),
        near=(near.latitude, near.longitude, near.radius_miles) if near is not None else None,
        property_types=[item.value for item in types] if types else None,
        min_price=_given(data.min_price),
        max_price=_given(data.max_price),
        min_bedrooms=_given(data.min_bedrooms),
        min_bathrooms=_given(data.min_bathrooms),
        max_price_to_arv=_given(data.max_price_to_arv),
        min_score=_given(data.min_score),
    )


def search_cursor(search: SavedSearch) -> str:
    return store.SEARCH_SORT.cursor(search.created_at, search.id)


async def saved_searches(ctx: Context, first: int | None, after: str | None) -> Page[SavedSearch]:
    principal = ctx.require("alerts:read")
    limit = page_size(first)
    position = None
    if after:
        try:
            position = store.SEARCH_SORT.decode(after)
        except DomainError as error:
            raise bad_input("Malformed `after` cursor.") from error
    tenant_id, user_id = principal.tenant_id, principal.user_id
    rows = await store.list_own(ctx.session, tenant_id, user_id, position, limit)

    async def count() -> int:
        return await store.count_own_in(ctx.session, tenant_id, user_id)

    return build_page(rows, limit, search_cursor, count, after)


async def saved_search_create(ctx: Context, data: Any) -> SavedSearchResult:
    principal = ctx.require("alerts:write")
    path = ("input",)
    (criteria,), errors = collect(
        lambda: validate_criteria(criteria_input(data.criteria), (*path, "criteria"))
    )
    name = None
    if criteria is not None:
        (name,), name_errors = collect(
            lambda: validate_name(_given(data.name), criteria, (*path, "name"))
        )
        errors += name_errors
    if errors:
        return SavedSearchResult(errors=errors)
    frequency = _given(data.frequency)
    search = SavedSearch(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=name,
        criteria=criteria,
        frequency=Frequency(frequency.value) if frequency else Frequency.INSTANT,
        channels=validate_channels([Channel(c.value) for c in _given(data.channels) or ()]),
    )

    async def create(conn: AsyncConnection) -> SavedSearch:
        if await store.count_own(conn, principal.tenant_id, principal.user_id) >= (
            MAX_SEARCHES_PER_USER
        ):
            raise DomainError.of(
                ErrorCode.LIMIT_EXCEEDED,
                f"At most {MAX_SEARCHES_PER_USER} saved searches per user; delete some first.",
            )
        return await store.insert_search(conn, search)

    stored, errors = await run_write(ctx, create)
    return SavedSearchResult(stored, errors)


async def saved_search_update(ctx: Context, global_id: str, data: Any) -> SavedSearchResult:
    """Change what is given: criteria (replaced whole), name, frequency, channels, paused."""
    principal = ctx.require("alerts:write")
    path = ("input",)
    try:
        search_id = decode(global_id, "SavedSearch", "id")
        criteria = None
        if _given(data.criteria) is not None:
            criteria = validate_criteria(criteria_input(data.criteria), (*path, "criteria"))
    except DomainError as error:
        return SavedSearchResult(errors=list(error.errors))

    async def change(conn: AsyncConnection) -> SavedSearch:
        current = await store.own_search_for_update(
            conn, principal.tenant_id, principal.user_id, search_id
        )
        if current is None:
            raise DomainError(NOT_FOUND)
        updated = replace(current, criteria=criteria or current.criteria)
        if _given(data.name) is not None:
            updated.name = validate_name(data.name, updated.criteria, (*path, "name"))
        if _given(data.frequency) is not None:
            updated.frequency = Frequency(data.frequency.value)
        if _given(data.channels) is not None:
            updated.channels = validate_channels([Channel(c.value) for c in data.channels])
        if _given(data.paused) is not None:
            updated = paused(updated, bool(data.paused), datetime.now(UTC))
        if updated == current:
            return current
        return await store.update_search(conn, updated)

    stored, errors = await run_write(ctx, change)
    return SavedSearchResult(stored, errors)


async def saved_search_delete(ctx: Context, global_id: str) -> SavedSearchDeleteResult:
    """Delete a search; its past alerts stay in the inbox."""
    principal = ctx.require("alerts:write")
    try:
        search_id = decode(global_id, "SavedSearch", "id")
    except DomainError as error:
        return SavedSearchDeleteResult(errors=list(error.errors))

    async def remove(conn: AsyncConnection) -> str:
        current = await store.own_search_for_update(
            conn, principal.tenant_id, principal.user_id, search_id
        )
        if current is None:
            raise DomainError(NOT_FOUND)
        await store.delete_search(conn, principal.tenant_id, search_id)
        return to_global_id("SavedSearch", search_id)

    deleted_id, errors = await run_write(ctx, remove)
    return SavedSearchDeleteResult(deleted_id, errors)
