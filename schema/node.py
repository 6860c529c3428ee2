"""Relay object lookup by global ID."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import node as resolve
from schema.common import Node
from schema.permissions import requires


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global ID; null when not found.", extensions=requires()
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve.node(info.context, id)

    @strawberry.field(
        description="Objects by global IDs, in order; null where not found.", extensions=requires()
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await resolve.nodes(info.context, ids)
