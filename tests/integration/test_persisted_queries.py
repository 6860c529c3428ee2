"""Persisted queries against real PostgreSQL (as the RLS-bound app role) and real Redis: APQ,
trusted documents from partner manifests, persisted-only keys and key authentication."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import redis.asyncio as redis_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.api_keys import document_sha256, hash_key, key_prefix, new_api_key
from domain.permissions import Role
from persistence.database import create_engine, transaction
from persistence.persisted import insert_key, revoke_key, upsert_manifest
from server.persisted_queries import (
    MemoryAPQStore,
    Partner,
    PersistedQueries,
    RequestRefused,
    persisted_queries_from,
)
from server.settings import Settings

ME = "query Me { me { id email } }"
PROPS = "query Props { properties(first: 1) { totalCount } }"
DEALS = "query Deals { deals(first: 1) { totalCount } }"


def apq(sha: str, query: str | None = None, version: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": version, "sha256Hash": sha}}
    }
    if query is not None:
        body["query"] = query
    return body


def unique(text: str) -> str:
    """A document no other test registered (the database and Redis are shared)."""
    return f"{text} # {uuid4().hex}"


class World:
    def __init__(self, engine: AsyncEngine, pq: PersistedQueries, owner_url: str) -> None:
        self.engine = engine
        self.pq = pq
        self.owner_url = owner_url
        self.demo = self.other = self.demo_admin = UUID(int=0)

    async def db(self, query: str, *args: Any) -> list[Any]:
        """One query as the database owner."""
        conn = await asyncpg.connect(self.owner_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def user(self, email: str) -> UUID:
        return (await self.db("SELECT id FROM users WHERE email = $1", email))[0][0]

    async def load(self) -> World:
        tenants = dict(await self.db("SELECT name, id FROM tenants"))
        self.demo, self.other = tenants["Demo Capital"], tenants["Other Fund"]
        self.demo_admin = await self.user("demo@reos.dev")
        return self

    async def manifest(self, tenant_id: UUID, *documents: str) -> UUID:
        async with transaction(self.engine, tenant_id) as conn:
            manifest, added = await upsert_manifest(
                conn,
                tenant_id,
                f"manifest {uuid4().hex[:8]}",
                None,
                {document_sha256(doc): doc for doc in documents},
            )
        assert added == len(documents)
        return manifest.id

    async def key(
        self,
        tenant_id: UUID,
        manifest_id: UUID | None,
        persisted_only: bool = True,
        creator: str | None = None,
        role: Role = Role.VIEWER,
    ) -> str:
        raw = new_api_key()
        if creator is None:
            creator = "demo@reos.dev" if tenant_id == self.demo else "other@reos.dev"
        async with transaction(self.engine, tenant_id) as conn:
            await insert_key(
                conn,
                tenant_id=tenant_id,
                name="partner",
                role=role,
                manifest_id=manifest_id,
                persisted_only=persisted_only,
                key_hash=hash_key(raw),
                prefix=key_prefix(raw),
                created_by=await self.user(creator),
            )
        return raw

    async def partner(
        self, tenant_id: UUID, *documents: str, persisted_only: bool = True
    ) -> Partner:
        manifest_id = await self.manifest(tenant_id, *documents) if documents else None
        raw = await self.key(tenant_id, manifest_id, persisted_only)
        return await self.pq.authenticate(raw)

    async def refused_auth(self, raw_key: str) -> Any:
        with pytest.raises(RequestRefused) as raised:
            await self.pq.authenticate(raw_key)
        return raised.value

    async def refused(self, body: dict[str, Any], tenant_id: UUID | None, partner: Any) -> Any:
        with pytest.raises(RequestRefused) as raised:
            await self.pq.document_for(body, tenant_id, partner)
        return raised.value


@pytest.fixture(params=["redis", "memory"])
def run(
    request, app_url, redis_url, owner_url
) -> Callable[[Callable[[World], Awaitable[None]]], None]:
    """run(test): the test against a fresh PersistedQueries on the Redis or the memory store."""

    def runner(test: Callable[[World], Awaitable[None]]) -> None:
        async def main() -> None:
            engine = create_engine(app_url, pool_size=2)
            redis = redis_asyncio.from_url(redis_url) if request.param == "redis" else None
            try:
                pq = persisted_queries_from(engine, redis, Settings(env="test"))
                await test(await World(engine, pq, owner_url).load())
            finally:
                if redis is not None:
                    await redis.aclose()
                await engine.dispose()

        asyncio.run(main())

    return runner


def test_apq_miss_register_hit(run) -> None:
    async def test(w: World) -> None:
        query = unique(ME)
        sha = document_sha256(query)
        miss = await w.refused(apq(sha), w.demo, None)
        assert (miss.code, miss.message, miss.status) == (
            "PERSISTED_QUERY_NOT_FOUND",
            "PersistedQueryNotFound",
            200,
        )
        assert await w.pq.document_for(apq(sha, query), w.demo, None) == query
        assert await w.pq.document_for(apq(sha), w.demo, None) == query
        assert await w.pq.document_for(apq(sha.upper()), w.demo, None) == query

    run(test)


def test_apq_hash_must_match_the_query_and_version_must_be_1(run) -> None:
    async def test(w: World) -> None:
        query = unique(ME)
        wrong = await w.refused(apq(document_sha256(PROPS), query), w.demo, None)
        assert (wrong.code, wrong.message, wrong.status) == (
            "BAD_USER_INPUT",
            "provided sha does not match query",
            400,
        )
        # Nothing was stored under the wrong hash, nor under the right one.
        assert (await w.refused(apq(document_sha256(query)), w.demo, None)).status == 200
        version = await w.refused(apq(document_sha256(query), query, version=2), w.demo, None)
        assert version.code == "BAD_USER_INPUT"
        malformed = await w.refused(apq("abc", query), w.demo, None)
        assert malformed.code == "BAD_USER_INPUT"

    run(test)


def test_apq_documents_are_scoped_by_tenant(run) -> None:
    async def test(w: World) -> None:
        query = unique(ME)
        sha = document_sha256(query)
        await w.pq.document_for(apq(sha, query), w.demo, None)
        assert await w.pq.document_for(apq(sha), w.demo, None) == query
        for tenant_id in (w.other, None):
            refused = await w.refused(apq(sha), tenant_id, None)
            assert refused.code == "PERSISTED_QUERY_NOT_FOUND"
        anonymous = unique(PROPS)
        await w.pq.document_for(apq(document_sha256(anonymous), anonymous), None, None)
        assert await w.pq.document_for(apq(document_sha256(anonymous)), None, None) == anonymous
        assert (await w.refused(apq(document_sha256(anonymous)), w.demo, None)).status == 200

    run(test)


def test_plain_queries_pass_and_empty_requests_are_refused(run) -> None:
    async def test(w: World) -> None:
        assert await w.pq.document_for({"query": ME}, w.demo, None) == ME
        assert await w.pq.document_for({"query": ME, "extensions": {}}, None, None) == ME
        for body in ({}, {"query": ""}, {"variables": {}}):
            refused = await w.refused(body, w.demo, None)
            assert (refused.code, refused.message, refused.status) == (
                "BAD_USER_INPUT",
                "No GraphQL query found in the request",
                400,
            )
        assert (await w.refused({"query": 42}, None, None)).code == "BAD_USER_INPUT"
        assert (await w.refused({"query": ME, "extensions": []}, None, None)).status == 400

    run(test)


def test_document_ids_resolve_against_the_partner_manifest(run) -> None:
    async def test(w: World) -> None:
        document = unique(PROPS)
        sha = document_sha256(document)
        partner = await w.partner(w.demo, document)
        for document_id in (f"sha256:{sha}", sha):
            body = {"documentId": document_id}
            assert await w.pq.document_for(body, None, partner) == document
        # An APQ hash sent with a partner key resolves against the manifest too.
        assert await w.pq.document_for(apq(sha), None, partner) == document
        unknown = await w.refused({"documentId": f"sha256:{document_sha256(DEALS)}"}, None, partner)
        assert (unknown.code, unknown.status) == ("PERSISTED_QUERY_NOT_FOUND", 200)
        malformed = await w.refused({"documentId": "sha256:nothex"}, None, partner)
        assert malformed.code == "BAD_USER_INPUT"

    run(test)


def test_document_ids_without_a_key_use_the_apq_store(run) -> None:
    async def test(w: World) -> None:
        query = unique(ME)
        sha = document_sha256(query)
        missing = await w.refused({"documentId": f"sha256:{sha}"}, w.demo, None)
        assert missing.code == "PERSISTED_QUERY_NOT_FOUND"
        await w.pq.document_for(apq(sha, query), w.demo, None)
        assert await w.pq.document_for({"documentId": f"sha256:{sha}"}, w.demo, None) == query
        # A manifest document is not reachable without the partner's key.
        document = unique(PROPS)
        await w.manifest(w.demo, document)
        refused = await w.refused({"documentId": document_sha256(document)}, w.demo, None)
        assert refused.code == "PERSISTED_QUERY_NOT_FOUND"

    run(test)


def test_persisted_only_keys_run_manifest_documents_only(run) -> None:
    async def test(w: World) -> None:
        listed = unique(PROPS)
        partner = await w.partner(w.demo, listed)
        assert partner.persisted_only
        free_form = unique(ME)
        refused = await w.refused({"query": free_form}, None, partner)
        assert (refused.code, refused.status) == ("PERSISTED_QUERY_REQUIRED", 400)
        # The text of a manifest document is accepted as is (safelisting).
        assert await w.pq.document_for({"query": listed}, None, partner) == listed
        # APQ registration cannot add documents for this key...
        sha = document_sha256(free_form)
        register = await w.refused(apq(sha, free_form), None, partner)
        assert register.code == "PERSISTED_QUERY_REQUIRED"
        assert (await w.refused(apq(sha), None, partner)).code == "PERSISTED_QUERY_NOT_FOUND"
        # ...nor do documents registered by first-party apps of its tenant become runnable.
        await w.pq.document_for(apq(sha, free_form), w.demo, None)
        assert (await w.refused(apq(sha), None, partner)).code == "PERSISTED_QUERY_NOT_FOUND"
        # Registering a manifest document by hash and text is fine.
        listed_sha = document_sha256(listed)
        assert await w.pq.document_for(apq(listed_sha, listed), None, partner) == listed

    run(test)


def test_keys_allowing_free_form_queries_use_their_tenants_apq_store(run) -> None:
    async def test(w: World) -> None:
        partner = await w.partner(w.demo, persisted_only=False)
        assert partner.manifest_id is None and not partner.persisted_only
        assert await w.pq.document_for({"query": ME}, None, partner) == ME
        query = unique(DEALS)
        sha = document_sha256(query)
        assert await w.pq.document_for(apq(sha, query), w.other, partner) == query
        assert await w.pq.document_for(apq(sha), w.demo, None) == query  # the key's tenant
        assert (await w.refused(apq(sha), w.other, None)).status == 200

    run(test)


def test_a_key_resolves_only_its_own_tenants_manifest(run) -> None:
    async def test(w: World) -> None:
        theirs = unique(PROPS)
        await w.manifest(w.other, theirs)
        ours = unique(ME)
        partner = await w.partner(w.demo, ours)
        assert partner.tenant_id == w.demo
        for body in ({"documentId": document_sha256(theirs)}, apq(document_sha256(theirs))):
            refused = await w.refused(body, w.other, partner)
            assert refused.code == "PERSISTED_QUERY_NOT_FOUND"
        assert await w.pq.document_for({"documentId": document_sha256(ours)}, None, partner) == ours
        other_partner = await w.partner(w.other, theirs)
        assert other_partner.tenant_id == w.other
        body = {"documentId": document_sha256(theirs)}
        assert await w.pq.document_for(body, None, other_partner) == theirs
        mine = {"documentId": document_sha256(ours)}
        assert (await w.refused(mine, None, other_partner)).code == "PERSISTED_QUERY_NOT_FOUND"

    run(test)


def test_authentication_by_key(run) -> None:
    async def test(w: World) -> None:
        manifest_id = await w.manifest(w.demo, unique(ME))
        raw = await w.key(w.demo, manifest_id, role=Role.ANALYST)
        partner = await w.pq.authenticate(raw)
        assert partner.tenant_id == w.demo
        assert partner.role is Role.ANALYST
        assert partner.manifest_id == manifest_id
        assert partner.persisted_only is True
        assert partner.acting_user_id == w.demo_admin
        used = await w.db("SELECT last_used_at FROM partner_api_keys WHERE id = $1", partner.key_id)
        assert used[0][0] is not None

        for bad in (raw + "x", new_api_key(), "reos_pk_", "Bearer " + raw, ""):
            refused = await w.refused_auth(bad)
            assert (refused.code, refused.message, refused.status) == (
                "UNAUTHENTICATED",
                "Invalid API key.",
                401,
            )

        async with transaction(w.engine, w.demo) as conn:
            revoked = await revoke_key(conn, w.demo, partner.key_id)
        assert revoked is not None and revoked.revoked_at is not None
        assert (await w.refused_auth(raw)).status == 401

    run(test)


def test_a_key_stops_working_when_its_creator_is_disabled(run) -> None:
    async def test(w: World) -> None:
        email = f"admin-{uuid4().hex[:8]}@reos.dev"
        await w.db(
            """INSERT INTO users (tenant_id, email, name, role, password_hash)
               VALUES ($1, $2, 'Temp Admin', 'ADMIN', 'x')""",
            w.other,
            email,
        )
        raw = await w.key(w.other, None, persisted_only=False, creator=email)
        assert (await w.pq.authenticate(raw)).acting_user_id == await w.user(email)
        await w.db("UPDATE users SET disabled_at = now() WHERE email = $1", email)
        assert (await w.refused_auth(raw)).code == "UNAUTHENTICATED"

    run(test)


def test_the_key_lookup_policy_shows_one_row_to_the_app_role(db) -> None:
    """Without a tenant the app role sees a key only by its exact hash, and nothing else."""
    rows = db("SELECT key_hash FROM partner_api_keys LIMIT 1")
    assert rows, "earlier tests created keys"
    key_hash = rows[0][0]
    assert db.app("SELECT count(*) FROM partner_api_keys")[0][0] == 0
    scoped = db.app(
        """WITH s AS (SELECT set_config('app.api_key_hash', $1, false))
           SELECT count(*) FROM s, partner_api_keys""",
        key_hash,
    )
    assert scoped[0][0] == 1
    for table in ("persisted_manifests", "persisted_documents"):
        hidden = db.app(
            f"""WITH s AS (SELECT set_config('app.api_key_hash', $1, false))
                SELECT count(*) FROM s, {table}""",
            key_hash,
        )
        assert hidden[0][0] == 0


def test_memory_store_is_a_bounded_lru() -> None:
    async def main() -> None:
        store = MemoryAPQStore(max_entries=2, max_chars=10)
        await store.put("a", "1111")
        await store.put("b", "2222")
        assert await store.get("a") == "1111"  # a is now the most recent
        await store.put("c", "3333")
        assert await store.get("b") is None
        assert await store.get("a") == "1111" and await store.get("c") == "3333"
        await store.put("d", "4444444")  # 7 characters: only d fits with nothing else
        assert len(store) == 1 and await store.get("d") == "4444444"
        await store.put("e", "x" * 11)  # larger than the whole store: not kept
        assert await store.get("e") is None

    asyncio.run(main())
