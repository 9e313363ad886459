"""The licenses that govern a model once its ancestors' terms apply.

- `inherit`: what passes down from the ancestors (catalog `relicense: false`), what the declared license
  drops (conflicts), and which declared keys cannot replace the ancestors' (superseded). Computed once per
  model and handed to `effective_license` and to `audit.lineage.checks.lineage_evidence`.
- The licensor rule (`layered_license`): a publisher's own custom license adds terms on top of the base's;
  a public license or another family's license claims to replace them.
- Same-licensor relicensing (`same_licensor`): a licensor may release a descendant of its own model under other
  terms (DeepSeek-R1, MIT, on DeepSeek-V3-Base under the DeepSeek License): an ancestor's terms stop at a
  descendant that declares a license and is published by the same licensor. A third party (DeepSeek's distills
  of Llama, published by deepseek-ai on meta-llama's bases) cannot drop them. The licensor is the publishing
  Hub org (`audit.registry.same_licensor` decides instead, when the registry has it); a family or a local path
  has none. Each stop is recorded (Inheritance.relicensed) and reported (lineage-same-licensor).
- License history (`registry_facts`): a registry entry whose license changed over time, as a derivative of
  a given date sees it; of alternatives the restrictive one wins (fail closed).
"""
from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from audit.licenses.catalog import catalog
from audit.licenses.expression import and_
from audit.lineage.confidence import gates
from audit.model import Ancestor, Declaration, Effective, LicenseFacts, Lineage, Origin, SourceKind, Status
from audit.registry import Entry
from audit.registry import same_licensor as registry_same_licensor
from audit.sources.ids import names_hub_repo

# Limitations that take rights away: a declared license with one of these still binds users even when it
# cannot replace an ancestor's license (a publisher may always restrict further).
RESTRICTIVE = ("non-commercial", "research-only", "no-derivatives", "no-distribution")
NOASSERTION = "NOASSERTION"  # SPDX: nothing can be said about the license
_LICENSE_CHANGED = "license changed over time"  # how registry_facts' reason starts for a license with a history


# -- license facts for registry entries -------------------------------------------------------------------------
def _said(license: str | None) -> str:
    return "no license" if not license or license == "(none)" else license


def key_facts(key: str, origin: Origin, note: str | None = None) -> LicenseFacts:
    """LicenseFacts for one catalog key the registry names (a family's license)."""
    from audit.licenses.catalog import catalog

    lic = catalog().get(key)
    decl = Declaration("registry", key, (key,) if lic else (), origin, lic.spdx if lic else None, note)
    if lic is None:
        return LicenseFacts((decl,), None, (), Status.UNKNOWN, reason=f"{key} is not in the catalog")
    return LicenseFacts((decl,), lic.spdx, (key,), Status.RESOLVED, reason=note)


