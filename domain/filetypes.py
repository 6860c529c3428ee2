"""Document file types: the allowed MIME types, detection by name and by content, safe names."""

from __future__ import annotations

import codecs
import re
import struct
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from domain.errors import DomainError, ErrorCode

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
HEIC = "image/heic"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
TXT = "text/plain"
TEXT = "text"  # what `sniff` returns for UTF-8 text: csv and txt cannot be told apart by bytes

ALLOWED: Mapping[str, str] = MappingProxyType(
    {
        "pdf": PDF,
        "png": PNG,
        "jpeg": JPEG,
        "heic": HEIC,
        "docx": DOCX,
        "xlsx": XLSX,
        "csv": CSV,
        "txt": TXT,
    }
)

_EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {
        "pdf": PDF,
        "png": PNG,
        "jpg": JPEG,
        "jpeg": JPEG,
        "heic": HEIC,
        "heif": HEIC,
        "docx": DOCX,
        "xlsx": XLSX,
        "csv": CSV,
        "txt": TXT,
    }
)

SNIFF_BYTES = 4096  # how many leading bytes `sniff` needs to see
MAX_NAME_LENGTH = 120
_MAX_EXTENSION_LENGTH = 10

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"mif1", b"msf1"})
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_KEPT_PUNCTUATION = frozenset(" ._-()")


def mime_for_name(name: str) -> str | None:
    """The allowed MIME type for a file name's extension (case-insensitive), or None."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return None
    return _EXTENSIONS.get(extension.lower())


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes of a file show (TEXT for UTF-8 text), or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if _is_heif(head):
        return HEIC
    if head.startswith(_ZIP_LOCAL_HEADER):
        return _ooxml_type(head)
    if _is_text(head):
        return TEXT
    return None


def matches(declared_mime: str, sniffed: str | None) -> bool:
    """Whether content sniffed as `sniffed` may be stored as the allowed `declared_mime`."""
    if sniffed is None or declared_mime not in ALLOWED.values():
        return False
    if sniffed == TEXT:
        return declared_mime in (CSV, TXT)
    return declared_mime == sniffed


def _is_heif(head: bytes) -> bool:
    """An ISO-BMFF `ftyp` box whose major or a compatible brand is a HEIC/HEIF image brand."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    if head[8:12] in _HEIF_BRANDS:
        return True
    box_end = min(struct.unpack(">I", head[:4])[0], len(head))
    compatible = (head[i : i + 4] for i in range(16, box_end - 3, 4))
    return any(brand in _HEIF_BRANDS for brand in compatible)


def _ooxml_type(head: bytes) -> str | None:
    """docx or xlsx from the part names in a ZIP's leading local file headers."""
    position = 0
    while (position := head.find(_ZIP_LOCAL_HEADER, position)) != -1:
        fixed = head[position : position + 30]
        if len(fixed) < 30:
            break
        name_length = struct.unpack("<H", fixed[26:28])[0]
        name = head[position + 30 : position + 30 + name_length]
        if name.startswith(b"word/"):
            return DOCX
        if name.startswith(b"xl/"):
            return XLSX
        position += 4
    return None


def _is_text(head: bytes) -> bool:
    """Non-empty UTF-8 without NUL bytes; a multibyte character cut off at the end is fine."""
    if not head or b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def safe_name(name: str) -> str:
    """A user's file name as a safe basename; path tricks and empty names are INVALID."""
    if "/" in name or "\\" in name:
        raise DomainError.of(
            ErrorCode.INVALID, "File name must not contain a path (/ or \\).", "fileName"
        )
    stripped = name.strip()
    if stripped.startswith("."):
        raise DomainError.of(ErrorCode.INVALID, "File name must not start with a dot.", "fileName")
    kept = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", stripped)
        if char.isspace() or char.isalnum() or char in _KEPT_PUNCTUATION
    )
    kept = re.sub(r"\.{2,}", ".", re.sub(r" {2,}", " ", kept)).strip(" ").rstrip(" .")
    if kept.startswith("."):
        raise DomainError.of(
            ErrorCode.INVALID, "File name must have letters or digits before the dot.", "fileName"
        )
    stem, extension = _split_extension(kept)
    stem = stem[: MAX_NAME_LENGTH - len(extension)].rstrip(" .")
    if not stem or not any(char.isalnum() for char in stem):
        raise DomainError.of(
            ErrorCode.INVALID, "File name must contain letters or digits.", "fileName"
        )
    return stem + extension


def _split_extension(name: str) -> tuple[str, str]:
    """(stem, ".ext") when the name ends with a short alphanumeric extension, else (name, "")."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and 0 < len(extension) <= _MAX_EXTENSION_LENGTH and extension.isalnum():
        return stem, "." + extension
    return name, ""
