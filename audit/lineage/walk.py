"""The graph walk: the subject's bases, then theirs, breadth first, with cycle and depth guards.

Each ancestor carries its license as the subject's date sees it (a registry entry whose license changed
over time counts with the license a derivative of that date took).
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from audit.lineage.candidates import Candidate, find_bases
from audit.lineage.dates import Dating, dating, side
from audit.lineage.inherit import registry_facts, repo_id_of
from audit.lineage.relation import infer_relation
from audit.lineage.resolver import Node, Resolver
from audit.model import (
    Ancestor,
    LicenseChange,
    LicenseFacts,
    Lineage,
    ModelCard,
    Origin,
    Problem,
    Relation,
    Snapshot,
    SourceKind,
)

T = TypeVar("T")
Found = tuple[list[Candidate], list[list[Candidate]]]  # find_bases' answer: (declared, inferred tiers)
# one step of the walk: (candidate, parent id, depth, relation of parent to candidate, path of ids to here)
_Step = tuple[Candidate, str, int, Relation, tuple[str, ...]]


def resolve_lineage(subject: str, card: ModelCard | None, facts: LicenseFacts, snapshot: Snapshot | None,
                    resolver: Resolver, found: Found | None = None) -> Lineage:
    """The subject's ancestors, breadth first, each with its license as the subject's date sees it.
    `found` is find_bases()'s answer when the caller already has it."""
    declared, tiers = found or find_bases(subject, card, snapshot, resolver)
    bases = resolver.choose_bases(subject, card, snapshot, declared, tiers)
    relation, _, _ = infer_relation(card, snapshot, len(declared) or len(bases), subject, declared=bool(declared))
    since = _once(lambda: dating(card, snapshot))  # scanning a card for dates is costly; rarely needed
    ancestors: list[Ancestor] = []
    problems: list[Problem] = []
    origin = card.origin if card is not None else (
        snapshot.origin if snapshot is not None else Origin(SourceKind.LOCAL, subject))
    me = repo_id_of(subject)  # a snapshot directory org--name is the repo org/name: a chain back to it is a cycle
    start = (subject.lower(),) + ((me.lower(),) if me and me.lower() != subject.lower() else ())
    level: list[_Step] = [(c, subject, 1, relation or Relation.UNKNOWN, start) for c in bases]
    while level:
        nodes = resolver.map_nodes([c.id for c, *_ in level])
        nxt: list[_Step] = []
        for (cand, parent, depth, rel, path), node in zip(level, nodes):
            key = cand.id.lower()
            if key in path and cand.inferred:
                continue  # an inferred edge that closes a cycle is dropped: the model's own chain has no cycle
            if key in path:
                msg = (f"{parent} names itself ({cand.id}) as its base: the model it was made from is not declared"
                       if depth == 1 else
                       f"{parent} names {cand.id} as its base, which is already in the chain {' -> '.join(path)}")
                problems.append(Problem("lineage-cycle", msg, _first(cand.evidence, origin)))
                ancestors.append(_ancestor(cand, parent, rel, depth, None, None, "cycle", since))
                continue
            ancestors.append(_ancestor(cand, parent, rel, depth, node, node.resolved_from, node.problem, since))
            if node.bases:
                if depth >= resolver.max_depth:
                    problems.append(Problem("lineage-depth", f"stopped after {resolver.max_depth} generations "
                                            f"at {cand.id}", _first(cand.evidence, origin)))
                    continue
                for b in node.bases:
                    if b.inferred and not any(o.file for o in b.evidence):
                        # a base guessed from a name alone: the name was read where this candidate was declared
                        b = replace(b, evidence=b.evidence + tuple(o for o in cand.evidence if o.file)[:1])
                    nxt.append((b, node.id, depth + 1, node.relation or Relation.UNKNOWN, path + (key,)))
        level = nxt
    return Lineage(subject, relation, tuple(_merge_duplicates(ancestors)), tuple(problems))


