"""Model card text -> ModelCard: front matter (safely), typed fields, body, problems recorded.

Real cards are messy: no front matter, malformed YAML, CRLF, BOMs, `licence:`, list-valued licenses,
YAML anchors. Each is handled and recorded as a Problem; only input we cannot decide on at all
(binary, oversized) raises, and that happens in the source that read the bytes.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from audit.model import ModelCard, Origin, Problem

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSER = getattr(yaml, "CParser", None)

MAX_FRONT_MATTER_BYTES = 256 * 1024
# huggingface_hub's own rule: the card starts with '---' (after optional blank space) and the
# block ends at the next line that is exactly '---'.
_TOP_KEY = re.compile(r"^([A-Za-z_][\w.-]*)[ \t]*:", re.MULTILINE)

# front-matter fields we copy out; everything else is ignored (cards carry arbitrary metadata)
_BRITISH = {"licence": "license", "licence_name": "license_name", "licence_link": "license_link"}
KNOWN_FIELDS = (
    "license",
    "license_name",
    "license_link",
    "base_model",
    "base_model_relation",
    "datasets",
    "tags",
    "gated",
    "extra_gated_prompt",
    "extra_gated_heading",
    "model_name",
    "language",
    "library_name",
    "pipeline_tag",
    "new_version",
)
RELATIONS = ("adapter", "merge", "quantized", "finetune")


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (yaml_text or None, body, body_line) where body_line is 1-based."""
    if text.startswith("\ufeff"):
        text = text[1:]
    start = len(text) - len(text.lstrip())
    if not text.startswith("---", start):
        return None, text, 1
    first = text.find("\n", start)
    if first == -1 or text[start + 3:first].strip(" \t\r"):
        return None, text, 1
    # the block ends at the next line that is exactly '---' (trailing blanks allowed)
    pos = first
    while True:
        end = text.find("\n---", pos)
        if end == -1:
            return None, text, 1
        line_end = text.find("\n", end + 4)
        rest = text[end + 4: line_end if line_end != -1 else len(text)]
        if not rest.strip(" \t\r"):
            break
        pos = end + 1
    yaml_text = text[first + 1: end].rstrip("\r")
    body_start = len(text) if line_end == -1 else line_end + 1
    body_line = text.count("\n", 0, body_start) + (1 if line_end != -1 else 2)
    return yaml_text, text[body_start:], body_line


def _has_anchor_or_alias(yaml_text: str) -> bool:
    """True when the YAML uses anchors or aliases (the alias-bomb vector). Cheap pre-check, then events."""
    if "&" not in yaml_text and "*" not in yaml_text:
        return False
    return any(
        isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None) for ev in yaml.parse(yaml_text, Loader=_LOADER)
    )


_READ_KEYS = frozenset(KNOWN_FIELDS) | frozenset(_BRITISH)
_CONTINUATION = (" ", "\t", "-", "#")


def _known_only(yaml_text: str) -> str | None:
    """The front matter with every top-level field mlaudit does not read blanked out (line count kept, so
    error lines stay right); None when the text is not a plain block mapping and must be parsed whole.

    Cards carry large metadata mlaudit never reads (model-index, widget, eval results); building Python
    objects for it is most of the cost of reading a card."""
    out: list[str] = []
    keep = None
    dropped = False
    for line in yaml_text.split("\n"):
        if not line or line.startswith(_CONTINUATION):
            if keep is None and line.strip() and not line.lstrip().startswith("#"):
                return None  # content before any field: not a plain mapping
            out.append(line if keep else "")
            continue
        m = _TOP_KEY.match(line)
        if m is None:
            return None  # a flow mapping, a document marker, a complex key...: parse it all
        keep = m.group(1) in _READ_KEYS
        dropped = dropped or not keep
        out.append(line if keep else "")
    return "\n".join(out) if dropped else yaml_text


def _field_lines(yaml_text: str, first_line: int, origin: Origin, problems: list[Problem]) -> dict[str, int]:
    """Field -> the card line of the value YAML reads (a repeated key's last one; the Hub's spelling over the
    British one). A field mlaudit reads that is set more than once is recorded: readers disagree on which wins."""
    seen: dict[str, list[int]] = {}
    for m in _TOP_KEY.finditer(yaml_text):
        seen.setdefault(m.group(1), []).append(first_line + yaml_text.count("\n", 0, m.start()))
    lines: dict[str, int] = {}
    for key, at in seen.items():
        name = _BRITISH.get(key, key)
        if name == key or name not in seen:
            lines[name] = at[-1]
        if len(at) > 1 and key in _READ_KEYS:
            problems.append(Problem(
                "card-duplicate-key",
                f"'{key}' is set {len(at)} times (lines {', '.join(map(str, at))}); the last one is read",
                origin.at(line=at[-1], field=key)))
    return lines


def _str_list(value: Any, name: str, origin: Origin, problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, str) and v.strip():
                out.append(v.strip())
            elif v is not None:
                problems.append(Problem("card-field-type", f"{name}: ignored a non-string item {v!r}", origin))
        return tuple(out)
    problems.append(Problem("card-field-type", f"{name} should be a string or a list, got {type(value).__name__}", origin))
    return ()


