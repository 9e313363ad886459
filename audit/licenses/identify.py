"""Know a license by its text: catalog key, version, confidence, and a verdict on the text itself.

No license text ships in audit/. tools/build_fingerprints.py turns reference texts (the shared corpus
and, where installed, ScanCode's license database) into data/fingerprints.json, which holds for each
reference the sequence of CRC32 hashes of its normalized word 5-grams, the token offsets of its
headings and of its optional parts (title, appendix), and short facts (titles, names, URLs) that point
at a license.

Matching normalizes the input the way the SPDX matching guidelines do, hashes its 5-grams, picks the
references that share the most of them, aligns the input against each (difflib on the hash
sequences) and reads the alignment: what is missing (removed, or a truncated tail), what is extra
(added), and which of two near-identical references (Llama 3.1 vs 3.3) the distinguishing 5-grams
support. A text that matches nothing well is a stub, a translation, or unknown; never a guess.
"""
from __future__ import annotations

import json
import os
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "fingerprints.json")
NGRAM = 5
MAX_CHARS = 1_048_576  # the same cap sources put on a license text; beyond it we read the head only
MAX_RESULTS = 8  # licenses reported per text
VERDICTS = ("exact", "modified", "truncated", "translation", "stub", "unknown")


@dataclass(frozen=True)
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


# ---------------------------------------------------------------------------------------------------
# Normalization (shared with tools/build_fingerprints.py, so references and inputs agree exactly)

