"""Policy files: valid ones load; every mistake is a PolicyError with file and line."""
from __future__ import annotations

import datetime as dt
import glob
import os

import pytest

from audit.errors import PolicyError
from audit.model import Severity
from audit.policy.schema import DEFAULT_POLICY, load_policy, parse_policy

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml"))) + [DEFAULT_POLICY])
def test_shipped_policies_load(path):
    p = load_policy(path)
    assert p.rules and p.name
    assert len(p.sha256) == 64


def test_default_policy_when_none():
    assert load_policy(None).name == "default"


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("name: x\nrules:\n  - id: a\n    severity: fatal\n    check: license-unknown\n", 4, "severity must be"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    when: {term: no-such-term}\n", 5, "unknown term"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    check: no-such-check\n", 5, "unknown check"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    when: {category: [weird]}\n", 5, "unknown category"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    when: {license: [nope-1.0]}\n", 5, "unknown license key"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    check: license-unknown\n  - id: a\n    severity: note\n    check: card-problem\n", 6, "used twice"),
        ("name: x\nrulez: []\n", 2, "unknown field 'rulez'"),
        ("name: x\nrules: []\n", 2, "non-empty list"),
        ("name: x\nrules:\n  - id: custom\n    severity: error\n", 3, "needs a 'when'"),
        ("name: x\nrules:\n  - {id: license-unknown, severity: error}\nwaivers:\n  - rule: license-unknown\n    subject: a/b\n    reason: ok\n", 5, "needs 'expires'"),
        ("name: x\nrules:\n  - {id: license-unknown, severity: error}\nwaivers:\n  - {rule: other, subject: a, reason: r, expires: 2030-01-01}\n", 5, "does not have"),
        ("name: x\nrules:\n  - {id: license-unknown, severity: error}\nwaivers:\n  - {rule: license-unknown, subject: a, reason: r, expires: soon}\n", 5, "must be a date"),
        ("name: x\nrules:\n  - id: a\n    severity: error\n    when: {term: user-threshold, below: 5}\n", 5, "need 'term' and 'param'"),
        ("name: x\nrules: [\n", 3, "not valid YAML"),
        ("name: &n x\nrules:\n  - {id: license-unknown, severity: error}\n", 1, "anchors and aliases"),
        ("- a list\n", 1, "must be a mapping"),
    ],
)
def test_policy_errors_name_file_and_line(text, line, fragment):
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "my-policy.yaml")
    err = info.value
    assert err.file == "my-policy.yaml"
    assert fragment in err.message
    assert err.line == line, (err.line, err.message)
    assert str(err).startswith(f"my-policy.yaml:{line}: ")


def test_missing_policy_file_is_policy_error(tmp_path):
    with pytest.raises(PolicyError) as info:
        load_policy(str(tmp_path / "nope.yaml"))
    assert "does not exist" in info.value.message


def test_waiver_parsed_with_date():
    p = parse_policy(
        "name: x\nrules:\n  - {id: non-commercial, severity: error, when: {term: non-commercial}}\n"
        "waivers:\n  - {rule: non-commercial, subject: 'acme/*', reason: eval, expires: 2027-01-31}\n",
        "p.yaml",
    )
    assert p.waivers[0].expires == dt.date(2027, 1, 31)
    assert p.waivers[0].subject == "acme/*"


# -- extends ------------------------------------------------------------------------------------------------------
def test_extends_default_overrides_disables_and_adds_rules():
    base = load_policy(DEFAULT_POLICY)
    p = parse_policy(
        "name: ours\nextends: default\nsettings: {monthly_active_users: 10}\nrules:\n"
        "  - {id: card-missing, severity: error}\n"
        "  - {id: card-problem, enabled: false}\n"
        "  - {id: no-gpl, severity: error, when: {license: [gpl-3.0]}}\n"
        "waivers:\n  - {rule: license-unknown, subject: 'acme/*', reason: r, expires: 2030-01-01}\n",
        "ours.yaml",
    )
    by_id = {r.id: r for r in p.rules}
    assert [r.id for r in p.rules] == [r.id for r in base.rules if r.id != "card-problem"] + ["no-gpl"]
    assert by_id["card-missing"].severity is Severity.ERROR
    assert by_id["license-unknown"] == {r.id: r for r in base.rules}["license-unknown"]
    assert p.fail_on is base.fail_on and p.settings == {"monthly_active_users": 10}
    assert [w.rule for w in p.waivers] == ["license-unknown"]  # a waiver may name a rule of the base
    assert p.name == "ours" and p.sha256 != base.sha256


