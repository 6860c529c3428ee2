"""Users and tenants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import DomainError, ErrorCode, FieldError
from domain.permissions import Role

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


@dataclass(slots=True)
class Tenant:
    id: UUID
    name: str
    created_at: datetime | None = None


@dataclass(slots=True)
class User:
    id: UUID
    tenant_id: UUID
    email: str
    name: str
    role: Role
    disabled_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def normalize_email(email: str) -> str:
    """E-mails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def validate_new_user(email: str, name: str, password: str) -> None:
    """Reject an unusable e-mail, name or password."""
    errors = []
    if len(email) > 254 or not EMAIL.match(email):
        errors.append(FieldError(ErrorCode.INVALID, "Enter a valid e-mail address.", ("email",)))
    if not name.strip() or len(name) > 200:
        errors.append(FieldError(ErrorCode.INVALID, "Name must be 1-200 characters.", ("name",)))
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 1024:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                f"Password must be at least {MIN_PASSWORD_LENGTH} characters.",
                ("password",),
            )
        )
    if errors:
        raise DomainError(*errors)
