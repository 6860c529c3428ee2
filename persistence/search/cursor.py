"""Opaque search cursors: the backend, a fingerprint of the search, and the last sort key.

A cursor only continues the search it came from: another query, filter or radius (or the other
backend) has another fingerprint, and the cursor is refused rather than silently mixing two
result lists.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

from persistence.search import SearchRequest

VERSION = 1


class CursorError(ValueError):
    """The cursor is malformed, or belongs to another search."""


def fingerprint(request: SearchRequest) -> str:
    """A short hash of what is searched (not of the page position)."""
    criteria = dataclasses.asdict(request.filter)
    criteria.pop("tenant_id", None)
    near = request.near
    raw = json.dumps(
        [request.words, criteria, None if near is None else dataclasses.astuple(near)],
        default=str,
        sort_keys=True,
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(backend: str, print_: str, key: list[Any]) -> str:
    raw = json.dumps({"v": VERSION, "b": backend, "f": print_, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, backend: str, print_: str) -> list[Any]:
    """The sort key in a cursor issued by `backend` for the search with this fingerprint."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("not a search cursor")
        key = data["k"]
        if not isinstance(key, list):
            raise ValueError("no sort key")
    except Exception as exc:
        raise CursorError("Malformed cursor.") from exc
    if data.get("b") != backend or data.get("f") != print_:
        raise CursorError("This cursor belongs to another search; start again without `after`.")
    return key
