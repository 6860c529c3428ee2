"""Partner API keys and persisted-query manifests: formats, hashes and validation (no I/O).

A key is `reos_pk_` followed by 32 random bytes (urlsafe base64). Only its sha256 is stored: the
secret is high-entropy, so a plain hash is as good as a slow one and costs nothing per request.

A document's id is the sha256 hex of its exact UTF-8 text (the Apollo APQ convention). A
manifest is either `{"<sha256>": "<document>", ...}` or Apollo's persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body",
"name", "type"}]}`). Every id must be the hash of its document, and every document must parse
as GraphQL; the syntax check is passed in (graphql-core's parser lives outside the domain).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.permissions import Role

KEY_PREFIX = "reos_pk_"
KEY_DISPLAY_CHARS = len(KEY_PREFIX) + 6  # "reos_pk_AbC123": enough to tell keys apart
MAX_KEY_LENGTH = 200
APOLLO_FORMAT = "apollo-persisted-query-manifest"
MAX_DOCUMENTS = 5_000
MAX_DOCUMENT_CHARS = 100_000
MAX_NAME_LENGTH = 200
SHOWN_BAD_IDS = 10

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def new_api_key() -> str:
    """A fresh secret key, to be shown once."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_key(raw: str) -> bool:
    """Whether a string could be one of our keys (checked before any lookup)."""
    return raw.startswith(KEY_PREFIX) and len(KEY_PREFIX) < len(raw) <= MAX_KEY_LENGTH


def hash_key(raw: str) -> str:
    """What is stored instead of the key (sha256 hex)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def key_prefix(raw: str) -> str:
    """The key's first characters, shown in lists so people can tell their keys apart."""
    return raw[:KEY_DISPLAY_CHARS]


def document_sha256(document: str) -> str:
    """The sha256 hex of a document's exact UTF-8 text (Apollo APQ and trusted documents)."""
    return hashlib.sha256(document.encode()).hexdigest()


def is_sha256_hex(value: Any) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def parse_document_id(raw: Any) -> str | None:
    """The sha256 hex of a Relay-style `documentId` (`sha256:<hex>` or bare `<hex>`), or None."""
    if not isinstance(raw, str):
        return None
    value = raw.removeprefix("sha256:").lower()
    return value if is_sha256_hex(value) else None


class ManifestError(Exception):
    """A manifest that cannot be registered; `problems` says why, for people."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Manifest:
    """Documents by their sha256 hex."""

    documents: dict[str, str]


@dataclass(frozen=True)
class PersistedManifest:
    id: UUID
    tenant_id: UUID
    name: str
    created_by: UUID | None
    created_at: datetime
    document_count: int


@dataclass(frozen=True)
class PartnerApiKey:
    """A stored key (never its secret). Requests made with it act as its creator, with its role."""

    id: UUID
    tenant_id: UUID
    name: str
    role: Role
    manifest_id: UUID | None
    persisted_only: bool
    prefix: str
    created_by: UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    manifest: PersistedManifest | None = None


def _shown(ids: list[str]) -> str:
    more = len(ids) - SHOWN_BAD_IDS
    listed = ", ".join(str(i) for i in ids[:SHOWN_BAD_IDS])
    return listed + (f" and {more} more" if more > 0 else "")


def _entries(data: Any) -> list[tuple[Any, Any]]:
    """(id, document) pairs from either manifest format."""
    if not isinstance(data, Mapping):
        raise ManifestError(["A manifest is a JSON object."])
    if "format" not in data and "operations" not in data:
        return list(data.items())
    if data.get("format") != APOLLO_FORMAT:
        raise ManifestError([f"Unknown manifest format; expected {APOLLO_FORMAT!r}."])
    if data.get("version") != 1:
        raise ManifestError(["Only version 1 of the Apollo manifest format is supported."])
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError(["`operations` must be a list."])
    pairs = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, Mapping):
            raise ManifestError([f"operations[{index}] is not an object."])
        pairs.append((operation.get("id"), operation.get("body")))
    return pairs


def parse_manifest(data: Any, syntax_error: Callable[[str], str | None]) -> Manifest:
    """A manifest's documents, or ManifestError listing every problem.

    `syntax_error(document)` returns a message when the document is not valid GraphQL syntax.
    """
    pairs = _entries(data)
    if not pairs:
        raise ManifestError(["The manifest has no documents."])
    if len(pairs) > MAX_DOCUMENTS:
        raise ManifestError([f"At most {MAX_DOCUMENTS} documents per manifest."])
    problems: list[str] = []
    malformed: list[str] = []
    mismatched: list[str] = []
    unparsable: list[str] = []
    documents: dict[str, str] = {}
    for raw_id, document in pairs:
        shown = str(raw_id)[:80]
        if not isinstance(document, str) or not document.strip():
            malformed.append(shown)
            continue
        if len(document) > MAX_DOCUMENT_CHARS:
            problems.append(f"Document {shown} is longer than {MAX_DOCUMENT_CHARS} characters.")
            continue
        if not is_sha256_hex(raw_id):
            malformed.append(shown)
            continue
        if document_sha256(document) != raw_id:
            mismatched.append(raw_id)
            continue
        error = syntax_error(document)
        if error is not None:
            unparsable.append(f"{raw_id} ({error})")
            continue
        documents[raw_id] = document
    if malformed:
        problems.append(
            "Ids must be lowercase sha256 hex and documents non-empty strings: " + _shown(malformed)
        )
    if mismatched:
        problems.append("Ids that are not the sha256 of their document: " + _shown(mismatched))
    if unparsable:
        problems.append("Documents that are not valid GraphQL: " + _shown(unparsable))
    if problems:
        raise ManifestError(problems)
    return Manifest(documents)


def clean_name(raw: str) -> str | None:
    """A manifest's or key's name with spaces collapsed, or None when empty or too long."""
    name = " ".join(raw.split())
    return name if 0 < len(name) <= MAX_NAME_LENGTH else None
