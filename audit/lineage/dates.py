"""When a model was made: the Hub's createdAt, else the latest date its card mentions (a lower bound).

A registry entry whose license changed over time is read as of this date (see inherit.registry_facts).
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import Any

from audit.lineage.phrases import lowered
from audit.model import ModelCard, Snapshot

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_ISO_DATE = re.compile(r"(?<!\d)(20[12]\d)-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?(?!\d)")
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(?:\d{1,2},\s+)?(20[12]\d)\b", re.IGNORECASE)
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{2})(0[1-9]|1[0-2])\.\d{4,5}", re.IGNORECASE)
_BIB_YEAR = re.compile(r"\byear\s*=\s*[{\"]?(20[12]\d)\b", re.IGNORECASE)
# The same patterns in a form the engine scans fast (see phrases.lowered): for lower-cased text, and opening with a
# literal (a \b or lookbehind before a word's first letter moves behind it: 'y(?<!\wy)ear' is '\byear').
_ISO_DATE_FAST = re.compile(r"(20(?<!\d20)[12]\d)-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?(?!\d)")
_MONTH_YEAR_LOW = re.compile(_MONTH_YEAR.pattern)  # tried only where a month name starts: see _month_years
_ARXIV_LOW = re.compile(_ARXIV.pattern)
_BIB_YEAR_LOW = re.compile(r"y(?<!\wy)ear\s*=\s*[{\"]?(20[12]\d)\b")


def _month_years(low: str) -> list[re.Match[str]]:
    """What _MONTH_YEAR.finditer finds, in lower-cased text. Every match starts with a month name, and no
    match can start inside another (nor a month name inside a month name, at a word boundary), so trying the
    pattern where str.find sees a month name finds the same matches, and far faster than a regex scan whose
    first letters (j f m a s o n d) are most of any text."""
    out = []
    for name in _MONTHS:
        i = low.find(name)
        while i >= 0:
            m = _MONTH_YEAR_LOW.match(low, i)
            if m is not None:
                out.append(m)
            i = low.find(name, i + 1)
    return out


def _month_number(name: str) -> int:
    """1-12 for a month name _MONTH_YEAR matched (IGNORECASE also matches 'Auguſt', which lower() keeps)."""
    n = _MONTHS.get(name.lower())
    return n if n is not None else next(i for m, i in _MONTHS.items() if re.fullmatch(m, name, re.IGNORECASE))


def card_date_floor(card: ModelCard | None) -> _dt.date | None:
    """The latest date a card mentions (ISO dates, 'Month YYYY', arXiv ids, bibtex years): it was written after."""
    if card is None:
        return None
    text = card.body
    low = lowered(text)
    month_years: Iterable[re.Match[str]]
    if low is None:
        month_years, arxiv, bib_year = _MONTH_YEAR.finditer(text), _ARXIV, _BIB_YEAR
    else:
        month_years, arxiv, bib_year = _month_years(low), _ARXIV_LOW, _BIB_YEAR_LOW
        text = low
    today = _dt.date.today()
    found: list[_dt.date] = []
    for m in _ISO_DATE_FAST.finditer(text):
        found.append(_dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)))
    for m in month_years:
        found.append(_dt.date(int(m.group(2)), _month_number(m.group(1)), 1))
    for m in arxiv.finditer(text):
        found.append(_dt.date(2000 + int(m.group(1)), int(m.group(2)), 1))
    for m in bib_year.finditer(text):
        found.append(_dt.date(int(m.group(1)), 1, 1))
    found = [d for d in found if d <= today]
    return max(found) if found else None


def parse_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None



def subject_date(card: ModelCard | None, snapshot: Snapshot | None) -> _dt.date | None:
    """The Hub's createdAt when known, else the latest date the card mentions."""
    if snapshot is not None:
        d = parse_date(snapshot.info.get("createdAt"))
        if d is not None:
            return d
    return card_date_floor(card)
