"""Model references in config files: YAML, JSON and TOML values under well-known keys.

A value counts only when its key is one that names a model and it looks like a Hub repo id "org/name"
(a bare name in a config is too often something else); an API provider's model ("openai/gpt-4o") is not
a Hub repo. A "revision" key beside the model key pins it.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from audit.model import Reference
from audit.sources.codebase.sourcefile import ScanStats, SourceFile, line_of, line_starts
from audit.sources.codebase.urls import hub_id

# Config keys whose value names a model. base_model_name_or_path is what PEFT writes in adapter_config.json.
CONFIG_KEYS = frozenset({
    "model", "model_name", "model_name_or_path", "model_id", "base_model", "pretrained_model_name_or_path",
    "repo_id", "base_model_name_or_path",
    "tokenizer", "tokenizer_name", "speculative_model", "draft_model",  # vLLM engine configs
})
_KEYS_ALTERNATION = "|".join(sorted(CONFIG_KEYS, key=len, reverse=True))  # longest first, for regexes
# Config values such as "openai/gpt-4o" name an API provider's model (LiteLLM style), not a Hub repo.
_PROVIDER_PREFIXES = frozenset({
    "openai", "azure", "azure_ai", "anthropic", "bedrock", "vertex_ai", "gemini", "ollama", "ollama_chat",
    "groq", "mistral", "cohere", "together_ai", "replicate", "openrouter", "deepseek", "xai", "perplexity",
    "fireworks_ai", "anyscale", "sagemaker", "watsonx", "cloudflare", "databricks", "voyage", "hosted_vllm",
    "text-completion-openai", "cerebras", "nvidia_nim", "deepinfra", "ai21", "github", "friendliai",
})
_YAML_STR = "tag:yaml.org,2002:str"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def config_id(value: Any) -> str | None:
    """`value` as a Hub model id when a config names one: "org/name", not a local path or a provider model."""
    if not isinstance(value, str):
        return None
    model = hub_id(value, allow_single=False)
    if model is None or model.split("/", 1)[0].lower() in _PROVIDER_PREFIXES:
        return None
    return model


def scan_yaml(file: SourceFile, stats: ScanStats) -> list[Reference]:
    if not any(k in file.text for k in CONFIG_KEYS):
        return []
    try:
        refused = _refuse_yaml(file.text)
        docs = [] if refused else list(yaml.compose_all(file.text, Loader=_LOADER))
    except yaml.YAMLError:
        return _scan_config_lines(file)  # templated YAML (Helm, Jinja): read key lines one by one
    if refused:
        line, why = refused
        return [file.ref(line, "parse-error", None, reason=f"{why}; only key lines were read")] + _scan_config_lines(file)
    refs: list[Reference] = []
    todo: list[yaml.Node] = [d for d in docs if d is not None]
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            refs.extend(_yaml_mapping_refs(file, node))
            todo.extend(v for _, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return refs


MAX_YAML_DEPTH = 100  # a config nests a few levels; 100,000 would exhaust the composer's stack


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _refuse_yaml(text: str) -> tuple[int, str] | None:
    """(line, why) when the YAML must not be composed: it uses aliases (an alias bomb expands without bound)
    or nests deeper than MAX_YAML_DEPTH. Read as a stream of events, which takes no stack."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            return _line(event), "YAML aliases are refused (an alias can multiply a document without bound)"
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return _line(event), f"YAML nested deeper than {MAX_YAML_DEPTH} levels is refused"
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _yaml_mapping_refs(file: SourceFile, node: yaml.MappingNode) -> list[Reference]:
    """References under the model keys of one mapping, pinned by its "revision" key if it has one."""
    revision = None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "revision" and isinstance(v, yaml.ScalarNode):
            revision = v.value or None
    refs = []
    for k, v in node.value:
        if not (isinstance(k, yaml.ScalarNode) and k.value in CONFIG_KEYS):
            continue
        if isinstance(v, yaml.ScalarNode):
            values = [v]
        elif isinstance(v, yaml.SequenceNode):
            values = [x for x in v.value if isinstance(x, yaml.ScalarNode)]
        else:
            values = []
        for scalar in values:
            if scalar.tag != _YAML_STR and scalar.style is None:
                continue  # an int, bool or null, not an id
            model = config_id(scalar.value)
            if model:
                refs.append(file.ref(scalar.start_mark.line + 1, "config-key", model, revision))
    return refs


