"""The offline extractor: keyword scoring for the type, label patterns for the values.

Deterministic and local. It reads only what `extract_text` gets out of the file, so
scans and photos come back as OTHER with confidence 0 (Claude reads those).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import islice

from domain.extraction import (
    DocumentExtraction,
    DocumentType,
    LabeledAmount,
    LabeledDate,
    Party,
)
from integrations.extraction.text import extract_text

NAME = "rules"
MAX_ITEMS = 100
MAX_HITS = 3  # occurrences of one keyword that count towards a type's score
HEAD_CHARS = 400  # where a document's title is
TITLE_WEIGHT = 5  # keywords at least this strong are titles: a bonus when in the head
TITLE_BONUS = 6
MIN_SCORE = 3  # below this nothing is recognised and the type is OTHER
OTHER_CONFIDENCE = 0.3
MAX_NAME_WORDS = 8
MAX_LABEL_WORDS = 5
AFTER_CHARS = 40  # how far after a value a trailing label ("$5,000 as earnest money") may be
LOOKBACK_CHARS = 120  # how far before a value its label may be (keeps long lines linear)

Type = DocumentType

TYPE_KEYWORDS: dict[DocumentType, tuple[tuple[str, int], ...]] = {
    Type.PURCHASE_AGREEMENT: (
        ("purchase agreement", 6),
        ("purchase and sale agreement", 6),
        ("purchase contract", 5),
        ("earnest money", 3),
        ("purchase price", 2),
        ("buyer", 1),
        ("seller", 1),
    ),
    Type.INSPECTION_REPORT: (
        ("inspection report", 6),
        ("home inspection", 5),
        ("inspector", 2),
        ("inspection date", 2),
        ("deficiency", 1),
        ("recommend", 1),
    ),
    Type.APPRAISAL: (
        ("appraisal report", 6),
        ("appraisal", 4),
        ("appraised value", 4),
        ("appraiser", 2),
        ("market value", 2),
        ("comparable sales", 2),
    ),
    Type.TITLE_COMMITMENT: (
        ("title commitment", 6),
        ("commitment for title insurance", 6),
        ("schedule b", 3),
        ("schedule a", 2),
        ("title insurance", 2),
        ("proposed insured", 2),
    ),
    Type.CLOSING_DISCLOSURE: (
        ("closing disclosure", 6),
        ("cash to close", 4),
        ("loan costs", 2),
        ("loan terms", 2),
        ("closing costs", 1),
    ),
    Type.LEASE: (
        ("lease agreement", 6),
        ("residential lease", 6),
        ("rental agreement", 5),
        ("monthly rent", 3),
        ("lease", 2),
        ("tenant", 2),
        ("landlord", 2),
        ("security deposit", 2),
    ),
    Type.INVOICE: (
        ("invoice", 5),
        ("invoice number", 3),
        ("invoice #", 3),
        ("amount due", 3),
        ("balance due", 3),
        ("bill to", 3),
    ),
    Type.RECEIPT: (
        ("receipt", 5),
        ("thank you for your payment", 5),
        ("payment received", 3),
        ("amount paid", 2),
        ("paid in full", 2),
        ("paid", 1),
    ),
}

# label on the page -> role
ROLE_LABELS: dict[str, str] = {
    "buyer": "BUYER",
    "purchaser": "BUYER",
    "seller": "SELLER",
    "landlord": "LANDLORD",
    "lessor": "LANDLORD",
    "tenant": "TENANT",
    "lessee": "TENANT",
    "bill to": "BILL_TO",
    "billed to": "BILL_TO",
    "inspector": "INSPECTOR",
    "appraiser": "APPRAISER",
    "borrower": "BORROWER",
    "lender": "LENDER",
    "client": "CLIENT",
}

DATE_LABELS: tuple[tuple[str, str], ...] = (
    ("closing date", "Closing Date"),
    ("date of closing", "Closing Date"),
    ("closing", "Closing Date"),
    ("effective date", "Effective Date"),
    ("due date", "Due Date"),
    ("payment due", "Due Date"),
    ("inspection date", "Inspection Date"),
    ("date of inspection", "Inspection Date"),
    ("invoice date", "Invoice Date"),
    ("issue date", "Issue Date"),
    ("start date", "Start Date"),
    ("commencement date", "Start Date"),
    ("commencing", "Start Date"),
    ("end date", "End Date"),
    ("expiration date", "Expiration Date"),
    ("ending", "End Date"),
    ("acceptance date", "Acceptance Date"),
    ("inspection period", "Inspection Period End"),
    ("appraisal date", "Appraisal Date"),
    ("possession date", "Possession Date"),
    ("disbursement date", "Disbursement Date"),
    ("payment date", "Payment Date"),
    ("date paid", "Payment Date"),
)

AMOUNT_LABELS: tuple[tuple[str, str], ...] = (
    ("purchase price", "Purchase Price"),
    ("sales price", "Purchase Price"),
    ("sale price", "Purchase Price"),
    ("earnest money", "Earnest Money"),
    ("security deposit", "Security Deposit"),
    ("deposit", "Deposit"),
    ("down payment", "Down Payment"),
    ("loan amount", "Loan Amount"),
    ("subtotal", "Subtotal"),
    ("sub-total", "Subtotal"),
    ("total", "Total"),
    ("amount due", "Amount Due"),
    ("balance due", "Amount Due"),
    ("amount paid", "Amount Paid"),
    ("monthly rent", "Monthly Rent"),
    ("rent", "Rent"),
    ("late fee", "Late Fee"),
    ("appraised value", "Appraised Value"),
    ("market value", "Market Value"),
    ("cash to close", "Cash to Close"),
    ("closing costs", "Closing Costs"),
    ("sales tax", "Tax"),
    ("tax", "Tax"),
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
DATE_PATTERN = re.compile(
    r"(?<![\d/-])(?:"
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2}))"
    r"|(?P<us>(?P<um>\d{1,2})/(?P<ud>\d{1,2})/(?P<uy>\d{4}))"
    rf"|(?P<long>\b(?P<lm>{_MONTH})\.?\s+(?P<ld>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ly>\d{{4}}))"
    rf"|(?P<dmy>(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?(?P<dm>{_MONTH})\.?,?\s+(?P<dy>\d{{4}}))"
    r")(?![\d/-])",
    re.IGNORECASE,
)
AMOUNT_PATTERN = re.compile(
    r"(?:\$|\bUSD)\s?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)(?![\d,]*\d)",
    re.IGNORECASE,
)
_COLON_LABEL = re.compile(r"([A-Za-z][A-Za-z'&/()#. -]*?)\s*[:=]\s*$")
_TABLE_GAP = re.compile(r"\s{2,}|\t|\|")
_LETTERS = re.compile(r"[A-Za-z]")
_INTRODUCED = re.compile(r"\s+(?:as|for)\s+(?:the\s+|an?\s+)?", re.IGNORECASE)


def _phrase(phrase: str) -> re.Pattern[str]:
    """A case-insensitive whole-word pattern; a trailing word may take a plural s."""
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    start = r"(?<![A-Za-z0-9])" if phrase[0].isalnum() else ""
    end = r"s?(?![A-Za-z0-9])" if phrase[-1].isalnum() else ""
    return re.compile(start + body + end, re.IGNORECASE)


_TYPE_PATTERNS = {
    kind: tuple((_phrase(word), weight) for word, weight in keywords)
    for kind, keywords in TYPE_KEYWORDS.items()
}
_DATE_LABEL_PATTERNS = tuple((_phrase(phrase), label) for phrase, label in DATE_LABELS)
_AMOUNT_LABEL_PATTERNS = tuple((_phrase(phrase), label) for phrase, label in AMOUNT_LABELS)
_ROLES = "|".join(
    r"\s+".join(re.escape(word) for word in label.split())
    for label in sorted(ROLE_LABELS, key=len, reverse=True)
)
_ROLE_COLON = re.compile(
    rf"(?<![A-Za-z])(?P<label>{_ROLES})(?:\(s\)|s)?(?:\s+name)?\s*:", re.IGNORECASE
)
_NAME_WORD = r"[A-Z][\w.'&-]*,?"
_ROLE_TAG = re.compile(  # ("Buyer"), (the "Seller"), (hereinafter called "Tenant")
    r"\([ \t]*(?:the[ \t]+|hereinafter[ \t]+(?:called[ \t]+|referred[ \t]+to[ \t]+as[ \t]+)?)?"
    rf"[\"“”']?(?P<label>{_ROLES})(?:\(s\)|s)?[\"“”']?[ \t]*\)",
    re.IGNORECASE,
)
_NAME_BEFORE = re.compile(  # capitalised words (and, &, of) right before a role tag
    rf"(?<![\w.'&-])(?P<name>{_NAME_WORD}"
    rf"(?:[ \t]+(?:{_NAME_WORD}|and|&|of)){{0,{MAX_NAME_WORDS - 1}}})[ \t]*,?[ \t]*$"
)


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    value: date | Decimal


class RuleBasedExtractor:
    """Keyword and pattern extraction from the document's text."""

    name = NAME

    async def extract(self, content: bytes, content_type: str, filename: str) -> DocumentExtraction:
        """Extract in a worker thread (PDF parsing is CPU-bound); raises ExtractionError."""
        return await asyncio.to_thread(self.extract_sync, content, content_type)

    def extract_sync(self, content: bytes, content_type: str) -> DocumentExtraction:
        """`extract` without the thread."""
        return self.read(extract_text(content, content_type))

    def read(self, text: str) -> DocumentExtraction:
        """Extract from text already out of the file."""
        if not text.strip():
            return DocumentExtraction(DocumentType.OTHER, (), (), (), 0.0, NAME)
        document_type, confidence = classify(text)
        dates, amounts = find_dates_and_amounts(text)
        return DocumentExtraction(
            document_type=document_type,
            parties=find_parties(text),
            dates=dates,
            amounts=amounts,
            confidence=confidence,
            extractor=NAME,
        )


