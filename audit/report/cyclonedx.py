"""CycloneDX 1.6 ML-BOM (JSON) via cyclonedx-python-lib.

One `machine-learning-model` component per audited model (purl pkg:huggingface/org/name@rev for Hub
ids), its lineage as `pedigree.ancestors`, its datasets as `data` components it depends on, its files
as nested `file` components with their SHA-256, and a `modelCard` (added to the library's JSON by
bom-ref: cyclonedx-python-lib has no model-card model; see audit/report/cyclonedx_card.py).
`metadata.component` is what was audited: the scanned project, or the model when there is one.

Licenses: the model's own (declared) license is marked `acknowledgement: declared`, the effective one
(ancestors' terms applied) `concluded`, as license entries (a LicenseRef- one by its catalog name and
URL). CycloneDX 1.6 allows one expression per component and no mix of expressions and entries, so when
either is an expression that is not a plain AND of licenses, only the declared one is written and the
effective one rides in the `mlaudit:effective-license` property (which always holds it).

Serial number: random per run; when the time is pinned (SOURCE_DATE_EPOCH, or the report's generated_at),
derived from the report and that time, so the same input gives byte-identical output (reproducible builds).
"""
from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from typing import Any

from audit.model import Ancestor, AuditReport, DatasetFacts, LicenseFacts, ModelResult, Status
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import (
    document_key,
    inert,
    is_hub_id,
    is_spdx_expression,
    spdx_licensing,
    timestamp,
    verdict,
)
from audit.report.cyclonedx_card import model_card

_SIMPLE_ID = re.compile(r"^[A-Za-z0-9.+-]+$")
_HASH_SOURCES = {"read": "hashed by mlaudit from the bytes it read", "listed": "as the Hub or cache lists it",
                 "locked": "as the lockfile pins it (not in the cache)"}
_NS = uuid.UUID("8f4a1f5e-62c4-4c52-9a0b-6d3c8f0e2b71")  # fixed namespace: same report and epoch, same serial


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    import warnings

    from cyclonedx.output.json import JsonV1Dot6

    bom, cards = build_bom(report)
    with warnings.catch_warnings():
        # the library warns that ancestors are not in the dependency graph: they are pedigree, not deps
        warnings.simplefilter("ignore")
        data = json.loads(JsonV1Dot6(bom).output_as_string())
    add_model_cards(data, cards)
    return json.dumps(inert(data), indent=2, ensure_ascii=False) + "\n"


def add_model_cards(data: dict[str, Any], cards: dict[str, dict[str, Any]]) -> None:
    """Put each modelCard on the component whose bom-ref it was built for (metadata.component included)."""
    components = list(data.get("components", []))
    if "component" in data.get("metadata", {}):
        components.append(data["metadata"]["component"])
    for c in components:
        card = cards.get(c.get("bom-ref", ""))
        if card:
            c["modelCard"] = {"bom-ref": f"{c['bom-ref']}#model-card", **card}


