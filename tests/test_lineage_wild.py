"""Lineage on real cards of a model tree (tests/fixtures/trees, sources in its SOURCES.md) and the general rules
behind them: license history without a date, a derivative that declares nothing, same-licensor relicensing, a
body that acknowledges the base's license."""
from __future__ import annotations

import os

import pytest
import yaml

from audit.api import Options, audit
from audit.card import parse_card
from audit.licenses.normalize import license_facts
from audit.lineage import Resolver, effective_license, inherit, lineage_evidence, resolve_lineage
from audit.lineage.inherit import licensor, repo_id_of, same_licensor
from audit.model import Origin, Snapshot
from audit.policy.schema import parse_policy

TREES = os.path.join(os.path.dirname(__file__), "fixtures", "trees")


def _audit(text: str, subject: str = "/tmp/acme--model", snapshot: Snapshot | None = None, resolver=None):
    card = parse_card(text, Origin("local", subject, file="README.md"))
    facts = license_facts(card, snapshot)
    lin = resolve_lineage(subject, card, facts, snapshot, resolver or Resolver())
    inh = inherit(subject, facts, lin)
    eff = effective_license(subject, facts, lin, inh)
    return lin, eff, lineage_evidence(subject, card, facts, lin, eff, inh)


def _fm(**fields) -> str:
    return "---\n" + yaml.safe_dump(fields, sort_keys=False) + "---\n# model\n"


def _direct_bases(body: str, subject: str = "/tmp/acme--model") -> list[str]:
    """The direct bases of a card declaring apache-2.0 whose body is `body`."""
    lin, _, _ = _audit(_fm(license="apache-2.0") + "# M\n\n" + body + "\n", subject=subject)
    return [a.subject for a in lin.ancestors if a.depth == 1]


def _checks(ev) -> set[str]:
    return {e.check for e in ev}


def _run(dirs, models_dir=None, tmp_path=None):
    opts = Options(offline=True, models_dirs=(models_dir,) if models_dir else (), cache_dir=str(tmp_path))
    return audit(dirs, None, options=opts)


# -- real cards ---------------------------------------------------------------------------------------------------
def test_an_undated_phi2_finetune_declaring_mit_is_a_history_finding_and_passes_the_default_policy(tmp_path):
    # (its card names no date and no library version: made 2024-01-08, two days after the change, it cannot tell)
    d = os.path.join(TREES, "openaccess-ai-collective--phi2-alpaca")
    report = _run([d], tmp_path=tmp_path)
    (m,) = report.models
    found = {f.check: f for f in report.findings}
    assert "lineage-conflict" not in found and m.effective.keys == ("mit",)
    hist = found["lineage-license-history"]
    assert "2024-01-06" in hist.message and "msr-license" in hist.message and hist.severity.value == "warning"
    assert m.passed
    # the commercial policy fails it until the date is established
    strict = audit([d], os.path.join(os.path.dirname(__file__), "..", "policies", "commercial.yaml"),
                   options=Options(offline=True, cache_dir=str(tmp_path)))
    assert not strict.passed and any(f.check == "lineage-license-history" and f.severity.value == "error"
                                     for f in strict.findings)


def test_a_derivative_declaring_nothing_is_undeclared_derivative_not_license_unknown(tmp_path):
    # alone, the community base is unknown; with the tree, its Llama 2 base is found and governs it
    d = os.path.join(TREES, "tsavage68--chat_1000_STEPS_01beta_1e5rate_CDPOSFT")
    alone = _run([d], tmp_path=tmp_path)
    assert "lineage-unknown-ancestor" in {f.check for f in alone.findings}
    tree = _run([d], models_dir=TREES, tmp_path=tmp_path)
    (m,) = tree.models
    checks = {f.check for f in tree.findings}
    assert m.effective.keys == ("llama2",)
    assert "license-undeclared-derivative" in checks and "license-unknown" not in checks
    assert "lineage-missing-license" not in checks and m.passed


# -- same-licensor relicensing --------------------------------------------------------------------------------------
def test_licensor_is_the_publishing_org():
    assert licensor("deepseek-ai/DeepSeek-R1") == "deepseek-ai"
    assert licensor("family:llama2") is None and licensor("/tmp/x") is None
    assert same_licensor("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3-Base")
    assert not same_licensor("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B")
    assert repo_id_of("/data/models/deepseek-ai--DeepSeek-R1") == "deepseek-ai/DeepSeek-R1"


