"""Reading an alignment: the verdict on the text (exact, modified, truncated), the key, version and
confidence, and the details that say why."""
from __future__ import annotations

from dataclasses import dataclass, field

from audit.licenses.identify.align import Gap, Match, find_gaps
from audit.licenses.identify.data import Data, Ref
from audit.licenses.identify.markers import Markers, base_key, find_markers, is_url, line_span, quote
from audit.licenses.identify.result import Identification
from audit.licenses.identify.tokens import NGRAM, Tokens


def _describe_gap(tokens: Tokens, match: Match, gap: Gap) -> str:
    ref = match.ref
    added = gap.q[1] - gap.q[0]
    removed = gap.r[1] - gap.r[0]
    where = line_span(tokens, gap.q[0], gap.q[1]) if added else line_span(tokens, max(0, gap.q[0] - 1), gap.q[0])
    section = ref.heading_at(gap.r[0])
    in_section = f" in section '{section}'" if section else ""
    if added and not removed:
        return f"added at {where}{in_section}: {quote(tokens.words, *gap.q)}"
    after = quote(tokens.words, max(match.q_start, gap.q[0] - 6), gap.q[0], 6)
    if removed and not added:
        return f"removed {removed} word(s) of the reference{in_section}, after {after} ({where})"
    return f"changed at {where}{in_section}: {removed} word(s) of the reference replaced by {quote(tokens.words, *gap.q)}"


def _benign(tokens: Tokens, gap: Gap) -> bool:
    """A link swapped for another link (a moved web page) does not change the terms."""
    q = tokens.words[gap.q[0] : gap.q[1]]
    r_len = gap.r[1] - gap.r[0]
    return len(q) == 1 and r_len == 1 and is_url(q[0])


@dataclass
class _Reading:
    """What the judge concludes about one aligned region; each step below refines it."""

    key: str | None
    version: str | None
    confidence: float
    verdict: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Differences:
    """How the input differs from the reference inside and around the aligned region."""

    changes: list[Gap]  # wording added, removed or replaced
    benign: list[Gap]  # a link swapped for another link
    lead_missing: int  # reference tokens missing before the first match
    tail_missing: int  # ... and after the last
    extra: list[tuple[int, int]]  # input token ranges around the license that belong to it
    header_note: str | None  # a short header before the license, ignored
    lead_start: int  # where the license's title may start


def judge_match(
    data: Data,
    tokens: Tokens,
    qgrams: list[int],
    m: Match,
    prev_end: int,
    next_start: int,
    license_like: bool,
    card: bool = False,
) -> Identification:
    diff = _differences(tokens, m, prev_end, next_start, license_like)
    reading, weak = _first_reading(m, diff)
    mk = find_markers(data, tokens.words, diff.lead_start, m.q_start + 80, m.q_end, m.ref.key)
    if weak:
        return _weak_match(data, tokens, m, reading.confidence, mk, card)
    reading.details.append(f"reference: {m.ref.id}")
    _weigh_names(data, m, mk, reading, len(tokens.words))
    # near-identical references: the 5-grams only one of them has decide (Llama 3.1 vs 3.3)
    if reading.key == m.ref.key:
        reading.version, reading.confidence, reading.verdict = _versions(
            data, qgrams, m, reading.details, reading.version, reading.confidence, reading.verdict
        )
    _explain(tokens, m, diff, mk, reading)
    return _ident(reading.key, reading.version, reading.confidence, reading.verdict, reading.details, tokens, m)


def _differences(tokens: Tokens, m: Match, prev_end: int, next_start: int, license_like: bool) -> _Differences:
    words = tokens.words
    gaps, lead_missing, tail_missing = find_gaps(m)
    # differences inside parts a copy may leave out (a preamble, an appendix) do not count
    gaps = [g for g in gaps if not _within_optional(m.ref, g)]
    changes = [g for g in gaps if not _benign(tokens, g)]
    benign = [g for g in gaps if _benign(tokens, g)]

    # text around the license in a license file belongs to it (a "modified MIT" appends a clause)
    extra: list[tuple[int, int]] = []
    header_note = None
    lead_start = m.q_start
    if m.q_start - prev_end > 0 and m.q_start - prev_end <= 60:
        lead_start = prev_end
    if license_like:
        if m.q_start - prev_end > 0:
            a, b = prev_end, m.q_start
            if b - a <= 12 and prev_end == 0:
                header_note = f"header ignored: {quote(words, a, b)}"
            elif b - a >= 4:
                extra.append((a, b))
        if next_start - m.q_end >= 4:
            extra.append((m.q_end, next_start))
    return _Differences(changes, benign, lead_missing, tail_missing, extra, header_note, lead_start)


