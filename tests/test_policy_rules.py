"""Every rule of every shipped policy has a failing and a passing example, run through the whole pipeline."""
from __future__ import annotations

import datetime as dt
import glob
import os
from pathlib import Path

import pytest

from audit.api import audit
from audit.model import Outcome
from audit.policy.schema import DEFAULT_POLICY, load_policy, parse_policy

ROOT = os.path.join(os.path.dirname(__file__), "..")
POLICIES = sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml"))) + [DEFAULT_POLICY]
MIT_TEXT = Path(ROOT, "examples", "models", "other-license-with-file", "LICENSE").read_text(encoding="utf-8")
NC_TEXT = Path(ROOT, "tests", "fixtures", "licenses", "corpus", "licenses", "cc-by-nc-4.0.txt").read_text(encoding="utf-8")
LLAMA31_TEXT = Path(ROOT, "tests", "fixtures", "licenses", "corpus", "licenses", "llama3.1.txt").read_text(encoding="utf-8")


def card(fm: str, body: str = "# model\n") -> str:
    return f"---\n{fm}\n---\n{body}"


OK = {"README.md": card("license: mit"), "model.safetensors": "weights"}

# rule id -> (name, files) that must make it fire, and (name, files) that must not.
EXAMPLES: dict[str, tuple[tuple[str, dict], tuple[str, dict]]] = {
    "license-unknown": (("m", {"README.md": card("library_name: transformers")}), ("m", OK)),
    "license-conflict": (("m", {"README.md": card("license: mit\nlicense_name: apache-2.0")}), ("m", OK)),
    "license-file-mismatch": (("m", {"README.md": card("license: apache-2.0"), "LICENSE": MIT_TEXT}),
                              ("m", {"README.md": card("license: mit"), "LICENSE": MIT_TEXT})),
    "license-body-mismatch": (("m", {"README.md": card("license: apache-2.0", "## License\nLicense: Llama 2 Community License\n")}),
                              ("m", {"README.md": card("license: llama2", "## License\nThis model is released under the Llama 2 Community License.\n")})),
    "license-statement-conflict": (("m", {"README.md": card("license: apache-2.0", "## License\nThe model weights are for non-commercial use only.\n")}),
                                   ("m", {"README.md": card("license: apache-2.0", "## License\nThe training code is for non-commercial use only.\n")})),
    "license-statement-intended-use": (
        ("m", {"README.md": card("license: openrail++", "## Uses\nThe model is intended for research purposes only.\n")}),
        ("m", {"README.md": card("license: cc-by-nc-4.0", "## Uses\nThe model is intended for non-commercial use only.\n")})),
    "card-duplicate-key": (("m", {"README.md": card("license: mit\nlicense: mit")}), ("m", OK)),
    "license-text-modified": (("m", {"README.md": card("license: mit"),
                                     "LICENSE": MIT_TEXT + "\nYou may not use the Software to train other models.\n"}),
                              ("m", {"README.md": card("license: mit"), "LICENSE": MIT_TEXT})),
    "license-text-unknown": (("m", {"README.md": card("license: mit"),
                                    "LICENSE": "Use this model as you see fit, but call us first. Our lawyers will explain.\n" * 3}),
                             ("m", {"README.md": card("license: mit"), "LICENSE": MIT_TEXT})),
    "license-text-missing": (("m", {"README.md": card("license: mit\nlicense_link: LICENSE")}),
                             ("m", {"README.md": card("license: mit\nlicense_link: LICENSE"), "LICENSE": MIT_TEXT})),
    "license-text-not-shipped": (("Llama-3.1-support", {"README.md": card("license: llama3.1\nlicense_link: LICENSE\n"
                                                                         "base_model: meta-llama/Llama-3.1-8B-Instruct")}),
                                 ("Llama-3.1-support", {"README.md": card("license: llama3.1\nlicense_link: LICENSE\n"
                                                                          "base_model: meta-llama/Llama-3.1-8B-Instruct"),
                                                        "LICENSE": LLAMA31_TEXT})),
    "card-missing": (("m", {"LICENSE": MIT_TEXT}), ("m", {"README.md": card("license: mit"), "LICENSE": MIT_TEXT})),
    "card-problem": (("m", {"README.md": card("licence: mit")}), ("m", OK)),
    "lineage-conflict": (("Llama-3.1-support", {"README.md": card("license: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B-Instruct")}),
                         ("Llama-3.1-support", {"README.md": card("license: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct")})),
    "lineage-missing-license": (("m", {"README.md": card("base_model: nobody-knows/this-model-xyz")}),
                                ("m", {"README.md": card("license: mit\nbase_model: nobody-knows/this-model-xyz")})),
    "license-undeclared-derivative": (("Llama-3.1-support", {"README.md": card("base_model: meta-llama/Llama-3.1-8B-Instruct")}),
                                      ("Llama-3.1-support", {"README.md": card("license: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct")})),
    # DeepSeek-R1 (MIT) is deepseek-ai's own relicensing of DeepSeek-V3-Base (DeepSeek License)
    "lineage-same-licensor": (("deepseek-ai--R1-like", {"README.md": card("license: mit\nbase_model: deepseek-ai/DeepSeek-V3-Base")}),
                              ("acme--R1-like", {"README.md": card("license: other\nlicense_name: deepseek\nbase_model: deepseek-ai/DeepSeek-V3-Base")})),
    # a family in the tags alone is weak evidence: it does not contradict the declared license
    "lineage-possible-base": (("m", {"README.md": card("license: apache-2.0\ntags:\n- llama-3.2")}),
                              ("m", {"README.md": card("license: apache-2.0\ntags:\n- text-generation")})),
    # phi-2 was relicensed from the Microsoft Research License to MIT in 2024-01: undated, the change is undecided
    "lineage-license-history": (("m", {"README.md": card("license: mit\nbase_model: microsoft/phi-2")}),
                                ("m", {"README.md": card("license: mit\nbase_model: microsoft/phi-2", "Trained on 2024-05-02.\n")})),
    "lineage-unknown-ancestor": (("m", {"README.md": card("license: mit\nbase_model: nobody-knows/this-model-xyz")}),
                                 ("m", {"README.md": card("license: mit\nbase_model: mistralai/Mistral-7B-v0.1")})),
    "lineage-name-prefix": (("acme--support-bot", {"README.md": card("license: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct")}),
                            ("m", {"README.md": card("license: llama3.1\nmodel_name: Llama-3.1-support-bot\n"
                                                     "base_model: meta-llama/Llama-3.1-8B-Instruct")})),
    "dataset-license": (("m", {"README.md": card("license: mit\ndatasets:\n- vicgalle/alpaca-gpt4")}),
                        ("m", {"README.md": card("license: mit\ndatasets:\n- databricks/databricks-dolly-15k")})),
    "dataset-unknown": (("m", {"README.md": card("license: mit\ndatasets:\n- nobody-knows/some-data-xyz")}),
                        ("m", {"README.md": card("license: mit\ndatasets:\n- databricks/databricks-dolly-15k")})),
    "provenance-unsafe-format": (("m", {"README.md": card("license: mit"), "pytorch_model.bin": "pickle"}), ("m", OK)),
    "provenance-remote-code": (("m", {"README.md": card("license: mit"),
                                      "config.json": '{"auto_map": {"AutoModel": "modeling_x.XModel"}}', "modeling_x.py": "x = 1\n"}),
                               ("m", {"README.md": card("license: mit"), "config.json": '{"model_type": "llama"}'})),
    "provenance-gated": (("m", {"README.md": card("license: mit\nextra_gated_prompt: Accept our terms")}), ("m", OK)),
    "non-commercial": (("m", {"README.md": card("license: cc-by-nc-4.0")}), ("m", OK)),
    "research-only": (("m", {"README.md": card("license: other\nlicense_name: mrl")}), ("m", OK)),
    "no-derivatives": (("m", {"README.md": card("license: cc-by-nd-4.0")}), ("m", OK)),
    "user-threshold": (("Llama-3.1-x", {"README.md": card("license: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct")}), ("m", OK)),
    "revenue-threshold": (("m", {"README.md": card("license: other\nlicense_name: stabilityai-ai-community")}), ("m", OK)),
    "copyleft": (("m", {"README.md": card("license: gpl-3.0")}), ("m", OK)),
    "no-hosting": (("m", {"README.md": card("license: other\nlicense_name: falcon-180b-tii-license-1.0")}), ("m", OK)),
    "registration": (("m", {"README.md": card("license: other\nlicense_name: stabilityai-ai-community")}), ("m", OK)),
    "eu-restriction": (("Llama-4-x", {"README.md": card("license: llama4")}), ("m", OK)),
    "mrl-company-research": (("m", {"README.md": card("license: other\nlicense_name: mrl")}), ("m", OK)),
    "weak-copyleft": (("m", {"README.md": card("license: mpl-2.0")}), ("m", OK)),
    "use-restrictions": (("m", {"README.md": card("license: creativeml-openrail-m")}), ("m", OK)),
    "no-training-other-models": (("m", {"README.md": card("license: llama3")}), ("m", OK)),
    "not-permissive": (("m", {"README.md": card("license: cc-by-nc-4.0")}), ("m", OK)),
    "no-distribution": (("m", {"README.md": card("license: other\nlicense_name: microsoft-research-license")}), ("m", OK)),
    # a LICENSE over the 1 MiB text cap is not read: its terms are unknown
    "file-unreadable": (("m", {"README.md": card("license: mit"), "LICENSE": "terms " * 180_000}), ("m", OK)),
}
# Checks whose examples need more than a snapshot directory; tested where the facts are made.
ELSEWHERE = {
    "eu-restriction-eu-entity": "tests/test_knowledge.py (fails with eu_entity: true, absent with the shipped false: "
                                "test_eu_entity_makes_the_eu_restriction_an_error)",
    # no catalog license has a user threshold below commercial's 5M users: exercised with a larger setting
    "user-threshold-exceeded": "tests/test_policy_settings.py (fails: test_monthly_active_users_drives_the_"
                               "user_threshold_rule)",
    "provenance-integrity": "tests/test_provenance.py (a corrupted download against the fake Hub)",
    "provenance-unpinned": "tests/test_provenance.py",
    "lineage-cycle": "tests/test_lineage.py (a cycle of local models)",
    "license-weights-mismatch": "tests/test_weights.py (synthetic GGUF and safetensors files, written as bytes)",
    "license-drift": "tests/test_lock.py (fails: test_locked_detects_a_changed_license_in_a_new_revision; "
                     "passes: test_a_new_revision_under_the_same_license_is_no_finding)",
    "card-not-read": "tests/test_api.py (fails as a note: test_offline_registry_models_are_audited_from_its_facts; "
                     "absent: any model read from its card)",
    "reference-unresolved": "tests/test_cli_scan.py (fails: test_scan_finds_every_reference_and_audits_every_model; "
                            "passes: test_offline_scan_uses_models_dir)",
}


