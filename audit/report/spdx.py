"""SPDX 2.3 JSON via spdx-tools: a package per model, its lineage and datasets as related packages.

licenseDeclared is what the model's own card and files declare; licenseConcluded is the effective
license once the ancestors' terms are applied (NOASSERTION when undecidable: never a guess). Custom
licenses appear as LicenseRef-… with an extracted-licensing-info entry that names them; their text
is not reproduced. Lineage: the model DESCENDANT_OF its base (VARIANT_OF for a quantization);
datasets: the model GENERATED_FROM them (SPDX 2.3 has no trained-on relationship).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from audit.licenses.expression import and_
from audit.model import Ancestor, AuditReport, LicenseFacts, ModelResult
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import (
    HUB,
    document_key,
    is_hub_id,
    is_spdx_expression,
    run_verdict,
    spdx_licensing,
    timestamp,
    verdict,
)

_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")
_NS = uuid.UUID("3c9d7a52-1e0b-4f8e-b7a1-5d2f6c4e9a10")
_CONCLUDED_KINDS = ("attribution-text", "include-notice")


def render(report: AuditReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter

    data = DocumentConverter().convert(build_document(report))
    # spdx-tools writes PACKAGE_MANAGER; the 2.3 spec and its JSON schema spell it PACKAGE-MANAGER
    # (spdx/spdx-spec#792, spdx/tools-python#813). Readers accept both; we write the spec's form.
    for pkg in data.get("packages", []):
        for ref in pkg.get("externalRefs", []):
            ref["referenceCategory"] = ref["referenceCategory"].replace("_", "-")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build_document(report: AuditReport) -> Any:
    # from the defining modules: spdx_tools.spdx.model imports these without re-exporting them (for mypy)
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
    from spdx_tools.spdx.model.spdx_none import SpdxNone

    builder = _Builder(report)
    for m in report.models:
        builder.model(m)
    doc_uuid = uuid.uuid5(_NS, document_key(report))
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"mlaudit-{report.policy_name}",
        document_namespace=f"https://spdx.org/spdxdocs/mlaudit-{doc_uuid}",
        creators=[Actor(ActorType.TOOL, f"mlaudit-{report.tool_version}")],
        created=_created(report),
        creator_comment=(f"License audit against policy {report.policy_name} (sha256 {report.policy_sha256}); "
                         f"verdict: {run_verdict(report.passed)}."),
    )
    describes = [
        Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, spdx_id) for spdx_id in builder.model_ids
    ] or [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, SpdxNone(), comment="no model was audited")]
    return Document(
        creation_info=info,
        packages=builder.packages,
        relationships=describes + builder.relationships,
        extracted_licensing_info=builder.extracted(),
    )


def _created(report: AuditReport) -> datetime:
    """SPDX wants UTC without an offset, to the second."""
    created = timestamp(report)
    if created.tzinfo:
        created = created.astimezone(timezone.utc).replace(tzinfo=None)
    return created.replace(microsecond=0)


class _Builder:
    def __init__(self, report: AuditReport):
        self.report = report
        self.packages: list[Any] = []
        self.relationships: list[Any] = []
        self.model_ids: list[str] = []
        self.used: set[str] = set()
        self.by_subject: dict[tuple[str, str], str] = {}  # (role, subject) -> SPDX id
        self.refs: dict[str, set[str]] = {}  # LicenseRef-x -> links seen for it

    # --- ids

    def _id(self, role: str, subject: str, revision: str | None = None) -> str:
        base = re.sub(r"[^A-Za-z0-9.-]+", "-", f"{subject}" + (f"-{revision[:12]}" if revision else "")).strip("-")
        candidate, n = f"SPDXRef-{role}-{base}", 2
        while candidate in self.used:
            candidate, n = f"SPDXRef-{role}-{base}-{n}", n + 1
        self.used.add(candidate)
        return candidate

    # --- licenses

    def _expression(self, facts: LicenseFacts | None, expression: str | None = None) -> Any:
        from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

        expr = expression if expression is not None else (facts.expression if facts else None)
        if not expr:
            return SpdxNoAssertion()
        parsed = spdx_licensing().parse(expr) if is_spdx_expression(expr) else None
        if parsed is None:
            return SpdxNoAssertion()  # not an expression SPDX can carry: say so rather than mangle it
        for ref in _LICENSE_REF.findall(expr):
            self.refs.setdefault(ref, set())
        if facts is not None:  # a license_link on the card is where a reader finds a custom license
            for d in facts.declarations:
                if d.kind == "license-link" and d.value.startswith(("http://", "https://")) and d.expression:
                    for ref in _LICENSE_REF.findall(d.expression):
                        self.refs.setdefault(ref, set()).add(d.value)
        return parsed

    def extracted(self) -> list[Any]:
        from spdx_tools.spdx.model.extracted_licensing_info import ExtractedLicensingInfo

        out = []
        for ref in sorted(self.refs):
            key = ref[len("LicenseRef-"):]
            out.append(ExtractedLicensingInfo(
                license_id=ref,
                extracted_text=(f"Custom license '{key}', identified by mlaudit from the model's card and files. "
                                f"Its text is not reproduced here; see the model repository."),
                license_name=key,
                cross_references=sorted(self.refs[ref]),
            ))
        return out

    # --- packages

    def _package(self, spdx_id: str, subject: str, *, version: str | None, declared: Any, concluded: Any,
                 comment: str, attribution: list[str] | None = None, dataset: bool = False) -> Any:
        from spdx_tools.spdx.model.package import (
            ExternalPackageRef,
            ExternalPackageRefCategory,
            Package,
            PackagePurpose,
        )
        from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

        hub = is_hub_id(subject)
        refs = []
        if hub and not dataset:
            org, name = subject.split("/", 1)
            purl = f"pkg:huggingface/{org}/{name}" + (f"@{version.lower()}" if version else "")
            refs.append(ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl))
        location: Any = SpdxNoAssertion()
        if hub:
            location = f"{HUB}/datasets/{subject}" if dataset else f"{HUB}/{subject}"
        pkg = Package(
            spdx_id=spdx_id,
            name=subject,
            download_location=location,
            version=version,
            files_analyzed=False,
            license_declared=declared,
            license_concluded=concluded,
            copyright_text=SpdxNoAssertion(),
            comment=comment,
            external_references=refs,
            attribution_texts=attribution or [],
            primary_package_purpose=PackagePurpose.OTHER,
        )
        self.packages.append(pkg)
        return pkg

    def model(self, m: ModelResult) -> None:
        from spdx_tools.spdx.model.relationship import Relationship, RelationshipType

        spdx_id = self._id("Model", m.subject, m.revision)
        self.model_ids.append(spdx_id)
        self.by_subject[("model", m.subject)] = spdx_id
        attribution = [
            o.text for o in sorted(self.report.obligations, key=lambda o: (o.kind, o.key, o.text))
            if o.subject == m.subject and o.kind in _CONCLUDED_KINDS
        ]
        comment = (f"Machine-learning model. License status: {m.license.status.value}; "
                   f"effective license: {m.effective.expression or 'unknown'}; "
                   f"verdict: {verdict(m.passed)}.")
        if m.license.reason:
            comment += f" {m.license.reason}"
        comment += _openness_comment(m)
        self._package(
            spdx_id, m.subject, version=m.revision,
            declared=self._expression(m.license),
            concluded=self._expression(None, m.effective.expression or ""),
            comment=comment, attribution=attribution,
        )
        # ancestors: each points from its parent (the model, or a nearer ancestor) to itself
        local: dict[str, str] = {m.subject: spdx_id}
        for a in sorted(m.lineage.ancestors, key=lambda a: a.depth):
            anc_id = local.get(a.subject) or self._ancestor(a)
            local[a.subject] = anc_id
            parent_id = local.get(a.parent, spdx_id)
            rel = RelationshipType.VARIANT_OF if a.relation == "quantized" else RelationshipType.DESCENDANT_OF
            note = f"{a.relation} of {a.subject} (depth {a.depth})"
            if a.inferred:
                note += f"; inferred, confidence {a.confidence:.2f}"
            self.relationships.append(Relationship(parent_id, rel, anc_id, comment=note))
        for d in m.datasets:
            ds_id = self.by_subject.get(("dataset", d.id))
            if ds_id is None:
                ds_id = self._id("Dataset", d.id)
                self.by_subject[("dataset", d.id)] = ds_id
                self._package(
                    ds_id, d.id, version=None,
                    declared=self._keys_expression(d.keys), concluded=self._keys_expression(d.keys),
                    comment=f"Dataset. License status: {d.status.value}.", dataset=True,
                )
            self.relationships.append(
                Relationship(spdx_id, RelationshipType.GENERATED_FROM, ds_id, comment="trained on this dataset")
            )

    def _ancestor(self, a: Ancestor) -> str:
        key = ("ancestor", a.subject)
        if key in self.by_subject:
            return self.by_subject[key]
        spdx_id = self._id("Ancestor", a.subject)
        self.by_subject[key] = spdx_id
        status = a.license.status.value if a.license else "unknown"
        comment = f"Base model. License status: {status}."
        if a.problem:
            comment += f" {a.problem}"
        lic = self._expression(a.license)
        self._package(spdx_id, a.subject, version=None, declared=lic, concluded=lic, comment=comment)
        return spdx_id

    def _keys_expression(self, keys: tuple[str, ...]) -> Any:
        """Dataset licenses come as catalog keys: SPDX ids where the list has them, else LicenseRef-."""
        return self._expression(None, and_(_key_to_spdx(k) for k in keys) or "")


def _openness_comment(m: ModelResult) -> str:
    """SPDX 2.3 packages have no properties: the openness profile rides in the package comment."""
    from audit.openness import next_steps, summary

    o = m.openness
    if o is None:
        return ""
    parts = ", ".join(f"{c.name} {c.status}" for c in o.components)
    needs = next_steps(o)
    return f" Openness: {summary(o)}; {parts}." + (f" Missing {needs}." if needs else "")


def _key_to_spdx(key: str) -> str:
    licensing = spdx_licensing()
    symbol = licensing.known_symbols.get(key) or licensing.known_symbols_lowercase.get(key.lower())
    if symbol is not None:
        return str(symbol.key)
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", key)
