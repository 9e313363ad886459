"""Policy files: valid ones load; every mistake is a PolicyError with file and line."""
from __future__ import annotations

import datetime as dt
import glob
import os

import pytest

from audit.errors import PolicyError
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
