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

from audit.card import NOT_TEXT, parse_card
from audit.errors import AuditError
from audit.licenses.catalog import Catalog, catalog
from audit.licenses.exceptions import exception_problem
from audit.licenses.expression import of_keys
from audit.licenses.links import link_key
from audit.licenses.statements import body_statements, statement_declarations
from audit.model import Declaration, Disagreement, LicenseFacts, ModelCard, Origin, Snapshot, SourceKind, Status
from audit.sources.base import CARD_NAMES, MAX_TEXT_BYTES, is_license_like, read_text_file

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
# generic values that point elsewhere for the license (license_name, license_link, the repo's license files)
DEFERRING = frozenset({"other", "license", "licence", "custom", "custom-license", "see-license", "see-license-file"})
_EXPR_OPERATOR = re.compile(r"\s(AND|OR|WITH)\s|[()]", re.IGNORECASE)


_SEPARATORS = re.compile(r"[\s_\-/]+")


def _form(text: str) -> str:
    return _SEPARATORS.sub("-", text.strip().lower()).strip("-.")


def is_generic(value: str | None) -> bool:
    return value is None or _form(value) in GENERIC


# a license value that says nothing at all: a template's placeholder (TRL's cards write `licence: license`, the model
# card template '[More Information Needed]'). Every other value says something of the model's own license, if only
# that it is one not on the Hub's list ('other') or not known ('unknown', 'TBD', 'none'): a card declaring one alone
# has terms nobody can read, which is not the same as declaring nothing
PLACEHOLDERS = frozenset({"", "license", "licence", "more-information-needed"})


def states_license(value: str | None) -> bool:
    return value is not None and _form(value) not in PLACEHOLDERS


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
    if re.match(r"^https?://", text, re.IGNORECASE):  # a license written as its URL: read as license_link is
        key = link_key(text)
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
        exc_sym = getattr(sym, "exception_symbol", None)
        if exc_sym is not None and exception_problem(str(exc_sym.key)):
            return (), None  # an exception we cannot vouch for: the expression is undecided
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
    decls: list[Declaration] = []
    texts = snapshot.texts if snapshot is not None else {}
    linked_path = None

    if card is not None:
        decls.extend(_front_matter_declarations(card))
        if card.license_link:
            found, linked_path = _link_declarations(card, snapshot)
            decls.extend(found)

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
        decls.extend(_other_card_declarations(snapshot))

    if card is not None:
        decls.extend(body_statements(card.body, card.body_line, card.origin))
    decls.extend(statement_declarations(card, snapshot))
    return decide(decls)


def _front_matter_declarations(card: ModelCard) -> list[Declaration]:
    """Every item of `license` (as written, a non-string item included) and a specific license_name."""
    out = []
    for value in card.license:
        if value.startswith(NOT_TEXT.split("{", 1)[0]):
            out.append(Declaration("front-matter", value, (), card.field_origin("license"),
                                   note="not a license id"))
            continue
        keys, expr = ((), None) if is_generic(value) else resolve_id(value)
        out.append(Declaration("front-matter", value, keys, card.field_origin("license"), expr))
    if card.license_name and not is_generic(card.license_name):
        keys, expr = resolve_id(card.license_name)
        out.append(Declaration("license-name", card.license_name, keys, card.field_origin("license_name"), expr))
    return out


