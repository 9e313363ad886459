"""Statements about *this model's* license or permitted use, in prose: the card body, a gating prompt, a
USE_POLICY file. "The model weights are released under CC-BY-NC-4.0", "This model is for non-commercial use
only".

A statement counts only when its scope is this model. The text is cut into clauses (sentences, then `,` `;`
"while" "but" "whereas"), so "the code is MIT, the model is under the Model License" is two statements with
two scopes. A clause is about this model when it names it ("this model", "the model", "our model", "the
weights", "model weights", "the checkpoint") and names nothing else as its subject (code, datasets, data, a
base/original/parent model, a demo) before it. Table rows are never statements about this model (a table of licenses
is almost always a comparison with other models), nor are fenced code blocks (citations, snippets). In a
gating prompt or a USE_POLICY file the subject is implied: the file is about this model.

`body_statements` is the looser reading of the body the license facts fall back on when the front matter names
no license (and report as `license-body-mismatch` when it names another): any line mentioning a license
("License: X", a badge, a license link), unless the line speaks first of code, data or another model.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from operator import add

from audit.card import is_fence, normalize_line_breaks
from audit.licenses.catalog import Catalog, catalog
from audit.model import Declaration, ModelCard, Origin, Snapshot
from audit.textscan import Lowered, match_lines

_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*_\[])")
_CLAUSE = re.compile(r"[;,]\s+|\s+(?:while|whereas|but|although)\s+|\s+-{1,2}\s+", re.IGNORECASE)
_OURS = re.compile(
    r"\b(?:this|the|our)\s+(?:\w+[-\s])?(?:model|weights|checkpoints?)\b|\bmodel\s+weights\b|\bthe\s+weights\b"
    r"|\bthis\s+(?:repo|repository|release)\b",
    re.IGNORECASE,
)
_OTHER_SCOPE = re.compile(
    r"\b(?:code|codes|codebase|source\s+code|scripts?|software|library|datasets?|data|corpus|demo|space|app|"
    r"(?:base|original|parent|upstream|teacher|reference|foundation)\s+models?|"
    r"tokenizer|outputs?|generated\s+(?:text|content|images?))\b",
    re.IGNORECASE,
)
_LICENSE_PHRASE = re.compile(
    r"(?:licen[cs]ed\s+(?:under|as|with)|released\s+under|available\s+under|distributed\s+under|provided\s+under|"
    r"governed\s+by|(?:is|are)\s+under|subject\s+to)\s+(?:the\s+terms\s+of\s+)?(?:the\s+|a\s+|an\s+)?\**\s*\[?"
    r"([^\n;()\[\]|]{2,100})",
    re.IGNORECASE,
)
_WORTH_READING = re.compile(r"licen[cs]|commercial|research|under|governed|subject\s+to", re.IGNORECASE)
_FENCE_OR_WORTH = re.compile(rf"```|~~~|{_WORTH_READING.pattern}", re.IGNORECASE)  # a line either may matter
# a word every match of _FENCE_OR_WORTH holds, one per alternative of the pattern (a test checks it)
_FENCE_OR_WORTH_WORDS = ("```", "~~~", "licen", "commercial", "research", "under", "governed", "subject")
_USE_POLICY = re.compile(r"use[-_ ]?policy", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]{1,200})\]\((https?://[^)\s]+)\)")
_NC = r"non[-\u2010\u2011\s]?commercial"
_RESTRICTIONS = (
    ("non-commercial", re.compile(
        rf"(?<!not\s)(?:only|solely|exclusively|strictly)\s+(?:be\s+used\s+)?(?:for\s+)?(?:\w+\s+)?{_NC}"
        rf"|{_NC}\s+(?:[\w-]+\s+){{0,3}}only\b"
        rf"|(?:limited|restricted)\s+to\s+(?:\w+\s+)?{_NC}"
        r"|(?:not|never)\s+(?:be\s+)?(?:used\s+)?(?:for\s+)?(?:any\s+)?commercial(?:ly)?\s+(?:use|purposes?|applications?)"
        r"|commercial\s+use\s+(?:is\s+)?(?:not\s+(?:permitted|allowed)|prohibited|forbidden)"
        r"|\bno\s+commercial\s+use", re.IGNORECASE)),
    ("research-only", re.compile(
        r"(?<!not\s)(?:only|solely|exclusively|strictly)\s+(?:be\s+used\s+)?for\s+(?:\w+\s+){0,2}research"
        r"|research\s+(?:and\s+[\w-]+\s+)?(?:purposes?\s+|use\s+|usage\s+)?only\b"
        r"|(?:limited|restricted)\s+to\s+(?:\w+\s+)?research", re.IGNORECASE)),
)


# "The model is intended for research purposes only": what the publisher meant the model for (a model card's
# "Intended uses" section), not a term of its license. Reported apart from a limit the license would set.
_INTENT = re.compile(r"\b(?:intended|meant|designed|aimed)\b", re.IGNORECASE)

_URL = re.compile(r"https?://[^\s)\]>\"'`]+", re.IGNORECASE)
# shields.io writes a dash in a badge's text as '--' (and a space as '_'): 'license-CC--BY--NC--4.0-red'
_BADGE = re.compile(r"shields\.io/badge/licen[cs]e-((?:[A-Za-z0-9._%+]|--)+?)-(?!-)", re.IGNORECASE)
_PHRASE = re.compile(
    r"(?:licen[cs]ed\s+(?:under|as|with)|released\s+under|available\s+under|distributed\s+under|"
    r"governed\s+by|subject\s+to|licen[cs]e\s*(?:is|:|：|\*\*:?|\|))\s*(?:the\s+|a\s+|an\s+)?\**\s*\[?([^\n;()\[\]|]{2,100})",
    re.IGNORECASE,
)
_LICEN = re.compile(r"licen[cs]", re.IGNORECASE)
# a row of two cells whose first names the license: a table of facts about the model, not a comparison of models
_LICENSE_ROW = re.compile(r"^\s*\|\s*[*_]*(?:model\s+|weights?\s+)?licen[cs]e[*_]*\s*:?\s*\|([^|]+)\|\s*$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"more information needed|\[?todo\]?|to be (?:added|announced)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Statement:
    """One clause that says this model is under a license (`keys`) or may only be used so (`restriction`)."""

    text: str  # the clause as written (cut to 200 characters)
    origin: Origin
    keys: tuple[str, ...] = ()  # the license it names
    restriction: str | None = None  # "non-commercial" | "research-only"
    intent: bool = False  # the restriction is an intended use ("intended for research only"), not a stated limit


def statements(text: str, origin: Origin, first_line: int = 1, implied_subject: bool = False) -> list[Statement]:
    """Every statement about this model's license or use in `text` ('\\n' line breaks). `first_line` is the
    line of `text` in its file; `implied_subject` when the whole text is about this model (gating prompt,
    USE_POLICY), so a clause need not name the model to count."""
    cat = catalog()
    out: list[Statement] = []
    fenced = False
    # a USE_POLICY file or a gating prompt may break lines as the card may (NEL, U+2028...): the same lines
    for n, line in _lines_to_read(normalize_line_breaks(text)):
        if _FENCE.match(line) and is_fence(line):
            fenced = not fenced
            continue
        if fenced or line.count("|") >= 2 or not line.strip():
            continue
        if not _WORTH_READING.search(line):
            continue  # most of a card: nothing to read
        for sentence in _SENTENCE.split(line):
            for clause in _CLAUSE.split(sentence):
                st = _statement(clause, origin.at(line=first_line + n), implied_subject, cat)
                if st is not None:
                    out.append(st)
    return out


def _lines_to_read(text: str) -> Iterator[tuple[int, str]]:
    """(0-based number, line) of the lines of `text` ('\\n' breaks) that may open a fence or be worth reading,
    in order (audit.textscan.match_lines); any other line would be skipped by `statements` anyway."""
    lines = text.split("\n")
    # line i starts after the lengths of the lines before it and their i '\n's (all counted in C, not per line)
    starts = list(map(add, accumulate(map(len, lines), initial=0), range(len(lines) + 1)))
    for i in match_lines(text, starts, _FENCE_OR_WORTH, _FENCE_OR_WORTH_WORDS):
        yield i, lines[i]


def _statement(clause: str, origin: Origin, implied: bool, cat: Catalog) -> Statement | None:
    scope = _scope(clause)
    if scope == "other" or (scope is None and not implied):
        return None
    for restriction, pattern in _RESTRICTIONS:
        m = pattern.search(clause)
        if m:
            intent = _INTENT.search(clause, 0, m.start()) is not None
            return Statement(clause.strip()[:200], origin, restriction=restriction, intent=intent)
    keys = _named_licenses(clause, cat)
    return Statement(clause.strip()[:200], origin, keys=keys) if keys else None


def _named_licenses(clause: str, cat: Catalog) -> tuple[str, ...]:
    found: list[str] = []
    for m in _MD_LINK.finditer(clause):
        key = cat.by_link(m.group(2)) or lookup_prefix(m.group(1), cat)
        if key:
            found.append(key)
    for m in _LICENSE_PHRASE.finditer(clause):
        key = lookup_prefix(m.group(1), cat)
        if key:
            found.append(key)
    return tuple(k for k in dict.fromkeys(found) if not cat[k].ambiguous)


def lookup_prefix(phrase: str, cat: Catalog) -> str | None:
    """Longest leading run of words in `phrase` that names a catalog license."""
    words = re.sub(r"[*_`\"“”]", " ", phrase).replace("licence", "license").split()
    for n in range(min(len(words), 9), 0, -1):
        cand = " ".join(words[:n]).strip(" .,:")
        if len(cand) < 3:
            continue
        key = cat.lookup(cand)
        if key and not (n == 1 and cand.lower() in {"license", "open", "free"}):
            return key
    return None


def _scope(text: str) -> str | None:
    """Whose statement this is: its subject is the first thing it names. "This model was trained on public
    data and is licensed under X" is about the model; "The training code of this model is MIT" is not."""
    ours, other = _OURS.search(text), _OTHER_SCOPE.search(text)
    if ours is None:
        return None if other is None else "other"
    return "other" if other is not None and other.start() < ours.end() else "ours"  # "the base model": other


