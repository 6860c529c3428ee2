"""Opaque Relay global IDs: base64("Type:uuid")."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from domain.errors import DomainError, ErrorCode


def to_global_id(type_name: str, local_id: UUID) -> str:
    return base64.b64encode(f"{type_name}:{local_id}".encode()).decode()


def from_global_id(
    global_id: str, expected: str | None = None, field: str = "id"
) -> tuple[str, UUID]:
    """(type, uuid) of a global ID; INVALID when malformed or of another type than expected."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        local_id = UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise DomainError.of(
            ErrorCode.INVALID, f"Malformed ID: {global_id[:80]!r}.", field
        ) from exc
    if expected is not None and type_name != expected:
        raise DomainError.of(
            ErrorCode.INVALID, f"Expected a {expected} ID, got a {type_name} ID.", field
        )
    return type_name, local_id