def classify(text: str) -> tuple[DocumentType, float]:
    """The best-scoring type and a confidence from its margin over the runner-up."""
    scores: list[tuple[int, DocumentType]] = []
    for kind, patterns in _TYPE_PATTERNS.items():
        score = 0
        for pattern, weight in patterns:
            hits = len(list(islice(pattern.finditer(text), MAX_HITS)))
            score += weight * hits
            if weight >= TITLE_WEIGHT and pattern.search(text, 0, HEAD_CHARS):
                score += TITLE_BONUS
        scores.append((score, kind))
    scores.sort(key=lambda pair: -pair[0])  # stable: ties go to the earlier type
    (best, kind), (second, _) = scores[0], scores[1]
    if best < MIN_SCORE:
        return DocumentType.OTHER, OTHER_CONFIDENCE
    margin = (best - second) / best
    strength = min(1.0, best / 20)
    return kind, round(min(0.95, 0.3 + 0.4 * margin + 0.25 * strength), 2)


def find_parties(text: str) -> tuple[Party, ...]:
    """`Buyer: Name` lines (confidence 0.8), then `Name ("Buyer")` phrases (0.6)."""
    found: dict[tuple[str, str], Party] = {}

    def add(name: str, label: str, confidence: float) -> None:
        role = ROLE_LABELS[" ".join(label.lower().split())]
        key = (name.casefold(), role)
        if key not in found and len(found) < MAX_ITEMS:
            found[key] = Party(name, role, confidence)

    lines = text.splitlines()
    for index, line in enumerate(lines):
        matches = list(_ROLE_COLON.finditer(line))
        for match, following in zip(matches, [*matches[1:], None], strict=False):
            value = line[match.end() : following.start() if following else len(line)]
            if not value.strip() and following is None:
                value = _next_nonblank(lines, index + 1)
            name = _clean_name(value)
            if name:
                add(name, match["label"], 0.8)
    for tag in _ROLE_TAG.finditer(text):
        before = _NAME_BEFORE.search(text, max(0, tag.start() - LOOKBACK_CHARS), tag.start())
        if before is not None:
            name = _clean_name(re.sub(r"^(?:between|and|by)\s+", "", before["name"], flags=re.I))
            if name:
                add(name, tag["label"], 0.6)
    return tuple(found.values())