def resolve_many(items: Sequence[tuple[str, ModelCard | None, LicenseFacts, Snapshot | None]], resolver: Resolver
                 ) -> list[Lineage]:
    """Lineages of many models: every declared base is fetched first, concurrently, then each is resolved."""
    ids: list[str] = []
    found: list[Found] = []
    for subject, card, _facts, snap in items:
        declared, tiers = find_bases(subject, card, snap, resolver)
        found.append((declared, tiers))
        ids.extend(c.id for c in declared)
        if not declared and tiers:
            ids.extend(c.id for c in tiers[0])
    resolver.prefetch(ids)
    return [resolve_lineage(s, c, f, sn, resolver, fb) for (s, c, f, sn), fb in zip(items, found)]


def _first(origins: tuple[Origin, ...], default: Origin) -> Origin:
    return origins[0] if origins else default


def _once(fn: Callable[[], T]) -> Callable[[], T]:
    """A memoized thunk."""
    box: list[T] = []

    def get() -> T:
        if not box:
            box.append(fn())
        return box[0]

    return get


def _ancestor(cand: Candidate, parent: str, relation: Relation, depth: int, node: Node | None,
              resolved_from: str | None, problem: str | None, since: Callable[[], Dating]) -> Ancestor:
    """`since` is a thunk giving the subject's dating: only a registry entry with a license history needs it."""
    facts = None
    history: tuple[LicenseChange, ...] = ()
    when: str | None = None
    inferred = cand.inferred
    confidence = cand.confidence
    evidence = list(cand.evidence)
    if node is not None:
        facts, history = _dated_facts(node, since)
        if history:
            when = since().why
        if node.inferred:
            inferred = True
            confidence = min(confidence, node.confidence)
        if node.origin is not None and node.origin not in evidence:
            evidence.append(node.origin)
        if node.gated and problem is None and node.facts is None:
            problem = "gated"
    return Ancestor(subject=cand.id, parent=parent, relation=relation, depth=depth, license=facts,
                    resolved_from=resolved_from, inferred=inferred, confidence=round(confidence, 2),
                    evidence=tuple(evidence), problem=problem, via=cand.via,
                    # declared, but its license known only from its name (a re-upload's): the node says how
                    note=cand.note if cand.inferred else (node.note if node is not None and node.inferred else None),
                    history=history, subject_date=when)


def _dated_facts(node: Node, since: Callable[[], Dating]) -> tuple[LicenseFacts | None, tuple[LicenseChange, ...]]:
    """The node's license facts as the subject's date sees them (the registry's license history applied), and
    the changes that date does not decide (dates.side): for those the current license counts, and the change
    is reported on its own (lineage-license-history), not guessed."""
    facts = node.facts
    entry = node.entry
    if entry is None or not (node.resolved_from == SourceKind.REGISTRY or entry.history):
        return facts, ()
    note = None
    if node.inferred and entry.id.lower() != node.id.lower():
        note = f"inferred: {node.note or 'licensed like ' + entry.id}"
    undecided: list[LicenseChange] = []
    at: _dt.date | None = None
    if entry.history:
        d = since()
        at = _dt.date.max  # after every change: the current license
        for ch in entry.history:
            earliest, latest = ch.bounds()
            where = side(d, earliest, latest)
            if where == "before":
                at = d.exact or d.ceiling or earliest
            elif where is None and ch.from_key != ch.to_key:
                undecided.append(LicenseChange(ch.date, ch.from_key, ch.to_key, ch.source))
        if undecided:
            at = _dt.date.max
    reg = registry_facts(entry, at, note=note)
    if node.resolved_from == SourceKind.REGISTRY or facts is None:
        return reg, tuple(undecided)
    if reg.keys and set(reg.keys) - set(facts.keys):
        return replace(facts, declarations=facts.declarations + reg.declarations,
                       keys=tuple(dict.fromkeys(facts.keys + reg.keys)),
                       reason=f"{facts.reason or ''}; registry history: {reg.reason}".strip("; ")), tuple(undecided)
    return facts, tuple(undecided)


def _merge_duplicates(ancestors: list[Ancestor]) -> list[Ancestor]:
    """A diamond (two bases sharing an ancestor) lists the shared one once, at its shallowest depth."""
    seen: set[tuple[str, str]] = set()
    out = []
    for a in ancestors:
        k = (a.subject.lower(), a.parent.lower())
        if k in seen:
            continue
        seen.add(k)
        out.append(a)
    return out