def make(tmp_path, name, files):
    d = tmp_path / name
    d.mkdir(parents=True)
    for fname, content in files.items():
        (d / fname).write_text(content, encoding="utf-8")
    return str(d)


def shipped_rules():
    out = []
    for path in POLICIES:
        for rule in load_policy(path).rules:
            out.append((os.path.basename(path), rule.id))
    return out


def test_every_shipped_rule_has_examples():
    missing = sorted({rid for _, rid in shipped_rules() if rid not in EXAMPLES and rid not in ELSEWHERE})
    assert not missing, f"rules without a failing and a passing example: {missing}"


def _fired(tmp_path, policy_path, rule_id, example):
    name, files = example
    path = make(tmp_path, name, files)
    policy = load_policy(policy_path)
    report = audit([path], policy, offline=True)
    assert not report.errors, report.errors
    return [f for f in report.findings if f.rule == rule_id]


@pytest.mark.parametrize("policy_file, rule_id", [r for r in shipped_rules() if r[1] in EXAMPLES])
def test_rule_fails_on_failing_example(tmp_path, policy_file, rule_id):
    policy_path = next(p for p in POLICIES if os.path.basename(p) == policy_file)
    fired = _fired(tmp_path / "fail", policy_path, rule_id, EXAMPLES[rule_id][0])
    assert fired, f"{rule_id} did not fire on its failing example"
    assert all(f.outcome in (Outcome.FAIL, Outcome.UNKNOWN) for f in fired)


