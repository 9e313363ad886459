"""Core types. Small frozen dataclasses; every fact carries the Origin it came from.

Data flows one way: Snapshot -> ModelCard -> LicenseFacts -> Lineage -> Findings/Obligations -> AuditReport.
Nothing here does I/O.

Why this module is long: it holds every core type of the data flow, so that a reader sees the whole contract in
one place; each is a small frozen dataclass or enum with no logic beyond its own serialisation.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any


class Status(str, Enum):
    RESOLVED = "resolved"
    UNKNOWN = "unknown"
    CONFLICT = "conflict"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {"note": 0, "warning": 1, "error": 2}[self.value]


class SourceKind(str, Enum):
    """Where a fact was read. A str enum: it compares equal to, and serialises as, its value."""

    LOCAL = "local"  # a snapshot directory
    CARD = "card"  # a lone model card file
    CACHE = "cache"  # the local Hugging Face cache
    HUB = "hub"  # the Hub (or a compatible endpoint)
    REGISTRY = "registry"  # mlaudit's offline registry of well-known models
    CODEBASE = "codebase"  # a scanned codebase
    INFERRED = "inferred"  # worked out by mlaudit from other facts (body text, names)
    CATALOG = "catalog"  # mlaudit's license catalog
    INDEX = "index"  # a community lineage index built by `mlaudit index build` (audit/index)

    def __str__(self) -> str:  # f-strings show the value, as for a str (Python 3.11 shows Class.MEMBER)
        return self.value


class Relation(str, Enum):
    """How a model derives from its base."""

    FINETUNE = "finetune"
    ADAPTER = "adapter"
    QUANTIZED = "quantized"
    MERGE = "merge"
    UNKNOWN = "unknown"

    def __str__(self) -> str:  # f-strings show the value, as for a str (Python 3.11 shows Class.MEMBER)
        return self.value


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"


class Outcome(str, Enum):
    FAIL = "fail"  # the rule matched on facts we are sure of
    UNKNOWN = "unknown"  # the facts could not be decided; fails closed like FAIL
    WAIVED = "waived"  # matched, but a valid waiver covers it; reported, never dropped


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a fact came from."""

    source: str  # a SourceKind value: local | card | cache | hub | registry | codebase | inferred | catalog
    locator: str  # path or repo id
    revision: str | None = None  # resolved commit sha where known
    file: str | None = None  # file inside the repo (or absolute path for a lone card)
    line: int | None = None  # 1-based
    field: str | None = None  # front-matter field, e.g. "license_name"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "locator": self.locator,
            "revision": self.revision,
            "file": self.file,
            "line": self.line,
            "field": self.field,
        }

    def at(self, *, file: str | None = None, line: int | None = None, field: str | None = None) -> Origin:
        return Origin(
            self.source,
            self.locator,
            self.revision,
            file if file is not None else self.file,
            line if line is not None else self.line,
            field if field is not None else self.field,
        )

    def __str__(self) -> str:
        where = self.file or self.locator
        if self.line:
            where = f"{where}:{self.line}"
        if self.field:
            where = f"{where} ({self.field})"
        return where


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with an input that did not stop the audit (recorded, shown, never silent)."""

    code: str  # e.g. card-malformed-yaml, card-no-front-matter, card-field-type
    message: str
    origin: Origin

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "origin": self.origin.to_dict()}


@dataclass(frozen=True, slots=True)
class RepoFile:
    """A file of a model repo as a source knows it (bytes may or may not be on disk)."""

    path: str  # path inside the repo, '/'-separated
    size: int | None = None
    local_path: str | None = None  # where the bytes are on this machine, if they are
    blob_id: str | None = None  # git blob sha1 as the Hub/cache reports it
    sha256: str | None = None  # LFS sha256 as the Hub/cache reports it


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One model repo at one revision, as read by a source. Small text files are read eagerly."""

    subject: str  # repo id (org/name) or the directory/card path for local input
    origin: Origin  # origin of the snapshot itself (file=None)
    files: tuple[RepoFile, ...] = ()
    texts: Mapping[str, str] = field(default_factory=dict)  # repo path -> text (card, license-like, config)
    card_path: str | None = None  # repo path of the model card inside `texts`, if any
    info: Mapping[str, Any] = field(default_factory=dict)  # Hub metadata (author, gated, tags, cardData, ...)
    unread: tuple[Problem, ...] = ()  # files the audit wanted to read but could not (too big, a FIFO, a link out)
    # repo path -> (sha256, sha1) of the bytes a source read into `texts`, when it hashed them as it read them
    digests: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def revision(self) -> str | None:
        return self.origin.revision


