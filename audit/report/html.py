"""HTML report: one self-contained file a person would rather look at than the terminal output.

The verdict, then one section per model: its licenses, its findings with their evidence (linked to the card's
line on the Hub where the evidence is a Hub file), its openness profile, its lineage drawn as an inline SVG
graph (license per node, conflicts marked, inferred edges dashed) and its obligations as a checklist.

Self-contained and inert: no script, no external resource, and a Content-Security-Policy that forbids both,
so the file behaves the same offline, in a mail attachment and in CI artifacts. Everything that came from a
card or the Hub is hostile: it goes through `_t` (HTML-escaped, control characters made visible) and never
into a URL; links are built only from a Hub id that matches the id pattern and a quoted file path.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from audit.model import AuditReport, Finding, ModelResult, Obligation, Openness, Origin, Outcome, SourceKind
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import (
    HUB,
    by_subject,
    declared_view,
    evidence_text,
    finding_order,
    is_hub_id,
    run_verdict,
    subject_order,
    verdict,
    visible,
)

_REVISION = re.compile(r"^[\w.-]{1,100}$")
# where an origin's file is a file of the Hub repo named by its locator (a registry origin's file is mlaudit's own)
_HUB_SOURCES = (SourceKind.HUB.value, SourceKind.CACHE.value)
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_CSS = """
:root{--fail:#b3261e;--pass:#1b6e3a;--warn:#8a5a00;--note:#3d5a99;--muted:#5f6368;--line:#d0d4d9;--bg:#fff;
--soft:#f5f6f8;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;color:#1f2328}
body{margin:0 auto;max-width:960px;padding:1rem;background:var(--bg)}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin:0 0 .5rem;overflow-wrap:anywhere}
h3{font-size:1rem;margin:1rem 0 .4rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.verdict{padding:.8rem 1rem;border-radius:8px;color:#fff}.verdict.pass{background:var(--pass)}
.verdict.fail{background:var(--fail)}.verdict p{margin:.2rem 0 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;color:#fff;font-size:.85rem;font-weight:600;
vertical-align:middle}.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}
section.model,section.other{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0}
nav ul{padding-left:1.2rem}nav li{overflow-wrap:anywhere}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}code{font-size:.9em;overflow-wrap:anywhere}
ul.findings{list-style:none;padding:0;margin:0}li.finding{border-left:4px solid var(--note);padding:.3rem .6rem;
margin:.4rem 0;background:var(--soft);overflow-wrap:anywhere}li.finding.error{border-color:var(--fail)}
li.finding.warning{border-color:var(--warn)}li.finding.waived{opacity:.75;border-style:dashed}
.sev{font-weight:600}.muted{color:var(--muted)}ul.evidence{margin:.2rem 0;padding-left:1.2rem;font-size:.9rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border-bottom:1px solid var(--line);padding:.3rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}th{overflow-wrap:normal}td.open{color:var(--pass);font-weight:600}td.closed{color:var(--fail)}
ul.checklist{list-style:none;padding-left:0}ul.checklist li{margin:.25rem 0;overflow-wrap:anywhere}
svg.lineage{max-width:100%;height:auto;display:block}svg .node rect{fill:#fff;stroke:#6b7280;stroke-width:1.5}
svg .node.subject rect{stroke:#1f2328;stroke-width:2.5}svg .node.conflict rect{stroke:var(--fail);stroke-width:3;
fill:#fdecea}svg .node.unknown rect{stroke-dasharray:4 3;fill:var(--soft)}svg text{font-size:12px;
fill:#1f2328}svg text.lic{fill:var(--muted)}svg .node.conflict text.lic{fill:var(--fail);font-weight:600}
svg .edge{stroke:#6b7280;stroke-width:1.5;fill:none}svg .edge.inferred{stroke-dasharray:6 4}
svg text.rel{font-size:11px;fill:var(--muted)}.legend{font-size:.85rem;color:var(--muted)}
footer{margin-top:2rem;font-size:.85rem;color:var(--muted)}
@media (max-width:600px){body{padding:.5rem}dl{grid-template-columns:1fr}dt{margin-top:.3rem}
table.parts thead{display:none}table.parts tr,table.parts th,table.parts td{display:block;border:0}
table.parts tr{border-bottom:1px solid var(--line);padding:.3rem 0}}
@media print{nav{display:none}.verdict{color:#000;border:3px solid currentColor;background:none!important}
.badge{color:#000;border:1px solid #000;background:none!important}section.model{break-inside:avoid-page}
a{color:inherit;text-decoration:none}body{max-width:none}}
"""


def _t(value: object) -> str:
    """Text made inert for HTML (element content and quoted attributes): escaped, controls made visible."""
    s = visible("" if value is None else str(value), keep_newlines=True)
    s = s.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be written as UTF-8
    return html.escape(s, quote=True)


def _short(value: str, limit: int, *, tail: bool = False) -> str:
    """At most `limit` characters; `tail` keeps the end (a local path's name says more than its directories)."""
    if len(value) <= limit:
        return value
    return "…" + value[-(limit - 1):] if tail else value[: limit - 1] + "…"


def hub_line_url(o: Origin) -> str | None:
    """The Hub page of a file's line, for evidence read from the Hub (or its local cache); None for anything else. Built from checked parts only: the card cannot choose the URL."""
    if o.source not in _HUB_SOURCES or not is_hub_id(o.locator) or not o.file or o.file.startswith("/"):
        return None
    rev = o.revision if o.revision and _REVISION.match(o.revision) else "main"
    url = f"{HUB}/{o.locator}/blob/{quote(rev, safe='')}/{quote(o.file, safe='/')}"
    return url + (f"#L{o.line}" if o.line else "")


def _evidence(origins: Iterable[Origin], subject: str) -> str:
    items = []
    for o in origins:
        text = f"<code>{_t(evidence_text(o, subject))}</code>"
        url = hub_line_url(o)
        items.append(f'<li><a href="{_t(url)}" rel="noreferrer">{text}</a></li>' if url else f"<li>{text}</li>")
    return f'<ul class="evidence">{"".join(items)}</ul>' if items else ""


def _finding(f: Finding) -> str:
    label = {Outcome.FAIL: "", Outcome.UNKNOWN: " (undecided, fails closed)", Outcome.WAIVED: " (waived)"}[f.outcome]
    cls = f"finding {f.severity.value} {f.outcome.value}"
    parts = [f'<li class="{cls}" data-rule="{_t(f.rule)}"><span class="sev">{_t(f.severity.value)}{label}</span> '
             f"<code>{_t(f.rule)}</code>: {_t(f.message)}", _evidence(f.evidence, f.subject)]
    if f.remediation and f.outcome is not Outcome.WAIVED:
        parts.append(f'<div><span class="muted">Fix:</span> {_t(f.remediation)}</div>')
    if f.waiver:
        parts.append(f'<div><span class="muted">Waiver:</span> {_t(f.waiver)}</div>')
    return "".join(parts) + "</li>"


def _findings(findings: Sequence[Finding]) -> str:
    if not findings:
        return '<h3>Findings</h3><p class="muted">No findings.</p>'
    items = "".join(_finding(f) for f in sorted(findings, key=finding_order))
    return f'<h3>Findings</h3><ul class="findings">{items}</ul>'


def _facts(m: ModelResult) -> str:
    rows = [("License", f"<code>{_t(m.license.expression or 'unknown')}</code> "
             f"<span class=\"muted\">({_t(m.license.status.value)}; declared: "
             f"{_t(declared_view(m.license))})</span>")]
    if m.effective.keys != m.license.keys or m.effective.inferred_from_ancestors:
        rows.append(("Effective", f"<code>{_t(m.effective.expression or ', '.join(m.effective.keys) or 'unknown')}"
                                  "</code>"))
    if m.license.status.value != "resolved" and m.license.reason:
        rows.append(("Why", _t(m.license.reason)))
    rows.append(("Revision", f"<code>{_t(m.revision)}</code>" if m.revision else "unpinned"))
    rows.append(("Source", _t(getattr(m.origin.source, "value", m.origin.source))))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _openness(m: ModelResult) -> str:
    from audit.openness import next_steps, summary

    o: Openness | None = m.openness
    if o is None:
        return ""
    rows = []
    for c in o.components:
        mark = ("open", "open") if c.open else ("closed", "not open")
        rows.append(f'<tr data-component="{_t(c.name)}"><th scope="row">{_t(c.name)}</th>'
                    f'<td class="{mark[0]}">{_t(c.status)} <span class="muted">({mark[1]})</span></td>'
                    f"<td>{_t(c.detail)}{_evidence(c.evidence[:3], m.subject)}</td></tr>")
    needs = next_steps(o)
    return (f'<h3>Openness</h3><p class="openness-class" data-class="{_t(o.mof_class or "")}"><strong>'
            f"{_t(summary(o))}</strong></p>"
            + (f'<p class="muted">Missing {_t(needs)}</p>' if needs else "")
            + '<div class="scroll"><table class="parts"><thead><tr><th>Part</th><th>Status</th><th>Evidence</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _obligations(owed: Sequence[Obligation]) -> str:
    if not owed:
        return ""
    items = "".join(
        f'<li><label><input type="checkbox"> <strong>{_t(o.kind)}</strong> <code>{_t(o.key)}</code>'
        + (f' <span class="muted">via {_t(o.via)}</span>' if o.via else "") + f": {_t(o.text)}</label></li>"
        for o in sorted(owed, key=lambda o: (o.kind, o.key, o.text)))
    return f'<h3>Obligations</h3><ul class="checklist">{items}</ul>'


# --- the lineage graph ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Node:
    subject: str
    license: str
    depth: int
    cls: str  # subject | conflict | unknown | "" (space-separated)


@dataclass(frozen=True, slots=True)
class _Edge:
    child: str  # the derived model
    base: str  # the model it derives from
    relation: str
    inferred: bool


_W, _H, _GAP_X, _GAP_Y, _PAD = 250, 48, 20, 56, 10


def _graph_parts(m: ModelResult, findings: Sequence[Finding]) -> tuple[list[_Node], list[_Edge]]:
    conflicts = [f for f in findings if f.check == "lineage-conflict" or f.rule == "lineage-conflict"]
    blamed = {o.locator for f in conflicts for o in f.evidence}
    own = ", ".join(m.license.keys) or "unknown"
    nodes = {m.subject: _Node(m.subject, own, 0, "subject" + (" conflict" if conflicts else ""))}
    edges: list[_Edge] = []
    for a in sorted(m.lineage.ancestors, key=lambda a: a.depth):
        if a.subject not in nodes:
            lic = ", ".join(a.license.keys) if a.license and a.license.keys else "unknown"
            cls = "unknown" if a.license is None or not a.license.keys else ""
            if a.subject in blamed:
                cls = (cls + " conflict").strip()
            nodes[a.subject] = _Node(a.subject, lic, a.depth, cls)
        edges.append(_Edge(a.parent if a.parent in nodes else m.subject, a.subject, a.relation, a.inferred))
    return list(nodes.values()), edges


def _lineage(m: ModelResult, findings: Sequence[Finding]) -> str:
    nodes, edges = _graph_parts(m, findings)
    rows: dict[int, list[_Node]] = {}
    for n in nodes:
        rows.setdefault(n.depth, []).append(n)
    width = max(len(r) for r in rows.values()) * (_W + _GAP_X) - _GAP_X + 2 * _PAD
    height = len(rows) * (_H + _GAP_Y) - _GAP_Y + 2 * _PAD
    at: dict[str, tuple[int, int]] = {}
    for row, (_, members) in enumerate(sorted(rows.items())):
        offset = (width - 2 * _PAD - (len(members) * (_W + _GAP_X) - _GAP_X)) // 2
        for i, n in enumerate(members):
            at[n.subject] = (_PAD + offset + i * (_W + _GAP_X), _PAD + row * (_H + _GAP_Y))
    out = [f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="lineage of {_t(m.subject)}">']
    for e in edges:
        (x1, y1), (x2, y2) = at[e.child], at[e.base]
        sx, sy, ex, ey = x1 + _W // 2, y1 + _H, x2 + _W // 2, y2
        cls = "edge inferred" if e.inferred else "edge"
        out.append(f'<path class="{cls}" data-from="{_t(e.child)}" data-to="{_t(e.base)}" '
                   f'data-inferred="{str(e.inferred).lower()}" d="M{sx},{sy} C{sx},{sy + 28} {ex},{ey - 28} {ex},{ey}"/>')
        label = e.relation + (" (inferred)" if e.inferred else "")
        out.append(f'<text class="rel" x="{(sx + ex) // 2 + 6}" y="{(sy + ey) // 2 + 4}">{_t(label)}</text>')
    for n in nodes:
        x, y = at[n.subject]
        out.append(f'<g class="node {n.cls}" data-subject="{_t(n.subject)}" data-license="{_t(n.license)}">'
                   f"<title>{_t(n.subject)}: {_t(n.license)}</title>"
                   f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6"/>'
                   f'<text x="{x + 8}" y="{y + 19}">{_t(_short(n.subject, 34, tail=not is_hub_id(n.subject)))}</text>'
                   f'<text class="lic" x="{x + 8}" y="{y + 37}">{_t(_short(n.license, 36))}'
                   + (" ⚠ conflict" if "conflict" in n.cls else "") + "</text></g>")
    out.append("</svg>")
    legend = ('<p class="legend">Arrows point from a model to its base. Dashed edge: inferred (not declared in '
              "base_model). Red node: license conflict. Dashed node: license unknown.</p>")
    return '<h3>Lineage</h3><div class="scroll">' + "".join(out) + "</div>" + legend


# --- the document ---------------------------------------------------------------------------------------------

def _model_section(i: int, m: ModelResult, findings: Sequence[Finding], owed: Sequence[Obligation]) -> str:
    word = verdict(m.passed)
    return (f'<section class="model" id="model-{i}" data-subject="{_t(m.subject)}" data-verdict="{word}">'
            f'<h2><span class="badge {word}">{word.upper()}</span> {_t(m.subject)}</h2>'
            + _facts(m) + _findings(findings) + _obligations(owed) + _openness(m) + _lineage(m, findings)
            + "</section>")


def _others(report: AuditReport, grouped: dict[str, list[Finding]]) -> str:
    subjects = {m.subject for m in report.models}
    parts = []
    for subject in sorted((s for s in grouped if s not in subjects), key=subject_order):
        parts.append(f'<section class="other" data-subject="{_t(subject)}"><h2>{_t(subject)}</h2>'
                     + _findings(grouped[subject]) + "</section>")
    if report.errors:
        items = "".join(f"<li><code>{_t(e.input)}</code>: {_t(e.message)}</li>" for e in report.errors)
        parts.append(f'<section class="other errors"><h2>Inputs that could not be read</h2><ul>{items}</ul></section>')
    if report.skipped:
        items = "".join(f"<li><code>{_t(s.input)}</code>: {_t(s.reason)}</li>" for s in report.skipped)
        parts.append(f'<section class="other"><h2>Skipped</h2><ul>{items}</ul></section>')
    return "".join(parts)


def _header(report: AuditReport) -> str:
    word = run_verdict(report.passed)
    passed = sum(1 for m in report.models if m.passed)
    failing = sum(1 for f in report.findings if f.outcome is not Outcome.WAIVED)
    return (f'<header id="verdict" class="verdict {"pass" if report.passed else "fail"}" data-verdict="{word}">'
            f"<h1>mlaudit: {word.upper()}</h1><p>{len(report.models)} model(s): {passed} passed, "
            f"{len(report.models) - passed} failed, {len(report.errors)} unreadable; {failing} open finding(s). "
            f"Policy <code>{_t(report.policy_name)}</code> (sha256 {_t(report.policy_sha256[:12])}).</p></header>")


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    findings = by_subject(report.findings)
    owed = by_subject(report.obligations)
    nav = "".join(f'<li><a href="#model-{i}">{_t(m.subject)}</a> — {verdict(m.passed)}</li>'
                  for i, m in enumerate(report.models))
    body = "".join(_model_section(i, m, findings.get(m.subject, []), owed.get(m.subject, []))
                   for i, m in enumerate(report.models))
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>mlaudit: {run_verdict(report.passed)}</title><style>{_CSS}</style></head><body>"
            + _header(report)
            + (f'<nav aria-label="models"><ul>{nav}</ul></nav>' if len(report.models) > 1 else "")
            + f"<main>{body}{_others(report, findings)}</main>"
            f"<footer>mlaudit {_t(report.tool_version)} · policy sha256 <code>{_t(report.policy_sha256)}</code>"
            "</footer></body></html>\n")