def other_scope(line: str) -> bool:
    """True when a line speaks first of something other than the model (code, data, a base model), or is a
    table row."""
    return line.count("|") >= 2 or _scope(line) == "other"


def statement_declarations(card: ModelCard | None, snapshot: Snapshot | None) -> list[Declaration]:
    """Prose that puts this model under a license or limits its use: the card body, the gating prompt, a
    USE_POLICY file, as Declarations of kind 'statement' (`note` holds the restriction when the statement is one),
    or 'intended-use' when the restriction is what the model is intended for rather than a limit on its use.
    A gating prompt's statements are placed at the prompt field's line."""
    found: list[Statement] = []
    if card is not None:
        found.extend(statements(card.body, card.origin, card.body_line))
        said = {(st.origin.line, k) for st in found for k in st.keys}
        found.extend(st for st in section_names(card.body, card.origin, card.body_line)
                     if (st.origin.line, st.keys[0]) not in said)
        prompt = card.front_matter.get("extra_gated_prompt")
        if isinstance(prompt, str):
            where = card.field_origin("extra_gated_prompt")
            found.extend(statements(prompt, where, where.line or 1, implied_subject=True))
    if snapshot is not None:
        for path, text in sorted(snapshot.texts.items()):
            if _USE_POLICY.search(path.rsplit("/", 1)[-1]):
                found.extend(statements(text, snapshot.origin.at(file=path), 1, implied_subject=True))
    cat = catalog()
    return [Declaration("intended-use" if st.intent else "statement", st.text, st.keys, st.origin,
                        cat[st.keys[0]].spdx if st.keys else None, st.restriction) for st in found]


