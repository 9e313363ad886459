"""base_model chains -> Lineage; the licenses that govern a model once its ancestors' terms apply; findings.

Three steps, each a function:
- `resolve_lineage`: the subject's bases (declared in the card, or inferred from configs, the card body, tags
  and the model name), then their bases, recursively, with cycle and depth guards. Each ancestor is found
  by a `Resolver`: --models-dir snapshot directories, the HF cache, the Hub (pinned, concurrent), and the
  offline registry (exact id, then a re-upload's name, then a family named in its name).
- `effective_license`: own keys plus every ancestor key whose license may not be dropped by a derivative
  (catalog `relicense: false`) and that the model does not already carry.
- `lineage_evidence`: Evidence for the policy engine (lineage-conflict, lineage-missing-license,
  lineage-unknown-ancestor, lineage-name-prefix, lineage-cycle).

Time-dependent licenses: a registry entry may record that its license changed (Yi: Yi license until 2024,
then Apache-2.0). A derivative made before the change took the older terms. The subject's date is the Hub's
createdAt when known, else the latest date its card mentions (a card citing a 2023-11 paper was written
after 2023-11: a lower bound). When the subject may predate the change (or its date is unknown), the
ancestor counts with the licenses it may have had, and of alternatives the restrictive one wins (fail closed).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from audit.model import (
    Ancestor,
    Declaration,
    Effective,
    Evidence,
    LicenseFacts,
    Lineage,
    ModelCard,
    Origin,
    Problem,
    Snapshot,
    Status,
)
from audit.registry import lowerable as _lowerable

RELATIONS = ("finetune", "quantized", "adapter", "merge")

# -- candidates: a base named somewhere ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A model named as (or guessed to be) a base of another."""

    id: str  # repo id, or 'family:<label>' for a family named in text
    via: str  # base_model | hub | adapter_config | config | mergekit | body-link | body-name | body-family |
    #           tag | name | registry-relation | registry-name
    inferred: bool
    confidence: float
    evidence: tuple[Origin, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Node:
    """What a resolver learned about one repo (or family)."""

    id: str
    resolved_from: str | None  # local | cache | hub | registry | None (not found)
    facts: LicenseFacts | None
    bases: tuple[Candidate, ...] = ()
    relation: str | None = None  # this repo's relation to its bases
    relation_origin: Origin | None = None
    origin: Origin | None = None
    entry: Any = None  # registry Entry for this id (license history), when the registry has it
    date: _dt.date | None = None  # when the repo was created, when known
    problem: str | None = None  # why it could not be resolved
    inferred: bool = False  # its license is known only from its name / a family
    confidence: float = 1.0
    note: str | None = None
    gated: Any = None


# -- text inference ------------------------------------------------------------------------------------------
# The hot patterns run case-sensitively on lower-cased text when that finds exactly what IGNORECASE finds
# (audit.registry.lowerable says when, and why), else as written, with IGNORECASE.
def _lowered(text: str) -> str | None:
    """text.lower() when it can stand in for IGNORECASE matching on `text`, else None."""
    return text.lower() if _lowerable(text) else None


def _literal_first(alt: str) -> str:
    r"""'\bword...' -> 'w(?<!\ww)ord...': the same matches (a word boundary before a letter means no word
    character before it), but opening with a literal, so the regex engine jumps from one 'w' to the next."""
    m = re.match(r"\\b([a-z])(?![?*+{])", alt)
    return f"{m.group(1)}(?<!\\w{m.group(1)}){alt[3:]}" if m else alt


class _Phrases:
    """A case-insensitive pattern given as alternatives, each with a word that every match of it contains
    (outside any optional or alternative part) and, optionally, an equivalent form that opens with a literal.
    `search` answers exactly bool(full.search(text)), but on lower-cased text it tries an alternative only
    where its word occurs: a substring test costs far less than a regex scan, and most lines hold none."""

    def __init__(self, parts: Sequence[tuple[str, str | None] | tuple[str, str, str]]):
        # (word, alternative[, the alternative opening with a literal]); alternative None: just the word
        self.full = re.compile("|".join(p[1] or re.escape(p[0]) for p in parts), re.IGNORECASE)
        self._spec = parts
        self._parts: tuple[tuple[str, tuple[re.Pattern[str] | None, ...]], ...] | None = None

    @property
    def parts(self) -> tuple[tuple[str, tuple[re.Pattern[str] | None, ...]], ...]:
        """(word, its alternatives compiled for lower-cased text): compiled on first use, not at import."""
        if self._parts is None:
            by_word: dict[str, list[re.Pattern[str] | None]] = {}
            for word, alt, *fast in self._spec:
                rx = None if alt is None else re.compile(fast[0] if fast else _literal_first(alt))
                by_word.setdefault(word, []).append(rx)
            self._parts = tuple((word, tuple(rxs)) for word, rxs in by_word.items())
        return self._parts

    def search(self, text: str, low: str | None) -> bool:
        """Does the pattern occur in `text`? `low` is _lowered(text) (None: use the IGNORECASE pattern)."""
        if low is None:
            return self.full.search(text) is not None
        for word, rxs in self.parts:
            if word in low:
                for rx in rxs:
                    if rx is None or rx.search(low) is not None:
                        return True
        return False


# a sentence saying where the model comes from
_ANCESTRY_PHRASES = _Phrases((
    ("fine", r"fine[-\s]?tun(?:ed|e|es|ing)\s+(?:\w+\s+)?(?:of|from|on|upon)\b"),
    ("fine", r"fine[-\s]?tunes?\s+of\b"),
    ("fine", r"\b(?:we|i|was|were|is|has\s+been|have|had)\s+(?:further\s+|then\s+)?fine[-\s]?tuned\b",
     r"(?:w(?<!\ww)(?:e|as|ere)|i(?<!\wi)s?|h(?<!\wh)(?:as\s+been|ave|ad))\s+(?:further\s+|then\s+)?fine[-\s]?tuned\b"),
    ("fine", r"fine[-\s]?tuned\s+(?:using|with|via)\b"),
    ("based", r"\bbased\s+(?:on|upon|off)\b"),
    ("based", r"(?<=[\w.])[-\s]based\b(?=\s+(?:\w+\s+)?(?:model|merge|version|fine|erp|rp|chat))",
     r"based(?<=[\w.][-\s]based)\b(?=\s+(?:\w+\s+)?(?:model|merge|version|fine|erp|rp|chat))"),
    ("base", r"\bbase\s+model\W{0,4}(?:is|was|:|=|\|)"),
    ("base", r"\bas\s+(?:the|its|a)\s+base\b"),
    ("built", r"built\s+(?:on|upon)"),
    ("trained", r"trained\s+from\b"),
    ("trained", r"trained\s+(?:on|upon)\b[^.,;:]{0,40}?\b(?:model|weights|checkpoint|base)\b"),
    ("merg", r"\bmerg(?:e|ed|er|es|ing)\b"),
    ("derived", r"derived\s+from"),
    ("derivative", r"derivative\s+of"),
    ("quant", r"quantiz(?:ed|ation)\s+(?:\w+\s+)?(?:of|from)\b"),
    ("quant", r"\bquants?\s+of\b"),
    ("initiali", r"initiali[sz]ed\s+(?:from|with)"),
    ("continued", r"continued\s+pre-?train"),
    ("top", r"on\s+top\s+of"),
    ("lora", r"lora\s+(?:for|of|on)\b"),
    ("adapter", r"adapter\s+(?:for|of|on)\b"),
    ("distill", r"distill(?:ed|ation)\s+(?:from|of)\b"),
    ("weights", r"weights\s+of"),
    ("foundation", r"foundation\s+model"),
    ("compos", r"\bcompos(?:ed|ition)\s+of"),
    ("version", r"\bversion\s+of"),
    ("used", r"\bmodels?\s+used\b"),
    ("used", r"\bused\s+(?:in|for)\s+(?:this|the)\s+merge"),
))
_ANCESTRY = _ANCESTRY_PHRASES.full
# A line with none of these words is skipped unless a heading or a label put it in scope (a cheaper test than
# _ANCESTRY_PHRASES; "top of" rather than "top", "derive" and not "derivative": kept as they always were).
_ANCESTRY_HINTS = ("fine", "base", "built", "trained", "merg", "derive", "quant", "initiali", "continued", "top of",
                   "lora", "adapter", "distill", "weights of", "foundation model", "compos", "version of", "used")
# a line that names a model for another reason: a comparison, an architecture, a denial, a plan
_NOT_ANCESTRY_PHRASES = _Phrases((
    ("not", r"\bnot\b[^.]{0,60}\b(?:derivative|based|fine-?tuned|built|use)"),
    ("architecture", None),
    ("structure", None),
    ("outperform", None),
    ("compar", None),
    ("vs", r"\bvs\.?\s"),
    ("benchmark", None),
    ("leaderboard", None),
    ("than", r"\bthan\b"),
    ("beat", r"\bbeats?\b"),
    ("cite", r"\bcite\b"),
    ("citation", r"\bcitation\b"),
    ("scratch", r"from\s+scratch"),
    ("plan", r"\bplan"),
    ("potential", r"\bpotential\b"),
    ("future", r"\bfuture\b"),
    ("upcoming", r"\bupcoming\b"),
    ("similar", r"similar[-\s]sized"),
    ("performer", r"top\s+performer"),
))
_NOT_ANCESTRY = _NOT_ANCESTRY_PHRASES.full
# headings whose section lists a model's sources (a merge's ingredients, credits), not any section with "base"
_SOURCES_HEADING_PHRASES = _Phrases((
    ("merg", None),
    ("used", r"\bmodels?\s+(?:and\s+\w+\s+)?used"),
    ("lora", r"\bloras?\b"),
    ("source", r"source\s+models?"),
    ("ingredients", None),
    ("composition", None),
    ("credits", None),
    ("original", r"original\s+model"),
    ("base", r"^\W*(?:the\s+)?base\s+models?\W*$"),
    ("lineage", None),
    ("tuned", r"fine-?tuned\s+from"),
))
_SOURCES_HEADING = _SOURCES_HEADING_PHRASES.full
_TABLE_ROW = re.compile(r"^\s*\||<t[dhr][\s>]", re.IGNORECASE)
_HUB_LINK = re.compile(
    r"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/"
    r"(?!datasets/|spaces/|docs/|blog/|papers/|api/|collections/|models\?|organizations/|settings/|join|login)"
    r"([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)",
    re.IGNORECASE,
)
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_MERGEKIT = re.compile(r"^\s*(?:-\s*)?(?:model|base_model)\s*:\s*[\"']?([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)[\"']?\s*$")
_BARE_ID = re.compile(r"(?<![\w/.:-])`?([A-Za-z0-9][\w-]*(?:\.[\w-]+)*/[A-Za-z0-9][\w.-]*[A-Za-z0-9])`?(?![\w/])")
_NAME_TOKEN = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:[-_][\w.]+)+)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_H1 = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_LIST_OR_LINK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s|^\s*\[?https?://|^\s*<a\s", re.IGNORECASE)
_DATA_AFTER = re.compile(r"^[\s\w.-]{0,12}\b(?:data(?:set)?s?|corpus)\b", re.IGNORECASE)
_QUANT_FILE = re.compile(r"\.(gguf|ggml)$|(?:^|[-_./])(awq|gptq|exl2|mlx)(?:[-_./]|$)", re.IGNORECASE)
_QUANT_TAGS = {"gguf", "ggml", "awq", "gptq", "exl2", "mlx", "4-bit", "8-bit", "bitsandbytes", "quantized"}
_MERGE_TAGS = {"merge", "mergekit", "frankenmerge", "model-merge"}

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_ISO_DATE = re.compile(r"(?<!\d)(20[12]\d)-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?(?!\d)")
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(?:\d{1,2},\s+)?(20[12]\d)\b", re.IGNORECASE)
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{2})(0[1-9]|1[0-2])\.\d{4,5}", re.IGNORECASE)
_BIB_YEAR = re.compile(r"\byear\s*=\s*[{\"]?(20[12]\d)\b", re.IGNORECASE)
# The same patterns in a form the engine scans fast (see _lowered): for lower-cased text, and opening with a
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
    low = _lowered(text)
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


