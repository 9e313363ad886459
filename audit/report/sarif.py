"""SARIF 2.1.0 for GitHub code scanning (and any SARIF reader): findings as results on repository files.

Code scanning accepts only files of the repository as locations, so every physical location here is a path
relative to the repository root (`%SRCROOT%`): the git root above the scanned directory. A finding sits on
every source line that references its model (report.scan.references); a finding about a model no code line
names sits on the model's own card when that card is a file of the repository, and otherwise has only a
logical location (the model id). Evidence outside the repository (a Hub card at a pinned commit, the offline
registry, a path elsewhere on this machine) travels in the result's properties, never as a location, and the
registry is named as such, never as a made-up URL. Waived findings stay in the log with an accepted
suppression, so the waiver is visible in the code-scanning UI instead of the result silently disappearing.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from audit.config import project_root
from audit.model import AuditReport, Finding, Origin, Outcome, Reference, RuleInfo, Severity, SourceKind
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import HUB, evidence_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/mlaudit/"
SRCROOT = "%SRCROOT%"  # uriBaseId of paths relative to the repository root (the name CodeQL uses)
MAX_RESULTS = 25_000  # GitHub code scanning keeps at most this many results per run
MAX_LOCATIONS = 10  # ... and this many locations per result
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    return json.dumps(sarif_log(report, options), indent=2, ensure_ascii=False) + "\n"


def repository_root(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The checkout the locations are relative to: as given, else the git root above the scanned directory (or
    above the current directory), else that directory itself."""
    if options.repository_root:
        return os.path.abspath(options.repository_root)
    start = report.scan.root if report.scan is not None else os.getcwd()
    start = os.path.dirname(start) if os.path.isfile(start) else start  # `scan FILE`: the file's directory
    return project_root(start)


def sarif_log(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, Any]:
    root = repository_root(report, options)
    scan_root = report.scan.root if report.scan is not None else root
    references = _references_by_model(report.scan.references if report.scan else (), scan_root, root)
    infos = {r.id: r for r in report.rules}
    per_rule: dict[str, list[Finding]] = {}  # rules in the order their first finding comes
    for f in report.findings:
        per_rule.setdefault(f.rule, []).append(f)
    rules = [_rule(findings, infos.get(rule)) for rule, findings in per_rule.items()]
    rule_index = {rule: i for i, rule in enumerate(per_rule)}

    results = []
    for f in report.findings:
        for location in _locations(f, references, root):
            results.append(_result(f, rule_index[f.rule], location, root))
    truncated = len(results) > MAX_RESULTS
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlaudit",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report, truncated)],
        "results": results[:MAX_RESULTS],
        "originalUriBaseIds": {SRCROOT: {"uri": _dir_uri(root)}},
        "properties": {
            "policy": {"name": report.policy_name, "sha256": report.policy_sha256},
            "passed": report.passed,
            "models": [{"subject": m.subject, "revision": m.revision, "passed": m.passed} for m in report.models],
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


# --- rules ---------------------------------------------------------------------------------------------

def _rule(findings: list[Finding], info: RuleInfo | None) -> dict[str, Any]:
    """A policy rule, described by the policy where it says something, else by its findings."""
    first = findings[0]
    remediation = (info.remediation if info else None) or next((f.remediation for f in findings if f.remediation), None)
    description = (info.description if info else None) or _default_description(first)
    full = description if not first.check or first.check == first.rule else f"{description} (built-in check {first.check})"
    help_text = remediation or f"Review the model's license terms against policy rule {first.rule}."
    rule: dict[str, Any] = {
        "id": first.rule,
        "name": _pascal(first.rule),
        "shortDescription": {"text": description},
        "fullDescription": {"text": full, "markdown": _md(full)},
        "help": {"text": f"{full}\n\nHow to fix: {help_text}",
                 "markdown": f"{_md(full)}\n\n**How to fix:** {_md(help_text)}"},
        "defaultConfiguration": {"level": _LEVEL[max((f.severity for f in findings), key=lambda s: s.rank)]},
        "properties": {"tags": sorted({"license", "mlaudit"} | ({first.check} if first.check else set()))},
    }
    help_uri = next((u for u in (info.references if info else ()) if u.startswith(("http://", "https://"))), None)
    rule["helpUri"] = help_uri or INFORMATION_URI
    return rule


def _md(text: str) -> str:
    """Plain text as inert Markdown: no link, image, HTML or emphasis made by a policy's or a card's words."""
    out = []
    for ch in text:
        out.append("\\" + ch if ch in "\\`*_{}[]()#+!<>|" else ch)
    return "".join(out)


def _default_description(f: Finding) -> str:
    if f.check and f.check != f.rule:
        return f"Policy rule '{f.rule}' (graded check '{f.check}')"
    return f"Policy rule '{f.rule}'"


def _pascal(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


# --- results -------------------------------------------------------------------------------------------

def _result(f: Finding, index: int, location: dict[str, Any], root: str) -> dict[str, Any]:
    text = f"{f.subject}: {f.message}"
    if f.outcome is Outcome.UNKNOWN:
        text = f"Could not be decided (fails closed): {text}"
    if f.remediation:
        text = f"{text.rstrip('.')}. Fix: {f.remediation}"
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "kind": "fail",
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"mlauditFinding/v2": _fingerprint(f, location)},
        "properties": {
            "subject": f.subject,
            "outcome": f.outcome.value,
            "severity": f.severity.value,
            **({"check": f.check} if f.check else {}),
        },
    }
    # evidence in the repository goes along as related locations; the rest (Hub cards, the registry, files
    # elsewhere) as properties, since code scanning takes no location outside the repository
    related, outside = [], []
    for i, o in enumerate(f.evidence):
        physical = _repo_physical(o, root)
        if physical is None:
            outside.append(_evidence_property(o, f.subject))
        elif physical != location.get("physicalLocation"):
            related.append({"id": i, "physicalLocation": physical,
                            "message": {"text": f"evidence: {evidence_text(o, f.subject)}"}})
    if related:
        result["relatedLocations"] = related[:MAX_LOCATIONS]
    if outside:
        result["properties"]["evidence"] = outside
    if f.outcome is Outcome.WAIVED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f.waiver or "waived by policy"}
        ]
    return result


