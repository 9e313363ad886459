"""What a release opens: weights / code / data / docs / paper -> a Model Openness Framework (MOF) class.

Open weights are not open source: a model under a community license ships its parameters, yet with use
restrictions; a model under Apache-2.0 may say nothing of its training data. The profile says, per component,
what the repo's files, card and links show, with the line that shows it, and maps that to the MOF classes
(White et al., "The Model Openness Framework", 2024) as far as the evidence allows:

    III open model    open weights, a model card (intended use, limitations), evaluation results, a paper or
                      technical report, the training data disclosed (a data card), the architecture shipped
    II  open tooling  III plus code in the repo under an OSI-approved license
    I   open science  II plus every training dataset named and under an open license

It claims less, never more: a linked repository whose license mlaudit cannot read does not count as open code,
and an undetermined weights license leaves the class undecided (policies fail closed on it). Nothing here
does I/O: the snapshot's texts were read by the source.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import Any

from audit.model import (
    DatasetFacts,
    Effective,
    Evidence,
    ModelCard,
    Openness,
    OpennessComponent,
    Origin,
    Snapshot,
    Status,
)
from audit.textscan import Lowered, match_lines

CLASSES = ("III", "II", "I")  # from the entry class up to the top
_CLASS_RANK = {None: 0, "III": 1, "II": 2, "I": 3}

# SPDX ids the Open Source Initiative approved (the SPDX License List's isOsiApproved), for the catalog's
# licenses. CC licenses, CC0, ODC, CDLA and OpenMDW are open content/data licenses, not OSI-approved.
OSI_APPROVED = frozenset({
    "AFL-3.0", "AGPL-3.0-only", "Apache-2.0", "Artistic-2.0", "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0",
    "ECL-2.0", "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "GPL-2.0-only", "GPL-3.0-only", "ISC",
    "LGPL-2.1-only", "LGPL-3.0-only", "LPPL-1.3c", "MIT", "MPL-2.0", "MS-PL", "NCSA", "OFL-1.1", "OSL-3.0",
    "PostgreSQL", "Unlicense", "Zlib",
})
_OPEN_CATEGORIES = ("permissive", "public-domain", "weak-copyleft", "copyleft")
# limitations that make an otherwise open license "open with use restrictions"
_RESTRICTIONS = ("field-of-use", "user-threshold", "revenue-threshold", "no-derivatives", "no-distribution",
                 "no-training-other-models", "no-hosting", "outputs-restricted", "geographic")
# weights levels from the most open to the least; several licenses: the least open one governs
LEVELS = ("osi-approved", "open", "restricted", "non-commercial", "proprietary", "unknown")
OPEN_LEVELS = ("osi-approved", "open")

# card headings that show a part of the documentation (matched on the heading text, case-insensitive)
_SECTIONS = {
    "intended use": re.compile(r"\b(intended|direct|downstream)\s+uses?\b|^uses?$|\buse\s+cases?\b", re.I),
    "limitations": re.compile(r"limitation|\bbias|\brisks?\b|out[- ]of[- ]scope|caveat", re.I),
    "evaluation": re.compile(r"evaluat|\bresults?\b|benchmark|performance", re.I),
}
# most headings name none of them: one search says so, before each section's own
_ANY_SECTION = re.compile("|".join(f"(?:{p.pattern})" for p in _SECTIONS.values()), re.I)
_TRAINING_DATA = re.compile(r"training\s+(data|set|corpus)|\bdatasets?\b|data\s+sources?|pre-?training\s+data", re.I)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.{1,200}?)\s*#*\s*$")
# the same heading found over the whole body at once, where '\n' is the only line break in it: within a line
# `\s` is whitespace other than '\n'. After the first line a heading follows a '\n', the literal the regex engine
# looks for first (a pattern opening with '^' is tried at every character) (_Card.headings)
_FIRST_HEADING = re.compile(r"[^\S\n]{0,3}#{1,6}[^\S\n]+(.{1,200}?)[^\S\n]*#*[^\S\n]*$", re.M)
_NEXT_HEADING = re.compile(r"\n[^\S\n]{0,3}#{1,6}[^\S\n]+(.{1,200}?)[^\S\n]*#*[^\S\n]*$", re.M)
# the line breaks str.splitlines knows, and those of them other than '\n'
_SPLITLINES_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_OTHER_BREAKS = tuple(sorted(_SPLITLINES_BREAKS - {"\n"}))
_HASH = re.compile("#")
_PAPER = re.compile(r"https?://(?:www\.)?(arxiv\.org/(?:abs|pdf)/[\w./-]{4,40}|doi\.org/10\.[\w./()-]{3,80}|"
                    r"openreview\.net/(?:forum|pdf)\?id=[\w-]{3,40}|aclanthology\.org/[\w.-]{3,40})", re.I)
_REPORT = re.compile(r"technical\s+report|tech\s+report|white\s*paper", re.I)
# words every match of a pattern holds, looked for first (audit.textscan): most cards have none of them
_HTTP = "http"  # every match of _PAPER and _CODE_REPO begins with it
_REPORT_WORDS = ("report", "paper")
# a code repository link; one that points at a license file is a license link, not code (matched on the rest)
_CODE_REPO = re.compile(r"https?://(?:www\.)?((?:github\.com|gitlab\.com|codeberg\.org)/[\w.-]{1,100}/[\w.-]{1,100})"
                        r"(?!\S*licen[cs]e)", re.I)
_CODE_EXTS = (".py", ".ipynb", ".sh", ".js", ".ts", ".rs", ".go", ".c", ".cc", ".cpp", ".cu", ".java")


def weights_level(keys: Iterable[str]) -> str:
    """The openness of a set of licenses (catalog keys): the least open one governs; none known: unknown."""
    levels = [_key_level(key) for key in keys]
    return max(levels, key=LEVELS.index) if levels else "unknown"


@lru_cache(maxsize=1024)  # a key's level depends only on the catalog, loaded once per process
def _key_level(key: str) -> str:
    from audit.licenses.catalog import catalog

    lic = catalog().get(key)
    if lic is None or lic.ambiguous or lic.category == "unknown":
        return "unknown"
    if lic.category in ("non-commercial", "research-only") or lic.term("non-commercial") or lic.term("research-only"):
        return "non-commercial"
    if lic.category == "proprietary":
        return "proprietary"
    if lic.category not in _OPEN_CATEGORIES or any(lic.term(t) for t in _RESTRICTIONS):
        return "restricted"  # open-rail, community model licenses, use policies
    return "osi-approved" if lic.spdx in OSI_APPROVED else "open"


_LEVEL_WORDS = {
    "osi-approved": "under an OSI-approved open source license",
    "open": "under an open license that is not OSI-approved (an open content or data license)",
    "restricted": "open weights with use restrictions: not an open source license",
    "non-commercial": "non-commercial or research-only: not open",
    "proprietary": "under a proprietary license: not open",
    "unknown": "license undetermined",
}


class _Card:
    """The card's text as lines numbered as in the file, for evidence that points at a line.

    Most lines of a card match none of the patterns read here, so a pattern is first run over the whole body
    and only the lines where a match starts are read one by one (the same first match per line as reading
    every line: a match in a line is a match in the body at the same place, the patterns having no anchor
    that sees past a line)."""

    def __init__(self, card: ModelCard | None):
        self.card = card
        self.body = card.body if card is not None else ""
        # the body's lines, numbered from first_line: each is cut out (_line) only when a pattern hits it
        self.first_line = card.body_line if card is not None else 1
        self._starts: list[int] | None = None
        self._headings: list[tuple[int, str]] | None = None
        self._lowered: Lowered | None = None

    def at(self, line: int | None) -> tuple[Origin, ...]:
        return (self.card.origin.at(line=line),) if self.card is not None else ()

    def _lines_hit(self, pattern: re.Pattern[str], words: tuple[str, ...] = ()) -> Iterator[tuple[int, str]]:
        """The body lines (numbered as in the file) where a match of `pattern` over the whole body starts, in
        order (audit.textscan.match_lines; `words`: lower-case words one of which every match holds)."""
        if words and self._lowered is None:
            self._lowered = Lowered(self.body)
        for i in match_lines(self.body, self._line_starts(), pattern, words, self._lowered):
            yield self.first_line + i, self._line(i)

    def _line(self, i: int) -> str:
        """Line i of the body as str.splitlines() gives it (without its line break)."""
        starts = self._line_starts()
        line = self.body[starts[i]:starts[i + 1]]
        if line.endswith("\r\n"):
            return line[:-2]
        return line[:-1] if line and line[-1] in _SPLITLINES_BREAKS else line

    def _line_starts(self) -> list[int]:
        if self._starts is None:  # where each line starts in the body, and where the body ends
            self._starts = list(accumulate(map(len, self.body.splitlines(True)), initial=0))
        return self._starts

    def headings(self) -> list[tuple[int, str]]:
        if self._headings is None:
            out = []
            if any(b in self.body for b in _OTHER_BREAKS):
                for n, line in self._lines_hit(_HASH):  # a heading line has a '#'
                    m = _HEADING.match(line)
                    if m:
                        out.append((n, m.group(1)))
            else:  # one pass of the regex over the body finds the same headings as reading each '#' line
                body = self.body
                m = _FIRST_HEADING.match(body)
                if m:
                    out.append((self.first_line, m.group(1)))
                number, counted = self.first_line, 0
                for m in _NEXT_HEADING.finditer(body):
                    number += body.count("\n", counted, m.start() + 1)
                    counted = m.start() + 1
                    out.append((number, m.group(1)))
            self._headings = out
        return list(self._headings)

    def find_from(self, pattern: re.Pattern[str], word: str) -> list[tuple[int, str]]:
        """find(), for a pattern every match of which begins with `word` (lower-case, matched ignoring case) and
        stays on its line: the pattern is tried only where the word begins, not along every line holding it."""
        if self._lowered is None:
            self._lowered = Lowered(self.body)
        at = self._lowered.positions((word,))
        if at is None:
            return self.find(pattern, (word,))
        out: list[tuple[int, str]] = []
        last = -1
        for p in at:
            i = bisect_right(self._line_starts(), p) - 1
            if i == last:
                continue  # the line has its (leftmost) match
            m = pattern.match(self.body, p)
            if m:
                out.append((self.first_line + i, m.group(1) if m.groups() else m.group(0)))
                last = i
        return out

    def find(self, pattern: re.Pattern[str], words: tuple[str, ...] = ()) -> list[tuple[int, str]]:
        """(line, match) for each line of the body matching, first match per line (`words`: see _lines_hit)."""
        out = []
        for n, line in self._lines_hit(pattern, words):
            m = pattern.search(line)
            if m:
                out.append((n, m.group(1) if m.groups() else m.group(0)))
        return out


def openness_profile(snapshot: Snapshot, card: ModelCard | None, own_keys: Sequence[str], effective: Effective,
                     datasets: Sequence[DatasetFacts]) -> Openness:
    """The profile of one model from its snapshot, card, licenses and training datasets."""
    c = _Card(card)
    documentation, documented = _documentation(c)
    components = (_weights(snapshot, card, own_keys, effective), _code(snapshot, c, own_keys), _data(c, datasets),
                  documentation, _paper(c))
    return classify(components, architecture=_has_architecture(snapshot), documented=documented)


def _weights(snapshot: Snapshot, card: ModelCard | None, own_keys: Sequence[str], effective: Effective) -> OpennessComponent:
    """The weights are governed by the effective license: the model's own and what its ancestors impose."""
    keys = effective.keys
    level = weights_level(keys)
    where = card.field_origin("license") if card is not None else snapshot.origin
    via = " (its ancestors' terms applied)" if set(keys) != set(own_keys) else ""
    detail = f"{', '.join(keys) or 'no license'}{via}: {_LEVEL_WORDS[level]}"
    return OpennessComponent("weights", level, level in OPEN_LEVELS, detail, tuple(keys), (where,))