# Many models of one audit share a base (every fine-tune of Llama-3.1-8B): the facts depend only on the entry
# (a frozen value), the date and the note, and the catalog is loaded once per process, so they are kept.
@lru_cache(maxsize=4096)
def registry_facts(entry: Entry, since: _dt.date | None, note: str | None = None, all_history: bool = False
                   ) -> LicenseFacts:
    """LicenseFacts for a registry entry as a derivative dated `since` sees it (see the module doc)."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    origin = Origin(SourceKind.REGISTRY, entry.id, file=entry.source_file, line=entry.source_line, field="license")
    evid = f"registry ({entry.confidence} confidence, facts of {entry.evidence_date})"
    if note:
        evid = f"{note}; {evid}"
    options = entry.keys_between(since)
    decls = []
    for i, (key, declared) in enumerate(options):
        lic = cat.get(key) if key else None
        when = "current license" if i == 0 else "earlier license"
        decls.append(Declaration("registry", declared, (key,) if key and lic else (), origin, lic.spdx if lic else None,
                                 f"{when}; {evid}"))
    known = [k for k, _ in options if k and k in cat]
    if len(options) > 1 and not all_history:
        chosen = [k for k in known if not cat[k].relicense] or known[:1]  # the restrictive alternative wins
    else:
        chosen = known[:1] if not all_history else known
    keys = tuple(dict.fromkeys(chosen))
    if not keys:
        why = f"registry license {entry.license!r} is not in the catalog" if entry.license else "no license was observed"
        return LicenseFacts(tuple(decls), None, (), Status.UNKNOWN, reason=f"{entry.id}: {why}")
    reason = evid
    if len(options) > 1:
        changes = "; ".join(f"{_said(c.from_license)} until {c.date or 'an unknown date'}, then {_said(c.to_license)}"
                            for c in entry.history)
        when = ("of unknown date" if since is None else "dated after every change" if since == _dt.date.max
                else f"dated from {since.isoformat()}")  # (date.max: the current license, whatever the date)
        reason = f"{_LICENSE_CHANGED} ({changes}): a derivative {when} takes {', '.join(keys)}; {evid}"
    status = Status.UNKNOWN if any(cat[k].ambiguous for k in keys) else Status.RESOLVED
    return LicenseFacts(tuple(decls), and_(cat[k].spdx for k in keys), keys, status, reason=reason)


def license_change(facts: LicenseFacts | None) -> str | None:
    """For registry facts of a license that changed over time: what changed and what a derivative takes."""
    if facts is None or not facts.reason or _LICENSE_CHANGED not in facts.reason:
        return None
    return facts.reason.split("; registry")[0]


# -- inheritance --------------------------------------------------------------------------------------------------
def declares_license(facts: LicenseFacts, unnamed: bool = False) -> bool:
    """Did the model's own sources state any license at all (even one we cannot identify)? `unnamed`: a value
    that says something of it without naming it ('other', 'unknown', 'TBD') counts too."""
    from audit.licenses.normalize import is_generic, states_license

    if facts.keys:
        return True  # most models: keys from any source mean a license was stated
    for d in facts.declarations:
        if d.kind in ("front-matter", "license-name", "hub-tag") and (
                not is_generic(d.value) or (unnamed and states_license(d.value))):
            return True
        if d.kind in ("license-link", "license-link-missing", "license-file") and (d.keys or d.note):
            return True
        if d.kind == "body" and d.keys:
            return True
    return False


def acknowledged(facts: LicenseFacts) -> set[str]:
    """Keys any of the model's own sources mentions (a card body saying 'Llama 2 is licensed under ...')."""
    return {k for d in facts.declarations for k in d.keys}


def _satisfied(key: str, own: Iterable[str]) -> bool:
    """Do the model's own keys meet what the ancestor's `key` asks of derivatives?"""
    from audit.licenses.catalog import catalog

    cat = catalog()
    mine = set(own)
    if key in mine:
        return True
    lic = cat.get(key)
    if lic is None:
        return False
    if mine & set(lic.allowed_derivative_licenses):
        return True
    return any(o is not None and key in o.companions for o in (cat.get(k) for k in mine))


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


def parents(lineage: Lineage, of: str) -> list[Ancestor]:
    """The ancestors that `of` names as its bases."""
    return list(lineage.by_parent.get(of.lower(), ()))


def licensor(repo_id: str) -> str | None:
    """The Hub org that publishes a repo ('deepseek-ai/DeepSeek-R1' -> 'deepseek-ai', also for a snapshot directory
    named deepseek-ai--DeepSeek-R1); None for a family or a path that names no org."""
    rid = repo_id_of(repo_id) if not repo_id.startswith("family:") else None
    return rid.split("/", 1)[0].lower() if rid else None


def same_licensor(a: str, b: str, key: str | None = None) -> bool:
    """Are two repos released by the licensor of `key`? Where the catalog names the licensor of that license
    (its Hub orgs), audit.registry.same_licensor decides; otherwise the publishing Hub orgs are compared."""
    if key is not None:
        lic = catalog().get(key)
        if lic is not None and lic.licensor_orgs:
            return registry_same_licensor(a, b, key)
    la, lb = licensor(a), licensor(b)
    return la is not None and la == lb


def publisher(anc: Ancestor) -> str:
    """The repo an ancestor stands for when licensors are compared: its own, or for a family named in text
    ('family:deepseek-r1') the registry model whose license it carries, so that a family relicensed by its own
    licensor (DeepSeek-R1, MIT, on DeepSeek-V3-Base) stops its base's terms as that model does."""
    if anc.subject.startswith("family:") and anc.license is not None:
        for d in anc.license.declarations:
            if d.kind == "registry":
                return d.origin.locator
    return anc.subject