def _link_declarations(card: ModelCard, snapshot: Snapshot | None) -> tuple[list[Declaration], str | None]:
    """license_link -> what it names: a known license URL, a Hub repo's license file (its registry license),
    or a file of this snapshot, read whatever its name. -> (declarations, the snapshot path it read)."""
    cat = catalog()
    link = card.license_link or ""
    origin = card.field_origin("license_link")
    path = _repo_path(link)
    if path is None:
        key = link_key(link)
        return [Declaration("license-link", link, (key,) if key else (), origin, cat[key].spdx if key else None,
                            None if key else "a link mlaudit cannot check offline")], None
    text, note = _snapshot_text(snapshot, path)
    if text is None and note is None:
        # a file the snapshot does not hold declares no other license: what the other fields name decides, and
        # the missing text is its own finding (license-text-missing)
        return [Declaration("license-link-missing", link, (), origin,
                            note=f"links to {path}, which is not in the snapshot")], None
    if text is None:
        return [Declaration("license-link", link, (), origin, note=note)], None
    match, content = text
    found = _file_declarations(match, content, origin, "license-link")
    return found or [Declaration("license-link", link, (), origin,
                                 note=f"{match} is not a license text we recognise")], match


def _snapshot_text(snapshot: Snapshot | None, path: str) -> tuple[tuple[str, str] | None, str | None]:
    """The text of a snapshot file at `path` (any name: license_link may point anywhere in the repo), read
    from the snapshot's texts or, for a local file the source did not read, from disk within the snapshot.
    -> ((path, text), "") when read, (None, why) when it could not be read, (None, None) when it is absent."""
    if snapshot is None:
        return None, None
    match = next((p for p in snapshot.texts if p.lower() == path.lower()), None)
    if match is not None:
        return (match, snapshot.texts[match]), ""
    repo_file = next((f for f in snapshot.files if f.path.lower() == path.lower()), None)
    if repo_file is None:
        return None, None
    if repo_file.local_path is None:
        return None, f"links to {path}, which is in the repo but was not read (not on this machine)"
    try:
        within = snapshot.origin.locator if snapshot.origin.source == SourceKind.LOCAL else None
        return (repo_file.path, read_text_file(repo_file.local_path, limit=MAX_TEXT_BYTES, within=within)), ""
    except AuditError as exc:
        return None, f"links to {path}, which could not be read: {exc.message}"


def _other_card_declarations(snapshot: Snapshot) -> list[Declaration]:
    """Other card files of the snapshot (MODEL_CARD.md beside README.md): README.md is the card, so what they
    declare is only compared with it, never used instead of it."""
    out = []
    for path, text in sorted(snapshot.texts.items()):
        if path == snapshot.card_path or path not in CARD_NAMES:
            continue
        other = parse_card(text, snapshot.origin.at(file=path))
        values = ", ".join(other.license) or "no license"
        keys: list[str] = []
        decided = bool(other.license)
        for value in other.license:
            k, _ = ((), None) if is_generic(value) or value.startswith("<") else resolve_id(value)
            keys.extend(k)
            decided = decided and bool(k)
        out.append(Declaration("other-card", values, tuple(dict.fromkeys(keys)) if decided else (),
                               other.field_origin("license"), note=None if decided else "undecided"))
    return out


_DECLARED = ("front-matter", "license-name", "license-link", "hub-tag")


def decide(decls: list[Declaration]) -> LicenseFacts:
    """Weigh the declarations: front matter first, then repo files, then the card body. Every declaration
    counts: one that cannot be decided leaves the license undecided, one that contradicts makes it a conflict."""
    cat = catalog()
    specific = [d for d in decls if d.kind in _DECLARED and d.keys]
    files = [d for d in decls if d.kind == "license-file"]
    body = [d for d in decls if d.kind == "body"]
    disagreements = _front_matter_disagreements(specific, cat) + _unrecognised_beside_known(decls)
    keys, expression, reason = _governing(specific, files, body)
    if specific:
        disagreements.extend(_cross_checks(specific[0], keys, files, body, cat))
    if keys:
        prose = _prose_and_card_checks(decls, keys, cat)
        # a line read both as a loose body mention and as a scoped statement is reported once, as the statement
        stated = {(x.b.origin.file, x.b.origin.line) for x in prose if x.b.kind == "statement"}
        disagreements = [x for x in disagreements
                         if not (x.b.kind == "body" and (x.b.origin.file, x.b.origin.line) in stated)] + prose
    if keys and expression is None:
        # companion documents (acceptable use policies) are part of the main license, not a separate one
        expression = of_keys(keys, drop_companions=True)
    status, reason = _status(keys, disagreements, decls, reason, cat)
    return LicenseFacts(tuple(decls), expression, keys, status, tuple(disagreements), reason)


