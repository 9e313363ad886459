"""Card + repo files -> LicenseFacts: what each source declared, normalized to catalog keys and SPDX.

Sources, in the order a reviewer trusts them for "what does this model declare":
front matter (`license`, `license_name`, `license_link`), the Hub's license tag, license-like files
in the repo (identified by their text), and statements in the card body. Disagreements between the
front-matter fields make the status `conflict`; a repo file that names another license is recorded as
a disagreement for the cross-check; body statements are a fallback only.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from audit.licenses.catalog import Catalog, catalog
from audit.licenses.expression import of_keys
from audit.model import Declaration, Disagreement, LicenseFacts, ModelCard, Origin, Snapshot, Status
from audit.sources.base import is_license_like

if TYPE_CHECKING:
    from audit.licenses.identify import Identification

# license_name / license values that say nothing about which license applies
GENERIC = {
    "",
    "other",
    "license",
    "licence",
    "custom",
    "custom-license",
    "see-license",
    "see-license-file",
    "unknown",
    "none",
    "n-a",
    "na",
    "tbd",
    "more-information-needed",
}
_EXPR_OPERATOR = re.compile(r"\s(AND|OR|WITH)\s|[()]", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s)\]>\"'`]+", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]{1,200})\]\((https?://[^)\s]+)\)")
_BADGE = re.compile(r"shields\.io/badge/licen[cs]e-([A-Za-z0-9._%+]+?)-", re.IGNORECASE)
_PHRASE = re.compile(
    r"(?:licen[cs]ed\s+(?:under|as|with)|released\s+under|available\s+under|distributed\s+under|"
    r"governed\s+by|subject\s+to|licen[cs]e\s*(?:is|:|：|\*\*:?|\|))\s*(?:the\s+|a\s+|an\s+)?\**\s*\[?([^\n;()\[\]|]{2,100})",
    re.IGNORECASE,
)
_LICEN = re.compile(r"licen[cs]", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"more information needed|\[?todo\]?|to be (?:added|announced)", re.IGNORECASE)


def _form(text: str) -> str:
    return re.sub(r"[\s_\-/]+", "-", text.strip().lower()).strip("-.")


def is_generic(value: str | None) -> bool:
    return value is None or _form(value) in GENERIC


@lru_cache(maxsize=4096)
def resolve_id(text: str) -> tuple[tuple[str, ...], str | None]:
    """A license id, name or SPDX expression as written -> (catalog keys, SPDX expression)."""
    cat = catalog()
    text = text.strip().strip("\"'`*")
    key = cat.lookup(text)
    if key:
        return (key,), cat[key].spdx
    if _EXPR_OPERATOR.search(text):
        return _resolve_expression(text, cat)
    if re.match(r"^https?://", text, re.IGNORECASE):
        key = cat.by_link(text)
        return ((key,), cat[key].spdx) if key else ((), None)
    return (), None


def _resolve_expression(text: str, cat: Catalog) -> tuple[tuple[str, ...], str | None]:
    from license_expression import LicenseSymbol

    from audit.licenses import expression as spdx

    try:
        expr = spdx.parse(text)
    except spdx.ExpressionError:
        return (), None  # unparseable is unknown
    keys: list[str] = []
    subs = {}
    for sym in expr.get_literals():
        # "X WITH exception": the license is X; the exception is kept as written
        lic_sym = getattr(sym, "license_symbol", sym)
        key = cat.lookup(str(lic_sym.key))
        if key is None:
            return (), None  # one unknown part makes the whole expression unknown
        keys.append(key)
        if lic_sym is sym:
            subs[sym] = LicenseSymbol(cat[key].spdx)
    return tuple(dict.fromkeys(keys)), spdx.render(expr.subs(subs) if subs else expr)


def _repo_path(link: str) -> str | None:
    """A relative license_link ('LICENSE', './LICENSE.md', 'blob/main/LICENSE') -> repo path; None for URLs."""
    if re.match(r"^[a-z]+://", link, re.IGNORECASE) or link.startswith("www.") or "huggingface.co" in link:
        return None
    path = link.strip().lstrip("./")
    path = re.sub(r"^(blob|resolve|raw)/[^/]+/", "", path)
    return path or None


@lru_cache(maxsize=512)
def _identify(text: str, name: str) -> tuple[Identification, ...]:
    # many repos ship byte-identical LICENSE files: identify each distinct text once per process
    from audit.licenses.identify import identify_text

    return tuple(identify_text(text, name=name))


def _file_declarations(
    path: str, text: str, origin: Origin, kind: str
) -> list[Declaration]:
    """Identify a license text; one Declaration per license found (none when it is not a license)."""
    out = []
    for ident in _identify(text, path):
        line_origin = origin.at(file=path, line=ident.start_line or 1)
        keys = (ident.key,) if ident.key and ident.verdict in ("exact", "modified", "truncated", "stub") else ()
        note = f"{ident.verdict}, confidence {ident.confidence:.2f}"
        if ident.version:
            note += f", version {ident.version}"
        if ident.details:
            note += ": " + "; ".join(ident.details[:3])
        cat = catalog()
        expr = cat[keys[0]].spdx if keys and keys[0] in cat else None
        out.append(Declaration(kind, ident.key or "unidentified text", keys, line_origin, expr, note))
    return out


def body_statements(body: str, body_line: int, origin: Origin) -> list[Declaration]:
    """License statements in the card body: 'licensed under X', 'License: X', badges, license links."""
    cat = catalog()
    out: list[Declaration] = []
    seen: set[tuple[str, int]] = set()
    end = -1
    idx, counted_to = 0, 0
    for hit in _LICEN.finditer(body):  # only lines that mention a license are read (most of a card does not)
        if hit.start() < end:
            continue  # another mention on a line already read
        start = body.rfind("\n", 0, hit.start()) + 1
        end = body.find("\n", hit.start())
        end = len(body) if end == -1 else end
        line = body[start:end]
        idx += body.count("\n", counted_to, start)
        counted_to = start
        if _PLACEHOLDER.search(line) and not _URL.search(line):
            continue
        lineno = body_line + idx
        found: list[tuple[str, str]] = []  # (key, value as written)
        for m in _BADGE.finditer(line):
            val = m.group(1).replace("_", " ").replace("%20", " ")
            key = cat.lookup(val)
            if key:
                found.append((key, val))
        for m in _MD_LINK.finditer(line):
            key = cat.by_link(m.group(2)) or _lookup_prefix(m.group(1), cat)
            if key:
                found.append((key, m.group(0)))
        if not found:
            for m in _URL.finditer(line):
                key = cat.by_link(m.group(0))
                if key:
                    found.append((key, m.group(0)))
        if not found:
            for m in _PHRASE.finditer(line):
                key = _lookup_prefix(m.group(1), cat)
                if key:
                    found.append((key, m.group(1).strip()))
        for key, value in found:
            if (key, lineno) in seen or cat[key].ambiguous:
                continue
            seen.add((key, lineno))
            out.append(Declaration("body", value[:200], (key,), origin.at(line=lineno), cat[key].spdx))
    return out


def _lookup_prefix(phrase: str, cat: Catalog) -> str | None:
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


def _same_license(a: Iterable[str], b: Iterable[str], cat: Catalog) -> bool:
    """Do two key sets name the same licensing (allowing a license and its companion documents)?"""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return True
    if sa & sb:
        return True
    for k in sa:
        lic = cat.get(k)
        if lic and set(lic.companions) & sb:
            return True
    for k in sb:
        lic = cat.get(k)
        if lic and set(lic.companions) & sa:
            return True
    return False


def license_facts(card: ModelCard | None, snapshot: Snapshot | None = None) -> LicenseFacts:
    cat = catalog()
    decls: list[Declaration] = []
    texts = snapshot.texts if snapshot is not None else {}
    linked_path = None

    if card is not None:
        for value in card.license:
            keys, expr = ((), None) if is_generic(value) else resolve_id(value)
            decls.append(Declaration("front-matter", value, keys, card.field_origin("license"), expr))
        if card.license_name and not is_generic(card.license_name):
            keys, expr = resolve_id(card.license_name)
            decls.append(Declaration("license-name", card.license_name, keys, card.field_origin("license_name"), expr))
        if card.license_link:
            origin = card.field_origin("license_link")
            path = _repo_path(card.license_link)
            if path is None:
                key = cat.by_link(card.license_link)
                decls.append(
                    Declaration("license-link", card.license_link, (key,) if key else (), origin,
                                cat[key].spdx if key else None)
                )
            else:
                match = next((p for p in texts if p.lower() == path.lower()), None)
                if match is None:
                    decls.append(
                        Declaration("license-link", card.license_link, (), origin,
                                    note=f"links to {path}, which is not in the snapshot")
                    )
                else:
                    linked_path = match
                    found = _file_declarations(match, texts[match], origin, "license-link")
                    decls.extend(found or [Declaration("license-link", card.license_link, (), origin,
                                                       note=f"{match} is not a license text we recognise")])

    if snapshot is not None:
        for tag in snapshot.info.get("tags", ()) or ():
            if isinstance(tag, str) and tag.startswith("license:"):
                value = tag.split(":", 1)[1]
                keys, expr = ((), None) if is_generic(value) else resolve_id(value)
                decls.append(Declaration("hub-tag", value, keys, snapshot.origin.at(field="tags"), expr))
        for path in sorted(texts):
            if path == linked_path or not is_license_like(path):
                continue
            decls.extend(_file_declarations(path, texts[path], snapshot.origin, "license-file"))

    if card is not None:
        decls.extend(body_statements(card.body, card.body_line, card.origin))
    return decide(decls)


_DECLARED = ("front-matter", "license-name", "license-link", "hub-tag")


def decide(decls: list[Declaration]) -> LicenseFacts:
    """Weigh the declarations: front matter first, then repo files, then the card body."""
    cat = catalog()
    specific = [d for d in decls if d.kind in _DECLARED and d.keys]
    files = [d for d in decls if d.kind == "license-file"]
    body = [d for d in decls if d.kind == "body"]
    disagreements = _front_matter_disagreements(specific, cat)
    keys, expression, reason = _governing(specific, files, body)
    if specific:
        disagreements.extend(_cross_checks(specific[0], keys, files, body, cat))
    if keys and expression is None:
        # companion documents (acceptable use policies) are part of the main license, not a separate one
        expression = of_keys(keys, drop_companions=True)
    status, reason = _status(keys, disagreements, decls, reason, cat)
    return LicenseFacts(tuple(decls), expression, keys, status, tuple(disagreements), reason)


def _front_matter_disagreements(specific: list[Declaration], cat: Catalog) -> list[Disagreement]:
    """The front-matter fields must agree with each other (license vs license_name vs license_link vs Hub tag)."""
    out: list[Disagreement] = []
    for i, a in enumerate(specific):
        for b in specific[i + 1:]:
            if a.kind == b.kind == "front-matter":
                continue  # a list-valued license field names several licenses on purpose
            if not _same_license(a.keys, b.keys, cat):
                out.append(Disagreement(f"{a.kind} says {a.value!r} but {b.kind} says {b.value!r}", a, b))
    return out


def _keys(decls: list[Declaration]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for d in decls for k in d.keys))


def _governing(
    specific: list[Declaration], files: list[Declaration], body: list[Declaration]
) -> tuple[tuple[str, ...], str | None, str | None]:
    """The keys that govern the model, their expression when the declarations give one, and why."""
    if specific:
        same = len({d.expression for d in specific}) == 1
        return _keys(specific), specific[0].expression if same else None, "declared in the card's front matter"
    confident_files = [d for d in files if d.keys]
    if confident_files:
        names = ", ".join(sorted({d.origin.file or "?" for d in confident_files}))
        return _keys(confident_files), None, f"no license in the front matter; identified from {names}"
    if body:
        return _keys(body), None, "no license in the front matter or files; read from the card body"
    return (), None, None


def _cross_checks(
    declared: Declaration, keys: tuple[str, ...], files: list[Declaration], body: list[Declaration], cat: Catalog
) -> list[Disagreement]:
    """A repo license file, or a license statement in the card body, that names another license than the
    declared one is a cross-check finding (the front matter alone is wrong often enough)."""
    out: list[Disagreement] = []
    names = ", ".join(keys)
    for f in files:
        if f.keys and not _same_license(keys, f.keys, cat):
            out.append(Disagreement(f"{f.origin.file} is {f.value!r} but the card declares {names}", declared, f))
    for b in body:
        if not _same_license(keys, b.keys, cat):
            out.append(Disagreement(f"the card body says {b.value!r} ({', '.join(b.keys)}) at line {b.origin.line}, "
                                    f"but the front matter declares {names}", declared, b))
    return out


def _status(
    keys: tuple[str, ...], disagreements: list[Disagreement], decls: list[Declaration], reason: str | None,
    cat: Catalog,
) -> tuple[Status, str | None]:
    front_disagree = [x for x in disagreements if x.b.kind not in ("license-file", "body")]
    if front_disagree:
        return Status.CONFLICT, front_disagree[0].message
    if not keys:
        return Status.UNKNOWN, _unknown_reason(decls)
    ambiguous = [k for k in keys if k in cat and cat[k].ambiguous]
    if ambiguous:
        return Status.UNKNOWN, f"{', '.join(ambiguous)} names a family of licenses, not one license"
    return Status.RESOLVED, reason


def _unknown_reason(decls: list[Declaration]) -> str:
    if not decls:
        return "no license is declared in the card, its files or its body"
    for d in decls:
        if d.note:
            return f"{d.kind} {d.value!r}: {d.note}"
    values = ", ".join(repr(d.value) for d in decls[:3])
    return f"license {values} is not one we recognise"


def declared_keys(facts: LicenseFacts) -> tuple[str, ...]:
    """Keys the front matter itself declares (the `declared` view of the report)."""
    return tuple(
        dict.fromkeys(
            k for d in facts.declarations if d.kind in ("front-matter", "license-name", "license-link") for k in d.keys
        )
    )
