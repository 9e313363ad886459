"""Policy YAML -> Policy. Every mistake is a PolicyError naming the file and line (exit code 2)."""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from audit.checks import CHECKS as _REGISTRY
from audit.checks import FLOORS
from audit.errors import PolicyError
from audit.licenses.catalog import CATEGORIES, TERM_KINDS
from audit.model import Severity
from audit.policy.yamldoc import Doc as _Doc
from audit.policy.yamldoc import did_you_mean as _did_you_mean
from audit.policy.yamldoc import parse_yaml

# A batch audit loads its policy once per call, and the pure-Python composer (kept for its line numbers) was 3% of
# auditing a thousand cards. The parse depends on the text alone and nothing here mutates its result, so the same
# text is composed once; an edited file is a new text. Errors are raised again each time (lru_cache keeps none).
_parse_yaml = lru_cache(maxsize=16)(parse_yaml)

DEFAULT_POLICY = os.path.join(os.path.dirname(__file__), "default.yaml")
MAX_POLICY_BYTES = 1024 * 1024

# id -> description of the built-in checks, for callers that want only the text (audit.api's rule

_TOP = {"name", "description", "version", "fail_on", "settings", "rules", "waivers", "extends", "allow"}
_RULE = {"id", "severity", "check", "when", "message", "remediation", "references", "scope", "enabled"}
_WHEN = {"check", "term", "param", "below", "above", "equals", "category", "not_category", "license", "not_license",
         "all", "any", "not", "setting"}
_WAIVER = {"rule", "subject", "reason", "expires", "approved_by", "ticket"}
_SETTINGS = {"monthly_active_users", "annual_revenue_usd", "inferred_lineage_can_fail", "allowed_authors", "require_pinned",
             "eu_entity", "min_openness_class", "require_training_data"}
# true/false settings a condition may test (`setting: eu_entity`: the rule applies only when it is true)
FLAG_SETTINGS = ("eu_entity", "inferred_lineage_can_fail", "require_pinned", "require_training_data")
_TERMS = {t for vocab in TERM_KINDS.values() for t in vocab}
_TERM_PARAMS: dict[str, tuple[str, ...]] = {t: ps for vocab in TERM_KINDS.values() for t, ps in vocab.items()}
# settings a `below`/`above` may name, so the policy's numbers drive the threshold rules
NUMERIC_SETTINGS = ("monthly_active_users", "annual_revenue_usd")
_PLACEHOLDERS = {"subject", "detail", "license"}  # what audit.policy.engine fills into a rule's message
# the repository's policies/ (audit/policies links to it in a checkout; an installed package holds a copy)
SHIPPED_POLICIES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "policies")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    when: Mapping[str, Any]
    message: str | None = None
    remediation: str | None = None
    references: tuple[str, ...] = ()
    scope: str = "effective"  # own | effective: which licenses term/category/license conditions look at
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    subject: str  # fnmatch pattern on the model subject
    reason: str
    expires: _dt.date
    approved_by: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    path: str
    sha256: str
    rules: tuple[Rule, ...]
    waivers: tuple[Waiver, ...] = ()
    fail_on: Severity = Severity.ERROR
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    # check id -> the severity this policy explicitly lowers that check's fail-closed floor to (`allow:`)
    allow: Mapping[str, Severity] = field(default_factory=dict)

    @cached_property
    def conditions(self) -> tuple[Mapping[str, Any], ...]:
        """Each rule's `when` with the settings it names filled in (audit.policy.engine.with_settings): what the
        engine evaluates, worked out once per policy instead of once per model and rule."""
        from audit.policy.engine import with_settings

        return tuple(with_settings(r.when, self.settings) for r in self.rules)

    @cached_property
    def predicates(self) -> dict[int, Any]:
        """The engine's license predicates for the conditions above, made on first use (keyed by the id of a
        condition in `conditions`, which this policy keeps alive)."""
        return {}


