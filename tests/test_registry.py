"""The offline registry: shipped data, name and family matching, license history, user overrides."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from audit.licenses.catalog import catalog
from audit.lineage import registry_facts
from audit.registry import REGISTRY_DIR, Registry, date_bounds, load_registry, name_key, parse_entries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACTS = os.path.join(ROOT, "..", "shared", "registry-facts.yaml")  # beside the checkout, where present


def test_shipped_registry_covers_the_families():
    reg = load_registry()
    assert len(reg.models) >= 200 and len(reg.datasets) >= 40
    ids = " ".join(reg.models).lower()
    for fam in ("meta-llama/", "google/gemma", "qwen/", "deepseek-ai/deepseek-v3", "deepseek-ai/deepseek-v4",
                "mistralai/", "microsoft/phi", "tiiuae/falcon", "01-ai/yi", "stabilityai/stablelm",
                "bigscience/bloom", "bigcode/starcoder", "allenai/olmo", "ibm-granite/", "nemotron",
                "stabilityai/stable-diffusion"):
        assert fam in ids, fam
    for e in reg.models.values():
        assert e.evidence_date == "2026-11-29"
        assert e.key is None or e.key in catalog(), (e.id, e.key)
    mapped = sum(1 for e in reg.models.values() if e.key)
    assert mapped / len(reg.models) > 0.9


def test_exact_lookup_is_case_insensitive():
    reg = load_registry()
    e = reg.model("META-LLAMA/Llama-3.1-8B")
    assert e is not None and e.key == "llama3.1"
    assert reg.model("nobody/nothing") is None


def test_reuploads_match_by_name():
    reg = load_registry()
    assert name_key("unsloth/meta-llama-3.1-8b-bnb-4bit") == "llama-3.1-8b"
    assert reg.by_name("unsloth/meta-llama-3.1-8b-bnb-4bit").key == "llama3.1"
    assert reg.by_name("TheBloke/Llama-2-7B-Chat-GGUF").key == "llama2"
    e = reg.by_name("unsloth/deepseek-r1-distill-llama-8b-unsloth-bnb-4bit")
    assert e.id == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B" and e.relation_to == "meta-llama/Llama-3.1-8B"
    assert reg.by_name("someone/my-own-model-GGUF") is None


@pytest.mark.parametrize("text,label", [
    ("a fine-tune of Llama 2", "llama2"),
    ("LLaMA2-13b", "llama2"),
    ("llama-3.1-8b", "llama3.1"),
    ("Llama 3 8B", "llama3"),
    ("CodeLlama-13b-Instruct", "codellama"),
    ("Code Llama", "codellama"),
    ("an enhanced Llama 13b model", "llama1"),
    ("Qwen-14B", "qwen"),
    ("Yi-34B", "yi"),
    ("falcon-180B-chat", "falcon-180b"),
])
def test_families_named_in_text(text, label):
    found = load_registry().by_family(text)
    assert found and found[0][0].label == label


@pytest.mark.parametrize("text", ["Qwen 2.5", "Yi models are great", "you can opt to", "llama.cpp", "Llama-3.12"])
def test_family_patterns_do_not_overmatch(text):
    labels = [r.label for r, _ in load_registry().by_family(text)]
    assert labels == [] or (text == "Llama-3.12" and "llama3.1" not in labels)


def test_date_bounds():
    assert date_bounds("2024") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert date_bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert date_bounds("2023-05-31") == (dt.date(2023, 5, 31), dt.date(2023, 5, 31))
    assert date_bounds(None) == (None, None) and date_bounds("unknown") == (None, None)


def test_license_history_and_the_derivative_date():
    reg = load_registry()
    yi = reg.model("01-ai/Yi-34B")
    assert yi.key == "apache-2.0" and yi.history and yi.history[0].from_key
    old_key = yi.history[0].from_key
    assert not catalog()[old_key].relicense
    # unknown date, or before the end of 2024: the older, restrictive license governs (fail closed)
    assert registry_facts(yi, None).keys == (old_key,)
    assert registry_facts(yi, dt.date(2024, 6, 1)).keys == (old_key,)
    assert registry_facts(yi, dt.date(2025, 1, 2)).keys == ("apache-2.0",)
    falcon = reg.model("tiiuae/falcon-7b")
    assert registry_facts(falcon, dt.date(2023, 11, 1)).keys == ("apache-2.0",)


def test_user_registry_overrides_and_extends(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    (user / "mine.yaml").write_text(
        "schema: 1\nmodels:\n- id: acme/house-model\n  key: mit\n  license: mit\n  confidence: high\n"
        "- id: meta-llama/Llama-3.1-8B\n  key: llama3.1\n  license: llama3.1\n  relation_to: null\n"
        "  evidence: re-checked\n  confidence: high\n  evidence_date: '2027-01-01'\n")
    monkeypatch.setenv("MLAUDIT_REGISTRY", str(user))
    reg = load_registry()
    assert reg.model("acme/house-model").key == "mit"
    assert reg.model("meta-llama/Llama-3.1-8B").evidence_date == "2027-01-01"
    assert len(reg.models) > 200


def test_bad_registry_file_names_itself(tmp_path):
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        parse_entries({"models": [{"key": "mit"}]}, str(tmp_path / "bad.yaml"))
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        parse_entries(["not", "a", "mapping"], str(tmp_path / "bad.yaml"))


def test_family_rules_only_for_families_with_one_licensing():
    reg = load_registry()
    labels = {r.label for r in reg.families()}
    assert "llama3.1" in labels and "gemma2" in labels
    assert "qwen2.5" not in labels  # 3B is qwen-research, 72B qwen, the rest Apache-2.0: no guess by family
    custom = Registry(parse_entries({"models": [
        {"id": "a/fam-1b", "key": "mit", "family": "fam"}, {"id": "a/fam-9b", "key": "apache-2.0", "family": "fam"}]}, "x"))
    assert "fam" not in {r.label for r in custom.families()}


@pytest.mark.skipif(not os.path.exists(FACTS), reason="the shared facts file is not on this machine")
def test_generated_registry_is_up_to_date():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_registry.py"), FACTS, "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert os.path.exists(os.path.join(REGISTRY_DIR, "models.yaml"))


def test_registry_update_writes_the_user_copy(fake_hub, tmp_path, monkeypatch):
    from audit.registry import update_user_registry
    from audit.sources.hub import HubClient

    monkeypatch.setenv("MLAUDIT_REGISTRY", str(tmp_path / "reg"))
    fake_hub.add_model("01-ai/Yi-34B", {"README.md": "---\nlicense: apache-2.0\n---\n"})
    fake_hub.add_model("acme/new-model", {"README.md": "---\nlicense: other\nlicense_name: gemma\nbase_model: google/gemma-2-9b\n---\n"})
    fake_hub.add_model("tiiuae/falcon-7b", {"README.md": "---\nlicense: mit\n---\n"})
    hub = HubClient(endpoint=fake_hub.url, token=False, base_delay=0.001, timeout=5)
    path, entries, errors = update_user_registry(hub, ["acme/new-model", "tiiuae/falcon-7b", "ghost/none"])
    assert path == str(tmp_path / "reg" / "models.yaml") and os.path.exists(path)
    assert len(errors) == 1 and errors[0].startswith("ghost/none")
    reg = load_registry()
    new = reg.model("acme/new-model")
    assert new.key == "gemma" and new.relation_to == "google/gemma-2-9b" and new.confidence == "high"
    falcon = reg.model("tiiuae/falcon-7b")
    assert falcon.key == "mit" and falcon.history[-1].from_key == "apache-2.0"  # the change is recorded
