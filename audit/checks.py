"""Built-in checks on a model's own card and license facts -> Evidence the policy grades.

Lineage, dataset and provenance checks live beside the code that computes those facts
(lineage.py, datasets.py, provenance.py); this module covers the card and its license.
"""
from __future__ import annotations

from audit.model import Evidence, LicenseFacts, ModelCard, Snapshot, Status

# card problems that are worth a finding (the rest are shown in the report only)
_REPORTED_PROBLEMS = {
    "card-british-spelling",
    "card-license-list",
    "card-field-type",
    "card-field-value",
    "card-no-front-matter",
}
# problems that prevent any decision about the card: the input counts as unreadable
BLOCKING_PROBLEMS = {"card-malformed-yaml", "card-yaml-alias", "card-front-matter-too-large", "card-front-matter-unclosed"}


def license_evidence(subject: str, card: ModelCard | None, facts: LicenseFacts, snapshot: Snapshot | None) -> list[Evidence]:
    out: list[Evidence] = []
    if card is None:
        out.append(Evidence("card-missing", subject, "the model has no model card (README.md)",
                            (snapshot.origin,) if snapshot else ()))
    else:
        for p in card.problems:
            if p.code in _REPORTED_PROBLEMS:
                out.append(Evidence("card-problem", subject, p.message, (p.origin,)))
    if facts.status is Status.UNKNOWN:
        origins = tuple(d.origin for d in facts.declarations[:3]) or ((card.origin,) if card else ())
        out.append(Evidence("license-unknown", subject, f"license unknown: {facts.reason}", origins, unknown=True))
    for dis in facts.disagreements:
        check = {"license-file": "license-file-mismatch", "body": "license-body-mismatch"}.get(dis.b.kind, "license-conflict")
        out.append(Evidence(check, subject, dis.message, (dis.a.origin, dis.b.origin), unknown=check == "license-conflict"))
    for d in facts.declarations:
        if d.kind not in ("license-file", "license-link") or not d.note:
            continue
        verdict = d.note.split(",", 1)[0]
        if verdict in ("modified", "truncated", "translation", "stub"):
            out.append(Evidence("license-text-modified", subject,
                                f"{d.origin.file} is a {verdict} copy of {d.value} ({d.note})", (d.origin,)))
        elif verdict == "unknown":
            out.append(Evidence("license-text-unknown", subject,
                                f"{d.origin.file} is not a license text mlaudit recognises", (d.origin,), unknown=True))
    return out
