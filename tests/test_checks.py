"""The check registry (audit/checks.py) against the code that emits evidence, the docs and the default policy."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from audit.checks import CHECKS, Check, UnknownCheck, check
from audit.errors import AuditError, PolicyError
from audit.model import Severity
from audit.policy.schema import DEFAULT_POLICY, load_policy, parse_policy

REPO = Path(__file__).resolve().parent.parent
AUDIT = REPO / "audit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _emit_sites() -> dict[tuple[str, str], set[str]]:
    """(check id, "module:function") for every Evidence(...) call in audit/, found in the source with ast.

    The function is the top-level one the call sits in. An id that is not a string literal is reported as
    the pseudo-id '<not a literal>' so that the registry test fails on it: ids must be visible in the source.
    """
    sites: dict[tuple[str, str], set[str]] = {}
    for path in sorted(AUDIT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        module = _module_name(path)
        for top in tree.body:
            where = f"{module}:{getattr(top, 'name', '<module>')}"
            for node in ast.walk(top):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Evidence"):
                    continue
                first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "check"), None)
                cid = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else "<not a literal>"
                sites.setdefault((cid, where), set()).add(f"{path.relative_to(REPO)}:{node.lineno}")
    return sites


SITES = _emit_sites()


def test_the_scan_finds_evidence_in_every_emitting_module():
    # guards the scan itself: if it found nothing, every registry test below would pass vacuously
    scanned = {where.split(":")[0] for _, where in SITES}
    registered = {where.split(":")[0] for c in CHECKS.values() for where in c.emitted_by}
    assert len(registered) >= 5 and registered <= scanned


def test_every_emitted_id_is_registered_and_a_literal():
    unregistered = sorted(f"{cid} at {', '.join(sorted(lines))}" for (cid, _), lines in SITES.items()
                          if cid not in CHECKS)
    assert not unregistered, unregistered


def test_every_emit_site_is_named_in_emitted_by():
    missing = sorted(f"{cid}: {where}" for (cid, where) in SITES if cid in CHECKS and where not in CHECKS[cid].emitted_by)
    assert not missing, f"emitted but not in the check's emitted_by: {missing}"


@pytest.mark.parametrize("c", CHECKS.values(), ids=list(CHECKS))
def test_emitted_by_really_emits_the_check(c: Check):
    assert c.emitted_by
    for where in c.emitted_by:
        module, _, function = where.partition(":")
        assert callable(getattr(importlib.import_module(module), function, None)), where
        assert (c.id, where) in SITES, f"{where} does not emit Evidence({c.id!r}, ...)"


def test_registry_entries_are_well_formed():
    for cid, c in CHECKS.items():
        assert c.id == cid
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", cid), cid
        assert isinstance(c.default_severity, Severity)
        assert c.description.endswith(".") and c.description[0].isupper(), cid


def _documented_rows() -> dict[str, tuple[str, str]]:
    """id -> (description, default severity) from the table in policies/README.md."""
    text = (REPO / "policies" / "README.md").read_text(encoding="utf-8")
    section = text.split("## Built-in checks", 1)[1].split("\n## ", 1)[0]
    return {cid: (text, sev) for cid, text, sev in
            re.findall(r"^\| `([a-z-]+)` \| (.+?) \| (error|warning|note) \|$", section, re.MULTILINE)}


def _documented_checks() -> dict[str, str]:
    return {cid: text for cid, (text, _) in _documented_rows().items()}


def test_policies_readme_documents_exactly_the_registered_checks():
    documented = _documented_checks()
    assert set(documented) == set(CHECKS)
    assert list(documented) == list(CHECKS), "the README lists the checks in registry order"


def test_policies_readme_describes_each_check_as_the_registry_does():
    for cid, text in _documented_checks().items():
        # the README may add where a check comes from, in brackets, after the registry's words
        assert re.sub(r" \(`mlaudit [^)]*`\)", "", text).replace("`", "") == CHECKS[cid].description, cid


def test_policies_readme_gives_each_check_its_default_severity():
    for cid, (_, sev) in _documented_rows().items():
        assert Severity(sev) is CHECKS[cid].default_severity, cid


def test_default_policy_names_only_registered_checks_at_their_default_severity():
    policy = load_policy(DEFAULT_POLICY)
    named = {r.id: r for r in policy.rules if "check" in r.when}
    assert named, "the default policy grades built-in checks"
    for rid, rule in named.items():
        assert rule.when["check"] in CHECKS, rid
        assert rule.severity is CHECKS[rule.when["check"]].default_severity, rid


def test_check_returns_the_entry_and_refuses_an_unknown_id():
    assert check("license-unknown") is CHECKS["license-unknown"]
    with pytest.raises(UnknownCheck) as info:
        check("licence-unknown")
    assert isinstance(info.value, AuditError)
    assert info.value.input == "licence-unknown"


def test_a_policy_naming_an_unregistered_check_is_refused():
    with pytest.raises(PolicyError, match="unknown check 'license-unknwon'"):
        parse_policy("name: x\nrules:\n  - {id: a, severity: error, check: license-unknwon}\n", "p.yaml")
    # a rule named after a registered check needs no condition; one named after nothing does
    assert parse_policy("name: x\nrules:\n  - {id: dataset-unknown, severity: note}\n", "p.yaml").rules[0].when == {
        "check": "dataset-unknown"}


def test_old_import_paths_still_work():
    from audit.checks import BLOCKING_PROBLEMS, license_evidence
    from audit.licenses import checks as license_checks

    assert license_evidence is license_checks.license_evidence
    assert "card-malformed-yaml" in BLOCKING_PROBLEMS


def test_a_rule_without_remediation_gets_the_checks_own():
    from audit.model import Effective, Evidence, LicenseFacts, Status
    from audit.policy.engine import Subject, evaluate

    policy = parse_policy("name: x\nrules:\n  - {id: license-unknown, severity: error}\n"
                          "  - {id: mine, severity: note, check: card-missing, remediation: Write one.}\n", "p.yaml")
    facts = LicenseFacts((), None, (), Status.UNKNOWN)
    evidence = (Evidence("license-unknown", "m", "no license"), Evidence("card-missing", "m", "no card"))
    findings = evaluate(policy, Subject("m", facts, Effective(None, ()), evidence, {}))
    assert {f.rule: f.remediation for f in findings} == {
        "license-unknown": CHECKS["license-unknown"].remediation, "mine": "Write one."}
    assert CHECKS["license-unknown"].remediation
