"""License knowledge: registry corrections, licensor data, catalog obligation texts, shipped policies, explain."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from audit.api import audit
from audit.errors import PolicyError
from audit.licenses.catalog import catalog, validate_entry
from audit.obligations import _text
from audit.policy.schema import DEFAULT_POLICY, load_policy, parse_policy
from audit.registry import load_registry, same_licensor, unresolved_lines
from audit.report.explain import explain_text, family_matches, render_list

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACTS = os.path.join(ROOT, "..", "..", "shared", "registry-facts.yaml")
if not os.path.exists(FACTS):
    FACTS = os.path.join(ROOT, "..", "shared", "registry-facts.yaml")


# ---- 1. registry -------------------------------------------------------------------------------------------

def test_janus_pro_weights_are_under_the_deepseek_license_and_the_card_also_names_mit():
    reg = load_registry()
    for rid in ("deepseek-ai/Janus-Pro-1B", "deepseek-ai/Janus-Pro-7B"):
        e = reg.model(rid)
        assert e is not None and e.key == "deepseek-license" and e.also == ("mit",), rid
        assert e.license == "mit (license_name deepseek)"


def test_a_stale_license_name_beside_a_model_license_id_does_not_govern():
    e = load_registry().model("apple/OpenELM-3B-Instruct")
    assert e.key == "apple-amlr" and e.also == ("apple-ascl",)


def test_openelm_models_moved_to_amlr_in_february_2025():
    reg = load_registry()
    ids = [i for i in reg.models if i.startswith("apple/openelm-")]
    assert len(ids) == 8
    for rid in ids:
        e = reg.model(rid)
        assert e.key == "apple-amlr" and catalog()[e.key].category == "research-only", rid
        assert [(c.from_key, c.to_key, c.date[:7]) for c in e.history] == [("apple-ascl", "apple-amlr", "2025-02")], rid


@pytest.mark.parametrize("rid,key", [
    ("deepseek-ai/DeepSeek-V3", "deepseek-license"),
    ("deepseek-ai/DeepSeek-V3-Base", "deepseek-license"),
    ("deepseek-ai/DeepSeek-R1", "mit"),
    ("tiiuae/falcon-11B", "tii-falcon-2-11b-1.0"),
    ("tiiuae/Falcon3-7B-Instruct", "tii-falcon-3"),
    ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct", "exaone-1.1-nc"),
    ("THUDM/chatglm-6b", "chatglm-6b-license"),
    ("THUDM/chatglm2-6b", "chatglm2-6b-license"),
    ("THUDM/chatglm3-6b", "chatglm3-6b-license"),
    ("THUDM/glm-4-9b", "glm-4"),
    ("THUDM/glm-4-9b-chat-1m", "glm-4"),
    ("databricks/dbrx-base", "databricks-open-model-license"),
    ("databricks/dbrx-instruct", "databricks-open-model-license"),
    ("google/medgemma-4b-it", "health-ai-developer-foundations"),
    ("google/txgemma-27b-predict", "health-ai-developer-foundations"),
])
def test_registry_keys(rid, key):
    assert load_registry().model(rid).key == key


@pytest.mark.parametrize("rid, date", [("microsoft/phi-1", "2024-01"), ("microsoft/phi-1_5", "2024-01-01..2024-01-25"),
                                       ("microsoft/phi-2", "2024-01-01..2024-01-06")])
def test_phi_1_and_2_were_under_the_microsoft_research_license_until_2024_01(rid, date):
    e = load_registry().model(rid)
    assert e.key == "mit"
    assert [(c.date, c.from_key, c.to_key) for c in e.history] == [(date, "msr-license", "mit")]


def test_every_shipped_entry_resolves_or_says_why():
    reg = load_registry()
    bare = [e.id for e in (*reg.models.values(), *reg.datasets.values()) if e.key is None and not e.unresolved]
    assert not bare, f"registry entries with no catalog key and no reason: {bare}"
    lines = unresolved_lines(reg)
    assert any("nvidia/Nemotron-Mini-4B-Instruct" in line and "not catalogued" in line for line in lines)
    assert any("Qwen/Qwen3.8-2.4T-A95B" in line and "no text" in line for line in lines)
    assert not any("Janus" in line or "THUDM/" in line or "databricks/" in line for line in lines)


def test_mlaudit_registry_lists_the_unresolved_entries():
    res = subprocess.run([sys.executable, "-m", "audit", "registry"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "nvidia/Nemotron-Mini-4B-Instruct" in res.stdout and "NVIDIA Community Model License" in res.stdout
    assert "databricks/dbrx-base" not in res.stdout  # catalogued now


@pytest.mark.skipif(not os.path.exists(FACTS), reason="shared/registry-facts.yaml is not beside this checkout")
def test_shipped_registry_is_generated_from_the_facts_and_corrections():
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_registry.py"), FACTS, "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_every_correction_gives_its_reason_and_source():
    with open(os.path.join(ROOT, "tools", "registry-corrections.yaml"), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for c in data["corrections"]:
        assert c.get("why") and c.get("source"), c["id"]


# ---- 2. a licensor may relicense its own model ---------------------------------------------------------------

def test_same_licensor():
    # DeepSeek-R1 (MIT) is built on DeepSeek-V3-Base (DeepSeek License) by the licensor itself
    assert same_licensor("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3-Base", "deepseek-license")
    # DeepSeek's distills of Llama: DeepSeek is not Meta, so Meta's terms stay
    assert not same_licensor("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B", "llama3.1")
    # a third party's fine-tune of a DeepSeek model
    assert not same_licensor("someone/r1-finetune", "deepseek-ai/DeepSeek-V3-Base", "deepseek-license")
    # Hub orgs are case-insensitive; generic licenses have no licensor
    assert same_licensor("Qwen/Qwen2.5-72B-Instruct", "qwen/Qwen2.5-72B", "qwen")
    assert not same_licensor("google/a", "google/b", "apache-2.0")
    assert not same_licensor("bare-name", "deepseek-ai/DeepSeek-V3-Base", "deepseek-license")


def test_every_model_specific_license_names_its_licensor():
    generic = {"permissive", "public-domain", "weak-copyleft", "copyleft", "unknown", "use-policy"}
    missing = [x.key for x in catalog().all()
               if x.category not in generic and not x.licensor and (x.family or "") not in ("cc", "rail", "openmdw")
               and not x.key.startswith(("cc-", "openrail", "creativeml", "bigscience-openrail", "h-research",
                                         "c-uda", "apple-ascl"))]
    assert not missing, missing


def test_licensor_schema():
    bad = {"key": "x", "name": "X", "category": "permissive", "spdx": "MIT", "terms": {}, "summary": "s",
           "licensor": {"name": "X", "orgs": ["org/repo"]}}
    assert any("licensor.orgs" in e for e in validate_entry(bad, "x"))


# ---- 3. catalog terms and obligation texts -------------------------------------------------------------------

@pytest.mark.parametrize("key,text", [
    ("qwen", "Qwen is licensed under the Qwen LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. All Rights Reserved."),
    ("qwen-research", "Qwen is licensed under the Qwen RESEARCH LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. "
                      "All Rights Reserved."),
    ("stability-ai-community", "This Stability AI Model is licensed under the Stability AI Community License, "
                               "Copyright © Stability AI Ltd. All Rights Reserved"),
    ("llama1-noncommercial", "LLaMA is licensed under the LLaMA license, Copyright (c) Meta Platforms, Inc. All Rights "
                             "Reserved."),
    ("opt-175b", "OPT-175B is licensed under the OPT-175B license, Copyright (c) Meta Platforms, Inc. All Rights Reserved."),
    ("deepfloyd-if-license", "DeepFloyd is licensed under the DeepFloyd License, Copyright (c) Stability AI Ltd. All "
                             "Rights Reserved."),
    ("flux-1-dev-non-commercial-license", "The FLUX.1 [dev] Model is licensed by Black Forest Labs. Inc. under the "
                                          "FLUX.1 [dev] Non-Commercial License. Copyright Black Forest Labs. Inc."),
])
def test_notices_in_full(key, text):
    assert catalog()[key].term("include-notice").params["text"] == text


def test_qwen_research_marks_changes():
    assert catalog()["qwen-research"].has("state-changes")


def _duty(key):
    lic = catalog()[key]
    return _text(lic, lic.term("attribution-text"))


@pytest.mark.parametrize("key,words", [
    ("exaone-1.1-nc", ("publications", "name and version")),
    ("fair-noncommercial-research-license", ("publication",)),
    ("yi-community-2.1", ("comes from 01.AI",)),
    ("yi-license-1.0", ("comes from 01.AI",)),
    ("skywork-community", ("comes from Skywork",)),
    ("falcon-180b-tii", ("public statement about a derivative",)),
    ("tii-falcon-2-11b-1.0", ("public statement about a derivative",)),
    ("tii-falcon-3", ("public statement about a derivative",)),
    ("qwen", ("Built with Qwen", "Improved using Qwen", "product documentation", "distribute")),
    ("qwen-research", ("Built with Qwen", "product documentation")),
    ("nvidia-open-model-license", ("Only for NVIDIA Cosmos models", "Built on NVIDIA")),
    ("cc-by-4.0", ("URI",)),
    ("cc-by-sa-4.0", ("URI",)),
    ("cc-by-nc-4.0", ("URI",)),
    ("cc-by-nd-4.0", ("URI",)),
])
def test_attribution_duties_as_the_licenses_state_them(key, words):
    duty = _duty(key)
    for w in words:
        assert w in duty, (key, duty)
    if key.startswith(("exaone", "fair", "yi", "skywork", "falcon", "tii")):
        assert not duty.startswith("Display"), duty  # no invented display duty


def test_flux_dev_terms():
    lic = catalog()["flux-1-dev-non-commercial-license"]
    assert lic.has("state-changes") and lic.has("non-commercial")
    restrictions = " ".join(lic.term("field-of-use").params["restrictions"])
    for word in ("military", "surveillance", "biometric"):
        assert word in restrictions
    assert "directly from Black Forest Labs" in (lic.term("distribution").note or "")
    assert "outputs only" in (lic.term("commercial-use").note or "")


def test_modified_mit_licenses_are_not_plain_permissive():
    for key in ("kimi-modified-mit", "mit-modified-deepfloyd"):
        lic = catalog()[key]
        assert lic.category != "permissive" and not lic.relicense, key


def test_cc_by_nd_allows_unmodified_commercial_sharing():
    lic = catalog()["cc-by-nd-4.0"]
    assert lic.has("commercial-use") and lic.has("distribution") and lic.has("no-derivatives")


@pytest.mark.parametrize("declared,spdx", [
    ("GPL-3.0-or-later", "GPL-3.0-or-later"), ("GPL-2.0+", "GPL-2.0-or-later"), ("LGPL-2.1-or-later", "LGPL-2.1-or-later"),
    ("lgpl-3.0-or-later", "LGPL-3.0-or-later"), ("AGPL-3.0-or-later", "AGPL-3.0-or-later"),
    ("gpl-3.0", "GPL-3.0-only"), ("GPL-3.0-only", "GPL-3.0-only"),
])
def test_or_later_declarations_keep_their_spdx_id(declared, spdx):
    cat = catalog()
    assert cat[cat.lookup(declared)].spdx == spdx


def test_every_license_name_spelling_in_the_facts_that_names_a_catalogued_license_resolves():
    cat = catalog()
    assert cat.lookup("exaone") == "exaone-1.1-nc"
    assert cat.lookup("falcon-llm-license") == "tii-falcon-3"
    if os.path.exists(FACTS):
        with open(FACTS, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        with open(os.path.join(ROOT, "tools", "registry-corrections.yaml"), encoding="utf-8") as fh:
            reasons = yaml.safe_load(fh)["unresolved"]
        names = {m.get("license_name") for m in data["models"] + data["datasets"] if m.get("license_name")}
        missing = sorted(n for n in names if cat.lookup(n) is None and f"other/{n}" not in reasons)
        assert not missing, missing


# ---- 4. shipped policies do what their names say ------------------------------------------------------------

def _card(tmp_path, name, fm):
    d = tmp_path / name
    d.mkdir()
    (d / "README.md").write_text(f"---\n{fm}\n---\n# model\n", encoding="utf-8")
    return str(d)


def _fired(tmp_path, policy, name, fm):
    report = audit([_card(tmp_path, name, fm)], policy, offline=True)
    return {(f.rule, f.severity.value if hasattr(f.severity, "value") else str(f.severity)) for f in report.findings}


def test_commercial_fails_user_thresholds_below_our_users(tmp_path):
    path = os.path.join(ROOT, "policies", "commercial.yaml")
    policy = load_policy(path)
    rule = next(r for r in policy.rules if r.id == "user-threshold-exceeded")
    assert rule.when["below"] == "monthly_active_users"  # the rule reads the setting, so the two cannot drift
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    big = parse_policy(text.replace("5000000", "200000000"), "commercial-200m.yaml")  # a product with 200M users
    fired = {r for r, _ in _fired(tmp_path, big, "qwen-72b", "license: other\nlicense_name: qwen")}
    assert "user-threshold-exceeded" in fired  # Qwen's 100M threshold is below 200M
    fired = {r for r, _ in _fired(tmp_path, policy, "qwen-72b-b", "license: other\nlicense_name: qwen")}
    assert "user-threshold-exceeded" not in fired  # and not below the shipped 5M


def test_glm_4_card_under_the_commercial_policy(tmp_path):
    """End to end: a card naming the GLM-4 license resolves to the catalog key, the commercial policy warns on its
    registration duty, and the report lists its attribution line and name prefix as obligations."""
    policy = load_policy(os.path.join(ROOT, "policies", "commercial.yaml"))
    report = audit([_card(tmp_path, "glm-4-9b-ft", "license: other\nlicense_name: glm-4")], policy, offline=True)
    [model] = report.models
    assert model.license.keys == ("glm-4",)
    assert "glm-4" in model.effective.keys
    fired = {(f.rule, f.severity.value if hasattr(f.severity, "value") else str(f.severity)) for f in report.findings}
    assert ("registration", "warning") in fired
    registration = next(f for f in report.findings if f.rule == "registration")
    assert "[glm-4]" in registration.message
    owed = {(o.key, o.kind) for o in report.obligations}
    assert {("glm-4", "attribution-text"), ("glm-4", "name-prefix"), ("glm-4", "include-license")} <= owed
    line = next(o.text for o in report.obligations if o.kind == "attribution-text")
    assert "Built with glm-4" in line


@pytest.mark.parametrize("key,fm,rule", [
    ("databricks-open-model-license", "license: other\nlicense_name: databricks-open-model-license",
     "no-training-other-models"),
    ("health-ai-developer-foundations", "license: other\nlicense_name: health-ai-developer-foundations",
     "use-restrictions"),
    ("chatglm3-6b-license", "license: other\nlicense_name: chatglm3-6b-license", "registration"),
])
def test_commercial_flags_the_teeth_of_the_new_model_licenses(tmp_path, key, fm, rule):
    policy = load_policy(os.path.join(ROOT, "policies", "commercial.yaml"))
    report = audit([_card(tmp_path, "m", fm)], policy, offline=True)
    assert report.models[0].license.keys == (key,)
    assert rule in {f.rule for f in report.findings}


def test_commercial_warns_on_yi_registration(tmp_path):
    policy = load_policy(os.path.join(ROOT, "policies", "commercial.yaml"))
    fired = {r for r, _ in _fired(tmp_path, policy, "yi", "license: other\nlicense_name: yi-license")}
    assert "registration" in fired


def test_eu_restriction_is_for_llama_3_2_and_4_only(tmp_path):
    policy = load_policy(os.path.join(ROOT, "policies", "commercial.yaml"))
    assert "eu-restriction" in {r for r, _ in _fired(tmp_path, policy, "Llama-3.2-x", "license: llama3.2")}
    assert "eu-restriction" not in {r for r, _ in _fired(tmp_path, policy, "Llama-3.1-x", "license: llama3.1")}


@pytest.mark.parametrize("fm", ["license: gpl-3.0", "license: agpl-3.0", "license: cc-by-sa-4.0"])
def test_default_warns_on_copyleft(tmp_path, fm):
    fired = _fired(tmp_path, load_policy(DEFAULT_POLICY), "m", fm)
    assert ("copyleft", "warning") in fired


def test_default_warns_on_revenue_thresholds(tmp_path):
    fired = _fired(tmp_path, load_policy(DEFAULT_POLICY), "m", "license: other\nlicense_name: stabilityai-ai-community")
    assert ("revenue-threshold", "warning") in fired


def test_research_warns_on_hosting_bans(tmp_path):
    fired = _fired(tmp_path, load_policy(os.path.join(ROOT, "policies", "research.yaml")), "m",
                   "license: other\nlicense_name: falcon-180b-tii-license-1.0")
    assert ("no-hosting", "warning") in fired


# what each description says -> a rule that must exist with that severity
DESCRIBED = {
    "commercial.yaml": [("user threshold is below our monthly active users", "user-threshold-exceeded", "error"),
                        ("copyleft", "copyleft", "error"), ("hosting bans", "no-hosting", "warning"),
                        ("registration duties", "registration", "warning"),
                        ("EU restriction", "eu-restriction", "warning"), ("pickle", "provenance-unsafe-format", "error"),
                        ("forbids commercial use", "non-commercial", "error")],
    "research.yaml": [("Mistral Research License", "mrl-company-research", "error"),
                      ("hosting bans", "no-hosting", "warning"), ("unknown", "license-unknown", "error"),
                      ("conflicting", "license-conflict", "error")],
    "default.yaml": [("copyleft", "copyleft", "warning"), ("revenue thresholds", "revenue-threshold", "warning"),
                     ("non-commercial", "non-commercial", "error"), ("unknown", "license-unknown", "error")],
}


@pytest.mark.parametrize("name", sorted(DESCRIBED))
def test_policy_descriptions_match_their_rules(name):
    path = DEFAULT_POLICY if name == "default.yaml" else os.path.join(ROOT, "policies", name)
    with open(path, encoding="utf-8") as fh:
        description = " ".join(yaml.safe_load(fh)["description"].split())
    rules = {r.id: r.severity.value if hasattr(r.severity, "value") else str(r.severity) for r in load_policy(path).rules}
    for phrase, rid, severity in DESCRIBED[name]:
        assert phrase in description, (name, phrase)
        assert rules.get(rid) == severity, (name, rid, rules.get(rid))


# ---- 5. explain --------------------------------------------------------------------------------------------

def test_explain_list_has_every_license_with_its_category():
    out = render_list()
    for lic in catalog().all():
        assert any(line.split()[:2] == [lic.key, lic.category] for line in out.splitlines()), lic.key


@pytest.mark.parametrize("word,keys", [("mistral", {"mnpl-0.1", "mrl-0.1"}),
                                       ("falcon", {"falcon-180b-tii", "tii-falcon-2-11b-1.0", "tii-falcon-3"})])
def test_explain_family_words_list_the_matches(word, keys):
    assert keys <= {x.key for x in family_matches(word)}
    assert all(k in explain_text(word) for k in keys)


def test_explain_a_repo_id_from_the_registry():
    out = explain_text("deepseek-ai/Janus-Pro-1B")
    assert "DeepSeek License Agreement" in out and "also names: mit" in out
    assert "[apple-amlr]" in explain_text("apple/OpenELM-270M") and "before 2025-02" in explain_text("apple/OpenELM-270M")
    assert explain_text("nobody/nothing-xyz") is None


def test_explain_cli():
    run = [sys.executable, "-m", "audit", "explain"]
    res = subprocess.run([*run, "--list"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and "mrl-0.1" in res.stdout and "research-only" in res.stdout
    res = subprocess.run([*run, "falcon"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and "tii-falcon-3" in res.stdout
    res = subprocess.run([*run, "tiiuae/falcon-11B"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and "tii-falcon-2-11b-1.0" in res.stdout


# ---- 6. identification keeps to the evidence ---------------------------------------------------------------

MIT = os.path.join(ROOT, "..", "..", "shared", "corpus", "licenses", "mit.txt")


def _mit_disclaimer():
    from audit.licenses.identify import identify_text  # noqa: F401  (the package must import)

    path = MIT if os.path.exists(MIT) else None
    if path is None:
        pytest.skip("shared corpus not beside this checkout")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return text[text.index("THE SOFTWARE IS PROVIDED"):]


def test_a_title_naming_a_catalogued_license_beats_a_shared_disclaimer():
    from audit.licenses.identify import identify_text

    text = ("DEEPFLOYD IF LICENSE AGREEMENT\n\nThis agreement is between you and Stability AI Ltd. about the DeepFloyd IF "
            "models.\nYou may use the models for non-commercial research only and must keep the safety filter.\n"
            "Keep this notice with every copy you share.\n\n" + _mit_disclaimer())
    found = identify_text(text, "LICENSE")
    assert [i.key for i in found] == ["deepfloyd-if-license"]
    assert found[0].verdict != "exact" and found[0].confidence <= 0.45
    with open(MIT, encoding="utf-8") as fh:
        assert identify_text(fh.read(), "LICENSE")[0].key == "mit"  # the full MIT is still MIT


def test_fingerprints_take_missing_model_license_texts_from_scancode(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_fingerprints", os.path.join(ROOT, "tools", "build_fingerprints.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "deepseek-la-1.0.LICENSE").write_text(
        "---\nkey: deepseek-la-1.0\nhomepage_url: https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL\n---\n"
        "DEEPSEEK LICENSE AGREEMENT\n\nVersion 1.0, 23 October 2023\n\nSome words of the license for the test only.\n",
        encoding="utf-8")
    refs = mod.catalog_scancode_refs(str(tmp_path), covered=set())
    assert [r[0]["key"] for r in refs] == ["deepseek-license"]
    assert refs[0][3]["path"] == "licenses/deepseek-la-1.0.LICENSE"
    err = capsys.readouterr().err
    assert "no reference text for mit-modified-deepfloyd" in err  # said, not silently skipped
    assert "no reference text for apache-2.0" not in err  # software licenses come through SCANCODE_REFS only


def test_eu_entity_makes_the_eu_restriction_an_error(tmp_path):
    path = os.path.join(ROOT, "policies", "commercial.yaml")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    eu = parse_policy(text.replace("eu_entity: false", "eu_entity: true"), "commercial-eu.yaml")
    fired = _fired(tmp_path, eu, "Llama-3.2-eu", "license: llama3.2")
    assert ("eu-restriction-eu-entity", "error") in fired
    fired = _fired(tmp_path, load_policy(path), "Llama-3.2-us", "license: llama3.2")
    assert "eu-restriction-eu-entity" not in {r for r, _ in fired} and ("eu-restriction", "warning") in fired
    with pytest.raises(PolicyError, match="did you mean 'eu_entity'"):
        parse_policy("name: p\nrules:\n  - id: x\n    severity: error\n    when: {license: llama3.2, setting: eu_entitty}\n",
                     "p.yaml")
