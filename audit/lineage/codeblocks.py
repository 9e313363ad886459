"""What a card's code blocks say about the model's base.

Three shapes, each written by the author for a machine rather than as prose:
- a merge configuration (mergekit YAML: `- model: org/name`, `base_model: org/name`);
- a training command or configuration: the checkpoint training started from (`--model_name_or_path`,
  `pretrained_model_name_or_path: ...`, `export MODEL_NAME="..."` in the diffusers examples, `base_model = "..."`);
- an adapter's usage snippet: the model a LoRA, adapter or textual inversion is loaded onto
  (`pipe = DiffusionPipeline.from_pretrained(X)` then `pipe.load_lora_weights(this)`; `PeftModel.from_pretrained(
  AutoModelForCausalLM.from_pretrained(X), this)`): X is what the adapter was trained on.

A usage snippet that loads no adapter names no base: a full model's card loads itself (or a tokenizer, an
assistant model) for reasons that say nothing about where it came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_ID = r"([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)"
_MERGEKIT = re.compile(r"^\s*(?:-\s*)?(?:model|base_model)\s*:\s*[\"']?" + _ID + r"[\"']?\s*$")
# '--model_name_or_path X', '--pretrained_model_name_or_path="X"', 'model_name_or_path: X', 'model_name_or_path="X"'
_TRAIN_ARG = re.compile(r"(?<![\w])-{0,2}(?:pretrained_|base_)?model_name_or_path[\"']?\s*(?:[:=]\s*|\s+)[\"']?" + _ID
                        + r"(?![\w/])")
# 'export MODEL_NAME="X"' (the diffusers training examples)
_EXPORT = re.compile(r"^\s*export\s+MODEL_NAME\s*=\s*[\"']?" + _ID + r"[\"']?\s*$")
# (a variable named for a base model: base, base_model, BASE_MODEL_ID, base_ckpt_path, model_base; not base_url or
# base_dir, whose values look like ids too)
_BASE_VAR = re.compile(r"(?<![\w.])(?:base(?:_?(?:model|ckpt|checkpoint))?(?:_(?:id|name|path|repo))?|model_base)\s*=\s*"
                       r"(?:[\w.]+\.from_pretrained\(\s*)?[\"']" + _ID + r"[\"']", re.IGNORECASE)
_FROM_PRETRAINED = re.compile(r"(?<![\w.])([\w.]+)\.from_pretrained\(\s*(?:pretrained_model_name_or_path\s*=\s*)?[\"']" + _ID
                              + r"[\"']")
# the calls that load an adapter, and the id of the adapter they load
_ADAPTER_CALL = re.compile(r"\.(?:load_lora_weights|load_adapter|load_textual_inversion|load_ip_adapter)\(\s*[\"']?"
                           r"(?:" + _ID + r")?|\bPeftModel(?:For\w+)?\.from_pretrained\(\s*[^,()]+(?:\([^()]*\))?\s*,\s*"
                           r"(?:model_id\s*=\s*)?[\"']?(?:" + _ID + r")?")


# (words one of which the line holds, the pattern's search, evidence kind, note): a line that declares a base
_DECLARING = (
    (("model",), _MERGEKIT.match, "mergekit", "named in a merge configuration"),
    (("name_or_path",), _TRAIN_ARG.search, "code-base",
     "the checkpoint a training command or configuration in the card starts from"),
    (("export",), _EXPORT.match, "code-base", "the MODEL_NAME a training command in the card starts from"),
    (("base", "BASE", "Base"), _BASE_VAR.search, "code-base", "the base model a code block in the card loads"),
)


@dataclass
class CodeBlock:
    """One fenced code block of a card, fed line by line; `bases` says what it names as the model's base."""

    found: list[tuple[str, int, str, str]] = field(default_factory=list)  # (repo id, line index, kind, note)
    _loaded: list[tuple[str, int]] = field(default_factory=list)  # from_pretrained targets (not adapters)
    _adapters: set[str] = field(default_factory=set)
    _loads_adapter: bool = False

    def feed(self, line: str, idx: int) -> None:
        for words, find, kind, note in _DECLARING:
            if any(w in line for w in words):
                m = find(line)
                if m:
                    self.found.append((m.group(1), idx, kind, note))
                    return
        if "load_" in line or "PeftModel" in line:
            for m in _ADAPTER_CALL.finditer(line):
                self._loads_adapter = True
                self._adapters.update(g for g in m.groups() if g)
        if "from_pretrained" in line:
            for m in _FROM_PRETRAINED.finditer(line):
                if "peft" not in m.group(1).lower():  # AutoPeftModel...from_pretrained(X) loads the adapter X itself
                    self._loaded.append((m.group(2), idx))

    def bases(self) -> list[tuple[str, int, str, str]]:
        """(repo id, line index, kind, note) of each base the block names."""
        out = list(self.found)
        if self._loads_adapter:
            out += [(rid, idx, "code-base", "the model a usage snippet in the card loads this adapter onto")
                    for rid, idx in self._loaded if rid not in self._adapters]
        return out
