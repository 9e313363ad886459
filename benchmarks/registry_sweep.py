"""Lineage across every family mlaudit knows: synthetic derivative cards of each registry model.

The labelled corpora hold a handful of families; the hidden sets hold others. This sweep asks of every
registry model (818 with a catalog license) the same questions in the ways real derivative cards state
their origin: a declared base_model, Hub base_model tags, a re-upload or a community model named after it as the declared base, a merge
configuration, the templates of quantizers, converters (GGUF, MLX, ONNX) and trainers (Trainer, axolotl,
sentence-transformers, diffusers), an 'Original model:' line, a link in a sentence,
the name in a title. For each style it prints the share of cards whose effective license includes the
base's, and, for a card that declares apache-2.0 on a base whose license it may not drop, the share reported
as a lineage conflict. The cards are written here from templates (no Hub card is read or copied), in
temporary directories named `<style>_<n>` so that no directory name is taken for a repo id.

    python benchmarks/registry_sweep.py [--verbose] [--only STYLE ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# style -> (card text from (repo id, name), declares its own license apache-2.0)
STYLES: dict[str, tuple[Callable[[str, str], str], bool]] = {
    "base_model": (lambda i, n: f"---\nbase_model: {i}\n---\n# my-{n}-ft\n\nA fine-tune.\n", False),
    "base_model+apache": (lambda i, n: f"---\nbase_model: {i}\nlicense: apache-2.0\n---\n# my-{n}-ft\n", True),
    "hub-tags": (lambda i, n: f"---\ntags:\n- base_model:{i}\n- base_model:finetune:{i}\n---\n# thing\n", False),
    "name-only-base": (lambda i, n: f"---\nbase_model: {n}\n---\n# thing\n", False),
    "re-upload-base": (lambda i, n: f"---\nbase_model: someone/{n}-GGUF\n---\n# thing\n", False),
    "unsloth-base": (lambda i, n: f"---\nbase_model: unsloth/{n.lower()}-bnb-4bit\n---\n# thing\n", False),
    "mergekit": (lambda i, n: (f"# merged\n\n```yaml\nmodels:\n  - model: {i}\n    parameters:\n      weight: 0.5\n"
                               "merge_method: linear\ndtype: float16\n```\n"), False),
    "gguf-link": (lambda i, n: f"---\ntags:\n- gguf\n---\n# {n}-GGUF\n\nGGUF quants of [{i}](https://huggingface.co/{i}).\n",
                  False),
    "files-for-name": (lambda i, n: f"# {n} AWQ\n\nThis repo contains AWQ model files for {n}.\n", False),
    "title-only": (lambda i, n: f"# {n}-GGUF\n\nQuantized with llama.cpp.\n", False),
    "original-model+apache": (lambda i, n: (f"---\nlicense: apache-2.0\n---\n# Cool model\n\n"
                                            f"- Original model: [{n}](https://huggingface.co/{i})\n"), True),
    "trainer+apache": (lambda i, n: (f"---\nlicense: apache-2.0\n---\n# out\n\nThis model is a fine-tuned version of "
                                     f"[{i}](https://huggingface.co/{i}) on the None dataset.\n"), True),
    "card-template": (lambda i, n: (f"---\nlibrary_name: transformers\n---\n# Model Card\n\n- **Developed by:** me\n"
                                    f"- **Finetuned from model [optional]:** {i}\n"), False),
    "spaced-title": (lambda i, n: f"# {n.replace('-', ' ').replace('_', ' ')} GGUF\n\nQuantized with llama.cpp.\n", False),
    "base-label-name": (lambda i, n: f"# My assistant\n\nBase model: {n}\n", False),
    "lower-case-base": (lambda i, n: f"---\nbase_model: {i.lower()}\n---\n# thing\n", False),
    "plain-prose": (lambda i, n: f"# Orion\n\nOrion is fine-tuned from {i} on our data.\n", False),
    "linked-prose": (lambda i, n: f"# Cool model\n\nThis model was fine-tuned from [{n}](https://huggingface.co/{i}) on my data.\n",
                     False),
    "noun-fine-tune": (lambda i, n: f"# Nova\n\nNova is a {n} fine-tune for chat.\n", False),
    # the templates of tools that write cards (paraphrased shapes, not copied cards)
    "static-quants": (lambda i, n: f"## About\n\nstatic quants of https://huggingface.co/{i}\n\nweighted quants are elsewhere\n",
                      False),
    "gguf-my-repo": (lambda i, n: (f"# me/{n}-Q4_K_M-GGUF\nThis model was converted to GGUF format from [`{i}`]"
                                   f"(https://huggingface.co/{i}) using llama.cpp.\n"), False),
    "mlx": (lambda i, n: (f"# mlx-community/{n}-4bit\n\nThe Model [mlx-community/{n}-4bit](https://huggingface.co/"
                          f"mlx-community/{n}-4bit) was converted to MLX format from [{i}](https://huggingface.co/{i}).\n"), False),
    "mlx-lm": (lambda i, n: (f"# my-model-4bit\nThis model was converted to MLX format from [`{i}`]() using mlx-lm "
                             "version **0.9.0**.\n"), False),
    "original-model-card": (lambda i, n: ("# my-model-4bit\n\nQuantized with our tool. Refer to the [original model card]"
                                          f"(https://huggingface.co/{i}) for more details on the model.\n"), False),
    "axolotl-config": (lambda i, n: (f"# out\n\n<details><summary>See axolotl config</summary>\n\n```yaml\nbase_model: {i}\n"
                                     "model_type: AutoModelForCausalLM\n```\n\n</details>\n"), False),
    "sentence-transformers": (lambda i, n: (f"# SentenceTransformer based on {i}\n\nThis is a [sentence-transformers]"
                                            f"(https://www.SBERT.net) model finetuned from [{i}](https://huggingface.co/{i}).\n"),
                              False),
    "onnx-weights": (lambda i, n: f"https://huggingface.co/{i} with ONNX weights to be compatible with Transformers.js.\n",
                     False),
    "controlnet-weights": (lambda i, n: f"# controlnet-me/canny\n\nThese are controlnet weights trained on {i} with new "
                           "type of conditioning.\n", False),
    "lora-weights-for": (lambda i, n: f"# me/style\n\nThese are me/style DreamBooth LoRA weights for {i}.\n", False),
    "dreambooth": (lambda i, n: f"# DreamBooth - me/dog\n\nThis is a dreambooth model derived from {i}.\n", False),
    # a declared base no source knows (a community model), named after the registry model it was made from
    "community-parent": (lambda i, n: f"---\nbase_model: someuser/{n}-dpo-v2\n---\n# thing\n", False),
    "community-parent-lower": (lambda i, n: f"---\nbase_model: someuser/{n.lower().replace('-', '_')}_sft\n---\n# thing\n",
                               False),
    "community-parent+apache": (lambda i, n: f"---\nbase_model: someuser/{n}-dpo-v2\nlicense: apache-2.0\n---\n# thing\n",
                                True),
    "respelled-parent": (lambda i, n: f"---\nbase_model: someuser/{_respell(n)}-sft\n---\n# thing\n", False),
    "branded-parent": (lambda i, n: f"---\nbase_model: someuser/Magic-{n}\n---\n# thing\n", False),
    "branded-parent-2": (lambda i, n: f"---\nbase_model: someuser/Super-Magic-{n}\n---\n# thing\n", False),
    "branded-title": (lambda i, n: f"# Magic-{n}-v2\n\nA fine-tune.\n", False),
    "merge-of-names": (lambda i, n: f"# merged\n\nThis is a merge of pre-trained language models: {n} and someone/Other-7B.\n",
                       False),
    "lora-for-name": (lambda i, n: f"---\nlibrary_name: peft\n---\n# my-lora\n\nA LoRA adapter for {n} trained on my data.\n",
                      False),
    "label-line": (lambda i, n: f"# My assistant\n\n## Details\n\n- Backbone: {i}\n- Context: 4k\n", False),
    "tuned-participle": (lambda i, n: f"# Orion\n\nAn ORPO fine-tuned {n} for chat.\n", False),
    "bits-quantized": (lambda i, n: f"# Orion\n\n4-bit quantized {n} for low-memory inference.\n", False),
    "further-training": (lambda i, n: f"# Orion\n\nObtained by further training {n} on code.\n", False),
    "lora-trained-on": (lambda i, n: f"# my-style\n\nA LoRA trained on {n} with kohya.\n", False),
    "chinese-prose": (lambda i, n: f"# 我的模型\n\n本模型基于 {n} 微调。\n", False),
    # a participle after the name ('X fine-tuned for ...', 'a X model fine-tuned to ...'), the means ('by fine-tuning X')
    "name-then-participle": (lambda i, n: f"# Orion\n\n{n} fine-tuned for function calling.\n", False),
    "spaced-model-participle": (lambda i, n: f"# Orion\n\nThis is a {_spaced(n)} model fine-tuned to answer legal questions.\n",
                                False),
    "by-fine-tuning": (lambda i, n: f"# Orion\n\nThe model was obtained by fine-tuning {i} on our data.\n", False),
    "adapted-to": (lambda i, n: f"# Orion\n\nThis model is {n} adapted to the legal domain.\n", False),
    # prose writes a name with spaces for its dashes ('Qwen2.5 3B Instruct', 'FLUX.1 dev')
    "spaced-prose": (lambda i, n: f"# Orion\n\nOrion is fine-tuned from {_spaced(n)} on our data.\n", False),
    "spaced-prose+apache": (lambda i, n: (f"---\nlicense: apache-2.0\n---\n# Orion\n\nOrion is fine-tuned from "
                                          f"{_spaced(n)} on our data.\n"), True),
    "spaced-chinese": (lambda i, n: f"# 我的模型\n\n本模型基于 {_spaced(n)} 微调。\n", False),
    # code blocks: a training command, an adapter's usage snippet
    "training-command": (lambda i, n: f"# out\n\n```bash\naccelerate launch train.py --model_name_or_path {i} --lr 2e-5\n```\n",
                         False),
    "adapter-usage": (lambda i, n: (f"# my-lora\n\n```python\nbase = AutoModelForCausalLM.from_pretrained(\"{i}\")\n"
                                    "model = PeftModel.from_pretrained(base, \"me/my-lora\")\n```\n"), False),
    "lora-usage": (lambda i, n: (f"# my-lora\n\n```python\npipe = DiffusionPipeline.from_pretrained(\"{i}\")\n"
                                 "pipe.load_lora_weights(\"me/my-lora\")\n```\n"), False),
}

# sentences that name a registry model without it being a base, in an original model's card that declares
# apache-2.0: any ancestor inferred from them is false, and so is any conflict
NEGATIVE: dict[str, str] = {
    "outperforms": "Our model outperforms [{n}](https://huggingface.co/{i}) on MMLU.",
    "compared": "Compared with {i}, it is twice as fast.",
    "table": "| Model | MMLU |\n|---|---|\n| {n} | 60.1 |\n| ours | 61.0 |",
    "see-also": "## See also\n\n- [{n}](https://huggingface.co/{i})",
    "other-merges": "My other merges: {n}-merge-v2.",
    "tokenizer": "It uses the same tokenizer as {n}.",
    "architecture": "The model follows the {n} architecture, trained from scratch on 2T tokens.",
    "data-generated-by": "Fine-tuned on data generated by {n}.",
    "data-distilled-from": "Fine-tuned on a dataset distilled from {n}.",
    "outputs-of": "Trained on outputs from the {n} model.",
    "x-generated": "Fine-tuned on {n}-generated conversations.",
    "as-the-judge": "Fine-tuned with DPO using {n} as the judge.",
    "reward-model": "Fine-tuned with RLHF using {n} as the reward model.",
    "teacher-outputs": "Distilled from {n} outputs into a model trained from scratch.",
    "could-be-merged": "This model can be merged with {n} for better results.",
    "thanks": "We thank the authors of [{n}](https://huggingface.co/{i}) for their work.",
    "own-quants": "A quantized version of this model is available: [{n}-GGUF](https://huggingface.co/someone/{n}-GGUF).",
    "prompt-format": "This model uses the {n} prompt format.",
    "draft-model": "Use {n} as the draft model for speculative decoding.",
    "usage-snippet": ("```python\nmodel = AutoModelForCausalLM.from_pretrained(\"acme/Orion\")\n"
                      "draft = AutoModelForCausalLM.from_pretrained(\"{i}\")\n```"),
    "not-a-fine-tune": "Orion is not a {n} fine-tune.",
    "architecture-zh": "Orion 是一个从零开始训练的模型，基于 {n} 架构。",
    "architecture-es": "Orion fue entrenado desde cero, basado en la arquitectura de {n}.",
    "unlike": "Unlike a {n} fine-tune, Orion keeps its safety training.",
    "if-you-want": "If you want a {n} fine-tune instead, see our other repos.",
    "spaced-outputs": "Fine-tuned on {s} outputs.",
    "you-can-fine-tune": "You can fine-tune {n} on your own data with our script.",
    "quantized-like": "Quantized with llama.cpp, the same way as {n}.",
    "spaced-beats": "Fine-tuned from scratch, Orion beats {s} on MMLU.",
    "card-adapted-from": "This model card is adapted from the {n} model card.",
    "compared-participle": "We compare against a {s} model fine-tuned on the same data.",
}
# a copy of the model's own card (titled with its very name, declaring its license, speaking of itself in the third
# person in a sentence with an origin phrase) in a
# directory named anything: it must not descend from itself, and takes the base the registry records for it
OWN_CARD = "---\nlicense: {lic}\n---\n# {n}\n\n{n} is trained on 2T tokens and fine-tuned on chat data.\n"
_ORIGINAL = "---\nlicense: apache-2.0\n---\n# Orion\n\nOrion is a language model trained from scratch by Acme.\n\n{s}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", action="store_true", help="list every card whose effective license misses the base's")
    ap.add_argument("--only", nargs="+", choices=sorted(STYLES) + sorted(NEGATIVE) + ["own-card"], default=None)
    args = ap.parse_args()

    import yaml

    from audit.api import Options, audit
    from audit.licenses.catalog import catalog
    from audit.registry import REGISTRY_DIR

    cat = catalog()
    with open(os.path.join(REGISTRY_DIR, "models.yaml"), encoding="utf-8") as fh:
        models = [m for m in yaml.safe_load(fh)["models"] if m.get("key") in cat]
    styles = {k: v for k, v in STYLES.items() if args.only is None or k in args.only}
    root = tempfile.mkdtemp(prefix="mlaudit-sweep-")
    meta: dict[str, tuple[str, str, str]] = {}
    for m in models:
        rid = m["id"]
        name = rid.rsplit("/", 1)[-1]
        for style, (card, _) in styles.items():
            d = os.path.join(root, f"{style}_{len(meta)}")
            os.makedirs(d)
            with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as fh:
                fh.write(card(rid, name))
            meta[d] = (style, rid, m["key"])
    negative = {k: v for k, v in NEGATIVE.items() if args.only is None or k in args.only}
    for m in models:
        rid = m["id"]
        for style, sentence in negative.items():
            d = os.path.join(root, f"{style}_{len(meta)}")
            os.makedirs(d)
            with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as fh:
                name = rid.rsplit("/", 1)[-1]
                fh.write(_ORIGINAL.format(s=sentence.format(i=rid, n=name, s=_spaced(name))))
            meta[d] = (style, rid, m["key"])
    own_cards = args.only is None or "own-card" in args.only
    for m in models if own_cards else ():
        rid = m["id"]
        d = os.path.join(root, f"own-card_{len(meta)}")
        os.makedirs(d)
        lic = m["license"] if "/" not in str(m["license"]) else "other\nlicense_name: " + m["license"].split("/", 1)[1]
        with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as fh:
            fh.write(OWN_CARD.format(lic=lic, n=rid.rsplit("/", 1)[-1]))
        meta[d] = ("own-card", rid, m["key"])
    relation = {m["id"]: m.get("relation_to") for m in models}
    t0 = time.perf_counter()
    report = audit(list(meta), None, options=Options(offline=True, cache_dir=tempfile.mkdtemp(prefix="mlaudit-sweep-cache-")))
    dt = time.perf_counter() - t0
    conflicts = {os.path.abspath(f.subject) for f in report.findings if f.check == "lineage-conflict"}
    kept: Counter[str] = Counter()
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    owed: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    false_anc: Counter[str] = Counter()
    for res in report.models:
        subject = os.path.abspath(res.subject)
        style, rid, key = meta[subject]
        if style == "own-card":
            total[style] += 1
            ancestors = [a.subject for a in res.lineage.ancestors]
            if any(a.lower() == rid.lower() for a in ancestors):
                false_anc[style] += 1
                misses[style].append(f"{rid} descends from itself: {ancestors}")
            if relation.get(rid):
                owed[style] += 1
                caught[style] += relation[rid] in ancestors
            continue
        if style in negative:
            total[style] += 1
            if res.lineage.ancestors:
                false_anc[style] += 1
                misses[style].append(f"{rid} -> {[a.subject for a in res.lineage.ancestors]}")
            caught[style] += subject in conflicts
            continue
        total[style] += 1
        declares = styles[style][1]
        # a card declaring its own license over a base that lets it (a permissive one) rightly carries its own
        if key in res.effective.keys or (declares and _may_relicense(cat[key]) and "apache-2.0" in res.effective.keys):
            kept[style] += 1
        else:
            misses[style].append(f"{rid} [{key}] -> {list(res.effective.keys)}")
        if declares and not _may_relicense(cat[key]):
            owed[style] += 1
            caught[style] += subject in conflicts
    print(f"{len(models)} registry models x {len(styles) + len(negative)} styles = {len(meta)} cards, audited offline in {dt:.1f} s "
          f"({len(meta) / dt:,.0f} cards/s)")
    print(f"{'style':24} {'base license kept':>18} {'conflict when apache-2.0 drops it':>36}")
    for style in styles:
        line = f"{style:24} {kept[style] / total[style]:>17.1%} "
        line += f"{caught[style] / owed[style]:>35.1%}" if owed[style] else f"{'':>35}-"
        print(line + f"   ({total[style] - kept[style]} missed)")
    if negative:
        print(f"\n{'sentence naming a model that is not a base':44} {'false ancestry':>15} {'false conflict':>15}")
        for style in negative:
            print(f"{style:44} {false_anc[style] / total[style]:>15.1%} {caught[style] / total[style]:>15.1%}")
    if own_cards:
        print(f"\na copy of the model's own card: descends from itself {false_anc['own-card'] / total['own-card']:.1%} "
              f"of {total['own-card']}; takes the base the registry records "
              f"{caught['own-card'] / max(1, owed['own-card']):.1%} of {owed['own-card']}")
    if args.verbose:
        for style, rows in misses.items():
            print(f"\n{style}: {len(rows)} missed")
            for row in rows:
                print("  " + row)
    return 0


def _spaced(name: str) -> str:
    """The name as prose writes it, words apart: 'Qwen2.5-3B-Instruct' -> 'Qwen2.5 3B Instruct'."""
    return name.replace("-", " ").replace("_", " ")


def _respell(name: str) -> str:
    """The name with its versions written the other way: 'Qwen2.5-7B' -> 'Qwen-2.5-7B', 'Llama-2-7b' -> 'Llama2-7b'
    (a name whose versions stand neither way is kept)."""
    import re

    apart = re.sub(r"(?<=[A-Za-z]{2})(\d+(?:\.\d+)*)(?=-|$)", r"-\1", name)
    if apart != name:
        return apart
    return re.sub(r"(?<=[A-Za-z])-(\d+(?:\.\d+)*)(?=-|$)", r"\1", name)


def _may_relicense(lic) -> bool:
    """May a derivative of a model under `lic` carry apache-2.0 (the catalog's relicense term)?"""
    return lic.relicense or "apache-2.0" in lic.allowed_derivative_licenses


if __name__ == "__main__":
    sys.exit(main())