@dataclass(frozen=True, slots=True)
class ModelCard:
    origin: Origin  # the card file
    front_matter: Mapping[str, Any]  # known fields only, as parsed
    license: tuple[str, ...]  # declared license ids (a list-valued field gives several)
    license_name: str | None
    license_link: str | None
    base_models: tuple[str, ...]
    base_model_relation: str | None
    datasets: tuple[str, ...]
    tags: tuple[str, ...]
    gated: Any
    body: str
    body_line: int  # 1-based line where the body starts in the card file
    field_lines: Mapping[str, int]  # front-matter field -> 1-based line in the card file
    problems: tuple[Problem, ...] = ()
    has_front_matter: bool = True

    def field_origin(self, name: str) -> Origin:
        return self.origin.at(line=self.field_lines.get(name), field=name)


@dataclass(frozen=True, slots=True)
class Declaration:
    """One source's statement about the license, and what we made of it."""

    kind: str  # front-matter | license-name | license-link | license-link-missing (its file is not in the snapshot)
    # | license-file | body | statement | intended-use | hub-tag
    # | registry | inherited | ...
    value: str  # the raw value as written
    keys: tuple[str, ...]  # catalog keys it resolved to; () when unrecognised
    origin: Origin
    expression: str | None = None  # SPDX expression for this declaration alone
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "keys": list(self.keys),
            "expression": self.expression,
            "origin": self.origin.to_dict(),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Disagreement:
    message: str
    a: Declaration
    b: Declaration

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "a": self.a.to_dict(), "b": self.b.to_dict()}


@dataclass(frozen=True, slots=True)
class LicenseFacts:
    declarations: tuple[Declaration, ...]
    expression: str | None  # normalized SPDX expression (LicenseRef- for custom licenses)
    keys: tuple[str, ...]  # catalog keys
    status: Status
    disagreements: tuple[Disagreement, ...] = ()
    reason: str | None = None  # why unknown / what decided it

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression, "keys": list(self.keys), "status": self.status.value}


@dataclass(frozen=True, slots=True)
class LicenseChange:
    """An ancestor's license changed: `from_key` until `date`, then `to_key`. On an Ancestor it is a change the
    subject's date does not decide (the subject may predate it or not)."""

    date: str | None  # 'YYYY', 'YYYY-MM', 'YYYY-MM-DD' or a range 'A..B' of those; None when not known
    from_key: str | None
    to_key: str | None
    source: str | None = None

    def when(self) -> str:
        """The date as a sentence says it: 'on 2024-01', 'between 2024-01-01 and 2024-01-06'."""
        if self.date is None:
            return "on an unknown date"
        a, sep, b = self.date.partition("..")
        return f"between {a} and {b}" if sep else f"on {self.date}"

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "from": self.from_key, "to": self.to_key, "source": self.source}


@dataclass(frozen=True, slots=True)
class Ancestor:
    subject: str  # repo id
    parent: str  # the model that names this one as its base
    relation: str  # finetune | quantized | adapter | merge | unknown
    depth: int  # 1 = direct base
    license: LicenseFacts | None  # None when the ancestor could not be found
    resolved_from: str | None  # local | cache | hub | registry | None (not found)
    inferred: bool = False  # named outside base_model (config, body, name)
    confidence: float = 1.0
    evidence: tuple[Origin, ...] = ()
    problem: str | None = None  # why it could not be resolved (missing, gated, cycle, depth)
    note: str | None = None  # for an inferred ancestor: the evidence in words (the phrase, the header field)
    via: str | None = None  # the kind of evidence that named it (audit/lineage/data/confidence.yaml)
    history: tuple[LicenseChange, ...] = ()  # license changes the subject's date does not decide
    subject_date: str | None = None  # with `history`: what is known of the subject's date, in words

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "parent": self.parent,
            "relation": self.relation,
            "depth": self.depth,
            "keys": list(self.license.keys) if self.license else [],
            "status": self.license.status.value if self.license else "unknown",
            "resolved_from": self.resolved_from,
            "inferred": self.inferred,
            "confidence": self.confidence,
            "evidence": [o.to_dict() for o in self.evidence],
            "problem": self.problem,
            "note": self.note,
            "via": self.via,
            "license_history": [c.to_dict() for c in self.history],
        }


