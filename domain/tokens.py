"""Refresh tokens: opaque secrets whose tenant prefix routes the lookup and whose hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID


def new_refresh_token(tenant_id: UUID) -> str:
    """A fresh opaque refresh token for a tenant."""
    return f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"


def refresh_token_tenant(token: str) -> UUID | None:
    """The tenant a refresh token claims, or None when it is not one of ours."""
    prefix, _, secret = token.partition(".")
    if not secret or len(token) > 200:
        return None
    try:
        return UUID(hex=prefix)
    except ValueError:
        return None


def hash_refresh_token(token: str) -> str:
    """What is stored instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()
