"""Idempotency keys for mutations: the same key and request replay the stored response.

A client sends `Idempotency-Key: <key>` with a mutation. The first request with a key claims it
(an "in progress" marker holding the request's fingerprint, expiring after a few minutes so a
crashed request does not lock the key forever), runs, and completes the claim with its
response, kept for `IDEMPOTENCY_TTL_SECONDS`. Later requests with the key:

- same fingerprint, completed: "replay" (the stored response, the mutation does not run again);
- same fingerprint, still running: "in_progress" (the client should retry later);
- another fingerprint, running or completed: "conflict" (a key names one request, not several).

A request that failed without a result worth replaying releases its claim; the key can then
be used again. Keys are scoped to a tenant and a user. In Redis (shared by every instance) a
record is one string `idem:{tenant}:{user}:{sha256(key)}`: a line `pending <token>` or
`done <token>`, a JSON line (fingerprint, status, content type), then the body's bytes.
Redis errors propagate: running a mutation twice is worse than refusing it (503) for a while.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

MAX_KEY_LENGTH = 255
IN_PROGRESS_SECONDS = 120.0  # default lifetime of an "in progress" marker

Outcome = Literal["new", "replay", "conflict", "in_progress"]


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    response: StoredResponse | None  # the stored response, for "replay"
    token: str  # identifies a "new" claim for complete/release (empty otherwise)
    name: str = ""  # the record's name in the store


class IdempotencyStore(Protocol):
    async def claim(self, tenant_id: UUID, user_id: UUID, key: str, fingerprint: str) -> Claim:
        """Claim the key for this request; ValueError for a malformed key."""
        ...

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store the response of a "new" claim (no-op for other claims)."""
        ...

    async def release(self, claim: Claim) -> None:
        """Forget a "new" claim that produced nothing to replay (no-op for other claims)."""
        ...


def check_key(key: str) -> None:
    """ValueError unless the key is 1-255 characters without control characters."""
    if not key:
        raise ValueError("The Idempotency-Key is empty.")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"The Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
    if any(unicodedata.category(char) == "Cc" for char in key):
        raise ValueError("The Idempotency-Key contains control characters.")


