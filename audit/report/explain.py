"""`mlaudit explain`: one catalog entry, for people (text) or machines (json)."""
from __future__ import annotations

import json
from typing import Any

from audit.licenses.catalog import License, Term

_HEAD = {"permissions": "Allows", "conditions": "Requires", "limitations": "Forbids / limits"}


def _term(t: Term) -> str:
    params = ", ".join(f"{k}: {v}" for k, v in t.params.items())
    out = t.id + (f" ({params})" if params else "")
    if t.note:
        out += f" - {t.note}"
    if t.clause:
        out += f" [{t.clause}]"
    return out


def license_dict(lic: License) -> dict[str, Any]:
    return {
        "key": lic.key,
        "name": lic.name,
        "version": lic.version,
        "date": lic.date,
        "category": lic.category,
        "spdx": lic.spdx,
        "hub_id": lic.hub_id,
        "scancode": lic.scancode,
        "url": lic.url,
        "summary": lic.summary,
        "terms": {
            kind: [{"id": t.id, **dict(t.params), "clause": t.clause, "note": t.note} for t in lic.terms if t.kind == kind]
            for kind in ("permissions", "conditions", "limitations")
        },
        "derivatives": {"relicense": lic.relicense, "allowed": list(lic.allowed_derivative_licenses),
                        "note": lic.derivative_note},
        "companions": list(lic.companions),
        "ambiguous": lic.ambiguous,
    }


def render_license(lic: License, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(license_dict(lic), indent=2) + "\n"
    lines = [f"{lic.name}  [{lic.key}]", f"  category: {lic.category}   SPDX: {lic.spdx}"]
    if lic.version or lic.date:
        lines.append(f"  version: {lic.version or '-'}   date: {lic.date or '-'}")
    if lic.url:
        lines.append(f"  text: {lic.url}")
    lines += ["", f"  {lic.summary}", ""]
    for kind in ("permissions", "conditions", "limitations"):
        terms = [t for t in lic.terms if t.kind == kind]
        if terms:
            lines.append(f"  {_HEAD[kind]}:")
            lines += [f"    - {_term(t)}" for t in terms]
    deriv = "may be relicensed" if lic.relicense else "must stay under this license's terms"
    lines.append(f"  Derivatives (fine-tunes, quantizations, merges): {deriv}"
                 + (f"; also allowed: {', '.join(lic.allowed_derivative_licenses)}" if lic.allowed_derivative_licenses else ""))
    if lic.derivative_note:
        lines.append(f"    {lic.derivative_note}")
    if lic.companions:
        lines.append(f"  Incorporates: {', '.join(lic.companions)}")
    if lic.ambiguous:
        lines.append("  Note: this id names a family of licenses, not one license; mlaudit treats it as undecided.")
    lines.append("  (A summary of facts, not legal advice.)")
    return "\n".join(lines) + "\n"
