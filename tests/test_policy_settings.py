"""Settings mean something: `below`/`above` may name a numeric setting, so the policy's own numbers drive its
threshold rules (audit.policy.engine.with_settings, checked by audit.policy.schema)."""
from __future__ import annotations

import os

import pytest

from audit.api import audit
from audit.errors import PolicyError
from audit.policy.schema import load_policy, parse_policy

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _model(tmp_path, name: str, front_matter: str) -> str:
    d = tmp_path / name
    d.mkdir()
    (d / "README.md").write_text(f"---\n{front_matter}\n---\n# model\n", encoding="utf-8")
    (d / "model.safetensors").write_text("w", encoding="utf-8")
    return str(d)


def _fired(report, rule: str) -> set[str]:
    return {f.subject for f in report.findings if f.rule == rule}


def test_monthly_active_users_drives_the_user_threshold_rule(tmp_path):
    qwen = _model(tmp_path, "qwen-x", "license: other\nlicense_name: qwen")  # 100M users
    llama = _model(tmp_path, "Llama-x", "license: llama3.1")  # 700M users
    shipped = load_policy(os.path.join(ROOT, "policies", "commercial.yaml"))  # 5M users: below both thresholds
    assert not _fired(audit([qwen, llama], shipped, offline=True), "user-threshold-exceeded")
    (tmp_path / "big.yaml").write_text("name: big\nextends: commercial\nsettings: {monthly_active_users: 200000000}\n")
    report = audit([qwen, llama], load_policy(str(tmp_path / "big.yaml")), offline=True)
    assert _fired(report, "user-threshold-exceeded") == {qwen}
    assert not next(m for m in report.models if m.subject == qwen).passed


def test_annual_revenue_drives_a_revenue_threshold_rule(tmp_path):
    stability = _model(tmp_path, "m", "license: other\nlicense_name: stabilityai-ai-community")  # USD 1M
    text = ("name: p\nsettings: {{annual_revenue_usd: {}}}\nrules:\n  - id: rev\n    severity: error\n"
            "    when: {{term: revenue-threshold, param: usd_per_year, below: annual_revenue_usd}}\n")
    assert not audit([stability], parse_policy(text.format(500000), "p.yaml"), offline=True).findings
    assert _fired(audit([stability], parse_policy(text.format(2000000), "p.yaml"), offline=True), "rev")


@pytest.mark.parametrize(("text", "line", "match"), [
    ("name: p\nrules:\n  - id: x\n    severity: error\n"
     "    when: {term: user-threshold, param: users, below: monthly_active_users}\n", 3, "does not set"),
    ("name: p\nsettings: {monthly_active_users: 5}\nrules:\n  - id: x\n    severity: error\n"
     "    when: {term: user-threshold, param: users, below: monthly_users}\n", 6, "did you mean 'monthly_active_users'"),
])
def test_a_threshold_naming_a_missing_or_unknown_setting_is_refused(text, line, match):
    with pytest.raises(PolicyError, match=match) as info:
        parse_policy(text, "p.yaml")
    assert info.value.line == line