@pytest.mark.parametrize("policy_file, rule_id", [r for r in shipped_rules() if r[1] in EXAMPLES])
def test_rule_passes_on_passing_example(tmp_path, policy_file, rule_id):
    policy_path = next(p for p in POLICIES if os.path.basename(p) == policy_file)
    assert not _fired(tmp_path / "pass", policy_path, rule_id, EXAMPLES[rule_id][1])


POLICY_WITH_WAIVERS = """
name: waivers
rules:
  - {id: non-commercial, severity: error, when: {term: non-commercial}}
  - {id: few-users, severity: warning, when: {term: user-threshold, param: users, below: 500000000}}
waivers:
  - {rule: non-commercial, subject: "*nc-valid*", reason: eval only, expires: 2030-01-01}
  - {rule: non-commercial, subject: "*nc-expired*", reason: old approval, expires: 2020-01-01}
"""


def test_waivers_valid_and_expired(tmp_path):
    policy = parse_policy(POLICY_WITH_WAIVERS, "w.yaml")
    valid = make(tmp_path, "nc-valid", {"README.md": card("license: cc-by-nc-4.0")})
    expired = make(tmp_path, "nc-expired", {"README.md": card("license: cc-by-nc-4.0")})
    report = audit([valid, expired], policy, offline=True, today=dt.date(2026, 11, 29))
    by = {m.subject: m for m in report.models}
    f_valid = next(f for f in report.findings if f.subject == valid)
    f_expired = next(f for f in report.findings if f.subject == expired)
    assert f_valid.outcome is Outcome.WAIVED and "eval only" in f_valid.waiver
    assert by[valid].passed
    assert f_expired.outcome is Outcome.FAIL and "expired on 2020-01-01" in f_expired.waiver
    assert not by[expired].passed and not report.passed