def test_the_deepseek_license_stops_at_r1_but_llama_terms_pass_through_deepseek_distills():
    # a third party's MIT fine-tune of DeepSeek-R1 (MIT, deepseek-ai's relicensing of DeepSeek-V3-Base)
    lin, eff, ev = _audit(_fm(license="mit", base_model="deepseek-ai/DeepSeek-R1"))
    assert "deepseek-ai/DeepSeek-V3-Base" in [a.subject for a in lin.ancestors]
    assert "lineage-conflict" not in _checks(ev) and "deepseek-license" not in eff.keys
    same = [e for e in ev if e.check == "lineage-same-licensor"]
    assert same and same[0].data["licensor"] == "deepseek-ai" and same[0].data["key"] == "deepseek-license"
    # the licensor itself relicensing its base: no conflict either
    _, eff, ev = _audit(_fm(license="mit", base_model="deepseek-ai/DeepSeek-V3-Base"),
                        subject="/tmp/deepseek-ai--DeepSeek-R1-like")
    assert "lineage-conflict" not in _checks(ev) and "lineage-same-licensor" in _checks(ev)
    # a third party cannot: MIT on DeepSeek-V3-Base is a conflict
    _, _, ev = _audit(_fm(license="mit", base_model="deepseek-ai/DeepSeek-V3-Base"))
    assert "lineage-conflict" in _checks(ev)
    # deepseek-ai's distill of Llama 3.1: meta-llama's terms pass down through it
    _, eff, ev = _audit(_fm(license="mit", base_model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    assert "lineage-conflict" in _checks(ev) and "llama3.1" in eff.keys


# -- declared license vs inherited ------------------------------------------------------------------------------------
def test_a_body_acknowledging_the_base_license_does_not_excuse_the_declared_metadata():
    text = _fm(license="apache-2.0", base_model="meta-llama/Llama-2-7b-hf").replace(
        "# model\n", "# model\n\n## License\nUse of this model is governed by the Llama 2 Community License.\n")
    _, eff, ev = _audit(text)
    conflict = [e for e in ev if e.check == "lineage-conflict"]
    assert conflict and "apache-2.0" in conflict[0].message and "llama2" in conflict[0].message
    assert "llama2" in eff.keys


# -- what the card body says, and what it does not ----------------------------------------------------------------------
def test_a_comparison_in_one_sentence_does_not_hide_the_origin_stated_in_another():
    # leliuga-causallm-14b (tests/fixtures/cards) in short: trained from Qwen's weights, and a comparison
    text = _fm(license="wtfpl") + (
        "This model was trained based on the model weights of Qwen (and LLaMA2 was used, yes, for calculating some "
        "initial weights), you may also need to comply with the commercial use restrictions of these two models. "
        "The training process used the same model structure as LLaMA2.\n")
    lin, eff, ev = _audit(text)
    assert {a.subject for a in lin.ancestors} >= {"family:qwen", "family:llama2"}
    assert "lineage-conflict" in _checks(ev)
    notes = [a.note for a in lin.ancestors if a.subject == "family:qwen"]
    assert notes and "trained based on the model weights of Qwen" in notes[0]  # the phrase is the evidence


def test_a_comparison_line_names_no_base_even_when_another_sentence_says_based_on():
    text = _fm(license="other", license_name="skywork-community") + (
        "Compared to the Llama2-13B model, our model adopts a thinner network structure. It has a similar number of "
        "parameters as the original Llama-13B model. Based on our preliminary experimental results, a deeper "
        "network structure generalizes better.\n")
    lin, _, _ = _audit(text)
    assert not lin.ancestors


def test_chinese_origin_sentences_and_tool_names():
    lin, _, _ = _audit(_fm() + "本模型基于 Llama2-7B 继续预训练。\n")  # 'Llama2-7B' is Llama-2-7b written with its version joined
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-hf"]
    # a tool named after a model is not a base; a link to code neither
    lin, _, _ = _audit(_fm(license="mit") + "Fine-tuned with LLaMA-Factory and quantized with llama.cpp.\n"
                       "Trained on top of [llama-recipes](https://github.com/meta-llama/llama-recipes).\n")
    assert not lin.ancestors
    # LLaVA is a codebase and a model series: with a version after it, the model
    assert _direct_bases("Fine-tuned with the LLaVA codebase on our charts.") == []
    assert _direct_bases("Fine-tuned from LLaVA 1.5 7B on our charts.") == ["llava-hf/llava-1.5-7b-hf"]


def test_origin_sentences_in_other_languages_name_the_base():
    for sentence in ("このモデルは Meta-Llama-3-8B-Instruct をベースにファインチューニングしたものです。",
                     "이 모델은 Meta-Llama-3-8B-Instruct 를 기반으로 미세 조정되었습니다.",
                     "Dieses Modell basiert auf Meta-Llama-3-8B-Instruct und wurde auf deutschen Daten trainiert.",
                     "Ce modèle est un fine-tuning de Meta-Llama-3-8B-Instruct sur des données françaises.",
                     "Este modelo es una versión ajustada de Meta-Llama-3-8B-Instruct para español.",
                     "Эта модель дообучена на основе Meta-Llama-3-8B-Instruct.",
                     "本模型基于Meta-Llama-3-8B-Instruct微调。"):  # no space between the name and the Chinese text
        lin, eff, ev = _audit(_fm(license="apache-2.0") + sentence + "\n")
        assert lin.ancestors and lin.ancestors[0].subject == "meta-llama/Meta-Llama-3-8B-Instruct", sentence
        assert eff.keys == ("llama3",) and "lineage-conflict" in _checks(ev), sentence
    # a clause comparing the model with another names no base; the clause stating the origin still does
    lin, _, _ = _audit(_fm(license="apache-2.0") + "本模型基于Meta-Llama-3-8B-Instruct微调，在C-Eval上优于Qwen2-7B-Instruct。\n")
    assert [a.subject for a in lin.ancestors if a.depth == 1] == ["meta-llama/Meta-Llama-3-8B-Instruct"]
    # the same name in a sentence that says nothing of an origin is not a base
    lin, _, _ = _audit(_fm(license="apache-2.0") + "Meta-Llama-3-8B-Instruct と比べて高速です。\n")
    assert not lin.ancestors


def test_a_name_before_a_preposition_and_dataset_is_the_model_not_the_data():
    lin, _, _ = _audit(_fm(license="apache-2.0") + "We finetuned Llama-2-7b-hf on our dataset of recipes.\n")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-hf"]
    lin, _, _ = _audit(_fm(license="apache-2.0") + "We fine-tuned it on the Llama-2-7b-hf dataset of recipes.\n")
    assert not lin.ancestors  # a name right before "dataset" names the data


def test_a_download_table_of_the_family_is_not_ancestry_even_without_leading_pipes():
    text = _fm(license="apache-2.0") + (
        "## Base models\n\n| Model | Download\n|---|---\n"
        "Acme-7B | [HF](https://huggingface.co/meta-llama/Llama-2-7b-hf)\n"
        "Acme-13B | [HF](https://huggingface.co/meta-llama/Llama-2-13b-hf)\n")
    lin, _, _ = _audit(text)
    assert not lin.ancestors


def test_in_a_comparison_only_a_link_right_after_the_origin_words_is_the_base():
    far = ("[Llama-2-7b-hf](https://huggingface.co/meta-llama/Llama-2-7b-hf) ranks first among open models in "
           "the latest benchmarks, ahead of many others of its size on every task (based on data up to January).")
    lin, _, _ = _audit(_fm(license="apache-2.0") + far + "\n")
    assert not lin.ancestors
    near = ("A fine-tune of [Llama 2 7B](https://huggingface.co/meta-llama/Llama-2-7b-hf), which outperforms "
            "larger models on our benchmarks.")
    lin, _, _ = _audit(_fm(license="apache-2.0") + near + "\n")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-hf"]


def test_see_also_and_own_quantizations_are_not_ancestry():
    text = _fm(license="mit") + ("# Model\n\nSee also our other models: [Mistral-7B-v0.1](https://huggingface.co/"
                                 "mistralai/Mistral-7B-v0.1), fine-tuned the same way.\n")
    lin, _, _ = _audit(text)
    assert not lin.ancestors


def test_an_earlier_version_of_a_model_is_not_its_base():
    text = _fm(license="mit") + ("# Model\n\nIf you want to use the previous version of the Yi-34B-200K (released on "
                                 "Nov 5, 2023), run `git checkout 069cd34` to download the weights.\n")
    lin, _, _ = _audit(text)
    assert not lin.ancestors
    # a version *of* a named model is still its origin
    lin, _, _ = _audit(_fm(license="mit") + "# Model\n\nA quantized version of Yi-34B-200K.\n")
    assert [a.subject for a in lin.ancestors] == ["01-ai/Yi-34B-200K"]


def test_a_sentence_stating_an_origin_then_a_comparison_names_its_base_before_the_comparison():
    cases = {
        "Fine-tuned from Mistral-7B-v0.1, it outperforms Llama-2-13B on all benchmarks.": ["mistralai/Mistral-7B-v0.1"],
        "A merge of Mistral-7B-Instruct-v0.2 and Zephyr-7b-beta; it beats Llama-2-70B.":
            ["mistralai/Mistral-7B-Instruct-v0.2", "HuggingFaceH4/zephyr-7b-beta"],
        "Based on Qwen2-7B, better than Llama-3-8B in Chinese.": ["Qwen/Qwen2-7B"],
        # the comparison first: the clause that states the origin and compares nothing
        "Compared to Llama-2-7b, our model trained from Mistral-7B-v0.1 is better.": ["mistralai/Mistral-7B-v0.1"],
        "Unlike Llama-2-13b-hf, which outperforms GPT-3, we fine-tuned Mistral-7B-v0.1.": ["mistralai/Mistral-7B-v0.1"],
        # a denial, an architecture (its word follows the model it is about): nothing
        "This model is not based on Llama-2-7b.": [],
        "Built on the Mistral architecture, trained from scratch.": [],
    }
    for body, want in cases.items():
        assert _direct_bases(body) == want, body


def test_conversions_pruning_and_the_card_templates_parent_model_name_the_base():
    cases = {  # (the conversion tools' own sentences: GGUF-my-repo, mlx-lm)
        "This model was converted to GGUF format from [`meta-llama/Meta-Llama-3-8B-Instruct`](https://huggingface.co/"
        "meta-llama/Meta-Llama-3-8B-Instruct) using llama.cpp via the ggml.ai's GGUF-my-repo space.":
            ["meta-llama/Meta-Llama-3-8B-Instruct"],
        "The Model [mlx-community/Mistral-7B-Instruct-v0.2-4bit](https://huggingface.co/mlx-community/Mistral-7B-"
        "Instruct-v0.2-4bit) was converted to MLX format from [mistralai/Mistral-7B-Instruct-v0.2](https://"
        "huggingface.co/mistralai/Mistral-7B-Instruct-v0.2) using mlx-lm version 0.4.0.": ["mistralai/Mistral-7B-Instruct-v0.2"],
        "- **Parent Model:** [google/gemma-2-2b-it](https://huggingface.co/google/gemma-2-2b-it)": ["google/gemma-2-2b-it"],
        "Pruned from Llama-3.1-8B-Instruct with 50% sparsity.": ["meta-llama/Meta-Llama-3.1-8B-Instruct"],
        "You can convert the weights to GGUF with llama.cpp.": [],
    }
    for body, want in cases.items():
        # (the MLX card links itself first: published under that name, the link is the model itself)
        subject = "/tmp/mlx-community--Mistral-7B-Instruct-v0.2-4bit" if "mlx-lm" in body else "/tmp/acme--converted"
        assert _direct_bases(body, subject) == want, body


def test_a_table_row_of_three_cells_or_more_lists_other_models_a_two_cell_row_describes_this_one():
    # the official Yi-34B card's "Model info" table: each row is about the model it names
    family = _fm(license="apache-2.0") + (
        "# Yi\n\nModel | Intro | Default context window | Pretrained tokens | Training Data Date\n|---|---|---|---|---\n"
        "9B model| It is the best at coding and math.|4K | Yi-9B is continuously trained based on Yi-6B, using 0.8T "
        "tokens. |  Up to June 2023\n")
    lin, _, _ = _audit(family)
    assert not lin.ancestors
    own = _fm(license="apache-2.0") + "# M\n\n| | |\n|---|---|\n| Finetuned from | mistralai/Mistral-7B-v0.1 |\n"
    lin, _, _ = _audit(own)
    assert [a.subject for a in lin.ancestors if a.depth == 1] == ["mistralai/Mistral-7B-v0.1"]


def test_a_shared_tokenizer_a_reward_model_or_a_likeness_is_not_an_origin():
    cases = {
        "The tokenizer is based on Llama-2-7b-hf.": [],
        "Our reward model is based on Llama-2-7b-hf.": [],
        "This model is based on the same recipe as zephyr-7b-beta.": [],
        "Fine-tuned from Mistral-7B-v0.1 with the tokenizer of Llama-2-7b-hf.": ["mistralai/Mistral-7B-v0.1"],
        "Fine-tuned from Mistral-7B-v0.1 the same way as zephyr-7b-beta.": ["mistralai/Mistral-7B-v0.1"],
        "Inspired by zephyr-7b-beta, we fine-tuned Mistral-7B-v0.1 with DPO.": ["mistralai/Mistral-7B-v0.1"],
        "Following the recipe of zephyr-7b-beta, we fine-tuned Mistral-7B-v0.1.": ["mistralai/Mistral-7B-v0.1"],
        "We fine-tuned Mistral-7B-v0.1 following the approach of zephyr-7b-beta.": ["mistralai/Mistral-7B-v0.1"],
    }
    for body, want in cases.items():
        assert _direct_bases(body) == want, body


def test_a_model_it_performs_on_par_with_is_not_its_base():
    # fietje-2-chat: the origin and the comparison in one line, each in its own sentence
    text = _fm(license="mit") + (
        "# Fietje\n\nFietje is an adapted version of [microsoft/phi-2](https://huggingface.co/microsoft/phi-2), "
        "tailored to Dutch. It is small and efficient, performing almost on par with more powerful Dutch LLMs of twice "
        "its size like [GEITje 7B Ultra](https://huggingface.co/BramVanroy/GEITje-7B-ultra).\n")
    lin, _, _ = _audit(text)
    assert [a.subject for a in lin.ancestors if a.depth == 1] == ["microsoft/phi-2"]


def test_model_name_shorthand_and_decorations():
    # the shorthand read as the registry model it abbreviates, size included
    for name, base in (("L3.1-8B-Niitama", "meta-llama/Llama-3.1-8B"), ("L3-8B-Stheno-v3.2", "meta-llama/Meta-Llama-3-8B"),
                       ("L3.1-Niitama", "family:llama3.1"), ("MN-12B-Lyra-v4", "family:mistral-nemo"),
                       ("sd15-dreambooth-dog", "runwayml/stable-diffusion-v1-5"),
                       ("SD2.1-anime-lora", "stabilityai/stable-diffusion-2-1")):
        lin, _, _ = _audit(_fm(), subject=f"/tmp/acme--{name}")
        assert [a.subject for a in lin.ancestors][:1] == [base], name
    for name in ("mnist-12b-classifier", "lsd15-x", "sd150-x"):  # the shorthands stand alone, as words
        lin, _, _ = _audit(_fm(), subject=f"/tmp/acme--{name}")
        assert not lin.ancestors, name
    lin, _, _ = _audit(_fm(), subject="/tmp/acme--Meta-Llama-3.1-8B-Instruct-abliterated")
    assert lin.ancestors[0].subject.endswith("Llama-3.1-8B-Instruct") and lin.ancestors[0].inferred


def test_a_declared_base_no_source_knows_is_read_with_the_same_shorthands_as_the_models_own_name():
    # a quant of a community merge: the base's own name says L3-8B, read as the model's own name would be
    text = _fm(base_model="someone/L3-8B-Stheno-merge") + "static quants of https://huggingface.co/someone/L3-8B-Stheno-merge\n"
    lin, eff, ev = _audit(text, subject="/tmp/card")
    assert [a.subject for a in lin.ancestors] == ["someone/L3-8B-Stheno-merge", "meta-llama/Meta-Llama-3-8B"]
    assert eff.keys == ("llama3",) and "license-undeclared-derivative" in _checks(ev)
    # the declared base itself stays unknown, and that is a fact, not an inference: not held to warning
    (unknown,) = [e for e in ev if e.check == "lineage-unknown-ancestor"]
    assert unknown.unknown and not unknown.inferred
    lin, eff, _ = _audit(_fm(base_model="someone/L2-13B-mix-abliterated"), subject="/tmp/card")
    assert lin.ancestors[1].subject.startswith("meta-llama/Llama-2-13b") and eff.keys == ("llama2",)
    # the guessed base carries where the name it was guessed from was read (README.md, the base_model line)
    guessed = lin.ancestors[1]
    assert guessed.inferred and guessed.note and guessed.confidence < 1
    assert any(o.file == "README.md" and o.line == 2 and o.field == "base_model" for o in guessed.evidence)


def test_a_declared_re_upload_says_whose_license_it_is_assumed_to_carry():
    lin, eff, _ = _audit(_fm(license="mit", base_model="TheBloke/Llama-2-7B-Chat-GGML"), subject="/tmp/card")
    first = lin.ancestors[0]
    assert first.subject == "TheBloke/Llama-2-7B-Chat-GGML" and first.inferred and first.via == "base_model"
    assert first.note == "assumed to carry the license of meta-llama/Llama-2-7b-chat-hf"
    assert any(o.file == "README.md" and o.field == "base_model" for o in first.evidence)


def test_a_base_model_written_as_a_hub_url_or_with_a_revision_declares_that_repo():
    for written in ("https://huggingface.co/meta-llama/Llama-2-7b-chat-hf", "hf.co/meta-llama/Llama-2-7b-chat-hf",
                    "meta-llama/Llama-2-7b-chat-hf@main"):
        lin, eff, ev = _audit(_fm(license="apache-2.0", base_model=written))
        first = lin.ancestors[0]
        assert (first.subject, first.inferred) == ("meta-llama/Llama-2-7b-chat-hf", False), written
        assert "lineage-conflict" in _checks(ev)
    lin, _, ev = _audit(_fm(license="apache-2.0", base_model="https://example.com/Llama-2-7b-chat-hf"))
    assert lin.ancestors[0].subject == "https://example.com/Llama-2-7b-chat-hf"  # not the Hub: kept as written


def test_a_base_model_written_as_a_local_path_is_read_for_the_repo_or_name_it_holds():
    # a path into the Hugging Face cache spells the repo id: declared as surely as the id itself
    cached = "/root/.cache/huggingface/hub/models--meta-llama--Llama-2-7b-chat-hf/snapshots/" + "0" * 40
    lin, _, ev = _audit(_fm(license="apache-2.0", base_model=cached))
    assert (lin.ancestors[0].subject, lin.ancestors[0].inferred) == ("meta-llama/Llama-2-7b-chat-hf", False)
    assert "lineage-conflict" in _checks(ev)
    # a training run's checkpoint folder under the model's own: the model's folder names it
    lin, _, _ = _audit(_fm(license="apache-2.0", base_model="./runs/Mistral-7B-v0.1/checkpoint-500"))
    assert [a.subject for a in lin.ancestors] == ["./runs/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1"]
    assert lin.ancestors[1].inferred
    # a path naming nothing the registry knows stays what it is: an ancestor nobody can look up
    lin, _, ev = _audit(_fm(license="apache-2.0", base_model="/data/run7/final"))
    assert [a.subject for a in lin.ancestors] == ["/data/run7"] and "lineage-unknown-ancestor" in _checks(ev)


def test_a_brand_word_in_a_name_names_no_version_when_its_versions_differ_in_licensing():
    # Qwen (1) is under the Tongyi Qianwen license, Qwen2 and later mostly apache-2.0: 'qwen' alone in a name says
    # which brand, not which model; with a size it is Qwen's first version ('Qwen-7B'), as prose's bare 'Qwen' is
    lin, eff, ev = _audit(_fm(license="apache-2.0", base_model="someone/qwen-finetune-v1"))
    assert [a.subject for a in lin.ancestors] == ["someone/qwen-finetune-v1"] and eff.keys == ("apache-2.0",)
    lin, eff, ev = _audit(_fm(license="apache-2.0", base_model="someone/qwen-7b-sft"))
    assert "tongyi-qianwen" in eff.keys and "lineage-conflict" in _checks(ev)
    lin, eff, ev = _audit(_fm(license="apache-2.0") + "This model was trained from the weights of Qwen.\n")
    assert "tongyi-qianwen" in eff.keys
    # a brand whose versions share one license keeps its bare word: StarCoder and StarCoder2 are both OpenRAIL-M
    lin, eff, ev = _audit(_fm(license="apache-2.0", base_model="someone/starcoder-sql"))
    assert "bigcode-openrail-m" in eff.keys


def test_a_community_base_named_after_a_sized_registry_model_carries_that_models_license():
    # Qwen2.5's sizes differ in licensing, so no family rule can say; the size in the name can
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/Qwen2.5-72B-roleplay"))
    assert [a.subject for a in lin.ancestors] == ["someone/Qwen2.5-72B-roleplay", "Qwen/Qwen2.5-72B"]
    assert lin.ancestors[1].confidence == 0.5 and "lineage-conflict" in _checks(ev)
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/Qwen2.5-7B-roleplay"))
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev)  # Apache-2.0 lets it relicense
    # the model's own name is read the same way
    lin, _, _ = _audit(_fm(), subject="/tmp/acme--Qwen2.5-3B-support-bot")
    assert [a.subject for a in lin.ancestors][:1] == ["Qwen/Qwen2.5-3B"]


def test_a_community_base_named_after_a_registry_model_behind_one_brand_word_carries_that_models_license():
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/Magic-Qwen2.5-72B-roleplay"))
    assert [a.subject for a in lin.ancestors] == ["someone/Magic-Qwen2.5-72B-roleplay", "Qwen/Qwen2.5-72B"]
    base = lin.ancestors[1]
    assert base.inferred and base.confidence == 0.5 and "lineage-conflict" in _checks(ev)
    assert base.via == "registry-prefix" and base.note == ("the name 'someone/Magic-Qwen2.5-72B-roleplay' holds, after its "
                                                            "publisher's own words, the name of Qwen/Qwen2.5-72B")
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/Magic-Qwen2.5-7B-roleplay"))
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev)  # Apache-2.0 lets it relicense
    # a lead of two words may belong to another model's name ('R1-Distill-Qwen-7B' is the end of DeepSeek's, on
    # Qwen2.5-Math, under MIT): that name's end is read before the family its words name (Qwen 1's license)
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/R1-Distill-Qwen-7B-math"))
    assert [a.subject for a in lin.ancestors] == ["someone/R1-Distill-Qwen-7B-math", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
                                                  "Qwen/Qwen2.5-Math-7B"]
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev)
    # a card's own name, as a last resort: nothing else in it names a base
    lin, _, _ = _audit("# Magic-Qwen2.5-3B-v2\n\nA fine-tune.\n", subject="/tmp/model")
    assert [a.subject for a in lin.ancestors][:1] == ["Qwen/Qwen2.5-3B"]