def _severity(value: Any, doc: _Doc, line: int | None) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise doc.error(f"severity must be error, warning or note, not {value!r}", line) from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_condition_value(k: str, v: Any, doc: _Doc, line: int | None) -> None:
    """One key of a condition whose value names something: a check, a term, categories, license keys."""
    if k == "check" and v not in _REGISTRY:
        raise doc.error(f"unknown check '{v}'{_did_you_mean(v, _REGISTRY)} (see policies/README.md for the list)",
                        line)
    if k == "term" and v not in _TERMS:
        raise doc.error(f"unknown term '{v}'{_did_you_mean(v, _TERMS)} (one of: {', '.join(sorted(_TERMS))})",
                        line)
    if k in ("category", "not_category"):
        for c in _as_list(v):
            if c not in CATEGORIES:
                raise doc.error(f"unknown category '{c}' (one of: {', '.join(CATEGORIES)})", line)
    if k in ("license", "not_license"):
        vals = _as_list(v)
        if not vals or not all(isinstance(x, str) for x in vals):
            raise doc.error(f"'{k}' takes a license key or a list of keys", line)
        from audit.licenses.catalog import catalog

        unknown = [x for x in vals if x not in catalog() and not x.endswith("*")]
        if unknown:
            raise doc.error(f"'{k}': unknown license key(s) {', '.join(unknown)} (see `mlaudit explain`)", line)
    if k == "setting" and v not in FLAG_SETTINGS:
        raise doc.error(f"'setting: {v}': not a true/false setting{_did_you_mean(v, FLAG_SETTINGS)} (one of: "
                        f"{', '.join(FLAG_SETTINGS)})", line)
    if k in ("below", "above") and (isinstance(v, bool) or not isinstance(v, (int, float, str))):
        raise doc.error(f"'{k}' takes a number or a setting ({', '.join(NUMERIC_SETTINGS)})", line)
    if k in ("below", "above") and isinstance(v, str) and v not in NUMERIC_SETTINGS:
        raise doc.error(f"'{k}: {v}': not a number nor a setting{_did_you_mean(v, NUMERIC_SETTINGS)} "
                        f"(one of: {', '.join(NUMERIC_SETTINGS)})", line)


def _check_when(when: Any, doc: _Doc, line: int | None) -> None:
    if not isinstance(when, dict) or not when:
        raise doc.error("a condition must be a non-empty mapping", line)
    lines = doc.lines
    for k, v in when.items():
        kl = lines.field(when, k) or line
        if k not in _WHEN:
            raise doc.error(f"unknown condition '{k}'{_did_you_mean(k, _WHEN)} (one of: "
                            f"{', '.join(sorted(_WHEN))})", kl)
        _check_condition_value(k, v, doc, kl)
        if k in ("all", "any"):
            if not isinstance(v, list) or not v:
                raise doc.error(f"'{k}' takes a list of conditions", kl)
            for sub in v:
                _check_when(sub, doc, lines.line(sub, kl))
        if k == "not":
            _check_when(v, doc, lines.line(v, kl))
    if ("below" in when or "above" in when or "equals" in when) and not ("term" in when and "param" in when):
        raise doc.error("'below'/'above'/'equals' need 'term' and 'param' beside them", line)
    if "param" in when:
        term = when.get("term")
        params = _TERM_PARAMS.get(term, ()) if isinstance(term, str) else ()
        if when["param"] not in params:
            raise doc.error(f"term '{when.get('term')}' has no parameter '{when['param']}'"
                            f"{_did_you_mean(when['param'], params)} (it has: {', '.join(params) or 'none'})",
                            lines.field(when, "param") or line)


def _name(data: Mapping[str, Any], doc: _Doc) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise doc.error("'name' is required and must be text", doc.lines.line(data))
    return name.strip()


def _settings(data: Mapping[str, Any], doc: _Doc) -> dict[str, Any]:
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise doc.error("'settings' must be a mapping", doc.lines.field(data, "settings"))
    doc.refuse_unknown(settings, _SETTINGS, "setting")
    for k, v in settings.items():
        line = doc.lines.field(settings, k)
        if k in ("monthly_active_users", "annual_revenue_usd") and (isinstance(v, bool) or not isinstance(v, int)
                                                                   or v < 0):
            raise doc.error(f"setting '{k}' takes a whole number, not {v!r}", line)
        if k in FLAG_SETTINGS and not isinstance(v, bool):
            raise doc.error(f"setting '{k}' takes true or false, not {v!r}", line)
        if k == "allowed_authors" and not (isinstance(v, list) and all(isinstance(a, str) for a in v)):
            raise doc.error(f"setting '{k}' takes a list of author names", line)
    return dict(settings)


