"""The rule-based extractor on realistic documents, the storage format and the retry policy."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from decimal import Decimal

import pytest

from domain.extraction import (
    MAX_ATTEMPTS,
    DocumentExtraction,
    DocumentType,
    ExtractionError,
    LabeledAmount,
    LabeledDate,
    Party,
    gives_up,
    next_attempt_delay,
)
from integrations.extraction import RuleBasedExtractor
from integrations.extraction.text import MAX_TEXT_CHARS, extract_text

PURCHASE_AGREEMENT = """RESIDENTIAL PURCHASE AND SALE AGREEMENT

This Purchase and Sale Agreement is made between John A. Smith and Mary Smith ("Buyers") and
Oakwood Holdings LLC ("Seller") for the property at 1420 Maple Avenue, Austin, TX 78704.

Buyer: John A. Smith
Seller: Oakwood Holdings LLC
Effective Date: March 1, 2026

1. Purchase Price: $412,500.00
2. Earnest Money: $10,000 to be deposited with Lone Star Title within 3 days.
3. Closing Date: 04/15/2026
4. Seller shall pay closing costs up to $4,500.
The inspection period ends 2026-03-11.
"""

INVOICE = """ACME ROOFING & GUTTERS, LLC
INVOICE

Invoice Number: INV-2026-0142          Invoice Date: 03/02/2026
Due Date: April 1, 2026

Bill To:
Maple Street Investments LLC
1420 Maple Avenue, Austin, TX 78704

Description                      Qty     Unit Price     Amount
Tear-off and replace shingles    1       $8,200.00      $8,200.00
Gutter repair                    2       $175.00        $350.00

Subtotal: $8,550.00
Sales Tax: $705.38
Total Amount Due: $9,255.38
"""

LEASE = """RESIDENTIAL LEASE AGREEMENT

Landlord: Cedar Park Rentals LLC
Tenant: Maria Gonzalez
Property: 88 Elm Street, Unit 2, Denver, CO 80203

Lease Term: 12 months, commencing 2026-05-01 and ending 2027-04-30.
Monthly Rent: $1,850.00, due on the first day of each month.
Security Deposit: $1,850.00
A late fee of $75 applies after the 5th.
"""

INSPECTION_REPORT = """HOME INSPECTION REPORT

Client: Daniel Okafor
Inspector: Priya Raman, License #TREC-22871
Property: 509 Birch Lane, Raleigh, NC 27601
Inspection Date: February 20, 2026