def _str(value: Any, name: str, origin: Origin, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        problems.append(Problem("card-field-type", f"{name} is a one-item list; read as {value[0]!r}", origin))
        return value[0].strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problems.append(Problem("card-field-type", f"{name} is a number; read as text", origin))
        return str(value)
    problems.append(Problem("card-field-type", f"{name} should be a string, got {type(value).__name__}", origin))
    return None


def parse_card(text: str, origin: Origin) -> ModelCard:
    """Parse card text. Never raises on content: every oddity becomes a Problem on the card."""
    problems: list[Problem] = []
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    yaml_text, body, body_line = split_front_matter(text)
    raw: dict[str, Any] = {}
    field_lines: dict[str, int] = {}
    if yaml_text is None:
        if text.lstrip("\ufeff \t\n").startswith("---"):
            problems.append(Problem("card-front-matter-unclosed", "front matter starts with '---' but never ends", origin.at(line=1)))
        else:
            problems.append(Problem("card-no-front-matter", "card has no YAML front matter (no declared license)", origin.at(line=1)))
    elif len(yaml_text) > MAX_FRONT_MATTER_BYTES:
        problems.append(
            Problem("card-front-matter-too-large", f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB; not read", origin.at(line=1))
        )
    else:
        fm_line = body_line - yaml_text.count("\n") - 2  # the card's line of the first front-matter line
        field_lines = _field_lines(yaml_text, fm_line, origin, problems)
        loaded = _load_front_matter(yaml_text, fm_line, origin, problems)
        raw = _known_fields(loaded, field_lines, origin, fm_line, problems)
    return _card(origin, raw, body, body_line, field_lines, problems, has_front_matter=yaml_text is not None)


def _load_front_matter(yaml_text: str, fm_line: int, origin: Origin, problems: list[Problem]) -> Any:
    """The front matter as Python objects (only the fields mlaudit reads); None, with a Problem, when unreadable."""
    try:
        # anchors anywhere are refused (an alias bomb in a field we skip is still a hostile card)
        if _has_anchor_or_alias(yaml_text):
            problems.append(
                Problem("card-yaml-alias", "front matter uses YAML anchors/aliases, which are refused; not read", origin.at(line=fm_line))
            )
            return None
        return yaml.load(_known_only(yaml_text) or yaml_text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + fm_line if mark is not None else fm_line
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem("card-malformed-yaml", f"front matter is not valid YAML: {reason}", origin.at(line=line)))
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        problems.append(Problem("card-malformed-yaml", f"front matter could not be read: {type(exc).__name__}", origin.at(line=fm_line)))
    return None


def _known_fields(loaded: Any, field_lines: dict[str, int], origin: Origin, fm_line: int,
                  problems: list[Problem]) -> dict[str, Any]:
    """The KNOWN_FIELDS of the loaded front matter, British spellings read as the Hub's."""
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        problems.append(Problem("card-front-matter-type", "front matter is not a mapping of fields", origin.at(line=fm_line)))
        return {}
    raw: dict[str, Any] = {}
    for key, value in loaded.items():
        if not isinstance(key, str):
            continue
        name = _BRITISH.get(key, key)
        if name != key:
            problems.append(
                Problem("card-british-spelling", f"'{key}' read as '{name}' (the Hub only reads '{name}')",
                        origin.at(line=field_lines.get(name), field=key))
            )
            if name in raw:
                continue  # the spelling the Hub reads wins
        if name in KNOWN_FIELDS:
            raw[name] = value
    return raw


def _card(origin: Origin, raw: dict[str, Any], body: str, body_line: int, field_lines: dict[str, int],
          problems: list[Problem], *, has_front_matter: bool) -> ModelCard:
    """The typed ModelCard from the known fields; values of the wrong type become Problems."""

    def f(name: str) -> Origin:
        return origin.at(line=field_lines.get(name), field=name)

    license_values = _str_list(raw.get("license"), "license", f("license"), problems)
    if isinstance(raw.get("license"), (list, tuple)):
        problems.append(Problem("card-license-list", "license is a list; the Hub expects one id", f("license")))
    relation = _str(raw.get("base_model_relation"), "base_model_relation", f("base_model_relation"), problems)
    if relation is not None and relation.lower() not in RELATIONS:
        problems.append(Problem("card-field-value", f"base_model_relation {relation!r} is not one of {', '.join(RELATIONS)}",
                                f("base_model_relation")))
    gated = raw.get("gated")
    if gated is None and raw.get("extra_gated_prompt"):
        gated = "extra_gated_prompt"
    return ModelCard(
        origin=origin,
        front_matter=raw,
        license=license_values,
        license_name=_str(raw.get("license_name"), "license_name", f("license_name"), problems),
        license_link=_str(raw.get("license_link"), "license_link", f("license_link"), problems),
        base_models=_str_list(raw.get("base_model"), "base_model", f("base_model"), problems),
        base_model_relation=relation.lower() if relation else None,
        datasets=_str_list(raw.get("datasets"), "datasets", f("datasets"), problems),
        tags=_str_list(raw.get("tags"), "tags", f("tags"), problems),
        gated=gated,
        body=body,
        body_line=body_line,
        field_lines=field_lines,
        problems=tuple(problems),
        has_front_matter=has_front_matter,
    )