def build_bom(report: AuditReport) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The BOM, and the modelCard of each model component by its bom-ref (added to the JSON afterwards)."""
    from cyclonedx.model.bom import Bom

    datasets: dict[str, Any] = {}
    for m in report.models:
        for d in m.datasets:
            if d.id not in datasets:
                datasets[d.id] = _dataset_component(d)
    dataset_refs = {k: str(c.bom_ref.value) for k, c in datasets.items()}
    used_refs: set[str] = set()
    models = [(m, _model_component(m, used_refs)) for m in report.models]
    subject = _subject(report, models[0][1] if len(models) == 1 else None)
    bom = Bom(serial_number=serial_number(report), metadata=_metadata(report, subject))
    cards = {}
    for m, component in models:
        if component is not subject:
            bom.components.add(component)
        bom.register_dependency(component, [datasets[d.id] for d in m.datasets])
        card = model_card(m, dataset_refs)
        if card:
            cards[str(component.bom_ref.value)] = card
    if subject is not None and all(subject is not c for _, c in models):
        bom.register_dependency(subject, [c for _, c in models])
    for d in datasets.values():
        bom.components.add(d)
        bom.register_dependency(d, [])
    return bom, cards


def _metadata(report: AuditReport, subject: Any) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository

    tool = Component(type=ComponentType.APPLICATION, name="mlaudit", version=report.tool_version,
                     bom_ref="tool:mlaudit")
    return BomMetaData(
        tools=ToolRepository(components=[tool]),
        timestamp=timestamp(report),
        component=subject,
        properties=[
            Property(name="mlaudit:policy", value=report.policy_name),
            Property(name="mlaudit:policy-sha256", value=report.policy_sha256),
            Property(name="mlaudit:passed", value=str(report.passed).lower()),
        ],
    )


def _subject(report: AuditReport, single_model: Any) -> Any:
    """What the BOM describes: the scanned project (an application), else the one audited model, else none."""
    from cyclonedx.model.component import Component, ComponentType

    if report.scan is not None:
        name = os.path.basename(report.scan.root.rstrip("/\\")) or report.scan.root
        return Component(type=ComponentType.APPLICATION, name=name, bom_ref="project:scanned")
    return single_model


def serial_number(report: AuditReport) -> uuid.UUID:
    """Random per run. When the document's time is pinned (SOURCE_DATE_EPOCH, or the report's generated_at),
    derived from the report and that time, so the same input gives the same document (reproducible builds)."""
    if report.generated_at is not None or os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        return uuid.uuid5(_NS, f"{document_key(report)}\n{timestamp(report).isoformat()}")
    return uuid.uuid4()


def _unique(ref: str, used: set[str]) -> str:
    candidate, n = ref, 2
    while candidate in used:
        candidate, n = f"{ref}#{n}", n + 1
    used.add(candidate)
    return candidate


def _purl(subject: str, revision: str | None) -> Any:
    if not is_hub_id(subject):
        return None
    from packageurl import PackageURL

    org, name = subject.split("/", 1)
    # the purl spec for huggingface: namespace = org, version = the commit sha (lower-cased)
    return PackageURL(type="huggingface", namespace=org, name=name, version=revision.lower() if revision else None)


def _model_component(m: ModelResult, used: set[str]) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    props = [
        Property(name="mlaudit:source", value=m.origin.source),
        Property(name="mlaudit:license-status", value=m.license.status.value),
        Property(name="mlaudit:verdict", value=verdict(m.passed)),
    ]
    if m.license.keys:
        props.append(Property(name="mlaudit:license-keys", value=" ".join(m.license.keys)))
    props.append(Property(name="mlaudit:effective-license", value=m.effective.expression or "unknown"))
    if m.lineage.relation:
        props.append(Property(name="mlaudit:relation", value=m.lineage.relation))
    props += _openness_properties(m)
    ancestors = [_ancestor_component(m.subject, a, used) for a in sorted(m.lineage.ancestors, key=lambda a: a.depth)]
    ref = _unique(f"model:{m.subject}@{m.revision or 'unpinned'}", used)
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=ref,
        name=m.subject,
        version=m.revision,
        purl=_purl(m.subject, m.revision),
        licenses=_model_licenses(m),
        properties=props,
        pedigree=Pedigree(ancestors=ancestors) if ancestors else None,
        components=_file_components(m, ref),
    )


def _file_components(m: ModelResult, ref: str) -> list[Any]:
    """A `file` component per file whose digest is known: SHA-256 (and SHA-1 for the bytes mlaudit read)."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType

    out = []
    for f in m.artifacts.files if m.artifacts else ():
        hashes = [HashType(alg=HashAlgorithm.SHA_256, content=f.sha256)]
        if f.sha1:
            hashes.append(HashType(alg=HashAlgorithm.SHA_1, content=f.sha1))
        how = _HASH_SOURCES.get(f.source, f.source)
        out.append(Component(type=ComponentType.FILE, name=f.path, bom_ref=f"{ref}/{f.path}", hashes=hashes,
                             properties=[Property(name="mlaudit:hash-source", value=how)]))
    return out


def _openness_properties(m: ModelResult) -> list[Any]:
    """The openness profile as flat properties: the class, each component's status, what the next class needs."""
    from cyclonedx.model import Property

    o = m.openness
    if o is None:
        return []
    props = [Property(name="mlaudit:openness-class", value=o.mof_class or ("none" if o.decided else "undecided"))]
    props += [Property(name=f"mlaudit:openness-{c.name}", value=c.status) for c in o.components]
    if o.next_class:
        props.append(Property(name="mlaudit:openness-missing",
                              value=f"class {o.next_class}: " + "; ".join(o.missing)))
    return props