def _code_files(snapshot: Snapshot) -> list[str]:
    names = [f.path for f in snapshot.files] or list(snapshot.texts)
    return sorted(n for n in names if n.lower().endswith(_CODE_EXTS))


def _code(snapshot: Snapshot, c: _Card, own_keys: Sequence[str]) -> OpennessComponent:
    files = _code_files(snapshot)
    links = list(dict.fromkeys((n, u) for n, u in c.find_from(_CODE_REPO, _HTTP)))[:5]
    link_origins = tuple(o for n, _ in links for o in c.at(n))
    if files:
        level = weights_level(own_keys)
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        detail = f"{len(files)} code file(s) in the repo ({shown}) under the repo's license: {_LEVEL_WORDS[level]}"
        origins = tuple(snapshot.origin.at(file=f) for f in files[:3]) + link_origins
        return OpennessComponent("code", "shipped", level == "osi-approved", detail, tuple(own_keys), origins)
    if links:
        urls = ", ".join(u for _, u in links[:3])
        return OpennessComponent("code", "linked", False, f"the card links {urls}; its license is not verified "
                                 "(mlaudit does not read linked repositories)", (), link_origins)
    return OpennessComponent("code", "none", False, "no code in the repo and no code repository linked from the card")


def _data(c: _Card, datasets: Sequence[DatasetFacts]) -> OpennessComponent:
    if datasets:
        keys = tuple(dict.fromkeys(k for d in datasets for k in d.keys))
        unresolved = [d.id for d in datasets if d.status is not Status.RESOLVED or not d.keys]
        closed = [d.id for d in datasets if d.keys and weights_level(d.keys) not in OPEN_LEVELS]
        detail = f"{len(datasets)} dataset(s) named: {', '.join(d.id for d in datasets[:5])}"
        if unresolved:
            detail += f"; license undetermined for {', '.join(unresolved[:5])}"
        if closed:
            detail += f"; not openly licensed: {', '.join(closed[:5])}"
        is_open = not unresolved and not closed
        origins = (datasets[0].origin,)
        return OpennessComponent("data", "named", is_open, detail, keys, origins)
    sections = [(n, h) for n, h in c.headings() if _names_training_data(h)]
    if sections:
        n, heading = sections[0]
        return OpennessComponent("data", "described", False, f"the card describes its training data ({heading!r}) "
                                 "but names no dataset (no `datasets:` in the front matter)", (), c.at(n))
    return OpennessComponent("data", "undisclosed", False, "the card neither names nor describes its training data")


