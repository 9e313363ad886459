"""Model references in deployment files: shell scripts, Makefiles, Dockerfiles, compose files, Kubernetes
manifests and Helm charts, CI workflows, .env files and Ollama Modelfiles.

Every such file is read the same way, as command lines. Each line is split into shell words (YAML list
items, JSON exec arrays and `key:` prefixes become words too); words are grouped into statements (a line
with its backslash continuations, or a run of one-word YAML list items such as a container's `args:`), and each
statement is matched against the tables below: options whose value is a model (`--model`), commands whose
argument is one (`vllm serve`, `hf download`, `ollama run`) and environment variables that name one
(`MODEL_ID=`). A value read from a variable is looked up among the file's own assignments when the file
sets it once; anything else (`$MODEL` from outside, `${MODEL:-default}`, `{{ .Values.model }}`,
`${{ inputs.model }}`) is an unresolved reference, never a guess. A local path, a GGUF file name, a docker
image (`vllm/vllm-openai:latest`) or an Ollama library model (`llama3:8b`) is not a Hub reference.

Pins: `--revision` (`--tokenizer-revision` for `--tokenizer`) in the same command, `ORG/NAME@REV`, and
`ORG/NAME:SHA` when the tag is a full commit sha. Any other `:TAG` after an hf.co/ model or a llama.cpp
`-hf` repo picks a GGUF quantisation, not a revision, so the reference is unpinned.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from audit.model import Reference
from audit.sources.codebase.configs import config_id
from audit.sources.codebase.sourcefile import ScanStats, SourceFile
from audit.sources.codebase.urls import hub_id
from audit.sources.ids import HUB_HOST, is_commit_sha

# --- the tables -----------------------------------------------------------------------------------------------

# option -> the option that pins its revision in the same command (None: the tool has none)
MODEL_OPTIONS: dict[str, str | None] = {
    "--model": "--revision",  # vLLM, SGLang, optimum-cli, lm-eval, mlx-lm ...
    "--model-id": "--revision",  # text-generation-inference
    "--model-path": "--revision",  # SGLang
    "--model-name-or-path": "--revision",
    "--model_name_or_path": "--revision",
    "--tokenizer": "--tokenizer-revision",  # vLLM
    "--speculative-model": None,
    "--draft-model": None,
    "--hf-repo": None,  # llama.cpp
    "-hf": None,
    "-hfr": None,
    "--hf-repo-draft": None,
    "-hfd": None,
}
# options whose value may carry a ":QUANT" tag (llama.cpp picks a GGUF file by it): a tag, not a revision
QUANT_TAG_OPTIONS = frozenset({"--hf-repo", "-hf", "-hfr", "--hf-repo-draft", "-hfd"})


@dataclass(frozen=True, slots=True)
class Command:
    """A command whose first argument names a model."""

    words: tuple[str, ...]  # the command's words; the first is matched by base name (/usr/bin/vllm)
    allow_single: bool  # a bare "name" is a canonical Hub id here (`vllm serve gpt2`)
    hub_prefix: bool  # only an hf.co/ORG/NAME argument is a Hub model (else an Ollama library model)
    refused_by: tuple[str, ...] = ()  # --repo-type values that make it something other than a model


COMMANDS: tuple[Command, ...] = (
    Command(("vllm", "serve"), True, False),
    Command(("hf", "download"), True, False, ("dataset", "space")),
    Command(("huggingface-cli", "download"), True, False, ("dataset", "space")),
    Command(("ollama", "run"), False, True),
    Command(("ollama", "pull"), False, True),
)
MODELFILE_FROM = Command(("FROM",), False, True)  # Ollama Modelfile: FROM hf.co/ORG/NAME:TAG

# Environment variables that name a model: MODEL, MODEL_ID, HF_MODEL, EMBEDDING_MODEL_NAME, TOKENIZER ...
ENV_NAME = re.compile(r"^(?:[A-Z][A-Z0-9]*_)*(?:MODEL|TOKENIZER)(?:_(?:ID|NAME|REPO|REPO_ID|NAME_OR_PATH|PATH))?$")
# ... except those that name where a model goes or what it is called, not what is loaded
ENV_NOT_LOADED = re.compile(r"^(?:SERVED|HUB|OUTPUT|PUSH|SAVE|TARGET|FINETUNED|FINE_TUNED)_")

_ASSIGN_OPS = frozenset({"=", "?=", ":=", "::=", "+="})  # Make: NAME ?= value
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;"})
_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGN_WORD = re.compile(rf"^(?P<name>{_VAR_NAME})=(?P<value>.*)$")
_YAML_KEY_WORD = re.compile(rf"^(?P<name>{_VAR_NAME}):$")
# a whole value that is one variable: $NAME ${NAME} $(NAME) ${{ env.NAME }}
_WHOLE_VAR = re.compile(
    rf"^(?:\$(?P<a>{_VAR_NAME})|\$\{{(?P<b>{_VAR_NAME})\}}|\$\((?P<c>{_VAR_NAME})\)|\$\{{\{{env\.(?P<d>{_VAR_NAME})\}}\}})$"
)
_DEFAULTED_VAR = re.compile(rf"^\$\{{(?P<name>{_VAR_NAME}):?[-=](?P<default>[^}}]*)\}}$")  # ${NAME:-default}
# {{ .Values.model }} and ${{ inputs.model }}; [^{}] (not .*?) keeps a line of unclosed "{{" linear
_TEMPLATE = re.compile(r"\$?\{\{([^{}]*)\}\}")
_HUB_PREFIX = re.compile(rf"^(?:https?://)?{HUB_HOST}/", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    line: int


# --- reading a file into statements -------------------------------------------------------------------------

MAX_SHLEX_LINE = 4096  # shlex grows a word one character at a time (quadratic); longer lines split on spaces
_HIDDEN = {" ": "\x01", "|": "\x02", "&": "\x03", ";": "\x04", "'": "\x05", '"': "\x06"}


def _hide(expr: str) -> str:
    """A template expression as one shell word: its spaces, pipes and quotes stand in for themselves."""
    return "".join(_HIDDEN.get(c, c) for c in expr)


def _unhide(word: str) -> str:
    back = {v: k for k, v in _HIDDEN.items()}
    return "".join(back.get(c, c) for c in word)

def _split_line(line: str) -> list[str]:
    """Shell words of one line; templates kept whole, YAML/JSON list punctuation dropped."""
    line = _TEMPLATE.sub(lambda m: ("$" if m.group(0).startswith("$") else "") + "{{" + _hide(m.group(1).strip()) + "}}", line)
    try:
        if len(line) > MAX_SHLEX_LINE:
            raise ValueError("too long for shlex")
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        raw = list(lex)
    except ValueError:  # an unbalanced quote (YAML prose, a Makefile quirk) or a very long line
        raw = [w.strip("'\"") for w in line.split() if not w.startswith("#")]
    words = []
    for w in raw:
        w = w.removeprefix("[").removesuffix(",").removesuffix("]").removesuffix(",")
        if w:
            words.append(w)
    return words


def statements(lines: list[str]) -> list[list[_Word]]:
    """Words grouped into statements: backslash continuations join lines, so does a run of one-word YAML
    list items at one indent (a container's `args:`, one argument per item); `&&`, `;` and `|` end one.
    A list item of several words (a CI `script:` line) is a command of its own."""
    out: list[list[_Word]] = []
    current: list[_Word] = []
    continued = False
    argv_indent: int | None = None  # indent of the run of one-word list items being joined
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        is_item = stripped.startswith("- ") or stripped == "-"
        words = _split_line(stripped.removesuffix("\\"))
        if is_item and words and words[0] == "-":
            words = words[1:]
        argv_item = is_item and len(words) == 1
        joins = continued or (argv_item and argv_indent == indent)
        if not joins and current:
            out.append(current)
            current = []
        argv_indent = indent if argv_item else None
        continued = stripped.endswith("\\")
        for w in words:
            if w in _SEPARATORS:
                if current:
                    out.append(current)
                current = []
            else:
                current.append(_Word(w, number))
    if current:
        out.append(current)
    return out


# --- variables ------------------------------------------------------------------------------------------------

def _assignments(stmt: list[_Word]) -> list[tuple[str, str]]:
    """(name, raw value) pairs a statement sets: NAME=value, ENV NAME value, NAME ?= value, NAME: value."""
    texts = [w.text for w in stmt]
    pairs = []
    for i, t in enumerate(texts):
        m = _ASSIGN_WORD.match(t)
        if m:
            pairs.append((m.group("name"), m.group("value")))
        key = _YAML_KEY_WORD.match(t)
        if key and i + 1 < len(texts):
            pairs.append((key.group("name"), texts[i + 1]))
    if len(texts) == 3 and texts[0].upper() == "ENV" and "=" not in texts[1]:
        pairs.append((texts[1], texts[2]))  # Dockerfile's old form
    if len(texts) >= 3 and texts[1] in _ASSIGN_OPS and re.fullmatch(_VAR_NAME, texts[0]):
        pairs.append((texts[0], texts[2]))  # Make
    return pairs


def _k8s_pair(prev: list[_Word], stmt: list[_Word]) -> tuple[str, _Word] | None:
    """(NAME, value word) of a Kubernetes env entry: `- name: NAME` with `value: ...` on the next line."""
    if len(prev) == 2 and prev[0].text == "name:" and len(stmt) >= 2 and stmt[0].text == "value:":
        return prev[1].text, stmt[1]
    return None


class _Variables:
    """The file's own variables: a name set once (or always to the same value) is known."""

    def __init__(self, stmts: list[list[_Word]]):
        self.values: dict[str, set[str]] = {}
        prev: list[_Word] = []
        for stmt in stmts:
            pairs = _assignments(stmt)
            k8s = _k8s_pair(prev[-2:], stmt)
            if k8s:
                pairs.append((k8s[0], k8s[1].text))
            for name, value in pairs:
                self.values.setdefault(name, set()).add(value)
            prev = stmt

    def expand(self, raw: str) -> str:
        """`raw` unquoted, with a whole-value variable the file sets once replaced by its value."""
        value = raw.strip().strip("'\"")
        for _ in range(5):
            whole = _WHOLE_VAR.match(value)
            if not whole:
                break
            looked, _why = self.lookup(next(g for g in whole.groups() if g))
            if looked is None:
                break
            value = looked.strip().strip("'\"")
        return value

    def lookup(self, name: str) -> tuple[str | None, str]:
        """(raw value, '') when the file sets `name` once; (None, why not) otherwise."""
        values = self.values.get(name, set())
        if len(values) == 1:
            return next(iter(values)), ""
        if values:
            return None, f"variable {name} is assigned different values in this file"
        return None, f"variable {name} is set outside this file, at deploy time"


# --- values ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Value:
    model: str | None
    revision: str | None = None
    reason: str | None = None


def _resolve(raw: str, variables: _Variables, *, allow_single: bool = False, hub_prefix: bool = False,
             quant_tags: bool = False) -> _Value | None:
    """What a word names: a model, an unresolved value (model None, reason), or None when not a model."""
    value = raw.strip().strip("'\"")
    seen: set[str] = set()
    while True:
        whole = _WHOLE_VAR.match(value)
        if not whole:
            break
        name = next(g for g in whole.groups() if g)
        looked, why = variables.lookup(name)
        if looked is None or name in seen or len(seen) > 5:
            return _Value(None, reason=why if looked is None else f"variable {name} refers to itself")
        seen.add(name)
        value = looked.strip().strip("'\"")
    defaulted = _DEFAULTED_VAR.match(value)
    if defaulted:
        return _Value(None, reason=f"variable {defaulted.group('name')} is set at deploy time "
                                   f"(default {defaulted.group('default')!r} not assumed)")
    template = re.search(r"(\$?)\{\{([^{}]*)\}\}", value)
    if template:
        what = "workflow expression" if template.group(1) else "template value"
        expr = _unhide(template.group(2)).strip()
        return _Value(None, reason=f"{what} {template.group(1)}{{{{ {expr} }}}} is filled in at deploy time")
    if "$" in value or "`" in value:
        return _Value(None, reason=f"value {value[:80]!r} is built from variables at deploy time")
    return _literal(value, allow_single=allow_single, hub_prefix=hub_prefix, quant_tags=quant_tags)


def _literal(value: str, *, allow_single: bool, hub_prefix: bool, quant_tags: bool) -> _Value | None:
    if _DRIVE.match(value):
        return None
    prefixed = _HUB_PREFIX.match(value)
    if prefixed:
        value = value[prefixed.end():]
    elif hub_prefix:
        return None  # `ollama run llama3`: Ollama's own library
    revision = None
    if "@" in value:
        value, revision = value.split("@", 1)
    if ":" in value:
        value, tag = value.rsplit(":", 1)
        if is_commit_sha(tag):
            revision = tag
        elif not (prefixed or quant_tags):
            return None  # vllm/vllm-openai:latest is a docker image, llama3:8b an Ollama model
    model = hub_id(value, allow_single=allow_single) if allow_single else config_id(value)
    if model is None or ("/" in model and config_id(model) is None):
        return None  # a local path, a file name, an API provider's model
    return _Value(model, revision or None)


# --- matching statements --------------------------------------------------------------------------------------

def _option_value(words: list[_Word], i: int, option: str) -> _Word | None:
    """The value of `option` at words[i]: `--opt value` or `--opt=value`."""
    w = words[i]
    if w.text == option:
        return words[i + 1] if i + 1 < len(words) else None
    if w.text.startswith(option + "="):
        return _Word(w.text[len(option) + 1:], w.line)
    return None


_PIN_OPTIONS = frozenset(o for o in MODEL_OPTIONS.values() if o)


def _revisions(words: list[_Word], variables: _Variables) -> dict[str, str]:
    """The revision options of one command, their values looked up when they are the file's variables."""
    pins = {}
    for i in range(len(words)):
        for option in _PIN_OPTIONS:
            v = _option_value(words, i, option)
            value = variables.expand(v.text) if v is not None else None
            if value and "$" not in value and "{{" not in value:
                pins[option] = value
    return pins


def _command_refs(file: SourceFile, words: list[_Word], variables: _Variables, modelfile: bool) -> list[Reference]:
    refs: list[Reference] = []
    texts = [w.text for w in words]
    pins = _revisions(words, variables)

    def add(word: _Word, kind: str, value: _Value | None, pin_option: str | None) -> None:
        if value is None:
            return
        revision = value.revision or (pins.get(pin_option) if pin_option and value.model else None)
        refs.append(file.ref(word.line, kind, value.model, revision, value.reason))

    for i in range(len(words)):
        for option, pin in MODEL_OPTIONS.items():
            v = _option_value(words, i, option)
            if v is not None:
                add(v, "command", _resolve(v.text, variables, quant_tags=option in QUANT_TAG_OPTIONS), pin)
    commands = COMMANDS + ((MODELFILE_FROM,) if modelfile else ())
    for cmd in commands:
        n = len(cmd.words)
        for i in range(len(texts) - n):
            if cmd is MODELFILE_FROM:
                if i != 0 or texts[0].upper() != "FROM":  # Modelfile instructions are case-insensitive
                    continue
            elif texts[i].rsplit("/", 1)[-1] != cmd.words[0] or tuple(texts[i + 1:i + n]) != cmd.words[1:]:
                continue
            arg = words[i + n]
            if arg.text.startswith("-") or _repo_type(words[i + n:]) in cmd.refused_by:
                continue
            kind = "modelfile" if cmd is MODELFILE_FROM else "command"
            add(arg, kind, _resolve(arg.text, variables, allow_single=cmd.allow_single, hub_prefix=cmd.hub_prefix),
                "--revision")
    return refs


def _repo_type(words: list[_Word]) -> str | None:
    """The value of `--repo-type` among a command's words (hf download ... --repo-type dataset)."""
    for i in range(len(words)):
        v = _option_value(words, i, "--repo-type")
        if v is not None:
            return v.text
    return None


def _is_model_env(name: str) -> bool:
    return bool(ENV_NAME.match(name)) and not ENV_NOT_LOADED.match(name)


def _env_value(words: list[_Word], i: int) -> _Word | None:
    """The value words[i] assigns to a model variable: NAME=value, NAME: value, ENV NAME value, NAME ?= value."""
    w = words[i]
    assign = _ASSIGN_WORD.match(w.text)
    if assign:
        return _Word(assign.group("value"), w.line) if _is_model_env(assign.group("name")) else None
    key = _YAML_KEY_WORD.match(w.text)
    if key:
        return words[i + 1] if _is_model_env(key.group("name")) and i + 1 < len(words) else None
    docker_env = i == 1 and len(words) == 3 and words[0].text.upper() == "ENV"
    make = i == 0 and len(words) >= 3 and words[1].text in _ASSIGN_OPS
    return words[2] if (docker_env or make) and _is_model_env(w.text) else None


def _env_refs(file: SourceFile, words: list[_Word], variables: _Variables) -> list[Reference]:
    refs = []
    for i in range(len(words)):
        value = _env_value(words, i)
        if value is not None and value.text:
            found = _resolve(value.text, variables)
            if found is not None:
                refs.append(file.ref(value.line, "env", found.model, found.revision, found.reason))
    return refs


def _k8s_env_ref(file: SourceFile, prev: list[_Word], stmt: list[_Word], variables: _Variables) -> list[Reference]:
    """`- name: MODEL_ID` then `value: org/name` on the next line (a Kubernetes container's env)."""
    if len(prev) == 2 and prev[0].text == "name:" and _is_model_env(prev[1].text) and stmt \
            and stmt[0].text == "valueFrom:":
        return [file.ref(stmt[0].line, "env", None, reason=(
            f"{prev[1].text} is taken from a ConfigMap, Secret or field at deploy time"))]
    pair = _k8s_pair(prev, stmt)
    if pair and _is_model_env(pair[0]):
        found = _resolve(pair[1].text, variables)
        if found is not None:
            return [file.ref(pair[1].line, "env", found.model, found.revision, found.reason)]
    return []


def scan_deploy_lines(file: SourceFile, *, modelfile: bool = False) -> list[Reference]:
    stmts = statements(list(file.lines))
    variables = _Variables(stmts)
    refs: list[Reference] = []
    prev: list[_Word] = []
    for stmt in stmts:
        refs.extend(_command_refs(file, stmt, variables, modelfile))
        refs.extend(_env_refs(file, stmt, variables))
        # k8s: `- name: X` is the last item of its list run, so the pair is (previous tail, this statement)
        refs.extend(_k8s_env_ref(file, prev[-2:], stmt, variables))
        prev = stmt
    return refs


_TRIGGERS = ("--model", "--tokenizer", "--speculative", "--draft", "-hf", "--hf-repo", "serve", "download",
             "ollama", "MODEL", "TOKENIZER", "--hf")


def scan_deploy(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """The extractor for shell scripts, Makefiles, Dockerfiles, YAML manifests and workflows, .env files."""
    if not any(t in file.text for t in _TRIGGERS):
        return []
    return scan_deploy_lines(file)


def scan_modelfile(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """The extractor for Ollama Modelfiles: `FROM hf.co/ORG/NAME[:TAG]` besides what any deploy file holds."""
    return scan_deploy_lines(file, modelfile=True)
