"""Know a license by its text: catalog key, version, confidence, and a verdict on the text itself.

No license text ships in audit/. tools/build_fingerprints.py turns reference texts (the shared corpus
and, where installed, ScanCode's license database) into data/fingerprints.json, which holds for each
reference the sequence of CRC32 hashes of its normalized word 5-grams, the token offsets of its
headings and of its optional parts (title, appendix), and short facts (titles, names, URLs) that point
at a license.

Matching normalizes the input the way the SPDX matching guidelines do, hashes its 5-grams, picks the
references that share the most of them, aligns the input against each (runs of equal hashes,
chained the way difflib would) and reads the alignment: what is missing (removed, or a truncated tail), what is extra
(added), and which of two near-identical references (Llama 3.1 vs 3.3) the distinguishing 5-grams
support. A text that matches nothing well is a stub, a translation, or unknown; never a guess.

The package follows the data flow: tokens (normalization and 5-gram hashes), data (the shipped
fingerprints), align (which references explain which regions of the input), judge (what an alignment
says about the text), unmatched (stubs, translations, unknown texts), markers (titles, names, URLs).
"""
from __future__ import annotations

import os

from audit.licenses.identify.align import MAX_RESULTS, find_regions
from audit.licenses.identify.data import DATA_FILE, Data, load_data, subset
from audit.licenses.identify.judge import judge_match
from audit.licenses.identify.result import VERDICTS, Identification
from audit.licenses.identify.tokens import NGRAM, Tokens, gram_hashes, tokenize, url_form
from audit.licenses.identify.unmatched import is_card, without_match

MAX_CHARS = 1_048_576  # the same cap sources put on a license text; beyond it we read the head only

__all__ = [
    "DATA_FILE", "MAX_CHARS", "MAX_RESULTS", "NGRAM", "VERDICTS", "Identification", "Tokens", "gram_hashes",
    "identify_file", "identify_text", "tokenize", "url_form",
]
# tests and benchmarks/identify_bench.py run the identifier on a subset of the references (held-out
# evaluation) under these names
_data = load_data
_subset = subset


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


def _identify(text: str, name: str | None, data: Data | None = None) -> list[Identification]:
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
    data = data or load_data()
    qgrams = gram_hashes(words)
    ntok = len(words)

    matches = find_regions(data, qgrams, ntok)
    results: list[tuple[int, Identification]] = []
    if matches:
        covered = sum(m.region_len for m in matches)
        card = is_card(text, name)
        license_like = covered >= 0.5 * ntok and not card
        ordered = sorted(matches, key=lambda m: m.q_start)
        for i, m in enumerate(ordered):
            prev_end = ordered[i - 1].q_end if i else 0
            next_start = ordered[i + 1].q_start if i + 1 < len(ordered) else ntok
            ident = judge_match(data, tokens, qgrams, m, prev_end, next_start, license_like, card)
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
    return [without_match(data, text, tokens, qgrams, name, notes)]


def _with_details(ident: Identification, extra: tuple[str, ...]) -> Identification:
    return Identification(
        ident.key, ident.version, ident.confidence, ident.verdict, ident.details + extra, ident.start_line, ident.end_line
    )
