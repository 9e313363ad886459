"""Policy evaluation: pure functions, no I/O. Facts + evidence + rules -> findings.

A rule's condition speaks of built-in checks (`check:`), license terms (`term:` with parameter
comparisons), categories, or license keys. Term, category and license conditions look at the
model's effective licenses by default (its own plus what its ancestors impose), or only its own
with `scope: own`.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from audit.checks import CHECKS
from audit.licenses.catalog import License, catalog
from audit.model import Effective, Evidence, Finding, LicenseFacts, Origin, Outcome, Severity
from audit.policy.schema import Policy, Rule


@dataclass(frozen=True)
class Subject:
    """What the engine knows of one model."""

    subject: str
    own: LicenseFacts
    effective: Effective
    evidence: tuple[Evidence, ...]
    key_origins: Mapping[str, tuple[Origin, ...]]  # license key -> where it came from
    # effective keys inherited only through inferred lineage that does not gate (a finding on them informs)
    inferred_keys: frozenset[str] = frozenset()
    # the model's own keys that such lineage superseded: not in the effective license, but their terms still bind
    still_binding: tuple[str, ...] = ()

    @cached_property
    def by_check(self) -> dict[str, list[Evidence]]:
        out: dict[str, list[Evidence]] = {}
        for ev in self.evidence:
            out.setdefault(ev.check, []).append(ev)
        return out

    @cached_property
    def own_licenses(self) -> list[License]:
        cat = catalog()
        return [cat[k] for k in self.own.keys if k in cat]

    @cached_property
    def effective_licenses(self) -> list[License]:
        cat = catalog()
        return [cat[k] for k in self.effective.binding(self.still_binding) if k in cat]


@dataclass(frozen=True, slots=True)
class Match:
    message: str
    origins: tuple[Origin, ...]
    unknown: bool = False
    inferred: bool = False
    key: str | None = None


def _licenses(subject: Subject, scope: str) -> list[License]:
    return subject.own_licenses if scope == "own" else subject.effective_licenses


def _term_matches(lic: License, when: Mapping[str, Any]) -> bool:
    term = lic.term(when["term"])
    if term is None:
        return False
    param = when.get("param")
    if param is None:
        return True
    value = term.params.get(param)
    if value is None:
        return False
    if "below" in when and not (isinstance(value, (int, float)) and value < when["below"]):
        return False
    if "above" in when and not (isinstance(value, (int, float)) and value > when["above"]):
        return False
    return "equals" not in when or value == when["equals"]


def _key_in(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


_LicensePred = Callable[[License], bool]


def _license_pred(when: Mapping[str, Any]) -> _LicensePred | None:
    """The per-license part of a condition, or None when the condition is not about licenses."""
    preds: list[_LicensePred] = []
    if "term" in when:
        preds.append(lambda lic: _term_matches(lic, when))
    if "category" in when:
        cats = set(_as_list(when["category"]))
        preds.append(lambda lic: lic.category in cats)
    if "not_category" in when:
        not_cats = set(_as_list(when["not_category"]))
        preds.append(lambda lic: lic.category not in not_cats)
    if "license" in when:
        pats = _as_list(when["license"])
        preds.append(lambda lic: _key_in(lic.key, pats))
    if "not_license" in when:
        pats = _as_list(when["not_license"])
        preds.append(lambda lic: not _key_in(lic.key, pats))
    if not preds:
        return None
    # the answer depends on the license alone (a catalog entry, immutable): worked out once per license; the
    # entry is kept with it so its id is not reused by another object
    memo: dict[int, tuple[License, bool]] = {}

    def pred(lic: License) -> bool:
        hit = memo.get(id(lic))
        if hit is None:
            hit = memo[id(lic)] = (lic, all(p(lic) for p in preds))
        return hit[1]

    return pred


def _describe(when: Mapping[str, Any], lic: License) -> str:
    if "term" in when:
        term = lic.term(when["term"])
        params = ", ".join(f"{k}={v}" for k, v in (term.params.items() if term else ()) if k != "text")
        extra = f" ({params})" if params else ""
        return f"{lic.name} [{lic.key}] has the term {when['term']}{extra}"
    if "category" in when:
        return f"{lic.name} [{lic.key}] is {lic.category}"
    if "not_license" in when:
        return f"{lic.name} [{lic.key}] is not on the policy's list of allowed licenses"
    if "not_category" in when:
        return f"{lic.name} [{lic.key}] is {lic.category}, a category this policy does not allow"
    return f"the model is under {lic.name} [{lic.key}]"


def matches(when: Mapping[str, Any], subject: Subject, scope: str,
            preds: dict[int, _LicensePred | None] | None = None) -> list[Match]:
    """All the ways a condition holds for a subject (empty list: it does not hold). `preds`: the license
    predicates already made for conditions (by id) that outlive the call, as a policy's do (Policy.predicates)."""
    if "all" in when:
        parts = [matches(c, subject, scope, preds) for c in when["all"]]
        if all(parts):
            return [m for p in parts for m in p]
        return []
    if "any" in when:
        return [m for c in when["any"] for m in matches(c, subject, scope, preds)]
    if "not" in when:
        inner = matches(when["not"], subject, scope, preds)
        return [] if inner else [Match("condition not met", ())]
    if when.get("setting") is False:
        return []
    if "check" in when:
        return [Match(ev.message, ev.origins, ev.unknown, ev.inferred) for ev in subject.by_check.get(when["check"], ())]
    if preds is None:
        pred = _license_pred(when)
    elif id(when) in preds:
        pred = preds[id(when)]
    else:
        pred = preds[id(when)] = _license_pred(when)
    if pred is None:
        return []
    out = []
    for lic in _licenses(subject, scope):
        if pred(lic):
            via = subject.effective.sources.get(lic.key)
            inferred = lic.key in subject.inferred_keys
            msg = _describe(when, lic)
            if via and via != subject.subject:
                msg += f", inherited from {via}"
            out.append(Match(msg, subject.key_origins.get(lic.key, ()), False, inferred, lic.key))
    return out