@lru_cache(maxsize=4096)  # cards made from one template repeat their headings: each is read once
def _sections_of(heading: str) -> tuple[str, ...]:
    """The parts of the documentation (intended use, limitations, evaluation) a heading names."""
    if not _ANY_SECTION.search(heading):  # most headings name none of them: one search says so
        return ()
    return tuple(part for part, pattern in _SECTIONS.items() if pattern.search(heading))


@lru_cache(maxsize=4096)
def _names_training_data(heading: str) -> bool:
    return _TRAINING_DATA.search(heading) is not None


def _documentation(c: _Card) -> tuple[OpennessComponent, frozenset[str]]:
    """The card's documentation, and which of intended use, limitations, evaluation it has."""
    if c.card is None:
        return OpennessComponent("documentation", "none", False, "no model card"), frozenset()
    found: dict[str, int] = {}
    for n, heading in c.headings():
        if len(found) == len(_SECTIONS):
            break
        for part in _sections_of(heading):
            if part not in found:
                found[part] = n
    index_line = c.card.field_lines.get("model-index")  # the line of the front-matter key, as YAML read it
    if "evaluation" not in found and index_line is not None:
        found["evaluation"] = index_line
    missing = [p for p in _SECTIONS if p not in found]
    status = "complete" if not missing else ("partial" if found else "minimal")
    detail = (f"model card with {', '.join(found) or 'no section on intended use, limitations or evaluation'}"
              + (f"; missing: {', '.join(missing)}" if missing and found else ""))
    origins = tuple(o for n in sorted(set(found.values())) for o in c.at(n)) or (c.card.origin,)
    return OpennessComponent("documentation", status, not missing, detail, (), origins), frozenset(found)