def test_extends_a_file_next_to_the_policy(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nfail_on: warning\nrules:\n  - {id: license-unknown, severity: error}\n")
    (tmp_path / "ours.yaml").write_text("name: ours\nextends: base.yaml\n")
    p = load_policy(str(tmp_path / "ours.yaml"))
    assert [r.id for r in p.rules] == ["license-unknown"] and p.fail_on is Severity.WARNING
    before = p.sha256
    (tmp_path / "base.yaml").write_text("name: base\nrules:\n  - {id: license-unknown, severity: error}\n  - {id: card-missing, severity: note}\n")
    assert load_policy(str(tmp_path / "ours.yaml")).sha256 != before  # the hash covers the base


def test_extends_a_shipped_policy_by_name_from_inside_the_package(tmp_path):
    """`extends: commercial` finds the shipped policy in the package (audit/policies: a link to the repository's
    policies/ in a checkout, a copy in an installed wheel, as pyproject's package-data says), not beside a checkout."""
    import tomllib

    from audit.policy import schema

    package = os.path.dirname(os.path.dirname(os.path.abspath(schema.__file__)))
    assert os.path.dirname(os.path.abspath(schema.SHIPPED_POLICIES)) == package
    with open(os.path.join(os.path.dirname(package), "pyproject.toml"), "rb") as fh:
        data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["*"]
    assert "policies/*.yaml" in data
    (tmp_path / "ours.yaml").write_text("name: ours\nextends: commercial\n")
    p = load_policy(str(tmp_path / "ours.yaml"))
    assert {r.id for r in p.rules} == {r.id for r in load_policy(os.path.join(schema.SHIPPED_POLICIES, "commercial.yaml")).rules}


def test_extends_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("name: b\n\nextends: a.yaml\n")
    with pytest.raises(PolicyError, match="loops back") as info:
        load_policy(str(tmp_path / "a.yaml"))
    assert info.value.file.endswith("b.yaml") and info.value.line == 3
    (tmp_path / "c.yaml").write_text("name: c\nextends: broken.yaml\n")
    (tmp_path / "broken.yaml").write_text("name: broken\nrules:\n  - {id: x, severity: fatal, check: card-missing}\n")
    with pytest.raises(PolicyError, match="severity must be") as info:
        load_policy(str(tmp_path / "c.yaml"))
    assert info.value.file.endswith("broken.yaml") and info.value.line == 3
    with pytest.raises(PolicyError, match=r"no-such\.yaml"):
        parse_policy(f"name: d\nextends: {tmp_path / 'no-such.yaml'}\n", "d.yaml")
    with pytest.raises(PolicyError, match="'extends' takes") as info:
        parse_policy("name: e\nextends: [default]\n", "e.yaml")
    assert info.value.line == 2


def test_without_extends_rules_are_still_required():
    with pytest.raises(PolicyError, match="non-empty list"):
        parse_policy("name: x\n", "x.yaml")


_R = "rules:\n  - {id: card-problem, severity: note}\n"


@pytest.mark.parametrize(("text", "line", "match"), [
    ("name: p\n" + _R + "waivers:\n  - {rule: card-problem, subject: x, reason: r, expires: 2027-02-30}\n", 5,
     "not a valid value"),
    ("name: p\n" + _R + "waivers:\n  - {rule: card-problem, subject: x, reason: r, expires: 2027-02-03T10:00:00}\n", 5,
     "must be a date"),
    ("name: p\n" + _R + "waivers:\n  - {rule: card-problem, subject: x, reason: r, expires: '2027-02-03T10:00:00'}\n",
     5, "must be a date"),
    ("name: p\nsettings:\n  monthly_active_users: lots\n" + _R, 3, "takes a whole number"),
    ("name: p\nsettings:\n  require_pinned: 'yes'\n" + _R, 3, "true or false"),
    ("name: p\nsettings:\n  monthly_users: 5\n" + _R, 3, "did you mean 'monthly_active_users'"),
    ("name: p\nrules:\n  - id: x\n    severity: note\n    when: {term: user-threshold, param: user, below: 5}\n", 5,
     "did you mean 'users'"),
    ("name: p\nrules:\n  - id: x\n    severity: note\n    when: {term: non-commercial, param: users, below: 5}\n", 5,
     "has no parameter"),
    ("name: p\nrules:\n  - id: x\n    severity: note\n    check: card-problem\n    message: '{subjct} is odd'\n", 6,
     r"unknown placeholder \{subjct\}.*did you mean 'subject'"),
    ("name: p\nrules:\n  - id: x\n    severity: note\n    check: card-problem\n    message: '{detail'\n", 6,
     "not a valid template"),
])
def test_type_and_value_errors_are_policy_errors_with_a_line(text, line, match):
    with pytest.raises(PolicyError, match=match) as info:
        parse_policy(text, "p.yaml")
    assert info.value.line == line


def test_message_placeholders_that_the_engine_fills_are_accepted():
    p = parse_policy("name: p\nrules:\n  - {id: x, severity: note, check: card-problem, "
                     "message: '{subject}: {detail} ({license}), {{literal}}'}\n", "p.yaml")
    assert p.rules[0].message


def test_extends_a_shipped_policy_by_name(tmp_path):
    (tmp_path / "ours.yaml").write_text("name: ours\nextends: commercial\nrules:\n  - {id: copyleft, enabled: false}\n")
    p = load_policy(str(tmp_path / "ours.yaml"))
    assert p.settings["monthly_active_users"] == 5000000 and "copyleft" not in {r.id for r in p.rules}
    assert "no-derivatives" in {r.id for r in p.rules}


def test_a_policy_file_edited_between_loads_is_read_again(tmp_path) -> None:
    # the composed YAML is remembered by text: the same file loads fast, an edited one is a new text
    p = tmp_path / "p.yaml"
    p.write_text("name: one\nrules:\n  - {id: license-unknown, severity: error}\n")
    assert load_policy(str(p)).name == "one" and load_policy(str(p)).name == "one"
    p.write_text("name: two\nrules:\n  - {id: license-unknown, severity: error}\n")
    assert load_policy(str(p)).name == "two"
    p.write_text("name: [broken\n")
    for _ in range(2):  # an error is raised on every load, not remembered as a result
        with pytest.raises(PolicyError):
            load_policy(str(p))
