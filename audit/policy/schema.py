"""Policy YAML -> Policy. Every mistake is a PolicyError naming the file and line (exit code 2)."""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from audit.errors import PolicyError
from audit.licenses.catalog import CATEGORIES, TERM_KINDS
from audit.model import Severity

DEFAULT_POLICY = os.path.join(os.path.dirname(__file__), "default.yaml")
MAX_POLICY_BYTES = 1024 * 1024

# Built-in checks: stable ids that policies grade and reports name (documented in policies/README.md).
CHECKS = {
    "license-unknown": "The model's own license could not be determined, or names a family rather than one license.",
    "license-conflict": "The model's own sources (license, license_name, license_link, Hub tag) disagree.",
    "license-file-mismatch": "A license file in the repo names a different license than the card declares.",
    "license-body-mismatch": "A license statement in the card body names a different license than the front matter.",
    "license-text-modified": "A license file is a modified, truncated, translated or stub copy of a known license.",
    "license-text-unknown": "A license-like file in the repo is not a license text we recognise.",
    "card-missing": "The model has no model card.",
    "card-problem": "The model card has problems (malformed fields, British spelling, list-valued license).",
    "lineage-conflict": "The declared license drops terms that an ancestor imposes on derivatives.",
    "lineage-missing-license": "The model declares no license; its effective license comes from its ancestors.",
    "lineage-unknown-ancestor": "An ancestor could not be found or its license could not be determined.",
    "lineage-name-prefix": "The model's name does not start with the prefix an ancestor's license requires.",
    "lineage-cycle": "The base_model chain loops back on itself or is too deep.",
    "dataset-license": "A training dataset's license is non-commercial, research-only or otherwise restrictive.",
    "dataset-unknown": "A training dataset's license could not be determined.",
    "provenance-unpinned": "The model was not read at a pinned commit.",
    "provenance-unsafe-format": "The repo ships pickle-based weights (.bin/.pt/.ckpt/.pkl) that run code when loaded.",
    "provenance-remote-code": "The repo ships custom code that trust_remote_code would run.",
    "provenance-integrity": "A file does not match the hash the Hub, the cache or mlaudit.lock recorded.",
    "file-unreadable": "A license-like file of the model (LICENSE, NOTICE, USE_POLICY ...) could not be read: too big, not "
    "a regular file, unreadable, or a link leaving the snapshot. Its terms are unknown, so the audit fails closed.",
    "provenance-author": "The model's author or organization is not on the policy's allow-list.",
    "provenance-gated": "The model is gated: its terms must be accepted on the Hub.",
    "license-drift": "The license differs from the one mlaudit.lock recorded: the locked files changed, or the "
    "locked branch or tag now points to a revision under another license.",
    "reference-unresolved": "The code loads a model whose id cannot be known without running it (a function "
    "parameter, an environment variable, an f-string), so it cannot be audited.",
}

_TOP = {"name", "description", "version", "fail_on", "settings", "rules", "waivers", "extends"}
_RULE = {"id", "severity", "check", "when", "message", "remediation", "references", "scope", "enabled"}
_WHEN = {"check", "term", "param", "below", "above", "equals", "category", "not_category", "license", "not_license",
         "all", "any", "not"}
_WAIVER = {"rule", "subject", "reason", "expires", "approved_by", "ticket"}
_SETTINGS = {"monthly_active_users", "annual_revenue_usd", "inferred_lineage_can_fail", "allowed_authors", "require_pinned"}
_TERMS = {t for vocab in TERM_KINDS.values() for t in vocab}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    when: Mapping[str, Any]
    message: str | None = None
    remediation: str | None = None
    references: tuple[str, ...] = ()
    scope: str = "effective"  # own | effective: which licenses term/category/license conditions look at
    line: int | None = None


@dataclass(frozen=True)
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


class _Lines:
    """Line numbers of YAML nodes, so errors can point at the exact line."""

    def __init__(self) -> None:
        self.of: dict[int, int] = {}

    def line(self, obj: Any, default: int | None = None) -> int | None:
        return self.of.get(id(obj), default)