@dataclass(frozen=True)
class Lineage:
    subject: str
    relation: str | None  # this model's own relation to its bases
    ancestors: tuple[Ancestor, ...] = ()
    problems: tuple[Problem, ...] = ()

    @cached_property
    def by_parent(self) -> Mapping[str, tuple[Ancestor, ...]]:
        """The ancestors by the (lower-cased) subject naming them as its bases."""
        out: dict[str, list[Ancestor]] = {}
        for a in self.ancestors:
            out.setdefault(a.parent.lower(), []).append(a)
        return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class Effective:
    """The licenses that govern a model once its ancestors' terms are applied."""

    expression: str | None
    keys: tuple[str, ...]
    inferred_from_ancestors: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> subject it comes from

    def binding(self, also: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The keys whose terms bind the model: the effective ones, then `also` (its own keys that inference which
        does not gate superseded: see lineage.inherit.Inheritance.still_binding)."""
        return self.keys + tuple(k for k in also if k not in self.keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "keys": list(self.keys),
            "inferred_from_ancestors": self.inferred_from_ancestors,
            "sources": dict(self.sources),
        }


@dataclass(frozen=True, slots=True)
class DatasetFacts:
    id: str
    keys: tuple[str, ...]
    status: Status
    resolved_from: str | None
    origin: Origin
    reason: str | None = None  # why the license could not be determined (every source's answer)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "keys": list(self.keys),
            "status": self.status.value,
            "resolved_from": self.resolved_from,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """A fact a check relied on; a candidate finding before the policy grades it."""

    check: str  # built-in check id, e.g. license-unknown, lineage-conflict
    subject: str
    message: str
    origins: tuple[Origin, ...] = ()
    unknown: bool = False  # the check fired because something could not be decided
    inferred: bool = False  # rests on inferred lineage
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    outcome: Outcome
    subject: str
    message: str
    remediation: str | None = None
    evidence: tuple[Origin, ...] = ()
    check: str | None = None
    waiver: str | None = None  # reason, when waived, or why a waiver no longer applies

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "check": self.check,
            "severity": self.severity.value,
            "outcome": self.outcome.value,
            "subject": self.subject,
            "message": self.message,
            "remediation": self.remediation,
            "evidence": [
                {"source": o.source, "locator": o.locator, "file": o.file, "line": o.line, "field": o.field}
                for o in self.evidence
            ],
            "waiver": self.waiver,
        }


@dataclass(frozen=True, slots=True)
class Obligation:
    subject: str
    key: str  # license key that imposes it
    kind: str  # include-license | include-notice | attribution-text | name-prefix | pass-use-restrictions | ...
    text: str
    via: str | None = None  # ancestor subject when inherited

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "key": self.key, "kind": self.kind, "text": self.text, "via": self.via}


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something a run chose not to read (a VCS or virtualenv directory inside a container of models), and why.
    Reported, so nothing is left out silently."""

    input: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class InputError:
    input: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "message": self.message}


@dataclass(frozen=True, slots=True)
class NoticeFile:
    """A NOTICE, LICENSE or COPYING file of the model, as read: a distributor ships it with the model."""

    path: str  # inside the repo
    text: str


@dataclass(frozen=True, slots=True)
class OpennessComponent:
    """One part of a release (weights, code, data, documentation, paper): what is open of it, and why we think so."""

    name: str  # weights | code | data | documentation | paper
    status: str  # a word per component, e.g. weights: osi-approved | open | restricted | non-commercial | ...
    open: bool  # counts as released openly toward a Model Openness Framework class
    detail: str  # one line for a reader
    licenses: tuple[str, ...] = ()  # catalog keys, where the component has a license
    evidence: tuple[Origin, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "open": self.open, "detail": self.detail,
                "licenses": list(self.licenses), "evidence": [o.to_dict() for o in self.evidence]}