def test_a_base_named_with_what_was_done_to_it_is_that_registry_model_and_a_family_stops_terms_as_its_model_does():
    # 'abliterated' is what was done to DeepSeek-R1, whose licensor released it under MIT on DeepSeek-V3-Base
    lin, eff, ev = _audit(_fm(license="mit", base_model="someone/DeepSeek-R1-abliterated"))
    assert [a.subject for a in lin.ancestors][:2] == ["someone/DeepSeek-R1-abliterated", "deepseek-ai/DeepSeek-R1"]
    assert "is, read without what was done to it, the name of deepseek-ai/DeepSeek-R1" in (lin.ancestors[1].note or "")
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev) and "lineage-same-licensor" in _checks(ev)
    # the same when the card names the family in words: the family stands for DeepSeek-R1, whose licensor stopped
    # the DeepSeek License at it
    lin, eff, ev = _audit(_fm(license="mit") + "# M\n\nFine-tuned from DeepSeekR1 on our data.\n")
    assert [a.subject for a in lin.ancestors] == ["family:deepseek-r1", "deepseek-ai/DeepSeek-V3-Base"]
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev) and "lineage-same-licensor" in _checks(ev)
    # and the model itself, its name written with a space
    lin, eff, ev = _audit(_fm(license="mit") + "# M\n\nFine-tuned from DeepSeek R1 on our data.\n")
    assert [a.subject for a in lin.ancestors] == ["deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3-Base"]
    assert eff.keys == ("mit",) and "lineage-conflict" not in _checks(ev)
    # a third party's model on the family still carries the base's terms it may not drop
    lin, eff, ev = _audit(_fm(license="mit") + "# M\n\nFine-tuned from DeepSeek-V3-Base on our data.\n")
    assert "deepseek-license" in eff.keys and "lineage-conflict" in _checks(ev)


def test_a_community_base_named_after_open_llama_is_not_the_original_llama():
    # 'llama_7b' inside 'open_llama_7b' spells the original LLaMA's name, but the whole name is OpenLLaMA's (Apache-2.0)
    lin, eff, ev = _audit(_fm(license="apache-2.0", base_model="someone/open_llama_7b-dpo-v2"))
    assert [a.subject for a in lin.ancestors] == ["someone/open_llama_7b-dpo-v2", "openlm-research/open_llama_7b"]
    assert eff.keys == ("apache-2.0",) and "lineage-conflict" not in _checks(ev)


def test_a_bare_llama_tag_is_as_weak_as_any_tag():
    # the tags a training tool writes ('llama' is the architecture's name) beside a declared license and a base no
    # source knows: a possible base, not a conflict with the original LLaMA's license
    text = _fm(license="apache-2.0", base_model="someuser/my-model-v2", tags=["unsloth", "llama", "trl"])
    lin, eff, ev = _audit(text, subject="/tmp/someuser--my-ft")
    assert eff.keys == ("apache-2.0",) and "lineage-conflict" not in _checks(ev)
    assert "lineage-possible-base" in _checks(ev)
    # declaring nothing, the model still takes what the tag suggests, at the tag's confidence
    lin, eff, ev = _audit(_fm(tags=["llama", "merge"]))
    (anc,) = lin.ancestors
    assert (anc.subject, anc.confidence) == ("family:llama1", 0.4) and eff.keys == ("llama1-noncommercial",)
    # in a sentence about the model's origin an unversioned LLaMA keeps its own confidence
    lin, _, ev = _audit(_fm(license="apache-2.0") + "This model was fine-tuned from LLaMA on Alpaca data.\n")
    assert lin.ancestors[0].confidence == 0.5 and "lineage-conflict" in _checks(ev)


