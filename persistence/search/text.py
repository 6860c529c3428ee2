"""How search text is folded into words: the same rule in Python, in SQL and in Elasticsearch.

Lower case, and every run of characters other than letters and digits is a word break, so
"ATX-2025-000123" is the words "atx 2025 000123" and "S. Lamar Blvd," is "s lamar blvd". SQL has
the same rule as `search_fold(text)` (migration 0007); the Elasticsearch documents carry text
folded here, analysed with a whitespace tokenizer.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 8
MAX_WORD_LENGTH = 40
MIN_FUZZY_LENGTH = 4  # shorter words only match as typed (or as a prefix)


def fold(value: str | None) -> str:
    """Lower-case words separated by single spaces ("" for None)."""
    if not value:
        return ""
    return " ".join(WORD.findall(value.lower()))


def query_words(query: str | None) -> list[str]:
    """The words a search query looks for (at most MAX_WORDS, each at most MAX_WORD_LENGTH)."""
    return [word[:MAX_WORD_LENGTH] for word in fold(query).split()[:MAX_WORDS]]


def fuzzy(word: str) -> bool:
    """Whether a word may also match with a typo: letters only (numbers such as house numbers
    and ZIP codes must match as typed) and long enough for a typo to leave something to match."""
    return len(word) >= MIN_FUZZY_LENGTH and word.isalpha()