def record_name(tenant_id: UUID, user_id: UUID, key: str) -> str:
    check_key(key)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"idem:{tenant_id}:{user_id}:{digest}"


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """sha256 of what a GraphQL request asks for: document, operation name and variables.

    The document is identified by the sha256 of its text, which is also the automatic
    persisted query hash, so a request sent as text, as text with its hash, or as the hash
    alone has the same fingerprint; a stored document (`documentId`) by its id.
    """
    extensions = body.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
    query = body.get("query")
    document: str | None = None
    if isinstance(persisted, Mapping) and isinstance(persisted.get("sha256Hash"), str):
        document = "sha256:" + persisted["sha256Hash"].lower()
    elif isinstance(query, str):
        document = "sha256:" + hashlib.sha256(query.encode()).hexdigest()
    elif body.get("documentId") is not None:
        document_id = str(body["documentId"])
        prefixed = document_id.lower().startswith("sha256:")
        document = document_id.lower() if prefixed else "id:" + document_id
    canonical = json.dumps(
        {
            "document": document,
            "operationName": body.get("operationName") or None,
            "variables": body.get("variables") or {},
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _record(state: str, token: str, fingerprint: str, response: StoredResponse | None) -> bytes:
    header = {"fp": fingerprint}
    if response is not None:
        header |= {"status": response.status, "type": response.content_type}
    head = f"{state} {token}\n{json.dumps(header, separators=(',', ':'))}\n".encode()
    return head + (response.body if response is not None else b"")


def _outcome(record: bytes, fingerprint: str) -> Claim:
    """What an existing record means for a request with this fingerprint."""
    first, _, rest = record.partition(b"\n")
    header_line, _, body = rest.partition(b"\n")
    state = first.split(b" ", 1)[0]
    header = json.loads(header_line)
    if header.get("fp") != fingerprint:
        return Claim("conflict", None, "")
    if state != b"done":
        return Claim("in_progress", None, "")
    response = StoredResponse(int(header["status"]), body, str(header["type"]))
    return Claim("replay", response, "")


class MemoryIdempotencyStore:
    """One process's records (no Redis), with the same expiries."""

    def __init__(
        self,
        ttl_seconds: float,
        in_progress_seconds: float = IN_PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.ttl = ttl_seconds
        self.in_progress = in_progress_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._records: dict[str, tuple[bytes, float]] = {}

    def _get(self, name: str) -> bytes | None:
        found = self._records.get(name)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._records[name]
            return None
        return found[0]

    def _put(self, name: str, record: bytes, seconds: float) -> None:
        if name not in self._records and len(self._records) >= self.max_entries:
            now = self.clock()
            self._records = {n: r for n, r in self._records.items() if r[1] > now}
            while len(self._records) >= self.max_entries:
                self._records.pop(next(iter(self._records)))  # the oldest goes first
        self._records[name] = (record, self.clock() + seconds)

    async def claim(self, tenant_id: UUID, user_id: UUID, key: str, fingerprint: str) -> Claim:
        name = record_name(tenant_id, user_id, key)
        current = self._get(name)
        if current is not None:
            return _outcome(current, fingerprint)
        token = secrets.token_hex(16)
        self._put(name, _record("pending", token, fingerprint, None), self.in_progress)
        return Claim("new", None, token, name)

    def _owned(self, claim: Claim) -> bytes | None:
        if claim.outcome != "new" or not claim.name:
            return None
        current = self._get(claim.name)
        if current is None or not current.startswith(f"pending {claim.token}\n".encode()):
            return None  # expired, and maybe claimed again by another request
        return current

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        current = self._owned(claim)
        if current is not None:
            fingerprint = json.loads(current.split(b"\n", 2)[1])["fp"]
            self._put(claim.name, _record("done", claim.token, fingerprint, response), self.ttl)

    async def release(self, claim: Claim) -> None:
        if self._owned(claim) is not None:
            del self._records[claim.name]


# KEYS[1]: the record. ARGV: the pending line to match ("pending <token>\n"), then the new
# record and its expiry in ms (complete), or nothing (release: delete).
SWAP_IF_PENDING = """
local current = redis.call('GET', KEYS[1])
if not current or string.sub(current, 1, #ARGV[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
"""


class RedisIdempotencyStore:
    """Records shared by every instance through Redis (a client without decode_responses)."""

    def __init__(
        self, redis: Any, ttl_seconds: float, in_progress_seconds: float = IN_PROGRESS_SECONDS
    ) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.in_progress = in_progress_seconds
        self._swap = redis.register_script(SWAP_IF_PENDING)  # EVALSHA, EVAL on NOSCRIPT

    async def claim(self, tenant_id: UUID, user_id: UUID, key: str, fingerprint: str) -> Claim:
        name = record_name(tenant_id, user_id, key)
        token = secrets.token_hex(16)
        marker = _record("pending", token, fingerprint, None)
        for _ in range(5):  # the record may expire between SET NX and GET: then try again
            if await self.redis.set(name, marker, nx=True, px=_ms(self.in_progress)):
                return Claim("new", None, token, name)
            current = await self.redis.get(name)
            if current is not None:
                return _outcome(bytes(current), fingerprint)
        return Claim("in_progress", None, "")

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        if claim.outcome != "new" or not claim.name:
            return
        current = await self.redis.get(claim.name)
        pending = f"pending {claim.token}\n".encode()
        if current is None or not bytes(current).startswith(pending):
            return
        fingerprint = json.loads(bytes(current).split(b"\n", 2)[1])["fp"]
        record = _record("done", claim.token, fingerprint, response)
        await self._swap(keys=[claim.name], args=[pending, record, _ms(self.ttl)])

    async def release(self, claim: Claim) -> None:
        if claim.outcome == "new" and claim.name:
            await self._swap(keys=[claim.name], args=[f"pending {claim.token}\n".encode()])


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def idempotency_store_from(redis: Any, settings: Any) -> IdempotencyStore:
    """In Redis when configured, else in memory. An "in progress" marker outlives the request
    timeout four times over (at least a minute)."""
    in_progress = max(60.0, 4 * float(getattr(settings, "request_timeout_seconds", 30.0)))
    if redis is not None:
        return RedisIdempotencyStore(redis, settings.idempotency_ttl_seconds, in_progress)
    return MemoryIdempotencyStore(settings.idempotency_ttl_seconds, in_progress)