# a heading that names the license of what the card is about: '## License', '### 📜 Licence', '## 7. Model license'
# (and the word in German, Spanish, Portuguese, Italian, Dutch, Russian, Chinese, Japanese, Korean)
_LICENSE_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+[^\w\n]*[ \t]*(?:\d+(?:\.\d+)*\.?[ \t]+)?(?:(?:model|weights?)[ \t]+)?"
                              r"(?:licen[cs]es?|lizenz|licencia|licen[çc]a|licenza|licentie|лицензия|许可证?|许可协议|"
                              r"开源协议|ライセンス|라이선스)(?![\w-])[^\w\n]*$", re.IGNORECASE | re.MULTILINE)
_HEADING_WORDS = ("icen", "ICEN", "izenz", "IZENZ", "ицензи", "ИЦЕНЗИ", "许可", "开源协议", "ライセンス", "라이선스")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SECTION_LINES = 3  # what a License section opens with; later lines are notes on it


def section_names(body: str, origin: Origin, first_line: int = 1) -> list[Statement]:
    """A license named alone on one of the first lines of a License section ('## License' then 'CC-BY-NC-4.0',
    '- Apache 2.0', '[Llama 2 Community License](<link>)'): the heading gives the scope, the model, as 'this model
    is licensed under' would. Only a line that is nothing but a license's name (or a link to one) counts, and not
    a line that speaks of code, data or another model."""
    if not any(w in body for w in _HEADING_WORDS):
        return []
    cat = catalog()
    out: list[Statement] = []
    lines: list[str] | None = None
    for head in _LICENSE_HEADING.finditer(body):
        lines = body.split("\n") if lines is None else lines
        i = body.count("\n", 0, head.start())
        if sum(1 for line in lines[:i] if _FENCE.match(line) and is_fence(line)) % 2:
            continue  # a heading inside a code block (a card template shown as an example)
        read = 0
        for n in range(i + 1, min(len(lines), i + 12)):
            text = lines[n]
            if _HEADING.match(text) or read >= _SECTION_LINES or _FENCE.match(text):
                break
            if not text.strip():
                continue
            read += 1
            key = None if other_scope(text) else _bare_license(text, cat)
            if key is not None:
                out.append(Statement(text.strip()[:200], origin.at(line=first_line + n), keys=(key,)))
    return out


