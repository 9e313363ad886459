"""The phrase tables of lineage inference (data/phrases.yaml), loaded once, and a fast way to search them.

The hot patterns run case-sensitively on lower-cased text when that finds exactly what IGNORECASE finds
(audit.registry.lowerable says when, and why), else as written, with IGNORECASE.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from audit.registry import lowerable

DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "phrases.yaml")

# (word, alternative[, the alternative opening with a literal]); alternative None: just the word
PhraseSpec = tuple[str, str | None] | tuple[str, str, str]


def lowered(text: str) -> str | None:
    """text.lower() when it can stand in for IGNORECASE matching on `text`, else None."""
    return text.lower() if lowerable(text) else None


def literal_first(alt: str) -> str:
    r"""'\bword...' -> 'w(?<!\ww)ord...': the same matches (a word boundary before a letter means no word
    character before it), but opening with a literal, so the regex engine jumps from one 'w' to the next."""
    m = re.match(r"\\b([a-z])(?![?*+{])", alt)
    return f"{m.group(1)}(?<!\\w{m.group(1)}){alt[3:]}" if m else alt


class Phrases:
    """A case-insensitive pattern given as alternatives, each with a word that every match of it contains
    (outside any optional or alternative part) and, optionally, an equivalent form that opens with a literal.
    `search` answers exactly bool(full.search(text)), but on lower-cased text it tries an alternative only
    where its word occurs: a substring test costs far less than a regex scan, and most lines hold none."""

    def __init__(self, parts: Sequence[PhraseSpec]):
        self.full = re.compile("|".join(p[1] or re.escape(p[0]) for p in parts), re.IGNORECASE)
        self._spec = tuple(parts)
        self._parts: tuple[tuple[str, tuple[re.Pattern[str] | None, ...]], ...] | None = None

    @property
    def parts(self) -> tuple[tuple[str, tuple[re.Pattern[str] | None, ...]], ...]:
        """(word, its alternatives compiled for lower-cased text): compiled on first use, not at import."""
        if self._parts is None:
            by_word: dict[str, list[re.Pattern[str] | None]] = {}
            for word, alt, *fast in self._spec:
                rx = None if alt is None else re.compile(fast[0] if fast else literal_first(alt))
                by_word.setdefault(word, []).append(rx)
            self._parts = tuple((word, tuple(rxs)) for word, rxs in by_word.items())
        return self._parts

    def search(self, text: str, low: str | None) -> bool:
        """Does the pattern occur in `text`? `low` is lowered(text) (None: use the IGNORECASE pattern)."""
        if low is None:
            return self.full.search(text) is not None
        for word, rxs in self.parts:
            if word in low:
                for rx in rxs:
                    if rx is None or rx.search(low) is not None:
                        return True
        return False


def _spec(row: Any) -> PhraseSpec:
    if not isinstance(row, list) or not 1 <= len(row) <= 3 or not all(isinstance(x, str) for x in row):
        raise ValueError(f"{DATA_FILE}: a phrase is [word], [word, pattern] or [word, pattern, fast]: {row!r}")
    if len(row) == 1:
        return (row[0], None)
    if len(row) == 2:
        return (row[0], row[1])
    return (row[0], row[1], row[2])


def _load() -> dict[str, Any]:
    import yaml

    with open(DATA_FILE, encoding="utf-8") as fh:
        data = yaml.load(fh.read(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"{DATA_FILE}: not a mapping of tables")
    return data


_DATA = _load()
ANCESTRY = Phrases([_spec(r) for r in _DATA["ancestry"]])  # a sentence saying where the model comes from
# a line with none of these words needs no ancestry pattern tried (unless a heading put it in scope)
ANCESTRY_HINTS: tuple[str, ...] = tuple(_DATA["ancestry_hints"])
NOT_ANCESTRY = Phrases([_spec(r) for r in _DATA["not_ancestry"]])  # a comparison, an architecture, a denial
# those of its words that follow the model they are about ('the Llama-2 architecture')
NAMED_BEFORE = Phrases([_spec(r) for r in _DATA["named_before"]])
SOURCES_HEADING = Phrases([_spec(r) for r in _DATA["sources_heading"]])  # a merge's ingredients, credits
# a line listing related models (see also, collections, other sizes): no ancestry in it, nor in its section
NOT_ANCESTRY_LISTS = Phrases([_spec(r) for r in _DATA["not_ancestry_lists"]])
NAME_SHORTHAND: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), r) for p, r in _DATA["name_shorthand"])
NAME_DECORATIONS = re.compile(r"[-_ .](?:" + "|".join(map(re.escape, _DATA["name_decorations"])) + r")(?=$|[-_ .])",
                              re.IGNORECASE)
_ALSO_MODELS = set(_DATA["tool_and_model_names"])
if _ALSO_MODELS - set(_DATA["tool_names"]):
    raise ValueError(f"{DATA_FILE}: tool_and_model_names must be tool_names")
# a tool's name, unless it is also a model series' and a version follows it ('LLaVA 1.5', 'LLaVA v1.6')
TOOL_NAMES = re.compile(
    r"(?<![\w.-])(?:" + "|".join(map(re.escape, sorted(set(_DATA["tool_names"]) - _ALSO_MODELS, key=len, reverse=True)))
    + r"|(?:" + "|".join(map(re.escape, sorted(_ALSO_MODELS))) + r")(?![ _]v?\d))(?![\w-])", re.IGNORECASE)
# a model name, a repo id or a Markdown link (no spaces), as {name} in other_roles
# (one character is a name too: the last word of one written with spaces, 'phi 2 outputs', 'dreamshaper 8 outputs')
_ROLE_NAME = r"(?:\[[^\]]*\]\([^)\s]*\)|`?[A-Za-z0-9](?:[\w./:-]*\w)?`?)"
# a name that comes before its role: any but the little words a sentence puts there ('trained on outputs of')
_ROLE_MODEL = r"(?!(?:on|of|from|with|by|for|to|in|and|or|the|a|an|its|their|our|his|her|using|use|uses)\b)" + _ROLE_NAME
# One pattern each, searched apart (their matches may overlap: 'conversations written by X'), each only on a line
# holding one of its words. A pattern whose name comes first ({model}...) is searched for what follows the name,
# and the name then read backwards from there: a regex that must try a name at every position of a long line
# costs far more.
_NAME_BEFORE = re.compile(f"(?<![\\w./:-])(?P<n>{_ROLE_MODEL})$", re.IGNORECASE)
OTHER_ROLES: tuple[tuple[tuple[str, ...], re.Pattern[str], bool], ...] = tuple(
    (tuple(words.split("|")),
     re.compile(p.removeprefix("{model}") if p.startswith("{model}") else p.replace("{name}", f"(?P<n>{_ROLE_NAME})"),
                re.IGNORECASE),
     p.startswith("{model}"))
    for words, p in _DATA["other_roles"])
_OTHER_ROLE_WORDS: tuple[str, ...] = tuple(dict.fromkeys(w for words, _, _ in OTHER_ROLES for w in words))


# a word of a name written with spaces ('Qwen2.5', '72B', 'Instruct', 'v0.2', '[dev]', 'albert base v2'): any word
# without a dash but the little ones that join a name to the rest of its sentence
_LINK_WORDS = ("on|of|from|with|by|for|to|in|into|and|or|the|a|an|its|their|our|his|her|using|use|uses|used|as|at|via|"
               "then|than|while|after|before|which|that|is|was|were|are|be|we|it|this|these|those|model|models")
_NAME_WORD = rf"(?!(?:{_LINK_WORDS})\b)(?:[\w+\[](?:[\w.+\[\]]*[\w+\]])?)"  # no dash: 'Llama-2-13b' is a name of its own
_WORDS_BEFORE = re.compile(rf"(?<![\w.+\]-])(?:{_NAME_WORD} ){{1,6}}$", re.IGNORECASE)
_WORDS_AFTER = re.compile(rf"(?: {_NAME_WORD}){{1,6}}(?![\w+\[-]|\.\w)", re.IGNORECASE)


def _whole_name(line: str, a: int, b: int, back: bool) -> tuple[int, int]:
    """The span of a name found in another role, grown over the words of the name around it when prose writes it
    with spaces: 'Qwen 2.5 72B Instruct outputs' (found: 'Instruct'), 'generated by Llama 3 70B' (found: 'Llama')."""
    if back:
        more = _WORDS_BEFORE.search(line, max(0, a - 80), a)
        return (more.start() if more else a), b
    more = _WORDS_AFTER.match(line, b)
    return a, (more.end() if more else b)


def mask_other_roles(line: str) -> str:
    """The line with the names of models in other roles (other_roles) blanked, the words around them kept."""
    low = line.lower()
    for w in _OTHER_ROLE_WORDS:  # most origin sentences name no other role: one pass, written out, for them
        if w in low:
            break
    else:
        return line
    spans = []
    for words, rx, name_first in OTHER_ROLES:
        if not any(w in low for w in words):
            continue
        for m in rx.finditer(line):
            if name_first:
                named = _NAME_BEFORE.search(line, max(0, m.start() - 160), m.start())
                if named is not None:
                    spans.append(_whole_name(line, *named.span("n"), back=True))
            else:
                spans.append(_whole_name(line, *m.span("n"), back=False))
    if not spans:
        return line
    out = list(line)
    for a, b in spans:
        out[a:b] = " " * (b - a)
    return "".join(out)


QUANTIZED_TAGS: frozenset[str] = frozenset(_DATA["quantized_tags"])
MERGE_TAGS: frozenset[str] = frozenset(_DATA["merge_tags"])


def read_name(name: str) -> str:
    """A model's name as the registry would know it: shorthands expanded ('L3.1-8B' -> 'Llama-3.1-8B') and
    decorations dropped ('-abliterated'). The one reading of a name, whether it is the model's own name, a
    weight header's, or that of a declared base no source knows."""
    for rx, rep in NAME_SHORTHAND:
        name = rx.sub(rep, name)
    return NAME_DECORATIONS.sub("", name)
