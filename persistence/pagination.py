"""Keyset pagination: opaque cursors over (sort value, id), nulls always last."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.sql.elements import KeyedColumnElement

from domain.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class SortKey:
    column: KeyedColumnElement[Any]
    id_column: KeyedColumnElement[Any]
    descending: bool
    parse: Callable[[str], Any]
    parse_id: Callable[[str], Any] = UUID
    nullable: bool = True  # False for NOT NULL columns: a plain order an index can serve

    def order_by(self) -> list[ColumnElement[Any]]:
        direction = (lambda c: c.desc()) if self.descending else (lambda c: c.asc())
        plain = [direction(self.column), direction(self.id_column)]
        return [self.column.is_(None).asc(), *plain] if self.nullable else plain

    def after(self, value: Any, row_id: Any) -> ColumnElement[bool]:
        """Rows strictly after (value, row_id) in this order."""
        beyond_id = self.id_column < row_id if self.descending else self.id_column > row_id
        if value is None:
            return and_(self.column.is_(None), beyond_id)
        beyond_value = self.column < value if self.descending else self.column > value
        if not self.nullable:
            return or_(beyond_value, and_(self.column == value, beyond_id))
        return or_(self.column.is_(None), beyond_value, and_(self.column == value, beyond_id))

    def cursor(self, value: Any, row_id: Any) -> str:
        raw = json.dumps([None if value is None else str(value), str(row_id)])
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def decode(self, cursor: str) -> tuple[Any, Any]:
        """The (value, id) a cursor points at; INVALID for anything we did not issue."""
        try:
            value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            return (None if value is None else self.parse(value)), self.parse_id(row_id)
        except Exception as exc:
            raise DomainError.of(ErrorCode.INVALID, "Malformed cursor.", "after") from exc


def first_rows_per_parent(
    columns: list[Any], parent: Any, order_by: list[Any], where: list[Any], limit: int
) -> Any:
    """At most `limit` rows per parent, in order, for all parents in one statement."""
    rank = func.row_number().over(partition_by=parent, order_by=order_by).label("rank_in_parent")
    ranked = select(*columns, rank).where(*where).subquery()
    return (
        select(*[ranked.c[c.key] for c in columns])
        .where(ranked.c.rank_in_parent <= limit)
        .order_by(ranked.c[parent.key], ranked.c.rank_in_parent)
    )


def parse_timestamp(raw: str) -> datetime:
    """A cursor's timestamp, which must carry a time zone (returned in UTC)."""
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return value.astimezone(UTC)
