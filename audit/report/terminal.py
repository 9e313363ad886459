"""Terminal report: per model, the verdict, the license, why, and what to do. Read at a glance."""
from __future__ import annotations

from audit.licenses.normalize import declared_keys
from audit.model import AuditReport, Finding, ModelResult, Outcome
from audit.report import DEFAULT_OPTIONS, RenderOptions

_MARK = {"error": "x", "warning": "!", "note": "-"}


def _style(text: str, color: bool, **kw) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kw)


def _finding_lines(f: Finding, color: bool) -> list[str]:
    sev = f.severity.value
    tag = f"{_MARK[sev]} {sev}"
    if f.outcome is Outcome.WAIVED:
        tag = "~ waived"
    elif f.outcome is Outcome.UNKNOWN:
        tag += " (undecided)"
    col = {"error": "red", "warning": "yellow", "note": "blue"}[sev] if f.outcome is not Outcome.WAIVED else "cyan"
    lines = [f"    {_style(tag, color, fg=col, bold=True)}  {f.rule}: {f.message}"]
    for o in f.evidence[:3]:
        lines.append(f"        at {o}")
    if f.waiver:
        lines.append(f"        waiver: {f.waiver}")
    if f.remediation and f.outcome is not Outcome.WAIVED:
        lines.append(f"        fix: {f.remediation}")
    return lines


def _model_block(m: ModelResult, findings: list[Finding], report: AuditReport, color: bool) -> list[str]:
    verdict = _style("PASS", color, fg="green", bold=True) if m.passed else _style("FAIL", color, fg="red", bold=True)
    rev = f" @ {m.revision[:12]}" if m.revision else ""
    lines = [f"{verdict}  {m.subject}{rev}"]
    declared = ", ".join(declared_keys(m.license)) or "nothing"
    lic = m.license.expression or "unknown"
    lines.append(f"    license    {lic}  [{m.license.status.value}; declared: {declared}]")
    if m.license.status.value != "resolved" and m.license.reason:
        lines.append(f"               {m.license.reason}")
    if m.effective.keys != m.license.keys or m.effective.inferred_from_ancestors:
        eff = m.effective.expression or ", ".join(m.effective.keys) or "unknown"
        lines.append(f"    effective  {eff}")
    for a in m.lineage.ancestors[:6]:
        keys = ", ".join(a.license.keys) if a.license and a.license.keys else "license unknown"
        how = a.resolved_from or (a.problem or "not found")
        inferred = ", inferred" if a.inferred else ""
        lines.append(f"    {'lineage' if a is m.lineage.ancestors[0] else '       '}    {'  ' * (a.depth - 1)}<- {a.subject} "
                     f"({a.relation}{inferred}; {keys}; {how})")
    if len(m.lineage.ancestors) > 6:
        lines.append(f"               ... and {len(m.lineage.ancestors) - 6} more ancestors")
    for f in findings:
        lines.extend(_finding_lines(f, color))
    owed = [o for o in report.obligations if o.subject == m.subject]
    if owed:
        lines.append("    you must:")
        for o in owed[:8]:
            via = f" (from {o.via})" if o.via else ""
            lines.append(f"      * [{o.key}] {o.text}{via}")
        if len(owed) > 8:
            lines.append(f"      ... {len(owed) - 8} more (see --format json)")
    return lines


def _other_findings(report: AuditReport, by_subject: dict[str, list[Finding]], color: bool) -> list[str]:
    """Findings about something other than a model (a code line whose model is unknown), in the same shape."""
    subjects = {m.subject for m in report.models}
    lines: list[str] = []
    for subject, findings in by_subject.items():
        if subject in subjects:
            continue
        open_ = [f for f in findings if f.outcome is not Outcome.WAIVED]
        mark = _style("FAIL", color, fg="red", bold=True) if open_ else "OK  "
        lines.append(f"{mark}  {subject}")
        for f in findings:
            lines.extend(_finding_lines(f, color))
        lines.append("")
    return lines


def _scan_summary(report: AuditReport) -> list[str]:
    if report.scan is None:
        return []
    refs = [r.to_dict() for r in report.scan.references]
    models = {(r["model"], r.get("revision")) for r in refs if r.get("model")}
    files = {r["file"] for r in refs}
    unresolved = sum(1 for r in refs if not r.get("model"))
    return [f"scanned {report.scan.root}: {len(refs)} model reference(s) in {len(files)} file(s), "
            f"{len(models)} model(s), {unresolved} unresolved", ""]


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    color = options.color
    if options.quiet:
        return _verdict_line(report, color) + "\n"
    by_subject: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_subject.setdefault(f.subject, []).append(f)
    lines: list[str] = []
    for m in report.models:
        lines.extend(_model_block(m, by_subject.get(m.subject, []), report, color))
        lines.append("")
    lines.extend(_other_findings(report, by_subject, color))
    lines.extend(_scan_summary(report))
    if options.show_errors:
        for e in report.errors:
            lines.append(f"{_style('ERROR', color, fg='red', bold=True)} {e.input}: {e.message}")
        if report.errors:
            lines.append("")
    lines.append(_verdict_line(report, color))
    return "\n".join(lines) + "\n"


def _verdict_line(report: AuditReport, color: bool) -> str:
    passed = sum(1 for m in report.models if m.passed)
    failed = len(report.models) - passed
    verdict = _style("PASSED", color, fg="green", bold=True) if report.passed else _style("FAILED", color, fg="red", bold=True)
    return (f"{verdict}: {len(report.models)} model(s), {passed} passed, {failed} failed, {len(report.errors)} unreadable"
            f" - policy '{report.policy_name}' (sha256 {report.policy_sha256[:12]})")
