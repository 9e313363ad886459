"""Short facts in the input that point at a license: titles, names, version lines, URLs."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import compress

from audit.licenses.identify.data import Data
from audit.licenses.identify.tokens import Tokens


def quote(words: tuple[str, ...], a: int, b: int, limit: int = 14) -> str:
    ws = [w[2:] if w.startswith("u:") else w for w in words[a:b]]
    text = " ".join(ws[:limit])
    return f"'{text}{' ...' if len(ws) > limit else ''}'"


def line_span(tokens: Tokens, a: int, b: int) -> str:
    la, lb = tokens.lines[a], tokens.lines[max(a, b - 1)]
    return f"line {la}" if la == lb else f"lines {la}-{lb}"


def is_url(w: str) -> bool:
    return w.startswith("u:")


def find_phrases(
    data: Data, words: tuple[str, ...], a: int = 0, b: int | None = None
) -> list[tuple[str, str, str, int]]:
    """Titles, names and dates (short facts from the data file) that occur in words[a:b]."""

    b = len(words) if b is None else b
    found: list[tuple[str, str, str, int]] = []  # (phrase, key, kind, position)
    phrases = data.phrases
    for i in compress(range(a, b), map(phrases.__contains__, words[a:b])):
        for ph, key, kind in phrases[words[i]]:
            if tuple(words[i : i + len(ph)]) == ph:
                found.append((" ".join(ph), key, kind, i))
    return found


def url_keys(data: Data, words: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for w in words:
        if not w.startswith("u:"):
            continue
        u = w[2:]
        for pattern, key in data.urls:
            if u == pattern or u.startswith((pattern + "/", pattern + "#", pattern + "?")):
                out.append((u, key))
                break
    return out


# Families of model licenses whose versions and companions look alike; a name of one version inside
# the wording of another is a sign of a swapped version or of a license we hold no reference for.
_FAMILIES = (
    ("llama", "llama"),
    ("gemma", "gemma"),
    ("tii-falcon", "falcon"),
    ("falcon", "falcon"),
    ("qwen", "qwen"),
    ("tongyi", "qwen"),
    ("openmdw", "openmdw"),
    ("yi-", "yi"),
    ("mnpl", "mistral"),
    ("mrl", "mistral"),
    ("deepseek", "deepseek"),
    ("exaone", "exaone"),
)
_COMPANION_SUFFIXES = ("-aup", "-prohibited-use-policy", "-research")


def _family(key: str) -> str | None:
    for prefix, fam in _FAMILIES:
        if key.startswith(prefix):
            return fam
    return None


def base_key(key: str) -> str:
    """The license a companion belongs to: llama3.1-aup -> llama3.1, tongyi-qianwen-research -> tongyi-qianwen."""
    for suffix in _COMPANION_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


@dataclass
class Markers:
    title_other: str | None = None  # a title in the text that names another license
    title_other_phrase: str | None = None
    title_own: bool = False
    name_other: str | None = None  # a version name of the same family named more often than the reference's
    name_other_count: int = 0
    name_own_count: int = 0
    own_phrases: tuple[str, ...] = ()


def find_markers(data: Data, words: tuple[str, ...], a: int, title_end: int, b: int, key: str) -> Markers:
    out = Markers()
    fam = _family(key)
    counts: dict[str, int] = {}
    own: list[str] = []
    for phrase, mkey, kind, pos in find_phrases(data, words, a, b):
        if kind == "title" and pos < title_end:
            if mkey == key:
                out.title_own = True
                own.append(f"title '{phrase}'")
            elif out.title_other is None:
                out.title_other, out.title_other_phrase = mkey, phrase
        elif kind == "version" and mkey == key:
            own.append(f"version line '{phrase}'")
        elif kind == "name" and fam and _family(mkey) == fam:
            counts[mkey] = counts.get(mkey, 0) + 1
    out.name_own_count = counts.pop(base_key(key), 0)
    if counts:
        other, n = max(sorted(counts.items()), key=lambda kv: kv[1])
        out.name_other, out.name_other_count = other, n
    out.own_phrases = tuple(dict.fromkeys(own))
    return out
