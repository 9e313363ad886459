"""Grading evidence that was found after the main audit, and recomputing verdicts.

Post-processors (code references, the lockfile, the baseline) add or change findings on a finished report.
They use these two functions, so none of them has to call back into the pipeline (audit.api).
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from audit.model import AuditReport, Effective, Evidence, Finding, LicenseFacts, Outcome, Severity, Status
from audit.policy.engine import Subject, evaluate
from audit.policy.schema import Policy
from audit.policy.waivers import apply_waivers


def failing(finding: Finding, policy: Policy) -> bool:
    """Does this finding fail the gate under the policy's fail_on?"""
    return finding.outcome is not Outcome.WAIVED and finding.severity.rank >= policy.fail_on.rank


def _names_check(when: object, checks: set[str]) -> bool:
    # a rule grades these checks when it names one of them outside a `not` (a `not` of a check would hold
    # for every subject without that evidence, which is not what the rule means here)
    if not isinstance(when, Mapping):
        return False
    if when.get("check") in checks:
        return True
    return any(_names_check(c, checks) for key in ("all", "any") for c in when.get(key) or ())


def grade_evidence(policy: Policy, subject: str, evidence: Sequence[Evidence], *,
                   facts: LicenseFacts | None = None, effective: Effective | None = None,
                   today: _dt.date | None = None) -> list[Finding]:
    """Findings for evidence found outside the per-model audit (code references, the lockfile), graded by the
    rules of the policy that name its checks. A check no rule names still fails closed: it becomes a finding at
    severity error under its own id (a policy downgrades it by naming it)."""
    if not evidence:
        return []
    facts = facts or LicenseFacts((), None, (), Status.UNKNOWN, reason="not a model")
    effective = effective or Effective(None, ())
    checks = {e.check for e in evidence}
    rules = tuple(r for r in policy.rules if _names_check(r.when, checks))
    findings = evaluate(replace(policy, rules=rules), Subject(subject, facts, effective, tuple(evidence), {}))
    for ev in evidence:
        if not any(_names_check(r.when, {ev.check}) for r in rules):
            findings.append(Finding(
                rule=ev.check, severity=Severity.ERROR, outcome=Outcome.UNKNOWN if ev.unknown else Outcome.FAIL,
                subject=subject, message=ev.message, evidence=ev.origins, check=ev.check,
            ))
    return apply_waivers(findings, policy.waivers, today)


def with_findings(report: AuditReport, findings: Iterable[Finding], policy: Policy, **changes: Any) -> AuditReport:
    """The report with these findings (and any other field `changes` names), each model's verdict and the
    overall verdict recomputed from them."""
    found = tuple(findings)
    models = tuple(
        replace(m, passed=not any(failing(f, policy) for f in found if f.subject == m.subject))
        for m in report.models
    )
    passed = not report.errors and not any(failing(f, policy) for f in found)
    return replace(report, findings=found, models=models, passed=passed, **changes)
