"""The shipped fingerprints (data/fingerprints.json): references, postings, phrases and URLs, loaded once."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fingerprints.json")


@dataclass
class Ref:
    id: str
    key: str
    version: str | None
    title: str
    ntok: int
    grams: list[int]
    optional: tuple[tuple[int, int], ...]
    headings: tuple[tuple[int, str], ...]
    repeats: tuple[tuple[int, tuple[int, ...]], ...] = ()  # grams that occur more than once: all positions
    sources: tuple[str, ...] = ()  # every input that holds this very text (corpus file, ScanCode key)
    _gramset: frozenset[int] | None = None
    _positions: dict[int, Any] | None = None

    @property
    def gramset(self) -> frozenset[int]:
        if self._gramset is None:
            self._gramset = frozenset(self.grams)
        return self._gramset

    def positions(self) -> dict[int, Any]:
        """Gram hash -> its first position in the reference, or all its positions when it repeats."""
        if self._positions is None:
            n = len(self.grams)
            pos: dict[int, Any] = dict(zip(reversed(self.grams), range(n - 1, -1, -1)))
            for h, where in self.repeats:
                pos[h] = tuple(where)
            self._positions = pos
        return self._positions

    def heading_at(self, tok: int) -> str | None:
        found = None
        for start, text in self.headings:
            if start > tok:
                break
            found = text
        return found


@dataclass
class Data:
    refs: list[Ref]
    postings: dict[int, int]  # gram hash -> ref index (>= 0) or -(group index + 1)
    groups: list[tuple[int, ...]]
    phrases: dict[str, list[tuple[tuple[str, ...], str, str]]]  # first word -> (words, key, kind)
    urls: list[tuple[str, str]]  # (url_form, key), longest first


def _u32(b64: str) -> list[int]:
    import base64
    from array import array

    arr = array("I")
    arr.frombytes(base64.b64decode(b64))
    if arr.itemsize != 4:  # pragma: no cover - every CPython platform we support has 4-byte "I"
        raise RuntimeError("unsigned int is not 32 bits on this platform")
    import sys

    if sys.byteorder != "little":  # pragma: no cover
        arr.byteswap()
    return arr.tolist()


def _i32(b64: str) -> list[int]:
    return [v - (1 << 32) if v >= (1 << 31) else v for v in _u32(b64)]


def subset(data: Data, keep: Callable[[Ref], bool]) -> Data:
    """The same data restricted to the references keep(ref) accepts (held-out evaluation, benchmarks)."""
    refs = [r for r in data.refs if keep(r)]
    holders: dict[int, list[int]] = {}
    for i, r in enumerate(refs):
        for h in set(r.grams):
            holders.setdefault(h, []).append(i)
    postings: dict[int, int] = {}
    group_of: dict[tuple[int, ...], int] = {}
    for h, refs_of in holders.items():
        if len(refs_of) == 1:
            postings[h] = refs_of[0]
        else:
            postings[h] = -(group_of.setdefault(tuple(refs_of), len(group_of)) + 1)
    groups = [g for g, _ in sorted(group_of.items(), key=lambda kv: kv[1])]
    return Data(refs, postings, groups, data.phrases, data.urls)


@lru_cache(maxsize=1)
def load_data() -> Data:
    with open(DATA_FILE, encoding="utf-8") as fh:
        raw = json.load(fh)
    refs = [
        Ref(
            id=r["id"],
            key=r["key"],
            version=r.get("version"),
            title=r.get("title", ""),
            ntok=r["ntok"],
            grams=_u32(r["grams"]),
            optional=tuple((a, b) for a, b in r.get("optional", ())),
            headings=tuple((a, t) for a, t in r.get("headings", ())),
            repeats=tuple((h, tuple(p)) for h, p in r.get("repeats", ())),
            sources=tuple(r.get("sources", (r["id"],))),
        )
        for r in raw["refs"]
    ]
    postings = dict(zip(_u32(raw["postings"]["hashes"]), _i32(raw["postings"]["values"])))
    groups = [tuple(g) for g in raw["postings"]["groups"]]
    phrases: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    for text, key, kind in raw["phrases"]:
        words = tuple(text.split())
        phrases.setdefault(words[0], []).append((words, key, kind))
    urls = sorted(((u, k) for u, k in raw["urls"]), key=lambda uk: (-len(uk[0]), uk[0]))
    return Data(refs, postings, groups, phrases, urls)