# (descendant, ancestor, key): an ancestor's key that stops at a descendant of the same licensor
Stop = tuple[str, str, str]


def _ancestor_effective(lineage: Lineage, anc: Ancestor, seen: frozenset[str], stops: list[Stop]
                        ) -> dict[str, str]:
    """key -> subject it comes from, for an ancestor: its own keys plus what passes down to it."""
    if anc.subject.lower() in seen:
        return {}
    seen = seen | {anc.subject.lower()}
    own = list(anc.license.keys) if anc.license is not None else []
    out: dict[str, str] = {k: anc.subject for k in own}
    declared = anc.license is not None and declares_license(anc.license)
    for p in parents(lineage, anc.subject):
        if p.depth <= anc.depth:
            continue
        me = publisher(anc)
        relicensed = declared and bool(own) and same_licensor(me, p.subject)
        for k, src in _ancestor_effective(lineage, p, seen, stops).items():
            if k in out:
                continue
            if relicensed and same_licensor(me, p.subject, k):
                if _passes_down(k) and not _satisfied(k, own):
                    stops.append((anc.subject, src, k))
                continue
            if not declared or (_passes_down(k) and not _satisfied(k, own)):
                out[k] = src
    return out


@dataclass(frozen=True, slots=True)
class Inheritance:
    """What a model's ancestors pass down to it, and how its own license meets that."""

    subject: str
    own: tuple[str, ...]  # the model's own keys
    declared: bool  # its own sources state a license (even one we cannot identify)
    inherited: Mapping[str, str]  # key -> ancestor it comes from (keys passing down, not satisfied)
    conflicts: tuple[tuple[str, str], ...]  # (ancestor key, ancestor) the declared license drops
    superseded: tuple[str, ...]  # own keys that cannot replace the ancestors' licenses
    parents: Mapping[str, str]  # everything the direct bases carry
    relicensed: tuple[Stop, ...] = ()  # ancestor keys that stop at a descendant of the same licensor
    possible: tuple[Ancestor, ...] = ()  # weak inferred bases set aside: the model declares its own license
    still_binding: tuple[str, ...] = ()  # superseded keys whose own terms the policy still applies (see inherit)


def strong_lineage(subject: str, lineage: Lineage) -> tuple[Lineage, tuple[Ancestor, ...]]:
    """The lineage without its weak inferred ancestors (confidence.weak) and what was reached only through
    them; and the weak ancestors set aside."""
    from audit.lineage.confidence import weak

    kept: list[Ancestor] = []
    dropped: list[Ancestor] = []
    reach = {subject.lower()}
    for a in sorted(lineage.ancestors, key=lambda a: a.depth):
        if a.parent.lower() not in reach:
            continue
        if a.inferred and weak(a.confidence):
            dropped.append(a)
            continue
        kept.append(a)
        reach.add(a.subject.lower())
    if not dropped:
        return lineage, ()
    return replace(lineage, ancestors=tuple(kept)), tuple(dropped)