def _undecided(decls: list[Declaration]) -> list[Declaration]:
    """Declarations of the card's own fields that name no license we can decide on. A lone `license: other`
    (or `see-license`, `license`: DEFERRING) is the Hub's way of saying "see license_name / license_link / the
    files" and is not one; in a list it is (the list claims several licenses and one is unnamed) unless
    license_name or license_link names it, and alone it needs the fields, a license file, or prose naming a
    license the Hub has no id for (`other` says "not one of the Hub's ids": prose that names llama3.1 contradicts
    it, prose that names the Nexusflow Community License does not). Any other placeholder (`unknown`, `tbd`, `none`) says the publisher did not decide."""
    front = [d for d in decls if d.kind == "front-matter"]
    named = any(d.keys for d in decls if d.kind in ("license-name", "license-link"))
    known_front = any(d.keys for d in front)
    linked = any(d.keys for d in decls if d.kind == "license-link")
    in_files = any(d.keys for d in decls if d.kind == "license-file")
    in_prose = _prose_names_a_license_without_hub_id(decls)
    out = []
    for d in decls:
        if d.kind not in _DECLARED or d.keys:
            continue
        if d.kind in ("front-matter", "hub-tag") and _form(d.value) in DEFERRING:
            # prose in the body is not where a deferred license is named: only the fields or a license file
            if d.kind == "front-matter" and not named and (len(front) > 1 or not (in_files or in_prose)):
                out.append(d)
            continue
        if d.kind in ("license-name", "license-link") and known_front:
            continue  # beside a known license it is a contradiction (_unrecognised_beside_known), not a gap
        if d.kind == "license-name" and linked:
            continue  # `other` + a name of its own + license_link to its text: the text decides
        out.append(d)
    return out


def _prose_names_a_license_without_hub_id(decls: list[Declaration]) -> bool:
    cat = catalog()
    prose = [k for d in decls if d.kind in ("body", "statement") for k in d.keys]
    return bool(prose) and all(k in cat and cat[k].hub_id is None for k in prose)


def _unrecognised_beside_known(decls: list[Declaration]) -> list[Disagreement]:
    """A license_name or license_link we cannot recognise next to a known `license` says something else than
    that license, or nothing we can check: either way the card contradicts itself until a human reads it."""
    known = next((d for d in decls if d.kind == "front-matter" and d.keys), None)
    if known is None:
        return []
    out = []
    for d in decls:
        if d.kind in ("license-name", "license-link") and not d.keys:
            why = f" ({d.note})" if d.note else ""
            field = d.kind.replace("-", "_")
            out.append(Disagreement(f"{field} {d.value!r} is not a license mlaudit recognises{why}, but license "
                                    f"says {known.value!r}", known, d))
    return out


LIMITING_TERMS = ("non-commercial", "research-only")  # the terms that limit what a model may be used for


def _prose_and_card_checks(decls: list[Declaration], keys: tuple[str, ...], cat: Catalog) -> list[Disagreement]:
    """Statements about this model (body, gating prompt, USE_POLICY) and other card files, against the keys."""
    out: list[Disagreement] = []
    declared = next((d for d in decls if d.kind in _DECLARED and d.keys), None) or \
        next(d for d in decls if d.keys)
    names = ", ".join(keys)
    limited = any(cat[k].has(t) for k in keys if k in cat for t in LIMITING_TERMS)
    for d in decls:
        where = f"{d.origin.file or 'the card'}" + (f" line {d.origin.line}" if d.origin.line else "")
        if d.kind == "statement" and d.note and not limited:
            out.append(Disagreement(f"{where} limits this model to {d.note} use ({d.value!r}), but its license "
                                    f"{names} does not", declared, d))
        elif d.kind == "intended-use" and d.note and not limited:
            out.append(Disagreement(f"{where} says this model is intended for {d.note} use ({d.value!r}); its "
                                    f"license {names} sets no such limit", declared, d))
        elif d.kind == "statement" and d.keys and not _same_license(keys, d.keys, cat):
            out.append(Disagreement(f"{where} says this model is under {', '.join(d.keys)} ({d.value!r}), but its "
                                    f"license is {names}", declared, d))
        elif d.kind == "other-card" and (not d.keys or not _same_license(keys, d.keys, cat)):
            out.append(Disagreement(f"{d.origin.file} declares license {d.value!r}, but README.md (the card) "
                                    f"declares {names}", declared, d))
    return out