def _condition(raw: Mapping[str, Any], rid: str, doc: _Doc, line: int | None) -> Mapping[str, Any]:
    """A rule's condition: `check: ID`, `when: {...}`, or, for a rule named after a built-in check, that check."""
    if "check" in raw and "when" in raw:
        raise doc.error(f"rule '{rid}': give 'check' or 'when', not both", line)
    if "check" in raw:
        when: Any = {"check": raw["check"]}
        _check_when(when, doc, doc.lines.field(raw, "check"))
        return dict(when)
    if "when" in raw:
        _check_when(raw["when"], doc, doc.lines.field(raw, "when"))
        return dict(raw["when"])
    if rid in _REGISTRY:
        return {"check": rid}
    raise doc.error(f"rule '{rid}' needs a 'when' condition (or a built-in check id)", line)


def _rule_id(raw: Any, doc: _Doc, seen: set[str]) -> str:
    line = doc.lines.line(raw)
    if not isinstance(raw, dict):
        raise doc.error("each rule must be a mapping with 'id' and 'severity'", line)
    doc.refuse_unknown(raw, _RULE, "rule field")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise doc.error("a rule needs an 'id'", line)
    if rid in seen:
        raise doc.error(f"rule id '{rid}' is used twice", line)
    seen.add(rid)
    return rid