def inherit(subject: str, facts: LicenseFacts, lineage: Lineage, weak_gates: bool = False) -> Inheritance:
    """What passes down to `subject` from its lineage. Compute it once per model and hand it to both
    effective_license and lineage_evidence. When the model declares a license of its own, weak inferred
    ancestors (data/confidence.yaml) neither replace nor contradict it, unless `weak_gates` (the policy's
    inferred_lineage_can_fail): they are set aside as possible bases."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    possible: tuple[Ancestor, ...] = ()
    if not weak_gates and declares_license(facts):
        lineage, possible = strong_lineage(subject, lineage)
    own = tuple(facts.keys)
    from_bases: dict[str, str] = {}
    stops: list[Stop] = []
    me = repo_id_of(subject)
    for p in parents(lineage, subject):
        for k, src in _ancestor_effective(lineage, p, frozenset({subject.lower()}), stops).items():
            if own and me is not None and same_licensor(me, p.subject, k) and k not in own:
                if _passes_down(k) and not _satisfied(k, own):
                    stops.append((me, src, k))  # the licensor relicensed its own model
                continue
            from_bases.setdefault(k, src)
    inherited = {k: src for k, src in from_bases.items() if _passes_down(k) and not _satisfied(k, own)}
    conflicts: tuple[tuple[str, str], ...] = ()
    superseded: tuple[str, ...] = ()
    still_binding: tuple[str, ...] = ()
    if own and inherited:
        # a body that acknowledges the base's license does not make the declared metadata right: still a
        # conflict (the finding says both: see checks.conflict_evidence)
        replacing = [k for k in own if not layered_license(k)]
        if replacing:
            conflicts = tuple(inherited.items())
        if conflicts:
            # a replacing key stays in force only when it restricts further than everything inherited
            superseded = tuple(
                k for k in replacing
                if not any(cat[k].has(t) for t in RESTRICTIVE if k in cat)
                or all(any(cat[i].has(t) for i in inherited if i in cat) for t in RESTRICTIVE if k in cat and cat[k].has(t))
            )
            # ... but the policy still holds the model to a superseded key's own terms when all that superseded it
            # comes through inference that does not gate: those findings are held to warning, so the declared
            # key's non-commercial term, say, would otherwise pass unseen
            if not weak_gates and all(rests_on_inference(lineage, subject, src) for src in inherited.values()):
                still_binding = superseded
    # the model's own 'license: other' (or 'unknown', 'TBD') with nothing naming it is terms nobody read, not an
    # absent license: it stays license-unknown (fail closed) rather than license-undeclared-derivative. An ancestor's
    # is read as before (its bases govern it), since its descendants' gap is already that ancestor's finding when it
    # is audited itself
    return Inheritance(subject, own, declares_license(facts, unnamed=True), inherited, conflicts, superseded, from_bases,
                       tuple(dict.fromkeys(stops)), possible, still_binding)


_DECLARED = frozenset({"base_model", "hub", "registry-relation"})


def _link_kind(a: Ancestor) -> str:
    """The kind of evidence an inferred ancestor rests on: how it was named, or, for a declared base, the name
    that identifies it as a re-upload of a registry model (nothing else makes a declared base inferred)."""
    return "registry-name" if a.via in _DECLARED else (a.via or "")


def rests_on_inference(lineage: Lineage, subject: str, src: str) -> bool:
    """Does the path from the subject to the ancestor `src` rest on an inferred link of a kind that does not gate
    (data/confidence.yaml `gates`)? Findings that do are held to warning unless the policy says otherwise."""
    by = {a.subject.lower(): a for a in lineage.ancestors}
    cur = by.get(src.lower())
    steps = 0
    while cur is not None and steps < 64:
        if cur.inferred and not gates(_link_kind(cur)):
            return True
        if cur.parent.lower() == subject.lower():
            return False
        cur = by.get(cur.parent.lower())
        steps += 1
    return False


def repo_id_of(subject: str) -> str | None:
    """The Hub repo id a subject is published under: the id itself, or a snapshot directory named org--name."""
    if names_hub_repo(subject):
        return subject
    base = os.path.basename(subject.rstrip("/\\"))
    if "--" in base:
        org, name = base.split("--", 1)
        return f"{org}/{name}" if org and name else None
    return None


def effective_license(subject: str, facts: LicenseFacts, lineage: Lineage, inheritance: Inheritance | None = None
                      ) -> Effective:
    """Own keys plus the ancestor keys that pass down. With no license of its own, the model gets its bases'
    licenses (inferred_from_ancestors). A declared public license that conflicts with an ancestor's is
    superseded by what the bases carry, unless it restricts further (non-commercial, research-only ...).
    `inheritance` is inherit()'s answer for the same model, when the caller has it."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    inh = inheritance if inheritance is not None else inherit(subject, facts, lineage)
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
    # a companion license (a use policy) is named by the license it accompanies
    main = [k for k in keys if not any(k in cat[o].companions for o in keys if o in cat and o != k)]
    expr = and_(cat[k].spdx for k in main if k in cat)
    if inh.declared and not inh.own:
        expr = and_((expr, NOASSERTION))  # own license unknown: say so
    return Effective(expr, keys, inferred, sources)
