"""Where a case-insensitive pattern may match in a text, found with substring searches instead of the regex.

Python's regex engine walks a case-insensitive pattern over every character of a text; most of a model card
matches none of the patterns mlaudit reads it with, so that walk is most of the time spent reading cards.
A pattern that can only match where one of a few words appears (`technical\\s+report` needs "report") is
instead looked for as those words in the text lowered once, with str.find, and only the lines holding one
are given to the pattern itself. The answer is the same: a line with a match holds one of the words there.

The lowered text stands in for the text only when it keeps every position (lower() maps each character to
one character) and holds none of the letters re.IGNORECASE takes for an ASCII letter that lower() does not
turn into it (İ and ı match i, ſ matches s, the Kelvin sign matches k); otherwise `positions` says None and
the caller searches with the pattern as before.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence

# the non-ASCII letters re.IGNORECASE matches with an ASCII letter (checked over every code point by the tests)
_FOLDED_ONTO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


class Lowered:
    """A text and its lowered copy, made once and searched for many words."""

    def __init__(self, text: str):
        self.text = text
        self.low = text.lower()
        self.exact = len(self.low) == len(text) and not any(c in text for c in _FOLDED_ONTO_ASCII)

    def positions(self, words: Iterable[str]) -> list[int] | None:
        """Sorted start of every occurrence of the (lower-case) words, ignoring case; None when the lowered
        text cannot stand in for the text (the caller then runs its pattern over the text)."""
        if not self.exact:
            return None
        low = self.low
        out: list[int] = []
        for word in words:
            i = low.find(word)
            while i != -1:
                out.append(i)
                i = low.find(word, i + 1)
        out.sort()
        return out


def match_lines(text: str, starts: Sequence[int], pattern: re.Pattern[str], words: tuple[str, ...] = (),
                lowered: Lowered | None = None) -> Iterator[int]:
    """The index of each line of `text` (line i starts at starts[i]; starts holds one more entry, the end) on
    which a match of `pattern` over the whole text starts, in order, each once. With `words` (lower-case, one of
    which every match holds) and a lowered text that can stand in, the lines holding one of the words instead:
    every line with a match is among them, and the caller runs the pattern on each. A match in a line is a
    match in the text at the same place when the pattern has no anchor that sees past a line, so searching the
    text from the start of the line after a hit finds every other line."""
    lines = len(starts) - 1
    hits = (lowered or Lowered(text)).positions(words) if words else None
    if hits is not None:
        last = -1
        for p in hits:
            i = bisect_right(starts, p) - 1
            if i != last and i < lines:
                yield i
                last = i
        return
    m = pattern.search(text)
    while m is not None:
        i = bisect_right(starts, m.start()) - 1
        if i >= lines:
            return
        yield i
        m = pattern.search(text, starts[i + 1])
