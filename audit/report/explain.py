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


def render_list(fmt: str = "text") -> str:
    """`mlaudit explain --list`: every catalogued license with its category."""
    from audit.licenses.catalog import catalog

    lics = sorted(catalog().all(), key=lambda lic: lic.key)
    if fmt == "json":
        return json.dumps([{"key": x.key, "name": x.name, "category": x.category} for x in lics], indent=2) + "\n"
    width = max(len(x.key) for x in lics)
    return "".join(f"{x.key:<{width}}  {x.category:<24}  {x.name}\n" for x in lics)


def family_matches(word: str) -> list[License]:
    """Catalogued licenses a family word names ('mistral', 'falcon'): the word starts a word of the key, family or
    name. Empty for a word shorter than three letters."""
    import re

    from audit.licenses.catalog import catalog

    w = word.strip().lower()
    if len(w) < 3:
        return []
    rx = re.compile(rf"(?<![a-z0-9]){re.escape(w)}")
    return sorted((x for x in catalog().all() if rx.search(" ".join((x.key, x.family or "", x.name)).lower())),
                  key=lambda x: x.key)


def explain_text(target: str, fmt: str = "text") -> str | None:
    """What `mlaudit explain TARGET` prints: a license (key, Hub id, SPDX id or name), a registry repo id (its
    license, offline), or the licenses a family word matches. None when nothing matches."""
    from audit.licenses.catalog import catalog
    from audit.registry import load_registry

    cat = catalog()
    key = target if target in cat else cat.lookup(target)
    if key is not None:
        return render_license(cat[key], fmt)
    if "/" in target:
        entry = load_registry().model(target) or load_registry().dataset(target)
        if entry is not None:
            return _render_repo(entry, fmt)
    matches = family_matches(target)
    if not matches:
        return None
    if fmt == "json":
        return json.dumps([{"key": x.key, "name": x.name, "category": x.category} for x in matches], indent=2) + "\n"
    lines = [f"'{target}' names {len(matches)} licenses; explain one by its key:"]
    lines += [f"  {x.key:<40} {x.category:<24} {x.name}" for x in matches]
    return "\n".join(lines) + "\n"


def _render_repo(entry: Any, fmt: str) -> str:
    from audit.licenses.catalog import catalog

    cat = catalog()
    info = {"repo": entry.id, "declared": entry.license, "key": entry.key, "also": list(entry.also),
            "confidence": entry.confidence, "evidence": entry.evidence, "evidence_date": entry.evidence_date,
            "unresolved": entry.unresolved,
            "history": [{"date": c.date, "from": c.from_license, "from_key": c.from_key, "to": c.to_license}
                        for c in entry.history]}
    if fmt == "json":
        if entry.key in cat:
            info["license"] = license_dict(cat[entry.key])
        return json.dumps(info, indent=2) + "\n"
    head = [f"{entry.id}: declared {entry.license or 'no license'} (registry, {entry.confidence} confidence, "
            f"facts of {entry.evidence_date}; offline)"]
    if entry.also:
        head.append(f"  the declaration also names: {', '.join(entry.also)} (the license below governs the weights)")
    for c in entry.history:
        when = c.date.replace("..", " (changed by ") + ")" if c.date and ".." in c.date else c.date or "an unknown date"
        head.append(f"  before {when}: {c.from_license} ({c.from_key or 'not catalogued'})")
    if entry.key not in cat:
        head.append(f"  no catalogued license: {entry.unresolved or 'unknown'}")
        return "\n".join(head) + "\n"
    return "\n".join(head) + "\n\n" + render_license(cat[entry.key], fmt)
