"""Partner API keys and persisted-query manifests (trusted documents): ADMIN only."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import partner as resolve
from resolvers.ids import to_global_id
from schema.auth import Role
from schema.common import Connection, UserError
from schema.permissions import requires

ADMIN = requires(resolve.PERMISSION)


@strawberry.type(
    description="A named set of trusted GraphQL documents, each identified by the sha256 hex of "
    "its exact text. Partner API keys run documents from their manifest by hash "
    "(extensions.persistedQuery.sha256Hash, or documentId)."
)
class PersistedManifest:
    name: str = strawberry.field(description="Unique in the tenant.")
    document_count: int = strawberry.field(description="Documents in the manifest.")
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("PersistedManifest", self.id))  # type: ignore[arg-type]


@strawberry.type(
    description="A partner's API key (sent as X-API-Key). Requests made with it act as the "
    "ADMIN who created it, with the key's role; the secret itself is shown only once."
)
class PartnerApiKey:
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    role: Role = strawberry.field(description="What requests made with the key may do.")
    persisted_only: bool = strawberry.field(
        description="Only documents from the manifest may run (PERSISTED_QUERY_REQUIRED else)."
    )
    manifest: PersistedManifest | None = strawberry.field(
        description="The trusted documents the key may run by hash."
    )
    created_at: datetime | None
    last_used_at: datetime | None = strawberry.field(
        description="Last request made with the key (updated at most once a minute)."
    )
    revoked_at: datetime | None = strawberry.field(
        description="Set once revoked: the key no longer authenticates."
    )

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("PartnerApiKey", self.id))  # type: ignore[arg-type]


@strawberry.input(description="Documents to register under a manifest name.")
class PersistedManifestRegisterInput:
    name: str = strawberry.field(
        description="The manifest's name; registering an existing name adds its new documents."
    )
    manifest: JSON = strawberry.field(
        description='{"<sha256>": "<document>", ...} or an Apollo persisted-query manifest '
        '({"format": "apollo-persisted-query-manifest", "version": 1, "operations": '
        '[{"id", "body", "name", "type"}]}). Every id must be the sha256 hex of its document.'
    )


@strawberry.input(description="A new partner API key.")
class PartnerApiKeyCreateInput:
    name: str = strawberry.field(description="Who or what the key is for.")
    role: Role = strawberry.field(description="What requests made with the key may do.")
    manifest_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The manifest of documents the key may run by hash."
    )
    persisted_only: bool | None = strawberry.field(
        default=True,
        description="Only documents from the manifest may run (needs manifestId).",
    )


@strawberry.type
class PersistedManifestPayload:
    manifest: PersistedManifest | None
    documents_added: int | None = strawberry.field(
        description="Documents that were not in the manifest before."
    )
    errors: list[UserError]


@strawberry.type
class PartnerApiKeyCreatePayload:
    api_key: str | None = strawberry.field(
        description="The secret key, shown this once: store it now."
    )
    key: PartnerApiKey | None
    errors: list[UserError]


@strawberry.type
class PartnerApiKeyPayload:
    key: PartnerApiKey | None
    errors: list[UserError]


@strawberry.type
class PartnerQuery:
    @strawberry.field(
        description="The tenant's persisted-query manifests (ADMIN).", extensions=ADMIN
    )
    async def persisted_manifests(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PersistedManifest]:
        return await resolve.persisted_manifests(info.context, first, after)  # type: ignore[return-value]

    @strawberry.field(
        description="The tenant's partner API keys, revoked ones included (ADMIN).",
        extensions=ADMIN,
    )
    async def partner_api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PartnerApiKey]:
        return await resolve.partner_api_keys(info.context, first, after)  # type: ignore[return-value]


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(
        description="Register trusted documents under a manifest name (ADMIN). A bad manifest "
        "(an id that is not its document's sha256, a document that does not parse) fails with "
        "INVALID and writes nothing.",
        extensions=ADMIN,
    )
    async def persisted_manifest_register(
        self, info: Info, input: PersistedManifestRegisterInput
    ) -> PersistedManifestPayload:
        return await resolve.persisted_manifest_register(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Create a partner API key (ADMIN); the payload's apiKey is shown once.",
        extensions=ADMIN,
    )
    async def partner_api_key_create(
        self, info: Info, input: PartnerApiKeyCreateInput
    ) -> PartnerApiKeyCreatePayload:
        return await resolve.partner_api_key_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Revoke a partner API key (ADMIN): it stops working at once.",
        extensions=ADMIN,
    )
    async def partner_api_key_revoke(self, info: Info, id: strawberry.ID) -> PartnerApiKeyPayload:
        return await resolve.partner_api_key_revoke(info.context, id)  # type: ignore[return-value]
