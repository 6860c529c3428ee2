"""Plain text out of an uploaded file: UTF-8 text and CSV, and PDFs with a text layer."""

from __future__ import annotations

import io

from domain.extraction import ExtractionError

MAX_TEXT_CHARS = 200_000
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
PDF_TYPE = "application/pdf"


def media_type(content_type: str) -> str:
    """The bare, lower-case media type of a Content-Type value (parameters dropped)."""
    return content_type.split(";", 1)[0].strip().lower()


def extract_text(content: bytes, content_type: str) -> str:
    """The first MAX_TEXT_CHARS of text; empty for images, scans and other types."""
    kind = media_type(content_type)
    if kind in TEXT_TYPES:
        # 4 bytes per character at most in UTF-8: never decode more than we keep.
        return content[: MAX_TEXT_CHARS * 4].decode("utf-8-sig", errors="replace")[:MAX_TEXT_CHARS]
    if kind == PDF_TYPE:
        return _pdf_text(content)
    return ""


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            reader.decrypt("")
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text) + 1
            if size >= MAX_TEXT_CHARS:
                break
    except Exception as error:  # pypdf raises many types on broken or hostile files
        raise ExtractionError(
            "unreadable PDF", retryable=False, detail=f"{type(error).__name__}: {error}"
        ) from error
    return "\n".join(parts)[:MAX_TEXT_CHARS]