_KEY_LINE = re.compile(
    r"""^\s*-?\s*["']?(?P<key>""" + _KEYS_ALTERNATION
    + r""")["']?\s*[:=]\s*["']?(?P<value>[^"'\s#,]+)["']?\s*,?\s*(?:#.*)?$"""
)


def _scan_config_lines(file: SourceFile) -> list[Reference]:
    """Key lines one by one, for a config that does not parse (templated YAML, broken TOML)."""
    refs = []
    for i, line in enumerate(file.lines, 1):
        m = _KEY_LINE.match(line)
        if m:
            model = config_id(m.group("value"))
            if model:
                refs.append(file.ref(i, "config-key", model))
    return refs


_JSON_PAIR = re.compile(
    r'"(?P<key>' + _KEYS_ALTERNATION + r')"\s*:\s*(?P<value>"(?:[^"\\\n]|\\.)*"|\[[^\[\]{}]*\])'
)
_JSON_STR = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_REVISION = re.compile(r'"revision"\s*:\s*("(?:[^"\\\n]|\\.)*")')


def scan_json(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """Key/value pairs found by a tokenising scan, so each keeps its line (JSONC and JSON lines work too)."""
    text = file.text
    if not any(f'"{k}"' in text for k in CONFIG_KEYS):
        return []
    starts = line_starts(text)
    refs = []
    for m in _JSON_PAIR.finditer(text):
        value = m.group("value")
        base = m.start("value")
        items = [(value, base)] if value.startswith('"') else [
            (s.group(0), base + s.start()) for s in _JSON_STR.finditer(value)
        ]
        revision = _nearby_revision(text, m.start())
        for literal, offset in items:
            try:
                decoded = json.loads(literal)
            except ValueError:
                continue
            model = config_id(decoded)
            if model:
                refs.append(file.ref(line_of(starts, offset), "config-key", model, revision))
    return refs


_REVISION_WINDOW = 4096


def _nearby_revision(text: str, pos: int) -> str | None:
    """A "revision" key in the same JSON object as the model key, if there is one."""
    # within a bounded window: an object's revision sits beside its model key, and unbounded searches made
    # a file of many keys without braces quadratic
    start = text.rfind("{", max(0, pos - _REVISION_WINDOW), pos)
    end = text.find("}", pos, pos + _REVISION_WINDOW)
    if start < 0 or end < 0:
        return None
    chunk = text[start:end]
    if chunk.count("{") > 1:
        return None  # nested objects: the revision may belong to another one
    m = _JSON_REVISION.search(chunk)
    if not m:
        return None
    try:
        rev = json.loads(m.group(1))
    except ValueError:
        return None
    return rev if isinstance(rev, str) and rev else None


def scan_toml(file: SourceFile, stats: ScanStats) -> list[Reference]:
    if not any(k in file.text for k in CONFIG_KEYS):
        return []
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            return _scan_config_lines(file)
    try:
        data = tomllib.loads(file.text)
    except (tomllib.TOMLDecodeError, ValueError):
        return _scan_config_lines(file)
    except (RecursionError, MemoryError):
        return [file.ref(1, "parse-error", None, reason="TOML nested too deeply to parse; only key lines were read"),
                *_scan_config_lines(file)]
    pairs: list[tuple[str, str, str | None]] = []
    _toml_pairs(data, pairs)
    refs = []
    used: set[int] = set()
    for key, value, revision in pairs:
        model = config_id(value)
        if not model:
            continue
        line = _toml_line(file.lines, key, value, used)
        refs.append(file.ref(line, "config-key", model, revision))
    return refs


def _toml_pairs(node: Any, out: list[tuple[str, str, str | None]]) -> None:
    if isinstance(node, dict):
        rev = node.get("revision") if isinstance(node.get("revision"), str) else None
        for key, value in node.items():
            if key in CONFIG_KEYS:
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, str):
                        out.append((key, v, rev))
            _toml_pairs(value, out)
    elif isinstance(node, list):
        for item in node:
            _toml_pairs(item, out)


def _toml_line(lines: Sequence[str], key: str, value: str, used: set[int]) -> int:
    """The line holding `key = "value"` (first not already taken); else the first line with the value."""
    key_re = re.compile(rf"""(^|[\s{{,."'])["']?{re.escape(key)}["']?\s*=""")
    fallback = None
    for i, line in enumerate(lines, 1):
        if value not in line:
            continue
        if fallback is None and i not in used:
            fallback = i
        if i not in used and key_re.search(line):
            used.add(i)
            return i
    if fallback is not None:
        used.add(fallback)
        return fallback
    return 1
