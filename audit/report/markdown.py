"""Markdown for a pull-request comment: verdict first, then a table of models, findings, obligations.

Everything that came from a model card or the Hub is escaped: a card must not be able to inject
links, HTML or table cells into the comment.
"""
from __future__ import annotations

import re

from audit.model import AuditReport, Finding, Outcome
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import (
    by_subject,
    evidence_text,
    finding_order,
    run_verdict,
    subject_order,
    verdict,
    visible,
)

MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_ICON = {Outcome.FAIL: "❌", Outcome.UNKNOWN: "❓", Outcome.WAIVED: "⏭️"}
_MARK = {True: "✅", False: "❌"}  # passed -> mark
_BELOW = {"error": "⚠️", "warning": "⚠️", "note": "ℹ️"}  # a finding below the gate: shown, not failing


def _md(text: object) -> str:
    """Plain text made inert: no emphasis, links, HTML or table breaks, control characters shown; one line."""
    s = " ".join(visible(str(text)).split()) if text is not None else ""
    s = _SPECIAL.sub(r"\\\1", s)
    return s.replace("&", "&amp;")


def _code(text: object, *, table: bool = False) -> str:
    s = " ".join(visible(str(text)).split()) if text is not None else ""
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    s = f"{fence}{pad}{s}{pad}{fence}"
    return s.replace("|", "\\|") if table else s


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    # only what fails the gate (the policy's fail_on) is a failure; warnings and notes are shown as such
    failing = [f for f in report.findings if report.fails(f)]
    unknown = [f for f in failing if f.outcome is Outcome.UNKNOWN]
    below = [f for f in report.findings if f.outcome is not Outcome.WAIVED and not report.fails(f)]
    waived = [f for f in report.findings if f.outcome is Outcome.WAIVED]
    n_pass = sum(1 for m in report.models if m.passed)
    out = [f"### mlaudit: {_MARK[report.passed]} {run_verdict(report.passed)}", ""]
    parts = [(f"{len(report.models)} model{'s' if len(report.models) != 1 else ''} audited against policy "
              f"{_code(report.policy_name)}: {n_pass} passed, {len(report.models) - n_pass} failed")]
    parts.append(f"{len(failing)} failing finding{'s' if len(failing) != 1 else ''}")
    if unknown:
        parts.append(f"{len(unknown)} of them undecided (fail closed)")
    if below:
        parts.append(f"{len(below)} warning{'s' if len(below) != 1 else ''} and notes (not failing)")
    if waived:
        parts.append(f"{len(waived)} waived")
    if report.errors:
        parts.append(f"{len(report.errors)} input{'s' if len(report.errors) != 1 else ''} unreadable")
    out += [" · ".join(parts), ""]

    if report.models:
        out += ["| Model | Revision | License | Effective license | Verdict |", "|---|---|---|---|---|"]
        for m in report.models:
            rev = _code(m.revision[:12], table=True) if m.revision else "—"
            own = _code(m.license.expression, table=True) if m.license.expression else f"*{m.license.status.value}*"
            eff = _code(m.effective.expression, table=True) if m.effective.expression else "*unknown*"
            if m.effective.inferred_from_ancestors:
                eff += " (from lineage)"
            out.append(f"| {_code(m.subject, table=True)} | {rev} | {own} | {eff} | "
                       f"{_MARK[m.passed]} {verdict(m.passed)} |")
        out.append("")

    out += _openness(report)

    if report.errors:
        out += ["#### Inputs that could not be read", ""]
        out += [f"- {_code(e.input)}: {_md(e.message)}" for e in report.errors]
        out.append("")

    if failing:
        out += [f"#### Failing findings (severity {report.fail_on.value} and above)", ""]
        for f in sorted(failing, key=finding_order):
            out += _finding(f, True)
        out.append("")
    if below or waived:
        out += ["#### Warnings, notes and waived findings (they do not fail the gate)", ""]
        for f in sorted(below + waived, key=finding_order):
            out += _finding(f, False)
        out.append("")

    if report.obligations:
        out += ["#### Obligations", "", "What you owe when you ship these models:", ""]
        owed = by_subject(report.obligations)
        for subject in sorted(owed, key=subject_order):
            out.append(f"- {_code(subject)}")
            for o in sorted(owed[subject], key=lambda o: (o.kind, o.key, o.text)):
                via = f", via {_code(o.via)}" if o.via else ""
                out.append(f"  - **{_md(o.kind)}** ({_code(o.key)}{via}): {_md(o.text)}")
        out.append("")

    out.append(f"<sub>mlaudit {_md(report.tool_version)} · policy sha256 {_code(report.policy_sha256[:12])}</sub>")
    text = "\n".join(out) + "\n"
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS - 200)
        text = text[:cut] + "\n\n… truncated: run `mlaudit` with `--format json` for the full report.\n"
    return text


def _openness(report: AuditReport) -> list[str]:
    """One row per model: its MOF class, each component's status, and what the next class needs."""
    from audit.openness import next_steps, summary

    profiled = [m for m in report.models if m.openness is not None]
    if not profiled:
        return []
    out = ["#### Openness", "", "| Model | Class | Weights | Code | Data | Docs | Paper | Next class needs |",
           "|---|---|---|---|---|---|---|---|"]
    for m in profiled:
        o = m.openness
        assert o is not None
        cells = [_md(c.status) + (" ✅" if c.open else "") for c in o.components]
        needs = next_steps(o)
        out.append(f"| {_code(m.subject, table=True)} | {_md(summary(o))} | {' | '.join(cells)} | "
                   f"{_md(needs) if needs else '—'} |")
    return out + [""]


def _finding(f: Finding, fails: bool) -> list[str]:
    label = {Outcome.FAIL: "", Outcome.UNKNOWN: " (undecided, fails closed)" if fails else " (undecided)",
             Outcome.WAIVED: " (waived)"}
    icon = _ICON[f.outcome] if fails or f.outcome is Outcome.WAIVED else _BELOW[f.severity.value]
    lines = [(f"- {icon} **{f.severity.value}** {_code(f.rule)}{label[f.outcome]} · "
              f"{_code(f.subject)}: {_md(f.message)}")]
    if f.evidence:
        lines.append("  - Evidence: " + ", ".join(_code(evidence_text(o, f.subject)) for o in f.evidence))
    if f.remediation:
        lines.append(f"  - Fix: {_md(f.remediation)}")
    if f.waiver:
        lines.append(f"  - Waiver: {_md(f.waiver)}")
    return lines

