"""Normalization of a text into tokens and word 5-gram hashes.

Shared with tools/build_fingerprints.py, so references and inputs agree exactly.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

NGRAM = 5

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


def url_form(url: str) -> str:
    """A URL as we compare it: no scheme, no www., lower case, no trailing slash or punctuation."""
    u = url.strip().lower()
    u = re.sub(r"^(?:https?://)?(?:www\.)?", "", u)
    return u.rstrip("/.,;:!?)'\"*").rstrip("/")


@dataclass(frozen=True, slots=True)
class Tokens:
    words: tuple[str, ...]  # normalized tokens; a URL is one token "u:<url_form>"
    lines: tuple[int, ...]  # 1-based input line of each token
    n_lines: int


_LEAD_CHARS = " \t#>+-|=_~•●○◦▪■□·–—"  # heading marks, quote marks, bullets, table pipes, rules
_EQUIVALENT_WORDS = frozenset(_EQUIVALENT)


def clean_line(raw: str) -> str:
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
        line = clean_line(raw)
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
