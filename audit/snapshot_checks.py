"""Facts and evidence that come from a snapshot as a whole rather than from its card: license-like files that
could not be read, a model audited from the offline registry instead of its own card, and the NOTICE / LICENSE
texts a distributor ships with the model."""
from __future__ import annotations

from audit.model import Evidence, NoticeFile, Snapshot, SourceKind


def unread_evidence(subject: str, snapshot: Snapshot) -> list[Evidence]:
    """A file the audit wanted (a license, a notice, a config) and could not read may hold the terms that
    govern the model: the license is undecided until someone reads it (check `file-unreadable`)."""
    return [Evidence("file-unreadable", subject, f"not read, so its terms are unknown: {p.message}", (p.origin,),
                     unknown=True) for p in snapshot.unread]


def notice_files(snapshot: Snapshot) -> tuple[NoticeFile, ...]:
    """The model's own NOTICE / LICENSE / COPYING texts, which a distributor ships as they are."""
    out = []
    for path, text in sorted(snapshot.texts.items()):
        name = path.rsplit("/", 1)[-1].upper()
        if path != snapshot.card_path and name.startswith(("NOTICE", "LICENSE", "LICENCE", "COPYING")):
            out.append(NoticeFile(path, text))
    return tuple(out)


def registry_evidence(subject: str, snapshot: Snapshot) -> list[Evidence]:
    """A model audited from the offline registry's facts: its own card was not read (check `card-not-read`)."""
    if snapshot.origin.source != SourceKind.REGISTRY:
        return []
    facts = snapshot.info.get("registry") or {}
    why = f"{facts.get('evidence')}, checked {facts.get('evidence_date')}" if facts.get("evidence") else "no evidence recorded"
    return [Evidence("card-not-read", subject,
                     f"audited from mlaudit's offline registry ({why}); the model's own card and files were not read: "
                     f"audit it online, or from the HF cache, to read them", (snapshot.origin,))]
