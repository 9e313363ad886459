"""Model references in Python source, read with `ast` (never imported or run).

A reference whose model id is a string literal or a simple constant is resolved; one built at run time
(f-string, function parameter, environment variable, imported name) is reported as unresolvable rather
than guessed, so the audit can fail closed on it. A file `ast` cannot parse falls back to a regex for
calls with a literal first argument.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from audit.model import Reference
from audit.sources.codebase.configs import config_id
from audit.sources.codebase.sourcefile import ScanStats, SourceFile
from audit.sources.codebase.urls import hub_id

# Names without '/' that sentence-transformers loads from its own org (older releases prefixed them);
# plain transformers architectures keep their canonical single-segment id.
_ST_BASIC = re.compile(r"^(albert|bert|camembert|ctrl|distil\w*|gpt2|openai-gpt|roberta|t5|xlm|xlnet)(-|$)", re.IGNORECASE)

# Keys of a dict literal whose string value names a model: {"model_id": "org/name"} (a serving config, a
# request to a local vLLM server). Only a literal (or a constant) counts: such a dict is not always a load.
DICT_KEYS = frozenset({"model", "model_id", "model_name", "model_name_or_path", "pretrained_model_name_or_path",
                       "base_model", "repo_id", "tokenizer", "speculative_model"})
# Python calls worth parsing a file for; a file mentioning none of them is skipped without `ast`.
PY_TRIGGERS = ("from_pretrained", "pipeline", "SentenceTransformer", "CrossEncoder", "hf_hub_download",
               "snapshot_download", "LLM", "EngineArgs", *(f"{q}{k}{q}" for k in DICT_KEYS for q in "\"'"))
# Fallback for a file `ast` cannot parse: calls with a literal first argument.
_PY_CALL_RE = re.compile(
    r"""(?P<call>\.from_pretrained|SentenceTransformer|CrossEncoder|hf_hub_download|snapshot_download)\s*\(\s*"""
    r"""(?:(?:pretrained_model_name_or_path|model_name_or_path|repo_id|model_id)\s*=\s*)?(?P<q>["'])(?P<value>[^"'\n]+)(?P=q)"""
)

def scan_python_file(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """The extractor for .py files."""
    return scan_python(file.text, file.lines, file, stats)


def scan_python(code: str, code_lines: Sequence[str], file: SourceFile, stats: ScanStats,
                line_map: Sequence[int] | None = None) -> list[Reference]:
    """References in Python `code` read from `file`; line_map maps code lines to file lines (notebook cells)."""
    if not any(t in code for t in PY_TRIGGERS):
        stats.skipped += 1
        return []
    stats.parsed += 1
    fix = _line_fixer(line_map)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return _scan_unparsable(exc, code_lines, file, fix)
    return [
        file.ref(fix(line), kind, model, revision, reason)
        for line, kind, model, revision, reason in _PyScanner(tree).run()
    ]


def _line_fixer(line_map: Sequence[int] | None) -> Callable[[int], int]:
    if not line_map:
        return lambda n: n
    return lambda n: line_map[n - 1] if 0 < n <= len(line_map) else 1


def _scan_unparsable(exc: Exception, code_lines: Sequence[str], file: SourceFile,
                     fix: Callable[[int], int]) -> list[Reference]:
    where = fix(getattr(exc, "lineno", None) or 1)
    if isinstance(exc, (RecursionError, MemoryError)):
        what = "Python nested too deeply to parse"
    else:
        what = f"Python syntax error ({getattr(exc, 'msg', exc)})"
    refs = [file.ref(where, "parse-error", None, reason=f"{what}; only literal calls and URLs were scanned")]
    for i, line in enumerate(code_lines, 1):
        for m in _PY_CALL_RE.finditer(line):
            model = hub_id(m.group("value"), allow_single=True)
            if model:
                call = m.group("call").lstrip(".")
                kind = "sentence-transformers" if call in ("SentenceTransformer", "CrossEncoder") else call
                refs.append(file.ref(fix(i), kind, model))
    return refs


# Control flow inside _PyScanner, never raised out of this module (so not AuditErrors).
class _Unresolved(Exception):
    """A value the scanner cannot know without running the code; carries why."""


class _Skip(Exception):
    """Not a model reference at all (a local path, an already-loaded model object)."""


_ENV_FUNCS = frozenset({"os.getenv", "os.environ.get", "getenv", "environ.get", "os.environ.setdefault"})


# (line, kind, model, revision, reason) of one reference, before it is mapped to its file
_Found = tuple[int, str, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class _Scope:
    """The module, a function or a class body: what its names are bound to."""

    # name -> every value assigned to it; None for a binding whose value is unknowable (a loop, with,
    # unpacking or augmented assignment)
    assigns: dict[str, list[ast.expr | None]]
    params: dict[str, Any]  # parameter name -> its literal default, or None
    is_class: bool = False


class _PyScanner:
    """Walks one module: collects import aliases and constants per scope, then inspects calls."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.imports: dict[str, str] = {}  # local name -> dotted origin ("transformers.pipeline")
        self.found: list[_Found] = []

    def run(self) -> list[_Found]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    self.imports[a.asname or a.name] = f"{node.module}.{a.name}"
        self._visit_scope(self.tree, [self._scope_info(self.tree, ())])
        return self.found

    # scopes: the module, then each function (its parameters and local assignments)
    def _scope_info(self, node: ast.AST, params: tuple[tuple[str, Any], ...], *, is_class: bool = False) -> _Scope:
        assigns: dict[str, list[ast.expr | None]] = {}
        for child in self._own_nodes(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    self._collect_target(target, child.value, assigns)
            elif isinstance(child, ast.AnnAssign) and child.value is not None:
                self._collect_target(child.target, child.value, assigns)
            elif isinstance(child, (ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith,
                                    ast.NamedExpr)):
                for name in self._bound_names(child):
                    assigns.setdefault(name, []).append(None)
        return _Scope(assigns, dict(params), is_class)

    @staticmethod
    def _collect_target(target: ast.expr, value: ast.expr, assigns: dict[str, list[ast.expr | None]]) -> None:
        if isinstance(target, ast.Name):
            assigns.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                if isinstance(elt, ast.Name):
                    assigns.setdefault(elt.id, []).append(None)

    @staticmethod
    def _bound_names(node: ast.AST) -> list[str]:
        targets: list[ast.expr] = []
        if isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        names: list[str] = []
        for t in targets:
            names.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        return names

    @staticmethod
    def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
        """Nodes of a scope without descending into nested functions, lambdas or classes."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo: list[ast.AST] = list(node.body)  # defaults and decorators belong to the enclosing scope
        else:
            todo = list(ast.iter_child_nodes(node))
        while todo:
            child = todo.pop()
            yield child
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                todo.extend(ast.iter_child_nodes(child))

    @staticmethod
    def _params(args: ast.arguments) -> tuple[tuple[str, Any], ...]:
        """Parameter names with their literal default, if any (shown, never assumed)."""
        positional = args.posonlyargs + args.args
        defaults: list[Any] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        pairs = [(a.arg, d) for a, d in zip(positional, defaults)]
        pairs += list(zip((a.arg for a in args.kwonlyargs), args.kw_defaults))
        pairs += [(a.arg, None) for a in (args.vararg, args.kwarg) if a is not None]
        return tuple((n, d.value if isinstance(d, ast.Constant) else None) for n, d in pairs)

    def _visit_scope(self, node: ast.AST, scopes: list[_Scope]) -> None:
        for child in self._own_nodes(node):
            if isinstance(child, ast.Call):
                self._inspect_call(child, scopes)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                params = self._params(child.args)
                for default in child.args.defaults + [d for d in child.args.kw_defaults if d is not None]:
                    for call in ast.walk(default):
                        if isinstance(call, ast.Call):
                            self._inspect_call(call, scopes)
                # a function sees the module and enclosing functions, never a class body around it
                outer = [sc for sc in scopes if not sc.is_class]
                if isinstance(child, ast.Lambda):
                    body = ast.Expression(body=child.body)
                    self._visit_scope(body, outer + [self._scope_info(body, params)])
                else:
                    for deco in child.decorator_list:
                        for call in ast.walk(deco):
                            if isinstance(call, ast.Call):
                                self._inspect_call(call, scopes)
                    self._visit_scope(child, outer + [self._scope_info(child, params)])
            elif isinstance(child, ast.ClassDef):
                self._visit_scope(child, scopes + [self._scope_info(child, (), is_class=True)])
            elif isinstance(child, ast.Dict):
                self._inspect_dict(child, scopes)

    def _inspect_dict(self, node: ast.Dict, scopes: list[_Scope]) -> None:
        """{"model_id": "org/name"}: a model id under a model key, when the value is known without running."""
        revision = None
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and key.value == "revision" and isinstance(value, ast.Constant):
                revision = value.value if isinstance(value.value, str) and value.value else None
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and key.value in DICT_KEYS):
                continue
            try:
                model = config_id(self._value(value, scopes))
            except (_Unresolved, _Skip):
                continue  # {"model": model}: often a request to an API, not a load; the load itself is scanned
            if model:
                self.found.append((value.lineno, "dict-key", model, revision, None))

    # --- calls

    def _dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(self.imports.get(node.id, node.id))
            return ".".join(reversed(parts))
        if isinstance(node, ast.Call):  # HfApi().snapshot_download(...)
            inner = self._dotted(node.func)
            parts.append(f"{inner}()" if inner else "?()")
            return ".".join(reversed(parts))
        return None

    def _inspect_call(self, call: ast.Call, scopes: list[_Scope]) -> None:
        name = self._dotted(call.func)
        if not name:
            return
        last = name.rsplit(".", 1)[-1]
        origin_root = name.split(".", 1)[0]
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        if last == "from_pretrained":
            receiver = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
            if receiver.startswith("PeftModel"):
                # PeftModel.from_pretrained(base_model, "org/adapter"): the adapter id is second
                self._emit(call, "peft", self._arg(call, 1, "model_id"), kw, scopes)
                return
            if origin_root == "diffusers" or (receiver.endswith("Pipeline") and receiver != "pipeline"):
                kind = "diffusers"
            elif origin_root == "sentence_transformers":
                kind = "sentence-transformers"
            elif origin_root == "peft" or receiver.startswith("AutoPeftModel"):
                kind = "peft"
            else:
                kind = "from_pretrained"
            self._emit(call, kind, self._arg(call, 0, "pretrained_model_name_or_path"), kw, scopes)
        elif name in ("transformers.pipeline", "transformers.pipelines.pipeline"):
            model = self._arg(call, 1, "model")
            if model is None and self._has_splat(call):
                self.found.append((call.lineno, "pipeline", None, None, "model passed through *args/**kwargs"))
                return
            if model is None:
                task = self._arg(call, 0, "task")
                self.found.append((call.lineno, "pipeline", None, None, (
                    "pipeline() without model= loads the default model transformers picks for the task"
                    + (f" {task.value!r}" if isinstance(task, ast.Constant) else ""))))
                return
            self._emit(call, "pipeline", model, kw, scopes, may_be_object=True)
        elif last in ("SentenceTransformer", "CrossEncoder", "SparseEncoder") and (
            origin_root in ("sentence_transformers", last)
        ):
            self._emit(call, "sentence-transformers", self._arg(call, 0, "model_name_or_path"), kw, scopes,
                       st_prefix=last == "SentenceTransformer")
        elif last in ("hf_hub_download", "snapshot_download"):  # function or HfApi method alike
            repo_type = kw.get("repo_type")
            if isinstance(repo_type, ast.Constant) and repo_type.value not in (None, "model"):
                return  # a dataset or a Space, not a model
            self._emit(call, last, self._arg(call, 0, "repo_id"), kw, scopes)
        elif name in ("vllm.LLM", "vllm.entrypoints.llm.LLM", "vllm.EngineArgs", "vllm.AsyncEngineArgs",
                      "vllm.engine.arg_utils.EngineArgs", "vllm.engine.arg_utils.AsyncEngineArgs"):
            self._emit(call, "vllm", self._arg(call, 0, "model"), kw, scopes)

    @staticmethod
    def _arg(call: ast.Call, pos: int, keyword: str) -> ast.expr | None:
        for k in call.keywords:
            if k.arg == keyword:
                return k.value
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        if len(positional) == len(call.args) and pos < len(positional):
            return positional[pos]
        return None

    @staticmethod
    def _has_splat(call: ast.Call) -> bool:
        return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)

    def _emit(self, call: ast.Call, kind: str, node: ast.expr | None, kw: dict[str, ast.expr], scopes: list[_Scope],
              *, may_be_object: bool = False, st_prefix: bool = False) -> None:
        if node is None:
            if self._has_splat(call):
                self.found.append((call.lineno, kind, None, None, "model passed through *args/**kwargs"))
            return
        try:
            value = self._value(node, scopes, may_be_object=may_be_object)
        except _Skip:
            return
        except _Unresolved as why:
            self.found.append((node.lineno, kind, None, None, str(why)))
            return
        model = hub_id(value, allow_single=True)
        if model is None:
            return  # a local path such as ./checkpoints/x or /models/y is not a Hub reference
        if st_prefix and "/" not in model and not _ST_BASIC.match(model):
            model = f"sentence-transformers/{model}"
        revision = None
        rev_node = kw.get("revision")
        if rev_node is not None:
            try:
                revision = self._value(rev_node, scopes)
            except (_Unresolved, _Skip):
                revision = None
        self.found.append((node.lineno, kind, model, revision, None))

    # --- values

    def _value(self, node: ast.expr, scopes: list[_Scope], *, may_be_object: bool = False, depth: int = 0) -> str:
        if depth > 10:
            raise _Unresolved("value defined through too many indirections")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return node.value
            if node.value is None:
                raise _Skip()
            raise _Unresolved(f"value {node.value!r} is not a model id")
        if isinstance(node, ast.JoinedStr):
            raise _Unresolved("f-string built at run time")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._value(node.left, scopes, depth=depth + 1)
            right = self._value(node.right, scopes, depth=depth + 1)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            raise _Unresolved("string built at run time")
        if isinstance(node, ast.Name):
            return self._name(node.id, scopes, may_be_object=may_be_object, depth=depth)
        if isinstance(node, ast.Subscript) and self._dotted(node.value) in ("os.environ", "environ"):
            raise _Unresolved(f"environment variable {self._env_name(node.slice)}")
        if isinstance(node, ast.Call):
            func = self._dotted(node.func) or ""
            if func in _ENV_FUNCS or func.endswith("environ.get"):
                var = self._env_name(node.args[0]) if node.args else "?"
                raise _Unresolved(f"environment variable {var} (a default in code is not assumed)")
            if func.startswith(("os.path.", "pathlib.", "Path")) or func.endswith(("Path", ".joinpath")):
                raise _Skip()  # a filesystem path
            if may_be_object:
                raise _Skip()  # pipeline(model=load(...)): an object; the load itself is scanned
            raise _Unresolved(f"value returned by {func or 'a call'}() at run time")
        if isinstance(node, ast.Attribute):
            raise _Unresolved(f"attribute {self._dotted(node) or node.attr} set at run time")
        if isinstance(node, ast.Subscript):
            raise _Unresolved("value looked up at run time")
        if isinstance(node, ast.IfExp):
            raise _Unresolved("value chosen at run time")
        raise _Unresolved("expression evaluated at run time")

    @staticmethod
    def _env_name(node: ast.expr) -> str:
        return repr(node.value) if isinstance(node, ast.Constant) else "(computed name)"

    def _name(self, name: str, scopes: list[_Scope], *, may_be_object: bool, depth: int) -> str:
        for level, scope in enumerate(reversed(scopes)):
            is_module = level == len(scopes) - 1
            if name in scope.assigns:
                values = scope.assigns[name]
                if may_be_object and any(isinstance(v, ast.Call) and not self._is_env(v) for v in values):
                    raise _Skip()  # a loaded model object, not an id
                known = [v for v in values if v is not None]
                if len(known) < len(values):
                    raise _Unresolved(f"{name!r} is rebound at run time (loop, with, unpacking or +=)")
                visible = scopes[: len(scopes) - level]
                results = {self._value(v, visible, may_be_object=may_be_object, depth=depth + 1) for v in known}
                if len(results) == 1:
                    return results.pop()
                raise _Unresolved(f"{name!r} is assigned different values")
            if name in scope.params:
                default = scope.params[name]
                hint = f" (default {default!r} not assumed)" if isinstance(default, str) else ""
                raise _Unresolved(f"function parameter {name!r}{hint}")
            if is_module and name in self.imports:
                raise _Unresolved(f"name {name!r} imported from {self.imports[name].rsplit('.', 1)[0]}")
        raise _Unresolved(f"name {name!r} is not defined in this file")

    def _is_env(self, node: ast.expr) -> bool:
        func = self._dotted(node.func) if isinstance(node, ast.Call) else None
        return func is not None and (func in _ENV_FUNCS or func.endswith("environ.get"))


