"""Document storage: rows, versions, shares, the access log, full-text search, extraction jobs."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.document import Document, DocumentKind, DocumentVersion, Share
from domain.permissions import Principal, Role
from persistence.database import TenantSession, act_as_worker, transaction
from persistence.leases import lease_due
from persistence.pagination import SortKey
from persistence.tables import (
    deal_members,
    document_access_log,
    document_shares,
    document_versions,
    documents,
    extraction_jobs,
)

DOCUMENT_COLUMNS = [c for c in documents.c if c.key != "search"]
DOCUMENT_SORT = SortKey(documents.c.seq, documents.c.id, True, int)


def to_document(row: Any) -> Document:
    return Document(**row._mapping)


def visible_to(principal: Principal) -> Any:
    """Photos are everyone's; a document is its uploader's, sharees', deal team's, admins'."""
    d = documents.c
    if principal.role is Role.ADMIN:
        return literal(True)
    s, m = document_shares.c, deal_members.c
    shared = exists().where(
        s.tenant_id == d.tenant_id, s.document_id == d.id, s.user_id == principal.user_id
    )
    on_team = exists().where(
        m.tenant_id == d.tenant_id, m.deal_id == d.deal_id, m.user_id == principal.user_id
    )
    return or_(
        d.kind == DocumentKind.PHOTO.value,
        d.created_by == principal.user_id,
        shared,
        and_(d.deal_id.is_not(None), on_team),
    )


@dataclass
class DocumentListQuery:
    principal: Principal
    deal_id: UUID | None = None
    property_id: UUID | None = None
    project_id: UUID | None = None
    kind: str | None = None


def _conditions(query: DocumentListQuery) -> list[Any]:
    d = documents.c
    where = [d.tenant_id == query.principal.tenant_id, d.version > 0, visible_to(query.principal)]
    for column, value in (
        (d.deal_id, query.deal_id),
        (d.property_id, query.property_id),
        (d.project_id, query.project_id),
        (d.kind, query.kind),
    ):
        if value is not None:
            where.append(column == value)
    return where


async def list_documents(
    session: TenantSession, query: DocumentListQuery, after: tuple[Any, Any] | None, limit: int
) -> list[Document]:
    where = _conditions(query)
    if after is not None:
        where.append(DOCUMENT_SORT.after(*after))
    rows = await session.fetch(
        select(*DOCUMENT_COLUMNS).where(*where).order_by(*DOCUMENT_SORT.order_by()).limit(limit + 1)
    )
    return [to_document(row) for row in rows]


async def count_documents(session: TenantSession, query: DocumentListQuery) -> int:
    rows = await session.fetch(
        select(func.count()).select_from(documents).where(*_conditions(query))
    )
    return rows[0][0]


