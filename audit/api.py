"""The library entry point: inputs + policy -> AuditReport. No printing, no exiting (that is the CLI's job).

    source -> ModelCard -> LicenseFacts -> Lineage -> policy.evaluate -> Findings + Obligations -> AuditReport
"""
from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from audit import __version__
from audit.card import parse_card
from audit.checks import BLOCKING_PROBLEMS, license_evidence
from audit.errors import AuditError, InputUnreadable, UsageError
from audit.licenses.normalize import license_facts
from audit.model import (
    AuditReport,
    Finding,
    InputError,
    LicenseFacts,
    Lineage,
    ModelCard,
    ModelResult,
    Obligation,
    Origin,
    Outcome,
    RuleInfo,
    ScanInfo,
    Snapshot,
)
from audit.obligations import obligations_for
from audit.policy.engine import Subject, evaluate
from audit.policy.schema import Policy, load_policy
from audit.policy.waivers import apply_waivers


@dataclass
class Options:
    hf_cache: bool = False  # audit every model in the local Hugging Face cache
    cache_dir: str | None = None
    models_dirs: tuple[str, ...] = ()  # local snapshot dirs where ancestors may be found
    lineage: bool = True
    online: bool = True  # may ancestors and Hub inputs be fetched from the Hub?
    endpoint: str | None = None
    token: str | None = None
    today: _dt.date | None = None
    hub: Any = None  # an audit.sources.hub.HubClient, created lazily when None


def _hub(options: Options):
    if options.hub is None:
        from audit.sources.hub import HubClient

        options.hub = HubClient(endpoint=options.endpoint, token=options.token)
    return options.hub


def _is_local(spec: str) -> bool:
    if os.path.lexists(spec):
        return True
    return spec.startswith((".", "/", "~")) or spec.endswith((".md", ".txt")) or os.sep + os.sep in spec or (spec.count("/") > 1 and "@" not in spec and "://" not in spec)


def load_inputs(inputs: Sequence[str], options: Options) -> list[Snapshot | AuditError]:
    """Every input -> snapshots, or the error that stopped it (kept in place, so other inputs go on)."""
    from audit.sources.local import read_local

    out: list[Snapshot | AuditError] = []
    if options.hf_cache:
        from audit.sources.cache import iter_cache

        try:
            cached = iter_cache(options.cache_dir)
            if not cached:
                from audit.sources.cache import cache_dir

                raise InputUnreadable(cache_dir(options.cache_dir), "the HF cache holds no model repos to audit")
            out.extend(cached)
        except AuditError as exc:
            out.append(exc)
    for spec in inputs:
        try:
            if _is_local(spec):
                out.extend(read_local(os.path.expanduser(spec)))
            else:
                from audit.sources.ids import parse_repo_spec

                try:
                    repo_id, revision = parse_repo_spec(spec)
                except UsageError as exc:
                    raise InputUnreadable(spec, exc.message) from None
                if options.online:
                    out.append(_hub(options).snapshot(repo_id, revision))
                else:
                    out.append(read_offline(spec, options))  # --offline: --models-dir or the HF cache, never the Hub
        except AuditError as exc:
            out.append(exc)
    return out


def read_card(snapshot: Snapshot) -> ModelCard | None:
    """Parse the snapshot's card; a card too broken to decide on raises InputUnreadable naming file:line."""
    if snapshot.card_path is None or snapshot.card_path not in snapshot.texts:
        return None
    origin = snapshot.origin.at(file=snapshot.card_path)
    card = parse_card(snapshot.texts[snapshot.card_path], origin)
    for p in card.problems:
        if p.code in BLOCKING_PROBLEMS:
            where = snapshot.subject if snapshot.origin.source == "hub" else _card_location(snapshot)
            raise InputUnreadable(f"{where}:{p.origin.line or 1}", p.message)
    return card


def _card_location(snapshot: Snapshot) -> str:
    if snapshot.origin.source == "card":
        return snapshot.origin.locator
    return os.path.join(snapshot.origin.locator, snapshot.card_path or "")


def _key_origins(facts, lineage) -> dict[str, tuple[Origin, ...]]:
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