def with_settings(when: Mapping[str, Any], settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """The condition with each `below`/`above` that names a setting (`below: monthly_active_users`) replaced by
    the setting's number: the policy's settings drive its threshold rules (the schema checked the names)."""
    out: dict[str, Any] = {}
    for k, v in when.items():
        if k in ("below", "above") and isinstance(v, str):
            out[k] = settings[v]
        elif k == "setting":
            out[k] = bool(settings.get(v))  # `setting: eu_entity`: the condition holds only when it is true
        elif k in ("all", "any"):
            out[k] = [with_settings(c, settings) for c in v]
        elif k == "not":
            out[k] = with_settings(v, settings)
        else:
            out[k] = v
    return out


def evaluate(policy: Policy, subject: Subject) -> list[Finding]:
    findings: list[Finding] = []
    inferred_can_fail = bool(policy.settings.get("inferred_lineage_can_fail", False))
    by_check = subject.by_check
    for rule, when in zip(policy.rules, policy.conditions):
        if len(when) == 1 and "check" in when and when["check"] not in by_check:
            continue  # most rules name one check, and most models have no evidence for it: nothing matches
        for m in matches(when, subject, rule.scope, policy.predicates):
            severity = rule.severity
            if m.inferred and not inferred_can_fail and severity is Severity.ERROR:
                severity = Severity.WARNING  # inferred lineage informs, it does not fail the gate by default
            findings.append(
                Finding(
                    rule=rule.id,
                    severity=severity,
                    outcome=Outcome.UNKNOWN if m.unknown else Outcome.FAIL,
                    subject=subject.subject,
                    message=_message(rule, subject.subject, m),
                    remediation=rule.remediation or _default_remediation(rule),
                    evidence=m.origins,
                    check=rule.when.get("check"),
                )
            )
    return findings


def _message(rule: Rule, subject: str, m: Match) -> str:
    if rule.message:
        try:
            return rule.message.format(subject=subject, detail=m.message, license=m.key or "")
        except (KeyError, IndexError, ValueError):
            return rule.message
    return m.message


def _default_remediation(rule: Rule) -> str | None:
    check = rule.when.get("check")
    registered = CHECKS.get(check) if isinstance(check, str) else None
    return registered.remediation if registered else None
