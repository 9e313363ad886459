"""SPDX 2.3 JSON via spdx-tools: a package per model, its lineage and datasets as related packages.

licenseDeclared is what the model's own card and files declare; licenseConcluded is the effective
license once the ancestors' terms are applied (NOASSERTION when undecidable: never a guess). Custom
licenses appear as LicenseRef-… with an extracted-licensing-info entry that names them; their text
is not reproduced: the entry gives the catalog's name, URL (seeAlsos) and our one-paragraph summary of its
terms. Lineage: the model DESCENDANT_OF its base (VARIANT_OF for a quantization); datasets: the model
GENERATED_FROM them (SPDX 2.3 has no trained-on relationship).

Hub packages name their supplier (Organization: the repo owner) and download location (the tree at the
audited commit). Files mlaudit hashed are File elements the model CONTAINS, with SHA-1 and SHA-256; the
files known only by a SHA-256 (the Hub's LFS listing, the lockfile) are not (SPDX 2.3 wants a SHA-1 per
file): the package comment counts them, the CycloneDX format carries them. The namespace is random per run, derived from the report when its time is pinned
(SOURCE_DATE_EPOCH or generated_at). Every string is made inert (common.inert): card text is hostile.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from audit.licenses.expression import and_
from audit.model import Ancestor, AuditReport, FileHash, LicenseFacts, ModelResult
from audit.report import DEFAULT_OPTIONS, RenderOptions
from audit.report.common import (
    HUB,
    document_key,
    inert,
    is_hub_id,
    is_spdx_expression,
    run_verdict,
    spdx_licensing,
    timestamp,
    verdict,
)
from audit.sources.ids import COMMIT_SHA

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
    return json.dumps(inert(data), indent=2, ensure_ascii=False) + "\n"


def document_uuid(report: AuditReport) -> uuid.UUID:
    """Random per run; derived from the report and its time when that is pinned (reproducible builds)."""
    if report.generated_at is not None or os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        return uuid.uuid5(_NS, f"{document_key(report)}\n{_created(report).isoformat()}")
    return uuid.uuid4()


def build_document(report: AuditReport) -> Any:
    # from the defining modules: spdx_tools.spdx.model imports these without re-exporting them (for mypy)
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
    from spdx_tools.spdx.model.spdx_none import SpdxNone

    builder = _Builder(report)
    for m in report.models:
        builder.model(m)
    doc_uuid = document_uuid(report)
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
        files=builder.files,
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
        self.files: list[Any] = []
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
        """An entry per LicenseRef-: the catalog's name, URL and our summary of its terms (never its text)."""
        from spdx_tools.spdx.model.extracted_licensing_info import ExtractedLicensingInfo

        from audit.licenses.catalog import catalog

        by_ref = {lic.spdx: lic for lic in catalog().all()}
        out = []
        for ref in sorted(self.refs):
            lic = by_ref.get(ref)
            links = set(self.refs[ref]) | ({lic.url} if lic is not None and lic.url else set())
            out.append(ExtractedLicensingInfo(
                license_id=ref,
                extracted_text=_summary(lic) if lic is not None else (
                    f"Custom license '{ref[len('LicenseRef-'):]}', identified by mlaudit from the model's card and "
                    f"files. Its text is not reproduced here; see the model repository."),
                license_name=lic.name if lic is not None else ref[len("LicenseRef-"):],
                cross_references=sorted(links),
                comment="mlaudit's summary of the license, in its own words: not the license text." if lic else None,
            ))
        return out

    # --- packages

    def _package(self, spdx_id: str, subject: str, *, version: str | None, declared: Any, concluded: Any,
                 comment: str, attribution: list[str] | None = None, dataset: bool = False,
                 files_analyzed: bool = False) -> Any:
        from spdx_tools.spdx.model.actor import Actor, ActorType
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
            if version and COMMIT_SHA.match(version.lower()):
                location += f"/tree/{version.lower()}"
        pkg = Package(
            spdx_id=spdx_id,
            name=subject,
            download_location=location,
            version=version,
            files_analyzed=files_analyzed,
            license_declared=declared,
            license_concluded=concluded,
            copyright_text=SpdxNoAssertion(),
            comment=comment,
            external_references=refs,
            attribution_texts=attribution or [],
            primary_package_purpose=PackagePurpose.OTHER,
            supplier=Actor(ActorType.ORGANIZATION, subject.split("/", 1)[0]) if hub else None,
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
        files = m.artifacts.files if m.artifacts else ()
        hashed = [f for f in files if f.sha1]
        if len(hashed) < len(files):
            comment += (f" {len(files) - len(hashed)} further file(s) have only a SHA-256 (listed by the Hub or pinned "
                        f"by the lockfile), which SPDX 2.3 cannot carry without a SHA-1: see the CycloneDX format.")
        self._package(
            spdx_id, m.subject, version=m.revision,
            declared=self._expression(m.license),
            concluded=self._expression(None, m.effective.expression or ""),
            comment=comment, attribution=attribution, files_analyzed=bool(hashed),
        )
        self._files(spdx_id, hashed)
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

    def _files(self, package_id: str, files: list[FileHash]) -> None:
        """The files mlaudit hashed from their bytes: File elements the package CONTAINS (SHA-1 and SHA-256)."""
        from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm
        from spdx_tools.spdx.model.file import File
        from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
        from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

        for f in files:
            file_id = self._id("File", f"{package_id[len('SPDXRef-'):]}-{f.path}")
            self.files.append(File(
                name=f"./{f.path}", spdx_id=file_id,
                checksums=[Checksum(ChecksumAlgorithm.SHA1, f.sha1 or ""), Checksum(ChecksumAlgorithm.SHA256, f.sha256)],
                license_concluded=SpdxNoAssertion(), copyright_text=SpdxNoAssertion(),
                comment="hashed by mlaudit from the bytes it read",
            ))
            self.relationships.append(Relationship(package_id, RelationshipType.CONTAINS, file_id))

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


def _summary(lic: Any) -> str:
    """Our one-paragraph summary of a catalog license: its summary, then its terms by kind (mlaudit's words)."""
    parts = [lic.summary.strip()]
    for kind in ("permissions", "conditions", "limitations"):
        ids = list(dict.fromkeys(t.id for t in lic.terms if t.kind == kind))
        if ids:
            parts.append(f"{kind.capitalize()}: {', '.join(ids)}.")
    return " ".join(" ".join(parts).split())


def _key_to_spdx(key: str) -> str:
    licensing = spdx_licensing()
    symbol = licensing.known_symbols.get(key) or licensing.known_symbols_lowercase.get(key.lower())
    if symbol is not None:
        return str(symbol.key)
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", key)
