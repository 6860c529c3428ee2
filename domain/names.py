"""Names as they appear in the API."""

from __future__ import annotations


def camel_case(name: str) -> str:
    """A snake_case name as its GraphQL field name (list_price -> listPrice)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
