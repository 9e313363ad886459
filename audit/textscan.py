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

from collections.abc import Iterable

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