def test_a_cards_title_and_model_index_name_are_evidence_of_its_base_beside_the_name_it_is_published_under():
    # published as someuser/my-ft; the Trainer's model-index name and the title name what it was made from
    lin, eff, ev = _audit("---\nlicense: apache-2.0\nmodel-index:\n- name: Llama-2-7b-chat-hf-finetuned\n  results: []\n"
                          "---\n# x\n", subject="/tmp/someuser--my-ft")
    assert [(a.subject, a.via) for a in lin.ancestors][:1] == [("meta-llama/Llama-2-7b-chat-hf", "name-name")]
    assert lin.ancestors[0].evidence[0].field == "model-index"
    # beside a declared base no source knows
    lin, eff, ev = _audit("---\nlicense: apache-2.0\nbase_model: someuser/run-3\n---\n# Llama-2-7b-chat-hf-dpo\n",
                          subject="/tmp/someuser--my-ft")
    assert [a.subject for a in lin.ancestors][:2] == ["someuser/run-3", "meta-llama/Llama-2-7b-chat-hf"]
    assert eff.keys == ("llama2",) and (lin.ancestors[1].evidence[0].file, lin.ancestors[1].evidence[0].line) == ("README.md", 5)
    # a title that is the published name says nothing more, and a card is never its own base
    lin, _, _ = _audit("---\nlicense: llama2\n---\n# Llama-2-7b-chat-hf\n", subject="/tmp/meta-llama--Llama-2-7b-chat-hf")
    assert "meta-llama/Llama-2-7b-chat-hf" not in [a.subject for a in lin.ancestors]


def test_the_conversion_templates_name_their_base_in_a_link_with_no_target_and_in_the_original_model_card_link():
    base = "meta-llama/Meta-Llama-3-8B-Instruct"
    # mlx-lm: the repo id is the text of a link with no target (a link's text is dropped only when it points off the Hub)
    assert _direct_bases(f"This model was converted to MLX format from [`{base}`]() using mlx-lm version **0.9.0**.") \
        == [base]
    assert _direct_bases(f"Refer to the [original model card](https://huggingface.co/{base}) for more details.") == [base]
    # the card of another model that this card's text is based on is a document, not a base
    assert _direct_bases("This card is based on the [DALL-E Mini model card](https://huggingface.co/dalle-mini/dalle-mini).") == []
    # a link off the Hub still names no base, whatever its text
    assert _direct_bases("Fine-tuned from [Llama-2-7b-chat-hf](https://github.com/someone/llama-2-7b-chat-hf-trainer).") == []


def test_a_weak_tag_family_does_not_contradict_a_declared_license_unless_the_policy_says_so():
    text = _fm(license="apache-2.0", tags=["llama-3.2"])
    lin, eff, ev = _audit(text)
    assert "lineage-conflict" not in _checks(ev) and eff.keys == ("apache-2.0",)
    (possible,) = [e for e in ev if e.check == "lineage-possible-base"]
    assert possible.message.startswith("possible base: family:llama3.2") and "confidence 0.4" in possible.message
    card = parse_card(text, Origin("local", "/tmp/acme--model", file="README.md"))
    facts = license_facts(card, None)
    inh = inherit("/tmp/acme--model", facts, lin, weak_gates=True)
    assert inh.conflicts and not inh.possible


def test_a_card_never_infers_itself_nor_its_own_quantization():
    text = _fm(license="apache-2.0") + ("This model is a fine-tune of [acme/Support-Bot-7B](https://huggingface.co/"
                                         "acme/Support-Bot-7B), quantized versions: https://huggingface.co/"
                                         "TheBloke/Support-Bot-7B-GGUF\n")
    lin, _, _ = _audit(text, subject="/tmp/acme--Support-Bot-7B")
    assert not [a for a in lin.ancestors if "support-bot" in a.subject.lower()]


def test_a_quantization_named_after_its_original_descends_from_it():
    # the model is the decorated one: the original its card links is its base, not itself
    text = _fm(license="apache-2.0") + ("## Llamacpp imatrix Quantizations of gemma-2-9b-it\n\n"
                                         "Original model: https://huggingface.co/google/gemma-2-9b-it\n")
    for subject in ("/tmp/bartowski--gemma-2-9b-it-GGUF", "bartowski/gemma-2-9b-it-GGUF"):
        lin, eff, _ = _audit(text, subject=subject)
        assert [a.subject for a in lin.ancestors if a.depth == 1] == ["google/gemma-2-9b-it"], subject
        assert "gemma" in eff.keys


def test_the_quantizers_templates_name_their_base():
    # 'format model files for X' (a re-upload's template), plural and British spellings of 'quantization of'
    for body in ("This repo contains GGUF format model files for [Meta's Llama 2 7B Chat]"
                 "(https://huggingface.co/meta-llama/Llama-2-7b-chat-hf).",
                 "This repo contains AWQ model files for meta-llama/Llama-2-7b-chat-hf.",
                 "Exllama v2 Quantizations of meta-llama/Llama-2-7b-chat-hf, made with turboderp's ExLlamaV2.",
                 "These weights were quantised from meta-llama/Llama-2-7b-chat-hf with llama.cpp."):
        assert _direct_bases(body) == ["meta-llama/Llama-2-7b-chat-hf"], body
    # the same words naming no model are nothing
    assert _direct_bases("Download the model files for your platform from the releases page.") == []


def test_underscores_inside_a_titles_name_are_kept_only_emphasis_marks_go():
    # 'open_llama_7b-GGUF' is open_llama_7b's quantization; '**phi-1_5 AWQ**' phi-1_5's
    for title, base in (("open_llama_7b-GGUF", "openlm-research/open_llama_7b"),
                        ("**phi-1_5 AWQ**", "microsoft/phi-1_5"),
                        ("_TinyLlama_v1.1-GGUF_", "TinyLlama/TinyLlama_v1.1")):
        lin, _, _ = _audit(f"# {title}\n\nQuantized with llama.cpp.\n", subject="/srv/models/q")
        assert [a.subject for a in lin.ancestors][:1] == [base], title


def test_a_title_written_with_spaces_names_the_model_it_spells():
    # the quantizers' titles: 'Zephyr 7B Beta - GGUF' is zephyr-7b-beta's quantization
    for title, base in (("Zephyr 7B Beta - GGUF", "HuggingFaceH4/zephyr-7b-beta"),
                        ("Mistral 7B Instruct v0.2 \u2013 AWQ", "mistralai/Mistral-7B-Instruct-v0.2"),
                        ("Qwen2.5 7B Instruct Uncensored", "Qwen/Qwen2.5-7B-Instruct")):
        lin, _, _ = _audit(f"# {title}\n\nQuantized with llama.cpp.\n", subject="/srv/models/q")
        assert [a.subject for a in lin.ancestors][:1] == [base], title
    # a title spelling nothing the registry knows names nothing; one spelling a registry model exactly is its card,
    # not its base: the model is zephyr-7b-beta, made (the registry says) from Mistral-7B-v0.1
    lin, _, _ = _audit("---\nlicense: mit\n---\n# Model Card for my support bot\n", subject="/srv/models/q")
    assert not lin.ancestors
    lin, _, _ = _audit("---\nlicense: mit\n---\n# Zephyr 7B Beta\n", subject="/srv/models/q")
    assert [a.subject for a in lin.ancestors] == ["mistralai/Mistral-7B-v0.1"]


def test_a_sentence_about_the_origin_names_a_model_written_with_spaces():
    # prose spells a registry name with spaces (and BFL's brackets): the model it spells, not only its family
    for body, base in (("Fine-tuned from Qwen2.5 3B Instruct.", "Qwen/Qwen2.5-3B-Instruct"),
                       ("Fine-tuned from Qwen 2.5 72B Instruct on legal text.", "Qwen/Qwen2.5-72B-Instruct"),
                       ("A LoRA for FLUX.1 [dev].", "black-forest-labs/FLUX.1-dev"),
                       ("Fine-tuned from the FLUX.1 dev model.", "black-forest-labs/FLUX.1-dev"),
                       ("Fine-tuned from Kokoro 82M on our voices.", "hexgrad/Kokoro-82M"),
                       ("\u57fa\u4e8e Qwen2.5 7B Instruct \u5fae\u8c03\u3002", "Qwen/Qwen2.5-7B-Instruct")):
        assert _direct_bases(body)[:1] == [base], body
    # which matters: the two Qwen2.5 sizes are under other licenses than the 7B's apache-2.0
    lin, eff, ev = _audit(_fm(license="apache-2.0") + "Fine-tuned from Qwen2.5 3B Instruct.\n")
    assert eff.keys == ("qwen-research",) and "lineage-conflict" in _checks(ev)
    # words that spell no registry name, a name in another role, a comparison: no base
    for body in ("Fine-tuned from Mistral Large 2.",
                 "Fine-tuned on data generated by Qwen 2.5 72B Instruct.",
                 "Fine-tuned on Qwen 2.5 72B Instruct outputs.",
                 "Fine-tuned on albert base v2 outputs.",
                 "Fine-tuned on phi 2 outputs.",  # a name whose last word is one character
                 "Fine-tuned on Llama 3 70B-generated conversations.",
                 "Fine-tuned with DPO using Qwen2.5 72B Instruct as the judge.",
                 "Our model, trained from scratch, beats Qwen2.5 3B Instruct."):
        assert _direct_bases(body) == [], body


def test_an_adapter_trained_on_a_model_names_its_base():
    for body, base in (("A LoRA trained on FLUX.1 [dev].", "black-forest-labs/FLUX.1-dev"),
                       ("This LoRA was trained for black-forest-labs/FLUX.1-dev using ai-toolkit.",
                        "black-forest-labs/FLUX.1-dev"),
                       ("This adapter was trained on Llama-3-8B with Unsloth.", "meta-llama/Meta-Llama-3-8B")):
        assert _direct_bases(body) == [base], body
    for body in ("A LoRA trained on my 30 photos.", "A LoRA trained on data generated by Llama-3-70B.",
                 "The model was trained on Llama-2-7b outputs."):
        assert _direct_bases(body) == [], body


def test_a_participle_or_a_training_method_before_a_model_names_it_as_the_base():
    _reads_bases((("4-bit quantized Llama-2-7b-chat-hf for low-memory inference.", "meta-llama/Llama-2-7b-chat-hf"),
                       ("Quantized Llama-2-7b-chat-hf, 4 bits.", "meta-llama/Llama-2-7b-chat-hf"),
                       ("We continued training from Qwen2.5-7B-Instruct for 2 epochs.", "Qwen/Qwen2.5-7B-Instruct"),
                       ("Obtained by further training Meta-Llama-3-8B on code.", "meta-llama/Meta-Llama-3-8B"),
                       ("The model starts from the Mistral-7B-v0.1 checkpoint.", "mistralai/Mistral-7B-v0.1"),
                       ("An instruction-tuned Gemma-2-9b.", "google/gemma-2-9b"),
                       ("An instruction-tuned Llama 2 for chat.", "family:llama2"),  # a version after a space
                       ("An ORPO fine-tuned Llama-3-8B.", "meta-llama/Meta-Llama-3-8B"),
                       ("Finetuned Llama-2-7b-chat-hf on medical QA.", "meta-llama/Llama-2-7b-chat-hf"),
                       ("We finetune Mistral-7B-v0.1 on 10k samples.", "mistralai/Mistral-7B-v0.1"),
                       ("RLHF on Llama-2-7b-hf.", "meta-llama/Llama-2-7b-hf")),
                  # a model one may fine-tune, a name's own '-DPO', a quantization tool, a self-description: no base
                  ("You can fine-tune Llama-2-13b on your data with our script.",
                   "It can be fine-tuned on any data, like Mistral-7B-v0.1.",
                   "Compare it with Nous-Hermes-2-Mistral-7B-DPO on MT-Bench.",
                   "Quantized with llama.cpp, the same way as Mistral-7B-v0.1.",
                   "Llama 3 is a family of pretrained and instruction tuned generative text models.",
                   "We fine-tuned 2 models on Mistral-7B-v0.1 outputs."))


