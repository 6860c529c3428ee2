"""Document extraction behind one small interface: Claude when configured, rules offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from domain.extraction import DocumentExtraction
from integrations.extraction.claude import DEFAULT_MODEL, ClaudeExtractor
from integrations.extraction.rules import RuleBasedExtractor

__all__ = ["ClaudeExtractor", "Extractor", "RuleBasedExtractor", "extractor_from_env"]


class Extractor(Protocol):
    """Reads one uploaded file; raises domain.extraction.ExtractionError on failure."""

    name: str

    async def extract(self, content: bytes, content_type: str, filename: str) -> DocumentExtraction:
        """The document's type, parties, dates and amounts."""
        ...


def extractor_from_env(env: Mapping[str, str]) -> Extractor:
    """Claude when ANTHROPIC_API_KEY is set (ANTHROPIC_MODEL, ANTHROPIC_BASE_URL), else rules."""
    api_key = env.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        return RuleBasedExtractor()
    return ClaudeExtractor(
        api_key=api_key,
        model=env.get("ANTHROPIC_MODEL", "").strip() or DEFAULT_MODEL,
        base_url=env.get("ANTHROPIC_BASE_URL", "").strip() or None,
    )