def test_term_parameter_comparison(tmp_path):
    policy = parse_policy(POLICY_WITH_WAIVERS, "w.yaml")
    llama = make(tmp_path, "Llama-x", {"README.md": card("license: llama3.1")})
    qwen = make(tmp_path, "qwen-x", {"README.md": card("license: other\nlicense_name: qwen")})
    report = audit([llama, qwen], policy, offline=True)
    fired = {f.subject for f in report.findings if f.rule == "few-users"}
    assert fired == {qwen}  # Qwen: 100M < 500M fires; Llama: 700M does not


def test_a_license_file_that_limits_use_where_the_card_does_not_is_a_conflict_not_a_mismatch(tmp_path):
    # the file may be what governs the weights: undecided, so it fails whatever the policy's warning says
    nc = make(tmp_path, "nc-file", {"README.md": card("license: mit"), "LICENSE": NC_TEXT})
    code = make(tmp_path, "code-file", {"README.md": card("license: apache-2.0"), "LICENSE": MIT_TEXT})
    report = audit([nc, code], None, offline=True)
    by = {m.subject: m for m in report.models}
    checks = {(f.subject, f.rule, f.severity.value) for f in report.findings}
    assert (nc, "license-conflict", "error") in checks and not by[nc].passed
    # a software license file beside another license limits nothing: the mismatch stays a warning
    assert (code, "license-file-mismatch", "warning") in checks and by[code].passed


def test_a_body_license_that_limits_use_where_the_card_does_not_is_a_statement_conflict(tmp_path):
    # 'License: CC-BY-NC-4.0' in the card says what a sentence limiting the model to non-commercial use says
    nc = make(tmp_path, "nc-label", {"README.md": card("license: mit", "- **License:** cc-by-nc-4.0\n")})
    other = make(tmp_path, "other-label", {"README.md": card("license: apache-2.0", "License: MIT\n")})
    report = audit([nc, other], None, offline=True)
    by = {m.subject: m for m in report.models}
    checks = {(f.subject, f.rule, f.severity.value) for f in report.findings}
    assert (nc, "license-statement-conflict", "error") in checks and not by[nc].passed
    assert (other, "license-body-mismatch", "warning") in checks and by[other].passed