def _paper(c: _Card) -> OpennessComponent:
    links = c.find_from(_PAPER, _HTTP)
    if links:
        n, url = links[0]
        return OpennessComponent("paper", "linked", True, f"the card links a paper: {url}", (), c.at(n))
    tags = [t for t in (c.card.tags if c.card else ()) if t.lower().startswith(("arxiv:", "doi:"))]
    if tags and c.card is not None:
        return OpennessComponent("paper", "linked", True, f"the card is tagged with a paper: {tags[0]}", (),
                                 (c.card.field_origin("tags"),))
    reports = c.find(_REPORT, _REPORT_WORDS)
    if reports:
        n, _ = reports[0]
        return OpennessComponent("paper", "mentioned", False, "the card mentions a technical report but links no "
                                 "paper (arXiv, DOI, OpenReview, ACL Anthology)", (), c.at(n))
    return OpennessComponent("paper", "none", False, "no paper or technical report linked from the card")


def _has_architecture(snapshot: Snapshot) -> bool:
    """The architecture is shipped: a config naming it, or code. (Weights without either cannot be studied.)"""
    names = {f.path for f in snapshot.files} | set(snapshot.texts)
    return bool(names & {"config.json", "params.json", "adapter_config.json"}) or bool(_code_files(snapshot)) \
        or any(n.lower().endswith(".gguf") for n in names)


