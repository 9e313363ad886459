"""The lineage graph, assembled and closed on the driver (no distributed join): per model, the effective
license along its chain, the conflicts with what its ancestors pass down, its depth, unknown bases, cycles.

Scale: a Hub dump has ~2M models but only a few hundred distinct license signatures (own keys, keys the card
acknowledges, whether it declares a license). Models are integers, bases a CSR array, effective licenses
interned tuples; the inheritance rule runs once per distinct (signature, parents' effective licenses) pair,
through audit.lineage.inherit itself, so the index and `check` apply the same rule.
The walk is an iterative depth-first post-order; a base already on the current path closes a cycle: that edge
is ignored and the model flagged.

Inferred bases (rows.py, picked in build.py) are edges like declared ones, except a weak one (confidence below
data/confidence.yaml's weak_below, audit.lineage.confidence.weak): as in `check` (inherit.strong_lineage), a
model that declares a license of its own is not governed by its weak inferred ancestors nor by anything reached
only through them. So each model carries two effective licenses: over every edge (what a descendant that
declares nothing takes through it) and over the strong edges only (what a descendant that declares a license
takes through it); its own answer is the second when it declares a license, else the first. Without any weak
edge in the graph both are the same and the second is not computed.
"""
from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.lineage.inherit import effective_license, inherit
from audit.model import Ancestor, Declaration, LicenseFacts, Lineage, Origin, SourceKind, Status

Signature = tuple[tuple[str, ...], tuple[str, ...], bool]  # (own keys, acknowledged keys, declares a license)
_ORIGIN = Origin(SourceKind.INDEX, "closure")


@dataclass
class Graph:
    """Models as integers: names, license signature ids, and bases in CSR form (offsets, flat)."""

    names: list[str] = field(default_factory=list)
    sigs: array = field(default_factory=lambda: array("l"))
    offsets: array = field(default_factory=lambda: array("l", [0]))
    flat: array = field(default_factory=lambda: array("l"))
    weak: bytearray = field(default_factory=bytearray)  # per edge (parallel to flat): a weak inferred base
    # a base is not in the graph (a weak inferred one counts only for a model that declares no license)
    unknown: bytearray = field(default_factory=bytearray)
    signatures: list[Signature] = field(default_factory=list)


Base = str | tuple[str, bool]  # a base id (declared or strong), or (id, weak)


def build_graph(rows: Iterable[tuple[str, Signature, Sequence[Base]]]) -> Graph:
    """(model id, signature, bases) per model -> a Graph. Bases not among the models are counted unknown."""
    g = Graph()
    index: dict[str, int] = {}
    sig_ids: dict[Signature, int] = {}
    pending: list[Sequence[Base]] = []
    declares = bytearray()
    for name, sig, bases in rows:
        key = name.lower()
        if key in index:
            continue
        index[key] = len(g.names)
        g.names.append(name)
        sid = sig_ids.get(sig)
        if sid is None:
            sid = sig_ids[sig] = len(g.signatures)
            g.signatures.append(sig)
        g.sigs.append(sid)
        pending.append(bases)
        declares.append(sig[2])
    g.unknown = bytearray(len(g.names))
    for i, bases in enumerate(pending):
        for b in bases:
            bid, weak = (b, False) if isinstance(b, str) else b
            j = index.get(bid.lower())
            if j is None:
                if not (weak and declares[i]):
                    g.unknown[i] = 1
            elif j != i:
                g.flat.append(j)
                g.weak.append(weak)
        g.offsets.append(len(g.flat))
    return g


@dataclass
class Closure:
    effective: list[tuple[str, ...]]  # interned effective-key tuples
    eff: array  # model -> index into effective
    conflicts: dict[int, list[tuple[str, str]]]  # model -> [(inherited key, ancestor it comes from)]
    depth: array
    chain_unknown: bytearray  # the model or an ancestor has a base that is not in the graph
    cycle: bytearray
    chain_conflict: bytearray  # the model or an ancestor drops terms its bases pass down


def close(g: Graph) -> Closure:
    """Every model's effective license, conflicts, depth; bases before derivatives (see the module doc)."""
    n = len(g.names)
    state = bytearray(n)  # 0 new, 1 on the current path, 2 done
    eff = array("l", bytes(array("l").itemsize * n))
    depth = array("l", bytes(array("l").itemsize * n))
    chain_unknown = bytearray(g.unknown)
    cycle = bytearray(n)
    chain_conflict = bytearray(n)
    effective: list[tuple[str, ...]] = [()]
    eff_ids: dict[tuple[str, ...], int] = {(): 0}
    memo: dict[tuple[int, tuple[int, ...]], tuple[int, tuple[str, ...]]] = {}
    conflicted: dict[int, tuple[str, ...]] = {}
    offsets, flat, sigs = g.offsets, g.flat, g.sigs
    two_tracks = any(g.weak)
    # full: over every edge; strong: over strong edges only (see the module doc); eff: the model's own answer
    full = array("l", eff) if two_tracks else eff
    strong = array("l", eff) if two_tracks else eff

    def finish(i: int) -> None:
        """Model i once every base is done (a base still on the path closes a cycle and is left out)."""
        lo, hi = offsets[i], offsets[i + 1]
        pe: tuple[int, ...] = ()
        if hi - lo == 1:  # the common case, without the general path's allocations
            p = flat[lo]
            if state[p] == 2:
                pe = (eff[p],)
                depth[i] = depth[p] + 1
                chain_unknown[i] |= chain_unknown[p]
                chain_conflict[i] = chain_conflict[p]
        elif hi > lo:
            done = [flat[k] for k in range(lo, hi) if state[flat[k]] == 2]
            if done:
                pe = tuple(sorted({eff[p] for p in done}))
                depth[i] = 1 + max(depth[p] for p in done)
                chain_unknown[i] |= max(chain_unknown[p] for p in done)
                chain_conflict[i] = max(chain_conflict[p] for p in done)
        state[i] = 2
        key = (sigs[i], pe)
        hit = memo.get(key) or _memoize(g, key, effective, eff_ids, memo)
        eff[i] = hit[0]
        if hit[1]:
            conflicted[i] = hit[1]
            chain_conflict[i] = 1

    step = finish if not two_tracks else _finish_two(
        g, state, (full, strong, eff), depth, chain_unknown, chain_conflict, (effective, eff_ids, memo), conflicted)

    def walk(start: int) -> None:
        """Depth-first post-order from `start`: bases finish before their derivatives."""
        stack = [start]
        while stack:
            i = stack[-1]
            if state[i] == 2:
                stack.pop()
            elif state[i] == 0:
                state[i] = 1
                for k in range(offsets[i], offsets[i + 1]):
                    p = flat[k]
                    if state[p] == 0:
                        stack.append(p)
                    elif state[p] == 1:
                        cycle[i] = 1
            else:
                stack.pop()
                step(i)

    for start in range(n):
        if state[start]:
            continue
        for k in range(offsets[start], offsets[start + 1]):
            if state[flat[k]] != 2:
                walk(start)
                break
        else:
            step(start)  # every base is done already (a dump lists most bases first)
    conflicts = {i: [(k, _origin_of(g, eff, effective, i, k)) for k in keys] for i, keys in conflicted.items()}
    return Closure(effective, eff, conflicts, depth, chain_unknown, cycle, chain_conflict)


