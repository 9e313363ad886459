"""The library API, and the one pipeline the CLI calls too. No printing, no exiting (that is the CLI's job).

    inputs -> router -> Snapshot -> ModelCard -> LicenseFacts -> Lineage -> policy.evaluate
           -> Findings + Obligations -> AuditReport -> post-processors (lock, baseline) -> renderer

    import audit
    report = audit.audit(["examples/models"], policy="policies/commercial.yaml")
    print(audit.render(report, "markdown"))
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from audit import __version__
from audit.artifacts import artifacts, with_locked_hashes
from audit.card import parse_card
from audit.checks import BLOCKING_PROBLEMS, CHECKS, license_evidence
from audit.datasets import dataset_evidence, resolve_datasets
from audit.errors import AuditError, InputUnreadable, UsageError
from audit.licenses.normalize import license_facts
from audit.lineage import (
    Resolver,
    effective_license,
    inherit,
    lineage_evidence,
    resolve_lineage,
    resolve_many,
    rests_on_inference,
    settle,
)
from audit.model import (
    AuditReport,
    Effective,
    Evidence,
    Finding,
    InputError,
    LicenseFacts,
    Lineage,
    ModelCard,
    ModelResult,
    Obligation,
    Origin,
    Reference,
    RuleInfo,
    ScanInfo,
    Severity,
    Skipped,
    Snapshot,
    SourceKind,
)
from audit.obligations import obligations_for
from audit.openness import openness_evidence, openness_profile
from audit.policy.engine import Subject, evaluate
from audit.policy.floor import apply_floor
from audit.policy.grade import failing, grade_evidence, with_findings
from audit.policy.schema import Policy
from audit.policy.schema import load_policy as _load_policy_file
from audit.policy.waivers import apply_waivers
from audit.postprocess import lock as lockmod
from audit.postprocess.baseline import Baseline, read_baseline, write_baseline
from audit.postprocess.baseline import apply_baseline as _apply
from audit.postprocess.lock import Lockfile, write_lock
from audit.provenance import provenance_evidence, provenance_facts
from audit.registry import load_registry
from audit.report import RenderOptions
from audit.report import render as _render
from audit.snapshot_checks import notice_files, registry_evidence, unread_evidence
from audit.sources.codebase import scan_codebase
from audit.sources.hub import HubClient
from audit.sources.router import Loaded, Progress, Router

if TYPE_CHECKING:
    from audit.index.lookup import IndexSource

__all__ = [
    "AuditReport",
    "LockResult",
    "Options",
    "Policy",
    "Progress",
    "apply_baseline",
    "audit",
    "audit_locked",
    "load_policy",
    "lock",
    "record_baseline",
    "render",
    "scan",
]

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class Options:
    """How an audit reads models and their lineage. Every field has a default; an unknown keyword is a
    TypeError, as for any dataclass."""

    hf_cache: bool = False
    """Also audit every model repo in the local Hugging Face cache."""
    cache_dir: str | None = None
    """The Hugging Face cache directory (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    models_dirs: tuple[str, ...] = ()
    """Local directories of snapshot directories where models and their base models are looked up first."""
    lineage: bool = True
    """Resolve base models and apply their terms (False: audit each model's own license only)."""
    offline: bool | None = None
    """Never contact the Hub: repo ids are read from models_dirs and the cache, ancestors also from the shipped
    registry. None (the default) follows HF_HUB_OFFLINE."""
    endpoint: str | None = None
    """Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co)."""
    token: str | None = None
    """Hub token (default: HF_TOKEN, else the token huggingface_hub stored). Never printed."""
    today: _dt.date | None = None
    """The date waivers are checked against (default: today)."""
    index: str | None = None
    """[index hook] A community lineage index (`mlaudit index build`): ancestors are looked up there after the
    local sources and before the Hub, so community chains resolve with no network."""
    hub: HubClient | None = field(default=None, compare=False, repr=False)
    """A Hub client to reuse (a test's fake Hub, a long-running service); made from endpoint/token if None."""

    def __post_init__(self) -> None:
        # a list or a lone string is what people pass; keep the frozen value a tuple of paths
        dirs = self.models_dirs
        object.__setattr__(self, "models_dirs", (dirs,) if isinstance(dirs, str) else tuple(dirs))

    @property
    def is_offline(self) -> bool:
        if self.offline is None:
            return (os.environ.get("HF_HUB_OFFLINE") or "").strip().lower() in _TRUE
        return self.offline


def _options(options: Options | None, fields: dict[str, Any]) -> Options:
    if options is not None and fields:
        raise TypeError(f"give either options= or option keywords, not both ({', '.join(sorted(fields))})")
    return options if options is not None else Options(**fields)


def load_policy(policy: Policy | str | None = None, *, fail_on: Severity | str | None = None) -> Policy:
    """A Policy from a file path (None: the built-in default policy); fail_on overrides the policy's own."""
    loaded = policy if isinstance(policy, Policy) else _load_policy_file(policy)
    return replace(loaded, fail_on=Severity(fail_on)) if fail_on else loaded


# --- the run: one Hub client, one router, one resolver ---------------------------------------------------------

class _Run:
    """The state one audit shares between its inputs: the Hub client (made once), the router, the resolver."""

    def __init__(self, options: Options):
        load_registry()  # a broken user copy of the registry is a configuration error (exit 2), found up front
        self.options = options
        self._hub: HubClient | None = options.hub
        self._resolver: Resolver | None = None
        self._index = _open_index(options.index)  # [index hook] a bad --index file fails up front (exit 2)
        self.router = Router(models_dirs=options.models_dirs, cache_dir=options.cache_dir,
                             hub=None if options.is_offline else self.hub)

    def hub(self) -> HubClient:
        if self._hub is None:
            self._hub = HubClient(endpoint=self.options.endpoint, token=self.options.token)
        return self._hub

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(models_dirs=self.options.models_dirs, cache_dir=self.options.cache_dir,
                                      use_cache=True, hub=None if self.options.is_offline else self.hub(),
                                      index=self._index)
        return self._resolver

    def read(self, specs: Iterable[str], progress: Progress | None = None) -> list[Loaded]:
        return self.router.read_all(specs, hf_cache=self.options.hf_cache, progress=progress)

    def audit(self, items: Sequence[Snapshot | AuditError | Skipped], policy: Policy) -> AuditReport:
        """Snapshots (or the errors that replaced them, or what was skipped) -> the report."""

        errors = [InputError(e.input, e.message) for e in items if isinstance(e, AuditError)]
        skipped = tuple(s for s in items if isinstance(s, Skipped))
        read: list[tuple[Snapshot, ModelCard | None, LicenseFacts]] = []
        for snap in (s for s in items if isinstance(s, Snapshot)):
            try:
                card = read_card(snap)
            except AuditError as exc:
                errors.append(InputError(exc.input, exc.message))
                continue
            read.append((snap, card, license_facts(card, snap)))
        if self.options.lineage:
            # all models' bases at once, so remote ancestors are fetched concurrently, not one by one
            lineages = resolve_many([(s.subject, c, f, s) for s, c, f in read], self.resolver)
        else:
            lineages = [Lineage(s.subject, c.base_model_relation if c else None) for s, c, _ in read]
        self.resolver.prefetch_datasets([d for _, c, _ in read if c for d in c.datasets])
        models: list[ModelResult] = []
        findings: list[Finding] = []
        obligations: list[Obligation] = []
        for (snap, card, facts), lineage in zip(read, lineages):
            result, f, o = self._judge(snap, card, facts, lineage, policy)
            models.append(result)
            findings.extend(f)
            obligations.extend(o)
        if not models and not errors:
            errors.append(InputError("(inputs)", "no model to audit: give a path, a Hub repo id, or --hf-cache"))
        return AuditReport(
            tool_version=__version__,
            policy_name=policy.name,
            policy_sha256=policy.sha256,
            models=tuple(models),
            findings=tuple(findings),
            obligations=tuple(obligations),
            errors=tuple(errors),
            passed=not errors and all(m.passed for m in models),
            rules=rule_infos(policy),
            skipped=skipped,
            fail_on=policy.fail_on,
        )

    def audit_one(self, snapshot: Snapshot, policy: Policy) -> ModelResult | AuditError:
        """One snapshot on its own (lineage resolved for it alone, not batched)."""

        try:
            card = read_card(snapshot)
        except AuditError as exc:
            return exc
        facts = license_facts(card, snapshot)
        if self.options.lineage:
            lineage = resolve_lineage(snapshot.subject, card, facts, snapshot, self.resolver)
        else:
            lineage = Lineage(snapshot.subject, card.base_model_relation if card else None)
        return self._judge(snapshot, card, facts, lineage, policy)[0]

    def _judge(self, snapshot: Snapshot, card: ModelCard | None, facts: LicenseFacts, lineage: Lineage,
               policy: Policy) -> tuple[ModelResult, list[Finding], list[Obligation]]:
        """Facts gathered for one model -> its verdict, findings and obligations."""

        subject = snapshot.subject
        inheritance = inherit(subject, facts, lineage, bool(policy.settings.get("inferred_lineage_can_fail")))  # once: the effective license and the checks both read it
        effective = effective_license(subject, facts, lineage, inheritance)
        datasets = resolve_datasets(card, self.resolver)
        provenance = provenance_facts(snapshot, card)
        evidence = license_evidence(subject, card, facts, snapshot) + unread_evidence(subject, snapshot)
        evidence += registry_evidence(subject, snapshot)
        evidence += lineage_evidence(subject, card, facts, lineage, effective, inheritance)
        evidence += dataset_evidence(subject, datasets)
        evidence += provenance_evidence(subject, provenance, policy.settings)
        evidence = settle(evidence)
        openness = openness_profile(snapshot, card, facts.keys, effective, datasets)
        findings = evaluate(policy, Subject(subject, facts, effective, tuple(evidence), _key_origins(facts, lineage),
                                            _inferred_keys(subject, effective, lineage), inheritance.still_binding))
        findings = apply_floor(policy, subject, evidence, findings)  # fail closed whatever the rules say
        findings = apply_waivers(findings, policy.waivers, self.options.today)
        # the openness checks fire only when the policy's settings ask for them; graded like post-processor
        # evidence, so a policy that asks without a rule for them still fails on them (fail closed)
        findings += grade_evidence(policy, subject, openness_evidence(subject, openness, policy.settings),
                                   facts=facts, effective=effective, today=self.options.today)
        result = ModelResult(
            subject=subject,
            revision=snapshot.revision,
            origin=snapshot.origin,
            card=card,
            license=facts,
            lineage=lineage,
            effective=effective,
            datasets=datasets,
            provenance=provenance,
            openness=openness,
            passed=not any(failing(f, policy) for f in findings),
            notice_files=notice_files(snapshot),
            artifacts=artifacts(snapshot),
        )
        return result, findings, obligations_for(subject, effective, inheritance.still_binding)


def _open_index(path: str | None) -> IndexSource | None:
    """[index hook] The --index file, opened (standard library only: no Dask needed to read one)."""
    if not path:
        return None
    from audit.index.lookup import IndexSource

    return IndexSource(path)


def read_card(snapshot: Snapshot) -> ModelCard | None:
    """Parse the snapshot's card; a card too broken to decide on raises InputUnreadable naming file:line."""
    if snapshot.card_path is None or snapshot.card_path not in snapshot.texts:
        return None
    origin = snapshot.origin.at(file=snapshot.card_path)
    card = parse_card(snapshot.texts[snapshot.card_path], origin)
    for p in card.problems:
        if p.code in BLOCKING_PROBLEMS:
            if snapshot.origin.source == SourceKind.HUB:
                where = snapshot.subject
            elif snapshot.origin.source == SourceKind.CARD:
                where = snapshot.origin.locator
            else:
                where = os.path.join(snapshot.origin.locator, snapshot.card_path or "")
            raise InputUnreadable(f"{where}:{p.origin.line or 1}", p.message)
    return card


def _inferred_keys(subject: str, effective: Effective, lineage: Lineage) -> frozenset[str]:
    """The effective keys the model has only from ancestors it reaches through inferred lineage that does not
    gate (a family read from prose, a name): a term finding on them is held to warning, like the conflict found
    the same way. A key from a declared base is as certain as the base. None when the model declares no license
    and has only such keys: were the guess wrong its license would be unknown, were it right its terms would
    bind; either way the finding stands (fail closed)."""
    if effective.inferred_from_ancestors:
        return frozenset()
    return frozenset(k for k, via in effective.sources.items()
                     if via != subject and rests_on_inference(lineage, subject, via))


def _key_origins(facts: LicenseFacts, lineage: Lineage) -> dict[str, tuple[Origin, ...]]:
    out: dict[str, list[Origin]] = {}
    for d in facts.declarations:
        for k in d.keys:
            out.setdefault(k, []).append(d.origin)
    for anc in lineage.ancestors:
        if anc.license is None:
            continue
        for k in anc.license.keys:
            out.setdefault(k, []).extend(anc.evidence[:2])
    return {k: tuple(dict.fromkeys(v))[:4] for k, v in out.items()}


def rule_infos(policy: Policy) -> tuple[RuleInfo, ...]:
    """What each rule means, for formats that describe their rules (SARIF)."""

    return tuple(
        RuleInfo(
            id=rule.id,
            description=(CHECKS[rule.when["check"]].description if rule.when.get("check") in CHECKS else None)
            or rule.message or f"policy rule {rule.id}",
            severity=rule.severity,
            remediation=rule.remediation,
            references=tuple(rule.references),
        )
        for rule in policy.rules
    )


def _timed(report: AuditReport, start: float) -> AuditReport:
    return replace(report, duration_s=round(time.perf_counter() - start, 3))


def _empty_report(policy: Policy) -> AuditReport:
    """The report of a run that had no model to audit (a codebase that names none)."""
    return AuditReport(__version__, policy.name, policy.sha256, (), (), (), (), True, rules=rule_infos(policy),
                       fail_on=policy.fail_on)


# --- entry points ---------------------------------------------------------------------------------------------

def audit(inputs: Iterable[str] = (), policy: Policy | str | None = None, options: Options | None = None, *,
          progress: Progress | None = None, **option_fields: Any) -> AuditReport:
    """Audit model inputs (paths, Hub repo ids `org/name[@rev]`, Hub URLs) against a policy (a Policy, a path,
    or None for the default policy). Options come as `options=` or as keywords (`offline=True`)."""
    start = time.perf_counter()
    opts = _options(options, option_fields)
    run = _Run(opts)
    loaded = run.read(list(inputs), progress)
    return _timed(run.audit([item for _, item in loaded], load_policy(policy)), start)


def scan(root: str = ".", policy: Policy | str | None = None, options: Options | None = None, *,
         exclude: Sequence[str] = (), lockfile: str | None = None, progress: Progress | None = None,
         **option_fields: Any) -> AuditReport:
    """Audit every model a codebase names. Every reference is in report.scan; a reference whose model is only
    known at run time is a `reference-unresolved` finding. With `lockfile`, the models come from the lock
    (offline) and a referenced model the lock does not hold is an error."""

    start = time.perf_counter()
    opts = _options(options, option_fields)
    pol = load_policy(policy)
    refs = scan_codebase(root, exclude=tuple(exclude))
    specs = reference_specs(refs)
    if lockfile is not None:
        report = _audit_from_lock(lockfile, pol, replace(opts, offline=True), specs)
    else:
        run = _Run(opts)
        loaded = run.read(specs, progress)
        report = run.audit([i for _, i in loaded], pol) if loaded else _empty_report(pol)
    root_abs = os.path.abspath(root)
    report = replace(report, scan=ScanInfo(root_abs, tuple(refs)))
    report = with_findings(report, report.findings + tuple(reference_findings(refs, root_abs, pol, opts.today)), pol)
    return _timed(report, start)


def audit_locked(lockfile: str, policy: Policy | str | None = None, options: Options | None = None,
                 **option_fields: Any) -> AuditReport:
    """Audit exactly what the lockfile pins, with no network; fail when a file or a license changed."""
    start = time.perf_counter()
    opts = replace(_options(options, option_fields), offline=True)
    return _timed(_audit_from_lock(lockfile, load_policy(policy), opts, None), start)


def _audit_from_lock(lockfile: str, policy: Policy, options: Options, specs: Sequence[str] | None) -> AuditReport:
    locked = lockmod.read_lock(lockfile)
    if specs is None and not locked.entries:
        raise UsageError(lockfile, "locks no model: a --locked run would pass without auditing anything "
                                   "(write it with `mlaudit lock`)")
    missing: list[AuditError] = []
    entries = None
    if specs is not None:
        entries, missing = lockmod.entries_for_references(locked, specs)
    pairs = lockmod.locked_inputs(locked, options.cache_dir, entries)
    run = _Run(options)
    items = [snap for _, snap in pairs] + list(missing)
    report = with_locked_hashes(run.audit(items, policy) if items else _empty_report(policy), pairs)
    newer = [(entry, latest, run.audit_one(latest, policy) if isinstance(latest, Snapshot) else latest)
             for entry, latest in lockmod.newer_cached(locked, options.cache_dir)
             if any(entry is e for e, _ in pairs)]
    return lockmod.verify(report, locked, pairs, newer, policy, options.today)


@dataclass(frozen=True, slots=True)
class LockResult:
    report: AuditReport  # the audit the lock was written from
    lockfile: Lockfile | None  # None when some input could not be read (nothing is written then)
    unresolved: int  # code references that name no model mlaudit can know (not locked)


def lock(inputs: Iterable[str] = (), policy: Policy | str | None = None, options: Options | None = None, *,
         lockfile: str = "mlaudit.lock", scan_root: str | None = None, exclude: Sequence[str] = (),
         progress: Progress | None = None, **option_fields: Any) -> LockResult:
    """Audit the inputs (and every model the codebase at scan_root references) and write the lockfile, unless
    an input could not be read: a partial lock would drop a model silently."""

    opts = _options(options, option_fields)
    pol = load_policy(policy)
    specs = list(inputs)
    unresolved = 0
    if scan_root is not None:
        refs = scan_codebase(scan_root, exclude=tuple(exclude))
        specs += [x for x in reference_specs(refs) if x not in specs]
        unresolved = sum(1 for r in refs if r.model is None)
    run = _Run(opts)
    loaded = run.read(specs, progress)
    report = run.audit([i for _, i in loaded], pol) if loaded else _empty_report(pol)
    if report.errors:
        return LockResult(report, None, unresolved)
    return LockResult(report, write_lock(lockfile, report, loaded), unresolved)


def apply_baseline(report: AuditReport, baseline: str | Baseline, policy: Policy | str | None = None) -> AuditReport:
    """Findings recorded in the baseline become waived ("in baseline FILE"); verdicts are recomputed."""

    loaded = read_baseline(baseline) if isinstance(baseline, str) else baseline
    return _apply(report, loaded, load_policy(policy))


def record_baseline(report: AuditReport, path: str) -> Baseline:
    """Write every current finding (not already waived) to a baseline file."""

    return write_baseline(path, report)


def render(report: AuditReport, fmt: str = "text", options: RenderOptions | None = None) -> str | bytes:
    """The report in a format: text, json, sarif, junit, markdown, cyclonedx, spdx, notices."""

    out: str | bytes = _render(report, fmt, options)
    return out


# --- code references ------------------------------------------------------------------------------------------

def reference_specs(references: Iterable[Reference]) -> list[str]:
    """Resolved code references -> inputs ("org/name" or "org/name@revision"), each once, in order."""
    seen: dict[str, None] = {}
    for r in references:
        if r.model is None:
            continue
        seen.setdefault(f"{r.model}@{r.revision}" if r.revision else r.model, None)
    return list(seen)


def reference_findings(references: Iterable[Reference], root: str, policy: Policy,
                       today: _dt.date | None = None) -> list[Finding]:
    """A reference whose model cannot be known without running the code is a finding (check
    `reference-unresolved`): the codebase uses a model nobody audited, so the gate fails closed on it.
    The subject is the file, so a baseline entry survives the line moving."""
    by_file: dict[str, list[Evidence]] = {}
    for r in references:
        if r.model is not None or r.resolved:  # resolved without a model: a skipped venv, reported, not failing
            continue
        message = f"{r.kind} reference whose model cannot be known without running the code: {r.reason}"
        origin = Origin(SourceKind.CODEBASE, root, file=r.file, line=r.line)
        by_file.setdefault(r.file, []).append(Evidence("reference-unresolved", r.file, message, (origin,), unknown=True))
    out: list[Finding] = []
    for file, evidence in by_file.items():
        out.extend(grade_evidence(policy, file, evidence, today=today))
    return out