def _check_template(message: str, rid: str, doc: _Doc, line: int | None) -> None:
    """A message template may use only the placeholders the engine fills in; checked now, not at audit time."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(message) if f is not None]
    except ValueError as exc:
        raise doc.error(f"rule '{rid}': message is not a valid template ({exc}); write {{{{ and }}}} for braces",
                        line) from None
    for f in fields:
        if f not in _PLACEHOLDERS:
            raise doc.error(f"rule '{rid}': unknown placeholder {{{f}}} in message{_did_you_mean(f, _PLACEHOLDERS)} "
                            f"(one of: {', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS))})", line)


def _rule(raw: dict[str, Any], rid: str, doc: _Doc) -> Rule:
    lines = doc.lines
    line = lines.line(raw)
    if "severity" not in raw:
        raise doc.error(f"rule '{rid}' needs a 'severity' (error, warning or note)", line)
    sev = _severity(raw["severity"], doc, lines.field(raw, "severity"))
    when = _condition(raw, rid, doc, line)
    scope = raw.get("scope", "effective")
    if scope not in ("own", "effective"):
        raise doc.error(f"rule '{rid}': scope must be 'own' or 'effective'", lines.field(raw, "scope"))
    refs = raw.get("references") or []
    if not isinstance(refs, list):
        raise doc.error(f"rule '{rid}': references must be a list", lines.field(raw, "references"))
    for k in ("message", "remediation"):
        if k in raw and not isinstance(raw[k], str):
            raise doc.error(f"rule '{rid}': {k} must be text", lines.field(raw, k))
    if "message" in raw:
        _check_template(raw["message"], rid, doc, lines.field(raw, "message"))
    return Rule(rid, sev, when, raw.get("message"), raw.get("remediation"), tuple(map(str, refs)), scope, line)


def _rules(data: Mapping[str, Any], doc: _Doc, required: bool) -> tuple[tuple[Rule, ...], set[str]]:
    """The enabled rules, and the ids of all rules (a waiver may name a disabled one; an extending
    policy disables a base rule by naming it with `enabled: false`)."""
    raw_rules = data.get("rules")
    if not required and raw_rules is None:
        return (), set()
    if not isinstance(raw_rules, list) or (required and not raw_rules):
        raise doc.error("'rules' must be a non-empty list", doc.lines.field(data, "rules"))
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in raw_rules:
        rid = _rule_id(raw, doc, seen)
        if raw.get("enabled", True) is not False:
            rules.append(_rule(raw, rid, doc))
    return tuple(rules), seen


def _waiver(raw: Any, rule_ids: set[str], doc: _Doc) -> Waiver:
    lines = doc.lines
    line = lines.line(raw)
    if not isinstance(raw, dict):
        raise doc.error("each waiver must be a mapping with rule, subject, reason and expires", line)
    doc.refuse_unknown(raw, _WAIVER, "waiver field")
    for k in ("rule", "subject", "reason", "expires"):
        if not raw.get(k):
            raise doc.error(f"a waiver needs '{k}'", line)
    if raw["rule"] != "*" and raw["rule"] not in rule_ids:
        raise doc.error(f"waiver names rule '{raw['rule']}', which this policy does not have", lines.field(raw, "rule"))
    exp = raw["expires"]
    if isinstance(exp, str):
        try:
            exp = _dt.date.fromisoformat(exp)
        except ValueError:
            exp = None
    if not isinstance(exp, _dt.date) or isinstance(exp, _dt.datetime):  # a datetime is refused, quoted or not
        raise doc.error("a waiver's 'expires' must be a date (YYYY-MM-DD), not a time or text",
                        lines.field(raw, "expires"))
    approved_by = raw.get("approved_by")
    return Waiver(str(raw["rule"]), str(raw["subject"]), str(raw["reason"]), exp,
                  None if approved_by is None else str(approved_by), line)


def _waivers(data: Mapping[str, Any], rule_ids: set[str], doc: _Doc) -> tuple[Waiver, ...]:
    raw_waivers = data.get("waivers") or []
    if not isinstance(raw_waivers, list):
        raise doc.error("'waivers' must be a list", doc.lines.field(data, "waivers"))
    return tuple(_waiver(raw, rule_ids, doc) for raw in raw_waivers)


def _allow(data: Mapping[str, Any], doc: _Doc) -> dict[str, Severity]:
    """`allow: {check-id: severity}`: the explicit lowering of a check's fail-closed floor."""
    raw = data.get("allow")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise doc.error("'allow' must be a mapping of check id to severity, e.g. {license-unknown: note}",
                        doc.lines.field(data, "allow"))
    out: dict[str, Severity] = {}
    for k, v in raw.items():
        line = doc.lines.field(raw, k)
        if k not in FLOORS:
            raise doc.error(f"allow: '{k}' has no fail-closed floor to lower{_did_you_mean(k, FLOORS)} "
                            f"(one of: {', '.join(sorted(FLOORS))})", line)
        out[k] = _severity(v, doc, line)
    return out


def _setting_refs(when: Mapping[str, Any]) -> set[str]:
    refs = {v for k, v in when.items() if k in ("below", "above") and isinstance(v, str)}
    for sub in [*(when.get("all") or ()), *(when.get("any") or ()), *([when["not"]] if "not" in when else ())]:
        refs |= _setting_refs(sub)
    return refs


def _check_setting_refs(rules: tuple[Rule, ...], settings: Mapping[str, Any], doc: _Doc) -> None:
    """A condition that compares with a setting needs the setting (in this policy or its base)."""
    for r in rules:
        missing = sorted(_setting_refs(r.when) - set(settings))
        if missing:
            raise doc.error(f"rule '{r.id}' compares with setting '{missing[0]}', which the policy does not set",
                            r.line)


def _check_floor(rules: tuple[Rule, ...], allow: Mapping[str, Severity], doc: _Doc) -> None:
    """A rule that grades a floor check below its floor is refused unless `allow:` lowers the floor: a policy
    never fails open by accident. (Rules that name a floor check inside all/any are held to the floor when
    findings are graded, by audit.policy.floor.)"""
    for r in rules:
        check = r.when.get("check") if set(r.when) == {"check"} else None
        floor = FLOORS.get(check) if isinstance(check, str) else None
        if floor is None or check is None:
            continue
        lowest = allow.get(check, floor)
        if r.severity.rank < lowest.rank:
            raise doc.error(
                f"rule '{r.id}' grades {check} at {r.severity.value}, below its fail-closed floor "
                f"({lowest.value}); to lower it say so: `allow: {{{check}: {r.severity.value}}}`", r.line)


