"""Markdown for a pull-request comment: verdict first, then a table of models, findings, obligations.

Everything that came from a model card or the Hub is escaped: a card must not be able to inject
links, HTML or table cells into the comment.
"""
from __future__ import annotations

import re

from audit.model import AuditReport, Finding, Origin, Outcome
from audit.report import DEFAULT_OPTIONS, RenderOptions

MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_ICON = {Outcome.FAIL: "❌", Outcome.UNKNOWN: "❓", Outcome.WAIVED: "⏭️"}


def _md(text: object) -> str:
    """Plain text made inert: no emphasis, links, HTML or table breaks; one line."""
    s = " ".join(str(text).split()) if text is not None else ""
    s = _SPECIAL.sub(r"\\\1", s)
    return s.replace("&", "&amp;")


def _code(text: object, *, table: bool = False) -> str:
    s = " ".join(str(text).split()) if text is not None else ""
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    s = f"{fence}{pad}{s}{pad}{fence}"
    return s.replace("|", "\\|") if table else s


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    failing = [f for f in report.findings if f.outcome is Outcome.FAIL]
    unknown = [f for f in report.findings if f.outcome is Outcome.UNKNOWN]
    waived = [f for f in report.findings if f.outcome is Outcome.WAIVED]
    n_pass = sum(1 for m in report.models if m.passed)
    verdict = "✅ passed" if report.passed else "❌ failed"

    out = [f"### mlaudit: {verdict}", ""]
    parts = [(f"{len(report.models)} model{'s' if len(report.models) != 1 else ''} audited against policy "
              f"{_code(report.policy_name)}: {n_pass} passed, {len(report.models) - n_pass} failed")]
    parts.append(f"{len(failing)} failing finding{'s' if len(failing) != 1 else ''}")
    if unknown:
        parts.append(f"{len(unknown)} undecided (fail closed)")
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
                       f"{'✅ pass' if m.passed else '❌ fail'} |")
        out.append("")

    if report.errors:
        out += ["#### Inputs that could not be read", ""]
        out += [f"- {_code(e.input)}: {_md(e.message)}" for e in report.errors]
        out.append("")

    if report.findings:
        out += ["#### Findings", ""]
        order = {Outcome.FAIL: 0, Outcome.UNKNOWN: 1, Outcome.WAIVED: 2}
        for f in sorted(report.findings, key=lambda f: (order[f.outcome], -f.severity.rank, f.subject, f.rule)):
            out += _finding(f)
        out.append("")

    if report.obligations:
        out += ["#### Obligations", "", "What you owe when you ship these models:", ""]
        for subject in sorted({o.subject for o in report.obligations}, key=lambda s: (s.lower(), s)):
            out.append(f"- {_code(subject)}")
            for o in sorted((o for o in report.obligations if o.subject == subject),
                            key=lambda o: (o.kind, o.key, o.text)):
                via = f", via {_code(o.via)}" if o.via else ""
                out.append(f"  - **{_md(o.kind)}** ({_code(o.key)}{via}): {_md(o.text)}")
        out.append("")

    out.append(f"<sub>mlaudit {_md(report.tool_version)} · policy sha256 {_code(report.policy_sha256[:12])}</sub>")
    text = "\n".join(out) + "\n"
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS - 200)
        text = text[:cut] + "\n\n… truncated: run `mlaudit` with `--format json` for the full report.\n"
    return text


def _finding(f: Finding) -> list[str]:
    label = {Outcome.FAIL: "", Outcome.UNKNOWN: " (undecided, fails closed)", Outcome.WAIVED: " (waived)"}
    lines = [(f"- {_ICON[f.outcome]} **{f.severity.value}** {_code(f.rule)}{label[f.outcome]} · "
              f"{_code(f.subject)}: {_md(f.message)}")]
    if f.evidence:
        lines.append("  - Evidence: " + ", ".join(_code(_evidence(o, f.subject)) for o in f.evidence))
    if f.remediation:
        lines.append(f"  - Fix: {_md(f.remediation)}")
    if f.waiver:
        lines.append(f"  - Waiver: {_md(f.waiver)}")
    return lines


def _evidence(o: Origin, subject: str) -> str:
    """An origin as a reader needs it: which repo, when it is not the finding's own model."""
    if o.locator and o.locator != subject and o.file and not o.file.startswith("/"):
        return f"{o.locator}/{o}"
    return str(o)
