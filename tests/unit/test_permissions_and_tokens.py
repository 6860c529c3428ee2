"""Role permissions and token helpers."""

from __future__ import annotations

import uuid

from domain.permissions import Role, can
from domain.tokens import hash_refresh_token, new_refresh_token, refresh_token_tenant


def test_viewer_reads_but_never_writes() -> None:
    assert can(Role.VIEWER, "properties:read")
    assert not any(can(Role.VIEWER, p) for p in ("properties:write", "deals:write", "users:write"))


def test_only_admin_manages_users() -> None:
    assert [role for role in Role if can(role, "users:write")] == [Role.ADMIN]


def test_every_role_can_read_properties() -> None:
    assert all(can(role, "properties:read") for role in Role)


def test_refresh_tokens_are_random_and_carry_their_tenant() -> None:
    tenant = uuid.uuid4()
    first, second = new_refresh_token(tenant), new_refresh_token(tenant)
    assert first != second
    assert refresh_token_tenant(first) == tenant
    assert hash_refresh_token(first) != hash_refresh_token(second)
    assert tenant.hex not in hash_refresh_token(first)
    for bad in ("", "nodot", "zz.secret", "." + "a" * 10):
        assert refresh_token_tenant(bad) is None
