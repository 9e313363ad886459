"""What every extractor is given (one file's text) and fills (the scan's counters), and how it makes a Reference."""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from audit.model import Reference

MAX_TEXT_CHARS = 200

_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_TOKEN_ARG = re.compile(r"""(\b(?:use_auth_)?token\s*[=:]\s*)(["'])[^"']*\2""")


@dataclass
class ScanStats:
    """How much work a scan did, counted rather than timed so tests and benchmarks can assert on it.

    Mutable on purpose: the scanner fills it while it walks; the caller passes an empty one in."""

    files_read: int = 0  # files opened and decoded as text
    parsed: int = 0  # files (Python, notebooks) parsed with `ast`
    skipped: int = 0  # Python files and notebooks the cheap trigger check passed over without `ast`


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One text file of the scanned codebase."""

    rel: str  # relative to the scanned root, '/'-separated
    text: str
    lines: Sequence[str]

    @property
    def name(self) -> str:
        """The base name, lower-cased: what file-kind matchers look at."""
        return self.rel.rsplit("/", 1)[-1].lower()

    def ref(self, line: int, kind: str, model: str | None, revision: str | None = None,
            reason: str | None = None) -> Reference:
        """A reference at `line` of this file, its text the line itself (tokens redacted)."""
        return Reference(model, revision, self.rel, line, kind, self.line_text(line), model is not None, reason)

    def line_text(self, line: int) -> str:
        raw = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        # a source line may carry an access token next to the model id; it must never reach a report
        raw = _TOKEN.sub("hf_***", raw)
        raw = _TOKEN_ARG.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}", raw)
        return raw[:MAX_TEXT_CHARS]


# An extractor reads one file and returns the references it finds there.
Extractor = Callable[[SourceFile, ScanStats], list[Reference]]


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of `text` starts, for `line_of`."""
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def line_of(starts: list[int], offset: int) -> int:
    """The 1-based line holding character `offset`."""
    return bisect.bisect_right(starts, offset)
