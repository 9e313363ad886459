"""CycloneDX 1.6 ML-BOM (JSON) via cyclonedx-python-lib.

One `machine-learning-model` component per audited model (purl pkg:huggingface/org/name@rev for Hub
ids), its lineage as `pedigree.ancestors`, its datasets as `data` components it depends on. The
licenses field holds the model's own declared license; the effective license (ancestors' terms
applied), the license status and the verdict ride along as `mlaudit:` properties, since CycloneDX
allows only one license expression per component.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from audit.model import Ancestor, AuditReport, DatasetFacts, LicenseFacts, ModelResult, Status
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import document_key, is_hub_id, is_spdx_expression, timestamp, verdict

_SIMPLE_ID = re.compile(r"^[A-Za-z0-9.+-]+$")
_NS = uuid.UUID("8f4a1f5e-62c4-4c52-9a0b-6d3c8f0e2b71")  # fixed namespace: same report, same serial number


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    import warnings

    from cyclonedx.output.json import JsonV1Dot6

    bom = build_bom(report)
    with warnings.catch_warnings():
        # the library warns that ancestors are not in the dependency graph: they are pedigree, not deps
        warnings.simplefilter("ignore")
        return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def build_bom(report: AuditReport) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository

    tool = Component(type=ComponentType.APPLICATION, name="mlaudit", version=report.tool_version,
                     bom_ref="tool:mlaudit")
    metadata = BomMetaData(
        tools=ToolRepository(components=[tool]),
        timestamp=timestamp(report),
        properties=[
            Property(name="mlaudit:policy", value=report.policy_name),
            Property(name="mlaudit:policy-sha256", value=report.policy_sha256),
            Property(name="mlaudit:passed", value=str(report.passed).lower()),
        ],
    )
    bom = Bom(serial_number=_serial(report), metadata=metadata)

    datasets: dict[str, Any] = {}
    for m in report.models:
        for d in m.datasets:
            if d.id not in datasets:
                datasets[d.id] = _dataset_component(d)
    used_refs: set[str] = set()
    for m in report.models:
        component = _model_component(m, used_refs)
        bom.components.add(component)
        deps = [datasets[d.id] for d in m.datasets]
        bom.register_dependency(component, deps)
    for d in datasets.values():
        bom.components.add(d)
        bom.register_dependency(d, [])
    return bom


def _serial(report: AuditReport) -> uuid.UUID:
    return uuid.uuid5(_NS, document_key(report))


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
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=_unique(f"model:{m.subject}@{m.revision or 'unpinned'}", used),
        name=m.subject,
        version=m.revision,
        purl=_purl(m.subject, m.revision),
        licenses=_licenses(m.license),
        properties=props,
        pedigree=Pedigree(ancestors=ancestors) if ancestors else None,
    )


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


def _licenses(facts: LicenseFacts | None) -> list[Any]:
    """SPDX ids as license ids, LicenseRef-… and compound expressions as one expression; unknown: none."""
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression
    from cyclonedx.spdx import fixup_id

    if facts is None or not facts.expression:
        return []
    expr = facts.expression.strip()
    if _SIMPLE_ID.match(expr):
        spdx = fixup_id(expr)
        if spdx:
            return [DisjunctiveLicense(id=spdx, acknowledgement=LicenseAcknowledgement.DECLARED)]
    if is_spdx_expression(expr):
        return [LicenseExpression(expr, acknowledgement=LicenseAcknowledgement.DECLARED)]
    return [DisjunctiveLicense(name=expr, acknowledgement=LicenseAcknowledgement.DECLARED)]


def _key_licenses(keys: Iterable[str]) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense
    from cyclonedx.spdx import fixup_id

    out = []
    for key in keys:
        spdx = fixup_id(key)
        out.append(DisjunctiveLicense(id=spdx) if spdx else DisjunctiveLicense(name=key))
    return out
