"""A policy file read as YAML with the line of every node, so each mistake names its file and line.

Anchors and aliases are refused (an alias bomb, and a reader that cannot tell where a value came from);
a key given twice is an error; a scalar becomes what yaml.safe_load would make of it.
"""
from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from audit.errors import PolicyError


def did_you_mean(word: object, options: Collection[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class Lines:
    """Line numbers of YAML nodes, so errors can point at the exact line."""

    def __init__(self) -> None:
        self.nodes: dict[int, int] = {}  # id(value) -> line
        self.fields: dict[tuple[int, str], int] = {}  # (id(mapping), key) -> line of the key

    def line(self, obj: object, default: int | None = None) -> int | None:
        return self.nodes.get(id(obj), default)

    def field(self, parent: object, key: str) -> int | None:
        """The line of `key` in the mapping `parent` (the mapping's own line when the key is absent)."""
        return self.fields.get((id(parent), key)) or self.line(parent)


def _to_python(node: yaml.Node, lines: Lines, path: str, loader: yaml.SafeLoader) -> Any:
    """`loader` resolves scalars the way safe_load would (int, bool, date, ...): one per document, not one per
    scalar (each scalar node is constructed once, so nothing it keeps from one scalar reaches another)."""
    if isinstance(node, yaml.ScalarNode):
        try:
            return loader.construct_object(node, deep=True)
        except ValueError as exc:  # a date that does not exist (2027-02-30) reaches datetime as a ValueError
            raise PolicyError(path, f"'{node.value}' is not a valid value: {exc}", node.start_mark.line + 1) from None
    if isinstance(node, yaml.SequenceNode):
        out = [_to_python(n, lines, path, loader) for n in node.value]
        lines.nodes[id(out)] = node.start_mark.line + 1
        return out
    if isinstance(node, yaml.MappingNode):
        d: dict[Any, Any] = {}
        for k, v in node.value:
            key = _to_python(k, lines, path, loader)
            if not isinstance(key, str):
                raise PolicyError(path, f"field names must be text, got {key!r}", k.start_mark.line + 1)
            if key in d:
                raise PolicyError(path, f"field '{key}' appears twice", k.start_mark.line + 1)
            d[key] = _to_python(v, lines, path, loader)
            lines.nodes[id(d[key])] = v.start_mark.line + 1
            lines.fields[(id(d), key)] = k.start_mark.line + 1
        lines.nodes[id(d)] = node.start_mark.line + 1
        return d
    raise PolicyError(path, "unsupported YAML node")


def _yaml_error(exc: yaml.YAMLError, path: str) -> PolicyError:
    mark = getattr(exc, "problem_mark", None)
    return PolicyError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", mark.line + 1 if mark else None)


def first_anchor(text: str) -> yaml.Event | None:
    """The first anchor or alias of a YAML text, read as events (nothing is built); None when there is none.
    Raises yaml.YAMLError when the text is not YAML up to that point."""
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
            return ev
    return None


def _compose(text: str, path: str) -> yaml.Node | None:
    """The policy's node tree; anchors and aliases refused, found as events before anything is composed. Only
    a text with '&' or '*' can hold one: any other text is composed at once, and when that fails, its events
    are read as they would have been first, so the error is the one the event reading raises."""
    if "&" not in text and "*" not in text:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            first_anchor(text)  # a parse error further on is the one to report (as when read as events first)
            raise
    ev = first_anchor(text)
    if ev is not None:
        line = ev.start_mark.line + 1 if ev.start_mark else None
        raise PolicyError(path, "YAML anchors and aliases are not allowed in a policy", line)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, path: str) -> tuple[Any, Lines]:
    lines = Lines()
    try:
        node = _compose(text, path)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    if node is None:
        raise PolicyError(path, "the policy file is empty", 1)
    try:
        return _to_python(node, lines, path, yaml.SafeLoader("")), lines
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None


@dataclass(frozen=True, slots=True)
class Doc:
    """The policy file being read: its path and the lines of its nodes, for errors that point."""

    path: str
    lines: Lines

    def error(self, message: str, line: int | None) -> PolicyError:
        return PolicyError(self.path, message, line)

    def refuse_unknown(self, mapping: Mapping[str, Any], allowed: Collection[str], what: str) -> None:
        for k in mapping:
            if k not in allowed:
                raise self.error(f"unknown {what} '{k}'{did_you_mean(k, allowed)} (one of: "
                                 f"{', '.join(sorted(allowed))})",
                                 self.lines.field(mapping, k))