def _first_reading(m: Match, diff: _Differences) -> tuple[_Reading, bool]:
    """Verdict and confidence from the alignment alone, and whether the match is too weak to name the text."""
    found = m.cov_r / max(1, m.ref_len)
    dense = m.cov_q / max(1, m.region_len)
    extra_words = sum(b - a for a, b in diff.extra)
    missing = diff.tail_missing + diff.lead_missing
    truncated = diff.tail_missing >= max(15, 0.04 * m.ref_len) or diff.lead_missing >= max(15, 0.04 * m.ref_len)

    if not diff.changes and not diff.extra and missing == 0:
        verdict = "exact"
    elif truncated and not diff.changes and not diff.extra:
        verdict = "truncated"
    else:
        verdict = "modified"

    # confidence in the key: how much of the reference is here and how little else
    if verdict == "exact":
        confidence = 1.0
    elif verdict == "truncated":
        confidence = min(0.95, 0.6 + 0.7 * min(found, 0.5)) if m.cov_r >= 60 else 0.5
    else:
        sim = (m.cov_q + m.cov_r) / max(1, m.region_len + m.ref_len + extra_words)
        if truncated:
            sim = max(sim, 0.5 * (dense + min(1.0, found * 2)))
        confidence = min(0.95, sim)
    weak = dense < 0.5 or (found < 0.3 and m.cov_r < 150)
    return _Reading(m.ref.key, m.ref.version, confidence, verdict), weak


def _weak_match(data: Data, tokens: Tokens, m: Match, confidence: float, mk: Markers, card: bool) -> Identification:
    """The wording matched only here and there: a paraphrase, a patchwork of borrowed clauses, or prose
    quoting a license. The wording does not identify it; a title may."""
    ref = m.ref
    found = m.cov_r / max(1, m.ref_len)
    closest = f"closest reference: {ref.key} ({found:.0%} of its wording, {ref.id})"
    if not card:
        if not (mk.title_other or mk.title_own):
            # the title, if any, is at the top of the text
            mk = find_markers(data, tokens.words, 0, 60, min(len(tokens.words), 60), ref.key)
        if mk.title_other or mk.title_own:
            key = mk.title_other or ref.key
            why = mk.title_other_phrase if mk.title_other else "its own title"
            details = [f"the title names {key} ('{why}') but the wording does not match: paraphrase or rewrite", closest]
            return _ident(key, None, min(confidence, 0.3), "modified", details, tokens, m)
    return _ident(None, None, 0.0, "unknown", ["the wording matches no known license", closest], tokens, m)


def _partial(m: Match, ntok: int) -> bool:
    """Only a part of the reference matched (a shared warranty disclaimer, one clause), and it is not most of the
    text: the wording cannot outweigh a title that names another license."""
    return m.cov_r < PARTIAL_SHARE * m.ref_len or m.region_len < PARTIAL_SHARE * ntok


PARTIAL_SHARE = 0.6


def _weigh_names(data: Data, m: Match, mk: Markers, r: _Reading, ntok: int) -> None:
    """A title or version name of another license inside the wording of this one lowers the confidence,
    or, for a license we hold no reference text for, names it. A title naming a catalogued license also wins
    over a match on a part of another license's wording (a disclaimer many licenses share is not MIT)."""
    ref = m.ref
    if mk.title_other and not mk.title_own:
        if mk.title_other not in {x.key for x in data.refs} or _partial(m, ntok):
            # e.g. a Qwen RESEARCH text: worded like Tongyi Qianwen RESEARCH, titled as a license we hold
            # no reference for; the title is the better evidence, the text cannot be checked
            why = ("for which there is no reference text" if mk.title_other not in {x.key for x in data.refs}
                   else f"and only {m.cov_r / max(1, m.ref_len):.0%} of {ref.key}'s wording is here")
            r.details.insert(
                0,
                f"the title names {mk.title_other} ('{mk.title_other_phrase}'), {why}; the wording is "
                f"{m.dice:.0%} like {ref.key}",
            )
            r.key, r.version = mk.title_other, None
            r.confidence = min(r.confidence, 0.6 if mk.title_other not in {x.key for x in data.refs} else 0.45)
            r.verdict = "modified"
        else:
            r.details.append(f"the title names {mk.title_other} ('{mk.title_other_phrase}') but the wording is {ref.key}'s")
            r.confidence = min(r.confidence, 0.45)
            if r.verdict == "exact":
                r.verdict = "modified"
    elif mk.name_other and mk.name_other_count >= 2 and mk.name_other_count > 2 * mk.name_own_count:
        r.details.append(
            f"names {mk.name_other} {mk.name_other_count} time(s) (and {base_key(ref.key)} {mk.name_own_count}) "
            f"but is worded like {ref.key}: another version, or one we hold no reference for"
        )
        r.confidence = min(r.confidence, 0.4)
        if r.verdict == "exact":
            r.verdict = "modified"