Summary of deficiencies
Roof: Missing shingles on the north slope; we recommend repair by a licensed roofer.
Estimated repair cost: $1,200
HVAC: Furnace is 22 years old; recommend evaluation.
"""


def read(text: str) -> DocumentExtraction:
    return RuleBasedExtractor().read(text)


def dates(result: DocumentExtraction) -> dict[str, date]:
    return {item.label: item.value for item in result.dates}


def amounts(result: DocumentExtraction) -> list[tuple[str, Decimal]]:
    return [(item.label, item.value) for item in result.amounts]


def roles(result: DocumentExtraction) -> list[tuple[str, str]]:
    return [(party.role, party.name) for party in result.parties]


def test_purchase_agreement() -> None:
    result = read(PURCHASE_AGREEMENT)

    assert result.document_type is DocumentType.PURCHASE_AGREEMENT
    assert result.confidence >= 0.9
    assert result.extractor == "rules"
    assert roles(result) == [
        ("BUYER", "John A. Smith"),
        ("SELLER", "Oakwood Holdings LLC"),
        ("BUYER", "John A. Smith and Mary Smith"),  # from: John A. Smith and Mary Smith ("Buyers")
    ]
    assert dates(result) == {
        "Effective Date": date(2026, 3, 1),
        "Closing Date": date(2026, 4, 15),
        "Inspection Period End": date(2026, 3, 11),
    }
    assert amounts(result) == [
        ("Purchase Price", Decimal("412500.00")),
        ("Earnest Money", Decimal("10000")),
        ("Closing Costs", Decimal("4500")),
    ]
    # a `Label:` is surer than a phrase somewhere before the value
    assert [item.confidence for item in result.amounts] == [0.85, 0.85, 0.7]


def test_invoice() -> None:
    result = read(INVOICE)

    assert result.document_type is DocumentType.INVOICE
    assert roles(result) == [("BILL_TO", "Maple Street Investments LLC")]  # on the next line
    assert dates(result) == {"Invoice Date": date(2026, 3, 2), "Due Date": date(2026, 4, 1)}
    assert amounts(result) == [
        ("Tear-off and replace shingles", Decimal("8200.00")),  # unit price = amount: once
        ("Gutter repair", Decimal("175.00")),
        ("Gutter repair", Decimal("350.00")),
        ("Subtotal", Decimal("8550.00")),
        ("Sales Tax", Decimal("705.38")),
        ("Total Amount Due", Decimal("9255.38")),
    ]


def test_lease() -> None:
    result = read(LEASE)

    assert result.document_type is DocumentType.LEASE
    assert roles(result) == [("LANDLORD", "Cedar Park Rentals LLC"), ("TENANT", "Maria Gonzalez")]
    assert dates(result) == {"Start Date": date(2026, 5, 1), "End Date": date(2027, 4, 30)}
    assert amounts(result) == [
        ("Monthly Rent", Decimal("1850.00")),
        ("Security Deposit", Decimal("1850.00")),
        ("Late Fee", Decimal("75")),
    ]


def test_inspection_report() -> None:
    result = read(INSPECTION_REPORT)

    assert result.document_type is DocumentType.INSPECTION_REPORT
    assert roles(result) == [("CLIENT", "Daniel Okafor"), ("INSPECTOR", "Priya Raman")]
    assert dates(result) == {"Inspection Date": date(2026, 2, 20)}
    assert amounts(result) == [("Estimated repair cost", Decimal("1200"))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("APPRAISAL REPORT\nAppraiser: Lee Chen\nAppraised Value: $455,000", "APPRAISAL"),
        ("COMMITMENT FOR TITLE INSURANCE\nSchedule A\nSchedule B - Part I", "TITLE_COMMITMENT"),
        ("Closing Disclosure\nLoan Terms\nCash to Close: $88,412.10", "CLOSING_DISCLOSURE"),
        ("RECEIPT\nPayment received - thank you for your payment.\nAmount Paid: $50", "RECEIPT"),
        ("Grocery list: eggs, milk, bread", "OTHER"),
    ],
)
def test_document_types(text: str, expected: str) -> None:
    assert read(text).document_type is DocumentType(expected)


def test_a_clear_title_is_surer_than_a_stray_keyword() -> None:
    titled = read(LEASE)
    vague = read("The tenant called about the broken gate.\nThe landlord will fix it.")
    assert vague.document_type is DocumentType.LEASE
    assert vague.confidence < titled.confidence


def test_no_text_is_other_with_no_confidence_not_an_error() -> None:
    for content, content_type in (
        (b"   \n", "text/plain"),
        (b"\xff\xd8\xff\xe0 a photo", "image/jpeg"),
        (text_pdf([]), "application/pdf"),  # a scan: no text layer
    ):
        result = asyncio.run(RuleBasedExtractor().extract(content, content_type, "x"))
        assert result == DocumentExtraction(DocumentType.OTHER, (), (), (), 0.0, "rules")


def test_date_formats() -> None:
    result = read(
        "Due Date: 2026-03-15\nClosing Date: 03/16/2026\nEffective Date: Mar. 17, 2026\n"
        "Signed this 18th day of March, 2026\nIssue Date: 02/30/2026"
    )
    assert [(d.label, d.value) for d in result.dates] == [
        ("Due Date", date(2026, 3, 15)),
        ("Closing Date", date(2026, 3, 16)),
        ("Effective Date", date(2026, 3, 17)),
        ("date", date(2026, 3, 18)),  # no label on the line: the default
    ]  # 02/30/2026 is no date at all


def test_amount_formats_and_labels() -> None:
    result = read(
        "Purchase Price: USD 250000\nThe Buyer will deposit $5,000 as earnest money.\n"
        "Appraised value came in at $260,000.50\nMiscellaneous $12"
    )
    assert amounts(result) == [
        ("Purchase Price", Decimal("250000")),
        ("Earnest Money", Decimal("5000")),
        ("Appraised Value", Decimal("260000.50")),
        ("amount", Decimal("12")),
    ]


def test_several_values_on_one_line_take_their_own_labels() -> None:
    result = read("Earnest Money: $5,000   Due Date: 03/20/2026   Balance: $1,250.00")
    assert amounts(result) == [("Earnest Money", Decimal("5000")), ("Balance", Decimal("1250.00"))]
    assert dates(result) == {"Due Date": date(2026, 3, 20)}


def test_a_text_pdf_through_the_extractor() -> None:
    pdf = text_pdf(
        [
            "PURCHASE AGREEMENT",
            "Buyer: John A. Smith",
            "Seller: Oakwood Holdings LLC",
            "Purchase Price: $412,500.00",
            "Earnest Money: $10,000.00",
            "Closing Date: 04/15/2026",
        ]
    )

    result = asyncio.run(RuleBasedExtractor().extract(pdf, "application/pdf", "pa.pdf"))

    assert result.document_type is DocumentType.PURCHASE_AGREEMENT
    assert roles(result) == [("BUYER", "John A. Smith"), ("SELLER", "Oakwood Holdings LLC")]
    assert dates(result) == {"Closing Date": date(2026, 4, 15)}
    assert amounts(result) == [
        ("Purchase Price", Decimal("412500.00")),
        ("Earnest Money", Decimal("10000.00")),
    ]


def test_a_broken_pdf_is_a_final_failure() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_text(b"%PDF-1.7\n1 0 obj << /Type /Cat", "application/pdf")
    assert (caught.value.reason, caught.value.retryable) == ("unreadable PDF", False)


def test_text_is_decoded_leniently_and_limited() -> None:
    assert (
        extract_text(b"\xef\xbb\xbfTotal: \xff$5", "text/csv; charset=utf-8") == "Total: \ufffd$5"
    )
    assert len(extract_text(b"a" * (MAX_TEXT_CHARS + 10), "text/plain")) == MAX_TEXT_CHARS


def test_json_round_trip() -> None:
    extraction = DocumentExtraction(
        document_type=DocumentType.CLOSING_DISCLOSURE,
        parties=(Party("Ann Lee", "BORROWER", 0.9), Party("First Bank", "LENDER", 0.75)),
        dates=(LabeledDate("Closing Date", date(2026, 6, 30), 0.95),),
        amounts=(
            LabeledAmount("Cash to Close", Decimal("88412.10"), 0.9),
            LabeledAmount("Seller Credit", Decimal("-1500.00"), 0.6),
        ),
        confidence=0.88,
        extractor="claude:claude-test",
    )

    stored = extraction.to_json()

    assert stored["dates"] == [{"label": "Closing Date", "value": "2026-06-30", "confidence": 0.95}]
    assert stored["amounts"][0]["value"] == "88412.10"  # trailing zero kept
    assert DocumentExtraction.from_json(stored) == extraction
    assert DocumentExtraction.from_json(read(PURCHASE_AGREEMENT).to_json()) == read(
        PURCHASE_AGREEMENT
    )


def test_from_json_rejects_bad_values() -> None:
    stored = read(PURCHASE_AGREEMENT).to_json()
    with pytest.raises(ValueError, match=r"dates\[0\]\.value"):
        DocumentExtraction.from_json({**stored, "dates": [{**stored["dates"][0], "value": "x"}]})
    with pytest.raises(ValueError, match="extractor: missing"):
        DocumentExtraction.from_json({k: v for k, v in stored.items() if k != "extractor"})


def test_next_attempt_delay_doubles_then_caps_at_an_hour() -> None:
    delays = [next_attempt_delay(attempt) for attempt in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert next_attempt_delay(10_000) == 3600
    with pytest.raises(ValueError):
        next_attempt_delay(0)


def test_jitter_stays_within_half_to_full_delay() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        jittered = next_attempt_delay(attempt, rng.random)
        full = next_attempt_delay(attempt)
        assert full / 2 <= jittered < full


def test_when_to_give_up() -> None:
    transient = ExtractionError("rate limited", retryable=True)
    assert not gives_up(1, transient)
    assert not gives_up(MAX_ATTEMPTS - 1, transient)
    assert gives_up(MAX_ATTEMPTS, transient)
    assert gives_up(1, ExtractionError("malformed answer", retryable=False))


def text_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing `lines` in Helvetica (no lines: no text layer)."""

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    operations = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
    for line in lines:
        operations += [f"({escape(line)}) Tj", "T*"]
    operations.append("ET")
    stream = "\n".join(operations).encode("latin-1") if lines else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)
