"""A text no reference matches: a pointer to a license (stub), a translation, or unknown; never a guess."""
from __future__ import annotations

import re
from dataclasses import dataclass

from audit.licenses.identify.data import Data
from audit.licenses.identify.markers import find_phrases, is_url, url_keys
from audit.licenses.identify.result import Identification
from audit.licenses.identify.tokens import Tokens, clean_line

_POINTER = re.compile(
    r"\b(?:see|refer to|available at|can be found|found at|licensed under|released under|distributed under|"
    r"subject to|governed by|terms linked|license link)\b",
    re.IGNORECASE,
)
# "license"/"agreement" in the languages model licenses get translated into: a foreign text without
# any of them is not a license translation
_LICENSE_WORDS = re.compile(
    r"licen[cs]|lizenz|licenza|licença|licentie|licencja|lisans|лиценз|许可|協議|协议|授權|授权|ライセンス|라이선스|"
    r"acuerdo|vereinbarung|accordo|contrat|agreement|terms",
    re.IGNORECASE,
)
_CARD_NAME = re.compile(r"(^|/)(readme|model[_-]?card)[^/]*$", re.IGNORECASE)
_NON_LATIN = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")
_ENGLISH = frozenset(["the", "of", "and", "to", "or", "in", "any", "you", "this", "by", "for", "that", "with", "be", "are", "is", "not", "as", "such"])


def is_card(text: str, name: str | None) -> bool:
    """A model card (README, front matter): prose about a model, which may quote a license but is none."""
    return bool(name and _CARD_NAME.search(name)) or text.lstrip("\ufeff").startswith("---\n")


@dataclass(frozen=True, slots=True)
class _Clues:
    """What in an unmatched text points at a license: known URLs, and titles and names from the data."""

    urls: list[tuple[str, str]]  # (url, key)
    phrases: list[tuple[str, str, str, int]]  # (phrase, key, kind, position)
    prefer_policy: bool  # the file name says use policy: a policy URL wins over the license's

    def phrase(self, kinds: tuple[str, ...]) -> tuple[str | None, str | None]:
        for phrase, key, kind, _ in self.phrases:
            if kind in kinds:
                return key, phrase
        return None, None

    def url(self) -> tuple[str | None, str | None]:
        if not self.urls:
            return None, None
        if self.prefer_policy:
            for u, k in self.urls:
                if k.endswith("-aup") or "policy" in k:
                    return k, u
        return self.urls[0][1], self.urls[0][0]


def _result(key: str | None, confidence: float, verdict: str, details: list[str], tokens: Tokens) -> Identification:
    lines = tokens.lines
    return Identification(key, None, confidence, verdict, tuple(details), lines[0] if lines else None,
                          lines[-1] if lines else None)


def without_match(
    data: Data, text: str, tokens: Tokens, qgrams: list[int], name: str | None, notes: list[str]
) -> Identification:
    """No reference matches: a pointer (stub), a translation, or unknown."""
    words = tokens.words
    if is_card(text, name):
        named = sorted({k for _, k, kind, _ in find_phrases(data, words) if kind == "title"})
        details = ["a model card, not a license text: no license text found in it", *notes]
        if named:
            details.append(f"it names {', '.join(named)}")
        return _result(None, 0.0, "unknown", details, tokens)
    clues = _Clues(url_keys(data, words), find_phrases(data, words),
                   bool(name and re.search(r"polic|aup|use", name, re.I)))
    n_words = sum(1 for w in words if not is_url(w))
    foreign = _foreign(text, words, n_words)
    if foreign and _LICENSE_WORDS.search(text[:200_000]):
        key, why = clues.url()
        if key is None:
            key, why = clues.phrase(("name", "title"))
        if key:
            return _result(key, 0.4, "translation", [f"{foreign}; points at {key} by '{why}'", *notes], tokens)
        return _result(None, 0.0, "unknown", [f"{foreign}; no marker of a known license", *notes], tokens)

    # a pointer is short and points: a link, or "see", "licensed under", "available at" ...
    has_link = bool(clues.urls) or any(is_url(w) for w in words)
    pointing = has_link or bool(_POINTER.search(text[:5000]))
    if n_words <= 30 or (n_words <= 120 and pointing):
        return _pointer(clues, text, tokens, notes, has_link, pointing)

    key, why = clues.phrase(("title",))
    if key:
        details = [
            f"the title names {key} ('{why}') but the wording does not match its reference: paraphrase or rewrite",
            *notes,
        ]
        return _result(key, 0.3, "modified", details, tokens)
    return _result(None, 0.0, "unknown", ["matches no known license text", *notes], tokens)


def _foreign(text: str, words: tuple[str, ...], n_words: int) -> str | None:
    """Why the text reads as a translation ("mostly non-Latin script", "not English"), or None."""
    non_latin = len(_NON_LATIN.findall(text[:200_000]))
    latin = len(_LATIN.findall(text[:200_000]))
    if non_latin > 0.3 * (non_latin + latin) and non_latin >= 40:
        return "mostly non-Latin script"
    english = sum(1 for w in words if w in _ENGLISH) / max(1, n_words)
    if n_words >= 80 and english < 0.08:
        return "not English"
    return None


def _pointer(
    clues: _Clues, text: str, tokens: Tokens, notes: list[str], has_link: bool, pointing: bool
) -> Identification:
    """A short text: which license it points at, the surest clue first."""
    key, why = clues.url()
    conf = 0.7
    if key is None:
        key, why = clues.phrase(("title",))
        conf = 0.6
    if key is None:
        key, why = _catalog_pointer(tokens.words, text)
        conf = 0.5
    if key is None:
        key, why = clues.phrase(("name",))
        conf = 0.35
    if key:
        return _result(key, conf, "stub", [f"a pointer, not the license text: names {key} by '{why}'", *notes], tokens)
    if has_link or (pointing and re.search(r"licen[cs]e|terms", text, re.I)):
        details = ["a short text that points elsewhere; the license it names is unknown", *notes]
        return _result(None, 0.0, "stub", details, tokens)
    return _result(None, 0.0, "unknown", ["too short and matches no known license", *notes], tokens)


def _catalog_pointer(words: tuple[str, ...], text: str) -> tuple[str | None, str | None]:
    """Ask the catalog about the links and short lines of a stub (loaded only for stubs)."""
    try:
        from audit.licenses.catalog import catalog

        cat = catalog()
    except Exception:  # the catalog is optional help here; its own tests guard it
        return None, None
    for w in words:
        if is_url(w):
            key = cat.by_link(w[2:])
            if key:
                return key, w[2:]
    for line in text.splitlines()[:20]:
        line = clean_line(line).strip(" :.")
        if 2 <= len(line) <= 80:
            key = cat.lookup(line)
            if key:
                return key, line
    return None, None
