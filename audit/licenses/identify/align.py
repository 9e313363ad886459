"""Alignment of the input against the references: which references explain which regions of the input."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from audit.licenses.identify.data import Data, Ref
from audit.licenses.identify.tokens import NGRAM

MAX_RESULTS = 8  # licenses reported per text


@dataclass
class Match:
    ref: Ref
    ri: int  # index of the reference in Data.refs
    blocks: list[tuple[int, int, int]]  # (input token, reference token, length in tokens)
    q_start: int  # region of the input, token range [q_start, q_end)
    q_end: int
    cov_q: int  # input tokens inside the region that the reference explains
    cov_r: int  # reference tokens found in the input
    ref_len: int  # reference tokens that count (optional parts found, or not, excluded when absent)
    score: float = 0.0
    alternatives: list[Ref] = field(default_factory=list)  # other references that share much of the input

    @property
    def region_len(self) -> int:
        return self.q_end - self.q_start

    @property
    def dice(self) -> float:
        return (self.cov_q + self.cov_r) / max(1, self.region_len + self.ref_len)


def _optional_missing(ref: Ref, covered: bytearray) -> int:
    return sum(covered[a:b].count(0) for a, b in ref.optional)


def _in_optional(ref: Ref, a: int, b: int) -> int:
    """How many of reference tokens [a, b) fall in its optional parts."""
    n = 0
    for oa, ob in ref.optional:
        lo, hi = max(a, oa), min(b, ob)
        if hi > lo:
            n += hi - lo
    return n


def _runs(qgrams: list[int], ref: Ref) -> list[tuple[int, int, int]]:
    """Maximal diagonal runs (input gram, reference gram, length) of equal 5-gram hashes."""
    pos = ref.positions()
    runs: list[tuple[int, int, int]] = []
    si = sp = li = lp = -2  # start and last (input, reference) positions of the current run
    for i, p in enumerate(map(pos.get, qgrams)):
        if p is None:
            continue
        if type(p) is tuple:  # a 5-gram the reference repeats: continue the run if one of them does
            p = lp + 1 if (i == li + 1 and lp + 1 in p) else p[0]
        if i == li + 1 and p == lp + 1:
            li, lp = i, p
            continue
        if si >= 0:
            runs.append((si, sp, li - si + 1))
        si, sp, li, lp = i, p, i, p
    if si >= 0:
        runs.append((si, sp, li - si + 1))
    return runs


def _chain(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Longest runs first, each kept when it keeps the alignment monotone (like difflib, in n log n)."""
    from bisect import bisect_left

    chosen: list[tuple[int, int, int]] = []
    starts: list[int] = []
    for q, r, n in sorted(runs, key=lambda x: (-x[2], x[0], x[1])):
        i = bisect_left(starts, q)
        if i > 0:
            pq, pr, pn = chosen[i - 1]
            if pq + pn > q or pr + pn > r:
                continue
        if i < len(chosen):
            sq, sr, _ = chosen[i]
            if q + n > sq or r + n > sr:
                continue
        chosen.insert(i, (q, r, n))
        starts.insert(i, q)
    return chosen


def _align(qgrams: list[int], ntok_q: int, ref: Ref, ri: int) -> Match | None:
    chain = _chain(_runs(qgrams, ref))
    if not chain:
        return None
    # grams -> token blocks; a run of n matching grams covers n + 4 tokens
    blocks = [(q, r, n + NGRAM - 1) for q, r, n in chain]
    # chance matches of a common 5-gram far from the body of the match would stretch the region
    anchored = [b for b in blocks if b[2] >= 12]
    if anchored:
        blocks = [
            b
            for b in blocks
            if b[2] >= 12 or any(abs(b[0] - a[0]) < 60 or abs(b[0] - (a[0] + a[2])) < 60 for a in anchored)
        ]
    qcov = bytearray(ntok_q)
    rcov = bytearray(ref.ntok)
    for qa, ra, n in blocks:
        qcov[qa : qa + n] = b"\x01" * n
        rcov[ra : ra + n] = b"\x01" * n
    q_start = blocks[0][0]
    q_end = max(qa + n for qa, _, n in blocks)
    cov_q = qcov[q_start:q_end].count(1)
    cov_r = rcov.count(1)
    ref_len = ref.ntok - _optional_missing(ref, rcov)
    match = Match(ref, ri, blocks, q_start, q_end, cov_q, cov_r, ref_len)
    # what the reference explains, less what is extra in the region and a little for what is missing
    match.score = cov_r - (match.region_len - cov_q) - 0.25 * (ref_len - cov_r)
    return match


