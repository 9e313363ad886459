"""Terminal report: per model, the verdict, the license, why, and what to do. Read at a glance."""
from __future__ import annotations

from typing import Any

from audit.model import AuditReport, Finding, ModelResult, Obligation, Outcome
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import by_subject, declared_view, run_verdict, verdict
from audit.report.common import visible as v

_MARK = {"error": "x", "warning": "!", "note": "-"}


def _style(text: str, color: bool, **kw: Any) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kw)


def _verdict(word: str, passed: bool, color: bool) -> str:
    return _style(word.upper(), color, fg="green" if passed else "red", bold=True)


def _finding_lines(f: Finding, color: bool) -> list[str]:
    sev = f.severity.value
    tag = f"{_MARK[sev]} {sev}"
    if f.outcome is Outcome.WAIVED:
        tag = "~ waived"
    elif f.outcome is Outcome.UNKNOWN:
        tag += " (undecided)"
    col = {"error": "red", "warning": "yellow", "note": "blue"}[sev] if f.outcome is not Outcome.WAIVED else "cyan"
    lines = [f"    {_style(tag, color, fg=col, bold=True)}  {v(f.rule)}: {v(f.message)}"]
    for o in f.evidence[:3]:
        lines.append(f"        at {v(str(o))}")
    if f.waiver:
        lines.append(f"        waiver: {v(f.waiver)}")
    if f.remediation and f.outcome is not Outcome.WAIVED:
        lines.append(f"        fix: {v(f.remediation)}")
    return lines


def _model_block(m: ModelResult, findings: list[Finding], owed: list[Obligation], color: bool) -> list[str]:
    rev = f" @ {m.revision[:12]}" if m.revision else ""
    lines = [f"{_verdict(verdict(m.passed), m.passed, color)}  {v(m.subject)}{v(rev)}"]
    declared = v(declared_view(m.license))
    lic = v(m.license.expression or "unknown")
    lines.append(f"    license    {lic}  [{m.license.status.value}; declared: {declared}]")
    if m.license.status.value != "resolved" and m.license.reason:
        lines.append(f"               {v(m.license.reason)}")
    if m.effective.keys != m.license.keys or m.effective.inferred_from_ancestors:
        eff = m.effective.expression or ", ".join(m.effective.keys) or "unknown"
        lines.append(f"    effective  {v(eff)}")
    for a in m.lineage.ancestors[:6]:
        keys = ", ".join(a.license.keys) if a.license and a.license.keys else "license unknown"
        how = a.resolved_from or (a.problem or "not found")
        inferred = ", inferred" if a.inferred else ""
        lines.append(f"    {'lineage' if a is m.lineage.ancestors[0] else '       '}    {'  ' * (a.depth - 1)}<- {v(a.subject)} "
                     f"({a.relation}{inferred}; {v(keys)}; {v(str(how))})")
    if len(m.lineage.ancestors) > 6:
        lines.append(f"               ... and {len(m.lineage.ancestors) - 6} more ancestors")
    lines.extend(_openness_lines(m))
    for f in findings:
        lines.extend(_finding_lines(f, color))
    if owed:
        lines.append("    you must:")
        for o in owed[:8]:
            via = f" (from {o.via})" if o.via else ""
            lines.append(f"      * [{o.key}] {v(o.text)}{v(via)}")
        if len(owed) > 8:
            lines.append(f"      ... {len(owed) - 8} more (see --format json)")
    return lines


def _openness_lines(m: ModelResult) -> list[str]:
    from audit.openness import next_steps, summary

    o = m.openness
    if o is None:
        return []
    lines = [f"    openness   {summary(o)}"]
    lines.append("               " + ", ".join(f"{c.name} {c.status}" for c in o.components))
    needs = next_steps(o)
    if needs:
        lines.append(f"               {needs}")
    return lines


def _other_findings(report: AuditReport, grouped: dict[str, list[Finding]], color: bool) -> list[str]:
    """Findings about something other than a model (a code line whose model is unknown), in the same shape."""
    subjects = {m.subject for m in report.models}
    lines: list[str] = []
    for subject, findings in grouped.items():
        if subject in subjects:
            continue
        open_ = [f for f in findings if f.outcome is not Outcome.WAIVED]
        mark = _verdict(verdict(False), False, color) if open_ else "OK  "
        lines.append(f"{mark}  {v(subject)}")
        for f in findings:
            lines.extend(_finding_lines(f, color))
        lines.append("")
    return lines


_NOT_READ = ("skipped", "unreadable")  # kinds of the references a scan makes of what it did not read


def _scan_summary(report: AuditReport) -> list[str]:
    """The scan: its counts, each model with the file:line of its references, and what was not read."""
    if report.scan is None:
        return []
    refs = [r for r in report.scan.references if r.kind not in _NOT_READ]
    not_read = [r for r in report.scan.references if r.kind in _NOT_READ]
    places: dict[str, list[str]] = {}
    for r in refs:
        if r.model:
            label = f"{r.model} @ {r.revision[:12]}" if r.revision else r.model
            where = places.setdefault(label, [])
            if f"{r.file}:{r.line}" not in where:  # one line may name a model twice (a command and its URL)
                where.append(f"{r.file}:{r.line}")
    unresolved = sum(1 for r in refs if not r.model)
    line = (f"scanned {v(report.scan.root)}: {len(refs)} model reference(s) in {len({r.file for r in refs})} file(s), "
            f"{len({(r.model, r.revision) for r in refs if r.model})} model(s), {unresolved} unresolved")
    if not_read:
        line += f"; {len(not_read)} path(s) not read, {sum(1 for r in not_read if not r.resolved)} failing closed"
    lines = [line]
    width = max((len(label) for label in places), default=0)
    for label in sorted(places):
        shown = places[label][:5]
        more = f" (+{len(places[label]) - 5} more)" if len(places[label]) > 5 else ""
        lines.append(f"    {v(label).ljust(width)}  {v(', '.join(shown))}{more}")
    for r in not_read:
        lines.append(f"    {'x' if not r.resolved else '-'} not read  {v(r.file)}: {v(r.reason or '')}")
    return lines + [""]


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    color = options.color
    if options.quiet:
        return _verdict_line(report, color) + "\n"
    findings = by_subject(report.findings)
    owed = by_subject(report.obligations)
    lines: list[str] = []
    for m in report.models:
        lines.extend(_model_block(m, findings.get(m.subject, []), owed.get(m.subject, []), color))
        lines.append("")
    lines.extend(_other_findings(report, findings, color))
    lines.extend(_scan_summary(report))
    if options.show_errors:
        for e in report.errors:
            lines.append(f"{_style('ERROR', color, fg='red', bold=True)} {v(e.input)}: {v(e.message)}")
        if report.errors:
            lines.append("")
    lines.append(_verdict_line(report, color))
    return "\n".join(lines) + "\n"


def _verdict_line(report: AuditReport, color: bool) -> str:
    passed = sum(1 for m in report.models if m.passed)
    failed = len(report.models) - passed
    word = _verdict(run_verdict(report.passed), report.passed, color)
    return (f"{word}: {len(report.models)} model(s), {passed} passed, {failed} failed, {len(report.errors)} unreadable"
            f" - policy '{report.policy_name}' (sha256 {report.policy_sha256[:12]})")
