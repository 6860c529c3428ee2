"""Users, tenants and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.permissions import Role
from domain.user import Tenant, User
from persistence.database import TenantSession, transaction
from persistence.tables import refresh_tokens, tenants, users

USER_COLUMNS = [
    users.c.id,
    users.c.tenant_id,
    users.c.email,
    users.c.name,
    users.c.role,
    users.c.disabled_at,
    users.c.created_at,
]


@dataclass(frozen=True)
class LoginCandidate:
    user: User
    password_hash: str


@dataclass(frozen=True)
class StoredRefreshToken:
    id: UUID
    tenant_id: UUID
    user_id: UUID
    family_id: UUID
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


def to_user(row: Any) -> User:
    values = dict(row._mapping)
    values["role"] = Role(values["role"])
    return User(**{k: v for k, v in values.items() if k != "password_hash"})


async def login_candidates(engine: AsyncEngine, email: str) -> list[LoginCandidate]:
    """Every user with this e-mail, across tenants (the only query made without a tenant)."""
    async with transaction(engine, None, login_email=email) as conn:
        rows = await conn.execute(
            select(*USER_COLUMNS, users.c.password_hash)
            .where(users.c.email == email)
            .order_by(users.c.created_at, users.c.id)
        )
        return [LoginCandidate(to_user(row), row.password_hash) for row in rows]


async def users_by_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, User]:
    rows = await session.fetch(
        select(*USER_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.id.in_(ids))
    )
    return {row.id: to_user(row) for row in rows}


async def tenants_by_ids(session: TenantSession, ids: Sequence[UUID]) -> dict[UUID, Tenant]:
    rows = await session.fetch(
        select(tenants.c.id, tenants.c.name, tenants.c.created_at).where(tenants.c.id.in_(ids))
    )
    return {row.id: Tenant(**row._mapping) for row in rows}


async def get_user(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> User | None:
    row = (
        await conn.execute(
            select(*USER_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        )
    ).first()
    return to_user(row) if row else None


async def insert_user(
    conn: AsyncConnection, tenant_id: UUID, email: str, name: str, role: Role, password_hash: str
) -> User | None:
    """A new user, or None when the e-mail is taken in this tenant."""
    row = (
        await conn.execute(
            pg_insert(users)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                email=email,
                name=name,
                role=role.value,
                password_hash=password_hash,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "email"])
            .returning(*USER_COLUMNS)
        )
    ).first()
    return to_user(row) if row else None


async def insert_refresh_token(
    conn: AsyncConnection,
    tenant_id: UUID,
    user_id: UUID,
    family_id: UUID,
    token_hash: str,
    ttl: timedelta,
) -> None:
    await conn.execute(
        insert(refresh_tokens).values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            expires_at=datetime.now(UTC) + ttl,
        )
    )


async def refresh_token_for_update(
    conn: AsyncConnection, tenant_id: UUID, token_hash: str
) -> StoredRefreshToken | None:
    r = refresh_tokens.c
    row = (
        await conn.execute(
            select(
                r.id, r.tenant_id, r.user_id, r.family_id, r.expires_at, r.rotated_at, r.revoked_at
            )
            .where(r.tenant_id == tenant_id, r.token_hash == token_hash)
            .with_for_update()
        )
    ).first()
    return StoredRefreshToken(**row._mapping) if row else None


async def mark_rotated(conn: AsyncConnection, tenant_id: UUID, token_id: UUID) -> None:
    r = refresh_tokens.c
    await conn.execute(
        update(refresh_tokens)
        .where(r.tenant_id == tenant_id, r.id == token_id)
        .values(rotated_at=datetime.now(UTC))
    )


async def revoke_family(conn: AsyncConnection, tenant_id: UUID, family_id: UUID) -> None:
    r = refresh_tokens.c
    await conn.execute(
        update(refresh_tokens)
        .where(r.tenant_id == tenant_id, r.family_id == family_id, r.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def get_tenant(conn: AsyncConnection, tenant_id: UUID) -> Tenant | None:
    row = (
        await conn.execute(
            select(tenants.c.id, tenants.c.name, tenants.c.created_at).where(
                tenants.c.id == tenant_id
            )
        )
    ).first()
    return Tenant(**row._mapping) if row else None


async def users_by_emails(
    conn: AsyncConnection, tenant_id: UUID, emails: Sequence[str]
) -> list[User]:
    if not emails:
        return []
    rows = await conn.execute(
        select(*USER_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.email.in_(list(emails)))
    )
    return [to_user(row) for row in rows]
