"""JSON report: the stable, versioned contract of DESIGN.md (`mlaudit.report/1`).

Fields may be added; none may be renamed or removed without bumping the schema version. The shape is
audit/report/schemas/report.schema.json: a new field goes into it in the same change (additionalProperties
is false, so tests/test_report_schemas.py fails on a field the schema does not know).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from audit.licenses.normalize import declared_keys
from audit.model import AuditReport, ModelResult, RuleInfo
from audit.report import DEFAULT_OPTIONS, RenderOptions


def model_dict(m: ModelResult) -> dict[str, Any]:
    card = m.card
    declared = {
        "license": (list(card.license) if len(card.license) > 1 else (card.license[0] if card.license else None))
        if card
        else None,
        "license_name": card.license_name if card else None,
        "license_link": card.license_link if card else None,
        "keys": list(declared_keys(m.license)),
    }
    return {
        "subject": m.subject,
        "revision": m.revision,
        "source": m.origin.source,
        "passed": m.passed,
        "declared": declared,
        "license": {
            **m.license.to_dict(),
            "reason": m.license.reason,
            "declarations": [d.to_dict() for d in m.license.declarations],
            "disagreements": [d.message for d in m.license.disagreements],
        },
        "effective": m.effective.to_dict(),
        "relation": m.lineage.relation,
        "base_models": list(card.base_models) if card else [],
        "lineage": [a.to_dict() for a in m.lineage.ancestors],
        "datasets": [d.to_dict() for d in m.datasets],
        "provenance": dict(m.provenance),
        "openness": m.openness.to_dict() if m.openness is not None else None,
        "problems": [p.to_dict() for p in (card.problems if card else ())]
        + [p.to_dict() for p in m.lineage.problems],
    }


def report_dict(report: AuditReport) -> dict[str, Any]:
    return {
        "schema": report.schema,
        "tool": {"name": "mlaudit", "version": report.tool_version},
        "policy": {"name": report.policy_name, "sha256": report.policy_sha256, "fail_on": report.fail_on.value},
        "passed": report.passed,
        "summary": {
            "models": len(report.models),
            "passed": sum(1 for m in report.models if m.passed),
            "failed": sum(1 for m in report.models if not m.passed),
            "errors": len(report.errors),
            "findings": len(report.findings),
        },
        "models": [model_dict(m) for m in report.models],
        "findings": [f.to_dict() for f in report.findings],
        "obligations": [o.to_dict() for o in report.obligations],
        "errors": [e.to_dict() for e in report.errors],
        "rules": {r.id: rule_dict(r) for r in report.rules},
        **_optional(report),
    }


def rule_dict(r: RuleInfo) -> dict[str, Any]:
    return {"description": r.description, "severity": r.severity.value, "remediation": r.remediation,
            "references": list(r.references)}


def _optional(report: AuditReport) -> dict[str, Any]:
    """Sections only some runs have: present when the run had them, absent otherwise."""
    out: dict[str, Any] = {}
    if report.scan is not None:
        out["references"] = [r.to_dict() for r in report.scan.references]
        out["scan_root"] = report.scan.root
    if report.baseline is not None:
        out["baseline"] = asdict(report.baseline)
    if report.lock is not None:
        lock = asdict(report.lock)
        lock["newer_revisions"] = [{**n, "license": list(n["license"])} for n in lock["newer_revisions"]]
        out["lock"] = lock
    if report.generated_at is not None:
        out["generated_at"] = report.generated_at
    if report.skipped:
        out["skipped"] = [s.to_dict() for s in report.skipped]
    return out


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    # compact by default: json's C encoder only runs without indent, and large reports are read by tools
    if options.pretty:
        return json.dumps(report_dict(report), indent=2, default=str) + "\n"
    return json.dumps(report_dict(report), separators=(",", ":"), default=str) + "\n"
