"""What a model is to its bases: an adapter, a merge, a quantization or a fine-tune, from what the card
declares, the files the repo holds, the Hub's tags and the name."""
from __future__ import annotations

import re

from audit.lineage.phrases import MERGE_TAGS, QUANTIZED_TAGS
from audit.model import ModelCard, Origin, Relation, Snapshot, SourceKind
from audit.registry import QUANT_TOKENS

# what a card's base_model_relation may declare
DERIVATIONS = (Relation.FINETUNE, Relation.QUANTIZED, Relation.ADAPTER, Relation.MERGE)
_QUANT_FILE = re.compile(r"\.(gguf|ggml)$|(?:^|[-_./])(awq|gptq|exl2|mlx)(?:[-_./]|$)", re.IGNORECASE)


def _file_names(snapshot: Snapshot | None) -> list[str]:
    if snapshot is None:
        return []
    names: list[object] = [f.path for f in snapshot.files]
    names += [s.get("rfilename") for s in snapshot.info.get("siblings", ()) or () if isinstance(s, dict)]
    names += list(snapshot.texts)
    return [n for n in dict.fromkeys(names) if isinstance(n, str)]


def infer_relation(card: ModelCard | None, snapshot: Snapshot | None, n_bases: int, subject: str,
                   declared: bool = True) -> tuple[Relation | None, Origin | None, str | None]:
    """(relation, where it was decided, why): declared, else adapter / merge / quantized / finetune."""
    if n_bases == 0:
        return None, None, None
    if card is not None and card.base_model_relation in DERIVATIONS:
        return Relation(card.base_model_relation), card.field_origin("base_model_relation"), "declared"
    where = snapshot.origin if snapshot is not None else Origin(SourceKind.INFERRED, subject)
    info = snapshot.info if snapshot is not None else {}
    names = _file_names(snapshot)
    if "adapter_config.json" in names or "adapter_model.safetensors" in names or "adapter_model.bin" in names:
        return Relation.ADAPTER, where.at(file="adapter_config.json"), "adapter_config.json is present"
    quant = [n for n in names if _QUANT_FILE.search(n)]
    if quant:
        return Relation.QUANTIZED, where.at(file=quant[0]), f"quantized weights ({quant[0]})"
    # the Hub's own guess (it defaults to finetune), after what the files show
    for b in info.get("base_models", ()) or ():
        rel = b.get("relation") if isinstance(b, dict) else None
        if rel in DERIVATIONS and rel != Relation.FINETUNE:
            return Relation(rel), where.at(field="tags"), "the Hub's base_model tag"
    if n_bases > 1 and declared:
        return Relation.MERGE, card.field_origin("base_model") if card else None, "several bases"
    tags = {t.lower() for t in (card.tags if card else ())} | {
        t.lower() for t in info.get("tags", ()) or () if isinstance(t, str)}
    if tags & MERGE_TAGS:
        return Relation.MERGE, card.field_origin("tags") if card else None, "tagged as a merge"
    if tags & QUANTIZED_TAGS:
        return Relation.QUANTIZED, card.field_origin("tags") if card else None, "tagged as quantized"
    if QUANT_TOKENS.search(subject.rsplit("/", 1)[-1]):
        return Relation.QUANTIZED, Origin(SourceKind.INFERRED, subject), "the name says it is quantized"
    return Relation.FINETUNE, None, "default when nothing says otherwise"


def relation_from_name(repo_id: str) -> Relation:
    """What a repo's name says it is: quantized (GGUF, AWQ, ...) or, by default, a fine-tune."""
    return Relation.QUANTIZED if QUANT_TOKENS.search(repo_id.rsplit("/", 1)[-1]) else Relation.FINETUNE