_MAX_EXTENDS = 8  # a longer chain of base policies is a mistake


def _base_policy(data: Mapping[str, Any], doc: _Doc, chain: tuple[str, ...]) -> Policy | None:
    """The policy `extends` names: "default" (the built-in one), a shipped policy by name ("commercial"), or
    a file, relative to this one (a file of that name next to the policy wins over a shipped one)."""
    ref = data.get("extends")
    if ref is None:
        return None
    line = doc.lines.field(data, "extends")
    if not isinstance(ref, str) or not ref.strip():
        raise doc.error("'extends' takes 'default' or the path of another policy file", line)
    path = _base_path(ref.strip(), doc.path)
    real = os.path.realpath(path)
    if real in chain:
        raise doc.error(f"'extends: {ref}' loops back to a policy that extends it", line)
    if len(chain) >= _MAX_EXTENDS:
        raise doc.error(f"'extends' chains more than {_MAX_EXTENDS} policies", line)
    return _load(path, (*chain, real))


def _base_path(ref: str, policy_path: str) -> str:
    if ref == "default":
        return DEFAULT_POLICY
    local = os.path.join(os.path.dirname(policy_path), ref)
    shipped = os.path.join(SHIPPED_POLICIES, f"{ref}.yaml")
    if not os.path.exists(local) and os.sep not in ref and "/" not in ref and os.path.isfile(shipped):
        return shipped
    return local


def _extend(base: Policy, rules: tuple[Rule, ...], rule_ids: set[str]) -> tuple[Rule, ...]:
    """The base's rules, each replaced by this policy's rule of the same id (or dropped when this policy
    disables it), then this policy's new rules."""
    own = {r.id: r for r in rules}
    base_ids = {r.id for r in base.rules}
    merged = [own.get(r.id, r) for r in base.rules if r.id not in rule_ids or r.id in own]
    return (*merged, *(r for r in rules if r.id not in base_ids))


def parse_policy(text: str, path: str) -> Policy:
    return _parse(text, path, (os.path.realpath(path),))


def _parse(text: str, path: str, chain: tuple[str, ...]) -> Policy:
    data, lines = _parse_yaml(text, path)
    doc = _Doc(path, lines)
    if not isinstance(data, dict):
        raise doc.error("a policy must be a mapping with 'name' and 'rules'", 1)
    doc.refuse_unknown(data, _TOP, "field")
    name = _name(data, doc)
    base = _base_policy(data, doc, chain)
    settings = _settings(data, doc)
    fail_on = _severity(data.get("fail_on", Severity.ERROR.value), doc, lines.field(data, "fail_on"))
    rules, rule_ids = _rules(data, doc, required=base is None)
    allow = {**(base.allow if base else {}), **_allow(data, doc)}
    _check_floor(rules, allow, doc)
    _check_setting_refs(rules, {**(base.settings if base else {}), **settings}, doc)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    description = data.get("description")
    if base is None:
        waivers = _waivers(data, rule_ids, doc)
        return Policy(name, path, sha, rules, waivers, fail_on, settings,
                      None if description is None else str(description), allow)
    waivers = _waivers(data, rule_ids | {r.id for r in base.rules}, doc)
    return Policy(
        name, path,
        hashlib.sha256(f"{sha}\n{base.sha256}".encode()).hexdigest(),  # a change to the base changes the policy
        _extend(base, rules, rule_ids),
        base.waivers + waivers,
        fail_on if "fail_on" in data else base.fail_on,
        {**base.settings, **settings},
        base.description if description is None else str(description),
        allow,
    )


def load_policy(path: str | None = None) -> Policy:
    """Load and validate a policy file; None loads the default policy shipped with mlaudit."""
    real = path or DEFAULT_POLICY
    return _load(real, (os.path.realpath(real),))


def _load(path: str, chain: tuple[str, ...]) -> Policy:
    from audit.errors import InputUnreadable
    from audit.sources.base import read_text_file

    try:
        text = read_text_file(path, limit=MAX_POLICY_BYTES)
    except InputUnreadable as exc:
        raise PolicyError(path, exc.message) from None
    return _parse(text, path, chain)
