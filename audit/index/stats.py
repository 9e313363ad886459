"""`mlaudit index stats`: Hub-level figures from an index, as text or JSON.

The figures the published studies of license conflicts on the Hub report, so a reader can set ours beside
theirs: the share of derivatives (models declaring a base) with a conflict along their chain (the model itself
or an ancestor drops terms a base passes down), the most frequent declared-vs-inherited license pairs of those
conflicts, the share of models whose own license is unknown, and each of these by relation (fine-tune,
adapter, quantized, merge). "Derivatives" are models that declare a base; models whose bases are only inferred
from their card are counted on their own (`inferred_base_models`, by kind of evidence). Standard library only.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

from audit.index.store import IndexStore

STATS_SCHEMA = "mlaudit.index-stats/1"
TOP = 10


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def compute_stats(store: IndexStore, top: int = TOP) -> dict[str, Any]:
    """Figures over every row of the index (see the module doc)."""
    meta = store.read_meta()
    models = derivatives = unknown = chain_conflicts = own_conflicts = unresolved = inferred = 0
    inferred_via: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    declared: Counter[str] = Counter()
    by_rel: dict[str, Counter[str]] = {}
    for lic_json, bases_json, relation, conflicts_json, chain_unknown, chain_conflict, inferred_json in \
            store.rows_for_stats():
        models += 1
        lic = json.loads(lic_json)
        keys = lic.get("keys") or []
        is_unknown = not keys
        unknown += is_unknown
        declared.update(keys or ["(unknown)"])
        if inferred_json:
            inferred += 1
            inferred_via.update({c[1] for c in json.loads(inferred_json)})
        if bases_json in (None, "[]"):
            continue
        derivatives += 1
        conflicts = json.loads(conflicts_json or "[]")
        chain_conflicts += bool(chain_conflict)
        own_conflicts += bool(conflicts)
        unresolved += bool(chain_unknown)
        for inherited, _ancestor in conflicts:
            for k in keys or ["(unknown)"]:
                pairs[(k, inherited)] += 1
        rel = by_rel.setdefault(relation or "unknown", Counter())
        rel["models"] += 1
        rel["chain_conflict"] += bool(chain_conflict)
        rel["conflict"] += bool(conflicts)
        rel["unknown"] += is_unknown
    return {
        "schema": STATS_SCHEMA,
        "index": {"path": meta.path, "name": meta.name, "built": meta.built, "schema": meta.schema,
                  "sources": list(meta.sources)},
        "models": models,
        "derivatives": derivatives,
        "derivative_share": _share(derivatives, models),
        "unknown_license_share": _share(unknown, models),
        "derivatives_with_conflict_in_chain_share": _share(chain_conflicts, derivatives),
        "derivatives_conflicting_themselves_share": _share(own_conflicts, derivatives),
        "derivatives_with_ancestor_not_in_index_share": _share(unresolved, derivatives),
        "inferred_base_models": inferred,
        "inferred_base_models_share": _share(inferred, models),
        "inferred_base_models_by_evidence": dict(inferred_via.most_common()),
        "top_conflict_pairs": [{"declared": d, "inherited": i, "models": n} for (d, i), n in pairs.most_common(top)],
        "top_declared": [{"key": k, "models": n} for k, n in declared.most_common(top)],
        "by_relation": {rel: {"derivatives": c["models"],
                              "conflict_in_chain_share": _share(c["chain_conflict"], c["models"]),
                              "conflicting_themselves_share": _share(c["conflict"], c["models"]),
                              "unknown_license_share": _share(c["unknown"], c["models"])}
                        for rel, c in sorted(by_rel.items())},
        "errors": store.count("errors"),
    }


def render_stats(stats: dict[str, Any], fmt: str = "text") -> str:
    """The figures as JSON, or as a text summary."""
    if fmt == "json":
        return json.dumps(stats, indent=2, sort_keys=False) + "\n"
    pct = "{:.1%}".format
    ix = stats["index"]
    lines = [
        f"index {ix['name']} built {ix['built']} ({ix['schema']}): {stats['models']} models, "
        f"{stats['errors']} dump rows could not be indexed",
        f"derivatives (declare a base): {stats['derivatives']} ({pct(stats['derivative_share'])} of models)",
        f"  with a license conflict along their chain: {pct(stats['derivatives_with_conflict_in_chain_share'])}"
        f" (conflicting themselves: {pct(stats['derivatives_conflicting_themselves_share'])})",
        f"  with an ancestor not in the index: {pct(stats['derivatives_with_ancestor_not_in_index_share'])}",
        f"models whose own license is unknown: {pct(stats['unknown_license_share'])}",
        f"models declaring no base whose card names one (inferred, as `check` infers it): "
        f"{stats['inferred_base_models']} ({pct(stats['inferred_base_models_share'])}; by evidence: "
        + (", ".join(f"{k} {v}" for k, v in stats["inferred_base_models_by_evidence"].items()) or "none") + ")",
        "top declared-vs-inherited conflicts:",
    ]
    lines += [f"  {p['declared']} over {p['inherited']}: {p['models']}" for p in stats["top_conflict_pairs"]] or ["  none"]
    lines.append("by relation:                derivatives  conflict in chain  conflicting  unknown license")
    for rel, r in stats["by_relation"].items():
        lines.append(f"  {rel:<24}{r['derivatives']:>12}  {pct(r['conflict_in_chain_share']):>17}  "
                     f"{pct(r['conflicting_themselves_share']):>11}  {pct(r['unknown_license_share']):>15}")
    lines.append("top declared licenses: " + ", ".join(f"{d['key']} {d['models']}" for d in stats["top_declared"]))
    return "\n".join(lines) + "\n"


def index_stats(path: str, fmt: str = "text") -> str:
    with IndexStore(path) as store:
        return render_stats(compute_stats(store), fmt)