async def search_documents(
    session: TenantSession, principal: Principal, terms: str, offset: int, limit: int
) -> tuple[list[Document], int]:
    """Ranked full-text matches over name and extracted text, and how many match in all."""
    d = documents.c
    query = func.websearch_to_tsquery(text("'english'"), terms)
    where = [
        d.tenant_id == principal.tenant_id,
        d.version > 0,
        visible_to(principal),
        d.search.op("@@")(query),
    ]
    rank = func.ts_rank(d.search, query)
    rows = await session.fetch(
        select(*DOCUMENT_COLUMNS, func.count().over().label("total"))
        .where(*where)
        .order_by(rank.desc(), d.seq.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    total = rows[0].total if rows else 0
    return [
        Document(**{k: v for k, v in row._mapping.items() if k != "total"}) for row in rows
    ], total


async def documents_by_ids(
    session: TenantSession, principal: Principal, ids: Sequence[UUID]
) -> dict[UUID, Document]:
    d = documents.c
    rows = await session.fetch(
        select(*DOCUMENT_COLUMNS).where(
            d.tenant_id == principal.tenant_id, d.id.in_(ids), d.version > 0, visible_to(principal)
        )
    )
    return {row.id: to_document(row) for row in rows}


async def documents_by_parent(
    session: TenantSession, principal: Principal, parent: str, parent_ids: Sequence[UUID], kind: str
) -> dict[UUID, list[Document]]:
    d = documents.c
    rows = await session.fetch(
        select(*DOCUMENT_COLUMNS)
        .where(
            d.tenant_id == principal.tenant_id,
            d[parent].in_(parent_ids),
            d.kind == kind,
            d.version > 0,
            visible_to(principal),
        )
        .order_by(d[parent], d.seq.desc())
    )
    grouped: dict[UUID, list[Document]] = defaultdict(list)
    for row in rows:
        grouped[row._mapping[parent]].append(to_document(row))
    return grouped


async def versions_by_document_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, list[DocumentVersion]]:
    v = document_versions.c
    rows = await session.fetch(
        select(*document_versions.c)
        .where(v.tenant_id == tenant_id, v.document_id.in_(ids), v.status == "STORED")
        .order_by(v.document_id, v.version.desc())
    )
    grouped: dict[UUID, list[DocumentVersion]] = defaultdict(list)
    for row in rows:
        grouped[row.document_id].append(DocumentVersion(**row._mapping))
    return grouped


async def shares_by_document_ids(
    session: TenantSession, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, list[Share]]:
    s = document_shares.c
    rows = await session.fetch(
        select(s.document_id, s.user_id, s.permission, s.granted_by, s.created_at)
        .where(s.tenant_id == tenant_id, s.document_id.in_(ids))
        .order_by(s.document_id, s.created_at)
    )
    grouped: dict[UUID, list[Share]] = defaultdict(list)
    for row in rows:
        grouped[row.document_id].append(Share(**row._mapping))
    return grouped


async def insert_document(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> Document:
    row = (
        await conn.execute(
            insert(documents)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*DOCUMENT_COLUMNS)
        )
    ).one()
    return to_document(row)


async def document_for_update(
    conn: AsyncConnection, principal: Principal, document_id: UUID
) -> tuple[Document, str | None] | None:
    """A visible document, locked, with the caller's share permission on it."""
    d, s = documents.c, document_shares.c
    permission = (
        select(s.permission)
        .where(s.tenant_id == d.tenant_id, s.document_id == d.id, s.user_id == principal.user_id)
        .scalar_subquery()
    )
    row = (
        await conn.execute(
            select(*DOCUMENT_COLUMNS, permission.label("permission"))
            .where(d.tenant_id == principal.tenant_id, d.id == document_id, visible_to(principal))
            .with_for_update(of=documents)
        )
    ).first()
    if row is None:
        return None
    values = dict(row._mapping)
    return Document(**{k: v for k, v in values.items() if k != "permission"}), values["permission"]


async def update_document(
    conn: AsyncConnection, tenant_id: UUID, document_id: UUID, values: dict[str, Any]
) -> Document:
    d = documents.c
    row = (
        await conn.execute(
            update(documents)
            .where(d.tenant_id == tenant_id, d.id == document_id)
            .values(**values, updated_at=func.now())
            .returning(*DOCUMENT_COLUMNS)
        )
    ).one()
    return to_document(row)


async def insert_version(
    conn: AsyncConnection, tenant_id: UUID, values: dict[str, Any]
) -> DocumentVersion:
    row = (
        await conn.execute(
            insert(document_versions)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
            .returning(*document_versions.c)
        )
    ).one()
    return DocumentVersion(**row._mapping)


async def latest_version(
    conn: AsyncConnection, tenant_id: UUID, document_id: UUID
) -> DocumentVersion | None:
    v = document_versions.c
    row = (
        await conn.execute(
            select(*document_versions.c)
            .where(v.tenant_id == tenant_id, v.document_id == document_id)
            .order_by(v.version.desc())
            .limit(1)
        )
    ).first()
    return DocumentVersion(**row._mapping) if row else None


async def mark_stored(conn: AsyncConnection, tenant_id: UUID, version_id: UUID) -> None:
    v = document_versions.c
    await conn.execute(
        update(document_versions)
        .where(v.tenant_id == tenant_id, v.id == version_id)
        .values(status="STORED", stored_at=func.now())
    )


async def put_share(
    conn: AsyncConnection,
    tenant_id: UUID,
    document_id: UUID,
    user_id: UUID,
    permission: str,
    granted_by: UUID,
) -> None:
    statement = pg_insert(document_shares).values(
        tenant_id=tenant_id,
        document_id=document_id,
        user_id=user_id,
        permission=permission,
        granted_by=granted_by,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "document_id", "user_id"],
            set_={
                "permission": statement.excluded.permission,
                "granted_by": statement.excluded.granted_by,
            },
        )
    )


async def log_access(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(document_access_log), rows)


async def enqueue_extraction(
    conn: AsyncConnection, tenant_id: UUID, document_id: UUID, version: int
) -> None:
    await conn.execute(
        pg_insert(extraction_jobs)
        .values(tenant_id=tenant_id, document_id=document_id, version=version)
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True)
class Job:
    tenant_id: UUID
    document_id: UUID
    version: int
    attempts: int


async def claim_jobs(engine: AsyncEngine, limit: int, lease: timedelta) -> list[Job]:
    """Take up to limit due jobs of any tenant for a while (ids only; work happens per tenant)."""
    j = extraction_jobs.c
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await act_as_worker(conn, "extraction")
        rows = await lease_due(
            conn,
            extraction_jobs,
            ("tenant_id", "document_id", "version"),
            (j.status == "QUEUED",),
            limit,
            lease,
            now,
            (j.tenant_id, j.document_id, j.version, j.attempts),
        )
        return [Job(*row) for row in rows]


async def finish_job(
    engine: AsyncEngine, job: Job, status: str, error: str | None, retry_at: datetime | None
) -> None:
    """Close a job (DONE or FAILED), or put it back in the queue for retry_at."""
    j = extraction_jobs.c
    values: dict[str, Any] = {"last_error": error, "locked_until": None, "updated_at": func.now()}
    if retry_at is not None:
        values.update(status="QUEUED", next_attempt_at=retry_at)
    else:
        values["status"] = status
    async with transaction(engine, job.tenant_id) as conn:
        await conn.execute(
            update(extraction_jobs)
            .where(
                j.tenant_id == job.tenant_id,
                j.document_id == job.document_id,
                j.version == job.version,
            )
            .values(**values)
        )


async def job_target(
    conn: AsyncConnection, tenant_id: UUID, document_id: UUID, version: int
) -> tuple[Document, DocumentVersion] | None:
    """The document and the stored version an extraction job is about, if still current."""
    d, v = documents.c, document_versions.c
    document_row = (
        await conn.execute(
            select(*DOCUMENT_COLUMNS).where(d.tenant_id == tenant_id, d.id == document_id)
        )
    ).first()
    version_row = (
        await conn.execute(
            select(*document_versions.c).where(
                v.tenant_id == tenant_id,
                v.document_id == document_id,
                v.version == version,
                v.status == "STORED",
            )
        )
    ).first()
    if document_row is None or version_row is None:
        return None
    return to_document(document_row), DocumentVersion(**version_row._mapping)