def audit_model(
    snapshot: Snapshot,
    card: ModelCard | None,
    facts: LicenseFacts,
    lineage: Lineage,
    policy: Policy,
    resolver,
    options: Options,
) -> tuple[ModelResult, list[Finding], list[Obligation]]:
    """Facts already gathered for one model -> its verdict, findings and obligations."""
    from audit.datasets import dataset_evidence, resolve_datasets
    from audit.lineage import effective_license, inherit, lineage_evidence
    from audit.provenance import provenance_evidence, provenance_facts

    subject = snapshot.subject
    inheritance = inherit(subject, facts, lineage)  # once: both the effective license and the checks read it
    effective = effective_license(subject, facts, lineage, inheritance)
    datasets = resolve_datasets(card, resolver)
    provenance = provenance_facts(snapshot, card)
    evidence = license_evidence(subject, card, facts, snapshot)
    evidence += lineage_evidence(subject, card, facts, lineage, effective, inheritance)
    evidence += dataset_evidence(subject, datasets)
    evidence += provenance_evidence(subject, provenance, policy.settings)
    findings = evaluate(policy, Subject(subject, facts, effective, tuple(evidence), _key_origins(facts, lineage)))
    findings = apply_waivers(findings, policy.waivers, options.today)
    passed = not any(failing(f, policy) for f in findings)
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
        passed=passed,
    )
    return result, findings, obligations_for(subject, effective)


def audit_snapshot(
    snapshot: Snapshot, card: ModelCard | None, policy: Policy, resolver, options: Options
) -> tuple[ModelResult, list[Finding], list[Obligation]]:
    """One snapshot whose card is already read -> its verdict (lineage resolved on its own, not batched)."""
    from audit.lineage import resolve_lineage

    facts = license_facts(card, snapshot)
    if options.lineage:
        lineage = resolve_lineage(snapshot.subject, card, facts, snapshot, resolver)
    else:
        lineage = Lineage(snapshot.subject, card.base_model_relation if card else None)
    return audit_model(snapshot, card, facts, lineage, policy, resolver, options)


def failing(finding: Finding, policy: Policy) -> bool:
    return finding.outcome is not Outcome.WAIVED and finding.severity.rank >= policy.fail_on.rank


def make_resolver(options: Options):
    from audit.lineage import Resolver

    hub = _hub(options) if options.online else None
    return Resolver(
        models_dirs=tuple(options.models_dirs),
        cache_dir=options.cache_dir,
        use_cache=True,
        hub=hub,
    )


def run_audit(inputs: Iterable[str], policy: Policy | str | None = None, **kwargs: Any) -> AuditReport:
    """Audit inputs (paths or Hub repo ids) against a policy (a Policy, a path, or None for the default)."""
    options = kwargs.pop("options", None) or Options(**kwargs)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    loaded = load_inputs(list(inputs), options)
    return audit_loaded(loaded, policy, options)


def audit_loaded(loaded: list[Snapshot | AuditError], policy: Policy, options: Options) -> AuditReport:
    from audit.lineage import resolve_many

    resolver = make_resolver(options)
    errors: list[InputError] = [InputError(e.input, e.message) for e in loaded if isinstance(e, AuditError)]
    items: list[tuple[Snapshot, ModelCard | None, LicenseFacts]] = []
    for snap in (s for s in loaded if isinstance(s, Snapshot)):
        try:
            card = read_card(snap)
        except AuditError as exc:
            errors.append(InputError(exc.input, exc.message))
            continue
        items.append((snap, card, license_facts(card, snap)))
    if options.lineage:
        # all models' bases at once, so remote ancestors are fetched concurrently, not one by one
        lineages = resolve_many([(s.subject, c, f, s) for s, c, f in items], resolver)
    else:
        lineages = [Lineage(s.subject, c.base_model_relation if c else None) for s, c, _ in items]
    resolver.prefetch_datasets([d for _, c, _ in items if c for d in c.datasets])
    models: list[ModelResult] = []
    findings: list[Finding] = []
    obligations: list[Obligation] = []
    for (snap, card, facts), lineage in zip(items, lineages):
        try:
            result, f, o = audit_model(snap, card, facts, lineage, policy, resolver, options)
        except AuditError as exc:
            errors.append(InputError(exc.input, exc.message))
            continue
        models.append(result)
        findings.extend(f)
        obligations.extend(o)
    if not models and not errors:
        errors.append(InputError("(inputs)", "no model to audit: give a path, a Hub repo id, or --hf-cache"))
    passed = not errors and all(m.passed for m in models)
    return AuditReport(
        tool_version=__version__,
        policy_name=policy.name,
        policy_sha256=policy.sha256,
        models=tuple(models),
        findings=tuple(findings),
        obligations=tuple(obligations),
        errors=tuple(errors),
        passed=passed,
        rules=_rule_metadata(policy),
    )


