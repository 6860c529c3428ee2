"""Shared GraphQL declarations: Node, connections, page info, user errors."""

from __future__ import annotations

from enum import Enum
from typing import Generic, TypeVar

import strawberry

from domain.errors import ErrorCode as DomainErrorCode

T = TypeVar("T")

ErrorCode = strawberry.enum(
    DomainErrorCode, name="ErrorCode", description="Why a mutation did not do what was asked."
)


@strawberry.interface(description="An object with an opaque global ID (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID.")


@strawberry.type(description="An expected failure, returned as data.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, when one is."
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: ErrorCode = strawberry.field(description="What went wrong, for programs.")


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor: pass as `after` to continue.")
    node: T


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="Number of items across all pages.")
    async def total_count(self) -> int:
        return await self.count()  # type: ignore[attr-defined]


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
