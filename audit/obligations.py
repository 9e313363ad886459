"""What a user still owes when a model passes: license copies, notices, attribution, naming, pass-down.

Derived from the catalog's condition terms of every license in the model's effective set; an
obligation inherited from an ancestor names it in `via`.
"""
from __future__ import annotations

from audit.licenses.catalog import License, Term, catalog
from audit.model import Effective, Obligation

_KINDS = (
    "include-license",
    "include-notice",
    "attribution-text",
    "name-prefix",
    "pass-use-restrictions",
    "acceptable-use-policy",
    "same-license",
    "disclose-source",
    "network-use-disclose",
    "state-changes",
    "display-name",
)


def _text(lic: License, term: Term) -> str:
    p = term.params
    name = lic.name
    if term.id == "include-license":
        return f"Include a copy of the {name} with every copy of the model or derivative you distribute."
    if term.id == "include-notice":
        if p.get("text"):
            return f'Ship a notice with the model stating: "{p["text"]}".'
        return f"Keep the copyright and attribution notices of the {name} in what you distribute."
    if term.id == "attribution-text":
        if p.get("duty"):  # the duty as the license states it (publications, public statements, documentation)
            return str(p["duty"])
        return f'Display "{p.get("text", "the attribution the license names")}" with products or services built on the model.'
    if term.id == "name-prefix":
        return f'A model derived from it that you distribute must have a name starting with "{p.get("prefix")}".'
    if term.id == "pass-use-restrictions":
        return f"Pass the use restrictions of the {name} on to downstream users, in the terms you distribute under."
    if term.id == "acceptable-use-policy":
        pol = p.get("policy")
        aup = catalog().get(pol) if pol else None
        ref = aup.name if aup else (pol or p.get("url") or "its acceptable use policy")
        return f"Use the model only as the {ref} allows, and keep to its updates."
    if term.id == "same-license":
        return f"Distribute derivatives under the {name} (or a compatible license)."
    if term.id == "disclose-source":
        return f"Make the source of what you distribute available under the {name}."
    if term.id == "network-use-disclose":
        return f"Offer the source to users who interact with it over a network, as the {name} requires."
    if term.id == "state-changes":
        return "Mark the files you changed as changed."
    if term.id == "display-name":
        return f'Above the license\'s size threshold, show "{p.get("text", "the model name")}" in your product\'s user interface.'
    return f"{term.id} ({name})"


def obligations_for(subject: str, effective: Effective, also: tuple[str, ...] = ()) -> list[Obligation]:
    """What the effective license requires; `also`: the model's own keys that still bind though superseded."""
    cat = catalog()
    out: list[Obligation] = []
    seen: set[tuple[str, str, str]] = set()
    for key in effective.binding(also):
        lic = cat.get(key)
        if lic is None:
            continue
        via = effective.sources.get(key)
        via = via if via and via != subject else None
        for term in lic.conditions:
            if term.id not in _KINDS:
                continue
            text = _text(lic, term)
            if (key, term.id, text) in seen:
                continue
            seen.add((key, term.id, text))
            out.append(Obligation(subject, key, term.id, text, via))
    return out