def _finish_two(g: Graph, state: bytearray, tracks: tuple[array, array, array], depth: array,
                chain_unknown: bytearray, chain_conflict: bytearray, interned: tuple[Any, Any, Any],
                conflicted: dict[int, tuple[str, ...]]) -> Callable[[int], None]:
    """close()'s finish step when the graph has weak edges: both tracks (full, strong), and the model's own
    answer (eff) from the one it uses: strong when it declares a license, full when not."""
    full, strong, eff = tracks
    effective, eff_ids, memo = interned
    offsets, flat, sigs, weak = g.offsets, g.flat, g.sigs, g.weak
    declares = [sig[2] for sig in g.signatures]

    def finish_two(i: int) -> None:
        declared = declares[sigs[i]]
        done = [(flat[k], weak[k]) for k in range(offsets[i], offsets[i + 1]) if state[flat[k]] == 2]
        used = [p for p, w in done if not (w and declared)]  # the edges its own answer rests on
        if used:
            depth[i] = 1 + max(depth[p] for p in used)
            chain_unknown[i] |= max(chain_unknown[p] for p in used)
            chain_conflict[i] = max(chain_conflict[p] for p in used)
        state[i] = 2
        key_full = (sigs[i], tuple(sorted({full[p] for p, _ in done})))
        key_strong = (sigs[i], tuple(sorted({strong[p] for p, w in done if not w})))
        hit_full = memo.get(key_full) or _memoize(g, key_full, effective, eff_ids, memo)
        hit_strong = memo.get(key_strong) or _memoize(g, key_strong, effective, eff_ids, memo)
        full[i], strong[i] = hit_full[0], hit_strong[0]
        hit = hit_strong if declared else hit_full
        eff[i] = hit[0]
        if hit[1]:
            conflicted[i] = hit[1]
            chain_conflict[i] = 1

    return finish_two


def _memoize(g: Graph, key: tuple[int, tuple[int, ...]], effective: list[tuple[str, ...]],
             eff_ids: dict[tuple[str, ...], int], memo: dict[tuple[int, tuple[int, ...]], tuple[int, tuple[str, ...]]]
             ) -> tuple[int, tuple[str, ...]]:
    """(effective-license id, conflicting keys) for (signature id, bases' effective-license ids), computed once."""
    keys, bad = _combine(g.signatures[key[0]], [effective[e] for e in key[1]])
    eid = eff_ids.get(keys)
    if eid is None:
        eid = eff_ids[keys] = len(effective)
        effective.append(keys)
    memo[key] = (eid, bad)
    return eid, bad


def _combine(sig: Signature, parents: list[tuple[str, ...]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(effective keys, conflicting inherited keys) of a model with this signature and these bases' licenses,
    by the rule `check` applies (audit.lineage.inherit)."""
    own, ack, declared = sig
    decls = (Declaration("front-matter", "index", ack, _ORIGIN),) if declared else ()
    facts = LicenseFacts(decls, None, own, Status.RESOLVED if own else Status.UNKNOWN)
    ancestors = tuple(
        Ancestor(f"p{j}", "s", "finetune", 1,
                 LicenseFacts((Declaration("front-matter", "index", keys, _ORIGIN),) if keys else (), None, keys,
                              Status.RESOLVED if keys else Status.UNKNOWN), "index")
        for j, keys in enumerate(parents))
    lineage = Lineage("s", None, ancestors)
    inh = inherit("s", facts, lineage)
    eff = effective_license("s", facts, lineage, inh)
    return tuple(eff.keys), tuple(dict.fromkeys(k for k, _ in inh.conflicts))


def _origin_of(g: Graph, eff: array, effective: list[tuple[str, ...]], i: int, key: str) -> str:
    """The ancestor of model i whose own license is `key` (up the first base that carries it)."""
    cur = i
    for _ in range(len(g.names)):
        nxt = None
        for k in range(g.offsets[cur], g.offsets[cur + 1]):
            p = g.flat[k]
            if key in effective[eff[p]]:
                nxt = p
                break
        if nxt is None:
            return g.names[cur]
        if key in g.signatures[g.sigs[nxt]][0]:
            return g.names[nxt]
        cur = nxt
    return g.names[cur]
