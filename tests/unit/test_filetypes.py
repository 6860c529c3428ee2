"""Unit tests for document file types: names, magic bytes and safe file names."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from domain.errors import DomainError, ErrorCode
from domain.filetypes import (
    ALLOWED,
    CSV,
    DOCX,
    HEIC,
    JPEG,
    MAX_NAME_LENGTH,
    PDF,
    PNG,
    TEXT,
    TXT,
    XLSX,
    matches,
    mime_for_name,
    safe_name,
    sniff,
)


def png_bytes() -> bytes:
    """A real 1x1 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb0043")
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", len(body) + 4) + body + b"\x00\x00\x00\x08meta"


def ooxml(parts: dict[str, str]) -> bytes:
    """A small real OOXML package written by zipfile, parts in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            package.writestr(name, text)
    return buffer.getvalue()


CONTENT_TYPES = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/"/>'
RELS = '<?xml version="1.0"?><Relationships/>'


def docx_bytes() -> bytes:
    return ooxml(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "word/document.xml": "<w:document><w:body><w:p/></w:body></w:document>",
        }
    )


def xlsx_bytes() -> bytes:
    return ooxml(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "xl/workbook.xml": "<workbook><sheets/></workbook>",
            "xl/worksheets/sheet1.xml": "<worksheet><sheetData/></worksheet>",
        }
    )


def test_allowed_types_are_the_eight_document_kinds() -> None:
    assert dict(ALLOWED) == {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpeg": "image/jpeg",
        "heic": "image/heic",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv",
        "txt": "text/plain",
    }
    with pytest.raises(TypeError):
        ALLOWED["exe"] = "application/octet-stream"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Purchase Agreement.pdf", PDF),
        ("scan.PDF", PDF),
        ("photo.jpg", JPEG),
        ("photo.JPEG", JPEG),
        ("site.png", PNG),
        ("IMG_0001.HEIC", HEIC),
        ("Inspection.docx", DOCX),
        ("rent roll.xlsx", XLSX),
        ("comps.csv", CSV),
        ("notes.txt", TXT),
        ("archive.tar.pdf", PDF),
        ("setup.exe", None),
        ("macro.docm", None),
        ("README", None),
        (".pdf", None),
        ("report.", None),
    ],
)
def test_mime_for_name_by_extension(name: str, expected: str | None) -> None:
    assert mime_for_name(name) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF_HEAD, PDF),
        (png_bytes(), PNG),
        (JPEG_HEAD, JPEG),
        (ftyp(b"heic", b"mif1", b"heic"), HEIC),
        (ftyp(b"heix"), HEIC),
        (ftyp(b"mif1", b"heic"), HEIC),
        (ftyp(b"msf1"), HEIC),
        (ftyp(b"isom", b"mif1"), HEIC),
        (ftyp(b"isom", b"iso2", b"mp41"), None),
        (docx_bytes(), DOCX),
        (xlsx_bytes(), XLSX),
        (b"address,price\n1 Main St,250000\n", TEXT),
        ("Inspection notes: roof needs work — 5 000 €\n".encode(), TEXT),
        (b"\xef\xbb\xbfname;value\r\n", TEXT),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", None),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", None),
        (b"plain text with a \x00 NUL", None),
        (b"Latin-1 caf\xe9 is not UTF-8", None),
        (b"", None),
    ],
)
def test_sniff_reads_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_sniff_accepts_a_multibyte_character_cut_at_the_end() -> None:
    text = "Résumé of the comparable sales ✓".encode()
    cut = text[: text.index("✓".encode()) + 2]  # 2 of the check mark's 3 bytes
    assert sniff(cut) == TEXT
    assert sniff(text[:-1] + b"A") is None  # a broken character inside is not text


def test_sniff_works_on_the_first_bytes_only() -> None:
    for content in (docx_bytes(), xlsx_bytes(), png_bytes(), PDF_HEAD * 200):
        assert sniff(content[:512]) == sniff(content)


def test_zip_without_office_parts_is_not_a_document() -> None:
    assert sniff(ooxml({"data/readme.txt": "hello", "docs/word.txt": "xl/ in the text"})) is None


def test_a_png_named_pdf_is_detected_as_png() -> None:
    declared = mime_for_name("contract.pdf")
    sniffed = sniff(png_bytes())
    assert (declared, sniffed) == (PDF, PNG)
    assert not matches(declared, sniffed)
    assert matches(PNG, sniffed)


@pytest.mark.parametrize(
    ("declared", "sniffed", "expected"),
    [
        (PDF, PDF, True),
        (CSV, TEXT, True),
        (TXT, TEXT, True),
        (PDF, TEXT, False),
        (DOCX, XLSX, False),
        (XLSX, XLSX, True),
        (JPEG, None, False),
        ("text/html", TEXT, False),
        ("application/zip", "application/zip", False),
    ],
)
def test_matches(declared: str, sniffed: str | None, expected: bool) -> None:
    assert matches(declared, sniffed) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Purchase Agreement.pdf", "Purchase Agreement.pdf"),
        ("  Offer   (final)  v2.docx ", "Offer (final) v2.docx"),
        ("rent_roll-2025.xlsx", "rent_roll-2025.xlsx"),
        ("Café plan.pdf", "Café plan.pdf"),
        ("Cafe\u0301 plan.pdf", "Café plan.pdf"),
        ("tab\there\nnewline.txt", "tab here newline.txt"),
        ("bell\x07 and\x00 nul.txt", "bell and nul.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ('Deal #42: "Maple" & co?.pdf', "Deal 42 Maple co.pdf"),
        ("report..pdf", "report.pdf"),
        ("trailing dots...", "trailing dots"),
        ("<script>.csv", "script.csv"),
        ("no extension", "no extension"),
        ("space before .pdf", "space before.pdf"),
    ],
)
def test_safe_name_sanitises(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_keeps_the_extension_when_cutting_long_names() -> None:
    result = safe_name("a" * 300 + ".xlsx")
    assert len(result) == MAX_NAME_LENGTH
    assert result == "a" * (MAX_NAME_LENGTH - 5) + ".xlsx"
    words = safe_name("word " * 60 + ".pdf")
    assert len(words) <= MAX_NAME_LENGTH
    assert words.endswith(".pdf") and not words.endswith(" .pdf")


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\system32\\config",
        "docs/report.pdf",
        "C:\\Users\\me\\report.pdf",
        "..",
        ".",
        ".bashrc",
        "  .hidden.pdf",
        "",
        "   ",
        "???",
        "\x00\x01",
        "#.pdf",
        "().txt",
    ],
)
def test_safe_name_refuses_path_tricks_and_empty_names(name: str) -> None:
    with pytest.raises(DomainError) as raised:
        safe_name(name)
    (error,) = raised.value.errors
    assert error.code is ErrorCode.INVALID
    assert error.field == ("fileName",)
