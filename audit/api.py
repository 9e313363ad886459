"""The library entry point: inputs + policy -> AuditReport. No printing, no exiting (that is the CLI's job).

    source -> ModelCard -> LicenseFacts -> Lineage -> policy.evaluate -> Findings + Obligations -> AuditReport
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from audit import __version__
from audit.card import parse_card
from audit.checks import BLOCKING_PROBLEMS, license_evidence
from audit.errors import AuditError, InputUnreadable, UsageError
from audit.licenses.normalize import license_facts
from audit.model import (
    AuditReport,
    Finding,
    InputError,
    Lineage,
    ModelCard,
    ModelResult,
    Obligation,
    Origin,
    Outcome,
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
    extra: dict = field(default_factory=dict)


def _hub(options: Options):
    if options.hub is None:
        from audit.sources.hub import HubClient

        options.hub = HubClient(endpoint=options.endpoint, token=options.token)
    return options.hub


def _is_local(spec: str) -> bool:
    if os.path.lexists(spec):
        return True
    return spec.startswith((".", "/", "~")) or spec.endswith((".md", ".txt")) or os.sep + os.sep in spec or spec.count("/") > 1 and "@" not in spec and "://" not in spec


def load_inputs(inputs: Sequence[str], options: Options) -> list[Snapshot | AuditError]:
    """Every input -> snapshots, or the error that stopped it (kept in place, so other inputs go on)."""
    from audit.sources.local import read_local

    out: list[Snapshot | AuditError] = []
    if options.hf_cache:
        from audit.sources.cache import iter_cache

        try:
            out.extend(iter_cache(options.cache_dir))
        except AuditError as exc:
            out.append(exc)
    for spec in inputs:
        try:
            if _is_local(spec):
                out.extend(read_local(os.path.expanduser(spec)))
            else:
                from audit.sources.hub import parse_repo_spec

                try:
                    repo_id, revision = parse_repo_spec(spec)
                except UsageError as exc:
                    raise InputUnreadable(spec, exc.message) from None
                out.append(_hub(options).snapshot(repo_id, revision))
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


def audit_snapshot(
    snapshot: Snapshot, card: ModelCard | None, policy: Policy, resolver, options: Options
) -> tuple[ModelResult, list[Finding], list[Obligation]]:
    from audit.datasets import dataset_evidence, resolve_datasets
    from audit.lineage import effective_license, lineage_evidence, resolve_lineage
    from audit.provenance import provenance_evidence, provenance_facts

    facts = license_facts(card, snapshot)
    subject = snapshot.subject
    if options.lineage:
        lineage = resolve_lineage(subject, card, facts, snapshot, resolver)
    else:
        lineage = Lineage(subject, card.base_model_relation if card else None)
    effective = effective_license(subject, facts, lineage)
    datasets = resolve_datasets(card, resolver)
    provenance = provenance_facts(snapshot, card)
    evidence = license_evidence(subject, card, facts, snapshot)
    evidence += lineage_evidence(subject, card, facts, lineage, effective)
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
    resolver = make_resolver(options)
    errors: list[InputError] = [InputError(e.input, e.message) for e in loaded if isinstance(e, AuditError)]
    cards: list[tuple[Snapshot, ModelCard | None]] = []
    for snap in (s for s in loaded if isinstance(s, Snapshot)):
        try:
            cards.append((snap, read_card(snap)))
        except AuditError as exc:
            errors.append(InputError(exc.input, exc.message))
    if options.lineage:
        # every named base at once, so remote ancestors are fetched concurrently, not one by one
        resolver.prefetch([b for _, card in cards if card for b in card.base_models])
    models: list[ModelResult] = []
    findings: list[Finding] = []
    obligations: list[Obligation] = []
    for snap, card in cards:
        try:
            result, f, o = audit_snapshot(snap, card, policy, resolver, options)
        except AuditError as exc:
            errors.append(InputError(exc.input, exc.message))
            continue
        models.append(result)
        findings.extend(f)
        obligations.extend(o)
    if not models and not errors:
        errors.append(InputError("(inputs)", "no model to audit: give a path, a Hub repo id, or --hf-cache"))
    passed = not errors and all(m.passed for m in models)
    extra = dict(options.extra)
    extra.setdefault("rules", _rule_metadata(policy))
    return AuditReport(
        tool_version=__version__,
        policy_name=policy.name,
        policy_sha256=policy.sha256,
        models=tuple(models),
        findings=tuple(findings),
        obligations=tuple(obligations),
        errors=tuple(errors),
        passed=passed,
        extra=extra,
    )


def _rule_metadata(policy: Policy) -> dict[str, dict[str, Any]]:
    """What each rule means, for formats that describe their rules (SARIF)."""
    from audit.policy.schema import CHECKS

    out = {}
    for rule in policy.rules:
        check = rule.when.get("check")
        out[rule.id] = {
            "description": CHECKS.get(check) if check else (rule.message or f"policy rule {rule.id}"),
            "severity": rule.severity.value,
            "remediation": rule.remediation,
            "references": list(rule.references),
        }
    return out
