"""Training data: the card's `datasets:` ids -> DatasetFacts (license keys, status, where found) -> Evidence.

A dataset is looked up like an ancestor: dataset snapshot directories (`org--name` or `org/name` under a
--models-dir, with a README.md), the HF cache (`datasets--org--name`), the Hub (dataset_info cardData),
then the offline registry. A license that is non-commercial, research-only or forbids derivatives or
distribution is a `dataset-license` finding; a dataset whose license cannot be determined is
`dataset-unknown` (fail closed).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.model import DatasetFacts, Evidence, ModelCard, Origin, SourceKind, Status

if TYPE_CHECKING:
    from audit.lineage.resolver import Resolver

# limitations that make a dataset's license a finding: they can bind what is trained on it
RESTRICTIVE_TERMS = ("non-commercial", "research-only", "no-derivatives", "no-distribution", "no-training-other-models")
RESTRICTIVE_CATEGORIES = ("non-commercial", "research-only", "proprietary")


def _facts_from_card_text(text: str, origin: Origin) -> tuple[tuple[str, ...], Status, str | None]:
    from audit.card import parse_card
    from audit.licenses.normalize import license_facts

    card = parse_card(text, origin)
    facts = license_facts(card, None)
    return facts.keys, facts.status, facts.reason


def _facts_from_card_data(card_data: Any, origin: Origin) -> tuple[tuple[str, ...], Status, str | None]:
    import yaml

    if not isinstance(card_data, dict) or not card_data:
        return (), Status.UNKNOWN, "the dataset card declares no license"
    text = "---\n" + yaml.safe_dump(dict(card_data), sort_keys=False, allow_unicode=True) + "---\n"
    return _facts_from_card_text(text, origin)


def _dir_for(dataset_id: str, dirs: tuple[str, ...]) -> str | None:
    for root in dirs:
        for cand in (os.path.join(root, dataset_id.replace("/", "--")), os.path.join(root, *dataset_id.split("/")),
                     os.path.join(root, "datasets--" + dataset_id.replace("/", "--"))):
            if os.path.isfile(os.path.join(cand, "README.md")):
                return cand
    return None


def _cached_readme(dataset_id: str, cache_dir: str | None) -> tuple[str, str] | None:
    """(path, commit) of a dataset card in the HF cache, or None."""
    from audit.sources.cache import cache_dir as _cache_dir

    root = os.path.join(_cache_dir(cache_dir), "datasets--" + dataset_id.replace("/", "--"))
    snaps = os.path.join(root, "snapshots")
    if not os.path.isdir(snaps):
        return None
    commit = None
    try:
        with open(os.path.join(root, "refs", "main"), encoding="utf-8") as fh:
            commit = fh.read(64).strip()
    except OSError:
        pass
    choices = [commit] if commit else sorted(os.listdir(snaps))
    for c in choices:
        p = os.path.join(snaps, c, "README.md")
        if c and os.path.isfile(p):
            return p, c
    return None


def lookup_dataset(dataset_id: str, resolver: Resolver, origin: Origin) -> DatasetFacts:
    """One dataset id -> DatasetFacts, trying each source the resolver is configured with: snapshot
    directories, the HF cache, the Hub, the registry. Each source that fails says why in `reason`."""
    reasons: list[str] = []
    for lookup in (_from_dirs, _from_cache, _from_hub):
        try:
            found = lookup(dataset_id, resolver, origin, reasons)
        except AuditError as exc:
            reasons.append(exc.message)
            continue
        if found is not None:
            return found
    if resolver.use_registry:
        entry = resolver.registry.dataset(dataset_id)
        if entry is not None:
            from audit.licenses.catalog import catalog

            lic = catalog().get(entry.key) if entry.key else None
            if entry.key and lic is not None:
                return DatasetFacts(dataset_id, (entry.key,), Status.UNKNOWN if lic.ambiguous else Status.RESOLVED,
                                    SourceKind.REGISTRY, origin)
            return DatasetFacts(dataset_id, (), Status.UNKNOWN, SourceKind.REGISTRY, origin, "; ".join(reasons) or None)
    return DatasetFacts(dataset_id, (), Status.UNKNOWN, None, origin, "; ".join(reasons) or None)


def _from_dirs(dataset_id: str, resolver: Resolver, origin: Origin, reasons: list[str]) -> DatasetFacts | None:
    """A dataset snapshot directory under --datasets-dir or --models-dir (found there: the answer, license
    or not)."""
    from audit.sources.base import MAX_CARD_BYTES, read_text_file

    dirs = tuple(resolver.datasets_dirs) + tuple(resolver.models_dirs)
    found = _dir_for(dataset_id, dirs) if dirs else None
    if found is None:
        return None
    path = os.path.join(found, "README.md")
    keys, status, _ = _facts_from_card_text(read_text_file(path, limit=MAX_CARD_BYTES),
                                            Origin(SourceKind.LOCAL, found, file=path))
    return DatasetFacts(dataset_id, keys, status if keys else Status.UNKNOWN, SourceKind.LOCAL, origin)


def _from_cache(dataset_id: str, resolver: Resolver, origin: Origin, reasons: list[str]) -> DatasetFacts | None:
    """The dataset card in the HF cache, when it declares a license."""
    from audit.sources.base import MAX_CARD_BYTES, read_text_file

    hit = _cached_readme(dataset_id, resolver.cache_dir) if resolver.use_cache else None
    if hit is None:
        return None
    path, commit = hit
    keys, status, _ = _facts_from_card_text(read_text_file(path, limit=MAX_CARD_BYTES),
                                            Origin(SourceKind.CACHE, dataset_id, revision=commit, file="README.md"))
    return DatasetFacts(dataset_id, keys, status, SourceKind.CACHE, origin) if keys else None


def _from_hub(dataset_id: str, resolver: Resolver, origin: Origin, reasons: list[str]) -> DatasetFacts | None:
    """The Hub's dataset card (its license: tags when the card data has none)."""
    hub = resolver.hub
    if hub is None or "/" not in dataset_id:
        return None
    info = hub.dataset_info(dataset_id)
    card_data = dict(info.get("cardData") or {})
    if "license" not in card_data:
        tags = [t.split(":", 1)[1] for t in info.get("tags") or () if isinstance(t, str) and t.startswith("license:")]
        if tags:
            card_data["license"] = tags if len(tags) > 1 else tags[0]
    keys, status, _ = _facts_from_card_data(card_data, Origin(SourceKind.HUB, dataset_id, revision=info.get("sha"),
                                                              file="README.md"))
    if keys:
        return DatasetFacts(dataset_id, keys, status, SourceKind.HUB, origin)
    reasons.append("the Hub's dataset card declares no license we recognise")
    return None


