"""The offline registry: shipped data, name and family matching, license history, user overrides."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import UsageError
from audit.licenses.catalog import catalog
from audit.lineage import registry_facts
from audit.registry import REGISTRY_DIR, Entry, Registry, date_bounds, load_registry, name_key, parse_entries

if TYPE_CHECKING:
    from hubserver import FakeHub

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACTS = os.path.join(ROOT, "..", "shared", "registry-facts.yaml")  # beside the checkout, where present


def test_shipped_registry_covers_the_families() -> None:
    reg = load_registry()
    assert len(reg.models) >= 200 and len(reg.datasets) >= 40
    ids = " ".join(reg.models).lower()
    for fam in ("meta-llama/", "google/gemma", "qwen/", "deepseek-ai/deepseek-v3", "deepseek-ai/deepseek-v4",
                "mistralai/", "microsoft/phi", "tiiuae/falcon", "01-ai/yi", "stabilityai/stablelm",
                "bigscience/bloom", "bigcode/starcoder", "allenai/olmo", "ibm-granite/", "nemotron",
                "stabilityai/stable-diffusion"):
        assert fam in ids, fam
    for e in reg.models.values():
        assert e.evidence_date in ("2026-11-29", "2026-12-04")  # the shared facts; tools/registry-supplement.yaml
        assert e.key is None or e.key in catalog(), (e.id, e.key)
    mapped = sum(1 for e in reg.models.values() if e.key)
    assert mapped / len(reg.models) > 0.9


def test_exact_lookup_is_case_insensitive() -> None:
    reg = load_registry()
    e = reg.model("META-LLAMA/Llama-3.1-8B")
    assert e is not None and e.key == "llama3.1"
    assert reg.model("nobody/nothing") is None


def _found(entry: Entry | None) -> Entry:
    assert entry is not None
    return entry


def test_reuploads_match_by_name() -> None:
    reg = load_registry()
    assert name_key("unsloth/meta-llama-3.1-8b-bnb-4bit") == "llama-3.1-8b"
    assert _found(reg.by_name("unsloth/meta-llama-3.1-8b-bnb-4bit")).key == "llama3.1"
    assert _found(reg.by_name("TheBloke/Llama-2-7B-Chat-GGUF")).key == "llama2"
    e = _found(reg.by_name("unsloth/deepseek-r1-distill-llama-8b-unsloth-bnb-4bit"))
    assert e.id == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B" and e.relation_to == "meta-llama/Llama-3.1-8B"
    assert reg.by_name("someone/my-own-model-GGUF") is None
    # a name two registry repos share: the original, not a mirror that records it as what it was made from
    assert _found(reg.model("NousResearch/Meta-Llama-3-8B-Instruct")).relation_to == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert _found(reg.by_name("someone/Meta-Llama-3-8B-Instruct-GGUF")).id == "meta-llama/Meta-Llama-3-8B-Instruct"


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
    # FLUX.1 [dev] (non-commercial) and [schnell] (apache-2.0) are two families, each with its shorthand
    ("flux-dev-lora-anime", "flux.1-dev"),
    ("trained on FLUX.1-dev", "flux.1-dev"),
    ("a flux schnell merge", "flux.1-schnell"),
    ("an SD-XL LoRA", "sdxl"),
])
def test_families_named_in_text(text: str, label: str) -> None:
    found = load_registry().by_family(text)
    assert found and found[0][0].label == label


@pytest.mark.parametrize("text", ["Qwen 2.5", "Yi models are great", "you can opt to", "llama.cpp", "Llama-3.12",
                                  "a flux of data", "FLUX.1 Pro"])
def test_family_patterns_do_not_overmatch(text: str) -> None:
    labels = [r.label for r, _ in load_registry().by_family(text)]
    assert labels == [] or (text == "Llama-3.12" and "llama3.1" not in labels)


def test_date_bounds() -> None:
    assert date_bounds("2024") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert date_bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert date_bounds("2023-05-31") == (dt.date(2023, 5, 31), dt.date(2023, 5, 31))
    assert date_bounds(None) == (None, None) and date_bounds("unknown") == (None, None)


def test_license_history_and_the_derivative_date() -> None:
    reg = load_registry()
    yi = _found(reg.model("01-ai/Yi-34B"))
    assert yi.key == "apache-2.0" and yi.history and yi.history[0].from_key
    old_key = yi.history[0].from_key
    assert not catalog()[old_key].relicense
    # unknown date, or before the end of 2024: the older, restrictive license governs (fail closed)
    assert registry_facts(yi, None).keys == (old_key,)
    assert registry_facts(yi, dt.date(2024, 6, 1)).keys == (old_key,)
    assert registry_facts(yi, dt.date(2025, 1, 2)).keys == ("apache-2.0",)
    falcon = _found(reg.model("tiiuae/falcon-7b"))
    assert registry_facts(falcon, dt.date(2023, 11, 1)).keys == ("apache-2.0",)


def test_user_registry_overrides_and_extends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "mine.yaml").write_text(
        "schema: 1\nmodels:\n- id: acme/house-model\n  key: mit\n  license: mit\n  confidence: high\n"
        "- id: meta-llama/Llama-3.1-8B\n  key: llama3.1\n  license: llama3.1\n  relation_to: null\n"
        "  evidence: re-checked\n  confidence: high\n  evidence_date: '2027-01-01'\n")
    monkeypatch.setenv("MLAUDIT_REGISTRY", str(user))
    reg = load_registry()
    assert _found(reg.model("acme/house-model")).key == "mit"
    assert _found(reg.model("meta-llama/Llama-3.1-8B")).evidence_date == "2027-01-01"
    assert len(reg.models) > 200


def test_bad_registry_file_names_itself(tmp_path: Path) -> None:
    bad = str(tmp_path / "bad.yaml")
    with pytest.raises(UsageError) as err:
        parse_entries({"models": [{"key": "mit"}]}, bad)
    assert err.value.input == bad and "needs an 'id'" in err.value.message
    with pytest.raises(UsageError) as err:
        parse_entries(["not", "a", "mapping"], bad)
    assert err.value.input == bad


def test_a_user_registry_that_is_not_yaml_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text("models: [unclosed\n", encoding="utf-8")
    with pytest.raises(UsageError) as err:
        load_registry([str(tmp_path)])
    assert err.value.input == str(tmp_path / "models.yaml") and "not valid YAML" in err.value.message


def test_the_cli_stops_on_a_broken_user_registry_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken user copy is a configuration error (exit 2), not a model whose ancestors could not be found."""
    from click.testing import CliRunner

    from audit.cli import main

    (tmp_path / "models.yaml").write_text("models: [unclosed\n", encoding="utf-8")
    card = tmp_path / "card" / "README.md"
    card.parent.mkdir()
    card.write_text("---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B\n---\n", encoding="utf-8")
    monkeypatch.setenv("MLAUDIT_REGISTRY", str(tmp_path))
    res = CliRunner().invoke(main, ["check", str(card.parent)])
    assert res.exit_code == 2, res.output
    assert str(tmp_path / "models.yaml") in res.output and "not valid YAML" in res.output


