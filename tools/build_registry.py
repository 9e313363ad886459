"""Generate the offline registry (audit/licenses/data/registry/{models,datasets}.yaml) from reviewed facts.

    python tools/build_registry.py [../shared/registry-facts.yaml] [--supplement FILE] [--check]

Sources, in order: the shared facts (../shared/registry-facts.yaml, LLM families); tools/registry-supplement.yaml
(popular roots the facts do not cover: diffusion, speech, embeddings, encoders, vision, community LLMs), whose ids are
added after the facts' (an id in both files is an error, so the two never silently disagree); then
tools/registry-corrections.yaml over both. Supplement entries keep their own evidence date.

Each fact keeps its repo id, the license as the Hub declared it, family, relation_to, confidence, evidence
and license history; the generator adds the catalog key (catalog().lookup() of the Hub id, or of
license_name when the Hub id is 'other') and the evidence date. Values with no catalog key are reported
(and kept, with key: null, so the registry says "known model, license not in the catalog").
--check exits 1 when the generated files differ from the ones in the tree (for CI).

tools/registry-corrections.yaml is applied over the facts: each correction says why and where from (`ids` gives one
fact to several repos). When a card declares a Hub id *and* a license_name naming two catalogued licenses
(Janus-Pro: mit + deepseek), the model license governs (the generic one covers the code) and the other is kept as `also`. A license_link
naming a catalogued text decides the key. A value with no key takes its reason from the corrections'
`unresolved` map.
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout, mlaudit installed or not: the path goes first

from audit.licenses.catalog import catalog  # noqa: E402
from audit.registry import EVIDENCE_DATE, REGISTRY_DIR, Change, Entry  # noqa: E402
from audit.registry_update import write_entries  # noqa: E402

# the shared facts file sits beside the repository checkout (../shared)
CORRECTIONS = os.path.join(HERE, "registry-corrections.yaml")
# popular roots the facts do not cover (non-LLM and community LLMs), gathered after the facts; never overrides them (see merge_supplement)
SUPPLEMENT = os.path.join(HERE, "registry-supplement.yaml")
# licenses written for software: when a card names one of these and a model license, the model license governs
GENERIC_CATEGORIES = ("permissive", "public-domain", "weak-copyleft", "copyleft")
_FACT_FIELDS = ("license", "license_name", "license_link", "family", "relation_to", "confidence", "evidence",
                "license_history")
DEFAULT_FACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "registry-facts.yaml")


def declared_form(license: str | None, license_name: str | None) -> str | None:
    """How the Hub shows it: the id, or 'other/<license_name>' for a custom license."""
    if license is None and license_name is None:
        return None
    if license in (None, "other") and license_name:
        return f"other/{license_name}"
    if license and license_name and license_name != license:
        return f"{license} (license_name {license_name})"
    return license


def to_key(declared: str | None, unmapped: dict[str, list[str]], where: str) -> str | None:
    """'other/yi-license' -> catalog key; None (and recorded) when the catalog does not know it."""
    if not declared or declared in ("null", "none"):
        return None
    cat = catalog()
    text = declared
    if " (license_name " in text:
        text = text.split(" (license_name ", 1)[0]  # the Hub id decides; the name is kept as declared
    text = text.removeprefix("other/")
    key = cat.lookup(text)
    if key is None:
        unmapped.setdefault(declared, []).append(where)
    return key


def declared_keys(raw: dict, declared: str | None, unmapped: dict[str, list[str]]) -> tuple[str | None, tuple[str, ...]]:
    """(governing key, other keys) for one fact: license_link first, then the Hub id and license_name."""
    cat = catalog()
    link = raw.get("license_link")
    by_link = cat.by_link(link) if link else None
    key = to_key(declared, unmapped, raw["id"]) if by_link is None else by_link
    name = raw.get("license_name")
    named = cat.lookup(name) if name and raw.get("license") not in (None, "other") else None
    if by_link is None and key and named and named != key:
        generic = cat[key].category in GENERIC_CATEGORIES
        if generic and cat[named].category not in GENERIC_CATEGORIES:
            return named, (key,)  # 'mit' + 'deepseek': MIT covers the code, the DeepSeek License the weights
        return key, (named,)
    return key, ()


def merge_supplement(data: dict, supplement: dict, where: str = "registry-supplement.yaml") -> dict:
    """The facts followed by the supplement's entries, each marked with the supplement's evidence date.

    An id (case-insensitive, per section) found in both is an error naming it: the shared facts win, and a
    supplement entry that repeats one must be dropped rather than left to disagree unseen."""
    out = dict(data)
    date = supplement.get("evidence_date")
    for section in ("models", "datasets"):
        have = {m["id"].lower() for m in data.get(section) or []}
        added: list[dict] = []
        for raw in supplement.get(section) or []:
            rid = raw.get("id")
            if not isinstance(rid, str) or not rid:
                raise ValueError(f"{where}: a {section} entry has no id")
            if rid.lower() in have:
                raise ValueError(f"{where}: {rid} is already in registry-facts.yaml (the shared facts win; drop it "
                                 "from the supplement)")
            have.add(rid.lower())
            added.append({**raw, "evidence_date": date} if date and "evidence_date" not in raw else dict(raw))
        out[section] = [*(data.get(section) or []), *added]
    return out


def apply_corrections(data: dict, corrections: dict) -> dict:
    """The facts with each correction's fields set (an unknown id is added as a model)."""
    models = [dict(m) for m in data.get("models") or []]
    index = {m["id"].lower(): m for m in models}
    for c in corrections.get("corrections") or []:
        if not c.get("why") or not c.get("source"):
            raise ValueError(f"correction for {c.get('id') or c.get('ids')} needs 'why' and 'source'")
        for rid in c.get("ids") or [c["id"]]:  # `ids`: one fact about several repos (a family's shared license)
            target = index.get(rid.lower())
            if target is None:
                target = {"id": rid}
                models.append(target)
                index[rid.lower()] = target
            target.update({k: v for k, v in c.items() if k in _FACT_FIELDS})
    return {**data, "models": models}