def resolve_datasets(card: ModelCard | None, resolver: Resolver) -> tuple[DatasetFacts, ...]:
    """The card's datasets, looked up concurrently (cached on the resolver)."""
    if card is None or not card.datasets:
        return ()
    origin = card.field_origin("datasets")
    ids = list(dict.fromkeys(d for d in card.datasets if d))
    return tuple(resolver.map_datasets(ids, origin))


def dataset_evidence(subject: str, datasets: tuple[DatasetFacts, ...]) -> list[Evidence]:
    """dataset-unknown for a dataset whose license could not be determined; dataset-license for a
    restrictive one."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    out: list[Evidence] = []
    for d in datasets:
        if d.status is Status.UNKNOWN or not d.keys:
            where = (f"{d.resolved_from} records no license we recognise" if d.resolved_from
                     else "not found in any source")
            if d.reason:
                where += f"; {d.reason}"
            out.append(Evidence("dataset-unknown", subject,
                                f"training dataset {d.id}: license could not be determined ({where})",
                                (d.origin,), unknown=True, data={"dataset": d.id, "resolved_from": d.resolved_from}))
            continue
        for key in d.keys:
            lic = cat.get(key)
            if lic is None:
                continue
            terms = [t for t in RESTRICTIVE_TERMS if lic.has(t)]
            if lic.category in RESTRICTIVE_CATEGORIES or terms:
                what = ", ".join(terms) or lic.category
                out.append(Evidence("dataset-license", subject,
                                    f"training dataset {d.id} is under {lic.name} [{key}] ({what})",
                                    (d.origin,), data={"dataset": d.id, "key": key, "terms": terms,
                                                       "category": lic.category, "resolved_from": d.resolved_from}))
    return out
