"""Roles, permission strings and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID


class Role(Enum):
    ADMIN = "ADMIN"
    ANALYST = "ANALYST"
    UNDERWRITER = "UNDERWRITER"
    OPS = "OPS"
    VIEWER = "VIEWER"


READ = frozenset(
    {
        "properties:read",
        "deals:read",
        "finance:read",
        "construction:read",
        "documents:read",
        "alerts:read",
        "users:read",
    }
)

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: READ
    | {
        "properties:write",
        "deals:write",
        "offers:write",
        "finance:write",
        "construction:write",
        "documents:write",
        "alerts:write",
        "timeline:comment",
        "timeline:read",
        "users:write",
        "partners:write",
        "partners:admin",  # partner API keys and persisted-query manifests
    },
    Role.ANALYST: READ
    | {
        "properties:write",
        "deals:write",
        "alerts:write",
        "timeline:comment",
        "timeline:read",
        "documents:write",
    },
    Role.UNDERWRITER: READ
    | {
        "alerts:write",
        "deals:write",
        "offers:write",
        "finance:write",
        "timeline:comment",
        "timeline:read",
        "documents:write",
    },
    Role.OPS: READ
    | {
        "properties:write",
        "construction:write",
        "finance:write",
        "documents:write",
        "timeline:comment",
        "timeline:read",
    },
    Role.VIEWER: READ,
}


def permissions_of(role: Role) -> frozenset[str]:
    """Every permission string a role grants."""
    return PERMISSIONS[role]


def can(role: Role, permission: str) -> bool:
    """Whether a role grants a permission."""
    return permission in PERMISSIONS[role]


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    tenant_id: UUID
    role: Role

    def can(self, permission: str) -> bool:
        return can(self.role, permission)
