"""The fail-closed floor: evidence of an undecidable or contradictory license is never graded away silently.

Some checks (audit.checks: `floor=`) mean "we cannot tell whether this model may be used": an unknown or
contradictory license, a declared license that drops an ancestor's terms, a license file we could not read.
A policy that has no rule for them, disables the rule, or names them only inside a combined condition must
still fail them; only an explicit `allow: {check-id: severity}` lowers the floor. This module applies that
in one place, to the findings the rules produced for one subject's evidence.
"""
from __future__ import annotations

from collections.abc import Sequence

from audit.checks import FLOORS
from audit.model import Evidence, Finding, Outcome, Severity
from audit.policy.schema import Policy


def floor_severity(policy: Policy, ev: Evidence) -> Severity | None:
    """The lowest severity this evidence may be graded at under the policy; None when it has no floor."""
    floor = FLOORS.get(ev.check)
    if floor is None:
        return None
    floor = policy.allow.get(ev.check, floor)
    # the policy's inferred_lineage_can_fail setting is itself explicit: evidence that rests only on
    # inferred lineage is graded at most warning unless the policy says inferred lineage may fail
    if ev.inferred and floor is Severity.ERROR and not policy.settings.get("inferred_lineage_can_fail", False):
        return Severity.WARNING
    return floor


def apply_floor(policy: Policy, subject: str, evidence: Sequence[Evidence], findings: Sequence[Finding]) -> list[Finding]:
    """The findings, plus one finding at the floor severity for each floor check whose evidence no rule graded
    at or above its floor (the finding's rule is the check id, so a waiver of "*" or of that id can waive it)."""
    out = list(findings)
    added: set[str] = set()
    for ev in evidence:
        floor = floor_severity(policy, ev)
        if floor is None or ev.check in added:
            continue
        graded = any(f.check == ev.check and f.subject == subject and f.severity.rank >= floor.rank for f in out)
        if graded:
            continue
        added.add(ev.check)
        out.append(Finding(
            rule=ev.check, severity=floor, outcome=Outcome.UNKNOWN if ev.unknown else Outcome.FAIL,
            subject=subject, message=ev.message, evidence=ev.origins, check=ev.check,
        ))
    return out
