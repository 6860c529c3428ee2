"""Engines, URLs and the tenant-scoped session: every transaction sets app.tenant_id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy import Executable, Row, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

APP_ROLE = "reos_app"

SET_SCOPE = text(
    "SELECT set_config('app.tenant_id', :tenant_id, true), "
    "set_config('app.login_email', :login_email, true)"
)


def async_url(url: str) -> URL:
    """A libpq-style URL as an asyncpg SQLAlchemy URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg")


def app_role_url(owner_url: str, password: str) -> URL:
    """The application role's URL on the same server and database as the owner's."""
    return async_url(owner_url).set(username=APP_ROLE, password=password)


def create_engine(url: URL | str, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine with a bounded pool."""
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
    )


async def _set_scope(
    conn: AsyncConnection, tenant_id: UUID | None, login_email: str | None
) -> None:
    await conn.execute(
        SET_SCOPE,
        {"tenant_id": str(tenant_id) if tenant_id else "", "login_email": login_email or ""},
    )


AS_WORKER = text(
    "SELECT set_config('app.worker', :worker, true), set_config('app.tenant_id', '', true)"
)


async def act_as_worker(conn: AsyncConnection, worker: str) -> None:
    """Scope a transaction to a named background worker across tenants (its own RLS policy)."""
    await conn.execute(AS_WORKER, {"worker": worker})


@asynccontextmanager
async def transaction(
    engine: AsyncEngine, tenant_id: UUID | None, *, login_email: str | None = None
) -> AsyncIterator[AsyncConnection]:
    """One committed transaction scoped to a tenant (or to a login e-mail when no tenant)."""
    async with engine.begin() as conn:
        await _set_scope(conn, tenant_id, login_email)
        yield conn


class TenantSession:
    """One connection per request, taken on first use; reads share a transaction."""

    def __init__(self, engine: AsyncEngine, tenant_id: UUID | None) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self._conn: AsyncConnection | None = None
        self._read: AsyncTransaction | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self.engine.connect()
        return self._conn

    async def fetch(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Row]:
        """Run a read statement in the request's read transaction."""
        async with self._lock:
            conn = await self._connection()
            if self._read is None:
                self._read = await conn.begin()
                await _set_scope(conn, self.tenant_id, None)
            result = await conn.execute(statement, params or {})
            return result.all()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on any error."""
        async with self._lock:
            conn = await self._connection()
            if self._read is not None:
                await self._read.commit()
                self._read = None
            async with conn.begin():
                await _set_scope(conn, self.tenant_id, None)
                yield conn

    async def close(self) -> None:
        """Release the connection (read transactions are rolled back: they wrote nothing)."""
        async with self._lock:
            if self._conn is not None:
                if self._read is not None:
                    await self._read.rollback()
                    self._read = None
                await self._conn.close()
                self._conn = None


class ShortTenantSession(TenantSession):
    """A session that holds no connection between statements: each read is its own transaction.

    For long-lived work such as subscriptions, where a held connection per client would not scale.
    """

    async def fetch(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Row]:
        async with transaction(self.engine, self.tenant_id) as conn:
            return (await conn.execute(statement, params or {})).all()

    async def close(self) -> None:
        return None
