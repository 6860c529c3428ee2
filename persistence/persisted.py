"""Persisted-query manifests, their documents, and partner API keys.

Everything is tenant-scoped under RLS except `key_by_hash`: a request carrying an API key does not
know its tenant yet, so it reads the one key row whose hash it sets in `app.api_key_hash` (the
`api_key_lookup` policy, like login's `login_lookup` on users), then continues inside the key's
tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.api_keys import PartnerApiKey, PersistedManifest
from domain.permissions import Role
from persistence.database import TenantSession, transaction
from persistence.pagination import SortKey, parse_timestamp
from persistence.tables import (
    partner_api_keys,
    persisted_documents,
    persisted_manifests,
    tenants,
    users,
)

MANIFEST_SORT = SortKey(
    persisted_manifests.c.created_at, persisted_manifests.c.id, True, parse_timestamp
)
KEY_SORT = SortKey(partner_api_keys.c.created_at, partner_api_keys.c.id, True, parse_timestamp)
INSERT_CHUNK = 1_000  # rows per INSERT (asyncpg takes at most 32767 parameters)
TOUCH_INTERVAL = "60 seconds"  # last_used_at is written at most this often per key

KEY_SCOPE = text(
    "SELECT set_config('app.tenant_id', '', true), set_config('app.api_key_hash', :key_hash, true)"
)
TENANT_SCOPE = text(
    "SELECT set_config('app.tenant_id', :tenant_id, true), set_config('app.api_key_hash', '', true)"
)

m = persisted_manifests.c
d = persisted_documents.c
k = partner_api_keys.c


@dataclass(frozen=True)
class KeyLookup:
    """What a request needs from a live key."""

    key_id: UUID
    tenant_id: UUID
    role: Role
    manifest_id: UUID | None
    persisted_only: bool
    created_by: UUID


def _document_count() -> Any:
    return (
        select(func.count())
        .where(d.tenant_id == m.tenant_id, d.manifest_id == m.id)
        .scalar_subquery()
        .label("document_count")
    )


MANIFEST_COLUMNS = [m.id, m.tenant_id, m.name, m.created_by, m.created_at]


def to_manifest(row: Any) -> PersistedManifest:
    return PersistedManifest(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        document_count=int(row.document_count),
    )


def _manifests() -> Any:
    return select(*MANIFEST_COLUMNS, _document_count())


async def manifest_by_id(
    conn: AsyncConnection, tenant_id: UUID, manifest_id: UUID
) -> PersistedManifest | None:
    row = (
        await conn.execute(_manifests().where(m.tenant_id == tenant_id, m.id == manifest_id))
    ).first()
    return to_manifest(row) if row else None


async def manifest_by_name(
    conn: AsyncConnection, tenant_id: UUID, name: str
) -> PersistedManifest | None:
    row = (await conn.execute(_manifests().where(m.tenant_id == tenant_id, m.name == name))).first()
    return to_manifest(row) if row else None


async def upsert_manifest(
    conn: AsyncConnection,
    tenant_id: UUID,
    name: str,
    created_by: UUID | None,
    documents: Mapping[str, str],
) -> tuple[PersistedManifest, int]:
    """Create the manifest or add to the one of this name; (the manifest, documents added).

    Documents are immutable per hash: one already there stays as it is.
    """
    manifest_id = (
        await conn.execute(
            pg_insert(persisted_manifests)
            .values(id=uuid4(), tenant_id=tenant_id, name=name, created_by=created_by)
            # DO UPDATE (not NOTHING) returns the existing row and locks it: concurrent
            # registrations of one name take turns.
            .on_conflict_do_update(index_elements=["tenant_id", "name"], set_={"name": name})
            .returning(m.id)
        )
    ).scalar_one()
    rows = [
        {"tenant_id": tenant_id, "manifest_id": manifest_id, "sha256": sha, "document": document}
        for sha, document in documents.items()
    ]
    added = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        result = await conn.execute(
            pg_insert(persisted_documents)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["tenant_id", "manifest_id", "sha256"])
            .returning(d.sha256)
        )
        added += len(result.all())
    manifest = await manifest_by_id(conn, tenant_id, manifest_id)
    assert manifest is not None
    return manifest, added


async def list_manifests(
    session: TenantSession, tenant_id: UUID, after: tuple[Any, Any] | None, limit: int
) -> list[PersistedManifest]:
    where = [m.tenant_id == tenant_id]
    if after is not None:
        where.append(MANIFEST_SORT.after(*after))
    rows = await session.fetch(
        _manifests().where(*where).order_by(*MANIFEST_SORT.order_by()).limit(limit + 1)
    )
    return [to_manifest(row) for row in rows]


async def count_manifests(session: TenantSession, tenant_id: UUID) -> int:
    rows = await session.fetch(select(func.count()).where(m.tenant_id == tenant_id))
    return int(rows[0][0])


async def manifest_document(
    engine: AsyncEngine, tenant_id: UUID, manifest_id: UUID, sha256: str
) -> str | None:
    """One document of a manifest by its hash, or None."""
    async with transaction(engine, tenant_id) as conn:
        found = await conn.execute(
            select(d.document).where(
                d.tenant_id == tenant_id, d.manifest_id == manifest_id, d.sha256 == sha256
            )
        )
        return found.scalar()


# ---------------------------------------------------------------- keys

KEY_COLUMNS = [
    k.id,
    k.tenant_id,
    k.name,
    k.role,
    k.manifest_id,
    k.persisted_only,
    k.prefix,
    k.created_by,
    k.created_at,
    k.last_used_at,
    k.revoked_at,
]


def _keys() -> Any:
    """Keys with their manifest (outer join) in one statement."""
    return select(
        *KEY_COLUMNS,
        m.name.label("manifest_name"),
        m.created_by.label("manifest_created_by"),
        m.created_at.label("manifest_created_at"),
        _document_count(),
    ).select_from(
        partner_api_keys.outerjoin(
            persisted_manifests, (m.tenant_id == k.tenant_id) & (m.id == k.manifest_id)
        )
    )


def to_key(row: Any) -> PartnerApiKey:
    manifest = None
    if row.manifest_id is not None:
        manifest = PersistedManifest(
            id=row.manifest_id,
            tenant_id=row.tenant_id,
            name=row.manifest_name,
            created_by=row.manifest_created_by,
            created_at=row.manifest_created_at,
            document_count=int(row.document_count),
        )
    return PartnerApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        role=Role(row.role),
        manifest_id=row.manifest_id,
        persisted_only=row.persisted_only,
        prefix=row.prefix,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        manifest=manifest,
    )


async def key_by_id(conn: AsyncConnection, tenant_id: UUID, key_id: UUID) -> PartnerApiKey | None:
    row = (await conn.execute(_keys().where(k.tenant_id == tenant_id, k.id == key_id))).first()
    return to_key(row) if row else None


async def insert_key(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    name: str,
    role: Role,
    manifest_id: UUID | None,
    persisted_only: bool,
    key_hash: str,
    prefix: str,
    created_by: UUID,
) -> PartnerApiKey:
    key_id = uuid4()
    await conn.execute(
        pg_insert(partner_api_keys).values(
            id=key_id,
            tenant_id=tenant_id,
            name=name,
            role=role.value,
            manifest_id=manifest_id,
            persisted_only=persisted_only,
            key_hash=key_hash,
            prefix=prefix,
            created_by=created_by,
        )
    )
    key = await key_by_id(conn, tenant_id, key_id)
    assert key is not None
    return key


async def revoke_key(conn: AsyncConnection, tenant_id: UUID, key_id: UUID) -> PartnerApiKey | None:
    """Revoke a key (revoking again keeps the first time); None when there is no such key."""
    revoked = (
        await conn.execute(
            update(partner_api_keys)
            .where(k.tenant_id == tenant_id, k.id == key_id)
            .values(revoked_at=func.coalesce(k.revoked_at, func.now()))
            .returning(k.id)
        )
    ).first()
    return await key_by_id(conn, tenant_id, key_id) if revoked else None


async def list_keys(
    session: TenantSession, tenant_id: UUID, after: tuple[Any, Any] | None, limit: int
) -> list[PartnerApiKey]:
    where = [k.tenant_id == tenant_id]
    if after is not None:
        where.append(KEY_SORT.after(*after))
    rows = await session.fetch(
        _keys().where(*where).order_by(*KEY_SORT.order_by()).limit(limit + 1)
    )
    return [to_key(row) for row in rows]


async def count_keys(session: TenantSession, tenant_id: UUID) -> int:
    rows = await session.fetch(select(func.count()).where(k.tenant_id == tenant_id))
    return int(rows[0][0])


async def count_live_keys(conn: AsyncConnection, tenant_id: UUID) -> int:
    found = await conn.execute(
        select(func.count()).where(k.tenant_id == tenant_id, k.revoked_at.is_(None))
    )
    return int(found.scalar_one())


async def key_by_hash(engine: AsyncEngine, key_hash: str) -> KeyLookup | None:
    """The live key with this hash, across tenants; None when unknown, revoked, or when its
    creator (whom requests act as) is disabled. Marks the key used (at most once a minute)."""
    async with engine.begin() as conn:
        await conn.execute(KEY_SCOPE, {"key_hash": key_hash})
        found = (
            await conn.execute(
                select(*KEY_COLUMNS).where(k.key_hash == key_hash, k.revoked_at.is_(None)).limit(2)
            )
        ).all()
        if len(found) != 1:  # two keys with one hash (never, with 256 random bits): neither
            return None
        row = found[0]
        # Now inside the key's own tenant (the key-hash scope is dropped).
        await conn.execute(TENANT_SCOPE, {"tenant_id": str(row.tenant_id)})
        creator = (
            await conn.execute(
                select(users.c.disabled_at).where(
                    users.c.tenant_id == row.tenant_id, users.c.id == row.created_by
                )
            )
        ).first()
        if creator is None or creator.disabled_at is not None:
            return None
        await conn.execute(
            update(partner_api_keys)
            .where(
                k.tenant_id == row.tenant_id,
                k.id == row.id,
                k.last_used_at.is_(None)
                | (k.last_used_at < func.now() - text(f"interval '{TOUCH_INTERVAL}'")),
            )
            .values(last_used_at=func.now())
        )
        return KeyLookup(
            key_id=row.id,
            tenant_id=row.tenant_id,
            role=Role(row.role),
            manifest_id=row.manifest_id,
            persisted_only=row.persisted_only,
            created_by=row.created_by,
        )


# ---------------------------------------------------------------- for the CLI


async def find_tenant(engine: AsyncEngine, id_or_name: str) -> list[UUID]:
    """Tenants with this id, or else with this name. Only a role exempt from RLS (such as the
    embedded server's superuser owner) finds tenants by name; others must pass the id."""
    try:
        tenant_id: UUID | None = UUID(id_or_name)
    except ValueError:
        tenant_id = None
    async with transaction(engine, tenant_id) as conn:
        where = tenants.c.id == tenant_id if tenant_id else tenants.c.name == id_or_name
        rows = await conn.execute(select(tenants.c.id).where(where).order_by(tenants.c.id))
        return [row.id for row in rows]


async def acting_admin(conn: AsyncConnection, tenant_id: UUID, email: str | None) -> UUID | None:
    """The active ADMIN a key created from the command line acts as: the one with this e-mail,
    or the tenant's first ADMIN."""
    u = users.c
    where = [u.tenant_id == tenant_id, u.role == Role.ADMIN.value, u.disabled_at.is_(None)]
    if email is not None:
        where.append(u.email == email.strip().lower())
    found = await conn.execute(select(u.id).where(*where).order_by(u.created_at, u.id).limit(1))
    return found.scalar()