def _bare_license(line: str, cat: Catalog) -> str | None:
    """The license a line names when it is nothing but its name or a link to it, else None."""
    text = _LIST_MARK.sub("", line).strip().strip("*_`>:. ")
    link = _MD_LINK.fullmatch(text)
    if link is not None:
        key = cat.lookup(link.group(1).strip("*_` ")) or cat.by_link(link.group(2))
    else:
        key = cat.lookup(text) if 2 <= len(text) <= 80 else None
    return key if key is not None and not cat[key].ambiguous else None


def _license_mentions(body: str) -> list[int]:
    """Where each match of _LICEN starts: "licen" found in the lowered body (audit.textscan), each place then
    matched by the pattern itself; the pattern over the whole body when the lowered one cannot stand in."""
    hits = Lowered(body).positions(("licen",))
    if hits is None:
        return [m.start() for m in _LICEN.finditer(body)]
    return [p for p in hits if _LICEN.match(body, p)]


def body_statements(body: str, body_line: int, origin: Origin) -> list[Declaration]:
    """License statements in the card body: 'licensed under X', 'License: X', badges, license links, a facts
    table's license row, a license named alone under a License heading."""
    cat = catalog()
    found: list[tuple[str, str, int]] = []  # (key, value as written, line)
    end = -1
    idx, counted_to = 0, 0
    for at in _license_mentions(body):  # only lines that mention a license are read (most of a card does not)
        if at < end:
            continue  # another mention on a line already read
        start = body.rfind("\n", 0, at) + 1
        end = body.find("\n", at)
        end = len(body) if end == -1 else end
        idx += body.count("\n", counted_to, start)
        counted_to = start
        found.extend((key, value, body_line + idx) for key, value in _licenses_on(body[start:end], cat))
    # 'CC-BY-NC-4.0' alone under '## License' names no "licen"
    found.extend((st.keys[0], st.text, st.origin.line or body_line) for st in section_names(body, origin, body_line))
    out: list[Declaration] = []
    seen: set[tuple[str, int]] = set()
    for key, value, lineno in found:
        if (key, lineno) in seen or cat[key].ambiguous:
            continue
        seen.add((key, lineno))
        out.append(Declaration("body", value[:200], (key,), origin.at(line=lineno), cat[key].spdx))
    return out


def _licenses_on(line: str, cat: Catalog) -> list[tuple[str, str]]:
    """(key, value as written) of each license a body line names."""
    row = _LICENSE_ROW.match(line)
    if row is not None:  # a two-cell row of a table of facts about the model: '| License | CC-BY-NC-4.0 |'
        key = _bare_license(row.group(1), cat)
        return [(key, line.strip())] if key is not None else []
    if (_PLACEHOLDER.search(line) and not _URL.search(line)) or other_scope(line):
        return []  # a placeholder, a table row, or a line about the code, the data or another model
    found: list[tuple[str, str]] = []
    for m in _BADGE.finditer(line):
        val = m.group(1).replace("--", "-").replace("_", " ").replace("%20", " ")
        key = cat.lookup(val)
        if key:
            found.append((key, val))
    for m in _MD_LINK.finditer(line):
        key = cat.by_link(m.group(2)) or lookup_prefix(m.group(1), cat)
        if key:
            found.append((key, m.group(0)))
    if not found:
        for m in _URL.finditer(line):
            key = cat.by_link(m.group(0))
            if key:
                found.append((key, m.group(0)))
    if not found:
        for m in _PHRASE.finditer(line):
            key = lookup_prefix(m.group(1), cat)
            if key:
                found.append((key, m.group(1).strip()))
    return found