def _parse_date(value: Any) -> _dt.date | None:
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


def model_name(subject: str, card: ModelCard | None) -> str:
    """The name a model is published under (published_name), else the card's title, else the path's name."""
    name = published_name(subject, card)
    if name:
        return name
    if card is not None:
        m = _H1.search(card.body)
        if m:
            title = re.sub(r"[*_`]|<[^>]+>|\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).strip()
            if title:
                return title
    base = subject.rstrip("/\\")
    name = os.path.basename(base)
    if name.lower() in ("readme.md", "model_card.md") or name.lower().endswith(".md"):
        name = os.path.basename(os.path.dirname(base)) or name
    return name


def published_name(subject: str, card: ModelCard | None) -> str | None:
    """The name a model is distributed under, when we know it: the repo name, the card's model_name, or a
    snapshot directory named like a repo (org--name). None for a directory or card file with no such name."""
    if re.match(r"^[\w.-]+/[\w.-]+$", subject) and not os.path.exists(subject):
        return subject.split("/", 1)[1]
    if card is not None:
        name = card.front_matter.get("model_name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    base = os.path.basename(subject.rstrip("/\\"))
    if "--" in base:
        return base.split("--", 1)[1]
    return None


def _registry():
    from audit.registry import load_registry

    return load_registry()


def _text_candidates(text: str, origin: Origin, reg, via_name: str, via_family: str, conf_name: float,
                     conf_family: float, bare_llama: bool = True) -> list[Candidate]:
    """Registry models named in a span of text (a re-upload name, 'Yi-34B'), then families ('Llama 2')."""
    out: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    for m in _NAME_TOKEN.finditer(text) if "-" in text or "_" in text else ():
        tok = m.group(1).strip(".-_")
        if _DATA_AFTER.match(text[m.end():]):
            continue
        entry = reg.by_name(tok)
        if entry is not None:
            spans.append((m.start(), m.end()))
            out.append(Candidate(entry.id, via_name, True, conf_name, (origin,), f"'{tok}' names registry model {entry.id}"))
    rest = text
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " * (b - a) + rest[b:]
    for rule, m in reg.by_family(rest):
        if _DATA_AFTER.match(rest[m.end():]):
            continue
        out.append(Candidate(f"family:{rule.label}", via_family, True, conf_family, (origin,),
                             f"'{m.group(0)}' names the {rule.label} family ({rule.note})"))
    if bare_llama and not out and "llama" in rest.lower():  # (no i or s in it: a match always lowers to "llama")
        from audit.registry import BARE_LLAMA

        if BARE_LLAMA.search(rest):
            out.append(Candidate("family:llama1", via_family, True, min(conf_family, 0.3), (origin,),
                                 "an unversioned 'LLaMA' names the original LLaMA (later versions are always numbered)"))
    return out


def _body_candidates(card: ModelCard, subject: str, reg) -> tuple[list[Candidate], list[Candidate]]:
    """(repo ids, families) that the card body names in a sentence about where the model comes from."""
    ids: list[Candidate] = []
    fams: list[Candidate] = []
    exact = _lowerable(card.body)
    scope: str | None = None  # 'heading': to the next heading; 'label': to the end of the list it introduces
    blank_run = 0
    in_code = False
    # Most lines are prose that names no base: each test below is ordered so that such a line, a code line and
    # a blank line cost as little as possible (cheap substring tests guard every regex).
    for idx, line in enumerate(card.body.split("\n")):
        stripped = line.strip()
        if stripped[:1] in ("`", "~") and stripped.startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code:
            m = _MERGEKIT.match(line) if "model" in line else None
            if m:
                ids.append(Candidate(m.group(1), "mergekit", True, 0.8, (card.origin.at(line=card.body_line + idx),),
                                     "named in a merge configuration"))
            continue
        heading = _HEADING.match(line) if stripped[:1] == "#" else None
        if heading:
            text = heading.group(1)
            low = text.lower() if exact else None
            scope = "heading" if _SOURCES_HEADING_PHRASES.search(text, low) and \
                not _NOT_ANCESTRY_PHRASES.search(text, low) else None
            blank_run = 0
            continue
        if not stripped:
            blank_run += 1
            continue
        if scope == "label" and blank_run and not _LIST_OR_LINK.match(line):
            scope = None  # a paragraph after the list ends it
        blank_run = 0
        low = line.lower()
        if scope is None:
            for h in _ANCESTRY_HINTS:  # any(h in low ...), written out: it runs for most lines, at half the cost
                if h in low:
                    break
            else:
                continue  # no word any ancestry phrase needs: skip the costly patterns
        low = low if exact else None
        denied = _NOT_ANCESTRY_PHRASES.search(line, low) if _ANCESTRY_PHRASES.search(line, low) else None
        context = denied is False
        # a table row names models for comparison unless the row itself says where the model comes from
        in_scope = context or (scope is not None and not _TABLE_ROW.search(line))
        if context and stripped.endswith(":") and scope is None:
            scope = "label"  # "The models used in this merge were:" introduces a list
        if not in_scope:
            continue
        origin = card.origin.at(line=card.body_line + idx)
        linked = "://" in line  # (each pattern below needs the literal text tested before it)
        for m in _HUB_LINK.finditer(line) if linked else ():
            rid = re.sub(r"(?:/(?:blob|tree|resolve|raw)/.*)$", "", m.group(1)).rstrip(".,;:)")
            ids.append(Candidate(rid, "body-link", True, 0.7, (origin,), "linked from a sentence about the model's origin"))
        if denied is None:
            denied = _NOT_ANCESTRY_PHRASES.search(line, low)
        if denied:
            continue
        plain = _MD_LINK_TARGET.sub("] ", line) if "](" in line else line
        plain = _HUB_LINK.sub(" ", plain) if linked else plain
        for m in _BARE_ID.finditer(plain) if "/" in plain else ():
            rid = m.group(1)
            if "." in rid.split("/", 1)[0] or rid.lower().startswith(("http", "www")):
                continue
            ids.append(Candidate(rid, "body-name", True, 0.6, (origin,), "repo id named in a sentence about the model's origin"))
        fams.extend(_text_candidates(plain, origin, reg, "text-name", "body-family", 0.6, 0.5))
    return ids, fams


def _subject_key(subject: str) -> str:
    from audit.registry import name_key

    return name_key(subject)


def _dedupe(cands: Iterable[Candidate], subject: str) -> list[Candidate]:
    out: dict[str, Candidate] = {}
    me = subject.lower()
    for c in cands:
        k = c.id.lower()
        if k == me:
            continue
        prev = out.get(k)
        if prev is None:
            out[k] = c
        else:
            out[k] = replace(prev, confidence=max(prev.confidence, c.confidence),
                             evidence=prev.evidence + tuple(o for o in c.evidence if o not in prev.evidence))
    return list(out.values())


def _json(text: str | None) -> dict[str, Any]:
    import json

    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def _file_names(snapshot: Snapshot | None) -> list[str]:
    if snapshot is None:
        return []
    names = [f.path for f in snapshot.files]
    names += [s.get("rfilename") for s in snapshot.info.get("siblings", ()) or () if isinstance(s, dict)]
    names += list(snapshot.texts)
    return [n for n in dict.fromkeys(names) if isinstance(n, str)]


def find_bases(subject: str, card: ModelCard | None, snapshot: Snapshot | None, resolver: Resolver | None = None
               ) -> tuple[list[Candidate], list[list[Candidate]]]:
    """The subject's bases: (declared, inferred tiers strongest first).

    Declared: the card's base_model, the Hub's base_model tags, adapter_config.json. When nothing is declared,
    inference runs in tiers, each used only when the stronger ones found nothing the resolver can resolve:
    A) configs, merge configurations, Hub links and repo ids in sentences about the model's origin;
    B) registry models and families named in such sentences; C) families in the tags and the model name."""
    reg = _registry()
    declared: list[Candidate] = []
    texts = snapshot.texts if snapshot is not None else {}
    if card is not None:
        origin = card.field_origin("base_model")
        for b in card.base_models:
            declared.append(Candidate(b, "base_model", False, 1.0, (origin,)))
    info = snapshot.info if snapshot is not None else {}
    for b in info.get("base_models", ()) or ():
        bid = b.get("id") if isinstance(b, dict) else b
        if isinstance(bid, str) and bid:
            declared.append(Candidate(bid, "hub", False, 1.0, (snapshot.origin.at(field="baseModels"),)))
    adapter = _json(texts.get("adapter_config.json"))
    ad_base = adapter.get("base_model_name_or_path")
    if isinstance(ad_base, str) and _REPO_ID.match(ad_base.strip()):
        declared.append(Candidate(ad_base.strip(), "adapter_config", not declared, 0.9,
                                  (snapshot.origin.at(file="adapter_config.json", field="base_model_name_or_path"),)))
    declared = _dedupe(declared, subject)
    if declared:
        return declared, []

    tier_a: list[Candidate] = []
    config = _json(texts.get("config.json"))
    name_or_path = config.get("_name_or_path")
    if isinstance(name_or_path, str) and _REPO_ID.match(name_or_path.strip()):
        tier_a.append(Candidate(name_or_path.strip(), "config", True, 0.7,
                                (snapshot.origin.at(file="config.json", field="_name_or_path"),),
                                "config.json _name_or_path names the checkpoint training started from"))
    tier_b: list[Candidate] = []
    if card is not None:
        ids, fams = _body_candidates(card, subject, reg)
        tier_a.extend(ids)
        tier_b.extend(fams)
    tier_c: list[Candidate] = []
    tags = list(card.tags) if card is not None else []
    tags += [t for t in info.get("tags", ()) or () if isinstance(t, str) and ":" not in t]
    if tags:
        tag_origin = card.field_origin("tags") if card is not None else snapshot.origin.at(field="tags")
        tier_c.extend(_text_candidates(" ; ".join(dict.fromkeys(tags)), tag_origin, reg, "tag-name", "tag", 0.5, 0.4))
    name = model_name(subject, card)
    if name:
        name_origin = card.origin.at(line=card.body_line) if card is not None else Origin("inferred", subject)
        tier_c.extend(_text_candidates(name, name_origin, reg, "name-name", "name", 0.5, 0.4, bare_llama=False))
    # a model does not descend from itself (official cards name their own family everywhere)
    own = _subject_key(subject)
    tier_b_names = [c for c in tier_b if c.via == "text-name"]
    tier_b_fams = [c for c in tier_b if c.via != "text-name"]
    tiers = []
    for tier in (tier_a, tier_b_names, tier_b_fams, tier_c):
        tier = [c for c in _dedupe(tier, subject) if _subject_key(c.id) != own]
        tiers.append(tier)
    return [], tiers


def infer_relation(card: ModelCard | None, snapshot: Snapshot | None, n_bases: int, subject: str,
                   declared: bool = True) -> tuple[str | None, Origin | None, str | None]:
    """(relation, where it was decided, why): declared, else adapter / merge / quantized / finetune."""
    if n_bases == 0:
        return None, None, None
    if card is not None and card.base_model_relation in RELATIONS:
        return card.base_model_relation, card.field_origin("base_model_relation"), "declared"
    info = snapshot.info if snapshot is not None else {}
    names = _file_names(snapshot)
    if "adapter_config.json" in names or "adapter_model.safetensors" in names or "adapter_model.bin" in names:
        return "adapter", snapshot.origin.at(file="adapter_config.json"), "adapter_config.json is present"
    quant = [n for n in names if _QUANT_FILE.search(n)]
    if quant:
        return "quantized", snapshot.origin.at(file=quant[0]), f"quantized weights ({quant[0]})"
    # the Hub's own guess (it defaults to finetune), after what the files show
    for b in info.get("base_models", ()) or ():
        rel = b.get("relation") if isinstance(b, dict) else None
        if rel in RELATIONS and rel != "finetune":
            return rel, snapshot.origin.at(field="tags"), "the Hub's base_model tag"
    if n_bases > 1 and declared:
        return "merge", card.field_origin("base_model") if card else None, "several bases"
    tags = {t.lower() for t in (card.tags if card else ())} | {
        t.lower() for t in info.get("tags", ()) or () if isinstance(t, str)}
    if tags & _MERGE_TAGS:
        return "merge", card.field_origin("tags") if card else None, "tagged as a merge"
    if tags & _QUANT_TAGS:
        return "quantized", card.field_origin("tags") if card else None, "tagged as quantized"
    from audit.registry import QUANT_TOKENS

    if QUANT_TOKENS.search(subject.rsplit("/", 1)[-1]):
        return "quantized", Origin("inferred", subject), "the name says it is quantized"
    return "finetune", None, "default when nothing says otherwise"


# -- the resolver ----------------------------------------------------------------------------------------------
_worker = threading.local()  # set while a thread runs a task of a resolver's pool


class Resolver:
    """Finds what is known about a repo id (its license and its bases). Caches; thread-safe; concurrent.

    Order: --models-dir directories (a directory per model named `org--name`, or `org/name` nested, or just
    `name`), the HF cache (when use_cache), the Hub (when a HubClient is given), then the offline registry
    (exact id, then a re-upload's name, then a family in the name). A failure of one source falls through to
    the next; only when all fail is the ancestor unknown, with every reason recorded."""

    def __init__(self, *, models_dirs: tuple[str, ...] = (), cache_dir: str | None = None, use_cache: bool = False,
                 hub=None, use_registry: bool = True, max_depth: int = 10, max_workers: int = 8,
                 registry=None, datasets_dirs: tuple[str, ...] = ()):
        self.models_dirs = tuple(models_dirs)
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.hub = hub
        self.use_registry = use_registry
        self.max_depth = max(1, int(max_depth))
        self.max_workers = max(1, int(max_workers))
        self._registry = registry
        self._nodes: dict[str, Node] = {}
        self._datasets: dict[str, Any] = {}
        self._inflight: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._registry_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._local_index: dict[str, str] | None = None
        self._cache_root_dir: str | None = None
        self.datasets_dirs = tuple(datasets_dirs)

    # -- public -------------------------------------------------------------------------------------------
    @property
    def registry(self):
        if self._registry is None:
            with self._registry_lock:
                if self._registry is None:
                    self._registry = _registry()
        return self._registry

    def node(self, repo_id: str) -> Node:
        """What is known about one repo id (resolved once, then cached)."""
        key = repo_id.strip().lower()
        with self._lock:
            hit = self._nodes.get(key)
            if hit is not None:
                return hit
            fut = self._inflight.get(key)
            owner = fut is None
            if owner:
                fut = Future()
                self._inflight[key] = fut
        if not owner:
            return fut.result()
        try:
            node = self._resolve(repo_id.strip())
        except Exception as exc:
            node = Node(repo_id, None, None, problem=f"could not be resolved: {type(exc).__name__}: {exc}")
        with self._lock:
            self._nodes[key] = node
            self._inflight.pop(key, None)
        fut.set_result(node)
        return node

    def prefetch(self, ids: Iterable[str]) -> None:
        """Resolve ids and their ancestors (to max_depth) concurrently, level by level, on a bounded pool.

        Call it with every base named by a batch of models before resolving their lineages one by one:
        the later calls are then answered from the cache."""
        level = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
        seen: set[str] = set()
        for _ in range(self.max_depth):
            level = [i for i in level if i.lower() not in seen]
            if not level:
                return
            seen.update(i.lower() for i in level)
            nodes = self.map_nodes(level)
            level = [c.id for n in nodes for c in n.bases]

    def map_nodes(self, ids: Sequence[str]) -> list[Node]:
        """node() for many ids at once, concurrently."""
        ids = list(ids)
        # a worker that needs more nodes (inferred bases of a Hub repo) resolves them itself: waiting on the
        # same bounded pool from inside it could leave every worker waiting on queued work
        if self.max_workers > 1 and not getattr(_worker, "active", False):
            with self._lock:
                todo = [i for i in ids if i.lower() not in self._nodes]
            # only lookups that wait on files or the network go to the pool: the registry answers from memory,
            # and a thread would only add its overhead and wait for the GIL
            todo = [i for i in todo if self._reads(i)]
            if len(todo) > 1:
                list(self._executor().map(self._node_in_worker, todo))
        return [self.node(i) for i in ids]

    def _node_in_worker(self, repo_id: str) -> Node:
        _worker.active = True
        try:
            return self.node(repo_id)
        finally:
            _worker.active = False

    def dataset(self, dataset_id: str, origin: Origin | None = None):
        """DatasetFacts for a dataset id (see audit.datasets), resolved once and cached."""
        from audit.datasets import lookup_dataset

        key = dataset_id.strip().lower()
        origin = origin or Origin("inferred", dataset_id)
        with self._lock:
            hit = self._datasets.get(key)
        if hit is None:
            try:
                hit = lookup_dataset(dataset_id.strip(), self, origin)
            except Exception as exc:
                from audit.model import DatasetFacts

                hit = DatasetFacts(dataset_id, (), Status.UNKNOWN, None, origin)
                _ = exc
            with self._lock:
                self._datasets.setdefault(key, hit)
        return replace(hit, origin=origin)

    def map_datasets(self, ids: Sequence[str], origin: Origin | None = None) -> list:
        ids = list(ids)
        if len(ids) > 1 and self.max_workers > 1 and (self.hub is not None or self._cache_exists()):
            if not getattr(_worker, "active", False):
                list(self._executor().map(lambda i: self.dataset(i, origin), ids))
        return [self.dataset(i, origin) for i in ids]

    def prefetch_datasets(self, ids: Iterable[str]) -> None:
        """Look up the datasets of a batch of models concurrently (later resolve_datasets calls hit the cache)."""
        self.map_datasets(list(dict.fromkeys(i.strip() for i in ids if i and i.strip())))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------------
    def _reads(self, repo_id: str) -> bool:
        """Would resolving this id read a file or ask the Hub? (Only where to run it depends on the answer.)"""
        rid = repo_id.strip()
        if rid.startswith("family:"):
            return False  # families come from the registry
        if self.hub is not None or self._local_path(rid) is not None:
            return True
        if not self._cache_exists():
            return False
        from audit.sources.cache import repo_folder

        return os.path.isdir(repo_folder(rid.split("@", 1)[0], self._cache_root()))

    def _cache_root(self) -> str:
        if self._cache_root_dir is None:
            from audit.sources.cache import cache_dir

            self._cache_root_dir = cache_dir(self.cache_dir)
        return self._cache_root_dir

    def _cache_exists(self) -> bool:
        """use_cache and the HF cache directory is there (most machines that never downloaded have none)."""
        return self.use_cache and os.path.isdir(self._cache_root())

    def _executor(self) -> ThreadPoolExecutor:
        # Load the shared data once, here, before the workers start: lru_cache does not stop sixteen threads
        # from each loading the catalog at the same time on their first call.
        from audit.card import parse_card  # noqa: F401
        from audit.licenses.catalog import catalog
        from audit.licenses.normalize import license_facts  # noqa: F401

        catalog()
        _ = self.registry
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="mlaudit-lineage")
            return self._pool

    def _resolve(self, repo_id: str) -> Node:
        if repo_id.startswith("family:"):
            return self._family_node(repo_id[len("family:"):])
        reasons: list[str] = []
        entry = self.registry.model(repo_id) if self.use_registry else None
        path = self._local_path(repo_id)
        if path is not None:
            node = self._from_local(repo_id, path, reasons)
            if node is not None:
                return replace(node, entry=entry)
        if self.use_cache:
            node = self._from_cache(repo_id, reasons)
            if node is not None:
                return replace(node, entry=entry)
        gated = None
        if self.hub is not None:
            node = self._from_hub(repo_id, reasons)
            if node is not None:
                return replace(node, entry=entry)
            gated = "gated" if any("gated" in r for r in reasons) else None
        if self.use_registry:
            if entry is not None:
                return self._from_entry(repo_id, entry, "registry", reasons=reasons)
            by_name = self.registry.by_name(repo_id)
            if by_name is not None and by_name.id.lower() != repo_id.lower():
                return self._renamed(repo_id, by_name)
            fams = self.registry.by_family(repo_id.split("/", 1)[-1])
            if fams:
                rule, m = fams[0]
                return Node(repo_id, "registry", None,
                            bases=(Candidate(f"family:{rule.label}", "registry-name", True, 0.4,
                                             (Origin("inferred", repo_id),),
                                             f"the name '{m.group(0)}' names the {rule.label} family"),),
                            relation=self._relation_from_name(repo_id), origin=Origin("inferred", repo_id),
                            inferred=True, confidence=0.4,
                            problem=f"{'; '.join(reasons + ['not in the offline registry'])}; its name suggests "
                                    f"the {rule.label} family, whose license is assumed for what it inherits")
            reasons.append("not in the offline registry")
        return Node(repo_id, None, None, problem="; ".join(reasons) or "no source to look it up in", gated=gated)

    @staticmethod
    def _relation_from_name(repo_id: str) -> str:
        from audit.registry import QUANT_TOKENS

        return "quantized" if QUANT_TOKENS.search(repo_id.rsplit("/", 1)[-1]) else "finetune"

    def _renamed(self, repo_id: str, entry) -> Node:
        """A repo not in the registry whose name is a registry model's name plus re-upload decorations."""
        facts = registry_facts(entry, None, note=f"inferred: the name {repo_id!r} matches registry model {entry.id}")
        return Node(
            repo_id, "registry", facts,
            bases=(Candidate(entry.id, "registry-name", True, 0.6, (Origin("inferred", repo_id),),
                             f"'{repo_id}' looks like a re-upload of {entry.id}"),),
            relation=self._relation_from_name(repo_id), origin=Origin("inferred", repo_id), entry=entry,
            inferred=True, confidence=0.6, note=f"assumed to carry the license of {entry.id}",
        )

    def _family_node(self, label: str) -> Node:
        rule = next((r for r in self.registry.families() if r.label == label), None)
        origin = Origin("registry", f"family:{label}")
        if rule is None:
            return Node(f"family:{label}", None, None, problem=f"no registry family {label!r}")
        if rule.entry_id:
            entry = self.registry.model(rule.entry_id)
            if entry is not None:
                facts = registry_facts(entry, None, note=f"family {label}: licensed like {entry.id}")
                bases = ()
                if entry.relation_to:
                    bases = (Candidate(entry.relation_to, "registry-relation", False, 1.0, (origin,)),)
                return Node(f"family:{label}", "registry", facts, bases=bases, relation="finetune" if bases else None,
                            origin=origin, entry=entry, inferred=True, confidence=0.5, note=rule.note)
        if rule.key:
            facts = key_facts(rule.key, origin, f"family {label}: {rule.note}")
            return Node(f"family:{label}", "registry", facts, origin=origin, inferred=True, confidence=0.5, note=rule.note)
        return Node(f"family:{label}", None, None, problem=f"registry family {label!r} has no license")

    def _from_entry(self, repo_id: str, entry, source: str, reasons: list[str]) -> Node:
        facts = registry_facts(entry, None)
        origin = Origin("registry", entry.id, file=entry.source_file, line=entry.source_line)
        bases = ()
        if entry.relation_to:
            bases = (Candidate(entry.relation_to, "registry-relation", False, 1.0, (origin.at(field="relation_to"),)),)
        return Node(repo_id, source, facts, bases=bases, relation="finetune" if bases else None, origin=origin,
                    entry=entry, note="; ".join(reasons) if reasons else None)

    # local snapshot directories
    def _local_path(self, repo_id: str) -> str | None:
        if not self.models_dirs:
            return None
        with self._lock:
            if self._local_index is None:
                self._local_index = index_models_dirs(self.models_dirs)
            index = self._local_index
        rid = repo_id.lower()
        return index.get(rid) or index.get(rid.replace("/", "--")) or index.get("name:" + rid.split("/")[-1])

    def _from_local(self, repo_id: str, path: str, reasons: list[str]) -> Node | None:
        from audit.errors import AuditError
        from audit.sources.local import read_snapshot_dir

        try:
            snap = read_snapshot_dir(path, subject=repo_id)
        except AuditError as exc:
            reasons.append(f"{path}: {exc.message}")
            return None
        return self._from_snapshot(repo_id, snap, "local")

    def _from_cache(self, repo_id: str, reasons: list[str]) -> Node | None:
        from audit.errors import AuditError
        from audit.sources.cache import read_cached

        try:
            snap = read_cached(repo_id, cache_dir=self.cache_dir)
        except AuditError as exc:
            reasons.append(f"HF cache: {exc.message}")
            return None
        if snap is None:
            return None
        return self._from_snapshot(repo_id, snap, "cache")

    def _from_hub(self, repo_id: str, reasons: list[str]) -> Node | None:
        from audit.errors import AuditError

        try:
            info = self.hub.model_info(repo_id)
        except AuditError as exc:
            reasons.append(exc.message)
            return None
        origin = Origin("hub", repo_id, revision=info.get("sha"))
        card = card_from_card_data(info.get("cardData") or {}, origin.at(file="README.md"))
        files = tuple(_repo_file(s) for s in info.get("siblings") or ())
        snap = Snapshot(subject=repo_id, origin=origin, files=files, texts={}, card_path=None, info=info)
        return self._from_snapshot(repo_id, snap, "hub", card=card)

    def _from_snapshot(self, repo_id: str, snap: Snapshot, source: str, card: ModelCard | None = None) -> Node:
        from audit.card import parse_card
        from audit.licenses.normalize import license_facts

        if card is None and snap.card_path and snap.card_path in snap.texts:
            card = parse_card(snap.texts[snap.card_path], snap.origin.at(file=snap.card_path))
        facts = license_facts(card, snap)
        declared, tiers = find_bases(repo_id, card, snap, self)
        bases = declared or self.pick_tier(tiers)
        relation, rel_origin, _ = infer_relation(card, snap, len(bases), repo_id, declared=bool(declared))
        date = _parse_date(snap.info.get("createdAt")) or card_date_floor(card)
        return Node(repo_id, source, facts, bases=tuple(bases), relation=relation, relation_origin=rel_origin,
                    origin=snap.origin, date=date, gated=snap.info.get("gated") or (card.gated if card else None))

    def pick_tier(self, tiers: Sequence[Sequence[Candidate]]) -> list[Candidate]:
        """The strongest tier of inferred bases that resolves; weaker tiers are used only when it does not.

        Bases named explicitly (a link, a merge configuration, config.json) stay in the lineage even when they
        cannot be resolved, so they are reported as unknown ancestors beside what a weaker tier found."""
        explicit: list[Candidate] = []
        for tier in tiers:
            if not tier:
                continue
            nodes = self.map_nodes([c.id for c in tier])
            # a repo id written in prose (not linked) counts only when some source knows that exact repo:
            # 'English/Chinese' or 'scripts/train.sh' are not models
            keep = [(c, n) for c, n in zip(tier, nodes) if c.via != "body-name" or n.facts is not None]
            if any(n.facts is not None or n.bases for _, n in keep):
                return _dedupe(explicit + [c for c, _ in keep], "")
            explicit.extend(c for c, _ in keep if c.via in ("body-link", "mergekit", "config"))
        return explicit


def index_models_dirs(dirs: Sequence[str]) -> dict[str, str]:
    """repo id forms -> snapshot directory. Layouts: <dir>/org--name, <dir>/org/name, <dir>/name.

    Keys: 'org--name' and 'org/name' (lower-case), and 'name:<name>' when only one directory has that name."""
    index: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    for root in dirs:
        try:
            entries = sorted(os.listdir(root))
        except OSError:
            continue
        for e in entries:
            p = os.path.join(root, e)
            if not os.path.isdir(p):
                continue
            low = e.lower()
            if "--" in low:
                index.setdefault(low, p)
                names.setdefault(low.split("--", 1)[1], []).append(p)
                continue
            subs = []
            try:
                subs = [s for s in sorted(os.listdir(p)) if os.path.isdir(os.path.join(p, s))]
            except OSError:
                pass
            for s in subs:
                index.setdefault(f"{low}/{s.lower()}", os.path.join(p, s))
                names.setdefault(s.lower(), []).append(os.path.join(p, s))
            names.setdefault(low, []).append(p)
    for name, paths in names.items():
        if len(paths) == 1:
            index.setdefault("name:" + name, paths[0])
    return index


def _repo_file(s: Mapping[str, Any]):
    from audit.model import RepoFile

    lfs = s.get("lfs") or {}
    return RepoFile(path=s.get("rfilename"), size=lfs.get("size") or s.get("size"), blob_id=s.get("blobId"),
                    sha256=lfs.get("sha256"))


def card_from_card_data(card_data: Mapping[str, Any], origin: Origin) -> ModelCard:
    """A ModelCard from the Hub's parsed cardData (no body, no line numbers)."""
    import yaml

    from audit.card import parse_card

    try:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = "---\n" + yaml.dump(dict(card_data), Dumper=dumper, sort_keys=False, allow_unicode=True) + "---\n"
    except yaml.YAMLError:
        text = ""
    card = parse_card(text, origin)
    return replace(card, field_lines={}, body_line=1)


# -- license facts for registry entries -------------------------------------------------------------------------
def key_facts(key: str, origin: Origin, note: str | None = None) -> LicenseFacts:
    from audit.licenses.catalog import catalog

    lic = catalog().get(key)
    decl = Declaration("registry", key, (key,) if lic else (), origin, lic.spdx if lic else None, note)
    if lic is None:
        return LicenseFacts((decl,), None, (), Status.UNKNOWN, reason=f"{key} is not in the catalog")
    return LicenseFacts((decl,), lic.spdx, (key,), Status.RESOLVED, reason=note)


# Many models of one audit share a base (every fine-tune of Llama-3.1-8B): the facts depend only on the entry
# (a frozen value), the date and the note, and the catalog is loaded once per process, so they are kept.
@lru_cache(maxsize=4096)
def registry_facts(entry, since: _dt.date | None, note: str | None = None, all_history: bool = False) -> LicenseFacts:
    """LicenseFacts for a registry entry as a derivative dated `since` sees it (see the module doc)."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    origin = Origin("registry", entry.id, file=entry.source_file, line=entry.source_line, field="license")
    evid = f"registry ({entry.confidence} confidence, facts of {entry.evidence_date})"
    if note:
        evid = f"{note}; {evid}"
    options = entry.keys_between(since)
    decls = []
    for i, (key, declared) in enumerate(options):
        lic = cat.get(key) if key else None
        when = "current license" if i == 0 else "earlier license"
        decls.append(Declaration("registry", declared, (key,) if lic else (), origin, lic.spdx if lic else None,
                                 f"{when}; {evid}"))
    known = [(k, d) for k, d in options if k and k in cat]
    if len(options) > 1 and not all_history:
        strict = [(k, d) for k, d in known if not cat[k].relicense]
        chosen = strict or known[:1]
    else:
        chosen = known[:1] if not all_history else known
    keys = tuple(dict.fromkeys(k for k, _ in chosen))
    if not keys:
        why = f"registry license {entry.license!r} is not in the catalog" if entry.license else "no license was observed"
        return LicenseFacts(tuple(decls), None, (), Status.UNKNOWN, reason=f"{entry.id}: {why}")
    reason = evid
    if len(options) > 1:
        changes = "; ".join(f"{c.from_license} until {c.date or 'an unknown date'}, then {c.to_license}"
                            for c in entry.history)
        when = f"dated from {since.isoformat()}" if since else "of unknown date"
        reason = (f"license changed over time ({changes}): a derivative {when} takes {', '.join(keys)}; {evid}")
    status = Status.UNKNOWN if any(cat[k].ambiguous for k in keys) else Status.RESOLVED
    return LicenseFacts(tuple(decls), " AND ".join(cat[k].spdx for k in keys), keys, status, reason=reason)


# -- lineage ----------------------------------------------------------------------------------------------------
@dataclass
class _Walk:
    ancestors: list[Ancestor] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def subject_date(card: ModelCard | None, snapshot: Snapshot | None) -> _dt.date | None:
    if snapshot is not None:
        d = _parse_date(snapshot.info.get("createdAt"))
        if d is not None:
            return d
    return card_date_floor(card)


def resolve_lineage(subject: str, card: ModelCard | None, facts: LicenseFacts, snapshot: Snapshot | None,
                    resolver: Resolver, found=None) -> Lineage:
    """The subject's ancestors, breadth first, each with its license as the subject's date sees it.
    `found` is find_bases()'s answer when the caller already has it."""
    declared, tiers = found or find_bases(subject, card, snapshot, resolver)
    bases = declared or resolver.pick_tier(tiers)
    relation, _, _ = infer_relation(card, snapshot, len(bases), subject, declared=bool(declared))
    since = _lazy(lambda: subject_date(card, snapshot))  # scanning a card for dates is costly; rarely needed
    walk = _Walk()
    origin = card.origin if card is not None else (snapshot.origin if snapshot is not None else Origin("local", subject))
    # (candidate, parent id, depth, relation of parent to candidate, path of ids to here)
    level = [(c, subject, 1, relation or "unknown", (subject.lower(),)) for c in bases]
    while level:
        nodes = resolver.map_nodes([c.id for c, *_ in level])
        nxt = []
        for (cand, parent, depth, rel, path), node in zip(level, nodes):
            key = cand.id.lower()
            if key in path:
                walk.problems.append(Problem("lineage-cycle", f"{parent} names {cand.id} as its base, which is "
                                             f"already in the chain {' -> '.join(path)}", _first(cand.evidence, origin)))
                walk.ancestors.append(_ancestor(cand, parent, rel, depth, None, None, "cycle", since))
                continue
            anc = _ancestor(cand, parent, rel, depth, node, node.resolved_from, node.problem, since)
            walk.ancestors.append(anc)
            if node.bases:
                if depth >= resolver.max_depth:
                    walk.problems.append(Problem("lineage-depth", f"stopped after {resolver.max_depth} generations "
                                                 f"at {cand.id}", _first(cand.evidence, origin)))
                    continue
                for b in node.bases:
                    nxt.append((b, node.id, depth + 1, node.relation or "unknown", path + (key,)))
        level = nxt
    return Lineage(subject, relation, tuple(_merge_duplicates(walk.ancestors)), tuple(walk.problems))


def _first(origins: tuple[Origin, ...], default: Origin) -> Origin:
    return origins[0] if origins else default


def _lazy(fn):
    """A memoized thunk."""
    box: list = []

    def get():
        if not box:
            box.append(fn())
        return box[0]

    return get


def _ancestor(cand: Candidate, parent: str, relation: str, depth: int, node: Node | None, resolved_from: str | None,
              problem: str | None, since) -> Ancestor:
    """`since` is a thunk giving the subject's date: only a registry entry with a license history needs it."""
    facts = None
    inferred = cand.inferred
    confidence = cand.confidence
    evidence = list(cand.evidence)
    if node is not None:
        facts = node.facts
        if node.entry is not None and (node.resolved_from == "registry" or node.entry.history):
            # the registry knows this id: apply its license history as the subject's date sees it
            note = None
            if node.inferred and node.entry.id.lower() != node.id.lower():
                note = f"inferred: {node.note or 'licensed like ' + node.entry.id}"
            reg = registry_facts(node.entry, since() if node.entry.history else None, note=note)
            if node.resolved_from == "registry" or facts is None:
                facts = reg
            elif reg.keys and set(reg.keys) - set(facts.keys):
                facts = replace(facts, declarations=facts.declarations + reg.declarations,
                                keys=tuple(dict.fromkeys(facts.keys + reg.keys)),
                                reason=f"{facts.reason or ''}; registry history: {reg.reason}".strip("; "))
        if node.inferred:
            inferred = True
            confidence = min(confidence, node.confidence)
        if node.origin is not None and node.origin not in evidence:
            evidence.append(node.origin)
        if node.gated and problem is None and node.facts is None:
            problem = "gated"
    note_problem = problem
    return Ancestor(subject=cand.id, parent=parent, relation=relation, depth=depth, license=facts,
                    resolved_from=resolved_from, inferred=inferred, confidence=round(confidence, 2),
                    evidence=tuple(evidence), problem=note_problem)


def _merge_duplicates(ancestors: list[Ancestor]) -> list[Ancestor]:
    """A diamond (two bases sharing an ancestor) lists the shared one once, at its shallowest depth."""
    seen: dict[tuple[str, str], Ancestor] = {}
    out = []
    for a in ancestors:
        k = (a.subject.lower(), a.parent.lower())
        if k in seen:
            continue
        seen[k] = a
        out.append(a)
    return out


# -- effective license --------------------------------------------------------------------------------------------
# Limitations that take rights away: a declared license with one of these still binds users even when it
# cannot replace an ancestor's license (a publisher may always restrict further).
RESTRICTIVE = ("non-commercial", "research-only", "no-derivatives", "no-distribution")


def _declares_license(facts: LicenseFacts) -> bool:
    """Did the model's own sources state any license at all (even one we cannot identify)?"""
    from audit.licenses.normalize import is_generic

    for d in facts.declarations:
        if d.kind in ("front-matter", "license-name", "hub-tag") and not is_generic(d.value):
            return True
        if d.kind in ("license-link", "license-file") and (d.keys or d.note):
            return True
        if d.kind == "body" and d.keys:
            return True
    return bool(facts.keys)


def _acknowledged(facts: LicenseFacts) -> set[str]:
    """Keys any of the model's own sources mentions (a card body saying 'Llama 2 is licensed under ...')."""
    return {k for d in facts.declarations for k in d.keys}


def _satisfied(key: str, own: Iterable[str]) -> bool:
    from audit.licenses.catalog import catalog

    cat = catalog()
    lic = cat.get(key)
    own = set(own)
    if key in own:
        return True
    if lic is None:
        return False
    if own & set(lic.allowed_derivative_licenses):
        return True
    for k in own:
        o = cat.get(k)
        if o is not None and key in o.companions:
            return True
    return False


def _passes_down(key: str) -> bool:
    """True when a derivative may not drop this license's terms (catalog derivatives.relicense: false)."""
    from audit.licenses.catalog import catalog

    lic = catalog().get(key)
    return lic is not None and not lic.relicense


def layered_license(key: str) -> bool:
    """A publisher's own custom license (no SPDX id, no Hub id): additional terms on top of a base's license,
    which every community model license allows; a public license (Apache, MIT, GPL, CC, OpenRAIL) or another
    model family's license on a derivative instead claims to replace the base's terms."""
    from audit.licenses.catalog import catalog

    lic = catalog().get(key)
    if lic is None:
        return False
    return lic.spdx.startswith("LicenseRef-") and not lic.hub_id and lic.category in (
        "non-commercial", "research-only", "proprietary", "community-model-license")


def _parents(lineage: Lineage, of: str) -> list[Ancestor]:
    return [a for a in lineage.ancestors if a.parent.lower() == of.lower()]


def _ancestor_effective(lineage: Lineage, anc: Ancestor, seen: frozenset[str]) -> dict[str, str]:
    """key -> subject it comes from, for an ancestor: its own keys plus what passes down to it."""
    if anc.subject.lower() in seen:
        return {}
    seen = seen | {anc.subject.lower()}
    own = list(anc.license.keys) if anc.license is not None else []
    out: dict[str, str] = {k: anc.subject for k in own}
    declared = anc.license is not None and _declares_license(anc.license)
    for p in _parents(lineage, anc.subject):
        if p.depth <= anc.depth:
            continue
        for k, src in _ancestor_effective(lineage, p, seen).items():
            if k in out:
                continue
            if not declared or (_passes_down(k) and not _satisfied(k, own)):
                out[k] = src
    return out


@dataclass(frozen=True)
class _Inheritance:
    own: tuple[str, ...]
    declared: bool
    inherited: dict[str, str]  # key -> ancestor it comes from (keys passing down, not satisfied)
    conflicts: list[tuple[str, str]]  # (ancestor key, ancestor) the declared license drops
    superseded: tuple[str, ...]  # own keys that cannot replace the ancestors' licenses
    parents: dict[str, str]  # everything the direct bases carry


# effective_license and then lineage_evidence ask for the same model's inheritance: the last answer is kept,
# for the very same (immutable) facts and lineage objects. One tuple, replaced whole, so threads are safe.
_last_inheritance: tuple[str, LicenseFacts, Lineage, _Inheritance] | None = None


def _inheritance(subject: str, facts: LicenseFacts, lineage: Lineage) -> _Inheritance:
    global _last_inheritance
    last = _last_inheritance
    if last is not None and last[1] is facts and last[2] is lineage and last[0] == subject:
        return last[3]
    inh = _compute_inheritance(subject, facts, lineage)
    _last_inheritance = (subject, facts, lineage, inh)
    return inh


def _compute_inheritance(subject: str, facts: LicenseFacts, lineage: Lineage) -> _Inheritance:
    from audit.licenses.catalog import catalog

    cat = catalog()
    own = tuple(k for k in facts.keys)
    declared = _declares_license(facts)
    parents: dict[str, str] = {}
    for p in _parents(lineage, subject):
        for k, src in _ancestor_effective(lineage, p, frozenset({subject.lower()})).items():
            parents.setdefault(k, src)
    inherited = {k: src for k, src in parents.items() if _passes_down(k) and not _satisfied(k, own)}
    conflicts: list[tuple[str, str]] = []
    superseded: tuple[str, ...] = ()
    if own and inherited:
        ack = _acknowledged(facts)
        replacing = [k for k in own if not layered_license(k)]
        if replacing:
            conflicts = [(k, src) for k, src in inherited.items() if k not in ack]
        if conflicts:
            superseded = tuple(
                k for k in replacing
                if not any(cat[k].has(t) for t in RESTRICTIVE if k in cat)
                or all(any(cat[i].has(t) for i in inherited if i in cat) for t in RESTRICTIVE if k in cat and cat[k].has(t))
            )
    return _Inheritance(own, declared, inherited, conflicts, superseded, parents)


def effective_license(subject: str, facts: LicenseFacts, lineage: Lineage) -> Effective:
    """Own keys plus the ancestor keys that pass down. With no license of its own, the model gets its bases'
    licenses (inferred_from_ancestors). A declared public license that conflicts with an ancestor's is
    superseded by what the bases carry, unless it restricts further (non-commercial, research-only ...)."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    inh = _inheritance(subject, facts, lineage)
    sources: dict[str, str] = {}
    inferred = False
    if not inh.declared and not inh.own:
        sources = dict(inh.parents)
        inferred = bool(sources)
    else:
        for k in inh.own:
            if k not in inh.superseded:
                sources[k] = subject
        if inh.superseded:
            for k, src in inh.parents.items():
                sources.setdefault(k, src)
        for k, src in inh.inherited.items():
            sources.setdefault(k, src)
    keys = tuple(sources)
    main = [k for k in keys if not any(k in cat[o].companions for o in keys if o in cat and o != k)]
    expr = " AND ".join(dict.fromkeys(cat[k].spdx for k in main if k in cat)) or None
    if inh.declared and not inh.own:
        expr = " AND ".join(x for x in (expr, "NOASSERTION") if x)  # own license unknown: say so
    return Effective(expr, keys, inferred, sources)


# -- evidence ----------------------------------------------------------------------------------------------------
def _anc_origins(lineage: Lineage, subject: str) -> dict[str, Ancestor]:
    return {a.subject: a for a in lineage.ancestors}


def _chain_inferred(lineage: Lineage, subject: str, src: str) -> bool:
    """Does the path from the subject to `src` rest on an inferred link?"""
    by = {a.subject.lower(): a for a in lineage.ancestors}
    cur = by.get(src.lower())
    steps = 0
    while cur is not None and steps < 64:
        if cur.inferred:
            return True
        if cur.parent.lower() == subject.lower():
            return False
        cur = by.get(cur.parent.lower())
        steps += 1
    return False


def _name_starts_with(name: str, prefix: str) -> bool:
    norm = lambda s: re.sub(r"[\s_\-.]+", " ", s.strip().lower())
    return norm(name).startswith(norm(prefix))


def lineage_evidence(subject: str, card: ModelCard | None, facts: LicenseFacts, lineage: Lineage,
                     effective: Effective) -> list[Evidence]:
    from audit.licenses.catalog import catalog

    cat = catalog()
    out: list[Evidence] = []
    inh = _inheritance(subject, facts, lineage)
    by = _anc_origins(lineage, subject)
    own_origins = tuple(d.origin for d in facts.declarations if d.kind in ("front-matter", "license-name", "license-link")
                        ) or ((card.origin,) if card else ())

    for key, src in inh.conflicts:
        anc = by.get(src)
        lic = cat.get(key)
        chain_inf = _chain_inferred(lineage, subject, src)
        own_names = ", ".join(inh.own)
        hist = ""
        if anc is not None and anc.license is not None and anc.license.reason and "changed over time" in anc.license.reason:
            hist = f" ({anc.license.reason.split('; registry')[0]})"
        msg = (f"declares {own_names} but descends from {src}, whose {lic.name if lic else key} [{key}] may not be "
               f"dropped by a derivative{hist}")
        if inh.superseded:
            msg += f"; {', '.join(inh.superseded)} cannot replace it, so {key} governs the model"
        out.append(Evidence("lineage-conflict", subject, msg,
                            own_origins + (anc.evidence if anc else ()), inferred=chain_inf,
                            data={"ancestor": src, "ancestor_key": key, "own": list(inh.own),
                                  "superseded": list(inh.superseded),
                                  "confidence": anc.confidence if anc else None}))

    if not inh.declared and not inh.own and lineage.ancestors:
        keys = ", ".join(effective.keys) or "unknown"
        any_inf = any(a.inferred for a in lineage.ancestors if a.depth == 1)
        out.append(Evidence("lineage-missing-license", subject,
                            f"declares no license; its ancestors' licenses apply: {keys}",
                            ((card.field_origin("license"),) if card else ()) + tuple(
                                o for a in lineage.ancestors if a.depth == 1 for o in a.evidence[:1]),
                            unknown=not effective.keys, inferred=any_inf, data={"effective": list(effective.keys)}))

    for a in lineage.ancestors:
        if a.problem == "cycle":
            continue
        unknown_license = a.license is None or not a.license.keys or a.license.status is Status.UNKNOWN
        if a.license is not None and not a.license.keys and not _declares_license(a.license) and \
                any(p.license is not None and p.license.keys for p in _parents(lineage, a.subject)):
            unknown_license = False  # declares nothing but its own bases are known: they govern it
        if not unknown_license:
            continue
        why = a.problem or (a.license.reason if a.license is not None else None) or "its license is unknown"
        what = "could not be found" if a.license is None else "has no license we could determine"
        out.append(Evidence("lineage-unknown-ancestor", subject,
                            f"ancestor {a.subject} (base of {a.parent}) {what}: {why}",
                            a.evidence, unknown=True, inferred=a.inferred,
                            data={"ancestor": a.subject, "depth": a.depth, "problem": a.problem}))

    for p in lineage.problems:
        if p.code in ("lineage-cycle", "lineage-depth"):
            out.append(Evidence("lineage-cycle", subject, p.message, (p.origin,), unknown=True))

    name = published_name(subject, card)
    if lineage.ancestors and name:
        for key in effective.keys:
            lic = cat.get(key)
            term = lic.term("name-prefix") if lic else None
            if term is None:
                continue
            prefix = str(term.params.get("prefix") or "").strip()
            if not prefix or _name_starts_with(name, prefix):
                continue
            src = effective.sources.get(key, subject)
            out.append(Evidence("lineage-name-prefix", subject,
                                f"the name {name!r} does not start with {prefix!r}, which the {lic.name} [{key}] "
                                f"requires of derivatives" + (f" (inherited from {src})" if src != subject else ""),
                                own_origins, inferred=_chain_inferred(lineage, subject, src) if src != subject else False,
                                data={"name": name, "prefix": prefix, "key": key}))
    return out


def resolve_many(items: Sequence[tuple[str, ModelCard | None, LicenseFacts, Snapshot | None]], resolver: Resolver
                 ) -> list[Lineage]:
    """Lineages of many models: every declared base is fetched first, concurrently, then each is resolved."""
    ids: list[str] = []
    found = []
    for subject, card, _facts, snap in items:
        declared, tiers = find_bases(subject, card, snap, resolver)
        found.append((declared, tiers))
        ids.extend(c.id for c in declared)
        if not declared and tiers:
            ids.extend(c.id for c in tiers[0])
    resolver.prefetch(ids)
    return [resolve_lineage(s, c, f, sn, resolver, fb) for (s, c, f, sn), fb in zip(items, found)]
