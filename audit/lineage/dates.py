"""When a model was made: the Hub's createdAt, else the latest date its card mentions or the latest release of a
library version it or its files name (lower bounds).

A registry entry whose license changed over time is read as of this date (see inherit.registry_facts).
`dating` gives what is known as bounds, and `side` decides on which side of a license change a model falls:
an exact date (the Hub's createdAt) decides unless it falls inside the change's own bounds; a lower bound
(the latest date the card mentions: a card citing a 2023-11 paper was written after 2023-11; a model whose card
lists transformers 4.38.2 among its framework versions was made after that release) decides only
when it is after the change; an upper bound (the last commit: the weights existed by then) only when it is
before. Otherwise the change is undecided, and the lineage checks report it (lineage-license-history).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from audit.lineage.phrases import lowered
from audit.model import ModelCard, Snapshot
from audit.sources.base import json_object

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


# a date in the same sentence as one of these words dates the model itself ("Trained in December 2023",
# "Released: 2024-03-01"); any other date (a citation, an arXiv id, a bibtex year) only bounds it from below
_MADE = re.compile(r"\b(?:trained|released?|created|uploaded|published|fine-?tuned|merged|made|updated|date)\b"
                   r"[^.\n]{0,40}$", re.IGNORECASE)


def card_stated_date(card: ModelCard) -> _dt.date | None:
    """The latest date the card states for the model's own making (see _MADE), else None."""
    text = card.body
    low = lowered(text)  # as in card_date_floor: the same matches, found faster in lower-cased text
    month_years: Iterable[re.Match[str]]
    if low is None:
        iso, month_years = _ISO_DATE.finditer(text), _MONTH_YEAR.finditer(text)
    else:
        text = low
        iso, month_years = _ISO_DATE_FAST.finditer(low), _month_years(low)
    found: list[_dt.date] = []
    for m in iso:
        if _MADE.search(text, max(0, m.start() - 50), m.start()):
            found.append(_dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)))
    for m in month_years:
        if _MADE.search(text, max(0, m.start() - 50), m.start()):
            found.append(_dt.date(int(m.group(2)), _month_number(m.group(1)), 1))
    today = _dt.date.today()
    found = [d for d in found if d <= today]
    return max(found) if found else None


# "Framework versions" lines of the Trainer, PEFT, TRL and sentence-transformers card templates
# ('- Transformers 4.37.2', '- TRL: 0.12.1', '- Sentence Transformers: 3.0.1'), read under that heading only
_FRAMEWORK_LINE = re.compile(r"^\s*[-*]\s*(transformers|peft|trl|pytorch|torch|datasets|tokenizers|diffusers|"
                             r"sentence[ -]transformers|accelerate)\s*:?\s*v?(\d+\.\d+(?:\.\d+)?[\w.+-]*)\s*$",
                             re.IGNORECASE | re.MULTILINE)
_FRAMEWORK_HEAD = re.compile(r"ramework\s+versions?", re.IGNORECASE)
_PYPI_NAME = {"pytorch": "torch", "sentence transformers": "sentence-transformers"}
_PRE_RELEASE = re.compile(r"^(\d+\.\d+(?:\.\d+)?)(?:\.?(?:dev|rc|a|b|alpha|beta)\d*)", re.IGNORECASE)
RELEASES_FILE = os.path.join(os.path.dirname(__file__), "data", "releases.yaml")


