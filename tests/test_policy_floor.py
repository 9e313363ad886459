"""The fail-closed floor: a policy cannot let an unknown, contradictory or unread license pass unless its
`allow:` says so (audit.checks `floor`, audit.policy.floor, audit.policy.schema `allow`)."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.api import audit
from audit.checks import CHECKS, FLOORS
from audit.errors import PolicyError
from audit.model import Severity
from audit.policy.schema import load_policy, parse_policy

ROOT = os.path.join(os.path.dirname(__file__), "..")
UNKNOWN = {"README.md": "---\nlibrary_name: transformers\n---\n# model\n", "model.safetensors": "w"}
CONFLICT = {"README.md": "---\nlicense: mit\nlicense_name: apache-2.0\n---\n# model\n", "model.safetensors": "w"}
MIT = {"README.md": "---\nlicense: mit\n---\n# model\n", "model.safetensors": "w"}
NC = {"README.md": "---\nlicense: cc-by-nc-4.0\n---\n# model\n", "model.safetensors": "w"}
SEVERITIES = [s.value for s in Severity]


def _model(root, name: str, files: dict[str, str]) -> str:
    d = root / name
    if not d.exists():
        d.mkdir(parents=True)
        for fname, content in files.items():
            (d / fname).write_text(content, encoding="utf-8")
    return str(d)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("floor")
    return {name: _model(root, name, files) for name, files in
            {"unknown": UNKNOWN, "conflict": CONFLICT, "mit": MIT, "nc": NC}.items()}


def test_the_floor_is_data_in_the_check_registry():
    assert set(FLOORS) == {"license-unknown", "license-conflict", "lineage-conflict", "file-unreadable",
                           "license-text-missing", "license-text-not-shipped"}
    assert all(CHECKS[c].floor is Severity.ERROR for c in FLOORS)


def test_a_policy_without_a_rule_for_an_undecidable_license_still_fails_it(models):
    policy = parse_policy("name: lax\nrules:\n  - {id: card-problem, severity: note}\n", "lax.yaml")
    for name, check in (("unknown", "license-unknown"), ("conflict", "license-conflict")):
        report = audit([models[name]], policy, offline=True)
        assert not report.passed
        assert [f.severity for f in report.findings if f.check == check] == [Severity.ERROR]
    assert audit([models["mit"]], policy, offline=True).passed


def test_a_disabled_floor_rule_still_fails(tmp_path, models):
    (tmp_path / "p.yaml").write_text("name: p\nextends: default\nrules:\n  - {id: license-unknown, enabled: false}\n")
    assert not audit([models["unknown"]], load_policy(str(tmp_path / "p.yaml")), offline=True).passed


def test_grading_a_floor_check_below_its_floor_needs_allow():
    text = "name: p\nrules:\n  - {id: card-problem, severity: note}\n  - {id: license-unknown, severity: note}\n"
    with pytest.raises(PolicyError, match=r"below its fail-closed floor.*allow: \{license-unknown: note\}") as info:
        parse_policy(text, "p.yaml")
    assert info.value.file == "p.yaml" and info.value.line == 4
    allowed = parse_policy("name: p\nallow: {license-unknown: note}\n" + text.split("\n", 1)[1], "p.yaml")
    assert allowed.allow == {"license-unknown": Severity.NOTE}


def test_allow_lowers_the_floor_explicitly(models):
    policy = parse_policy("name: p\nallow: {license-unknown: note}\nrules:\n  - {id: card-problem, severity: note}\n",
                          "p.yaml")
    report = audit([models["unknown"]], policy, offline=True)
    assert report.passed
    assert [f.severity for f in report.findings if f.check == "license-unknown"] == [Severity.NOTE]


def test_a_floor_check_named_only_inside_a_combination_is_held_to_the_floor(models):
    policy = parse_policy("name: p\nrules:\n  - id: soft\n    severity: note\n    when: {any: [{check: license-unknown}]}\n",
                          "p.yaml")
    report = audit([models["unknown"]], policy, offline=True)
    assert not report.passed
    assert {f.rule: f.severity for f in report.findings if f.check in (None, "license-unknown")}["license-unknown"] \
        is Severity.ERROR


@pytest.mark.parametrize(("text", "line", "match"), [
    ("name: p\nallow: {card-problem: note}\nrules: [{id: card-problem, severity: note}]\n", 2, "no fail-closed floor"),
    ("name: p\nallow: {license-unknwn: note}\nrules: [{id: card-problem, severity: note}]\n", 2,
     "did you mean 'license-unknown'"),
    ("name: p\nallow: {license-unknown: fatal}\nrules: [{id: card-problem, severity: note}]\n", 2, "severity must be"),
    ("name: p\nallow: [license-unknown]\nrules: [{id: card-problem, severity: note}]\n", 2, "'allow' must be a mapping"),
    ("name: p\nfail_onn: error\nrules: [{id: card-problem, severity: note}]\n", 2, "did you mean 'fail_on'"),
    ("name: p\nrules:\n  - {id: x, severity: note, check: card-problme}\n", 3, "did you mean 'card-problem'"),
    ("name: p\nrules:\n  - {id: x, severity: note, when: {term: non-comercial}}\n", 3, "did you mean 'non-commercial'"),
])
def test_allow_and_unknown_key_errors_name_the_line(text, line, match):
    with pytest.raises(PolicyError, match=match) as info:
        parse_policy(text, "p.yaml")
    assert info.value.line == line


def test_allow_is_inherited_through_extends(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nallow: {lineage-conflict: warning}\n"
                                        "rules:\n  - {id: lineage-conflict, severity: warning}\n")
    (tmp_path / "ours.yaml").write_text("name: ours\nextends: base.yaml\n")
    assert load_policy(str(tmp_path / "ours.yaml")).allow == {"lineage-conflict": Severity.WARNING}


# -- property: generated policies never fail open ----------------------------------------------------------

@st.composite
def policies(draw: st.DrawFn) -> str:
    ids = draw(st.lists(st.sampled_from(sorted(CHECKS)), min_size=1, max_size=8, unique=True))
    rules = [f"  - {{id: {i}, severity: {draw(st.sampled_from(SEVERITIES))}}}" for i in ids]
    allow = draw(st.dictionaries(st.sampled_from(sorted(FLOORS)), st.sampled_from(SEVERITIES), max_size=3))
    fail_on = draw(st.sampled_from(SEVERITIES))
    head = f"name: gen\nfail_on: {fail_on}\n"
    if allow:
        head += "allow:\n" + "".join(f"  {k}: {v}\n" for k, v in allow.items())
    return head + "rules:\n" + "\n".join(rules) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=policies())
def test_generated_policies_never_let_an_undecidable_license_pass(models, text):
    try:
        policy = parse_policy(text, "gen.yaml")
    except PolicyError as exc:
        assert "below its fail-closed floor" in exc.message  # the only way a generated policy is refused
        return
    for name, check in (("unknown", "license-unknown"), ("conflict", "license-conflict")):
        report = audit([models[name]], policy, offline=True)
        lowest = policy.allow.get(check, Severity.ERROR)
        graded = [f for f in report.findings if f.check == check]
        assert graded and max(f.severity.rank for f in graded) >= lowest.rank
        if lowest.rank >= policy.fail_on.rank:
            assert not report.passed, (text, report.findings)


# -- every shipped policy's description says what it does -------------------------------------------------

# policy -> (words its description must contain, model -> must it pass)
CLAIMS = {
    "default": (("unknown", "conflicting", "non-commercial"), {"unknown": False, "conflict": False, "nc": False,
                                                               "mit": True}),
    "commercial": (("unknown or conflicting", "forbids commercial use"), {"unknown": False, "conflict": False,
                                                                          "nc": False, "mit": True}),
    "research": (("Non-commercial", "unknown and conflicting licenses still fail"),
                 {"unknown": False, "conflict": False, "nc": True, "mit": True}),
    "permissive-only": (("permissive",), {"unknown": False, "conflict": False, "nc": False, "mit": True}),
}


def _policy(name: str):
    return load_policy(None if name == "default" else os.path.join(ROOT, "policies", f"{name}.yaml"))


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_shipped_policy_description_matches_what_it_does(models, name):
    policy = _policy(name)
    words, outcomes = CLAIMS[name]
    assert policy.description and all(w in policy.description for w in words), policy.description
    for model, passes in outcomes.items():
        assert audit([models[model]], policy, offline=True).passed is passes, (name, model)


def test_every_shipped_policy_has_description_claims():
    import glob

    shipped = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ROOT, "policies", "*.yaml"))}
    assert shipped | {"default"} == set(CLAIMS)


def test_policy_validate_prints_the_merged_rules_and_the_lowered_floor(tmp_path):
    from click.testing import CliRunner

    from audit.cli import main

    (tmp_path / "p.yaml").write_text("name: p\nextends: research\nallow: {license-unknown: note}\n"
                                     "rules:\n  - {id: license-unknown, severity: note}\n")
    result = CliRunner().invoke(main, ["policy", "validate", str(tmp_path / "p.yaml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "  license-unknown: note when {'check': 'license-unknown'}" in result.output  # merged over research's
    assert "allow license-unknown: note (lowers the fail-closed floor)" in result.output
    assert "allow lineage-conflict: warning" in result.output  # inherited from the shipped research policy
    (tmp_path / "bad.yaml").write_text("name: bad\nrules:\n  - {id: license-unknown, severity: note}\n")
    result = CliRunner().invoke(main, ["policy", "validate", str(tmp_path / "bad.yaml")], catch_exceptions=False)
    assert result.exit_code == 2 and "bad.yaml:3" in result.output + (result.stderr if result.stderr_bytes else "")
