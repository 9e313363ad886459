"""What identification says about a text: the Identification record and its verdicts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERDICTS = ("exact", "modified", "truncated", "translation", "stub", "unknown")


@dataclass(frozen=True, slots=True)
class Identification:
    key: str | None  # catalog key; None when unknown
    version: str | None
    confidence: float  # 0..1, how sure we are of key and version
    verdict: str  # exact | modified | truncated | translation | stub | unknown
    details: tuple[str, ...] = ()  # what was added/removed, which markers matched
    start_line: int | None = None  # 1-based lines of the input the license occupies
    end_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "version": self.version,
            "confidence": self.confidence,
            "verdict": self.verdict,
            "details": list(self.details),
        }