def _to_python(node: yaml.Node, lines: _Lines, path: str) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader(  # resolve the scalar the way safe_load would (int, bool, date, ...)
            ""
        ).construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        out = [_to_python(n, lines, path) for n in node.value]
        lines.of[id(out)] = node.start_mark.line + 1
        return out
    if isinstance(node, yaml.MappingNode):
        d: dict[Any, Any] = {}
        for k, v in node.value:
            key = _to_python(k, lines, path)
            if not isinstance(key, str):
                raise PolicyError(path, f"field names must be text, got {key!r}", k.start_mark.line + 1)
            if key in d:
                raise PolicyError(path, f"field '{key}' appears twice", k.start_mark.line + 1)
            d[key] = _to_python(v, lines, path)
            lines.of[id(d[key])] = v.start_mark.line + 1
            lines.of[(id(d), key)] = k.start_mark.line + 1  # type: ignore[index]
        lines.of[id(d)] = node.start_mark.line + 1
        return d
    raise PolicyError(path, "unsupported YAML node")


def _parse_yaml(text: str, path: str) -> tuple[Any, _Lines]:
    lines = _Lines()
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                line = ev.start_mark.line + 1 if ev.start_mark else None
                raise PolicyError(path, "YAML anchors and aliases are not allowed in a policy", line)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                          mark.line + 1 if mark else None) from None
    if node is None:
        raise PolicyError(path, "the policy file is empty", 1)
    try:
        return _to_python(node, lines, path), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                          mark.line + 1 if mark else None) from None


def _field_line(lines: _Lines, parent: dict, key: str) -> int | None:
    return lines.of.get((id(parent), key)) or lines.line(parent)  # type: ignore[arg-type]


def _severity(value: Any, path: str, line: int | None) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise PolicyError(path, f"severity must be error, warning or note, not {value!r}", line) from None


def _check_when(when: Any, path: str, lines: _Lines, line: int | None) -> None:
    if not isinstance(when, dict) or not when:
        raise PolicyError(path, "a condition must be a non-empty mapping", line)
    for k, v in when.items():
        kl = _field_line(lines, when, k) or line
        if k not in _WHEN:
            raise PolicyError(path, f"unknown condition '{k}' (one of: {', '.join(sorted(_WHEN))})", kl)
        if k == "check" and v not in CHECKS:
            raise PolicyError(path, f"unknown check '{v}' (see policies/README.md for the list)", kl)
        if k == "term" and v not in _TERMS:
            raise PolicyError(path, f"unknown term '{v}' (one of: {', '.join(sorted(_TERMS))})", kl)
        if k in ("category", "not_category"):
            for c in v if isinstance(v, list) else [v]:
                if c not in CATEGORIES:
                    raise PolicyError(path, f"unknown category '{c}' (one of: {', '.join(CATEGORIES)})", kl)
        if k in ("license", "not_license"):
            vals = v if isinstance(v, list) else [v]
            if not vals or not all(isinstance(x, str) for x in vals):
                raise PolicyError(path, f"'{k}' takes a license key or a list of keys", kl)
            from audit.licenses.catalog import catalog

            unknown = [x for x in vals if x not in catalog() and not x.endswith("*")]
            if unknown:
                raise PolicyError(path, f"'{k}': unknown license key(s) {', '.join(unknown)} (see `mlaudit explain`)", kl)
        if k in ("below", "above") and not isinstance(v, (int, float)):
            raise PolicyError(path, f"'{k}' takes a number", kl)
        if k in ("all", "any"):
            if not isinstance(v, list) or not v:
                raise PolicyError(path, f"'{k}' takes a list of conditions", kl)
            for sub in v:
                _check_when(sub, path, lines, lines.line(sub, kl))
        if k == "not":
            _check_when(v, path, lines, lines.line(v, kl))
    if ("below" in when or "above" in when or "equals" in when) and not ("term" in when and "param" in when):
        raise PolicyError(path, "'below'/'above'/'equals' need 'term' and 'param' beside them", line)