@dataclass(frozen=True, slots=True)
class Openness:
    """What a release opens, mapped to the Model Openness Framework (MOF) classes where the evidence allows.

    mof_class is "I" (open science), "II" (open tooling), "III" (open model) or None (no class); decided is False
    when a fact the class depends on (the weights' license) could not be determined."""

    components: tuple[OpennessComponent, ...]
    mof_class: str | None
    decided: bool
    next_class: str | None  # the class above mof_class (None above class I)
    missing: tuple[str, ...] = ()  # what the next class needs that the evidence does not show

    def component(self, name: str) -> OpennessComponent | None:
        return next((c for c in self.components if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.mof_class, "decided": self.decided, "next_class": self.next_class,
                "missing": list(self.missing), "components": [c.to_dict() for c in self.components]}


@dataclass(frozen=True, slots=True)
class FileHash:
    """A file of the model and its digest: of the bytes mlaudit read ("read"), as the Hub or cache lists it for
    an LFS file that was not downloaded to be hashed ("listed"), or as the lockfile pins it ("locked")."""

    path: str  # inside the repo, '/'-separated
    sha256: str  # lower-case hex
    sha1: str | None = None  # of the bytes, for files mlaudit read (SPDX 2.3 wants one per file)
    source: str = "read"  # read | listed | locked


@dataclass(frozen=True, slots=True)
class Artifacts:
    """What the SBOM formats say about a model's files: their hashes, and the architecture config.json names."""

    files: tuple[FileHash, ...] = ()
    model_type: str | None = None  # config.json model_type (the architecture family), as written
    architectures: tuple[str, ...] = ()  # config.json architectures, as written


@dataclass(frozen=True, slots=True)
class ModelResult:
    subject: str
    revision: str | None
    origin: Origin
    card: ModelCard | None
    license: LicenseFacts
    lineage: Lineage
    effective: Effective
    datasets: tuple[DatasetFacts, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)
    passed: bool = True
    notice_files: tuple[NoticeFile, ...] = ()  # the model's own NOTICE / LICENSE texts (for the NOTICE format)
    openness: Openness | None = None  # None when the model was not profiled (a result built outside the pipeline)
    artifacts: Artifacts | None = None  # file hashes and architecture, for the SBOM formats (None: not gathered)


@dataclass(frozen=True, slots=True)
class Reference:
    """One place in a codebase that names a model (or tries to, unresolvably)."""

    model: str | None  # Hub repo id; None when it could not be resolved
    revision: str | None
    file: str  # relative to the scanned root, '/'-separated
    line: int  # 1-based
    kind: str  # from_pretrained | pipeline | sentence-transformers | diffusers | peft | hf_hub_download |
    #            snapshot_download | vllm | url | config-key | parse-error | unreadable
    text: str  # the source line, stripped, tokens redacted, at most 200 characters
    resolved: bool = True
    reason: str | None = None  # for an unresolvable reference: what could not be resolved

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "revision": self.revision,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a policy rule means, for formats that describe their rules (SARIF)."""

    id: str
    description: str
    severity: Severity
    remediation: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanInfo:
    """The codebase a `scan` read, and every model reference it found there."""

    root: str  # absolute path of the scanned directory or file
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class BaselineSummary:
    path: str
    matched: int  # findings the baseline covered (now waived)
    new: int  # findings it did not cover
    stale: int  # baseline entries no finding matched any more


@dataclass(frozen=True, slots=True)
class NewerRevision:
    """A locked branch or tag that points, in the local cache, to a newer commit than the lock pins."""

    subject: str
    requested: str
    locked: str | None
    latest: str | None
    license: tuple[str, ...]
    license_changed: bool


@dataclass(frozen=True, slots=True)
class LockSummary:
    path: str
    models: int
    newer_revisions: tuple[NewerRevision, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditReport:
    tool_version: str
    policy_name: str
    policy_sha256: str
    models: tuple[ModelResult, ...]
    findings: tuple[Finding, ...]
    obligations: tuple[Obligation, ...]
    errors: tuple[InputError, ...]
    passed: bool
    rules: tuple[RuleInfo, ...] = ()
    scan: ScanInfo | None = None  # set by `scan`
    baseline: BaselineSummary | None = None  # set when a baseline was applied
    lock: LockSummary | None = None  # set by a --locked run
    generated_at: str | None = None  # ISO 8601 UTC; None: the renderer uses SOURCE_DATE_EPOCH or now
    skipped: tuple[Skipped, ...] = ()  # what the run chose not to read, and why
    fail_on: Severity = Severity.ERROR  # the policy's gate: a finding at this severity or above fails the run
    duration_s: float | None = None  # how long the run took (JUnit's time); not in the JSON, which stays stable

    def fails(self, finding: Finding) -> bool:
        """Does this finding fail the gate (the policy's fail_on, a waiver lets it through)?"""
        return finding.outcome is not Outcome.WAIVED and finding.severity.rank >= self.fail_on.rank

    schema = "mlaudit.report/1"
