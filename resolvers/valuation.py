"""Comps, valuation and score of a property, computed live through the batched valuation loader.

The API shows the current picture: `comps`, `valuation` and `score` are computed per request
from the current data (one comps statement per distinct search for a whole page). The stored
summary in `property_valuations` (kept by the valuation consumer) serves saved-search matching
and the `property.valued` event; it can trail the live figures by the consumer's lag.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.comps import DEFAULT_SEARCH, CompSearch, comp_search, comps_first
from domain.errors import DomainError
from domain.property import Property
from domain.scoring import Score, score_property
from domain.valuation import CompValue, Valuation, value_property
from resolvers.context import Context
from resolvers.errors import bad_input


def _search(radius_miles: float | None, months_back: int | None) -> CompSearch:
    try:
        return comp_search(radius_miles, months_back)
    except DomainError as error:
        raise bad_input(" ".join(e.message for e in error.errors)) from error


async def _valuation(ctx: Context, prop: Property, search: CompSearch) -> Valuation:
    found = await ctx.loaders.valuation_by_property_id.load((prop.id, search))
    if found is None:  # deleted since it was read: nothing to compare it with any more
        return value_property(prop, [], search, datetime.now(UTC).date())
    return found


async def valuation(
    ctx: Context, prop: Property, radius_miles: float | None, months_back: int | None
) -> Valuation:
    """The property's ARV from its comps; a null ARV comes with a reason."""
    ctx.require("properties:read")
    return await _valuation(ctx, prop, _search(radius_miles, months_back))


async def comps(
    ctx: Context,
    prop: Property,
    first: int | None,
    radius_miles: float | None,
    months_back: int | None,
) -> list[CompValue]:
    """The first comps of the valuation for the same search, nearest first, with adjustments."""
    ctx.require("properties:read")
    try:
        count = comps_first(first)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error
    found = await _valuation(ctx, prop, _search(radius_miles, months_back))
    return list(found.comps[:count])


async def score(ctx: Context, prop: Property) -> Score:
    """The property's score from its live ARV (default comp search), as of today."""
    ctx.require("properties:read")
    found = await _valuation(ctx, prop, DEFAULT_SEARCH)
    return score_property(prop, found.arv, found.as_of)