# categories of licenses written for software (code), as opposed to licenses written for model weights
SOFTWARE_CATEGORIES = ("permissive", "public-domain", "weak-copyleft", "copyleft")


def two_scopes(a: Declaration, b: Declaration, cat: Catalog) -> bool:
    """`license: mit` beside `license_name: deepseek` is how Hub cards say "the code is under MIT, the weights
    under the DeepSeek License": a software license in the license field and a model license in license_name or
    license_link are two scopes, not a contradiction, and the weights' license governs."""
    if a.kind != "front-matter" or b.kind not in ("license-name", "license-link"):
        return False
    soft = all(k in cat and cat[k].category in SOFTWARE_CATEGORIES for k in a.keys)
    model = all(k in cat and cat[k].category not in SOFTWARE_CATEGORIES for k in b.keys)
    return bool(a.keys and b.keys) and soft and model


def _front_matter_disagreements(specific: list[Declaration], cat: Catalog) -> list[Disagreement]:
    """The front-matter fields must agree with each other (license vs license_name vs license_link vs Hub tag)."""
    out: list[Disagreement] = []
    for i, a in enumerate(specific):
        for b in specific[i + 1:]:
            if a.kind == b.kind == "front-matter":
                continue  # a list-valued license field names several licenses on purpose
            if two_scopes(a, b, cat):
                continue
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
        cat = catalog()
        weights = [b for b in specific[1:] if two_scopes(specific[0], b, cat)]
        if weights:  # the weights' license governs; the code's license applies as well
            keys = _keys(weights + [specific[0]] + [d for d in specific[1:] if d not in weights])
            code = ", ".join(specific[0].keys)
            return keys, None, (f"the card names two licenses: {', '.join(_keys(weights))} for the weights "
                                f"(governing) and {code} for the code")
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
    front_disagree = [x for x in disagreements if x.b.kind not in ("license-file", "body", "statement", "intended-use")]
    if front_disagree:
        return Status.CONFLICT, front_disagree[0].message
    undecided = _undecided(decls)
    if undecided or not keys:
        why = _unknown_reason(undecided or decls)
        missing = next((d.note for d in decls if d.kind == "license-link-missing"), None)
        return Status.UNKNOWN, f"{why} (license_link {missing})" if missing and missing not in why else why
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
    for d in decls:
        if d.kind == "front-matter" and _form(d.value) in DEFERRING:
            named = next((x for x in decls if x.kind == "license-name" and not is_generic(x.value)), None)
            if named is not None:
                return f"license {d.value!r} defers to license_name {named.value!r}, which is not a license we recognise"
            return (f"license {d.value!r} points elsewhere, but no license_name, license_link or license file "
                    f"names the license")
    values = ", ".join(repr(d.value) for d in decls[:3])
    return f"license {values} is not one we recognise"


def declared_keys(facts: LicenseFacts) -> tuple[str, ...]:
    """Keys the front matter itself declares (the `declared` view of the report)."""
    return tuple(
        dict.fromkeys(
            k for d in facts.declarations if d.kind in ("front-matter", "license-name", "license-link") for k in d.keys
        )
    )