def classify(components: Sequence[OpennessComponent], *, architecture: bool,
             documented: Iterable[str] = ()) -> Openness:
    """Components -> the highest MOF class whose requirements all hold, and what the next class needs.
    `documented`: the parts of the card found (intended use, limitations, evaluation)."""
    by = {c.name: c for c in components}
    weights = by["weights"]
    requirements = _requirements(by, architecture, frozenset(documented))
    reached: str | None = None
    missing: tuple[str, ...] = ()
    for cls in CLASSES:
        gaps = tuple(why for ok, why in requirements[cls] if not ok)
        if gaps:
            missing = gaps
            break
        reached = cls
    next_class = None if reached == "I" else CLASSES[CLASSES.index(reached) + 1 if reached else 0]
    return Openness(tuple(components), reached, weights.status != "unknown", next_class, missing)


def _requirements(by: Mapping[str, OpennessComponent], architecture: bool,
                  documented: frozenset[str]) -> dict[str, list[tuple[bool, str]]]:
    """Per class, (holds, what it needs) for each requirement beyond the class below."""
    w, code, data, paper = by["weights"], by["code"], by["data"], by["paper"]
    linked = " (the linked repository's license is not verified)" if code.status == "linked" else ""
    return {
        "III": [
            (w.open, f"weights under an open license (now: {w.status})"),
            (architecture, "the architecture in the repo (config.json or code)"),
            ({"intended use", "limitations"} <= documented, "a model card stating intended use and limitations"),
            ("evaluation" in documented, "evaluation results (a card section or model-index)"),
            (paper.open, "a paper or technical report linked from the card"),
            (data.status in ("named", "described"), "the training data disclosed (named or described on the card)"),
        ],
        "II": [(code.open, "code in the repo under an OSI-approved license" + linked)],
        "I": [(data.status == "named", "every training dataset named (`datasets:` on the card)")
              if data.status != "named" else (data.open, "every training dataset under an open license")],
    }


def class_rank(mof_class: Any) -> int:
    """0 (no class) .. 3 (class I); a policy's min_openness_class may say III, II, I or 3, 2, 1."""
    if isinstance(mof_class, int) and not isinstance(mof_class, bool):
        mof_class = {3: "III", 2: "II", 1: "I"}.get(mof_class)
    return _CLASS_RANK.get(str(mof_class).strip().upper() if mof_class is not None else None, 0)


def openness_evidence(subject: str, profile: Openness | None, settings: Mapping[str, Any]) -> list[Evidence]:
    """Evidence for the openness checks, only when the policy's settings ask for them (min_openness_class,
    require_training_data): a policy that says nothing of openness gets no openness findings."""
    if profile is None:
        return []
    out: list[Evidence] = []
    wanted = settings.get("min_openness_class")
    if wanted is not None and class_rank(wanted) == 0:
        # a typo must not switch the gate off: until the policy schema refuses it, it fails closed here
        out.append(Evidence("openness-below-class", subject, f"the policy's min_openness_class {wanted!r} is not "
                            "one of I, II, III (or 1, 2, 3), so the class cannot be checked", (), unknown=True,
                            data={"required": str(wanted)}))
    elif wanted is not None and class_rank(profile.mof_class) < class_rank(wanted):
        weights = profile.component("weights")
        origins = tuple(o for c in profile.components for o in c.evidence[:1])
        have = f"class {profile.mof_class}" if profile.mof_class else "no MOF class"
        needs = "; ".join(profile.missing) or "more of the release opened"
        if not profile.decided:
            message = f"openness class undecided (the weights' license is unknown); the policy requires class {wanted}"
        else:
            message = f"is {have}, the policy requires class {wanted}; missing for class {profile.next_class}: {needs}"
        out.append(Evidence("openness-below-class", subject, message, origins, unknown=not profile.decided,
                            data={"class": profile.mof_class, "required": str(wanted), "missing": list(profile.missing),
                                  "weights": weights.status if weights else None}))
    data = profile.component("data")
    if settings.get("require_training_data") and data is not None and data.status != "named":
        out.append(Evidence("training-data-undisclosed", subject,
                            f"names no training dataset: {data.detail}", data.evidence,
                            data={"status": data.status}))
    return out


_CLASS_NAMES = {"I": "open science", "II": "open tooling", "III": "open model"}


def summary(o: Openness) -> str:
    """The class in words, the same in every format: 'MOF class III (open model)', or why there is none."""
    if not o.decided:
        return "MOF class undecided (the weights' license is unknown)"
    if o.mof_class is None:
        return "no MOF class"
    return f"MOF class {o.mof_class} ({_CLASS_NAMES[o.mof_class]})"


def next_steps(o: Openness) -> str | None:
    """What the next class needs, in one line; None at class I."""
    if o.next_class is None:
        return None
    return f"for class {o.next_class}: " + ("; ".join(o.missing) or "nothing the evidence shows is missing")
