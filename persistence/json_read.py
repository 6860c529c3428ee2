"""Read a nested answer as one JSON document built by PostgreSQL.

For the shapes the compiled read path can describe — a page of rows, each with columns,
nested objects on the same row and pages or lists of related rows — one statement returns
the whole answer as JSON text, so no row becomes a Python object on the way. The statement
runs in the request's tenant-scoped read transaction: row-level security applies exactly as
for every other read, and each level filters by tenant explicitly as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from persistence import tables as t
from persistence.database import TenantSession


@dataclass(frozen=True)
class Relation:
    """Rows of `table` that belong to a parent row, in a fixed order."""

    table: str
    parent_key: str | None  # the column holding the parent's id; None at the root
    order: str  # an ORDER BY over the table's columns, alias-free


RELATIONS: dict[tuple[str, str], Relation] = {
    ("Query", "properties"): Relation("properties", None, "created_at DESC, id DESC"),
    ("Property", "deals"): Relation("deals", "property_id", "created_at DESC, id DESC"),
    ("Deal", "offers"): Relation("offers", "deal_id", "created_at DESC, id DESC"),
}

TABLES = {
    "properties": t.properties,
    "deals": t.deals,
    "offers": t.offers,
}


@dataclass
class JsonObject:
    """What one object of the answer holds: (key, SQL expression) pairs, in order."""

    members: list[tuple[str, str]] = field(default_factory=list)

    def sql(self) -> str:
        if not self.members:
            return "json_build_object()"
        pairs = ", ".join(f"{_literal(key)}, {expression}" for key, expression in self.members)
        return f"json_build_object({pairs})"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def column_exists(table: str, column: str) -> bool:
    return column in TABLES[table].c


def column_type(table: str, column: str) -> Any:
    return TABLES[table].c[column].type


def rows_json(
    relation: Relation,
    alias: str,
    parent_alias: str | None,
    node: JsonObject,
    limit_param: str | None,
    connection: bool,
) -> str:
    """A JSON value for the related rows: `{"edges": [{"node": ...}]}` or `[...]`."""
    where = [f"{alias}.tenant_id = CAST(:tenant_id AS uuid)"]
    if relation.parent_key is not None and parent_alias is not None:
        where.append(f"{alias}.{relation.parent_key} = {parent_alias}.id")
    order = ", ".join(f"{alias}.{part.strip()}" for part in relation.order.split(","))
    limit = f" LIMIT :{limit_param}" if limit_param else ""
    rows = (
        f"SELECT * FROM {relation.table} AS {alias} WHERE {' AND '.join(where)} "
        f"ORDER BY {order}{limit}"
    )
    element = f"json_build_object('node', {node.sql()})" if connection else node.sql()
    items = f"COALESCE(json_agg({element} ORDER BY {order}), '[]'::json)"
    inner = f"SELECT {items} FROM ({rows}) AS {alias}"
    if connection:
        return f"(SELECT json_build_object('edges', ({inner})))"
    return f"({inner})"


async def read_json(session: TenantSession, statement: str, params: dict[str, Any]) -> Any:
    """Run a statement that returns one JSON text value, and parse it."""
    try:
        rows = await session.fetch(text(statement), params)
    except DBAPIError:
        await session.close()  # the failed statement ended the read transaction: start afresh
        raise
    return orjson.loads(rows[0][0])