def _ancestor_component(subject: str, a: Ancestor, used: set[str]) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType

    props = [
        Property(name="mlaudit:relation", value=a.relation),
        Property(name="mlaudit:depth", value=str(a.depth)),
        Property(name="mlaudit:parent", value=a.parent),
        Property(name="mlaudit:license-status", value=a.license.status.value if a.license else Status.UNKNOWN.value),
    ]
    if a.inferred:
        props.append(Property(name="mlaudit:inferred", value=f"true (confidence {a.confidence:.2f})"))
    if a.problem:
        props.append(Property(name="mlaudit:problem", value=a.problem))
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=_unique(f"ancestor:{subject}>{a.subject}", used),
        name=a.subject,
        purl=_purl(a.subject, None),
        licenses=_licenses(a.license) if a.license else [],
        properties=props,
    )


def _dataset_component(d: DatasetFacts) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.DATA,
        bom_ref=f"dataset:{d.id}",
        name=d.id,
        licenses=_key_licenses(d.keys),
        properties=[Property(name="mlaudit:license-status", value=d.status.value)],
    )


def _model_licenses(m: ModelResult) -> list[Any]:
    """The declared license (acknowledgement: declared) beside the effective one (acknowledgement: concluded)."""
    from cyclonedx.model.license import LicenseAcknowledgement

    declared = _entries(m.license.expression, LicenseAcknowledgement.DECLARED)
    concluded = _entries(m.effective.expression, LicenseAcknowledgement.CONCLUDED)
    if declared is not None and concluded is not None:
        return declared + concluded
    if m.license.expression or not m.effective.expression:
        return _licenses(m.license)
    return _licenses(None, m.effective.expression, LicenseAcknowledgement.CONCLUDED)


def _entries(expression: str | None, ack: Any) -> list[Any] | None:
    """An expression that is one license or a plain AND of licenses as license entries; None otherwise."""
    from cyclonedx.model.license import DisjunctiveLicense
    from cyclonedx.spdx import fixup_id
    from license_expression import LicenseSymbol

    if not expression:
        return []
    if not is_spdx_expression(expression):
        return None
    licensing = spdx_licensing()
    parsed = licensing.parse(expression)
    parts = parsed.args if isinstance(parsed, licensing.AND) else (parsed,)
    if not all(isinstance(p, LicenseSymbol) for p in parts):  # OR, WITH: an expression, not entries
        return None
    out = []
    for key in dict.fromkeys(str(p.key) for p in parts):
        spdx = fixup_id(key)
        out.append(DisjunctiveLicense(id=spdx, acknowledgement=ack) if spdx else _license_ref(key, ack))
    return out


def _license_ref(ref: str, ack: Any) -> Any:
    """A LicenseRef- by the catalog's name and URL for it (the ref itself, and no URL, when not in the catalog)."""
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.license import DisjunctiveLicense

    lic = _catalog_by_spdx().get(ref)
    url = XsUri(lic.url) if lic is not None and lic.url else None
    return DisjunctiveLicense(name=lic.name if lic else ref, url=url, acknowledgement=ack,
                              properties=[Property(name="mlaudit:license-ref", value=ref)])


def _catalog_by_spdx() -> dict[str, Any]:
    from audit.licenses.catalog import catalog

    return {lic.spdx: lic for lic in catalog().all()}


def _licenses(facts: LicenseFacts | None, expression: str | None = None, ack: Any = None) -> list[Any]:
    """SPDX ids as license ids, LicenseRef-… by name and URL, compound expressions as one expression."""
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression

    ack = ack or LicenseAcknowledgement.DECLARED
    expr = (expression if expression is not None else facts.expression if facts else None) or ""
    expr = expr.strip()
    if not expr:
        return []
    if _SIMPLE_ID.match(expr) or expr.startswith("LicenseRef-"):
        entries = _entries(expr, ack)
        if entries:
            return entries
    if is_spdx_expression(expr):
        return [LicenseExpression(expr, acknowledgement=ack)]
    return [DisjunctiveLicense(name=expr, acknowledgement=ack)]


def _key_licenses(keys: Iterable[str]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense
    from cyclonedx.spdx import fixup_id

    out = []
    for key in keys:
        spdx = fixup_id(key)
        out.append(DisjunctiveLicense(id=spdx) if spdx else DisjunctiveLicense(name=key))
    return out