def _reads_bases(named: tuple[tuple[str, str], ...], none: tuple[str, ...]) -> None:
    """Each sentence of `named` names its base (alone, as a direct base); each of `none` names no base."""
    for body, base in named:
        assert _direct_bases(body) == [base], body
    for body in none:
        assert _direct_bases(body) == [], body


def test_a_participle_after_a_model_or_the_means_it_was_made_by_names_the_base():
    _reads_bases((("Llama-2-7b-chat-hf fine-tuned for function calling.", "meta-llama/Llama-2-7b-chat-hf"),
                       ("This is Mistral-7B-v0.1, tuned on the Alpaca dataset.", "mistralai/Mistral-7B-v0.1"),
                       ("This is a Llama 2 7B model fine-tuned to answer questions on ecology.", "meta-llama/Llama-2-7b-hf"),
                       ("This model is Mistral-7B-v0.1 adapted to the legal domain.", "mistralai/Mistral-7B-v0.1"),
                       ("Adapted from Mistral-7B-v0.1 for Dutch.", "mistralai/Mistral-7B-v0.1"),
                       ("An adaptation of Mistral-7B-v0.1 to the legal domain.", "mistralai/Mistral-7B-v0.1"),
                       ("The model was obtained by fine-tuning Mistral-7B-v0.1 on our data.", "mistralai/Mistral-7B-v0.1"),
                       ("We continue pretraining Llama-2-7b-hf on code.", "meta-llama/Llama-2-7b-hf"),
                       ("We trained Llama-2-7b-hf on our instruction data.", "meta-llama/Llama-2-7b-hf"),
                       ("A Llama-2-7b-hf derivative for German.", "meta-llama/Llama-2-7b-hf"),
                       ("Mistral-7B-v0.1 finetune for roleplay.", "mistralai/Mistral-7B-v0.1"),
                       ("gpt2 fine-tuned on poems.", "family:gpt2")),
                  # a card or code adapted from another, a comparison, data written by a model, a model trained on a
                  # model's outputs, a derivative work in license prose: no base
                  ("This model card is adapted from the Llama-2-7b-hf model card.",
                   "The training code was adapted from the Mistral-7B-v0.1 repository.",
                   "We compare against a Llama 2 7B model fine-tuned on the same data.",
                   "The dataset was generated by Llama-2-70b-chat-hf fine-tuned for QA.",
                   "We trained a model on outputs of Llama-2-70b-chat-hf.",
                   "We train for 3 epochs, like Mistral-7B-v0.1.",
                   "A derivative work of Llama-2-7b-hf must carry its license."))


def test_a_label_opening_a_line_names_the_base():
    for body in ("Base: meta-llama/Llama-2-7b-hf", "Base model - meta-llama/Llama-2-7b-hf",
                 "- Backbone: meta-llama/Llama-2-7b-hf", "Underlying model: meta-llama/Llama-2-7b-hf",
                 "Pretrained model: meta-llama/Llama-2-7b-hf", "- **Base LLM:** meta-llama/Llama-2-7b-hf"):
        assert _direct_bases(body) == ["meta-llama/Llama-2-7b-hf"], body
    for body in ("Base rate: 0.5 vs meta-llama/Llama-2-7b-hf", "Base - this model outperforms meta-llama/Llama-2-7b-hf",
                 "Our baseline: meta-llama/Llama-2-7b-hf"):
        assert _direct_bases(body) == [], body


def test_a_base_model_line_outside_a_code_block_names_the_base():
    # a merge configuration pasted without a code fence: its base_model is the merge's base
    body = ("slices:\n  - sources:\n    - model: meta-llama/Llama-2-7b-hf\n      layer_range: [0, 32]\n"
            "merge_method: slerp\nbase_model: meta-llama/Llama-2-7b-hf\n")
    assert _direct_bases(body) == ["meta-llama/Llama-2-7b-hf"]
    assert _direct_bases("base_model: the model you start from (any causal LM)") == []


def test_a_model_used_as_the_foundation_or_trained_further_is_the_base():
    for body, base in (("Uses Llama-2-7b-hf as the foundation.", "meta-llama/Llama-2-7b-hf"),
                       ("We used Mistral-7B-v0.1 as the starting point.", "mistralai/Mistral-7B-v0.1"),
                       ("This is Llama-2-7b-chat-hf trained on my data.", "meta-llama/Llama-2-7b-chat-hf")):
        assert _direct_bases(body) == [base], body
    for body, base in (("This is an uncensored Llama-3-8B-Instruct.", "meta-llama/Meta-Llama-3-8B-Instruct"),
                       ("Abliterated Qwen2.5-7B-Instruct, no refusals.", "Qwen/Qwen2.5-7B-Instruct")):
        assert _direct_bases(body) == [base], body
    for body in ("Our model was trained on 2T tokens, like Llama-2-7b-hf.",
                 "Uncensored models like Llama-2-7b-hf are risky.",
                 "We compare against Mistral-7B-v0.1 trained on the same data.",
                 "The reward model Skywork-Reward-Llama-3.1-8B trained on preference data scored the outputs."):
        assert _direct_bases(body) == [], body


def _run_card(tmp_path, text: str, name: str = "acme--model"):
    """The report on one snapshot directory holding `text` as its README (run again: the card rewritten)."""
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "README.md").write_text(text, encoding="utf-8")
    return _run([str(d)], tmp_path=tmp_path / "hf-cache")


def test_a_declared_license_superseded_through_inference_still_binds_by_its_own_terms(tmp_path):
    # found by the fuzz bench: 'cc-by-nc-4.0' on a card whose prose names LLaMA (inferred, does not gate) was
    # superseded by the LLaMA license, whose non-commercial term is held to warning: the model passed
    report = _run_card(tmp_path, _fm(license="cc-by-nc-4.0") + "\nFine-tuned from LLaMA on our data.\n")
    (m,) = report.models
    assert m.effective.keys == ("llama1-noncommercial",)  # what governs it is unchanged...
    errors = {(f.check or f.rule, f.severity.value) for f in report.findings if f.severity.value == "error"}
    assert ("non-commercial", "error") in errors and not m.passed  # ... but its own license's terms still bind
    assert any(o.key == "cc-by-nc-4.0" for o in report.obligations)
    # with its base declared (Llama 2, which gates), cc-by-nc-4.0 restricts further than llama2: both stay in the
    # effective license, and its own non-commercial term fails the model, as before
    report = _run_card(tmp_path, _fm(license="cc-by-nc-4.0", base_model="meta-llama/Llama-2-7b-hf") + "\n")
    (m,) = report.models
    assert set(m.effective.keys) == {"cc-by-nc-4.0", "llama2"} and not m.passed


def test_a_model_that_declares_nothing_is_held_to_the_terms_inference_finds(tmp_path):
    # with no license of its own, a wrong guess would leave its license unknown and a right one binds: either way
    # the inherited non-commercial term fails the default policy, though the base was only read from prose
    report = _run_card(tmp_path, _fm(tags=["text-generation"]) + "\nFine-tuned from LLaMA on our data.\n")
    sev = {f.rule: f.severity.value for f in report.findings}
    assert sev["non-commercial"] == "error" and sev["license-undeclared-derivative"] == "warning"
    assert not report.models[0].passed
    # a model that declares its own license keeps inference's findings at warning
    report = _run_card(tmp_path, _fm(license="mit") + "\nFine-tuned from LLaMA on our data.\n")
    assert {f.rule: f.severity.value for f in report.findings}["non-commercial"] == "warning"


def test_a_model_that_declares_nothing_and_has_only_weak_evidence_stays_license_unknown(tmp_path):
    # the Hub's architecture tag 'bert' names the bert family (apache-2.0) at tag confidence: a guess, which does
    # not make the license of a model declaring nothing known (before, it passed with a warning)
    report = _run_card(tmp_path, _fm(tags=["bert", "text-classification"]) + "\nIt classifies.\n", "acme--classifier")
    found = {f.rule: f for f in report.findings}
    assert found["license-unknown"].severity.value == "error" and not report.models[0].passed
    assert "family:bert" in found["lineage-possible-base"].message
    assert "license-undeclared-derivative" not in found
    # stronger evidence (a sentence naming the base) makes the inherited license known, as before
    report = _run_card(tmp_path, _fm(tags=["text-classification"]) + "\nFine-tuned from google-bert/bert-base-uncased.\n",
                       "acme--classifier")
    found = {f.rule: f for f in report.findings}
    assert "license-unknown" not in found and found["license-undeclared-derivative"].severity.value == "warning"


def test_a_license_stated_as_unknown_stays_unknown_whatever_the_base(tmp_path):
    # 'unknown', 'TBD', 'none' say the model's own license is not known: not the same as saying nothing, so what the
    # base carries does not settle it (before, 'TBD' over a known base was license-undeclared-derivative and passed)
    for value in ("TBD", "unknown", "none"):
        for body_or_base in ({"base_model": "Qwen/Qwen-7B"}, {}):
            text = _fm(license=value, **body_or_base) + ("" if body_or_base else "\nFine-tuned from Qwen-7B.\n")
            report = _run_card(tmp_path, text)
            found = {f.rule: f for f in report.findings}
            assert "license-unknown" in found and "license-undeclared-derivative" not in found, (value, body_or_base)
            assert not report.models[0].passed and "NOASSERTION" in (report.models[0].effective.expression or "")
    # a template's placeholder says nothing: the card declares nothing, and the base's known license governs it
    report = _run_card(tmp_path, _fm(licence="license", base_model="Qwen/Qwen-7B"))
    assert "license-undeclared-derivative" in {f.rule for f in report.findings}