def find_dates_and_amounts(
    text: str,
) -> tuple[tuple[LabeledDate, ...], tuple[LabeledAmount, ...]]:
    """Every date and dollar amount, each labelled by the nearest label on its line."""
    dates: dict[tuple[str, date], LabeledDate] = {}
    amounts: dict[tuple[str, Decimal], LabeledAmount] = {}
    previous = ""
    for line in text.splitlines():
        end = 0
        for found in _values(line):
            segment = line[end : found.start]
            after = line[found.end : found.end + AFTER_CHARS]
            above = previous if end == 0 else ""  # `Closing Date:` alone on the line above
            row = line[max(0, found.start - LOOKBACK_CHARS) : found.start]
            context = (segment[-LOOKBACK_CHARS:], row, after, above)
            if isinstance(found.value, date):
                label, confidence = _label(*context, _DATE_LABEL_PATTERNS, "date")
                if (label, found.value) not in dates and len(dates) < MAX_ITEMS:
                    dates[label, found.value] = LabeledDate(label, found.value, confidence)
            else:
                label, confidence = _label(*context, _AMOUNT_LABEL_PATTERNS, "amount")
                if (label, found.value) not in amounts and len(amounts) < MAX_ITEMS:
                    amounts[label, found.value] = LabeledAmount(label, found.value, confidence)
            end = found.end
        if line.strip():
            previous = line
    return tuple(dates.values()), tuple(amounts.values())


