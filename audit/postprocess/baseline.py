"""Baseline: the findings an existing codebase already has, recorded so that only new ones fail the gate.

A finding is matched by its fingerprint: rule + subject + message (not the line, which moves with every
edit, and not the severity, which a policy change may move). A baselined finding is still reported, as
waived with the reason "in baseline FILE", the way a policy waiver is: it shows in every format and never
silently disappears. The baseline counts how often each fingerprint occurred, so a third unresolved
reference in a file that had two is new.

File format (JSON, sorted, one finding per entry, readable in a review):
    {"schema": "mlaudit.baseline/1",
     "findings": [{"fingerprint": "...", "rule": "...", "subject": "...", "message": "...", "count": 1}]}
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

from audit.errors import UsageError
from audit.model import AuditReport, BaselineSummary, Finding, Outcome, Severity
from audit.policy.grade import with_findings
from audit.policy.schema import Policy
from audit.sources.base import read_json_file

SCHEMA = "mlaudit.baseline/1"
MAX_BASELINE_BYTES = 32 * 1024 * 1024


def fingerprint(f: Finding) -> str:
    key = "\x1f".join((f.rule, f.subject, " ".join(f.message.split())))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Baseline:
    path: str
    counts: Mapping[str, int]  # fingerprint -> how many findings it covers


def baseline_dict(report: AuditReport) -> dict:
    """What the baseline file holds: every finding not already waived by the policy."""
    counts: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for f in report.findings:
        if f.outcome is Outcome.WAIVED:
            continue
        fp = fingerprint(f)
        counts[fp] += 1
        first.setdefault(fp, f)
    entries = [
        {"fingerprint": fp, "rule": f.rule, "subject": f.subject, "message": f.message, "count": counts[fp]}
        for fp, f in first.items()
    ]
    entries.sort(key=lambda e: (e["subject"], e["rule"], e["message"], e["fingerprint"]))
    return {"schema": SCHEMA, "findings": entries}


def write_baseline(path: str, report: AuditReport) -> Baseline:
    data = baseline_dict(report)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(path, f"cannot write the baseline ({exc.strerror or exc})") from None
    return Baseline(path, {e["fingerprint"]: e["count"] for e in data["findings"]})


def read_baseline(path: str) -> Baseline:
    """A baseline file; a missing or malformed one is a UsageError naming the file (and line)."""

    data = read_json_file(path, limit=MAX_BASELINE_BYTES,
                          missing="baseline file does not exist: create it with --write-baseline")
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("findings"), list):
        raise UsageError(path, f"not an mlaudit baseline (expected schema {SCHEMA!r} and a 'findings' list)")
    counts: dict[str, int] = {}
    for i, e in enumerate(data["findings"]):
        if isinstance(e, dict) and isinstance(e.get("rule"), str) and isinstance(e.get("subject"), str) \
                and isinstance(e.get("message"), str):
            # recomputed rather than trusted, so a hand-edited entry still matches what it says
            fp = fingerprint(Finding(e["rule"], Severity.ERROR, Outcome.FAIL, e["subject"], e["message"]))  # severity is not in it
        elif isinstance(e, dict) and isinstance(e.get("fingerprint"), str):
            fp = e["fingerprint"]
        else:
            raise UsageError(path, f"findings[{i}] needs rule, subject and message (or a fingerprint)")
        count = e.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UsageError(path, f"findings[{i}]: count must be a positive whole number")
        counts[fp] = counts.get(fp, 0) + count
    return Baseline(path, counts)


def apply_baseline(report: AuditReport, baseline: Baseline, policy: Policy) -> AuditReport:
    """Findings the baseline covers become waived ("in baseline FILE"); verdicts are recomputed.
    report.baseline says how many matched, how many are new, and how many entries are stale."""
    left = dict(baseline.counts)
    out: list[Finding] = []
    matched = new = 0
    for f in report.findings:
        if f.outcome is Outcome.WAIVED:
            out.append(f)
            continue
        fp = fingerprint(f)
        if left.get(fp, 0) > 0:
            left[fp] -= 1
            matched += 1
            out.append(replace(f, outcome=Outcome.WAIVED, waiver=f"in baseline {baseline.path}"))
        else:
            new += 1
            out.append(f)
    summary = BaselineSummary(baseline.path, matched, new, sum(left.values()))
    return with_findings(report, out, policy, baseline=summary)
