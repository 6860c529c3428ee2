"""Documents and photos: presigned uploads, verified completion, versions, shares, downloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.document import (
    Document,
    DocumentKind,
    DocumentVersion,
    ExtractionStatus,
    SharePermission,
    can_change,
    check_upload,
)
from domain.errors import DomainError, ErrorCode, FieldError, collect
from domain.events import Event
from domain.filetypes import SNIFF_BYTES, matches, sniff
from domain.timeline import TimelineKind
from persistence import construction as construction_store
from persistence import deal as deal_store
from persistence import document as store
from persistence import property as property_store
from persistence import users as user_store
from persistence.document import DOCUMENT_SORT, DocumentListQuery
from persistence.outbox import add_events
from persistence.storage import object_key
from persistence.tables import construction_projects
from resolvers.context import Context
from resolvers.deal import decode, decode_query_id
from resolvers.errors import bad_input, run_write
from resolvers.pagination import Page, build_page, page_size
from resolvers.timeline import record

UPLOAD_URL_SECONDS = 900
DOWNLOAD_URL_SECONDS = 900


@dataclass
class UploadResult:
    upload_url: str | None = None
    upload_expires_at: datetime | None = None
    document: Document | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def photo(self) -> Document | None:
        return self.document


@dataclass
class DocumentResult:
    document: Document | None = None
    errors: list[FieldError] = field(default_factory=list)


def _optional_id(data: Any, name: str, type_name: str) -> UUID | None:
    value = getattr(data, name, UNSET)
    if value in (UNSET, None):
        return None
    return decode(value, type_name, "input", name[0] + name.title().replace("_", "")[1:])


def _event(ctx: Context, document: Document, event_type: str, payload: dict[str, Any]) -> Event:
    principal = ctx.require()
    return Event(
        event_type=event_type,
        aggregate_type="document",
        aggregate_id=document.id,
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        payload={"document_id": str(document.id), "name": document.name, **payload},
    )


async def _presigned(
    ctx: Context, document: Document, name: str, version: int, data: Any, conn: AsyncConnection
) -> UploadResult:
    """A pending version of the document and the URL its bytes go to."""
    principal = ctx.require()
    key = object_key(principal.tenant_id, "documents", str(document.id), f"v{version}", name)
    await store.insert_version(
        conn,
        principal.tenant_id,
        {
            "document_id": document.id,
            "version": version,
            "object_key": key,
            "declared_size": data.size,
            "content_type": data.content_type,
            "uploaded_by": principal.user_id,
        },
    )
    url = ctx.services.storage.presign_put(key, data.content_type, data.size, UPLOAD_URL_SECONDS)
    expires = datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_SECONDS)
    return UploadResult(upload_url=url, upload_expires_at=expires, document=document)


async def upload_create(ctx: Context, data: Any) -> UploadResult:
    principal = ctx.require("documents:write")
    (name, deal_id, property_id, document_id), errors = collect(
        lambda: check_upload(
            data.name,
            data.content_type,
            data.size,
            ctx.services.max_upload_bytes,
            DocumentKind.DOCUMENT,
        ),
        lambda: _optional_id(data, "deal_id", "Deal"),
        lambda: _optional_id(data, "property_id", "Property"),
        lambda: _optional_id(data, "document_id", "Document"),
    )
    if errors:
        return UploadResult(errors=errors)

    async def create(conn: AsyncConnection) -> UploadResult:
        tenant_id = principal.tenant_id
        if document_id is not None:
            found = await store.document_for_update(conn, principal, document_id)
            if found is None or found[0].kind != DocumentKind.DOCUMENT.value:
                raise DomainError.of(
                    ErrorCode.NOT_FOUND, "No document with this ID.", "input", "documentId"
                )
            document, permission = found
            if not can_change(principal, document, permission):
                raise DomainError.of(
                    ErrorCode.FORBIDDEN,
                    "You can't add versions to this document.",
                    "input",
                    "documentId",
                )
            latest = await store.latest_version(conn, tenant_id, document_id)
            version = (latest.version if latest else 0) + 1
            return await _presigned(ctx, document, name, version, data, conn)
        if deal_id and await deal_store.get_deal_for_update(conn, tenant_id, deal_id) is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "input", "dealId")
        if (
            property_id
            and await property_store.get_for_update(conn, tenant_id, property_id) is None
        ):
            raise DomainError.of(
                ErrorCode.NOT_FOUND, "No property with this ID.", "input", "propertyId"
            )
        document = await store.insert_document(
            conn,
            tenant_id,
            {
                "kind": DocumentKind.DOCUMENT.value,
                "name": name,
                "content_type": data.content_type,
                "size": data.size,
                "deal_id": deal_id,
                "property_id": property_id,
                "created_by": principal.user_id,
            },
        )
        return await _presigned(ctx, document, name, 1, data, conn)

    result, errors = await run_write(ctx, create)
    return result if result is not None else UploadResult(errors=errors)


async def photo_upload_create(ctx: Context, project_gid: str, data: Any) -> UploadResult:
    principal = ctx.require("construction:write")
    (name, project_id), errors = collect(
        lambda: check_upload(
            data.name,
            data.content_type,
            data.size,
            ctx.services.max_upload_bytes,
            DocumentKind.PHOTO,
        ),
        lambda: decode(project_gid, "ConstructionProject", "projectId"),
    )
    if errors:
        return UploadResult(errors=errors)

    async def create(conn: AsyncConnection) -> UploadResult:
        project = await construction_store.get_for_update(
            conn, construction_projects, principal.tenant_id, project_id
        )
        if project is None:
            raise DomainError.of(
                ErrorCode.NOT_FOUND, "No construction project with this ID.", "projectId"
            )
        document = await store.insert_document(
            conn,
            principal.tenant_id,
            {
                "kind": DocumentKind.PHOTO.value,
                "name": name,
                "content_type": data.content_type,
                "size": data.size,
                "deal_id": project.deal_id,
                "project_id": project_id,
                "created_by": principal.user_id,
            },
        )
        return await _presigned(ctx, document, name, 1, data, conn)

    result, errors = await run_write(ctx, create)
    return result if result is not None else UploadResult(errors=errors)


async def _verify_upload(ctx: Context, version: DocumentVersion) -> None:
    """The stored bytes must be exactly what was declared; anything else is deleted."""
    storage = ctx.services.storage
    stored = await storage.stat(version.object_key)
    if stored is None:
        raise DomainError.of(ErrorCode.INVALID, "Nothing was uploaded to the upload URL yet.", "id")
    problem = None
    if stored.size != version.declared_size:
        problem = (
            f"The upload is {stored.size:,} bytes, not the {version.declared_size:,} declared."
        )
    else:
        found = sniff(await storage.read(version.object_key, SNIFF_BYTES))
        if not matches(version.content_type, found):
            problem = (
                f"The file's content is {found or 'not a known type'}, not {version.content_type}."
            )
    if problem:
        await storage.delete(version.object_key)
        raise DomainError.of(ErrorCode.INVALID, problem + " Upload it again.", "id")


async def upload_complete(ctx: Context, global_id: str) -> DocumentResult:
    principal = ctx.require("documents:write")
    try:
        document_id = decode(global_id, "Document")
    except DomainError as error:
        return DocumentResult(errors=list(error.errors))

    async def complete(conn: AsyncConnection) -> Document:
        tenant_id = principal.tenant_id
        found = await store.document_for_update(conn, principal, document_id)
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No document with this ID.", "id")
        document, permission = found
        if not can_change(principal, document, permission):
            raise DomainError.of(ErrorCode.FORBIDDEN, "You can't complete this upload.", "id")
        version = await store.latest_version(conn, tenant_id, document_id)
        if version is None or version.status != "PENDING":
            raise DomainError.of(
                ErrorCode.CONFLICT, "There is no upload waiting to be completed.", "id"
            )
        await _verify_upload(ctx, version)
        await store.mark_stored(conn, tenant_id, version.id)
        photo = document.kind == DocumentKind.PHOTO.value
        status = ExtractionStatus.SKIPPED if photo else ExtractionStatus.PENDING
        document = await store.update_document(
            conn,
            tenant_id,
            document_id,
            {
                "version": version.version,
                "size": version.declared_size,
                "content_type": version.content_type,
                "name": version.object_key.rsplit("/", 1)[-1],
                "extraction_status": status.value,
                "extraction_error": None,
            },
        )
        if not photo:
            await store.enqueue_extraction(conn, tenant_id, document_id, version.version)
        payload = {
            "version": version.version,
            "kind": document.kind,
            "content_type": document.content_type,
        }
        event = _event(ctx, document, "document.uploaded", payload)
        if document.deal_id:
            message = (
                f"{'Photo' if photo else 'Document'} added: {document.name} (v{version.version})"
            )
            await record(
                conn,
                ctx,
                document.deal_id,
                TimelineKind.DOCUMENT_ADDED,
                message,
                payload,
                events=[event],
            )
        else:
            await add_events(conn, [event], ctx.request_id)
        return document

    document, errors = await run_write(ctx, complete)
    if document is not None and document.extraction_status == ExtractionStatus.PENDING.value:
        ctx.services.wake_extraction()
    return DocumentResult(document=document, errors=errors)


async def share(ctx: Context, global_id: str, data: Any) -> DocumentResult:
    principal = ctx.require("documents:write")
    (document_id, user_id), errors = collect(
        lambda: decode(global_id, "Document"),
        lambda: decode(data.user_id, "User", "input", "userId"),
    )
    if errors:
        return DocumentResult(errors=errors)

    async def grant(conn: AsyncConnection) -> Document:
        found = await store.document_for_update(conn, principal, document_id)
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No document with this ID.", "id")
        document, permission = found
        if not can_change(principal, document, permission):
            raise DomainError.of(ErrorCode.FORBIDDEN, "You can't share this document.", "id")
        user = await user_store.get_user(conn, principal.tenant_id, user_id)
        if user is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No user with this ID.", "input", "userId")
        level = SharePermission(data.permission.value).value
        await store.put_share(
            conn, principal.tenant_id, document_id, user_id, level, principal.user_id
        )
        await add_events(
            conn,
            [
                _event(
                    ctx, document, "document.shared", {"user_id": str(user_id), "permission": level}
                )
            ],
        )
        return document

    document, errors = await run_write(ctx, grant)
    return DocumentResult(document=document, errors=errors)


async def document_by_id(ctx: Context, global_id: str) -> Document | None:
    ctx.require("documents:read")
    return await ctx.loaders.document_by_id.load(decode_query_id(global_id, "Document"))


async def documents(
    ctx: Context, filter: Any, first: int | None, after: str | None
) -> Page[Document]:
    principal = ctx.require("documents:read")
    limit = page_size(first)
    position = None
    if after:
        try:
            position = DOCUMENT_SORT.decode(after)
        except DomainError as error:
            raise bad_input(error.errors[0].message) from error
    query = DocumentListQuery(principal=principal)
    if filter is not None:
        query.deal_id = decode_query_id(filter.deal_id, "Deal") if filter.deal_id else None
        query.property_id = (
            decode_query_id(filter.property_id, "Property") if filter.property_id else None
        )
        query.project_id = (
            decode_query_id(filter.project_id, "ConstructionProject") if filter.project_id else None
        )
        query.kind = filter.kind.value if filter.kind else None
    rows = await store.list_documents(ctx.session, query, position, limit)

    async def count() -> int:
        return await store.count_documents(ctx.session, query)

    return build_page(rows, limit, lambda d: DOCUMENT_SORT.cursor(d.seq, d.id), count, after)


async def search(ctx: Context, terms: str, first: int | None, after: str | None) -> Page[Document]:
    principal = ctx.require("documents:read")
    limit = page_size(first)
    terms = terms.strip()
    if not terms or len(terms) > 200:
        raise bad_input("Search for 1-200 characters.")
    offset = 0
    if after:
        if not after.startswith("o:") or not after[2:].isdigit():
            raise bad_input("Malformed cursor.")
        offset = int(after[2:])
    rows, total = await store.search_documents(ctx.session, principal, terms, offset, limit)
    positions = {id(row): offset + index + 1 for index, row in enumerate(rows)}

    async def count() -> int:
        return total

    return build_page(rows, limit, lambda d: f"o:{positions[id(d)]}", count, after)


async def download_url(ctx: Context, document: Document) -> str | None:
    """A short-lived download link; every one handed out is written to the access log."""
    principal = ctx.require("documents:read")
    versions = await ctx.loaders.versions_by_document_id.load(document.id)
    current = next((v for v in versions if v.version == document.version), None)
    if current is None:
        return None
    ctx.pending_access.append(
        {
            "tenant_id": principal.tenant_id,
            "document_id": document.id,
            "version": current.version,
            "user_id": principal.user_id,
            "action": "DOWNLOAD_URL",
            "request_id": ctx.request_id,
        }
    )
    return ctx.services.storage.presign_get(
        current.object_key, DOWNLOAD_URL_SECONDS, document.name, current.content_type
    )