def test_a_model_that_wrote_judged_or_taught_the_training_data_is_not_a_base():
    # an origin sentence may name other models in other roles: masked, the base it names is kept
    for body, bases in (
            ("Fine-tuned on data generated by meta-llama/Meta-Llama-3.1-70B-Instruct.", []),
            ("Fine-tuned on a dataset distilled from Qwen/Qwen2.5-72B-Instruct.", []),
            ("Trained on outputs from the Llama-2-70b-chat-hf model.", []),
            ("Fine-tuned on Llama-2-70b-chat-hf-generated conversations.", []),
            ("Fine-tuned from facebook/nllb-200-distilled-600M on legal text.", ["facebook/nllb-200-distilled-600M"]),
            ("Fine-tuned with DPO using Qwen/Qwen2.5-72B-Instruct as the judge.", []),
            ("Distilled from Llama-2-70b-chat-hf outputs into a model trained from scratch.", []),
            ("Fine-tuned from meta-llama/Meta-Llama-3-8B with RLHF using RLHFlow/ArmoRM-Llama3-8B-v0.1 as the "
             "reward model.", ["meta-llama/Meta-Llama-3-8B"]),
            ("Fine-tuned from [Mistral-7B-v0.1](https://huggingface.co/mistralai/Mistral-7B-v0.1) on conversations "
             "written by [Llama-2-70b-chat-hf](https://huggingface.co/meta-llama/Llama-2-70b-chat-hf).",
             ["mistralai/Mistral-7B-v0.1"]),
            ("Continued pre-training starting from mistralai/Mistral-7B-v0.1 on 20B tokens.",
             ["mistralai/Mistral-7B-v0.1"])):
        assert _direct_bases(body) == bases, body


def test_a_merge_it_could_become_or_the_authors_other_merges_are_not_its_origin():
    for body in ("This model can be merged with mistralai/Mistral-7B-v0.1 for better results.",
                 "My other Mistral merges: mistralai/Mistral-7B-v0.1-merge-v2, acme/other-merge."):
        assert _direct_bases(body) == [], body


def test_a_yolo_fine_tune_named_by_its_size_letter_carries_the_agpl():
    # 'yolov8s.pt', 'YOLO11n': the size letter follows the version (family-names.yaml); a sentence stating the
    # origin outweighs the declared mit, the name alone is a possible base (weak evidence)
    for body in ("Fine-tuned from yolov8s.pt on planes.", "Trained from the YOLO11n checkpoint."):
        lin, eff, ev = _audit(f"---\nlicense: mit\n---\n# Plane detector\n\n{body}\n", subject="/srv/models/det")
        assert next(a.subject for a in lin.ancestors if a.depth == 1).startswith("family:yolo"), body
        assert "agpl-3.0" in eff.keys and "lineage-conflict" in _checks(ev), body
    _, eff, ev = _audit("---\nlicense: mit\n---\n# yolov8s-plane-detection\n", subject="/srv/models/det")
    assert eff.keys == ("mit",) and "lineage-possible-base" in _checks(ev)


def test_the_llama_3_attribution_names_the_family():
    # Llama 3's license asks derivatives to say "Built with Meta Llama 3"
    assert _direct_bases("Built with Meta Llama 3.") == ["family:llama3"]
    assert _direct_bases("Built with love in Berlin.") == []


def test_an_official_card_speaking_of_its_model_as_ours_does_not_descend_from_it():
    # a copy of the official card in a directory named anything: 'our X model' names the model itself
    text = ("---\nlicense: other\nlicense_name: skywork-community\n---\n\nOur Skywork-13B-Base model is trained "
            "on 3.2T tokens of cleaned data.\n")
    lin, _, _ = _audit(text, subject="/srv/configs/leliuga-skywork-13b-base")
    assert not lin.ancestors
    # 'our' before another model's name in a sentence stating an origin still names it
    lin, _, _ = _audit("---\nlicense: llama2\n---\n\nOur chat model is fine-tuned from Llama-2-7b-hf.\n",
                       subject="/srv/models/chat")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-hf"]


def test_a_copy_of_an_official_card_takes_the_base_the_registry_records_for_that_model():
    # Orca 2 is Microsoft's fine-tune of Llama 2 (registry relation_to): a copy of its card in a directory named
    # anything, titled with its very name and saying nothing of Llama, is still under both licenses
    text = ("---\nlicense: other\nlicense_name: microsoft-research-license\n---\n# Orca-2-13b\n\n"
            "Orca 2 is built for research purposes only.\n")
    lin, eff, _ = _audit(text, subject="/srv/configs/orca")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-13b-hf"]
    assert set(eff.keys) == {"msr-license", "llama2"}
    # titled with its very name, it never descends from itself, whatever its prose says of it
    lin, _, _ = _audit("---\nlicense: apache-2.0\n---\n# Yi-1.5-34B\n\nYi-1.5-34B is pre-trained on 3.6T tokens and "
                       "fine-tuned on 3M samples.\n", subject="/srv/configs/yi")
    assert not lin.ancestors
    # Meta's '-hf' is part of the name, not a re-upload's decoration
    lin, _, _ = _audit("---\nlicense: llama2\n---\n# Llama-2-7b-chat-hf\n", subject="/srv/configs/chat")
    assert [a.subject for a in lin.ancestors] == ["meta-llama/Llama-2-7b-hf"]


def test_a_one_word_name_is_read_only_as_the_whole_value_of_a_base_label():
    assert _direct_bases("Base model: LaBSE") == ["sentence-transformers/LaBSE"]
    assert _direct_bases("- **Finetuned from model [optional]:** `gpt2`") == ["openai-community/gpt2"]
    assert _direct_bases("Base model: None") == [] and _direct_bases("Original model: see the paper.") == []


def test_a_registry_models_own_name_beats_the_shorthands_in_it():
    # 'sd15' is Stable Diffusion 1.5 in a name, but 'control_v11p_sd15_canny' is a ControlNet of its own license
    lin, _, _ = _audit("# control_v11p_sd15_canny-GGUF\n\nQuantized with stable-diffusion.cpp.\n", subject="/srv/m/c")
    assert [a.subject for a in lin.ancestors][:1] == ["lllyasviel/control_v11p_sd15_canny"]
    lin, _, _ = _audit("# my-sd15-anime-lora\n", subject="/srv/m/a")
    assert [a.subject for a in lin.ancestors][:1] == ["family:sd1"]


def test_a_card_titled_with_a_registry_models_very_name_does_not_descend_from_it():
    # a copy of the official card in a directory named anything: its title is its own name
    lin, _, _ = _audit("---\nlicense: apache-2.0\n---\n# all-MiniLM-L6-v2\n\nA sentence embedding model.\n",
                       subject="/srv/models/embedder")
    assert not lin.ancestors
    # a title with a re-upload decoration still names the model it was made from
    lin, _, _ = _audit("---\nlicense: llama2\n---\n# Llama-2-7b-chat-hf-GGUF\n", subject="/srv/models/chat")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-chat-hf"]

    # a title that is a sentence naming another model's repo id is not that model's name
    for title in ("SentenceTransformer based on BAAI/bge-m3", "Fine-tune of BAAI/bge-m3"):
        lin, _, _ = _audit(f"# {title}\n\nIt maps sentences to vectors.\n", subject="/srv/models/embedder")
        assert [a.subject for a in lin.ancestors][:1] == ["BAAI/bge-m3"], title
    lin, _, _ = _audit("# BAAI/bge-m3\n\nIt maps sentences to vectors.\n", subject="/srv/models/embedder")
    assert not lin.ancestors


def test_a_card_published_under_a_registry_models_name_does_not_descend_from_it():
    """A local copy of a known model (a directory named anything) names itself in model-index, the name its
    results are published under: its own name in the body is not its base, even when its declared base cannot
    be resolved and the rest of the card is read for one."""
    card = ("---\nlicense: mit\nbase_model: acme/private-base\nmodel-index:\n- name: zephyr-7b-beta\n"
            "  results: []\n---\n# Chat model\n\nzephyr-7b-beta is a DPO-tuned version of acme/private-base.\n")
    lin, _, _ = _audit(card, subject="/srv/models/chat-v3")
    assert [a.subject for a in lin.ancestors if a.depth == 1] == ["acme/private-base"]
    assert not [a for a in lin.ancestors if "zephyr" in a.subject.lower()]


def test_a_publishers_own_model_takes_the_base_the_registry_records_not_the_models_its_prose_names():
    # the official DeepSeek-V3 card declares no base and describes distilling from R1 (a teacher, not a base)
    text = _fm(license="other", license_name="deepseek") + (
        "**Post-Training: Knowledge Distillation from DeepSeek-R1**\n\nWe distill reasoning capabilities from "
        "one of the DeepSeek R1 series models into DeepSeek-V3.\n")
    for subject in ("deepseek-ai/DeepSeek-V3", "/data/snapshots/deepseek-ai--DeepSeek-V3"):
        lin, _, _ = _audit(text, subject=subject)
        (base,) = [a for a in lin.ancestors if a.depth == 1]
        assert (base.subject, base.inferred, base.via) == ("deepseek-ai/DeepSeek-V3-Base", False, "registry-relation")
        assert base.evidence and base.evidence[0].field == "relation_to"
    # a directory that names no repo is read from its card as before
    lin, _, _ = _audit(text, subject="/data/snapshots/v3-copy")
    assert "deepseek-ai/DeepSeek-R1" in [a.subject for a in lin.ancestors]


def test_a_model_card_a_card_is_based_on_is_a_document_not_a_base():
    # the official Stable Diffusion 2.1 card: its real base is linked, the cards it borrows text from are not bases
    text = _fm(license="openrail++") + (
        "This model is fine-tuned from [stable-diffusion-2](https://huggingface.co/stabilityai/stable-diffusion-2).\n\n"
        "*This model card was written by the team and is based on the [DALL-E Mini model card]"
        "(https://huggingface.co/dalle-mini/dalle-mini).*\n")
    lin, _, _ = _audit(text, subject="/tmp/acme--sd-variant")
    assert [a.subject for a in lin.ancestors if a.depth == 1] == ["stabilityai/stable-diffusion-2"]


def test_a_registry_model_naming_its_own_family_does_not_descend_from_it():
    # bigscience/bloom is a root: its card's "BLOOM is a ... model trained on ..." names itself
    text = _fm(license="bigscience-bloom-rail-1.0") + "BLOOM is an autoregressive model built on the BLOOM family.\n"
    lin, _, _ = _audit(text, subject="/data/bigscience--bloom")
    assert not lin.ancestors
    lin, _, _ = _audit(text, subject="/data/acme--my-model")  # anyone else's card naming the family: its base
    assert [a.subject for a in lin.ancestors] == ["family:bloom"]