@lru_cache(maxsize=1)
def _releases() -> dict[str, dict[str, _dt.date]]:
    import yaml

    with open(RELEASES_FILE, encoding="utf-8") as fh:
        data = yaml.load(fh.read(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {lib: {str(v): _dt.date.fromisoformat(str(d)) for v, d in versions.items()} for lib, versions in data.items()}


@lru_cache(maxsize=1024)  # a tree's cards name the same few versions over and over
def release_date(library: str, version: str) -> _dt.date | None:
    """When `version` of `library` was first published (releases.yaml): a model made with it was made after.
    A local build ('2.1.0+cu121') is its release; a pre-release of X.Y.Z ('4.37.0.dev0', '1.0.0rc1') was made
    after the last release before X.Y.Z, so that release's date stands for it. None for a version not known."""
    library = _PYPI_NAME.get(library.lower(), library.lower())
    known = _releases().get(library)
    if not known:
        return None
    version = version.split("+", 1)[0].strip()
    if version in known:
        return known[version]
    pre = _PRE_RELEASE.match(version)
    if pre is None:
        return None
    target = _version_tuple(pre.group(1))
    if target is None:
        return None
    before = [d for t, d in _ordered(library) if t < target]
    return max(before) if before else None


@lru_cache(maxsize=16)
def _ordered(library: str) -> tuple[tuple[tuple[int, ...], _dt.date], ...]:
    """A library's releases (not its pre-releases) as (version tuple, date)."""
    return tuple((t, d) for v, d in _releases().get(library, {}).items() if (t := _version_tuple(v)) is not None)


def _version_tuple(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    if not all(p.isdigit() for p in parts):
        return None  # a pre-release or local build: not a release to count
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def framework_floor(card: ModelCard | None, snapshot: Snapshot | None) -> tuple[_dt.date, str] | None:
    """The latest release date among the library versions a model names (its card's "Framework versions", its
    config files' transformers / diffusers / sentence-transformers versions), with what named it: the model
    was made after that library version was published."""
    named: list[tuple[str, str, str]] = []  # (library, version, where)
    # 'Framework versions' (Trainer), 'Framework Versions' (sentence-transformers), 'framework versions'
    head = _FRAMEWORK_HEAD.search(card.body) if card is not None and "ramework" in card.body else None
    if card is not None and head is not None:
        for m in _FRAMEWORK_LINE.finditer(card.body, head.start()):
            named.append((m.group(1), m.group(2), "its card's framework versions"))
    texts = snapshot.texts if snapshot is not None else {}
    for path, keys in (("config.json", (("transformers_version", "transformers"),)),
                       ("generation_config.json", (("transformers_version", "transformers"),)),
                       ("model_index.json", (("_diffusers_version", "diffusers"),))):
        data = json_object(texts.get(path))
        for key, lib in keys:
            if isinstance(data.get(key), str):
                named.append((lib, data[key], f"{path} {key}"))
    st = json_object(texts.get("config_sentence_transformers.json")).get("__version__")
    if isinstance(st, dict):
        for key, lib in (("sentence_transformers", "sentence-transformers"), ("transformers", "transformers"),
                         ("pytorch", "torch")):
            if isinstance(st.get(key), str):
                named.append((lib, st[key], "config_sentence_transformers.json __version__"))
    best: tuple[_dt.date, str] | None = None
    for lib, version, where in named:
        day = release_date(lib, version)
        if day is not None and (best is None or day > best[0]):
            best = (day, f"{where} name {lib} {version}, published {day.isoformat()}")
    return best


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


@dataclass(frozen=True, slots=True)
class Dating:
    """What is known of when a model was made."""

    exact: _dt.date | None = None  # the Hub's createdAt, else a date the card states for the model's making
    floor: _dt.date | None = None  # made after this (the latest date its card mentions)
    ceiling: _dt.date | None = None  # made by this (its last commit)
    why: str = "no date is known"

    @property
    def best(self) -> _dt.date | None:
        """One date to show and to read a registry entry at: exact, else the lower bound."""
        return self.exact or self.floor


def dating(card: ModelCard | None, snapshot: Snapshot | None) -> Dating:
    """The Hub's createdAt (exact), the last commit (an upper bound), and the card's dates and the library
    versions it and the model's files name (lower bounds)."""
    info = snapshot.info if snapshot is not None else {}
    exact = parse_date(info.get("createdAt"))
    ceiling = parse_date(info.get("lastModified"))
    floor = None if exact is not None else card_date_floor(card)
    parts = []
    if exact is not None:
        parts.append(f"created {exact.isoformat()} (Hub createdAt)")
    elif floor is not None and card is not None:
        stated = card_stated_date(card)
        if stated is not None:
            exact = stated
            parts.append(f"its card says it was made {stated.isoformat()}")
    if floor is not None:
        parts.append(f"its card mentions dates up to {floor.isoformat()} (a lower bound)")
    made_with = framework_floor(card, snapshot) if exact is None else None
    if made_with is not None and (floor is None or made_with[0] > floor):
        floor = made_with[0]
        parts.append(f"{made_with[1]} (a lower bound)")
    if ceiling is not None:
        parts.append(f"last commit {ceiling.isoformat()}")
    why = "; ".join(parts) or "no date in its card, files or Hub metadata"
    return Dating(exact, floor, ceiling, why)


def side(d: Dating, earliest: _dt.date | None, latest: _dt.date | None) -> Literal["before", "after"] | None:
    """On which side of a change that happened between `earliest` and `latest` the model was made (None: undecided)."""
    if earliest is None or latest is None:
        return None
    if d.exact is not None:
        return "before" if d.exact < earliest else "after" if d.exact > latest else None
    if d.floor is not None and d.floor > latest:
        return "after"
    if d.ceiling is not None and d.ceiling < earliest:
        return "before"
    return None
