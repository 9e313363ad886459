"""JUnit XML: one test suite, one test case per (model, rule), so CI test views list what failed.

A (model, rule) with a finding that fails the gate (at or above the policy's fail_on, undecided ones
included: they fail closed) is a <failure>; one whose findings are all below the gate (warnings, notes)
is a passing case whose <system-out> shows them as such; one that is only waived is <skipped> with the
waiver reason; every model with no failing finding also gets a passing "policy" case, so a green model
shows up as a passed test rather than as nothing. Inputs that could not be read are <error> cases. The
suite's time is the run's real duration.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from audit.model import AuditReport, Finding, Outcome
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import by_subject, evidence_text

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    """Text safe for XML 1.0 (card text may carry control characters XML cannot hold)."""
    return _XML_INVALID.sub("\ufffd", "" if text is None else str(text))


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    cases: list[ET.Element] = []
    failures = errors = skipped = 0

    grouped = by_subject(report.findings)
    subjects = [m.subject for m in report.models]
    subjects += sorted(set(grouped) - set(subjects))
    for subject in subjects:
        per_rule: dict[str, list[Finding]] = {}
        for f in grouped.get(subject, ()):
            per_rule.setdefault(f.rule, []).append(f)
        blocking = False
        for rule, findings in sorted(per_rule.items()):
            case = _case(subject, rule)
            open_findings = [f for f in findings if f.outcome is not Outcome.WAIVED]
            gate = [f for f in open_findings if report.fails(f)]
            if gate:
                blocking = True
                failures += 1
                case.append(_failure(gate))
                below = [f for f in open_findings if not report.fails(f)]
                if below:
                    ET.SubElement(case, "system-out").text = _below_gate(below)
            elif open_findings:
                ET.SubElement(case, "system-out").text = _below_gate(open_findings)
            else:
                skipped += 1
                reasons = "; ".join(sorted({_x(f.waiver or "waived by policy") for f in findings}))
                el = ET.SubElement(case, "skipped", message=f"waived: {reasons}")
                el.text = _details(findings)
            cases.append(case)
        if not blocking:
            cases.append(_case(subject, "policy"))

    for e in report.errors:
        errors += 1
        case = _case(e.input, "input")
        el = ET.SubElement(case, "error", message=_x(e.message), type="input-unreadable")
        el.text = _x(f"{e.input}: {e.message}")
        cases.append(case)

    suite = ET.Element(
        "testsuite",
        name=_x(f"mlaudit ({report.policy_name})"),
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=_time(report),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("tool", f"mlaudit {report.tool_version}"),
        ("policy", report.policy_name),
        ("policy_sha256", report.policy_sha256),
        ("passed", "true" if report.passed else "false"),
        ("fail_on", report.fail_on.value),
    ):
        ET.SubElement(props, "property", name=name, value=_x(value))
    suite.extend(cases)
    root = ET.Element("testsuites", name="mlaudit", tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=_time(report))
    root.append(suite)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _time(report: AuditReport) -> str:
    return f"{report.duration_s:.3f}" if report.duration_s is not None else "0"


def _below_gate(findings: list[Finding]) -> str:
    """Findings that inform without failing: said to be warnings or notes, not failures."""
    return _details(findings, header="below the gate (reported, not failing):")


def _case(classname: str, name: str) -> ET.Element:
    return ET.Element("testcase", classname=_x(classname), name=_x(name), time="0")


def _failure(findings: list[Finding]) -> ET.Element:
    first = findings[0]
    prefix = "undecided (fails closed): " if first.outcome is Outcome.UNKNOWN else ""
    el = ET.Element("failure", message=_x(prefix + first.message),
                    type=f"{first.severity.value}/{first.outcome.value}")
    el.text = _details(findings)
    return el


def _details(findings: Iterable[Finding], header: str | None = None) -> str:
    lines = [header] if header else []
    for f in findings:
        lines.append(f"[{f.severity.value}] {f.outcome.value}: {f.message}")
        for o in f.evidence:
            lines.append(f"  evidence: {evidence_text(o, f.subject)}")
        if f.remediation:
            lines.append(f"  fix: {f.remediation}")
        if f.waiver:
            lines.append(f"  waiver: {f.waiver}")
    return _x("\n".join(lines))