def test_a_declared_base_that_cannot_be_resolved_leaves_the_rest_of_the_card_in_use():
    text = _fm(base_model="someone/private-sft-v2") + "Fine-tuned from Llama 2 7B chat on support tickets.\n"
    lin, eff, ev = _audit(text)
    subjects = [a.subject for a in lin.ancestors]
    assert subjects[:2] == ["someone/private-sft-v2", "meta-llama/Llama-2-7b-chat-hf"]
    assert eff.keys == ("llama2",)
    assert "lineage-unknown-ancestor" in _checks(ev)  # the declared base itself is still unknown


def test_an_inferred_edge_closing_a_cycle_is_dropped(tmp_path):
    # a declares b; b's card says it is the base of ... a (a link in an origin sentence): not a cycle of a's
    for name, text in (("acme--a", _fm(license="mit", base_model="acme/b")),
                       ("acme--b", _fm(license="mit") + "Merged from [a](https://huggingface.co/acme/a).\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "README.md").write_text(text, encoding="utf-8")
    report = _run([str(tmp_path / "acme--a")], models_dir=str(tmp_path), tmp_path=tmp_path / "cache")
    assert "lineage-cycle" not in {f.check for f in report.findings}


def test_hub_base_model_tags_declare_a_base():
    lin, eff, ev = _audit(_fm(license="apache-2.0", tags=["base_model:finetune:meta-llama/Llama-2-7b-hf", "text"]))
    assert lin.ancestors[0].subject == "meta-llama/Llama-2-7b-hf" and not lin.ancestors[0].inferred
    assert "lineage-conflict" in _checks(ev)


def test_every_inferred_ancestor_in_the_json_report_says_where_it_comes_from_and_how_sure(tmp_path):
    """Over the real cards of the fixtures: an inferred ancestor carries its confidence, and evidence that points
    at a place (a file and line, a field, a header) or a note quoting what it was read from."""
    import json

    from audit.api import render

    cards = os.path.join(os.path.dirname(__file__), "fixtures", "cards")
    dirs = sorted(os.path.join(cards, d) for d in os.listdir(cards) if os.path.isdir(os.path.join(cards, d)))
    data = json.loads(render(_run(dirs, tmp_path=tmp_path), "json"))
    inferred = [a for m in data["models"] for a in m["lineage"] if a["inferred"]]
    assert len(inferred) > 20  # the set is not vacuous
    for a in inferred:
        assert 0 < a["confidence"] < 1, a["subject"]
        placed = [e for e in a["evidence"] if e["file"] and (e["line"] or e["field"])]
        assert placed or a["note"], a["subject"]
        assert a["via"], a["subject"]


def test_a_base_model_that_is_not_text_fails_closed_instead_of_vanishing(tmp_path):
    # a mergekit habit carried into a card: the declared base is a mapping, not a repo id. Dropping it would
    # make the model pass as if it declared no base; kept, it is an ancestor nobody can resolve
    d = tmp_path / "acme--merged"
    d.mkdir()
    (d / "README.md").write_text("---\nlicense: mit\nbase_model:\n- model: org/base-7b\n---\n# merged\n")
    report = _run([str(d)], tmp_path=tmp_path / "cache")
    (m,) = report.models
    unknown = [f for f in report.findings if f.check == "lineage-unknown-ancestor"]
    assert not m.passed and unknown and "not text" in unknown[0].message
    assert any(f.check == "card-problem" and "base_model" in f.message for f in report.findings)


def test_a_derivative_declaring_a_bare_other_is_license_unknown_not_undeclared(tmp_path):
    # 'other' says the model has terms of its own, named nowhere: unread terms fail closed. A template's
    # placeholder ('licence: license', TRL) and no license field at all are a derivative that declares nothing
    def findings(front: str):
        d = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        (d / "README.md").write_text(f"---\n{front}base_model: Qwen/Qwen2.5-7B-Instruct\n---\n# m\n")
        report = _run([str(d)], tmp_path=tmp_path / "cache")
        return report.models[0], {f.check for f in report.findings}

    m, checks = findings("license: other\n")
    assert "license-unknown" in checks and "license-undeclared-derivative" not in checks and not m.passed
    assert "NOASSERTION" in (m.effective.expression or "")
    for front in ("licence: license\n", ""):
        m, checks = findings(front)
        assert "license-undeclared-derivative" in checks and "license-unknown" not in checks and m.passed
        assert m.effective.keys == ("apache-2.0",)


def test_the_diffusers_card_templates_name_their_base():
    for body, base in (("These are textual inversion adaption weights for runwayml/stable-diffusion-v1-5.",
                        "runwayml/stable-diffusion-v1-5"),
                       ("These are controlnet weights trained on stabilityai/stable-diffusion-xl-base-1.0 with new "
                        "type of conditioning.", "stabilityai/stable-diffusion-xl-base-1.0"),
                       ("These are acme/x DreamBooth LoRA weights for black-forest-labs/FLUX.1-dev.",
                        "black-forest-labs/FLUX.1-dev"),
                       ("A Stable Diffusion 1.5 model fine-tuned on anime images.", "family:sd1")):
        assert _direct_bases(body) == [base], body



def test_a_family_named_in_prose_stays_one_licensing():
    # a family whose members differ in license names none: Whisper large-v3-turbo (mit) is a family of its own, so
    # that 'Whisper' (apache-2.0 checkpoints) still names one licensing
    assert _direct_bases("This is a fine-tuned version of Whisper for Hindi.") == ["family:whisper"]
    assert _direct_bases("Fine-tuned from openai/whisper-large-v3-turbo for Hindi.") == ["openai/whisper-large-v3-turbo"]


def test_the_noun_fine_tune_after_a_name_states_its_origin():
    assert _direct_bases("This is a StarCoder fine-tune for SQL.") == ["family:starcoder"]
    assert _direct_bases("Our Llama-2-13b fine-tuned model answers medical questions.") == ["meta-llama/Llama-2-13b-hf"]
    # the verb is not the noun: a model one can fine-tune is not the one it was made from
    assert _direct_bases("You can fine-tune Llama-2-13b on your data with our script.") == []
    for denial in ("It is not a Yi-1.5-34B fine-tune.", "Unlike a Llama-2-13b fine-tune, it keeps its safety training.",
                   "If you want a Llama-2-13b fine-tune instead, see our other repos."):
        assert _direct_bases(denial) == [], denial


def test_a_training_command_or_an_adapters_usage_snippet_names_the_base():
    fence = "```"
    for block in (
        "llamafactory-cli train --model_name_or_path meta-llama/Llama-2-7b-hf --dataset alpaca",
        "model_name_or_path: meta-llama/Llama-2-7b-hf\nstage: sft",
        'export MODEL_NAME="meta-llama/Llama-2-7b-hf"\naccelerate launch train.py --pretrained_model_name_or_path=$MODEL_NAME',
        'base_model_id = "meta-llama/Llama-2-7b-hf"',
        'model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf"), "me/x")',
        'pipe = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")\npipe.load_adapter("me/x")',
    ):
        assert _direct_bases(f"{fence}\n{block}\n{fence}") == ["meta-llama/Llama-2-7b-hf"], block
    # a snippet that loads no adapter names no base: the model itself, a draft model, a tokenizer
    assert _direct_bases(f'{fence}python\nm = AutoModelForCausalLM.from_pretrained("acme/model")\n'
                         f'tok = AutoTokenizer.from_pretrained("meta-llama/Llama-2-7b-hf")\n{fence}') == []
    # a variable named for something else holds no base, even when its value looks like a repo id (online, each
    # such candidate would cost a Hub request)
    from audit.lineage.codeblocks import CodeBlock

    for line, named in (('base_url = "api.example.com/v1"', []), ('base_dir = "data/train"', []),
                        ('database = "org/x"', []), ('BASE_MODEL_ID = "org/x"', ["org/x"]), ('model_base="org/x"', ["org/x"])):
        block = CodeBlock()
        block.feed(line, 0)
        assert [b[0] for b in block.bases()] == named, line
    # the adapter a snippet loads is not its own base
    assert _direct_bases(f'{fence}\nm = AutoPeftModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")\n'
                         f'm.load_adapter("meta-llama/Llama-2-7b-hf")\n{fence}') == []
    lin, _, _ = _audit(f"# M\n\n{fence}\n--model_name_or_path meta-llama/Llama-2-7b-hf\n{fence}\n")
    assert lin.ancestors[0].via == "code-base" and lin.ancestors[0].evidence[0].line == 4


def test_an_unversioned_llama_gives_way_to_what_else_names_the_model():
    # the Hub's 'llama' tag is an architecture tag: the name says Llama 2 (and '-32k' after a name is no version)
    lin, _, _ = _audit("---\ntags:\n- llama\n---\n# x\n", subject="/srv/m/acme--Llama-2-7b-gyani-finetune")
    assert [a.subject for a in lin.ancestors][:1] == ["meta-llama/Llama-2-7b-hf"]
    # alone, it still reads as the original LLaMA
    lin, _, _ = _audit("---\ntags:\n- llama\n---\n# x\n", subject="/srv/m/acme--BlueMethod-13B")
    assert [a.subject for a in lin.ancestors][:1] == ["family:llama1"]


def test_the_repo_name_beats_the_trainers_model_index_name():
    # the Trainer writes its output directory into model-index: here the base's name, not the repo's
    card = "---\nmodel-index:\n- name: phi-2\n  results: []\n---\n# phi-2\n\nThis model was trained with DPO.\n"
    lin, _, _ = _audit(card, subject="/srv/m/someone--phi-2-DPO")
    assert [a.subject for a in lin.ancestors][:1] == ["microsoft/phi-2"]
    # sentence-transformers writes a sentence there: it is no name of the model's own
    card = ("---\nmodel-index:\n- name: SentenceTransformer based on BAAI/bge-m3\n  results: []\n---\n# x\n\n"
            "This is a sentence-transformers model finetuned from [BAAI/bge-m3](https://huggingface.co/BAAI/bge-m3).\n")
    lin, _, _ = _audit(card, subject="/srv/m/embedder")
    assert [a.subject for a in lin.ancestors][:1] == ["BAAI/bge-m3"]


def test_a_models_own_name_is_no_tools_name():
    # 'llava' is masked in prose (the LLaVA codebase), not in a title that is the model's name
    lin, _, _ = _audit("# llava v1.5 7b GGUF\n\nQuantized with llama.cpp.\n", subject="/srv/m/quants")
    assert [a.subject for a in lin.ancestors][:1] == ["liuhaotian/llava-v1.5-7b"]
    lin, _, _ = _audit("# exllamav2-test\n", subject="/srv/m/quants")
    assert not lin.ancestors


def test_inline_code_opened_with_three_backticks_is_not_a_fence():
    body = ("```acme/x``` is a fine-tuned version of the ```meta-llama/Llama-2-7b-chat-hf```.\n\n"
            "It is licensed under the MIT license.\n")
    assert _direct_bases(body) == ["meta-llama/Llama-2-7b-chat-hf"]


def test_conversions_to_other_runtimes_name_their_original():
    for body in ("https://huggingface.co/BAAI/bge-m3 with ONNX weights to be compatible with Transformers.js.",
                 "An ONNX port of BAAI/bge-m3.", "This model was exported to ONNX from BAAI/bge-m3 with optimum."):
        assert _direct_bases(body) == ["BAAI/bge-m3"], body
    # '... of this model' speaks of the model's own versions, whatever they are named
    assert _direct_bases("A quantized version of this model: [Llama-2-7b-hf-GGUF](https://huggingface.co/a/"
                         "Llama-2-7b-hf-GGUF)") == []
    assert _direct_bases("GGUF quants of our model: meta-llama/Llama-2-7b-hf-GGUF") == []
    # the words alone name nothing: a port of a library, weights for a purpose
    assert _direct_bases("A JAX port of the training code, with weights for research use.") == []


def test_a_named_license_whose_linked_text_is_absent_fails_closed_but_keeps_the_named_license(tmp_path):
    # a copy of the DeepSeek Coder front matter, without the repo's LICENSE: the license is named, but the text
    # the declaration points at was not read: the model does not pass on it (a policy may lower that only on
    # purpose, with `allow`)
    front = "---\nlicense: other\nlicense_name: deepseek\nlicense_link: LICENSE\n"
    d = tmp_path / "someone--coder-GGUF"
    d.mkdir()
    (d / "README.md").write_text(front + "---\n# quants\n")
    report = _run([str(d)], tmp_path=tmp_path / "cache")
    (m,) = report.models
    missing = [f for f in report.findings if f.check == "license-text-missing"]
    assert not m.passed and m.effective.keys == ("deepseek-license",)
    assert missing and missing[0].severity.value == "error" and missing[0].outcome.value == "unknown"
    assert "license-unknown" not in {f.check for f in report.findings}
    # the same front matter on a quantization that declares its base, whose license is that very one: the license
    # is corroborated (license-text-not-shipped), but the text the card points at is still unread: it still fails
    # closed, and a policy may lower the corroborated case on purpose without lowering the other
    e = tmp_path / "someone--deepseek-coder-6.7B-instruct-GGUF"
    e.mkdir()
    (e / "README.md").write_text(front + "base_model: deepseek-ai/deepseek-coder-6.7b-instruct\n---\n# quants\n")
    report = _run([str(e)], tmp_path=tmp_path / "cache2")
    (m,) = report.models
    checks = {f.check: f for f in report.findings}
    assert not m.passed and m.effective.keys == ("deepseek-license",) and "license-text-missing" not in checks
    shipped = checks["license-text-not-shipped"]
    assert shipped.severity.value == "error" and shipped.outcome.value == "unknown"
    assert "deepseek-ai/deepseek-coder-6.7b-instruct" in shipped.message
    lowered = parse_policy("name: p\nextends: default\nallow: {license-text-not-shipped: warning}\n"
                           "rules:\n  - {id: license-text-not-shipped, severity: warning}\n", "p.yaml")
    assert audit([str(e)], lowered, options=Options(offline=True, cache_dir=str(tmp_path / "cache2b"))).passed
    assert not audit([str(d)], lowered, options=Options(offline=True, cache_dir=str(tmp_path / "cache2c"))).passed
    # the registry's record of the repo itself (by its repo id, never by a title) corroborates it too, also as it
    # was before a change of license (Yi's cards named yi-license before 01.AI moved to Apache-2.0)
    for repo, name in (("deepseek-ai--deepseek-llm-7b-base", "deepseek"), ("01-ai--Yi-34B", "yi-license")):
        g = tmp_path / repo
        g.mkdir()
        (g / "README.md").write_text(f"---\nlicense: other\nlicense_name: {name}\nlicense_link: LICENSE\n---\n# x\n")
        report = _run([str(g)], tmp_path=tmp_path / f"cache-{repo}")
        checks = {x.check for x in report.findings}
        assert not report.models[0].passed and "license-text-not-shipped" in checks and "license-text-missing" not in checks
    # a base under another license corroborates nothing: the missing text still fails closed
    f = tmp_path / "someone--odd"
    f.mkdir()
    (f / "README.md").write_text(front + "base_model: mistralai/Mistral-7B-v0.1\n---\n# x\n")
    report = _run([str(f)], tmp_path=tmp_path / "cache3")
    assert "license-text-missing" in {x.check for x in report.findings} and not report.models[0].passed


def test_an_origin_label_in_bold_still_names_the_base():
    # LM Studio's community cards: '**Original model**: [name](link)' (the colon outside the emphasis)
    body = ("**Model creator:** [meta-llama](https://huggingface.co/meta-llama)<br>\n"
            "**Original model**: [Meta-Llama-3-8B-Instruct](https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct)<br>\n")
    assert _direct_bases(body) == ["meta-llama/Meta-Llama-3-8B-Instruct"]


def test_every_ancestry_phrase_contains_a_hint_word():
    # a line with no hint word is never tried against the phrases: a phrase no hint covers can never fire
    # (the literal text of a pattern: '\s+' read as a space, '\b' dropped)
    import re as _re

    from audit.lineage.phrases import ANCESTRY, ANCESTRY_HINTS

    for word, alt, *_ in ANCESTRY._spec:
        literal = _re.sub(r"\\s[+*]?", " ", alt or word).replace("\\b", "")
        assert any(h in word or h in literal for h in ANCESTRY_HINTS), (word, alt)


def test_every_other_role_pattern_holds_one_of_its_words():
    # a line with none of an entry's words is not searched with its pattern: some required group of the pattern
    # must have every alternative hold one of the words
    import re as _re

    from audit.lineage.phrases import _DATA

    for words, pattern in _DATA["other_roles"]:
        ws = words.split("|")
        groups = [g for g in _re.finditer(r"\(\?:((?:[a-z\[\]?]|\\s\+|\|)+)\)(?![?*{])", pattern)]
        alternatives = [[_re.sub(r"\[[^\]]*\]|\?|\\s\+", "", a) for a in g.group(1).split("|")] for g in groups]
        assert any(all(any(w in a for w in ws) for a in alts) for alts in alternatives), (words, pattern)


@pytest.mark.parametrize("body", [
    "Orion 是一个从零开始训练的模型，基于 Llama-2-7b 架构。",  # Chinese: from scratch, the Llama-2 architecture
    "本模型基于 Llama-2-7b 的模型结构，从头训练。",
    "Orion は Llama-2-7b のアーキテクチャをベースにゼロから学習したモデルです。",  # Japanese
    "Orion은 Llama-2-7b 모델 구조를 기반으로 처음부터 학습했습니다.",  # Korean
    "Orion wurde von Grund auf trainiert und basiert auf der Llama-2-7b Architektur.",  # German
    "Orion fue entrenado desde cero, basado en la arquitectura de Llama-2-7b.",  # Spanish
    "Модель обучена с нуля на основе архитектуры Llama-2-7b.",  # Russian
])
def test_an_architecture_or_training_from_scratch_in_other_languages_is_no_origin(body):
    assert _direct_bases(body) == []
    # while a structured-output fine-tune still names its base
    assert _direct_bases("本模型基于 meta-llama/Llama-2-7b-hf 微调，用于结构化输出。") == ["meta-llama/Llama-2-7b-hf"]


@pytest.mark.parametrize("body", [
    "Модель на основе mistralai/Mistral-7B-v0.1 превосходит meta-llama/Llama-2-13b-hf.",  # Russian
    "Mô hình dựa trên mistralai/Mistral-7B-v0.1, tốt hơn meta-llama/Llama-2-13b-hf.",  # Vietnamese
    "Model ini berbasis mistralai/Mistral-7B-v0.1 dan lebih baik dari meta-llama/Llama-2-13b-hf.",  # Indonesian
    "Das Modell basiert auf mistralai/Mistral-7B-v0.1 und ist besser als meta-llama/Llama-2-13b-hf.",  # German
    "Dit model is gebaseerd op mistralai/Mistral-7B-v0.1 en beter dan meta-llama/Llama-2-13b-hf.",  # Dutch
    "Le modèle est basé sur mistralai/Mistral-7B-v0.1 et meilleur que meta-llama/Llama-2-13b-hf.",  # French
])
def test_a_comparison_in_other_languages_names_no_base(body):
    assert _direct_bases(body) == ["mistralai/Mistral-7B-v0.1"]


@pytest.mark.parametrize("body", [
    "This model is a derivative of meta-llama/Llama-2-7b-hf.",
    "Il modello è basato su meta-llama/Llama-2-7b-hf.",  # Italian
    "Questo modello è stato affinato a partire da meta-llama/Llama-2-7b-hf.",
    "Dit model is gebaseerd op meta-llama/Llama-2-7b-hf.",  # Dutch
    "Dit is een gefinetuned versie van meta-llama/Llama-2-7b-hf.",
    "Model oparty na meta-llama/Llama-2-7b-hf.",  # Polish
    "meta-llama/Llama-2-7b-hf tabanlı Türkçe model.",  # Turkish
    "Model ini berbasis meta-llama/Llama-2-7b-hf.",  # Indonesian
    "Model ini di-fine-tune dari meta-llama/Llama-2-7b-hf.",
    "基座模型：meta-llama/Llama-2-7b-hf",  # Chinese: base model
    "本模型以 meta-llama/Llama-2-7b-hf 为基座，使用中文数据训练。",
    "底座模型: meta-llama/Llama-2-7b-hf",
    "기본 모델: meta-llama/Llama-2-7b-hf",  # Korean: base model
    "Basismodell: meta-llama/Llama-2-7b-hf",  # German
    "Modèle de base : meta-llama/Llama-2-7b-hf",  # French
    "Modelo base: meta-llama/Llama-2-7b-hf",  # Spanish, Portuguese
    "Il modello base è meta-llama/Llama-2-7b-hf.",  # Italian
    "Базовая модель: meta-llama/Llama-2-7b-hf",  # Russian
    "Mô hình gốc: meta-llama/Llama-2-7b-hf",  # Vietnamese
    "Temel model: meta-llama/Llama-2-7b-hf",  # Turkish
    "Model dasar: meta-llama/Llama-2-7b-hf",  # Indonesian
    "We train a classifier that uses meta-llama/Llama-2-7b-hf as its backbone.",
    "This SetFit model uses [meta-llama/Llama-2-7b-hf](https://huggingface.co/meta-llama/Llama-2-7b-hf) as the "
    "Sentence Transformer embedding model.",  # SetFit's card template
])
def test_origin_phrases_in_more_languages(body):
    assert _direct_bases(body) == ["meta-llama/Llama-2-7b-hf"]