@dataclass
class Gap:
    q: tuple[int, int]  # input tokens [a, b) not in the reference
    r: tuple[int, int]  # reference tokens [a, b) not in the input


def find_gaps(match: Match) -> tuple[list[Gap], int, int]:
    """Internal differences, and reference tokens missing before the first / after the last match."""
    gaps: list[Gap] = []
    blocks = match.blocks
    for (qa, ra, n), (qb, rb, _) in pairwise(blocks):
        q0, r0 = qa + n, ra + n
        dq, dr = max(0, qb - q0), max(0, rb - r0)
        if dq or dr:
            gaps.append(Gap((q0, q0 + dq), (r0, r0 + dr)))
    ref = match.ref
    lead = blocks[0][1]
    lead -= _in_optional(ref, 0, lead)
    tail_start = max(ra + n for _, ra, n in blocks)
    tail = ref.ntok - tail_start - _in_optional(ref, tail_start, ref.ntok)
    return gaps, lead, tail


def find_regions(data: Data, qgrams: list[int], ntok: int) -> list[Match]:
    """Greedy: take the best-explained license, mask its region, look again for another one."""
    chosen: list[Match] = []
    masked = list(qgrams)
    refs = data.refs

    for _ in range(MAX_RESULTS):
        uniq = set(masked)
        uniq.discard(-1)
        vals = Counter(map(data.postings.get, uniq))
        counts: dict[int, int] = {}
        for v, c in vals.items():
            if v is None:
                continue  # a 5-gram no reference has
            for r in (v,) if v >= 0 else data.groups[-v - 1]:
                counts[r] = counts.get(r, 0) + c
        qn = max(1, len(uniq))
        cands = []
        for ri, hits in counts.items():
            ngr = max(1, len(refs[ri].gramset))
            need = max(min(8, 0.5 * ngr), 0.06 * ngr)
            if hits >= need:
                # 5-gram Dice over the whole input: cheap, and enough to rank near-duplicates
                cands.append((2 * hits / (qn + ngr), hits, ri))
        if not cands:
            break
        cands.sort(key=lambda c: (-c[0], -c[1], c[2]))
        top = cands[0][0]
        aligned = []
        # the input's 5-grams are exactly one reference's: nothing can explain it better
        near = [c for c in cands[:3] if c[0] >= top - 0.1] if top < 0.999 else cands[:1]
        for _, _, ri in near:
            m = _align(masked, ntok, refs[ri], ri)
            if m is not None and _acceptable(m, first=not chosen):
                aligned.append(m)
        if not aligned:
            break
        aligned.sort(key=lambda m: (-m.score, -m.cov_r, m.ri))
        best = aligned[0]
        best.alternatives = [refs[ri] for gd, _, ri in cands[:12] if ri != best.ri and gd >= 0.75 * top]
        chosen.append(best)
        lo, hi = max(0, best.q_start - NGRAM + 1), min(len(masked), best.q_end)
        masked[lo:hi] = [-1] * max(0, hi - lo)
    return chosen


def _acceptable(m: Match, first: bool) -> bool:
    """Enough of a reference, found densely enough, to call it that license (or a paraphrase of it)."""
    if m.cov_r < min(20, 0.8 * m.ref.ntok):
        return False
    found = m.cov_r / max(1, m.ref_len)
    dense = m.cov_q / max(1, m.region_len)
    if first:
        return (found >= 0.1 or m.cov_r >= 150) and dense >= 0.2
    return (found >= 0.3 or m.cov_r >= 200) and dense >= 0.5
