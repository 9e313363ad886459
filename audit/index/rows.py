"""The per-row stage: one dump row -> one index row, by the same functions `check` runs on a card.

    card text -> parse_card -> license_facts -> find_bases (declared bases, or the base the registry records for a publisher's own model, else inferred tiers) + infer_relation

Declared bases (base_model, the Hub's base_model tags) are indexed as they are. A card that declares none gets
the tiers of inferred bases `check` finds in it (audit.lineage.candidates.inferred_tiers, through find_bases:
'Original model: org/name', Hub links in a sentence about the model's origin, merge configurations, families
in the tags and the name ...), each with its evidence (line, field), confidence and note. Which tier counts
depends on what other models are known, so it is chosen on the driver when the graph is closed (build.py,
with the resolver's own pick_tier), as `check` chooses it when it resolves such a model. A row that fails
raises RowError; `process_frame` records it in the `error` column and carries on, so one bad card never stops
a build.

This module imports pandas only inside `process_frame` (the Dask stage); `index_row` is plain Python.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from audit.card import parse_card
from audit.errors import AuditError
from audit.licenses.normalize import license_facts
from audit.lineage.candidates import Candidate, find_bases
from audit.lineage.inherit import declares_license
from audit.lineage.relation import infer_relation
from audit.model import Origin, Snapshot, SourceKind
from audit.sources.base import json_object
from audit.sources.hub import _base_models

if TYPE_CHECKING:
    import pandas as pd

MAX_VALUE = 200  # characters of a declared license value kept in the index
OUT_COLUMNS = ("key", "id", "author", "created", "modified", "card_sha1", "license", "bases", "relation", "tiers",
               "skip", "error", "source", "row")


def dumps(value: Any) -> str:
    """Compact JSON, as the index stores it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class RowError(AuditError):
    """One dump row could not be indexed (named by its source and row number)."""


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _tags(value: Any) -> list[str]:
    """Tags as dumps store them: a list, a numpy array, a JSON string, or nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else value.split(",")
        except ValueError:
            return []
    try:
        return [t.strip() for t in value if isinstance(t, str) and t.strip()]
    except TypeError:
        return []


def _metadata(value: Any) -> Mapping[str, Any]:
    """A model-tree dump's `metadata` column (JSON of the Hub's model info), as a mapping."""
    if isinstance(value, Mapping):
        return value
    return json_object(_text(value))


def card_sha1(card: str | None) -> str | None:
    return hashlib.sha1(card.encode("utf-8", "surrogatepass")).hexdigest() if card else None


def candidate_json(c: Candidate) -> list[Any]:
    """[id, via, confidence, note, [[file, line, field] per evidence origin]]: an inferred base as the index keeps it."""
    return [c.id, c.via, c.confidence, c.note, [[o.file, o.line, o.field] for o in c.evidence]]


def index_row(model_id: str, card_text: str | None, tags: list[str], created: str | None
              ) -> tuple[str, str, str | None, str]:
    """(license JSON, bases JSON, relation, inferred tiers JSON) for one model, as `check` would see its card.
    The relation is that to the declared bases, else to inferred ones (what infer_relation says of a model
    whose bases are inferred does not depend on how many there are)."""
    origin = Origin(SourceKind.INDEX, model_id)
    card = parse_card(card_text, origin.at(file="README.md")) if card_text else None
    info: dict[str, Any] = {"tags": tags, "base_models": _base_models(None, tags)}
    if created:
        info["createdAt"] = created
    snap = Snapshot(subject=model_id, origin=origin, info=info)
    facts = license_facts(card, snap)
    declared, tiers = find_bases(model_id, card, snap)
    while tiers and not tiers[-1]:
        tiers = tiers[:-1]
    relation, _, _ = infer_relation(card, snap, len(declared) or (1 if tiers else 0), model_id,
                                    declared=bool(declared))
    lic = {
        "expression": facts.expression,
        "keys": list(facts.keys),
        "status": facts.status.value,
        "declared": declares_license(facts),
        "ack": sorted({k for d in facts.declarations for k in d.keys}),
        "decls": [[d.kind, d.value[:MAX_VALUE], list(d.keys), d.origin.line, d.origin.field] for d in facts.declarations
                  if d.kind != "body" or d.keys],
    }
    bases = [[c.id, c.via, c.evidence[0].line if c.evidence else None, c.evidence[0].field if c.evidence else None]
             for c in declared]
    return (dumps(lic), dumps(bases), relation.value if relation is not None else None,
            dumps([[candidate_json(c) for c in tier] for tier in tiers]))


def _row(rec: Mapping[str, Any], known: Mapping[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    """One dump record (normalized columns, see source.py) -> one output record (OUT_COLUMNS)."""
    meta = _metadata(rec.get("metadata"))
    model_id = _text(rec.get("model_id")) or _text(meta.get("id")) or _text(meta.get("modelId"))
    card = _text(rec.get("card"))
    out: dict[str, Any] = dict.fromkeys(OUT_COLUMNS)
    out.update(source=rec.get("source"), row=rec.get("row"), skip=False)
    if model_id is None or "/" not in model_id:
        out["error"] = f"no model id (got {model_id!r})"
        return out
    modified = _text(rec.get("modified")) or _text(meta.get("lastModified"))
    created = _text(rec.get("created")) or _text(meta.get("createdAt"))
    sha = card_sha1(card)
    out.update(key=model_id.lower(), id=model_id, author=_text(rec.get("author")) or model_id.split("/", 1)[0],
               created=created[:10] if created else None, modified=modified, card_sha1=sha)
    before = known.get(out["key"])
    if before is not None and (before[0] == modified if modified else before[1] == sha):
        out["skip"] = True  # unchanged since the last build: not parsed, not rewritten
        return out
    tags = _tags(rec.get("tags")) or _tags(meta.get("tags"))
    try:
        out["license"], out["bases"], out["relation"], out["tiers"] = index_row(model_id, card, tags, created)
    except Exception as exc:  # a card that breaks a parser is listed, never fatal
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out


def process_frame(frame: pd.DataFrame, known: Mapping[str, tuple[str | None, str | None]] | None = None
                  ) -> pd.DataFrame:
    """The Dask stage (map_partitions): every row of a pandas partition -> an output partition."""
    import pandas as pd

    known = known or {}
    records = [_row(rec, known) for rec in frame.to_dict("records")]
    out = pd.DataFrame.from_records(records, columns=list(OUT_COLUMNS))
    return out.astype({"skip": bool, "row": "int64"}) if len(out) else empty_frame()


def empty_frame() -> pd.DataFrame:
    """The output partition's schema (Dask's `meta`)."""
    import pandas as pd

    cols = {c: pd.Series(dtype="object") for c in OUT_COLUMNS}
    cols["skip"] = pd.Series(dtype=bool)
    cols["row"] = pd.Series(dtype="int64")
    return pd.DataFrame(cols)