def _rule_metadata(policy: Policy) -> tuple[RuleInfo, ...]:
    """What each rule means, for formats that describe their rules (SARIF)."""
    from audit.policy.schema import CHECKS

    return tuple(
        RuleInfo(
            id=rule.id,
            description=(CHECKS.get(rule.when["check"]) if rule.when.get("check") else None)
            or rule.message or f"policy rule {rule.id}",
            severity=rule.severity,
            remediation=rule.remediation,
            references=tuple(rule.references),
        )
        for rule in policy.rules
    )


# --- entry points for `mlaudit scan`, the lockfile and the CI gate ------------------------------------------
# Added as new functions so the ones above keep their behaviour. `load_each` and `read_offline` give --offline
# a meaning for Hub inputs (read from --models-dir or the HF cache, never the Hub); `run_scan` audits the models
# a codebase names; `grade_evidence` and `with_findings` let later steps (code references, the lockfile, the
# baseline) add findings that the policy grades and that the verdict counts.

def read_offline(spec: str, options: Options) -> Snapshot:
    """A Hub repo id read without the Hub: from a --models-dir directory (org--name, org/name), else from the HF
    cache at the revision asked for (default: main). Raises InputUnreadable when neither holds it."""
    from audit.sources.cache import cache_dir, read_cached
    from audit.sources.ids import parse_repo_spec

    try:
        repo_id, revision = parse_repo_spec(spec)
    except UsageError as exc:
        raise InputUnreadable(spec, exc.message) from None
    if options.models_dirs:
        from audit.lineage import index_models_dirs
        from audit.sources.local import read_snapshot_dir

        index = index_models_dirs(tuple(options.models_dirs))
        path = index.get(repo_id.lower()) or index.get(repo_id.lower().replace("/", "--"))
        if path is not None:
            return read_snapshot_dir(path, subject=repo_id)
    snap = read_cached(repo_id, revision, options.cache_dir)
    if snap is not None:
        return snap
    where = f" at revision {revision!r}" if revision else ""
    dirs = " nor in --models-dir" if options.models_dirs else ""
    rev = f" --revision {revision}" if revision else ""
    raise InputUnreadable(
        spec,
        f"is not in the HF cache ({cache_dir(options.cache_dir)}){where}{dirs}, and --offline (or HF_HUB_OFFLINE) "
        f"forbids the Hub: run once online, or download it with `hf download {repo_id}{rev}`",
    )


def load_each(
    specs: Sequence[str], options: Options, progress=None
) -> list[tuple[str, Snapshot | AuditError]]:
    """Like load_inputs, but keeps which input each snapshot came from, honours options.online for Hub inputs,
    and calls progress(spec) after each input (for a progress bar)."""
    from dataclasses import replace as _replace

    from audit.sources.local import read_local

    out: list[tuple[str, Snapshot | AuditError]] = []
    if options.hf_cache:
        out.extend(("--hf-cache", item) for item in load_inputs([], options))
    if options.online:
        _hub(options)  # one client for every input (the copies below share it)
    single = _replace(options, hf_cache=False)
    for spec in specs:
        try:
            if _is_local(spec):
                out.extend((spec, item) for item in read_local(os.path.expanduser(spec)))
            elif options.online:
                out.extend((spec, item) for item in load_inputs([spec], single))
            else:
                out.append((spec, read_offline(spec, options)))
        except AuditError as exc:
            out.append((spec, exc))
        if progress is not None:
            progress(spec)
    return out


def reference_specs(references) -> list[str]:
    """Resolved code references -> inputs ("org/name" or "org/name@revision"), each once, in order."""
    seen: dict[str, None] = {}
    for r in references:
        if r.model is None:
            continue
        seen.setdefault(f"{r.model}@{r.revision}" if r.revision else r.model, None)
    return list(seen)


def empty_report(policy: Policy, options: Options) -> AuditReport:
    """The report of a run that had no model to audit (a codebase that names none)."""
    return AuditReport(__version__, policy.name, policy.sha256, (), (), (), (), True, rules=_rule_metadata(policy))


