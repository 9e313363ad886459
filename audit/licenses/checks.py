"""Built-in checks on a model's own card and license facts -> Evidence the policy grades.

Lineage, dataset and provenance checks live beside the code that computes those facts
(lineage.py, datasets.py, provenance.py); this module covers the card and its license.
Every id emitted here is registered in audit/checks.py.
"""
from __future__ import annotations

from audit.licenses.catalog import catalog
from audit.licenses.normalize import LIMITING_TERMS
from audit.model import Declaration, Disagreement, Evidence, LicenseFacts, ModelCard, Snapshot, Status

# card problems that are worth a finding (the rest are shown in the report only)
_REPORTED_PROBLEMS = frozenset({
    "card-british-spelling",
    "card-license-list",
    "card-field-type",
    "card-field-value",
    "card-no-front-matter",
    "card-front-matter-displaced",
})
# problems that prevent any decision about the card: the input counts as unreadable
BLOCKING_PROBLEMS = frozenset(
    {"card-malformed-yaml", "card-yaml-alias", "card-front-matter-too-large", "card-front-matter-unclosed"}
)
# what a license file or linked text can be besides an exact copy (the verdicts of audit.licenses.identify)
_CHANGED_TEXT = ("modified", "truncated", "translation", "stub")


def _limits_beyond(dis: Disagreement, keys: tuple[str, ...], says: str) -> str | None:
    """The message of a disagreement whose other license (a license file's, one the body names) limits use
    (non-commercial, research-only) where the declared `keys` do not, `says` saying what follows; None when it
    limits nothing more. Such a limit is what a sentence limiting the model's use says; a software license file
    beside a model license (MIT code, weights under the card's terms) sets none."""
    cat = catalog()
    limits = [t for t in LIMITING_TERMS if any(cat[k].has(t) for k in dis.b.keys if k in cat)
              and not any(cat[k].has(t) for k in keys if k in cat)]
    return f"{dis.message}; {says.format(' and '.join(limits))}" if limits else None


def license_evidence(subject: str, card: ModelCard | None, facts: LicenseFacts, snapshot: Snapshot | None) -> list[Evidence]:
    out: list[Evidence] = []
    if card is None:
        out.append(Evidence("card-missing", subject, "the model has no model card (README.md)",
                            (snapshot.origin,) if snapshot else ()))
    else:
        for p in card.problems:
            if p.code in _REPORTED_PROBLEMS:
                out.append(Evidence("card-problem", subject, p.message, (p.origin,)))
            elif p.code == "card-duplicate-key":  # which value counts depends on the reader: undecidable
                out.append(Evidence("card-duplicate-key", subject, p.message, (p.origin,), unknown=True))
    if facts.status is Status.UNKNOWN:
        origins = tuple(d.origin for d in facts.declarations[:3]) or ((card.origin,) if card else ())
        out.append(Evidence("license-unknown", subject, f"license unknown: {facts.reason}", origins, unknown=True))
    for dis in facts.disagreements:
        where = (dis.a.origin, dis.b.origin)
        # another license that limits use where the declared one does not may be what governs the weights: undecided
        if dis.b.kind == "license-file":
            limited = _limits_beyond(dis, facts.keys, "the file limits use to {}, the card's license does not, so "
                                                      "which governs is undecided")
            out.append(Evidence("license-conflict", subject, limited, where, unknown=True) if limited
                       else Evidence("license-file-mismatch", subject, dis.message, where))
        elif dis.b.kind == "body":
            limited = _limits_beyond(dis, facts.keys, "that license limits use to {}, the declared one does not")
            out.append(Evidence("license-statement-conflict", subject, limited, where, unknown=True) if limited
                       else Evidence("license-body-mismatch", subject, dis.message, where))
        elif dis.b.kind == "statement":  # prose about this model's weights contradicts its declared license
            out.append(Evidence("license-statement-conflict", subject, dis.message, where, unknown=True))
        elif dis.b.kind == "intended-use":  # what the publisher meant it for, not a license term: read, not decide
            out.append(Evidence("license-statement-intended-use", subject, dis.message, where))
        else:  # the front-matter fields contradict each other: nothing can be decided
            out.append(Evidence("license-conflict", subject, dis.message, where, unknown=True))
    for d in facts.declarations:
        if d.kind == "license-link-missing" and facts.status is not Status.UNKNOWN:
            # when the license is unknown, license-unknown already says why. The text the declaration points at
            # was not read: undecided, and it fails closed like an unread license file
            out.append(Evidence("license-text-missing", subject,
                                f"license_link {d.note}: the license is taken from what the card names "
                                f"({', '.join(facts.keys)}); its text was not read or compared", (d.origin,),
                                unknown=True))
        verdict = _text_verdict(d)
        if verdict in _CHANGED_TEXT:
            out.append(Evidence("license-text-modified", subject,
                                f"{d.origin.file} is a {verdict} copy of {d.value} ({d.note})", (d.origin,)))
        elif verdict == "unknown":
            out.append(Evidence("license-text-unknown", subject,
                                f"{d.origin.file} is not a license text mlaudit recognises", (d.origin,), unknown=True))
    return out


def _text_verdict(d: Declaration) -> str | None:
    """The identifier's verdict on a license file or linked text (None for other declarations)."""
    if d.kind not in ("license-file", "license-link") or not d.note:
        return None
    return d.note.split(",", 1)[0]

