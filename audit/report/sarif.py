"""SARIF 2.1.0: findings as code-scanning results, located where the code names the model.

A finding is placed at every source line that references its model (report.scan.references, as
written by `mlaudit scan`); a finding about a model no code line names is placed at the model card
line its evidence points to. Waived findings stay in the log with an accepted suppression, so the
waiver is visible in the code-scanning UI instead of the result silently disappearing.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from audit.model import AuditReport, Finding, Origin, Outcome, Reference, RuleInfo, Severity
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import HUB, evidence_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"  # uriBaseId of paths relative to the scanned codebase (the name CodeQL uses)
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"


def sarif_log(report: AuditReport) -> dict[str, Any]:
    references = _references_by_model(report.scan.references if report.scan else ())
    infos = {r.id: r for r in report.rules}
    per_rule: dict[str, list[Finding]] = {}  # rules in the order their first finding comes
    for f in report.findings:
        per_rule.setdefault(f.rule, []).append(f)
    rules = [_rule(findings, infos.get(rule)) for rule, findings in per_rule.items()]
    rule_index = {rule: i for i, rule in enumerate(per_rule)}

    results = []
    for f in report.findings:
        for location in _locations(f, references):
            results.append(_result(f, rule_index[f.rule], location))

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlaudit",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "results": results,
        "properties": {
            "policy": {"name": report.policy_name, "sha256": report.policy_sha256},
            "passed": report.passed,
            "models": [{"subject": m.subject, "revision": m.revision, "passed": m.passed} for m in report.models],
        },
    }
    if report.scan is not None and report.scan.root:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": _dir_uri(report.scan.root)}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


# --- rules ---------------------------------------------------------------------------------------------

def _rule(findings: list[Finding], info: RuleInfo | None) -> dict[str, Any]:
    """A policy rule, described by the policy where it says something, else by its findings."""
    first = findings[0]
    remediation = (info.remediation if info else None) or next((f.remediation for f in findings if f.remediation), None)
    description = (info.description if info else None) or _default_description(first)
    help_text = remediation or f"Review the model's license terms against policy rule {first.rule}."
    rule: dict[str, Any] = {
        "id": first.rule,
        "name": _pascal(first.rule),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description if not first.check or first.check == first.rule
                            else f"{description} (built-in check {first.check})"},
        "help": {"text": help_text, "markdown": f"**How to fix:** {help_text}"},
        "defaultConfiguration": {"level": _LEVEL[max((f.severity for f in findings), key=lambda s: s.rank)]},
        "properties": {"tags": sorted({"license", "mlaudit"} | ({first.check} if first.check else set()))},
    }
    help_uri = next(iter(info.references), None) if info else None
    if help_uri and help_uri.startswith(("http://", "https://")):
        rule["helpUri"] = help_uri
    return rule


def _default_description(f: Finding) -> str:
    if f.check and f.check != f.rule:
        return f"Policy rule '{f.rule}' (graded check '{f.check}')"
    return f"Policy rule '{f.rule}'"


def _pascal(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


# --- results -------------------------------------------------------------------------------------------

def _result(f: Finding, index: int, location: dict[str, Any]) -> dict[str, Any]:
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
        "partialFingerprints": {"mlauditFinding/v1": _fingerprint(f)},
        "properties": {
            "subject": f.subject,
            "outcome": f.outcome.value,
            "severity": f.severity.value,
            **({"check": f.check} if f.check else {}),
        },
    }
    # the evidence (card line, ancestor card...) travels along, minus the one used as primary location
    related = [r for r in (_physical(o, i, f.subject) for i, o in enumerate(f.evidence)) if r is not None]
    related = [r for r in related if r["physicalLocation"] != location.get("physicalLocation")]
    if related:
        result["relatedLocations"] = related
    if f.outcome is Outcome.WAIVED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f.waiver or "waived by policy"}
        ]
    return result


def _fingerprint(f: Finding) -> str:
    # stable across runs and line moves: what was found about which model, not where
    key = "\x1f".join((f.rule, f.check or "", f.subject))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _locations(f: Finding, references: Mapping[str, list[Reference]]) -> list[dict[str, Any]]:
    refs = references.get(f.subject) or references.get(f.subject.lower()) or []
    if refs:
        return [_reference_location(r, f.subject) for r in refs]
    for origin in f.evidence:
        loc = _physical(origin)
        if loc is not None:
            loc["logicalLocations"] = [_logical(f.subject)]
            return [loc]
    return [{"logicalLocations": [_logical(f.subject)]}]


def _references_by_model(refs: Iterable[Reference]) -> dict[str, list[Reference]]:
    """Resolved references per model id (as written and lower-cased), one per file and line, in file order."""
    out: dict[str, list[Reference]] = {}
    for r in refs:
        if not r.model or not r.file:
            continue
        for key in {r.model, r.model.lower()}:
            bucket = out.setdefault(key, [])
            if not any(b.file == r.file and b.line == r.line for b in bucket):
                bucket.append(r)
    for bucket in out.values():
        bucket.sort(key=lambda r: (r.file, r.line))
    return out


def _reference_location(r: Reference, subject: str) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _rel_uri(r.file), "uriBaseId": SRCROOT}}
    if r.line > 0:
        physical["region"] = {"startLine": r.line}
    return {
        "physicalLocation": physical,
        "logicalLocations": [_logical(subject)],
        "message": {"text": f"{subject} is referenced here ({r.kind})"},
    }


def _physical(o: Origin, index: int | None = None, subject: str = "") -> dict[str, Any] | None:
    uri = _origin_uri(o)
    if uri is None:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if o.line and o.line > 0:
        physical["region"] = {"startLine": o.line}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if index is not None:
        loc["id"] = index
        loc["message"] = {"text": f"evidence: {evidence_text(o, subject)}"}
    return loc


def _origin_uri(o: Origin) -> str | None:
    """Where a piece of evidence lives: a Hub URL at the pinned revision, or a local file."""
    path = o.file
    if o.source in ("hub", "registry") or (o.source == "cache" and path and not _is_abs(path)):
        if not o.locator:
            return None
        rev = o.revision or "main"
        return f"{HUB}/{o.locator}/blob/{rev}/{path}" if path else f"{HUB}/{o.locator}/tree/{rev}"
    if path and _is_abs(path):
        return _file_uri(path)
    if path and o.locator and o.source == "local":
        joined = f"{o.locator.rstrip('/')}/{path}"
        return _file_uri(joined) if _is_abs(joined) else _rel_uri(joined)
    if path:
        return _rel_uri(path)
    if o.locator and _is_abs(o.locator):
        return _file_uri(o.locator)
    return None


def _is_abs(path: str) -> bool:
    return path.startswith("/") or PureWindowsPath(path).is_absolute()


def _file_uri(path: str) -> str:
    if PureWindowsPath(path).drive:
        return PureWindowsPath(path).as_uri()
    return PurePosixPath(path).as_uri()


def _dir_uri(path: str) -> str:
    uri = _file_uri(path) if _is_abs(path) else _rel_uri(path)
    return uri if uri.endswith("/") else uri + "/"


def _rel_uri(path: str) -> str:
    from urllib.parse import quote

    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return quote(path)


def _logical(subject: str) -> dict[str, Any]:
    return {"name": subject, "fullyQualifiedName": subject, "kind": "resource"}


def _invocation(report: AuditReport) -> dict[str, Any]:
    inv: dict[str, Any] = {"executionSuccessful": not report.errors}
    if report.errors:
        inv["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": f"{e.input}: {e.message}"}} for e in report.errors
        ]
    return inv
