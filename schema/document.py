"""Documents and photos: upload, versions, shares, downloads, extraction, search."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain import document as domain
from domain.extraction import DocumentExtraction as ExtractionRecord
from domain.extraction import DocumentType as DomainDocumentType
from resolvers import document as resolve
from resolvers.ids import to_global_id
from schema.auth import User
from schema.common import Connection, Node, UserError
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.construction import ConstructionProject
    from schema.deal import Deal
    from schema.property import Property

DocumentKind = strawberry.enum(domain.DocumentKind, name="DocumentKind")
SharePermission = strawberry.enum(domain.SharePermission, name="SharePermission")
ExtractionStatus = strawberry.enum(domain.ExtractionStatus, name="ExtractionStatus")
DocumentType = strawberry.enum(DomainDocumentType, name="DocumentType")
DealRef = Annotated["Deal", strawberry.lazy("schema.deal")]
PropertyRef = Annotated["Property", strawberry.lazy("schema.property")]
ProjectRef = Annotated["ConstructionProject", strawberry.lazy("schema.construction")]


@strawberry.type
class ExtractedParty:
    name: str
    role: str
    confidence: float


@strawberry.type
class ExtractedDate:
    label: str
    value: date
    confidence: float


@strawberry.type
class ExtractedAmount:
    label: str
    value: Decimal
    confidence: float


@strawberry.type(description="Key facts pulled out of a document, for a person to review.")
class DocumentExtraction:
    status: ExtractionStatus
    document_type: DocumentType | None
    parties: list[ExtractedParty]
    dates: list[ExtractedDate]
    amounts: list[ExtractedAmount]
    confidence: float | None
    extractor: str | None
    error: str | None = strawberry.field(description="The last failure, while retrying or failed.")


@strawberry.type(description="One stored upload of a document.")
class DocumentVersion:
    version: int
    content_type: str
    stored_at: datetime | None

    @strawberry.field
    def size(self) -> int:
        return self.declared_size  # type: ignore[attr-defined]


@strawberry.type(description="A user a document is shared with.")
class DocumentShare:
    permission: SharePermission
    created_at: datetime | None

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await info.context.loaders.user_by_id.load(self.user_id)  # type: ignore[attr-defined]


def _extraction(document: domain.Document) -> DocumentExtraction:
    status = domain.ExtractionStatus(document.extraction_status)
    found = ExtractionRecord.from_json(document.extraction) if document.extraction else None
    return DocumentExtraction(
        status=status,  # type: ignore[arg-type]
        document_type=found.document_type if found else None,  # type: ignore[arg-type]
        parties=[
            ExtractedParty(name=p.name, role=p.role, confidence=p.confidence) for p in found.parties
        ]
        if found
        else [],
        dates=[
            ExtractedDate(label=d.label, value=d.value, confidence=d.confidence)
            for d in found.dates
        ]
        if found
        else [],
        amounts=[
            ExtractedAmount(label=a.label, value=a.value, confidence=a.confidence)
            for a in found.amounts
        ]
        if found
        else [],
        confidence=found.confidence if found else None,
        extractor=found.extractor if found else None,
        error=document.extraction_error,
    )


@strawberry.type(description="A file kept with a deal or property: versioned, shared, searchable.")
class Document(Node):
    name: str
    kind: DocumentKind
    content_type: str
    size: int
    version: int
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Document", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="Stored versions, newest first.")
    async def versions(self, info: Info) -> list[DocumentVersion]:
        return await info.context.loaders.versions_by_document_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="A link valid for 15 minutes; each one is logged.")
    async def download_url(self, info: Info) -> str | None:
        return await resolve.download_url(info.context, self)  # type: ignore[arg-type]

    @strawberry.field
    async def shares(self, info: Info) -> list[DocumentShare]:
        return await info.context.loaders.shares_by_document_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    def extraction(self) -> DocumentExtraction:
        return _extraction(self)  # type: ignore[arg-type]

    @strawberry.field
    async def deal(self, info: Info) -> DealRef | None:
        if self.deal_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def property(self, info: Info) -> PropertyRef | None:
        if self.property_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.property_by_id.load(self.property_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def project(self, info: Info) -> ProjectRef | None:
        if self.project_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.project_by_id.load(self.project_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def uploaded_by(self, info: Info) -> User | None:
        if self.created_by is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.user_by_id.load(self.created_by)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Document)


@strawberry.type(description="A photo of a construction project.")
class Photo(Node):
    name: str
    content_type: str
    size: int
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Document", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="A link valid for 15 minutes; each one is logged.")
    async def url(self, info: Info) -> str | None:
        return await resolve.download_url(info.context, self)  # type: ignore[arg-type]

    @strawberry.field
    async def uploaded_by(self, info: Info) -> User | None:
        if self.created_by is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.user_by_id.load(self.created_by)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Document) and obj.kind == domain.DocumentKind.PHOTO.value


@strawberry.type(name="DocumentConnection")
class DocumentConnection(Connection[Document]):
    pass


@strawberry.input
class DocumentFilter:
    deal_id: strawberry.ID | None = None
    property_id: strawberry.ID | None = None
    project_id: strawberry.ID | None = None
    kind: DocumentKind | None = None


@strawberry.input(description="A file to upload: the bytes go to the returned URL, then complete.")
class DocumentUploadInput:
    name: str
    content_type: str = strawberry.field(description="application/pdf, image/png, text/csv, ...")
    size: int = strawberry.field(description="Exact size in bytes.")
    deal_id: strawberry.ID | None = UNSET
    property_id: strawberry.ID | None = UNSET
    document_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Upload a new version of this document."
    )


@strawberry.input
class UploadInput:
    name: str
    content_type: str
    size: int


@strawberry.input
class DocumentShareInput:
    user_id: strawberry.ID
    permission: SharePermission


@strawberry.type
class DocumentUploadPayload:
    upload_url: str | None = strawberry.field(
        description="PUT the bytes here, with this Content-Type."
    )
    upload_expires_at: datetime | None
    document: Document | None
    errors: list[UserError]


@strawberry.type
class PhotoUploadPayload:
    upload_url: str | None
    upload_expires_at: datetime | None
    photo: Photo | None
    errors: list[UserError]


@strawberry.type
class DocumentPayload:
    document: Document | None = strawberry.field(description="Photos too (kind PHOTO).")
    errors: list[UserError]


@strawberry.type
class DocumentQuery:
    @strawberry.field(extensions=requires("documents:read"))
    async def document(self, info: Info, id: strawberry.ID) -> Document | None:
        return await resolve.document_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field(
        description="Documents you can see, newest first.", extensions=requires("documents:read")
    )
    async def documents(
        self,
        info: Info,
        filter: DocumentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> DocumentConnection:
        return await resolve.documents(info.context, filter, first, after)  # type: ignore[return-value]

    @strawberry.field(
        description="Full text over names and extracted text, best matches first.",
        extensions=requires("documents:read"),
    )
    async def document_search(
        self, info: Info, query: str, first: int | None = None, after: str | None = None
    ) -> DocumentConnection:
        return await resolve.search(info.context, query, first, after)  # type: ignore[return-value]


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description="Start an upload: checks name, type and size; returns a presigned PUT URL.",
        extensions=requires("documents:write"),
    )
    async def document_upload_create(
        self, info: Info, input: DocumentUploadInput
    ) -> DocumentUploadPayload:
        return await resolve.upload_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Finish an upload: verify the stored bytes, add the version, queue extraction.",
        extensions=requires("documents:write"),
    )
    async def document_upload_complete(self, info: Info, id: strawberry.ID) -> DocumentPayload:
        return await resolve.upload_complete(info.context, id)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("documents:write"))
    async def document_share(
        self, info: Info, id: strawberry.ID, input: DocumentShareInput
    ) -> DocumentPayload:
        return await resolve.share(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Start a photo upload for a construction project.",
        extensions=requires("construction:write"),
    )
    async def photo_upload_create(
        self, info: Info, project_id: strawberry.ID, input: UploadInput
    ) -> PhotoUploadPayload:
        return await resolve.photo_upload_create(info.context, project_id, input)  # type: ignore[return-value]
