"""The lineage checks: Evidence for the policy engine, one function per check.

lineage-conflict, license-undeclared-derivative (declares nothing; its inherited license is known),
lineage-missing-license (declares nothing; what it inherits is unknown), lineage-unknown-ancestor,
lineage-cycle (a cycle or a chain too deep to follow), lineage-name-prefix, lineage-license-history (an
ancestor's license changed and the model's date does not say which side of the change it falls on),
lineage-same-licensor (an ancestor's terms stopped at a descendant its own licensor relicensed) and
license-text-not-shipped (a named license whose linked text is absent, corroborated by a declared ancestor or
by the registry's record of the repo). Each reads a `LineageCase` (one model's facts, lineage, effective license
and inheritance) and returns its Evidence; `lineage_evidence` runs them all, in the order of CHECKS.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from audit.lineage.confidence import weak, what
from audit.lineage.inherit import (
    Inheritance,
    acknowledged,
    declares_license,
    inherit,
    license_change,
    parents,
    repo_id_of,
    rests_on_inference,
    strong_lineage,
)
from audit.lineage.names import published_name
from audit.model import Ancestor, Effective, Evidence, LicenseFacts, Lineage, ModelCard, Origin, SourceKind, Status
from audit.registry import load_registry


@dataclass(frozen=True, slots=True)
class LineageCase:
    """What the lineage checks read about one model."""

    subject: str
    card: ModelCard | None
    facts: LicenseFacts
    lineage: Lineage
    effective: Effective
    inheritance: Inheritance

    @property
    def own_origins(self) -> tuple[Origin, ...]:
        """Where the model declares its own license (else its card)."""
        return tuple(d.origin for d in self.facts.declarations
                     if d.kind in ("front-matter", "license-name", "license-link", "license-link-missing")
                     ) or ((self.card.origin,) if self.card else ())


def lineage_evidence(subject: str, card: ModelCard | None, facts: LicenseFacts, lineage: Lineage,
                     effective: Effective, inheritance: Inheritance | None = None) -> list[Evidence]:
    """Evidence of every lineage check. `inheritance` is inherit()'s answer for the same model (the one
    effective_license used), when the caller has it."""
    inh = inheritance if inheritance is not None else inherit(subject, facts, lineage)
    if inh.possible:  # the weak bases set aside are reported as possible bases only
        lineage = strong_lineage(subject, lineage)[0]
    case = LineageCase(subject, card, facts, lineage, effective, inh)
    return [e for check in CHECKS for e in check(case)]


# (the lineage check, the license check it settles for the same subject)
_SETTLES = (("license-undeclared-derivative", "license-unknown"), ("license-text-not-shipped", "license-text-missing"))


def settle(evidence: list[Evidence]) -> list[Evidence]:
    """Lineage answers two license questions the card alone leaves open. A derivative that declares nothing while
    its inherited license is known is license-undeclared-derivative, not license-unknown (which only said "nothing
    declared"); a license named by the card whose linked text is absent, when a declared ancestor or the
    registry's record of the repo carries that very license, is license-text-not-shipped, not license-text-missing
    (still unread and failing closed, but corroborated: a policy may lower the one and not the other)."""
    settled = {(e.subject, drop) for e in evidence for check, drop in _SETTLES if e.check == check}
    if not settled:
        return evidence
    return [e for e in evidence if (e.subject, e.check) not in settled]


def conflict_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-conflict: the declared license drops terms an ancestor imposes on derivatives."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    inh = case.inheritance
    by = {a.subject: a for a in case.lineage.ancestors}
    out = []
    for key, src in inh.conflicts:
        anc = by.get(src)
        lic = cat.get(key)
        change = license_change(anc.license) if anc is not None else None
        hist = f" ({change})" if change is not None else ""
        msg = (f"declares {', '.join(inh.own)} but descends from {src}, whose {lic.name if lic else key} [{key}] "
               f"may not be dropped by a derivative{hist}")
        if key in acknowledged(case.facts) and key not in inh.own:
            msg += f"; the card acknowledges {key} elsewhere, but its declared license metadata says {', '.join(inh.own)}"
        if inh.superseded:
            msg += f"; {', '.join(inh.superseded)} cannot replace it, so {key} governs the model"
        out.append(Evidence("lineage-conflict", case.subject, msg,
                            case.own_origins + (anc.evidence if anc else ()),
                            inferred=rests_on_inference(case.lineage, case.subject, src),
                            data={"ancestor": src, "ancestor_key": key, "own": list(inh.own),
                                  "superseded": list(inh.superseded),
                                  "confidence": anc.confidence if anc else None}))
    return out


def missing_license_evidence(case: LineageCase) -> list[Evidence]:
    """The model declares no license. license-undeclared-derivative when what it inherits is known (the
    ancestors' terms govern it, but its own changes carry no license at all); lineage-missing-license when
    that is unknown too."""
    inh, lineage, card = case.inheritance, case.lineage, case.card
    if inh.declared or inh.own or not lineage.ancestors:
        return []
    keys = ", ".join(case.effective.keys)
    direct = [a for a in lineage.ancestors if a.depth == 1]
    origins = ((card.field_origin("license"),) if card else ()) + tuple(o for a in direct for o in a.evidence[:1])
    inferred = any(a.inferred for a in direct)
    if direct and all(a.inferred and weak(a.confidence) for a in direct):
        said = "; ".join(f"{_possible_base(a)}, confidence {a.confidence:.1f}" for a in direct)
        # a guess from an architecture tag or a name alone does not make the license known: license-unknown stands
        # (fail closed); the guess is reported, as a possible base, beside it
        return [Evidence("lineage-possible-base", case.subject,
                         f"declares no license; weak evidence alone suggests a base ({said}), which "
                         f"does not make its license known", origins + tuple(o for a in direct for o in a.evidence[1:2]),
                         inferred=True,
                         data={"possible": [a.subject for a in direct], "effective": list(case.effective.keys)})]
    if case.effective.keys:
        via = ", ".join(dict.fromkeys(v for v in case.effective.sources.values()))
        return [Evidence("license-undeclared-derivative", case.subject,
                         f"declares no license of its own; it derives from {via}, whose terms govern it ({keys}), "
                         f"but its own changes (fine-tuning, merging, adapters) are not licensed to you by anyone",
                         origins, inferred=inferred, data={"effective": list(case.effective.keys)})]
    return [Evidence("lineage-missing-license", case.subject,
                     "declares no license, and its ancestors' licenses are unknown", origins,
                     unknown=True, inferred=inferred, data={"effective": []})]


def history_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-license-history: an ancestor's license changed, and the model's date (Hub createdAt, last commit,
    the dates its card mentions) does not say whether it was made before or after: the finding names the
    date that decides it and what each side means for this model. The current license counts meanwhile."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    own = set(case.inheritance.own)
    out = []
    for a in case.lineage.ancestors:
        for ch in a.history:
            if ch.from_key is None or ch.from_key in own:
                continue
            old = cat.get(ch.from_key)
            before = f"{old.name} [{ch.from_key}]" if old else ch.from_key
            clash = bool(own) and (old is None or not old.relicense) and not _layered_all(own)
            msg = (f"ancestor {a.subject} changed its license {ch.when()} from {before} to "
                   f"{ch.to_key}; this model's date is undecided ({a.subject_date or 'unknown'}). Made before "
                   f"the change, it is governed by {ch.from_key}"
                   + (f", which its declared {', '.join(sorted(own))} may not drop (a conflict)" if clash else "")
                   + f"; made after, by {ch.to_key}. Establish when it was made (the Hub's createdAt or first commit)")
            out.append(Evidence("lineage-license-history", case.subject, msg, case.own_origins + a.evidence[:2],
                                inferred=rests_on_inference(case.lineage, case.subject, a.subject),
                                data={"ancestor": a.subject, "date": ch.date, "from": ch.from_key, "to": ch.to_key,
                                      "own": sorted(own), "conflict_if_before": clash, "dating": a.subject_date}))
    return out


def same_licensor_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-same-licensor: an ancestor's terms stop at a descendant its own licensor released under other
    terms (see audit.lineage.inherit, same-licensor relicensing): the evidence of a conflict that is not one."""
    from audit.lineage.inherit import licensor

    by = {a.subject.lower(): a for a in case.lineage.ancestors}
    out = []
    for descendant, src, key in case.inheritance.relicensed:
        anc = by.get(src.lower())
        org = licensor(descendant) or "?"
        out.append(Evidence("lineage-same-licensor", case.subject,
                            f"{src}'s {key} does not pass down through {descendant}: both are released by {org}, "
                            f"and a licensor may relicense its own model (the Hub org publishing both repos)",
                            (anc.evidence[:1] if anc else ()) + case.own_origins[:1],
                            data={"descendant": descendant, "ancestor": src, "key": key, "licensor": org}))
    return out


def _possible_base(a: Ancestor) -> str:
    """'X (keys) because <why>': a weakly inferred base, as both lineage-possible-base findings name it."""
    keys = ", ".join(a.license.keys) if a.license is not None and a.license.keys else "unknown"
    return f"{a.subject} ({keys}) because {a.note or (what(a.via) if a.via else 'inferred')}"


def possible_base_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-possible-base: a weak inferred base (data/confidence.yaml) set aside because the model declares a
    license of its own: "possible base: X because ...", with where the evidence is and its confidence."""
    out = []
    for a in case.inheritance.possible:
        where = ", ".join(str(o) for o in a.evidence[:2]) or "the card"
        out.append(Evidence("lineage-possible-base", case.subject,
                            f"possible base: {_possible_base(a)} ({where}; confidence "
                            f"{a.confidence:.1f}); not applied: the model declares {', '.join(case.inheritance.own) or 'a license'}"
                            " and this evidence is too weak to contradict it", a.evidence, inferred=True,
                            data={"ancestor": a.subject, "keys": list(a.license.keys) if a.license else [],
                                  "confidence": a.confidence, "via": a.via}))
    return out


def _layered_all(own: set[str]) -> bool:
    from audit.lineage.inherit import layered_license

    return all(layered_license(k) for k in own)


def unknown_ancestor_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-unknown-ancestor: an ancestor could not be found, or its license could not be determined."""
    out = []
    for a in case.lineage.ancestors:
        if a.problem == "cycle":
            continue
        unknown_license = a.license is None or not a.license.keys or a.license.status is Status.UNKNOWN
        if a.license is not None and not a.license.keys and not declares_license(a.license) and \
                any(p.license is not None and p.license.keys for p in parents(case.lineage, a.subject)):
            unknown_license = False  # declares nothing but its own bases are known: they govern it
        if not unknown_license:
            continue
        why = a.problem or (a.license.reason if a.license is not None else None) or "its license is unknown"
        what = "could not be found" if a.license is None else "has no license we could determine"
        out.append(Evidence("lineage-unknown-ancestor", case.subject,
                            f"ancestor {a.subject} (base of {a.parent}) {what}: {why}",
                            a.evidence, unknown=True, inferred=a.inferred,
                            data={"ancestor": a.subject, "depth": a.depth, "problem": a.problem}))
    return out


def cycle_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-cycle: the chain of bases loops back on itself, or is too deep to follow."""
    return [Evidence("lineage-cycle", case.subject, p.message, (p.origin,), unknown=True)
            for p in case.lineage.problems if p.code in ("lineage-cycle", "lineage-depth")]


def name_prefix_evidence(case: LineageCase) -> list[Evidence]:
    """lineage-name-prefix: the model's name does not start with the prefix a license requires of derivatives."""
    from audit.licenses.catalog import catalog

    name = published_name(case.subject, case.card)
    if not case.lineage.ancestors or not name:
        return []
    cat = catalog()
    out = []
    for key in case.effective.keys:
        lic = cat.get(key)
        term = lic.term("name-prefix") if lic else None
        if lic is None or term is None:
            continue
        prefix = str(term.params.get("prefix") or "").strip()
        if not prefix or _name_starts_with(name, prefix):
            continue
        src = case.effective.sources.get(key, case.subject)
        inherited = src != case.subject
        out.append(Evidence("lineage-name-prefix", case.subject,
                            f"the name {name!r} does not start with {prefix!r}, which the {lic.name} [{key}] "
                            f"requires of derivatives" + (f" (inherited from {src})" if inherited else ""),
                            case.own_origins,
                            inferred=rests_on_inference(case.lineage, case.subject, src) if inherited else False,
                            data={"name": name, "prefix": prefix, "key": key}))
    return out


def text_not_shipped_evidence(case: LineageCase) -> list[Evidence]:
    """license-text-not-shipped: the card names a license and links its text, the snapshot does not hold that
    text, and a second source carries the very license the card names: an ancestor the card declares (not one
    inferred), or mlaudit's registry record of the repo itself (by its repo id, never by a title), now or before
    a change of license."""
    missing = [d for d in case.facts.declarations if d.kind == "license-link-missing"]
    named = set(case.facts.keys)
    if not missing or not named or case.facts.status is Status.UNKNOWN:
        return []
    corroborated = _ancestor_carrying(case, named) or _registry_recording(case, named)
    if corroborated is None:
        return []
    source, says, origins = corroborated
    d = missing[0]
    return [Evidence("license-text-not-shipped", case.subject,
                     f"license_link {d.note}; the license the card names ({', '.join(sorted(named))}) is the one "
                     f"{says}, but the text the card points at was not read or compared (and copies of the model must "
                     "carry it)", (d.origin,) + origins, unknown=True, data={"source": source, "keys": sorted(named)})]


def _ancestor_carrying(case: LineageCase, named: set[str]) -> tuple[str, str, tuple[Origin, ...]] | None:
    """(ancestor, what it says, evidence) for the first ancestor the card declares that carries every named key."""
    for a in case.lineage.ancestors:
        if a.license is not None and named <= set(a.license.keys) and not a.inferred \
                and not rests_on_inference(case.lineage, case.subject, a.subject):
            return a.subject, f"its declared ancestor {a.subject} carries", a.evidence
    return None


def _registry_recording(case: LineageCase, named: set[str]) -> tuple[str, str, tuple[Origin, ...]] | None:
    """(repo id, what it says, evidence) when the registry records the named keys for the repo itself."""
    rid = repo_id_of(case.subject)
    entry = load_registry().model(rid) if rid else None
    if entry is None or not named <= {entry.key, *(c.from_key for c in entry.history)}:
        return None
    when = "" if named <= {entry.key} else f" before its license changed to {entry.key}"
    return entry.id, f"mlaudit's registry records for {entry.id}{when}", \
        (Origin(SourceKind.REGISTRY, entry.id, file=entry.source_file, line=entry.source_line),)


# the lineage checks, in the order their evidence is reported
CHECKS: tuple[Callable[[LineageCase], list[Evidence]], ...] = (
    conflict_evidence, missing_license_evidence, unknown_ancestor_evidence, cycle_evidence, name_prefix_evidence,
    history_evidence, same_licensor_evidence, possible_base_evidence, text_not_shipped_evidence)


def _words(s: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", s.strip().lower())


def _name_starts_with(name: str, prefix: str) -> bool:
    return _words(name).startswith(_words(prefix))