def parse_policy(text: str, path: str) -> Policy:
    data, lines = _parse_yaml(text, path)
    if not isinstance(data, dict):
        raise PolicyError(path, "a policy must be a mapping with 'name' and 'rules'", 1)
    for k in data:
        if k not in _TOP:
            raise PolicyError(path, f"unknown field '{k}' (one of: {', '.join(sorted(_TOP))})", _field_line(lines, data, k))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(path, "'name' is required and must be text", lines.line(data))
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise PolicyError(path, "'settings' must be a mapping", _field_line(lines, data, "settings"))
    for k in settings:
        if k not in _SETTINGS:
            raise PolicyError(path, f"unknown setting '{k}' (one of: {', '.join(sorted(_SETTINGS))})",
                              _field_line(lines, settings, k))
    fail_on = _severity(data.get("fail_on", "error"), path, _field_line(lines, data, "fail_on"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyError(path, "'rules' must be a non-empty list", _field_line(lines, data, "rules"))
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in raw_rules:
        line = lines.line(raw)
        if not isinstance(raw, dict):
            raise PolicyError(path, "each rule must be a mapping with 'id' and 'severity'", line)
        for k in raw:
            if k not in _RULE:
                raise PolicyError(path, f"unknown rule field '{k}' (one of: {', '.join(sorted(_RULE))})",
                                  _field_line(lines, raw, k))
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise PolicyError(path, "a rule needs an 'id'", line)
        if rid in seen:
            raise PolicyError(path, f"rule id '{rid}' is used twice", line)
        seen.add(rid)
        if raw.get("enabled", True) is False:
            continue
        if "severity" not in raw:
            raise PolicyError(path, f"rule '{rid}' needs a 'severity' (error, warning or note)", line)
        sev = _severity(raw["severity"], path, _field_line(lines, raw, "severity"))
        if "check" in raw and "when" in raw:
            raise PolicyError(path, f"rule '{rid}': give 'check' or 'when', not both", line)
        if "check" in raw:
            when: Any = {"check": raw["check"]}
            _check_when(when, path, lines, _field_line(lines, raw, "check"))
        elif "when" in raw:
            when = raw["when"]
            _check_when(when, path, lines, _field_line(lines, raw, "when"))
        elif rid in CHECKS:
            when = {"check": rid}
        else:
            raise PolicyError(path, f"rule '{rid}' needs a 'when' condition (or a built-in check id)", line)
        scope = raw.get("scope", "effective")
        if scope not in ("own", "effective"):
            raise PolicyError(path, f"rule '{rid}': scope must be 'own' or 'effective'", _field_line(lines, raw, "scope"))
        refs = raw.get("references") or []
        if not isinstance(refs, list):
            raise PolicyError(path, f"rule '{rid}': references must be a list", _field_line(lines, raw, "references"))
        for k in ("message", "remediation"):
            if k in raw and not isinstance(raw[k], str):
                raise PolicyError(path, f"rule '{rid}': {k} must be text", _field_line(lines, raw, k))
        rules.append(Rule(rid, sev, when, raw.get("message"), raw.get("remediation"), tuple(map(str, refs)), scope, line))
    waivers: list[Waiver] = []
    raw_waivers = data.get("waivers") or []
    if not isinstance(raw_waivers, list):
        raise PolicyError(path, "'waivers' must be a list", _field_line(lines, data, "waivers"))
    for raw in raw_waivers:
        line = lines.line(raw)
        if not isinstance(raw, dict):
            raise PolicyError(path, "each waiver must be a mapping with rule, subject, reason and expires", line)
        for k in raw:
            if k not in _WAIVER:
                raise PolicyError(path, f"unknown waiver field '{k}' (one of: {', '.join(sorted(_WAIVER))})",
                                  _field_line(lines, raw, k))
        for k in ("rule", "subject", "reason", "expires"):
            if not raw.get(k):
                raise PolicyError(path, f"a waiver needs '{k}'", line)
        if raw["rule"] != "*" and raw["rule"] not in seen:
            raise PolicyError(path, f"waiver names rule '{raw['rule']}', which this policy does not have",
                              _field_line(lines, raw, "rule"))
        exp = raw["expires"]
        if isinstance(exp, str):
            try:
                exp = _dt.date.fromisoformat(exp)
            except ValueError:
                exp = None
        if not isinstance(exp, _dt.date):
            raise PolicyError(path, "a waiver's 'expires' must be a date (YYYY-MM-DD)", _field_line(lines, raw, "expires"))
        waivers.append(Waiver(str(raw["rule"]), str(raw["subject"]), str(raw["reason"]), exp,
                              raw.get("approved_by"), line))
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(name.strip(), path, sha, tuple(rules), tuple(waivers), fail_on, dict(settings), data.get("description"))


def load_policy(path: str | None = None) -> Policy:
    """Load and validate a policy file; None loads the default policy shipped with mlaudit."""
    from audit.errors import InputUnreadable
    from audit.sources.base import read_text_file

    real = path or DEFAULT_POLICY
    try:
        text = read_text_file(real, limit=MAX_POLICY_BYTES)
    except InputUnreadable as exc:
        raise PolicyError(real, exc.message) from None
    return parse_policy(text, real)