def test_family_rules_only_for_families_with_one_licensing() -> None:
    reg = load_registry()
    labels = {r.label for r in reg.families()}
    assert "llama3.1" in labels and "gemma2" in labels
    assert "qwen2.5" not in labels  # 3B is qwen-research, 72B qwen, the rest Apache-2.0: no guess by family
    custom = Registry(parse_entries({"models": [
        {"id": "a/fam-1b", "key": "mit", "family": "fam"}, {"id": "a/fam-9b", "key": "apache-2.0", "family": "fam"}]}, "x"))
    assert "fam" not in {r.label for r in custom.families()}


@pytest.mark.skipif(not os.path.exists(FACTS), reason="the shared facts file is not on this machine")
def test_generated_registry_is_up_to_date() -> None:
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_registry.py"), FACTS, "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert os.path.exists(os.path.join(REGISTRY_DIR, "models.yaml"))


def test_registry_update_writes_the_user_copy(fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.registry_update import update_user_registry
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
    new = _found(reg.model("acme/new-model"))
    assert new.key == "gemma" and new.relation_to == "google/gemma-2-9b" and new.confidence == "high"
    falcon = _found(reg.model("tiiuae/falcon-7b"))
    assert falcon.key == "mit" and falcon.history[-1].from_key == "apache-2.0"  # the change is recorded


# ---------------------------------------------------------------------------------------------------------
# tools/registry-supplement.yaml: popular non-LLM roots added after the shared facts

SUPPLEMENT = os.path.join(ROOT, "tools", "registry-supplement.yaml")
CORRECTIONS = os.path.join(ROOT, "tools", "registry-corrections.yaml")


def _builder():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_registry", os.path.join(ROOT, "tools", "build_registry.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _supplement() -> dict:
    import yaml

    with open(SUPPLEMENT, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict) and data.get("models")
    return data


def test_supplement_entries_carry_evidence_and_confidence() -> None:
    data = _supplement()
    assert data["evidence_date"] == "2026-12-04"
    seen: set[str] = set()
    for section in ("models", "datasets"):
        for m in data.get(section) or []:
            assert set(m) <= {"id", "license", "license_name", "family", "relation_to", "evidence", "confidence",
                              "license_history"}, m["id"]
            assert m["id"].lower() not in seen, m["id"]
            seen.add(m["id"].lower())
            assert section == "datasets" or "/" in m["id"], m["id"]
            assert m.get("evidence") and len(m["evidence"]) > 10, m["id"]
            assert m.get("confidence") in ("high", "medium"), m["id"]  # low guesses are left out
            assert m.get("family"), m["id"]
            assert m["license"] != "other" or m.get("license_name"), m["id"]
    assert len(data["models"]) >= 200


def test_every_supplement_license_has_a_catalog_key_or_a_reason() -> None:
    import yaml

    b = _builder()
    with open(CORRECTIONS, encoding="utf-8") as fh:
        reasons = (yaml.safe_load(fh) or {}).get("unresolved") or {}
    for m in [*_supplement()["models"], *(_supplement().get("datasets") or [])]:
        declared = b.declared_form(m.get("license"), m.get("license_name"))
        if declared is None:
            assert "none" in reasons, m["id"]
            continue
        key = catalog().lookup(declared.removeprefix("other/"))
        assert key is not None or declared in reasons, (m["id"], declared)
        for h in m.get("license_history") or []:
            assert catalog().lookup(str(h["from"]).removeprefix("other/")), (m["id"], h)


def test_supplement_relations_point_at_registry_models() -> None:
    reg = load_registry()
    for m in _supplement()["models"]:
        if m.get("relation_to"):
            assert reg.model(m["relation_to"]) is not None, (m["id"], m["relation_to"])


def test_every_relation_in_the_shipped_registry_points_at_a_registry_model() -> None:
    # a recorded base the registry does not hold would make every descendant of that model an unknown ancestor
    reg = load_registry()
    missing = sorted((e.id, e.relation_to) for e in reg.models.values() if e.relation_to and reg.model(e.relation_to) is None)
    assert not missing


def test_a_correction_may_give_one_fact_to_several_repos() -> None:
    b = _builder()
    facts = {"models": [{"id": "facebook/opt-125m", "license": "other"}, {"id": "facebook/opt-1.3b", "license": "other"}]}
    fixed = b.apply_corrections(facts, {"corrections": [
        {"ids": ["facebook/opt-125m", "facebook/opt-1.3b"], "license_name": "opt-175b", "why": "w", "source": "s"}]})
    assert [m.get("license_name") for m in fixed["models"]] == ["opt-175b", "opt-175b"]
    # the shipped registry: OPT's 'other' is the OPT-175B agreement its repos ship, not a license nobody knows
    reg = load_registry()
    for size in ("125m", "350m", "1.3b", "2.7b", "6.7b", "13b", "30b", "66b"):
        e = reg.model(f"facebook/opt-{size}")
        assert e is not None and e.key == "opt-175b", size


def test_a_supplement_id_in_the_facts_is_an_error_naming_it() -> None:
    b = _builder()
    facts = {"models": [{"id": "google-t5/t5-base", "license": "apache-2.0"}], "datasets": []}
    with pytest.raises(ValueError, match="Google-T5/T5-Base is already in registry-facts"):
        b.merge_supplement(facts, {"models": [{"id": "Google-T5/T5-Base", "license": "mit"}]})
    merged = b.merge_supplement(facts, {"evidence_date": "2026-12-04",
                                        "models": [{"id": "google-t5/t5-small", "license": "apache-2.0"}]})
    assert [m["id"] for m in merged["models"]] == ["google-t5/t5-base", "google-t5/t5-small"]  # facts first
    assert "evidence_date" not in merged["models"][0] and merged["models"][1]["evidence_date"] == "2026-12-04"


@pytest.mark.skipif(not os.path.exists(FACTS), reason="the shared facts file is not on this machine")
def test_supplement_does_not_repeat_a_fact() -> None:
    import yaml

    with open(FACTS, encoding="utf-8") as fh:
        facts = yaml.safe_load(fh)
    for section in ("models", "datasets"):
        have = {m["id"].lower() for m in facts.get(section) or []}
        dup = [m["id"] for m in _supplement().get(section) or [] if m["id"].lower() in have]
        assert not dup


def test_supplement_models_resolve_through_the_registry() -> None:
    from audit.lineage.resolver import Resolver

    reg = load_registry()
    e = reg.model("stabilityai/stable-diffusion-2-1")
    assert e is not None and e.key == "openrail++" and e.evidence_date == "2026-12-04"
    assert e.source_file == "mlaudit:registry/models.yaml" and e.source_line
    st = reg.model("Sentence-Transformers/all-MiniLM-L6-v2")
    assert st is not None and st.key == "apache-2.0"
    bark = reg.model("suno/bark")
    assert bark is not None and bark.key == "mit" and bark.keys_between(None)[1][0] == "cc-by-nc-4.0"
    xtts = reg.model("coqui/XTTS-v2")
    assert xtts is not None and xtts.key is None and xtts.unresolved  # not catalogued: said why
    node = Resolver(use_cache=False)._resolve("runwayml/stable-diffusion-v1-5")
    assert node.resolved_from == "registry" and not node.inferred
    assert node.facts is not None and node.facts.keys == ("creativeml-openrail-m",)
    # a fine-tune in the supplement names its base, which the registry also answers
    ft = Resolver(use_cache=False)._resolve("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    assert [c.id for c in ft.bases] == ["distilbert/distilbert-base-uncased"]


@pytest.mark.parametrize(("bare", "entry"), [("gpt2", "openai-community/gpt2"), ("bert-base-uncased", "google-bert/bert-base-uncased"),
                                            ("roberta-base", "FacebookAI/roberta-base"), ("t5-small", "google-t5/t5-small"),
                                            ("distilbert-base-uncased", "distilbert/distilbert-base-uncased")])
def test_legacy_bare_ids_are_the_models_they_moved_to(bare: str, entry: str) -> None:
    """A legacy bare id ('gpt2') is the repo the Hub moved it to (it redirects there): an exact registry answer,
    not an inference, whose evidence names the moved repo."""
    from audit.lineage.resolver import Resolver

    node = Resolver(use_cache=False)._resolve(bare)
    assert node.resolved_from == "registry" and not node.inferred
    assert node.entry is not None and node.entry.id == entry
    assert node.origin is not None and node.origin.locator == entry


def test_a_bare_name_outside_the_legacy_orgs_is_only_a_guess() -> None:
    """'phi-2' was never a Hub id: matching it to microsoft/phi-2 is an inference by name, marked so."""
    from audit.lineage.resolver import Resolver

    assert load_registry().model("phi-2") is None
    node = Resolver(use_cache=False)._resolve("phi-2")
    assert node.inferred


# the community LLM section of tools/registry-supplement.yaml: roots that fine-tunes name, and their own bases


def test_a_zephyr_finetune_reaches_mistral_through_relation_to() -> None:
    """A card naming zephyr-7b-beta no longer stops at an unknown ancestor: the registry answers zephyr (MIT, as
    declared) and its relation_to carries the chain on to Mistral-7B-v0.1, whose terms apply too."""
    from audit.card import parse_card
    from audit.licenses.normalize import license_facts
    from audit.lineage import Resolver, effective_license, lineage_evidence, resolve_lineage
    from audit.model import Origin

    z = Resolver(use_cache=False)._resolve("HuggingFaceH4/zephyr-7b-beta")
    assert z.resolved_from == "registry" and not z.inferred
    assert z.facts is not None and z.facts.keys == ("mit",)
    assert [b.id for b in z.bases] == ["mistralai/Mistral-7B-v0.1"]
    text = "---\nlicense: mit\nbase_model: HuggingFaceH4/zephyr-7b-beta\n---\n# a zephyr fine-tune\n"
    card = parse_card(text, Origin("local", "/tmp/zft/README.md", file="/tmp/zft/README.md"))
    facts = license_facts(card, None)
    lin = resolve_lineage("/tmp/zft", card, facts, None, Resolver(use_cache=False))
    assert [a.subject for a in lin.ancestors] == ["HuggingFaceH4/zephyr-7b-beta", "mistralai/Mistral-7B-v0.1"]
    assert all(a.resolved_from == "registry" and not a.inferred for a in lin.ancestors)
    assert "mit" in effective_license("/tmp/zft", facts, lin).keys
    # the same through a community model on Llama 2 that declares MIT: the Llama 2 base still governs
    text = "---\nlicense: apache-2.0\nbase_model: NousResearch/Nous-Hermes-llama-2-7b\n---\n# a hermes fine-tune\n"
    card = parse_card(text, Origin("local", "/tmp/hft/README.md", file="/tmp/hft/README.md"))
    facts = license_facts(card, None)
    lin = resolve_lineage("/tmp/hft", card, facts, None, Resolver(use_cache=False))
    assert [a.subject for a in lin.ancestors] == ["NousResearch/Nous-Hermes-llama-2-7b", "meta-llama/Llama-2-7b-hf"]
    eff = effective_license("/tmp/hft", facts, lin)
    assert "llama2" in eff.keys
    assert "lineage-conflict" in {e.check for e in lineage_evidence("/tmp/hft", card, facts, lin, eff)}


def test_a_community_model_declaring_less_than_its_base_keeps_the_base() -> None:
    """Nous-Hermes Llama 2 declares MIT on a Llama 2 base; Hermes 3 declares llama3 on Llama 3.1: the registry
    keeps the declared field and the base, so lineage sees both."""
    reg = load_registry()
    nh = reg.model("NousResearch/Nous-Hermes-llama-2-7b")
    assert nh is not None and nh.key == "mit" and nh.relation_to == "meta-llama/Llama-2-7b-hf"
    base = reg.model(nh.relation_to)
    assert base is not None and base.key == "llama2"
    h3 = reg.model("NousResearch/Hermes-3-Llama-3.1-8B")
    assert h3 is not None and h3.key == "llama3" and reg.model(h3.relation_to or "").key == "llama3.1"  # type: ignore[union-attr]
    mpt = reg.model("mosaicml/mpt-7b-chat")
    assert mpt is not None and mpt.key == "cc-by-nc-sa-4.0" and mpt.keys_between(None)[1][0] == "cc-by-sa-3.0"
    vic = reg.model("lmsys/vicuna-33b-v1.3")
    assert vic is not None and vic.key is None and vic.unresolved  # the Hub field is empty: said so, not guessed


@pytest.mark.parametrize(("text", "label"), [("TinyLlama-1.1B-Chat-v1.0 DPO", "tinyllama"),
                                             ("an OpenChat 3.5 merge", "openchat-3.5"),
                                             ("OpenLLaMA 3B v2", "openllama")])
def test_community_family_labels_name_their_models(text: str, label: str) -> None:
    assert label in [r.label for r, _ in load_registry().by_family(text)]


@pytest.mark.parametrize("text", ["a dolphin fine-tune", "my zephyr model", "an mpt model", "a notus of caution",
                                  "open llama-based assistant", "a hermes bag", "starling murmuration"])
def test_community_family_labels_leave_common_words_alone(text: str) -> None:
    """Family labels become name patterns; the community labels are chosen so that a plain word does not lend a
    license ('dolphin', 'zephyr', 'notus' are words, 'open llama' a phrase)."""
    labels = {"cc-dolphin-mistral", "cc-dolphin-mixtral", "zephyr-h4", "zephyr-orpo", "mosaic-mpt", "argilla-notus",
              "openllama", "hermes-3", "hermes-2-pro", "starling-lm-alpha", "starling-lm-beta"}
    assert not labels & {r.label for r, _ in load_registry().by_family(text)}


def test_a_name_beginning_with_a_registry_models_name_and_size_is_read_as_made_from_it():
    from audit.registry import load_registry

    reg = load_registry()
    # the size is what tells the Qwen2.5 models apart: three sizes, three licenses
    assert reg.by_sized_prefix("someone/Qwen2.5-7B-roleplay-v2").key == "apache-2.0"
    assert reg.by_sized_prefix("someone/Qwen2.5-3B-roleplay").key == "qwen-research"
    assert reg.by_sized_prefix("someone/Qwen2.5-72B-roleplay").key == "qwen"
    assert reg.by_sized_prefix("x/Llama-2-7b-chat-roleplay").id == "meta-llama/Llama-2-7b-chat-hf"
    # no size after the first part, the whole name (by_name's job), or a prefix short of a version the
    # registry names ('vicuna-13b' could be v1.3, under LLaMA 1, or v1.5, under Llama 2): no guess
    for name in ("x/7B-qwen-merge", "x/Qwen2.5-roleplay", "x/Qwen2.5-7B", "x/vicuna-13b-cocktail", "x/Mistral-7B-rp"):
        assert reg.by_sized_prefix(name) is None, name
    # a name with no size begins with a registry model's whole name (two parts or more), else no guess
    for name, base in (("x/t5-small-finetuned-xsum", "google-t5/t5-small"),
                       ("x/stable-diffusion-xl-base-1.0-dreambooth", "stabilityai/stable-diffusion-xl-base-1.0"),
                       ("x/roberta-base-squad2", "FacebookAI/roberta-base"), ("x/whisper-small-hi", "openai/whisper-small")):
        found = reg.by_sized_prefix(name)
        assert found is not None and found.id == base, name
    for name in ("x/gpt2-chinese-poem", "x/mistral-instruct-foo", "x/stable-diffusion-finetune"):
        assert reg.by_sized_prefix(name) is None, name


def test_a_name_holding_a_registry_models_name_after_one_brand_word_is_read_as_made_from_it():
    from audit.registry import load_registry

    reg = load_registry()
    # one word of the publisher's own, then the base's name read as by_name and by_sized_prefix read it
    for name, key in (("x/Magic-Qwen2.5-7B-v2", "apache-2.0"), ("x/Magic-Qwen2.5-3B", "qwen-research"),
                      ("x/Super-Magic-Qwen2.5-72B", "qwen"),
                      ("x/Chinese-Llama-2-7b", "llama2"), ("x/Super-t5-small-xsum", "apache-2.0")):
        found = reg.by_branded_name(name)
        assert found is not None and found.key == key, name
    # a lead of more than one word, or with digits, may be part of another model's name ('R1-Distill-Qwen-7B' is
    # DeepSeek's, on Qwen2.5-Math, not Qwen-7B); a rest of one part names nothing sure; a name with no brand word
    # is by_name's and by_sized_prefix's
    for name in ("x/R1-Distill-Qwen-7B", "x/My-R1-Distill-Qwen-7B", "x/Magic2-Qwen2.5-7B", "x/Magic-whisper",
                 "x/Magic-Qwen-Qwen2.5-7B", "x/A-B-C-Qwen2.5-7B",
                 "x/Qwen2.5-7B-roleplay", "x/Magic-Mistral-7B-rp", "x/Magic-7B-merge"):
        assert reg.by_branded_name(name) is None, name


def test_a_version_written_apart_from_or_joined_to_its_word_names_the_same_registry_model():
    from audit.registry import joined, load_registry, name_key

    reg = load_registry()
    assert joined("qwen-2.5-7b-sft") == "qwen2.5-7b-sft" and joined("mistral-7b-instruct-v0.2") == "mistral-7b-instruct-v0.2"
    # no two registry names differ only so: joining never merges two models
    keys = {name_key(e.id) for e in reg.models.values()}
    assert len({joined(k) for k in keys}) == len(keys)
    for name, base in (("x/Qwen-2.5-7B-sft", "Qwen/Qwen2.5-7B"), ("x/qwen_2.5_7b_instruct_lora", "Qwen/Qwen2.5-7B-Instruct"),
                       ("x/Llama3.1-8B-Instruct-sft", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
                       ("x/gemma2-9b-it-sft", "google/gemma-2-9b-it"), ("x/Phi3-mini-4k-instruct-ft", "microsoft/Phi-3-mini-4k-instruct")):
        found = reg.by_sized_prefix(name)
        assert found is not None and found.id == base, name
    found = reg.by_name("x/gemma2-9b-it")
    assert found is not None and found.id == "google/gemma-2-9b-it"
    # a prefix that is a registry model's whole name names that model: Llama-2-13b, not its chat model; MPT-7B,
    # whose instruct model's licensing differs; open_llama_7b, beside an open_llama_7b_v2 (a version short of which
    # 'vicuna-13b' is no guess, as no registry model is named so)
    for name, base in (("x/llama2-13b-ft-dutch", "meta-llama/Llama-2-13b-hf"), ("x/mpt-7b-dpo-v2", "mosaicml/mpt-7b"),
                       ("x/open_llama_7b-dpo-v2", "openlm-research/open_llama_7b")):
        found = reg.by_sized_prefix(name)
        assert found is not None and found.id == base, name


def test_a_name_beginning_with_the_end_of_a_registry_models_name_is_read_as_made_from_it():
    from audit.registry import load_registry

    reg = load_registry()
    for name, base in (("x/R1-Distill-Qwen-7B-math", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"),
                       ("x/Distill-Qwen-1.5B-med", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
                       ("x/R1-Distill-Llama-8B", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B")):
        found = reg.by_name_end(name)
        assert found is not None and found.id == base, name
    # an end with no word registry names begin with is a common phrase; fewer than three parts, or no size, say
    # too little
    for name in ("x/Coder-7B-Instruct", "x/2-7b-chat-foo", "x/7B-Instruct-v0.2-ft", "x/Qwen-7B", "x/Distill-Qwen-math"):
        assert reg.by_name_end(name) is None, name


def test_a_license_history_is_told_in_words_whatever_the_date() -> None:
    import datetime

    from audit.lineage.inherit import registry_facts

    entry = load_registry().model("Qwen/Qwen-7B")  # no license on the Hub until an unknown date, then tongyi-qianwen
    assert entry is not None and entry.history
    reason = registry_facts(entry, datetime.date.max).reason or ""
    assert "9999" not in reason and "(none)" not in reason
    assert "no license until an unknown date" in reason and "dated after every change" in reason


def test_registry_facts_are_made_once_per_entry_date_and_note() -> None:
    # every fine-tune of one base asks for the same facts: they are kept (a decorator moved away once, unseen)
    import datetime

    from audit.lineage.inherit import registry_facts

    entry = load_registry().model("meta-llama/Llama-2-7b-hf")
    assert entry is not None
    assert registry_facts(entry, datetime.date.max) is registry_facts(entry, datetime.date.max)


def test_every_family_name_belongs_to_a_family_rule() -> None:
    # a name for a family with no rule (its members differ in licensing) would silently do nothing
    from audit.registry import family_names

    labels = {r.label for r in load_registry().families()}
    assert family_names() and set(family_names()) <= labels


@pytest.mark.parametrize("text, label", [
    ("A Stable Diffusion 1.5 model fine-tuned on anime", "sd1"),
    ("trained on SD 1.5", "sd1"),
    ("stable-diffusion-v1-4", "sd1"),
    ("Stable Diffusion 2.1 base", "sd2"),
    ("on top of SDXL 1.0", "sdxl"),
    ("Stable Diffusion XL", "sdxl"),
    ("Stable Diffusion 3 Medium", "sd3"),
    ("Stable Diffusion 3.5 Large", "sd3.5"),
])
def test_a_family_is_found_under_its_other_names(text: str, label: str) -> None:
    assert [r.label for r, _ in load_registry().by_family(text)] == [label]


@pytest.mark.parametrize("text", ["Stable Diffusion", "a stable diffusion pipeline", "sdxl 0.9"])
def test_a_family_name_without_its_version_names_no_family(text: str) -> None:
    assert load_registry().by_family(text) == []


_NAME_PARTS = st.sampled_from(["qwen", "2.5", "7b", "llama", "3.1", "8B", "instruct", "R1", "distill", "magic", "gguf",
                               "v0.2", "abliterated", "x", "-", "_", ".", "Mistral", "gemma", "2", "9b", "it", "", "ß"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_NAME_PARTS, max_size=8).map("-".join), st.sampled_from(["", "someone/", "a/b/"]))
def test_reading_any_name_never_fails_and_a_found_model_is_a_registry_model(name: str, org: str) -> None:
    from audit.registry import joined, load_registry, name_key

    reg = load_registry()
    key = name_key(org + name)
    assert joined(joined(key)) == joined(key)  # joining is done once and for all
    made = [reg.made_from(name, read) for read in (True, False)]
    for found in (reg.by_name(org + name), reg.by_sized_prefix(org + name), reg.by_name_end(org + name),
                  reg.by_branded_name(org + name), *(m[0] for m in made if m is not None)):
        assert found is None or reg.model(found.id) is found