def _names_check(when, checks: set[str]) -> bool:
    # a rule grades these checks when it names one of them outside a `not` (a `not` of a check would hold
    # for every subject without that evidence, which is not what the rule means here)
    if not isinstance(when, dict):
        return False
    if when.get("check") in checks:
        return True
    return any(_names_check(c, checks) for key in ("all", "any") for c in when.get(key) or ())


def grade_evidence(policy: Policy, subject: str, evidence: Sequence, *, facts=None, effective=None,
                   today: _dt.date | None = None) -> list[Finding]:
    """Findings for evidence found outside audit_snapshot (code references, the lockfile), graded by the rules
    of the policy that name its checks. A check no rule names still fails closed: it becomes a finding at
    severity error under its own id (a policy downgrades it by naming it)."""
    from dataclasses import replace as _replace

    from audit.model import Effective, LicenseFacts, Severity, Status

    if not evidence:
        return []
    facts = facts or LicenseFacts((), None, (), Status.UNKNOWN, reason="not a model")
    effective = effective or Effective(None, ())
    checks = {e.check for e in evidence}
    rules = tuple(r for r in policy.rules if _names_check(r.when, checks))
    findings = evaluate(_replace(policy, rules=rules), Subject(subject, facts, effective, tuple(evidence), {}))
    for ev in evidence:
        if not any(_names_check(r.when, {ev.check}) for r in rules):
            findings.append(Finding(
                rule=ev.check, severity=Severity.ERROR, outcome=Outcome.UNKNOWN if ev.unknown else Outcome.FAIL,
                subject=subject, message=ev.message, evidence=ev.origins, check=ev.check,
            ))
    return apply_waivers(findings, policy.waivers, today)


def with_findings(report: AuditReport, findings: Iterable[Finding], policy: Policy, **changes: Any) -> AuditReport:
    """The report with these findings, each model's verdict and the overall verdict recomputed from them."""
    from dataclasses import replace as _replace

    findings = tuple(findings)
    models = tuple(
        _replace(m, passed=not any(failing(f, policy) for f in findings if f.subject == m.subject))
        for m in report.models
    )
    passed = not report.errors and not any(failing(f, policy) for f in findings)
    return _replace(report, findings=findings, models=models, passed=passed, **changes)


def reference_findings(references, root: str, policy: Policy, today: _dt.date | None = None) -> list[Finding]:
    """A reference whose model cannot be known without running the code is a finding (check
    `reference-unresolved`): the codebase uses a model nobody audited, so the gate fails closed on it.
    The subject is the file, so a baseline entry survives the line moving."""
    from audit.model import Evidence

    by_file: dict[str, list] = {}
    for r in references:
        if r.model is not None:
            continue
        message = f"{r.kind} reference whose model cannot be known without running the code: {r.reason}"
        origin = Origin("codebase", root, file=r.file, line=r.line)
        by_file.setdefault(r.file, []).append(Evidence("reference-unresolved", r.file, message, (origin,), unknown=True))
    out: list[Finding] = []
    for file, evidence in by_file.items():
        out.extend(grade_evidence(policy, file, evidence, today=today))
    return out


def run_scan(root: str, policy: Policy, options: Options, *, exclude: tuple[str, ...] = (), references=None,
             progress=None, loaded=None) -> AuditReport:
    """Audit every model a codebase names (scan_codebase), with the references in report.extra["references"]
    (Reference.to_dict() each), the scanned root in extra["scan_root"], and a finding per unresolvable reference.
    `loaded` (pairs from load_each) replaces loading the referenced models, e.g. from a lockfile."""
    from dataclasses import replace as _replace

    from audit.sources.codebase import scan_codebase

    refs = scan_codebase(root, exclude=exclude) if references is None else references
    if loaded is None:
        loaded = load_each(reference_specs(refs), options, progress)
    if options.online:
        _hub(options)
    items = [item for _, item in loaded]
    report = audit_loaded(items, policy, options) if items else empty_report(policy, options)
    report = _replace(report, scan=ScanInfo(os.path.abspath(root), tuple(refs)))
    findings = report.findings + tuple(reference_findings(refs, os.path.abspath(root), policy, options.today))
    return with_findings(report, findings, policy)