def _explain(tokens: Tokens, m: Match, diff: _Differences, mk: Markers, r: _Reading) -> None:
    """The details a reviewer reads: what changed where, what is missing, what was added around it."""
    words = tokens.words
    ref = m.ref
    details = r.details
    if r.verdict == "exact":
        details.insert(0, "matches the reference text")
    for g in diff.changes[:10]:
        details.append(_describe_gap(tokens, m, g))
    if len(diff.changes) > 10:
        details.append(f"... and {len(diff.changes) - 10} more changes")
    for g in diff.benign[:3]:
        details.append(f"link differs at {line_span(tokens, *g.q)}: {words[g.q[0]][2:]}")
    for a, b in diff.extra:
        where = "before" if b <= m.q_start else "after"
        details.append(f"added {where} the license text ({line_span(tokens, a, b)}): {quote(words, a, b)}")
    if diff.lead_missing:
        details.append(f"the first {diff.lead_missing} word(s) of the reference are missing")
    if diff.tail_missing:
        sec = ref.heading_at(ref.ntok - diff.tail_missing)
        at = f" (from section '{sec}')" if sec else ""
        details.append(
            f"the text stops at {100 * (ref.ntok - diff.tail_missing) // max(1, ref.ntok)}% of the reference: "
            f"the last {diff.tail_missing} word(s) are missing{at}"
        )
    if diff.header_note:
        details.append(diff.header_note)
    details.extend(f"marker: {p}" for p in mk.own_phrases[:3])
    changed_words = sum((g.q[1] - g.q[0]) + (g.r[1] - g.r[0]) for g in diff.changes)
    if changed_words and r.verdict == "modified":
        details.append(f"{changed_words} word(s) differ from the reference inside the license text")


def _versions(
    data: Data, qgrams: list[int], m: Match, details: list[str], version: str | None, confidence: float, verdict: str
) -> tuple[str | None, float, str]:
    """Near-identical references (Llama 3.1 vs 3.3, Gemma 2024 vs 2025): the 5-grams only one has decide."""
    ref = m.ref
    region = {h for h in qgrams[m.q_start : max(m.q_start, m.q_end - NGRAM + 1)] if h >= 0}
    mine_set = ref.gramset
    mine_in = region & mine_set
    mine_found = len(mine_in)
    seen = {(ref.key, ref.version)}
    for alt in m.alternatives:
        kv = (alt.key, alt.version)
        if kv in seen:
            continue
        alt_set = alt.gramset
        alt_in = region & alt_set
        alt_found = len(alt_in)
        if 2 * alt_found / max(1, len(region) + len(alt_set)) < 0.6:
            continue  # not a near-duplicate of this text
        seen.add(kv)
        only_mine = len(mine_in - alt_set)
        only_alt = len(alt_in - mine_set)
        same_key = alt.key == ref.key
        mine = ref.key if not same_key else f"version {ref.version}"
        theirs = alt.key if not same_key else f"version {alt.version}"
        if only_alt and only_mine:
            share = only_alt / (only_mine + only_alt)
            if share <= 0.15:
                if only_alt > 3:  # a phrase or two in common with an added clause is noise
                    details.append(f"a little wording of {theirs} too ({only_alt} distinguishing phrases vs {only_mine})")
                if not same_key:
                    confidence = min(confidence, 1.0 - share)
                continue
            details.append(
                f"mixes the wording of {mine} ({only_mine} distinguishing phrases) and {theirs} ({only_alt}): "
                "version swapped or edited"
            )
            if verdict == "exact":
                verdict = "modified"
        elif only_alt:
            details.append(f"closer to {theirs} in the parts that differ; undecided")
        elif not only_mine:
            # the text holds only what both share; the one that leaves less unexplained wins, if clearly
            missing_mine = len(mine_set) - mine_found
            missing_alt = len(alt_set) - alt_found
            if missing_alt - missing_mine >= 10:
                continue
            details.append(f"cannot tell {mine} from {theirs}: the text lacks the parts that differ")
        else:
            continue
        if same_key:
            version = None
        else:
            confidence = min(confidence, 0.45)
    return version, confidence, verdict


def _within_optional(ref: Ref, gap: Gap) -> bool:
    r0, r1 = gap.r
    for a, b in ref.optional:
        if r1 > r0 and a <= r0 and r1 <= b:
            return True
        if r1 == r0 and a < r0 < b:
            return True
    return False


def _ident(
    key: str | None, version: str | None, confidence: float, verdict: str, details: list[str], tokens: Tokens,
    m: Match,
) -> Identification:
    lines = tokens.lines
    return Identification(
        key=key,
        version=version,
        confidence=round(max(0.0, min(1.0, confidence)), 2),
        verdict=verdict,
        details=tuple(details),
        start_line=lines[m.q_start] if m.q_start < len(lines) else None,
        end_line=lines[min(m.q_end, len(lines)) - 1] if lines else None,
    )
