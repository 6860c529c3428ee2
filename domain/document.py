"""Documents and photos: upload rules, versions, shares, who may see and change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from domain.errors import DomainError, ErrorCode, FieldError, collect
from domain.filetypes import ALLOWED, mime_for_name, safe_name
from domain.permissions import Principal, Role


class DocumentKind(Enum):
    DOCUMENT = "DOCUMENT"
    PHOTO = "PHOTO"


class SharePermission(Enum):
    VIEW = "VIEW"
    COMMENT = "COMMENT"
    EDIT = "EDIT"


class ExtractionStatus(Enum):
    NOT_STARTED = "NOT_STARTED"
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


PHOTO_TYPES = frozenset({ALLOWED["png"], ALLOWED["jpeg"], ALLOWED["heic"]})
DOCUMENT_TYPES = frozenset(ALLOWED.values())


@dataclass(slots=True)
class Document:
    id: UUID
    seq: int
    tenant_id: UUID
    kind: str
    name: str
    content_type: str
    size: int
    version: int
    extraction_status: str
    deal_id: UUID | None = None
    property_id: UUID | None = None
    project_id: UUID | None = None
    extracted_text: str | None = None
    extraction: dict[str, Any] | None = None
    extraction_error: str | None = None
    created_by: UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def ready(self) -> bool:
        return self.version > 0


@dataclass(slots=True)
class DocumentVersion:
    id: UUID
    tenant_id: UUID
    document_id: UUID
    version: int
    object_key: str
    declared_size: int
    content_type: str
    status: str
    uploaded_by: UUID | None = None
    stored_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Share:
    document_id: UUID
    user_id: UUID
    permission: str
    granted_by: UUID | None = None
    created_at: datetime | None = None


def check_upload(name: str, content_type: str, size: int, max_size: int, kind: DocumentKind) -> str:
    """The safe file name for an upload, or every reason it is refused."""
    allowed = PHOTO_TYPES if kind is DocumentKind.PHOTO else DOCUMENT_TYPES
    (clean,), errors = collect(lambda: safe_name(name))
    errors = [FieldError(e.code, e.message, ("input", "name")) for e in errors]
    if content_type not in allowed:
        kinds = (
            "PNG, JPEG or HEIC"
            if kind is DocumentKind.PHOTO
            else "PDF, PNG, JPEG, HEIC, DOCX, XLSX, CSV or TXT"
        )
        errors.append(
            FieldError(ErrorCode.INVALID, f"Upload a {kinds} file.", ("input", "contentType"))
        )
    elif clean is not None and mime_for_name(clean) != content_type:
        errors.append(
            FieldError(
                ErrorCode.INVALID,
                "The file name's extension does not match contentType.",
                ("input", "name"),
            )
        )
    if size <= 0:
        errors.append(
            FieldError(
                ErrorCode.INVALID, "size must be the file's size in bytes.", ("input", "size")
            )
        )
    elif size > max_size:
        errors.append(
            FieldError(
                ErrorCode.LIMIT_EXCEEDED,
                f"Files are at most {max_size:,} bytes.",
                ("input", "size"),
            )
        )
    if errors:
        raise DomainError(*errors)
    assert clean is not None
    return clean


def can_change(principal: Principal, document: Document, permission: str | None) -> bool:
    """Admins, the uploader and users with an EDIT share may add versions and share."""
    return (
        principal.role is Role.ADMIN
        or document.created_by == principal.user_id
        or permission == SharePermission.EDIT.value
    )
