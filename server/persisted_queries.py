"""Persisted queries: Apollo APQ, trusted documents (partner manifests) and partner API keys.

The HTTP endpoint calls `authenticate` for an `X-API-Key` and `document_for` for every GraphQL
request object, and executes the text it returns (or answers with the RequestRefused).

- Apollo APQ: `extensions.persistedQuery = {version: 1, sha256Hash}`. A hash alone is looked up
  in the APQ store (Redis with a TTL, or an in-process LRU); unknown -> PERSISTED_QUERY_NOT_FOUND,
  and the client sends the hash with the query, which registers it. Store keys are scoped by
  tenant (`apq:{tenant_id|anon}:{hash}`): one tenant never sees another's documents.
- Trusted documents: a Relay-style `documentId` (`sha256:<hex>` or `<hex>`), or an APQ hash sent
  with a partner key, resolves against the key's manifest (documents are immutable per hash, so
  they are cached in process). Without a partner key a `documentId` is looked up in the APQ store.
- A persisted-only partner key may send only documents in its manifest: a free-form query is
  PERSISTED_QUERY_REQUIRED unless its text is in the manifest (safelisting), and APQ registration
  cannot add documents for it.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.api_keys import (
    document_sha256,
    hash_key,
    is_sha256_hex,
    looks_like_key,
    parse_document_id,
)
from domain.permissions import Role
from persistence import persisted as store

logger = logging.getLogger("reos.persisted_queries")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
REQUIRED = "PERSISTED_QUERY_REQUIRED"
BAD_USER_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # Apollo clients match on this exact message
REQUIRED_MESSAGE = "This API key may only run persisted documents from its manifest."
DOCUMENT_CACHE_ENTRIES = 10_000
MEMORY_STORE_MAX_CHARS = 64 * 1024 * 1024


class RequestRefused(Exception):
    """A request we will not execute: a top-level error with `code` and an HTTP `status`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Partner:
    """A live partner API key: requests act as its creator with the key's role."""

    key_id: UUID
    tenant_id: UUID
    role: Role
    manifest_id: UUID | None
    persisted_only: bool
    acting_user_id: UUID  # the ADMIN who created the key


class APQStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, document: str) -> None: ...


class MemoryAPQStore:
    """A bounded LRU in this process (entries and total characters)."""

    def __init__(self, max_entries: int, max_chars: int = MEMORY_STORE_MAX_CHARS) -> None:
        self.max_entries = max(1, max_entries)
        self.max_chars = max_chars
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._size = 0

    async def get(self, key: str) -> str | None:
        document = self._entries.get(key)
        if document is not None:
            self._entries.move_to_end(key)
        return document

    async def put(self, key: str, document: str) -> None:
        if len(document) > self.max_chars:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._size -= len(previous)
        self._entries[key] = document
        self._size += len(document)
        while len(self._entries) > self.max_entries or self._size > self.max_chars:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)


class RedisAPQStore:
    """Redis strings with a TTL (refreshed on every registration). Redis being down is a miss:
    the client then sends the full query, which still runs."""

    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    async def get(self, key: str) -> str | None:
        try:
            value = await self.redis.get(key)
        except Exception:
            logger.warning("apq: redis get failed", exc_info=True)
            return None
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def put(self, key: str, document: str) -> None:
        try:
            await self.redis.set(key, document, ex=self.ttl_seconds)
        except Exception:
            logger.warning("apq: redis set failed", exc_info=True)


def apq_key(tenant_id: UUID | None, sha256: str) -> str:
    return f"apq:{tenant_id or 'anon'}:{sha256}"


def _bad(message: str) -> RequestRefused:
    return RequestRefused(BAD_USER_INPUT, message, 400)


def _not_found() -> RequestRefused:
    return RequestRefused(NOT_FOUND, NOT_FOUND_MESSAGE, 200)


def _required() -> RequestRefused:
    return RequestRefused(REQUIRED, REQUIRED_MESSAGE, 400)


def _extensions(body: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = body.get("extensions")
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):  # tolerated: a GET parameter not decoded by the caller
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _bad("`extensions` must be a JSON object.") from None
    if not isinstance(raw, Mapping):
        raise _bad("`extensions` must be a JSON object.")
    return raw


