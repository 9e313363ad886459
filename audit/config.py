"""Project configuration: `.mlaudit.yaml`, or `[tool.mlaudit]` in pyproject.toml.

The nearest configuration wins: the current directory is searched first, then each parent, stopping at
the git root (the first directory holding `.git`) or the filesystem root. Configurations do not merge
across levels. Two configurations in one directory are an error rather than a silent choice.

Relative paths in a configuration are relative to the file's directory, so a run from a subdirectory
means the same as a run from the project root. Command-line options override the file (the CLI does that);
a bad file is a UsageError naming file and line (exit code 2).

A configuration is as strict as a policy: unknown keys, wrong types, YAML anchors and aliases are refused,
and the files it makes mlaudit write (`output`, `outputs`, `lockfile`) must lie inside the project (the git
root holding the file, else the file's directory): a repository's configuration cannot write outside it.
The command line can.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.errors import InputUnreadable, UsageError
from audit.policy.yamldoc import first_anchor
from audit.report import FORMATS
from audit.sources.base import read_text_file

YAML_NAMES = (".mlaudit.yaml", ".mlaudit.yml")
PYPROJECT = "pyproject.toml"
MAX_CONFIG_BYTES = 1024 * 1024
SEVERITIES = ("error", "warning", "note")

# keys whose paths mlaudit writes to: confined to the project
WRITTEN = ("output", "outputs", "lockfile")

# key -> kind of value. Keys may also be written with '-' (fail-on), as pyproject.toml tables often are.
KEYS = {
    "policy": "path",  # policy YAML
    "inputs": "inputs",  # what `mlaudit check` audits when no input is given (paths or Hub repo ids)
    "scan": "path",  # what `mlaudit scan` and `mlaudit lock` scan when no path is given
    "exclude": "strings",  # glob patterns the scan skips
    "format": "format",  # report format on standard output (or in `output`)
    "output": "path",  # write the report there instead of standard output
    "outputs": "outputs",  # more reports on every run: {format: file}
    "fail_on": "severity",  # lowest severity that fails the gate (overrides the policy's fail_on)
    "models_dirs": "paths",  # local snapshot directories
    "cache_dir": "path",  # Hugging Face cache directory
    "offline": "bool",  # never contact the Hub
    "endpoint": "str",  # Hub endpoint
    "baseline": "path",  # findings recorded there do not fail the gate
    "lockfile": "path",  # mlaudit.lock location
    "index": "path",  # a lineage index (`mlaudit index build`), an ancestor source before the Hub
}


@dataclass(frozen=True, slots=True)
class Config:
    path: str  # the file it came from
    values: Mapping[str, Any] = field(default_factory=dict)  # validated; paths already resolved

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values


# --- discovery -----------------------------------------------------------------------------------------

def find_config(start: str | None = None) -> str | None:
    """The configuration file that applies in `start` (default: the current directory), or None."""
    here = os.path.abspath(start or os.getcwd())
    while True:
        found = [os.path.join(here, n) for n in YAML_NAMES if os.path.isfile(os.path.join(here, n))]
        pyproject = os.path.join(here, PYPROJECT)
        if os.path.isfile(pyproject) and _has_tool_table(pyproject):
            found.append(pyproject)
        if len(found) > 1:
            names = " and ".join(os.path.basename(p) + (" [tool.mlaudit]" if p.endswith(PYPROJECT) else "") for p in found)
            raise UsageError(here, f"{names} both configure mlaudit: keep one")
        if found:
            return found[0]
        if os.path.exists(os.path.join(here, ".git")):
            return None  # the git root: a configuration above it belongs to another project
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def discover(start: str | None = None) -> Config | None:
    path = find_config(start)
    return load_config(path) if path else None


def _has_tool_table(path: str) -> bool:
    """Does this pyproject.toml configure mlaudit, in any TOML spelling ([tool.mlaudit], dotted keys, an inline
    table)? A file that mentions mlaudit but is not valid TOML counts: loading it then reports the error."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_CONFIG_BYTES)
    except OSError:
        return False
    if "mlaudit" not in text:
        return False
    try:
        data = _toml_loads(text)
    except ValueError:
        return True
    tool = data.get("tool")
    return isinstance(tool, dict) and "mlaudit" in tool


# --- loading -------------------------------------------------------------------------------------------

def load_config(path: str) -> Config:
    """Read and validate one configuration file (.mlaudit.yaml / .mlaudit.yml or pyproject.toml)."""

    try:
        text = read_text_file(path, limit=MAX_CONFIG_BYTES)
    except InputUnreadable as exc:
        raise UsageError(path, exc.message) from None
    if os.path.basename(path) == PYPROJECT or path.endswith(".toml"):
        raw, lines = _parse_toml(text, path)
    else:
        raw, lines = _parse_yaml(text, path)
    base = os.path.dirname(os.path.abspath(path))
    root = project_root(base)
    values = {}
    for key, value in raw.items():
        name = key.replace("-", "_") if isinstance(key, str) else key
        where = f"{path}:{lines.get(key, 1)}"
        if name not in KEYS:
            raise UsageError(where, f"unknown key '{key}'{_did_you_mean(str(name))} (one of: {', '.join(sorted(KEYS))})")
        if name in values:
            raise UsageError(where, f"key '{key}' is given twice (as '{name}' and a spelling of it)")
        values[name] = _check(name, KEYS[name], value, base, where)
        if name in WRITTEN:
            _confine(name, values[name], root, where)
    return Config(path, values)


