"""Relay connections as plain data: edges, page info and a lazily counted total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from resolvers.errors import bad_input

T = TypeVar("T")

DEFAULT_FIRST = 20
MAX_FIRST = 100


@dataclass(slots=True)
class Edge(Generic[T]):
    cursor: str
    node: T


@dataclass(slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(slots=True)
class Page(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: Callable[[], Awaitable[int]]


def page_size(first: int | None) -> int:
    """`first` defaults to 20 and is capped at 100; negative is an input error."""
    if first is None:
        return DEFAULT_FIRST
    if first < 0:
        raise bad_input("`first` cannot be negative.")
    return min(first, MAX_FIRST)


def build_page(
    rows: list[T],
    limit: int,
    cursor_of: Callable[[T], str],
    count: Callable[[], Awaitable[int]],
    after: Any,
) -> Page[T]:
    """A page from limit + 1 fetched rows."""
    visible = rows[:limit]
    edges = [Edge(cursor_of(row), row) for row in visible]
    return Page(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