def build(facts_path: str, corrections_path: str = CORRECTIONS, supplement_path: str | None = SUPPLEMENT
          ) -> tuple[list[Entry], list[Entry], dict[str, list[str]]]:
    import yaml

    with open(facts_path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if supplement_path:
        with open(supplement_path, encoding="utf-8") as fh:
            data = merge_supplement(data, yaml.safe_load(fh) or {}, os.path.basename(supplement_path))
    with open(corrections_path, encoding="utf-8") as fh:
        corrections = yaml.safe_load(fh) or {}
    data = apply_corrections(data, corrections)
    reasons: dict[str, str] = corrections.get("unresolved") or {}
    unmapped: dict[str, list[str]] = {}
    out: dict[str, list[Entry]] = {"model": [], "dataset": []}
    for kind, section in (("model", "models"), ("dataset", "datasets")):
        seen: set[str] = set()
        for raw in data.get(section) or []:
            rid = raw["id"]
            if rid.lower() in seen:
                continue
            seen.add(rid.lower())
            declared = declared_form(raw.get("license"), raw.get("license_name"))
            history = []
            for h in raw.get("license_history") or []:
                frm, to = str(h.get("from")), str(h.get("to"))
                history.append(Change(
                    date=None if h.get("date") is None else str(h.get("date")),
                    from_license=frm, from_key=to_key(frm, unmapped, f"{rid} (history)"),
                    to_license=to, to_key=to_key(to, unmapped, f"{rid} (history)"),
                    source=h.get("source"),
                ))
            key, also = declared_keys(raw, declared, unmapped)
            why = None if key else reasons.get(declared or "none")
            out[kind].append(Entry(
                id=rid, kind=kind, key=key, also=also, unresolved=why, license=declared,
                family=raw.get("family"), relation_to=raw.get("relation_to"),
                confidence=str(raw.get("confidence") or "low"), evidence=raw.get("evidence"),
                evidence_date=str(raw.get("evidence_date") or EVIDENCE_DATE), history=tuple(history),
            ))
    return out["model"], out["dataset"], unmapped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("facts", nargs="?", default=DEFAULT_FACTS)
    ap.add_argument("--supplement", default=SUPPLEMENT, help="popular roots added after the facts ('' for none)")
    ap.add_argument("--out", default=REGISTRY_DIR)
    ap.add_argument("--check", action="store_true", help="fail when the files in --out are not up to date")
    args = ap.parse_args(argv)
    models, datasets, unmapped = build(args.facts, supplement_path=args.supplement or None)
    note = (f"generated by tools/build_registry.py from registry-facts.yaml (facts of {EVIDENCE_DATE})"
            + (" and tools/registry-supplement.yaml (popular roots the facts do not cover, 2026-12-04)" if args.supplement else "")
            + "; do not edit")
    targets = {"models.yaml": (models, ()), "datasets.yaml": ((), datasets)}
    stale = []
    for name, (m, d) in targets.items():
        path = os.path.join(args.out, name)
        if args.check:
            tmp = path + ".check"
            write_entries(tmp, m, d, note)
            with open(tmp, encoding="utf-8") as a:
                new = a.read()
            os.remove(tmp)
            try:
                with open(path, encoding="utf-8") as b:
                    old = b.read()
            except OSError:
                old = None
            if new != old:
                stale.append(path)
        else:
            write_entries(path, m, d, note)
    mapped = sum(1 for e in models if e.key) + sum(1 for e in datasets if e.key)
    print(f"{len(models)} models, {len(datasets)} datasets; {mapped} with a catalog key", file=sys.stderr)
    if unmapped:
        print(f"{len(unmapped)} license values have no catalog key:", file=sys.stderr)
        for value, where in sorted(unmapped.items()):
            print(f"  {value!r}: {len(where)} ({', '.join(where[:3])}{' ...' if len(where) > 3 else ''})", file=sys.stderr)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
