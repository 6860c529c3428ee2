"""Permission classes: authentication and permission strings checked before a root field runs."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info


class Requires(BasePermission):
    """An authenticated principal holding a permission string (or just authenticated)."""

    message = "You do not have permission to do this."
    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, permission: str | None = None) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require(self.permission)
        return True


def requires(permission: str | None = None) -> list[PermissionExtension]:
    """Field extensions enforcing a permission (top-level UNAUTHENTICATED / FORBIDDEN)."""
    return [PermissionExtension(permissions=[Requires(permission)], use_directives=False)]
