"""Partner API keys and persisted-query manifests: ADMIN only (`partners:admin`), tenant-wide.

A manifest is a named set of trusted documents; registering a name again adds documents to it
(documents are immutable per hash). A key's secret is returned once, by create; lists show its
first characters only. Requests made with a key act as the ADMIN who created it, with the key's
role; a persisted-only key runs only documents from its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSyntaxError, parse
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.api_keys import (
    Manifest,
    ManifestError,
    PartnerApiKey,
    PersistedManifest,
    clean_name,
    hash_key,
    key_prefix,
    new_api_key,
    parse_manifest,
)
from domain.errors import DomainError, ErrorCode, FieldError
from domain.permissions import Role
from persistence import persisted as store
from resolvers.context import Context
from resolvers.deal import decode
from resolvers.errors import bad_input, run_write
from resolvers.pagination import Page, build_page, page_size

PERMISSION = "partners:admin"
KEY_NOT_FOUND = FieldError(ErrorCode.NOT_FOUND, "No API key with this ID.", ("id",))
MANIFEST_NOT_FOUND = FieldError(
    ErrorCode.NOT_FOUND, "No persisted manifest with this ID.", ("input", "manifestId")
)
MAX_KEYS = 100  # live keys per tenant


@dataclass
class ManifestResult:
    manifest: PersistedManifest | None = None
    documents_added: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class KeyResult:
    key: PartnerApiKey | None = None
    api_key: str | None = None
    errors: list[FieldError] = field(default_factory=list)


def graphql_syntax_error(document: str) -> str | None:
    """Why a document is not valid GraphQL syntax, or None when it parses."""
    try:
        parse(document, no_location=True)
    except GraphQLSyntaxError as error:
        return error.message
    return None


def read_manifest(data: Any) -> Manifest:
    """A manifest's documents (either format), checked; ManifestError otherwise."""
    return parse_manifest(data, graphql_syntax_error)


def _name(raw: str, *path: str) -> str:
    name = clean_name(raw or "")
    if name is None:
        raise DomainError.of(ErrorCode.INVALID, "A name of 1 to 200 characters.", *path)
    return name


def _page(after: str | None, sort: Any) -> Any:
    if not after:
        return None
    try:
        return sort.decode(after)
    except DomainError as error:
        raise bad_input("Malformed `after` cursor.") from error


async def persisted_manifests(
    ctx: Context, first: int | None, after: str | None
) -> Page[PersistedManifest]:
    principal = ctx.require(PERMISSION)
    limit = page_size(first)
    position = _page(after, store.MANIFEST_SORT)
    rows = await store.list_manifests(ctx.session, principal.tenant_id, position, limit)

    async def count() -> int:
        return await store.count_manifests(ctx.session, principal.tenant_id)

    return build_page(
        rows, limit, lambda row: store.MANIFEST_SORT.cursor(row.created_at, row.id), count, after
    )


async def partner_api_keys(
    ctx: Context, first: int | None, after: str | None
) -> Page[PartnerApiKey]:
    principal = ctx.require(PERMISSION)
    limit = page_size(first)
    position = _page(after, store.KEY_SORT)
    rows = await store.list_keys(ctx.session, principal.tenant_id, position, limit)

    async def count() -> int:
        return await store.count_keys(ctx.session, principal.tenant_id)

    return build_page(
        rows, limit, lambda row: store.KEY_SORT.cursor(row.created_at, row.id), count, after
    )


async def persisted_manifest_register(ctx: Context, data: Any) -> ManifestResult:
    """Create a manifest or add documents to the one of this name; nothing is written when any
    document is bad."""
    principal = ctx.require(PERMISSION)
    try:
        name = _name(data.name, "input", "name")
        manifest = read_manifest(data.manifest)
    except DomainError as error:
        return ManifestResult(errors=list(error.errors))
    except ManifestError as error:
        return ManifestResult(
            errors=[
                FieldError(ErrorCode.INVALID, problem, ("input", "manifest"))
                for problem in error.problems
            ]
        )

    async def register(conn: AsyncConnection) -> tuple[PersistedManifest, int]:
        return await store.upsert_manifest(
            conn, principal.tenant_id, name, principal.user_id, manifest.documents
        )

    result, errors = await run_write(ctx, register)
    if result is None:
        return ManifestResult(errors=errors)
    return ManifestResult(result[0], result[1], errors)


async def partner_api_key_create(ctx: Context, data: Any) -> KeyResult:
    principal = ctx.require(PERMISSION)
    persisted_only = data.persisted_only is not False  # default (and null): persisted-only
    manifest_id = None
    try:
        name = _name(data.name, "input", "name")
        if data.manifest_id not in (UNSET, None):
            manifest_id = decode(data.manifest_id, "PersistedManifest", "input", "manifestId")
    except DomainError as error:
        return KeyResult(errors=list(error.errors))
    if persisted_only and manifest_id is None:
        message = "A persisted-only key needs a manifest (or set persistedOnly: false)."
        return KeyResult(errors=[FieldError(ErrorCode.INVALID, message, ("input", "manifestId"))])
    role = Role(data.role.value if hasattr(data.role, "value") else data.role)
    raw_key = new_api_key()

    async def create(conn: AsyncConnection) -> PartnerApiKey:
        if manifest_id is not None and (
            await store.manifest_by_id(conn, principal.tenant_id, manifest_id) is None
        ):
            raise DomainError(MANIFEST_NOT_FOUND)
        if await store.count_live_keys(conn, principal.tenant_id) >= MAX_KEYS:
            message = f"At most {MAX_KEYS} live API keys per tenant; revoke unused ones."
            raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, message)
        return await store.insert_key(
            conn,
            tenant_id=principal.tenant_id,
            name=name,
            role=role,
            manifest_id=manifest_id,
            persisted_only=persisted_only,
            key_hash=hash_key(raw_key),
            prefix=key_prefix(raw_key),
            created_by=principal.user_id,
        )

    key, errors = await run_write(ctx, create)
    return KeyResult(key, raw_key if key else None, errors)


async def partner_api_key_revoke(ctx: Context, global_id: str) -> KeyResult:
    """Revoke a key: requests with it are refused from now on."""
    principal = ctx.require(PERMISSION)
    try:
        key_id = decode(global_id, "PartnerApiKey", "id")
    except DomainError as error:
        return KeyResult(errors=list(error.errors))

    async def revoke(conn: AsyncConnection) -> PartnerApiKey:
        key = await store.revoke_key(conn, principal.tenant_id, key_id)
        if key is None:
            raise DomainError(KEY_NOT_FOUND)
        return key

    key, errors = await run_write(ctx, revoke)
    return KeyResult(key, None, errors)
