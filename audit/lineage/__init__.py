"""base_model chains -> Lineage; the licenses that govern a model once its ancestors' terms apply; findings.

Three steps, each a function:
- `resolve_lineage` (walk.py): the subject's bases (declared in the card, or inferred from configs, the card
  body, tags and the model name: candidates.py; what the model is to them, an adapter, merge, quantization or
  fine-tune: relation.py; which names are the model itself: names.py), then their bases, recursively, with cycle and depth guards.
  Each ancestor is found by a `Resolver` (resolver.py): --models-dir snapshot directories, the HF cache, the
  Hub (pinned, concurrent), and the offline registry (exact id, then a re-upload's name, then a family named
  in its name).
- `inherit` / `effective_license` (inherit.py): own keys plus every ancestor key whose license may not be
  dropped by a derivative (catalog `relicense: false`) and that the model does not already carry. Compute
  `inherit(...)` once per model and pass it to both `effective_license` and `lineage_evidence`.
- `lineage_evidence` (checks.py): Evidence for the policy engine (lineage-conflict, lineage-missing-license,
  lineage-unknown-ancestor, lineage-name-prefix, lineage-cycle), one function per check.

Time-dependent licenses: a registry entry may record that its license changed (Yi: Yi license until 2024,
then Apache-2.0). A derivative made before the change took the older terms. The subject's date is the Hub's
createdAt when known, else the latest date its card mentions or the latest release of a library version it or
its files name (dates.py; a card citing a 2023-11 paper was written after 2023-11, a model made with transformers
4.38.2 after that release: lower bounds). A date before the change gives the licenses the ancestor may have had
then, and of alternatives the restrictive one wins (fail closed). When nothing decides (no date, a date inside
the change's own bounds, or only a lower bound before it), the current license counts and the change is its
own finding, lineage-license-history, naming the date that decides it (not a conflict).
"""
from __future__ import annotations

from audit.lineage.candidates import Candidate, find_bases
from audit.lineage.checks import LineageCase, lineage_evidence, rests_on_inference, settle
from audit.lineage.dates import Dating, card_date_floor, dating, subject_date
from audit.lineage.inherit import (
    RESTRICTIVE,
    Inheritance,
    effective_license,
    inherit,
    key_facts,
    layered_license,
    registry_facts,
)
from audit.lineage.names import model_name, published_name
from audit.lineage.relation import infer_relation
from audit.lineage.resolver import Node, Resolver, card_from_card_data, index_models_dirs
from audit.lineage.walk import resolve_lineage, resolve_many

__all__ = [
    "RESTRICTIVE",
    "Candidate",
    "Dating",
    "Inheritance",
    "LineageCase",
    "Node",
    "Resolver",
    "card_date_floor",
    "card_from_card_data",
    "dating",
    "effective_license",
    "find_bases",
    "index_models_dirs",
    "infer_relation",
    "inherit",
    "key_facts",
    "layered_license",
    "lineage_evidence",
    "model_name",
    "published_name",
    "registry_facts",
    "resolve_lineage",
    "resolve_many",
    "rests_on_inference",
    "settle",
    "subject_date",
]