def _apq_hash(extensions: Mapping[str, Any]) -> str | None:
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping):
        raise _bad("`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != 1:
        raise _bad("Unsupported persisted query version; only version 1 is supported.")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not is_sha256_hex(sha.lower()):
        raise _bad("`sha256Hash` must be a sha256 hex digest.")
    return sha.lower()


def _requested_hash(body: Mapping[str, Any]) -> str | None:
    """The document hash a request names (APQ hash or documentId), or None."""
    apq = _apq_hash(_extensions(body))
    raw_id = body.get("documentId")
    if raw_id is None or raw_id == "":
        return apq
    document_id = parse_document_id(raw_id)
    if document_id is None:
        raise _bad("`documentId` must be `sha256:<hex>` or a sha256 hex digest.")
    if apq is not None and apq != document_id:
        raise _bad("`documentId` and `extensions.persistedQuery.sha256Hash` differ.")
    return document_id


class PersistedQueries:
    """Resolves the document of each request; see the module docstring for the rules."""

    def __init__(self, engine: AsyncEngine, store: APQStore) -> None:
        self.engine = engine
        self.store = store
        self._documents: OrderedDict[tuple[UUID, str], str] = OrderedDict()

    async def authenticate(self, raw_key: str) -> Partner:
        """The partner of a live API key; UNAUTHENTICATED (401) for anything else."""
        refused = RequestRefused(UNAUTHENTICATED, "Invalid API key.", 401)
        raw_key = raw_key.strip() if isinstance(raw_key, str) else ""
        if not looks_like_key(raw_key):
            raise refused
        found = await store.key_by_hash(self.engine, hash_key(raw_key))
        if found is None:
            raise refused
        return Partner(
            key_id=found.key_id,
            tenant_id=found.tenant_id,
            role=found.role,
            manifest_id=found.manifest_id,
            persisted_only=found.persisted_only,
            acting_user_id=found.created_by,
        )

    async def manifest_document(self, partner: Partner, sha256: str) -> str | None:
        """The partner's manifest document with this hash (cached: they never change)."""
        if partner.manifest_id is None:
            return None
        cache_key = (partner.manifest_id, sha256)
        document = self._documents.get(cache_key)
        if document is not None:
            self._documents.move_to_end(cache_key)
            return document
        document = await store.manifest_document(
            self.engine, partner.tenant_id, partner.manifest_id, sha256
        )
        if document is not None:
            self._documents[cache_key] = document
            if len(self._documents) > DOCUMENT_CACHE_ENTRIES:
                self._documents.popitem(last=False)
        return document

    async def document_for(
        self, body: Mapping[str, Any], tenant_id: UUID | None, partner: Partner | None
    ) -> str:
        """The document to execute for one GraphQL request object, or RequestRefused."""
        if partner is not None:
            tenant_id = partner.tenant_id
        query = body.get("query")
        if query == "":
            query = None
        if query is not None and not isinstance(query, str):
            raise _bad("`query` must be a string.")
        sha = _requested_hash(body)

        if sha is None:
            if query is None:
                raise _bad("No GraphQL query found in the request")
            if (
                partner is not None
                and partner.persisted_only
                and await self.manifest_document(partner, document_sha256(query)) is None
            ):
                raise _required()
            return query

        if query is not None:  # registration: the hash must be the query's
            if document_sha256(query) != sha:
                raise _bad("provided sha does not match query")
            if partner is not None:
                if await self.manifest_document(partner, sha) is not None:
                    return query
                if partner.persisted_only:
                    raise _required()
            await self.store.put(apq_key(tenant_id, sha), query)
            return query

        if partner is not None:
            document = await self.manifest_document(partner, sha)
            if document is not None:
                return document
            if partner.persisted_only:
                raise _not_found()
        document = await self.store.get(apq_key(tenant_id, sha))
        if document is None:
            raise _not_found()
        return document


def persisted_queries_from(engine: AsyncEngine, redis: Any, settings: Any) -> PersistedQueries:
    """Redis-backed APQ when there is a Redis client, else an in-process LRU."""
    apq_store: APQStore
    if redis is not None:
        apq_store = RedisAPQStore(redis, settings.apq_ttl_seconds)
    else:
        apq_store = MemoryAPQStore(settings.apq_max_entries)
    return PersistedQueries(engine, apq_store)