def _fingerprint(f: Finding, location: dict[str, Any]) -> str:
    # one per location, stable across runs and line moves: what was found about which model, and in which file
    where = (location.get("physicalLocation") or {}).get("artifactLocation", {}).get("uri", "")
    key = "\x1f".join((f.rule, f.check or "", f.subject, where))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _evidence_property(o: Origin, subject: str) -> dict[str, Any]:
    out: dict[str, Any] = {"text": evidence_text(o, subject), "source": str(o.source)}
    if o.source == SourceKind.REGISTRY:
        out["text"] = f"mlaudit offline registry entry for {o.locator}"
    elif o.source in (SourceKind.HUB, SourceKind.CACHE) and o.locator and not os.path.isabs(o.file or ""):
        rev = o.revision or "main"
        out["url"] = f"{HUB}/{o.locator}/blob/{rev}/{o.file}" if o.file else f"{HUB}/{o.locator}/tree/{rev}"
    if o.line:
        out["line"] = o.line
    return out


def _locations(f: Finding, references: Mapping[str, list[dict[str, Any]]], root: str) -> list[dict[str, Any]]:
    refs = references.get(f.subject) or references.get(f.subject.lower()) or []
    if refs:
        return [{**r, "message": {"text": f"{f.subject} is referenced here"}} for r in refs]
    for origin in f.evidence:
        physical = _repo_physical(origin, root)
        if physical is not None:
            return [{"physicalLocation": physical, "logicalLocations": [_logical(f.subject)]}]
    return [{"logicalLocations": [_logical(f.subject)]}]


def _references_by_model(refs: Iterable[Reference], scan_root: str, root: str) -> dict[str, list[dict[str, Any]]]:
    """Locations of the resolved references per model id (as written and lower-cased), one per file and line."""
    out: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, set[tuple[str, int]]] = {}
    for r in sorted(refs, key=lambda r: (r.file, r.line)):
        if not r.model or not r.file:
            continue
        uri = _repo_uri(os.path.join(scan_root, r.file), root)
        if uri is None:
            continue
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
        if r.line > 0:
            physical["region"] = {"startLine": r.line}
        for key in {r.model, r.model.lower()}:
            if (uri, r.line) in seen.setdefault(key, set()):
                continue
            seen[key].add((uri, r.line))
            out.setdefault(key, []).append({"physicalLocation": physical, "logicalLocations": [_logical(r.model)]})
    return out


def _repo_physical(o: Origin, root: str) -> dict[str, Any] | None:
    """The evidence's place as a file of the repository, or None when it is not one."""
    if o.source not in (SourceKind.LOCAL, SourceKind.CARD, SourceKind.CODEBASE) or (not o.file and not o.locator):
        return None
    if o.source == SourceKind.CARD:
        path = o.locator
    elif o.file and os.path.isabs(o.file):
        path = o.file
    else:
        path = os.path.join(o.locator, o.file or "")
    uri = _repo_uri(path, root)
    if uri is None:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
    if o.line and o.line > 0:
        physical["region"] = {"startLine": o.line}
    return physical


def _repo_uri(path: str, root: str) -> str | None:
    """A path as a URI relative to the repository root; None when it lies outside the repository."""
    full = os.path.abspath(path)
    if os.path.commonpath([full, root]) != root or full == root:
        return None
    return quote(os.path.relpath(full, root).replace(os.sep, "/"))


def _dir_uri(path: str) -> str:
    from pathlib import PurePosixPath

    uri = PurePosixPath(os.path.abspath(path)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _logical(subject: str) -> dict[str, Any]:
    return {"name": subject, "fullyQualifiedName": subject, "kind": "resource"}


def _invocation(report: AuditReport, truncated: bool) -> dict[str, Any]:
    inv: dict[str, Any] = {"executionSuccessful": not report.errors}
    notes = [{"level": "error", "message": {"text": f"{e.input}: {e.message}"}} for e in report.errors]
    if truncated:
        notes.append({"level": "warning", "message": {"text": f"only the first {MAX_RESULTS} results are included"}})
    if notes:
        inv["toolExecutionNotifications"] = notes
    return inv