_URL = r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`“”‘’|]+"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# a URL is one token; CJK text has no spaces, so each ideograph is a token
_URL_RE = re.compile(_URL, re.IGNORECASE)
_TOKEN_RE = re.compile(r"[" + _CJK + r"]|[^\W_" + _CJK + r"]+(?:\.\d+)*")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_AUTOLINK = re.compile(r"<((?:https?://|www\.)[^>\s]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z!][^<>\n]{0,300}>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
# list numbering, which SPDX ignores: "1.", "a)", "(iv)", "iv." before a word, at the start of a line
# and anywhere else (so that rewrapping a paragraph changes nothing). Section numbers such as "1.1"
# stay: copies keep them, and they read the same wherever a line breaks.
_ENUM_START = re.compile(r"^(?:\(?(?:\d{1,3}|[a-z]|[ivxlc]{1,6})[.)](?=\s|[^\W\d_]|$)\s*)+")
_ENUM_INLINE = re.compile(
    r"\((?:\d{1,2}|[a-z]|[ivxlc]{1,5})\)|(?<![^\s(])(?:\d{1,2}|[a-z]|[ivxlc]{1,5})[.)](?=\s|$)"
)
_HYPHEN_IN_WORD = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011](?=[^\W\d_])")
_LICENCE = re.compile(r"licenc")
# lines a copy may add or change without changing the license: copyright notices, "[For the original
# copy, see URL]" headers of third-party copies, SPDX tags
_IGNORABLE = re.compile(
    r"^(?:copyright\s*(?:©|\(c\)|\d|[<\[{])|©|\(c\)\s*\d|all rights reserved\.?$|spdx-license-identifier\s*:"
    r"|\[[^\]]*(?:https?://|www\.)[^\]]*\]$)"
)
_EQUIVALENT = {
    # SPDX equivalent words (varietal spellings) that occur in model licenses
    "acknowledgement": "acknowledgment",
    "acknowledgements": "acknowledgments",
    "analogue": "analog",
    "authorisation": "authorization",
    "authorise": "authorize",
    "authorised": "authorized",
    "behaviour": "behavior",
    "centre": "center",
    "favour": "favor",
    "honour": "honor",
    "judgement": "judgment",
    "labour": "labor",
    "offence": "offense",
    "defence": "defense",
    "organisation": "organization",
    "organisations": "organizations",
    "recognised": "recognized",
    "utilise": "utilize",
    "whilst": "while",
}
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


def url_form(url: str) -> str:
    """A URL as we compare it: no scheme, no www., lower case, no trailing slash or punctuation."""
    u = url.strip().lower()
    u = re.sub(r"^(?:https?://)?(?:www\.)?", "", u)
    return u.rstrip("/.,;:!?)'\"*").rstrip("/")


@dataclass(frozen=True)
class Tokens:
    words: tuple[str, ...]  # normalized tokens; a URL is one token "u:<url_form>"
    lines: tuple[int, ...]  # 1-based input line of each token
    n_lines: int


_LEAD_CHARS = " \t#>+-|=_~•●○◦▪■□·–—"  # heading marks, quote marks, bullets, table pipes, rules
_EQUIVALENT_WORDS = frozenset(_EQUIVALENT)


def _clean_line(raw: str) -> str:
    """One line without markdown/HTML markup, lower-cased, without leading marks (for titles and lookups)."""
    line = raw
    if "](" in line:
        line = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(" ", line))
    if "<" in line:
        line = _TAG.sub(" ", _AUTOLINK.sub(r"\1", line))
    if "&" in line:
        import html

        line = html.unescape(line)
    if "\\" in line:
        line = _MD_ESCAPE.sub(r"\1", line)
    line = line.replace("*", "").replace("\u00a0", " ").replace("\t", " ")
    return line.strip().lstrip(_LEAD_CHARS).strip().lower()


def _words_of(segment: str, number: int, words: list[str], lines: list[int]) -> None:
    if not segment:
        return
    segment = _ENUM_INLINE.sub(" ", segment)
    if "-" in segment or "\u2010" in segment or "\u2011" in segment:
        segment = _HYPHEN_IN_WORD.sub("", segment)
    if "licenc" in segment:
        segment = _LICENCE.sub("licens", segment)
    found = _TOKEN_RE.findall(segment)
    if not found:
        return
    if not _EQUIVALENT_WORDS.isdisjoint(found):
        found = [_EQUIVALENT.get(w, w) for w in found]
    words.extend(found)
    lines.extend([number] * len(found))


def tokenize(text: str) -> Tokens:
    """Normalize a text into tokens, keeping the line each token came from."""
    words: list[str] = []
    lines: list[int] = []
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    hyphen_join = False  # the previous line ended in a word broken by a hyphen ("non-" / "exclusive")
    for number, raw in enumerate(raw_lines, 1):
        line = _clean_line(raw)
        if not line:
            hyphen_join = False
            continue
        if line[0] in "c©(as[" and _IGNORABLE.match(line) and len(line) < 300:
            continue
        if line[0].isalnum() or line[0] == "(":
            line = _ENUM_START.sub("", line, count=1)
        first = len(words)
        if "://" in line or "www." in line:
            pos = 0
            for m in _URL_RE.finditer(line):
                _words_of(line[pos : m.start()], number, words, lines)
                form = url_form(m.group(0))
                if form:
                    words.append("u:" + form)
                    lines.append(number)
                pos = m.end()
            _words_of(line[pos:], number, words, lines)
        else:
            _words_of(line, number, words, lines)
        if hyphen_join and first < len(words) and first > 0 and not words[first].startswith("u:"):
            words[first - 1] += words.pop(first)
            lines.pop(first)
        hyphen_join = len(line) > 1 and line[-1] in "-\u2010\u2011" and line[-2].isalpha()
    return Tokens(tuple(words), tuple(lines), len(raw_lines))


def gram_hashes(words: tuple[str, ...] | list[str]) -> list[int]:
    """CRC32 of each word 5-gram; gram i covers words i..i+4."""
    enc = [w.encode("utf-8") for w in words]
    crc = zlib.crc32
    sp = b" "
    return [crc(sp.join(enc[i : i + NGRAM])) for i in range(len(enc) - NGRAM + 1)]


# ---------------------------------------------------------------------------------------------------
# Shipped data


@dataclass
class _Ref:
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
class _Data:
    refs: list[_Ref]
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


def _subset(data: _Data, keep) -> _Data:
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
    return _Data(refs, postings, groups, data.phrases, data.urls)


@lru_cache(maxsize=1)
def _data() -> _Data:
    with open(DATA_FILE, encoding="utf-8") as fh:
        raw = json.load(fh)
    refs = [
        _Ref(
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
    return _Data(refs, postings, groups, phrases, urls)


# ---------------------------------------------------------------------------------------------------
# Alignment of the input against one reference


@dataclass
class _Match:
    ref: _Ref
    ri: int  # index of the reference in _Data.refs
    blocks: list[tuple[int, int, int]]  # (input token, reference token, length in tokens)
    q_start: int  # region of the input, token range [q_start, q_end)
    q_end: int
    cov_q: int  # input tokens inside the region that the reference explains
    cov_r: int  # reference tokens found in the input
    ref_len: int  # reference tokens that count (optional parts found, or not, excluded when absent)
    score: float = 0.0
    alternatives: list[_Ref] = field(default_factory=list)  # other references that share much of the input

    @property
    def region_len(self) -> int:
        return self.q_end - self.q_start

    @property
    def dice(self) -> float:
        return (self.cov_q + self.cov_r) / max(1, self.region_len + self.ref_len)


def _optional_missing(ref: _Ref, covered: bytearray) -> int:
    return sum(covered[a:b].count(0) for a, b in ref.optional)


def _in_optional(ref: _Ref, a: int, b: int) -> int:
    """How many of reference tokens [a, b) fall in its optional parts."""
    n = 0
    for oa, ob in ref.optional:
        lo, hi = max(a, oa), min(b, ob)
        if hi > lo:
            n += hi - lo
    return n


def _runs(qgrams: list[int], ref: _Ref) -> list[tuple[int, int, int]]:
    """Maximal diagonal runs (input gram, reference gram, length) of equal 5-gram hashes."""
    pos = ref.positions()
    runs: list[tuple[int, int, int]] = []
    si = sp = li = lp = -2  # start and last (input, reference) positions of the current run
    for i, p in enumerate(map(pos.get, qgrams)):
        if p is None:
            continue
        if type(p) is tuple:  # a 5-gram the reference repeats: continue the run if one of them does
            p = lp + 1 if (i == li + 1 and lp + 1 in p) else p[0]
        if i == li + 1 and p == lp + 1:
            li, lp = i, p
            continue
        if si >= 0:
            runs.append((si, sp, li - si + 1))
        si, sp, li, lp = i, p, i, p
    if si >= 0:
        runs.append((si, sp, li - si + 1))
    return runs


def _chain(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Longest runs first, each kept when it keeps the alignment monotone (like difflib, in n log n)."""
    from bisect import bisect_left

    chosen: list[tuple[int, int, int]] = []
    starts: list[int] = []
    for q, r, n in sorted(runs, key=lambda x: (-x[2], x[0], x[1])):
        i = bisect_left(starts, q)
        if i > 0:
            pq, pr, pn = chosen[i - 1]
            if pq + pn > q or pr + pn > r:
                continue
        if i < len(chosen):
            sq, sr, _ = chosen[i]
            if q + n > sq or r + n > sr:
                continue
        chosen.insert(i, (q, r, n))
        starts.insert(i, q)
    return chosen


def _align(qgrams: list[int], ntok_q: int, ref: _Ref, ri: int) -> _Match | None:
    chain = _chain(_runs(qgrams, ref))
    if not chain:
        return None
    # grams -> token blocks; a run of n matching grams covers n + 4 tokens
    blocks = [(q, r, n + NGRAM - 1) for q, r, n in chain]
    # chance matches of a common 5-gram far from the body of the match would stretch the region
    anchored = [b for b in blocks if b[2] >= 12]
    if anchored:
        blocks = [
            b
            for b in blocks
            if b[2] >= 12 or any(abs(b[0] - a[0]) < 60 or abs(b[0] - (a[0] + a[2])) < 60 for a in anchored)
        ]
    qcov = bytearray(ntok_q)
    rcov = bytearray(ref.ntok)
    for qa, ra, n in blocks:
        qcov[qa : qa + n] = b"\x01" * n
        rcov[ra : ra + n] = b"\x01" * n
    q_start = blocks[0][0]
    q_end = max(qa + n for qa, _, n in blocks)
    cov_q = qcov[q_start:q_end].count(1)
    cov_r = rcov.count(1)
    ref_len = ref.ntok - _optional_missing(ref, rcov)
    match = _Match(ref, ri, blocks, q_start, q_end, cov_q, cov_r, ref_len)
    # what the reference explains, less what is extra in the region and a little for what is missing
    match.score = cov_r - (match.region_len - cov_q) - 0.25 * (ref_len - cov_r)
    return match


@dataclass
class _Gap:
    q: tuple[int, int]  # input tokens [a, b) not in the reference
    r: tuple[int, int]  # reference tokens [a, b) not in the input


def _gaps(match: _Match) -> tuple[list[_Gap], int, int]:
    """Internal differences, and reference tokens missing before the first / after the last match."""
    gaps: list[_Gap] = []
    blocks = match.blocks
    for (qa, ra, n), (qb, rb, _) in zip(blocks, blocks[1:]):
        q0, r0 = qa + n, ra + n
        dq, dr = max(0, qb - q0), max(0, rb - r0)
        if dq or dr:
            gaps.append(_Gap((q0, q0 + dq), (r0, r0 + dr)))
    ref = match.ref
    lead = blocks[0][1]
    lead -= _in_optional(ref, 0, lead)
    tail_start = max(ra + n for _, ra, n in blocks)
    tail = ref.ntok - tail_start - _in_optional(ref, tail_start, ref.ntok)
    return gaps, lead, tail


# ---------------------------------------------------------------------------------------------------
# Identification


def _quote(words: tuple[str, ...], a: int, b: int, limit: int = 14) -> str:
    ws = [w[2:] if w.startswith("u:") else w for w in words[a:b]]
    text = " ".join(ws[:limit])
    return f"'{text}{' ...' if len(ws) > limit else ''}'"


def _line_span(tokens: Tokens, a: int, b: int) -> str:
    la, lb = tokens.lines[a], tokens.lines[max(a, b - 1)]
    return f"line {la}" if la == lb else f"lines {la}-{lb}"


def _is_url(w: str) -> bool:
    return w.startswith("u:")


def _find_phrases(data: _Data, words: tuple[str, ...], a: int = 0, b: int | None = None):
    """Titles, names and dates (short facts from the data file) that occur in words[a:b]."""
    from itertools import compress

    b = len(words) if b is None else b
    found: list[tuple[str, str, str, int]] = []  # (phrase, key, kind, position)
    phrases = data.phrases
    for i in compress(range(a, b), map(phrases.__contains__, words[a:b])):
        for ph, key, kind in phrases[words[i]]:
            if tuple(words[i : i + len(ph)]) == ph:
                found.append((" ".join(ph), key, kind, i))
    return found


def _url_keys(data: _Data, words: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for w in words:
        if not w.startswith("u:"):
            continue
        u = w[2:]
        for pattern, key in data.urls:
            if u == pattern or u.startswith(pattern + "/") or u.startswith(pattern + "#") or u.startswith(pattern + "?"):
                out.append((u, key))
                break
    return out


def _distinguishing(a: _Ref, b: _Ref, qset: set[int]) -> tuple[int, int]:
    """How many 5-grams of the input belong only to a, and only to b."""
    sa, sb = a.gramset, b.gramset
    only_a = sum(1 for h in qset if h in sa and h not in sb)
    only_b = sum(1 for h in qset if h in sb and h not in sa)
    return only_a, only_b


def _describe_gap(tokens: Tokens, match: _Match, gap: _Gap) -> str:
    ref = match.ref
    added = gap.q[1] - gap.q[0]
    removed = gap.r[1] - gap.r[0]
    where = _line_span(tokens, gap.q[0], gap.q[1]) if added else _line_span(tokens, max(0, gap.q[0] - 1), gap.q[0])
    section = ref.heading_at(gap.r[0])
    in_section = f" in section '{section}'" if section else ""
    if added and not removed:
        return f"added at {where}{in_section}: {_quote(tokens.words, *gap.q)}"
    after = _quote(tokens.words, max(match.q_start, gap.q[0] - 6), gap.q[0], 6)
    if removed and not added:
        return f"removed {removed} word(s) of the reference{in_section}, after {after} ({where})"
    return f"changed at {where}{in_section}: {removed} word(s) of the reference replaced by {_quote(tokens.words, *gap.q)}"


def _benign(tokens: Tokens, gap: _Gap) -> bool:
    """A link swapped for another link (a moved web page) does not change the terms."""
    q = tokens.words[gap.q[0] : gap.q[1]]
    r_len = gap.r[1] - gap.r[0]
    return len(q) == 1 and r_len == 1 and _is_url(q[0])


def identify_text(text: str, name: str | None = None) -> list[Identification]:
    """Every license found in a text, in the order they appear. Never raises on odd input.

    name is the file name, if any (USE_POLICY.md hints at a use policy when only a link is given).
    """
    try:
        return _identify(text, name)
    except Exception as exc:  # an identifier bug must not take the audit down; say so instead
        return [Identification(None, None, 0.0, "unknown", (f"identification failed: {type(exc).__name__}: {exc}",))]


def identify_file(path: str) -> list[Identification]:
    """Identify the license(s) in a file; an unreadable file is InputUnreadable naming it."""
    from audit.sources.base import MAX_TEXT_BYTES, read_text_file

    text = read_text_file(path, limit=MAX_TEXT_BYTES)
    return identify_text(text, name=os.path.basename(path))


def _identify(text: str, name: str | None, data: _Data | None = None) -> list[Identification]:
    if not isinstance(text, str):
        return [Identification(None, None, 0.0, "unknown", ("not text",))]
    notes: list[str] = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notes.append(f"only the first {MAX_CHARS // 1024} KiB were read")
    if "\x00" in text[:8192]:
        return [Identification(None, None, 0.0, "unknown", ("binary data, not a text",))]
    if not text.strip():
        return [Identification(None, None, 0.0, "unknown", ("empty text",))]
    tokens = tokenize(text)
    words = tokens.words
    data = data or _data()
    qgrams = gram_hashes(words)
    ntok = len(words)

    matches = _find_regions(data, qgrams, ntok)
    results: list[tuple[int, Identification]] = []
    if matches:
        covered = sum(m.region_len for m in matches)
        card = _is_card(text, name)
        license_like = covered >= 0.5 * ntok and not card
        ordered = sorted(matches, key=lambda m: m.q_start)
        for i, m in enumerate(ordered):
            prev_end = ordered[i - 1].q_end if i else 0
            next_start = ordered[i + 1].q_start if i + 1 < len(ordered) else ntok
            ident = _judge(data, tokens, qgrams, m, prev_end, next_start, license_like, card)
            results.append((m.q_start, ident))
        if len(matches) == MAX_RESULTS:
            notes.append(f"only the first {MAX_RESULTS} licenses found are reported")
        if not license_like:
            other = ntok - covered
            notes.append(f"the text also holds {other} words that are not part of an identified license")
        out = [r for _, r in sorted(results, key=lambda p: p[0])]
        if notes:
            out[0] = _with_details(out[0], tuple(notes))
        return out
    return [_without_match(data, text, tokens, qgrams, name, notes)]


def _with_details(ident: Identification, extra: tuple[str, ...]) -> Identification:
    return Identification(
        ident.key, ident.version, ident.confidence, ident.verdict, ident.details + extra, ident.start_line, ident.end_line
    )


def _find_regions(data: _Data, qgrams: list[int], ntok: int) -> list[_Match]:
    """Greedy: take the best-explained license, mask its region, look again for another one."""
    chosen: list[_Match] = []
    masked = list(qgrams)
    refs = data.refs
    from collections import Counter

    for _ in range(MAX_RESULTS):
        uniq = set(masked)
        uniq.discard(-1)
        vals = Counter(map(data.postings.get, uniq))
        vals.pop(None, None)
        counts: dict[int, int] = {}
        for v, c in vals.items():
            for r in (v,) if v >= 0 else data.groups[-v - 1]:
                counts[r] = counts.get(r, 0) + c
        qn = max(1, len(uniq))
        cands = []
        for ri, hits in counts.items():
            ngr = max(1, len(refs[ri].gramset))
            need = max(min(8, 0.5 * ngr), 0.06 * ngr)
            if hits >= need:
                # 5-gram Dice over the whole input: cheap, and enough to rank near-duplicates
                cands.append((2 * hits / (qn + ngr), hits, ri))
        if not cands:
            break
        cands.sort(key=lambda c: (-c[0], -c[1], c[2]))
        top = cands[0][0]
        aligned = []
        # the input's 5-grams are exactly one reference's: nothing can explain it better
        near = [c for c in cands[:3] if c[0] >= top - 0.1] if top < 0.999 else cands[:1]
        for _, _, ri in near:
            m = _align(masked, ntok, refs[ri], ri)
            if m is not None and _acceptable(m, first=not chosen):
                aligned.append(m)
        if not aligned:
            break
        aligned.sort(key=lambda m: (-m.score, -m.cov_r, m.ri))
        best = aligned[0]
        best.alternatives = [refs[ri] for gd, _, ri in cands[:12] if ri != best.ri and gd >= 0.75 * top]
        chosen.append(best)
        lo, hi = max(0, best.q_start - NGRAM + 1), min(len(masked), best.q_end)
        masked[lo:hi] = [-1] * max(0, hi - lo)
    return chosen


def _acceptable(m: _Match, first: bool) -> bool:
    """Enough of a reference, found densely enough, to call it that license (or a paraphrase of it)."""
    if m.cov_r < min(20, 0.8 * m.ref.ntok):
        return False
    found = m.cov_r / max(1, m.ref_len)
    dense = m.cov_q / max(1, m.region_len)
    if first:
        return (found >= 0.1 or m.cov_r >= 150) and dense >= 0.2
    return (found >= 0.3 or m.cov_r >= 200) and dense >= 0.5


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


def _base(key: str) -> str:
    """The license a companion belongs to: llama3.1-aup -> llama3.1, tongyi-qianwen-research -> tongyi-qianwen."""
    for suffix in _COMPANION_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


@dataclass
class _Markers:
    title_other: str | None = None  # a title in the text that names another license
    title_other_phrase: str | None = None
    title_own: bool = False
    name_other: str | None = None  # a version name of the same family named more often than the reference's
    name_other_count: int = 0
    name_own_count: int = 0
    own_phrases: tuple[str, ...] = ()


def _markers(data: _Data, words: tuple[str, ...], a: int, title_end: int, b: int, key: str) -> _Markers:
    out = _Markers()
    fam = _family(key)
    counts: dict[str, int] = {}
    own: list[str] = []
    for phrase, mkey, kind, pos in _find_phrases(data, words, a, b):
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
    out.name_own_count = counts.pop(_base(key), 0)
    if counts:
        other, n = max(sorted(counts.items()), key=lambda kv: kv[1])
        out.name_other, out.name_other_count = other, n
    out.own_phrases = tuple(dict.fromkeys(own))
    return out


def _judge(
    data: _Data,
    tokens: Tokens,
    qgrams: list[int],
    m: _Match,
    prev_end: int,
    next_start: int,
    license_like: bool,
    card: bool = False,
) -> Identification:
    words = tokens.words
    ref = m.ref
    details: list[str] = []
    gaps, lead_missing, tail_missing = _gaps(m)
    # differences inside parts a copy may leave out (a preamble, an appendix) do not count
    gaps = [g for g in gaps if not _within_optional(ref, g)]
    changes = [g for g in gaps if not _benign(tokens, g)]
    benign = [g for g in gaps if _benign(tokens, g)]

    # text around the license in a license file belongs to it (a "modified MIT" appends a clause)
    extra: list[tuple[int, int]] = []
    header_note = None
    lead_start = m.q_start
    if m.q_start - prev_end > 0 and m.q_start - prev_end <= 60:
        lead_start = prev_end
    if license_like:
        if m.q_start - prev_end > 0:
            a, b = prev_end, m.q_start
            if b - a <= 12 and prev_end == 0:
                header_note = f"header ignored: {_quote(words, a, b)}"
            elif b - a >= 4:
                extra.append((a, b))
        if next_start - m.q_end >= 4:
            extra.append((m.q_end, next_start))

    found = m.cov_r / max(1, m.ref_len)
    dense = m.cov_q / max(1, m.region_len)
    extra_words = sum(b - a for a, b in extra)
    changed_words = sum((g.q[1] - g.q[0]) + (g.r[1] - g.r[0]) for g in changes)
    truncated = tail_missing >= max(15, 0.04 * m.ref_len) or lead_missing >= max(15, 0.04 * m.ref_len)

    if not changes and not extra and tail_missing + lead_missing == 0:
        verdict = "exact"
    elif truncated and not changes and not extra:
        verdict = "truncated"
    else:
        verdict = "modified"

    # confidence in the key: how much of the reference is here and how little else
    if verdict == "exact":
        confidence = 1.0
    elif verdict == "truncated":
        confidence = min(0.95, 0.6 + 0.7 * min(found, 0.5)) if m.cov_r >= 60 else 0.5
    else:
        sim = (m.cov_q + m.cov_r) / max(1, m.region_len + m.ref_len + extra_words)
        if truncated:
            sim = max(sim, 0.5 * (dense + min(1.0, found * 2)))
        confidence = min(0.95, sim)
    weak = dense < 0.5 or (found < 0.3 and m.cov_r < 150)

    key, version = ref.key, ref.version
    mk = _markers(data, words, lead_start, m.q_start + 80, m.q_end, key)
    has_ref = {r.key for r in data.refs}

    if weak and card:
        closest = f"closest reference: {ref.key} ({found:.0%} of its wording, {ref.id})"
        return _ident(None, None, 0.0, "unknown", ["the wording matches no known license", closest], tokens, m)
    if weak:
        if not (mk.title_other or mk.title_own):
            # the wording matched only here and there: the title, if any, is at the top of the text
            mk = _markers(data, words, 0, 60, min(len(words), 60), key)
        # a paraphrase or a patchwork of borrowed clauses: the wording does not identify it
        closest = f"closest reference: {ref.key} ({found:.0%} of its wording, {ref.id})"
        if mk.title_other or mk.title_own:
            key = mk.title_other or key
            why = mk.title_other_phrase if mk.title_other else "its own title"
            details = [f"the title names {key} ('{why}') but the wording does not match: paraphrase or rewrite", closest]
            return _ident(key, None, min(confidence, 0.3), "modified", details, tokens, m)
        return _ident(None, None, 0.0, "unknown", ["the wording matches no known license", closest], tokens, m)

    details.append(f"reference: {ref.id}")
    if mk.title_other and not mk.title_own:
        if mk.title_other not in has_ref:
            # e.g. a Qwen RESEARCH text: worded like Tongyi Qianwen RESEARCH, titled as a license we hold
            # no reference for; the title is the better evidence, the text cannot be checked
            details.insert(
                0,
                f"the title names {mk.title_other} ('{mk.title_other_phrase}'), for which there is no reference "
                f"text; the wording is {m.dice:.0%} like {ref.key}",
            )
            key, version = mk.title_other, None
            confidence = min(confidence, 0.6)
            verdict = "modified"
        else:
            details.append(f"the title names {mk.title_other} ('{mk.title_other_phrase}') but the wording is {ref.key}'s")
            confidence = min(confidence, 0.45)
            if verdict == "exact":
                verdict = "modified"
    elif mk.name_other and mk.name_other_count >= 2 and mk.name_other_count > 2 * mk.name_own_count:
        details.append(
            f"names {mk.name_other} {mk.name_other_count} time(s) (and {_base(ref.key)} {mk.name_own_count}) "
            f"but is worded like {ref.key}: another version, or one we hold no reference for"
        )
        confidence = min(confidence, 0.4)
        if verdict == "exact":
            verdict = "modified"

    # near-identical references: the 5-grams only one of them has decide (Llama 3.1 vs 3.3)
    if key == ref.key:
        version, confidence, verdict = _versions(data, qgrams, m, details, version, confidence, verdict)

    if verdict == "exact":
        details.insert(0, "matches the reference text")
    for g in changes[:10]:
        details.append(_describe_gap(tokens, m, g))
    if len(changes) > 10:
        details.append(f"... and {len(changes) - 10} more changes")
    for g in benign[:3]:
        details.append(f"link differs at {_line_span(tokens, *g.q)}: {words[g.q[0]][2:]}")
    for a, b in extra:
        where = "before" if b <= m.q_start else "after"
        details.append(f"added {where} the license text ({_line_span(tokens, a, b)}): {_quote(words, a, b)}")
    if lead_missing:
        details.append(f"the first {lead_missing} word(s) of the reference are missing")
    if tail_missing:
        sec = ref.heading_at(ref.ntok - tail_missing)
        at = f" (from section '{sec}')" if sec else ""
        details.append(
            f"the text stops at {100 * (ref.ntok - tail_missing) // max(1, ref.ntok)}% of the reference: "
            f"the last {tail_missing} word(s) are missing{at}"
        )
    if header_note:
        details.append(header_note)
    details.extend(f"marker: {p}" for p in mk.own_phrases[:3])
    if changed_words and verdict == "modified":
        details.append(f"{changed_words} word(s) differ from the reference inside the license text")
    return _ident(key, version, confidence, verdict, details, tokens, m)


def _versions(data: _Data, qgrams: list[int], m: _Match, details: list[str], version, confidence, verdict):
    """Near-identical references (Llama 3.1 vs 3.3, Gemma 2024 vs 2025): the 5-grams only one has decide."""
    ref = m.ref
    region = {h for h in qgrams[m.q_start : max(m.q_start, m.q_end - NGRAM + 1)] if h >= 0}
    mine_set = ref.gramset
    mine_in = region & mine_set
    mine_found = len(mine_in)
    seen = {(ref.key, ref.version)}
    for alt in m.alternatives:
        kv = (alt.key, alt.version)
        if kv in seen:
            continue
        alt_set = alt.gramset
        alt_in = region & alt_set
        alt_found = len(alt_in)
        if 2 * alt_found / max(1, len(region) + len(alt_set)) < 0.6:
            continue  # not a near-duplicate of this text
        seen.add(kv)
        only_mine = len(mine_in - alt_set)
        only_alt = len(alt_in - mine_set)
        same_key = alt.key == ref.key
        mine = ref.key if not same_key else f"version {ref.version}"
        theirs = alt.key if not same_key else f"version {alt.version}"
        if only_alt and only_mine:
            share = only_alt / (only_mine + only_alt)
            if share <= 0.15:
                if only_alt > 3:  # a phrase or two in common with an added clause is noise
                    details.append(f"a little wording of {theirs} too ({only_alt} distinguishing phrases vs {only_mine})")
                if not same_key:
                    confidence = min(confidence, 1.0 - share)
                continue
            details.append(
                f"mixes the wording of {mine} ({only_mine} distinguishing phrases) and {theirs} ({only_alt}): "
                "version swapped or edited"
            )
            if verdict == "exact":
                verdict = "modified"
        elif only_alt:
            details.append(f"closer to {theirs} in the parts that differ; undecided")
        elif not only_mine:
            # the text holds only what both share; the one that leaves less unexplained wins, if clearly
            missing_mine = len(mine_set) - mine_found
            missing_alt = len(alt_set) - alt_found
            if missing_alt - missing_mine >= 10:
                continue
            details.append(f"cannot tell {mine} from {theirs}: the text lacks the parts that differ")
        else:
            continue
        if same_key:
            version = None
        else:
            confidence = min(confidence, 0.45)
    return version, confidence, verdict


def _within_optional(ref: _Ref, gap: _Gap) -> bool:
    r0, r1 = gap.r
    for a, b in ref.optional:
        if r1 > r0 and a <= r0 and r1 <= b:
            return True
        if r1 == r0 and a < r0 < b:
            return True
    return False


def _ident(key, version, confidence, verdict, details, tokens: Tokens, m: _Match) -> Identification:
    lines = tokens.lines
    return Identification(
        key=key,
        version=version,
        confidence=round(max(0.0, min(1.0, confidence)), 2),
        verdict=verdict,
        details=tuple(details),
        start_line=lines[m.q_start] if m.q_start < len(lines) else None,
        end_line=lines[min(m.q_end, len(lines)) - 1] if lines else None,
    )


def _is_card(text: str, name: str | None) -> bool:
    """A model card (README, front matter): prose about a model, which may quote a license but is none."""
    return bool(name and _CARD_NAME.search(name)) or text.lstrip("\ufeff").startswith("---\n")


def _without_match(
    data: _Data, text: str, tokens: Tokens, qgrams: list[int], name: str | None, notes: list[str]
) -> Identification:
    """No reference matches: a pointer (stub), a translation, or unknown."""
    words = tokens.words
    if _is_card(text, name):
        hits = _find_phrases(data, words)
        named = sorted({k for _, k, kind, _ in hits if kind == "title"})
        details = ["a model card, not a license text: no license text found in it", *notes]
        if named:
            details.append(f"it names {', '.join(named)}")
        lines = tokens.lines
        return Identification(None, None, 0.0, "unknown", tuple(details), lines[0] if lines else None, lines[-1] if lines else None)
    n_words = sum(1 for w in words if not _is_url(w))
    non_latin = len(_NON_LATIN.findall(text[:200_000]))
    latin = len(_LATIN.findall(text[:200_000]))
    english = sum(1 for w in words if w in _ENGLISH) / max(1, n_words)
    url_hits = _url_keys(data, words)
    phrase_hits = _find_phrases(data, words)
    first_line = tokens.lines[0] if tokens.lines else None
    last_line = tokens.lines[-1] if tokens.lines else None
    details = list(notes)

    def pick(hits_kinds: tuple[str, ...]) -> tuple[str | None, str | None]:
        for phrase, key, kind, _ in phrase_hits:
            if kind in hits_kinds:
                return key, phrase
        return None, None

    prefer_policy = bool(name and re.search(r"polic|aup|use", name, re.I))

    def choose_url() -> tuple[str | None, str | None]:
        if not url_hits:
            return None, None
        if prefer_policy:
            for u, k in url_hits:
                if k.endswith("-aup") or "policy" in k:
                    return k, u
        return url_hits[0][1], url_hits[0][0]

    script_foreign = non_latin > 0.3 * (non_latin + latin) and non_latin >= 40
    language_foreign = n_words >= 80 and english < 0.08

    if (script_foreign or language_foreign) and _LICENSE_WORDS.search(text[:200_000]):
        key, why = choose_url()
        if key is None:
            key, why = pick(("name", "title"))
        what = "mostly non-Latin script" if script_foreign else "not English"
        if key:
            details = [f"{what}; points at {key} by '{why}'", *details]
            return Identification(key, None, 0.4, "translation", tuple(details), first_line, last_line)
        details = [f"{what}; no marker of a known license", *details]
        return Identification(None, None, 0.0, "unknown", tuple(details), first_line, last_line)

    # a pointer is short and points: a link, or "see", "licensed under", "available at" ...
    pointing = bool(url_hits) or any(_is_url(w) for w in words) or bool(_POINTER.search(text[:5000]))
    if n_words <= 30 or (n_words <= 120 and pointing):
        key, why = choose_url()
        conf = 0.7
        if key is None:
            key, why = pick(("title",))
            conf = 0.6
        if key is None:
            key, why = _catalog_pointer(words, text)
            conf = 0.5
        if key is None:
            key, why = pick(("name",))
            conf = 0.35
        if key:
            details = [f"a pointer, not the license text: names {key} by '{why}'", *details]
            return Identification(key, None, conf, "stub", tuple(details), first_line, last_line)
        has_link = bool(url_hits) or any(_is_url(w) for w in words)
        if has_link or (pointing and re.search(r"licen[cs]e|terms", text, re.I)):
            details = ["a short text that points elsewhere; the license it names is unknown", *details]
            return Identification(None, None, 0.0, "stub", tuple(details), first_line, last_line)
        details = ["too short and matches no known license", *details]
        return Identification(None, None, 0.0, "unknown", tuple(details), first_line, last_line)

    key, why = pick(("title",))
    if key:
        details = [
            f"the title names {key} ('{why}') but the wording does not match its reference: paraphrase or rewrite",
            *details,
        ]
        return Identification(key, None, 0.3, "modified", tuple(details), first_line, last_line)
    details = ["matches no known license text", *details]
    return Identification(None, None, 0.0, "unknown", tuple(details), first_line, last_line)


def _catalog_pointer(words: tuple[str, ...], text: str) -> tuple[str | None, str | None]:
    """Ask the catalog about the links and short lines of a stub (loaded only for stubs)."""
    try:
        from audit.licenses.catalog import catalog

        cat = catalog()
    except Exception:  # the catalog is optional help here; its own tests guard it
        return None, None
    for w in words:
        if _is_url(w):
            key = cat.by_link(w[2:])
            if key:
                return key, w[2:]
    for line in text.splitlines()[:20]:
        line = _clean_line(line).strip(" :.")
        if 2 <= len(line) <= 80:
            key = cat.lookup(line)
            if key:
                return key, line
    return None, None