def project_root(start: str) -> str:
    """The git root holding `start`, else `start` itself."""
    here = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.abspath(start)
        here = parent


def _confine(name: str, value: Any, root: str, where: str) -> None:
    targets = value.values() if isinstance(value, Mapping) else [value]
    real_root = os.path.realpath(root)
    for target in targets:
        real = os.path.realpath(target)
        if os.path.commonpath([real, real_root]) != real_root:
            raise UsageError(where, f"'{name}' writes to {target}, outside the project ({root}): a configuration "
                                    f"file may only write inside its project (give the path on the command line)")


def _did_you_mean(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, KEYS, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _refuse_anchors(text: str, path: str) -> None:
    import yaml

    try:
        event = first_anchor(text)
    except yaml.YAMLError:
        return  # compose below reports it with its line
    if event is not None:
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        raise UsageError(f"{path}:{line}", "YAML anchors and aliases are not allowed in a configuration")


def _parse_yaml(text: str, path: str) -> tuple[dict, dict]:
    import yaml

    _refuse_anchors(text, path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise UsageError(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if node is None:
        return {}, {}
    if not isinstance(node, yaml.MappingNode):
        raise UsageError(f"{path}:{node.start_mark.line + 1}", "the configuration must be a mapping of keys to values")
    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for k, v in node.value:
        line = k.start_mark.line + 1
        if not isinstance(k, yaml.ScalarNode):
            raise UsageError(f"{path}:{line}", "keys must be text")
        if k.value in raw:
            raise UsageError(f"{path}:{line}", f"key '{k.value}' appears twice")
        try:
            raw[k.value] = yaml.SafeLoader("").construct_object(v, deep=True)
        except yaml.YAMLError as exc:
            raise UsageError(f"{path}:{v.start_mark.line + 1}", f"not valid YAML: {exc}") from None
        lines[k.value] = line
    return raw, lines


def _toml_loads(text: str) -> dict[str, Any]:
    """tomllib.loads; its TOMLDecodeError is a ValueError."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,unused-ignore]
    return tomllib.loads(text)


def _parse_toml(text: str, path: str) -> tuple[dict, dict]:
    try:
        data = _toml_loads(text)
    except ValueError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = getattr(exc, "lineno", None) or (int(m.group(1)) if m else None)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
        raise UsageError(f"{path}:{line}" if line else path, f"not valid TOML: {msg}") from None
    table = data.get("tool", {}).get("mlaudit") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return {}, {}
    header = _toml_header_line(text)
    if not isinstance(table, dict):
        raise UsageError(f"{path}:{header}", "tool.mlaudit must be a table")
    return table, {k: _toml_key_line(text, k, header) for k in table}


def _toml_header_line(text: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\s*\[\s*tool\s*\.\s*mlaudit\s*\]", line):
            return i
    for i, line in enumerate(text.splitlines(), 1):
        if "mlaudit" in line:
            return i
    return 1


def _toml_key_line(text: str, key: str, header: int) -> int:
    """The line of `key = ...` in the [tool.mlaudit] table (or of its own [tool.mlaudit.key] table)."""
    lines = text.splitlines()
    sub = re.compile(rf"^\s*\[\s*tool\s*\.\s*mlaudit\s*\.\s*[\"']?{re.escape(key)}[\"']?\s*\]")
    for i, line in enumerate(lines, 1):
        if sub.match(line):
            return i
    dotted = re.compile(rf"^\s*(?:tool\s*\.\s*)?mlaudit\s*\.\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    for i, line in enumerate(lines, 1):
        if dotted.match(line):
            return i
    assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    for i in range(header, len(lines)):
        line = lines[i]
        if re.match(r"^\s*\[", line):
            break  # the next table
        if assign.match(line):
            return i + 1
    return header


# --- values --------------------------------------------------------------------------------------------

def _resolve(value: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def _check(name: str, kind: str, value: Any, base: str, where: str) -> Any:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise UsageError(where, f"'{name}' must be {what}, not {value!r}")

    if kind in ("path", "str"):
        need(isinstance(value, str) and value.strip() != "", "text")
        return _resolve(value, base) if kind == "path" else value.strip()
    if kind == "bool":
        need(isinstance(value, bool), "true or false")
        return value
    if kind == "severity":
        need(isinstance(value, str) and value.lower() in SEVERITIES, f"one of {', '.join(SEVERITIES)}")
        return value.lower()
    if kind == "format":
        need(isinstance(value, str) and value in FORMATS, f"one of {', '.join(FORMATS)}")
        return value
    if kind in ("strings", "paths", "inputs"):
        if isinstance(value, str):
            value = [value]
        need(isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value), "a list of text")
        if kind == "paths":
            return tuple(_resolve(v, base) for v in value)
        if kind == "inputs":
            # a path that exists next to the configuration is a path; anything else (a Hub repo id) stays as written
            return tuple(_resolve(v, base) if os.path.exists(os.path.join(base, v)) else v for v in value)
        return tuple(value)
    if kind == "outputs":
        need(isinstance(value, dict), "a mapping of format to file, e.g. {sarif: mlaudit.sarif}")
        out = {}
        for fmt, target in value.items():
            if fmt not in FORMATS:
                raise UsageError(where, f"'outputs': unknown format '{fmt}' (one of: {', '.join(FORMATS)})")
            if not isinstance(target, str) or not target.strip():
                raise UsageError(where, f"'outputs': the file for {fmt} must be text")
            out[fmt] = _resolve(target, base)
        return out
    raise AssertionError(kind)  # pragma: no cover - KEYS and this function are edited together