def _values(line: str) -> Iterator[_Found]:
    """The dates and amounts on one line, left to right."""
    found: list[_Found] = []
    for match in DATE_PATTERN.finditer(line):
        value = _date(match)
        if value is not None:
            found.append(_Found(match.start(), match.end(), value))
    for match in AMOUNT_PATTERN.finditer(line):
        try:
            amount = Decimal(match["number"].replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            continue
        found.append(_Found(match.start(), match.end(), amount))
    return iter(sorted(found, key=lambda item: item.start))


def _date(match: re.Match[str]) -> date | None:
    if match["iso"]:
        parts = (match["iy"], match["im"], match["id"])
    elif match["us"]:
        parts = (match["uy"], match["um"], match["ud"])
    elif match["long"]:
        parts = (match["ly"], str(_MONTHS[match["lm"].lower()]), match["ld"])
    else:
        parts = (match["dy"], str(_MONTHS[match["dm"].lower()]), match["dd"])
    try:
        return date(*(int(part) for part in parts))
    except ValueError:
        return None


def _label(
    segment: str,
    row: str,
    after: str,
    previous_line: str,
    keywords: Sequence[tuple[re.Pattern[str], str]],
    default: str,
) -> tuple[str, float]:
    """The label of a value: `Label:` before it, a known phrase before or after, a table cell."""
    colon = _colon_label(segment)
    if colon is None and not segment.strip():
        colon = _colon_label(previous_line[-LOOKBACK_CHARS:])
    if colon is not None:
        return colon, 0.85
    introduced = _INTRODUCED.match(after)  # "$10,000 as earnest money", "$450 for the roof"
    trailing = _first_keyword(after, keywords)
    if introduced and trailing and trailing[0] == introduced.end():
        return trailing[1], 0.7
    before = _last_keyword(segment, keywords)
    if before is not None:
        return before, 0.7
    if trailing is not None:
        return trailing[1], 0.6
    cell = _table_cell(row)
    if cell is not None:
        return cell, 0.6
    return default, 0.5


def _colon_label(segment: str) -> str | None:
    match = _COLON_LABEL.search(segment)
    if match is None:
        return None
    words = match[1].split()
    if not words or len(words) > MAX_LABEL_WORDS:
        return None
    label = " ".join(words)
    return label.lower() if label.lower() == "date" else label


def _last_keyword(segment: str, keywords: Sequence[tuple[re.Pattern[str], str]]) -> str | None:
    best: tuple[int, int, str] | None = None
    for pattern, label in keywords:
        for match in pattern.finditer(segment):
            candidate = (match.end(), match.end() - match.start(), label)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None


def _first_keyword(
    after: str, keywords: Sequence[tuple[re.Pattern[str], str]]
) -> tuple[int, str] | None:
    """The earliest (then longest) known label in `after`, with where it starts."""
    best: tuple[int, int, str] | None = None
    for pattern, label in keywords:
        match = pattern.search(after)
        if match is not None:
            candidate = (match.start(), match.start() - match.end(), label)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return (best[0], best[2]) if best else None


def _table_cell(segment: str) -> str | None:
    """In `Roof repair    1    $450.00`, the last cell with letters, if cells are gapped."""
    if not _TABLE_GAP.search(segment.strip()):
        return None
    for cell in reversed(_TABLE_GAP.split(segment.strip())):
        if _LETTERS.search(cell):
            words = cell.split()
            return " ".join(words) if len(words) <= MAX_LABEL_WORDS else None
    return None


def _next_nonblank(lines: list[str], start: int) -> str:
    for line in lines[start : start + 2]:
        if line.strip():
            return line
    return ""


def _clean_name(value: str) -> str | None:
    """A party's name from the text after its label; None when it does not look like one."""
    value = _TABLE_GAP.split(value.strip(), maxsplit=1)[0] if value.strip() else ""
    head, _, rest = value.partition(", ")
    if rest and re.search(r"\d", rest):  # "Jane Doe, License #123" / "Acme, 1 Main St"
        value = head
    value = value.strip(" \t,;:-_")
    if not value or not _LETTERS.search(value) or value[0].isdigit() or "$" in value:
        return None
    if len(value.split()) > MAX_NAME_WORDS or DATE_PATTERN.search(value):
        return None
    return value
