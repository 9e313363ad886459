"""Find the models a codebase uses: Hub references in Python code, configs and URLs, with file and line.

Python is read with `ast` (never imported or run). A reference whose model id is a string literal or a
simple constant is resolved; one built at run time (f-string, function parameter, environment variable,
imported name) is reported as unresolvable rather than guessed, so the audit can fail closed on it.
Config files (YAML/JSON/TOML) count only for well-known keys and only when the value looks like a Hub
repo id "org/name"; `hf.co/...` and `huggingface.co/...` URLs count in every text file.
"""
from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from audit.errors import InputUnreadable
from audit.model import Reference

MAX_FILE_BYTES = 2 * 1024 * 1024  # bigger files are data or generated code, not where models are named
MAX_TEXT_CHARS = 200

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox", ".eggs",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".ipynb_checkpoints",
})
BINARY_EXTS = frozenset({
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5", ".pb", ".tflite",
    ".npy", ".npz", ".pkl", ".pickle", ".parquet", ".arrow", ".msgpack", ".model", ".pyc", ".pyo", ".so",
    ".dll", ".dylib", ".exe", ".o", ".a", ".class", ".jar", ".whl", ".zip", ".gz", ".tgz", ".bz2", ".xz",
    ".zst", ".7z", ".tar", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".bmp", ".tiff", ".pdf",
    ".mp3", ".mp4", ".wav", ".flac", ".ogg", ".mov", ".avi", ".woff", ".woff2", ".ttf", ".otf", ".eot",
    ".db", ".sqlite", ".sqlite3",
})
YAML_EXTS = (".yaml", ".yml")

# Config keys whose value names a model. base_model_name_or_path is what PEFT writes in adapter_config.json.
CONFIG_KEYS = frozenset({
    "model", "model_name", "model_name_or_path", "model_id", "base_model", "pretrained_model_name_or_path",
    "repo_id", "base_model_name_or_path",
})
# Config values such as "openai/gpt-4o" name an API provider's model (LiteLLM style), not a Hub repo.
_PROVIDER_PREFIXES = frozenset({
    "openai", "azure", "azure_ai", "anthropic", "bedrock", "vertex_ai", "gemini", "ollama", "ollama_chat",
    "groq", "mistral", "cohere", "together_ai", "replicate", "openrouter", "deepseek", "xai", "perplexity",
    "fireworks_ai", "anyscale", "sagemaker", "watsonx", "cloudflare", "databricks", "voyage", "hosted_vllm",
    "text-completion-openai", "cerebras", "nvidia_nim", "deepinfra", "ai21", "github", "friendliai",
})

# org/name as the Hub spells them (letters, digits, '-', '_', '.'); names are at most 96 characters.
_SEG = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_HUB_ID = re.compile(rf"^(?:{_SEG}/)?{_SEG}$")
_WEIGHT_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".gguf", ".onnx", ".h5", ".json", ".yaml", ".yml")

_URL = re.compile(
    r"(?<![\w.@-])(?:https?://)?(?:www\.)?(?:hf\.co|huggingface\.co)/"
    r"([A-Za-z0-9][\w.-]*)(?:/([A-Za-z0-9][\w.-]*))?(?:/([A-Za-z0-9][\w.-]*)(?:/([^/\s\"'<>()\[\]`]+))?)?"
)
# First path segments of hf.co URLs that are site pages, not model repos.
_NON_MODEL_PAGES = frozenset({
    "datasets", "spaces", "docs", "api", "blog", "models", "join", "login", "settings", "pricing", "papers",
    "collections", "organizations", "learn", "tasks", "new", "new-space", "new-dataset", "enterprise", "chat",
    "posts", "changelog", "inference-endpoints", "welcome", "hub", "huggingface", "support", "terms-of-service",
    "privacy", "code-of-conduct", "oauth", "static-proxy", "front", "avatars", "mcp", "inference", "search",
    "notifications", "billing", "jobs", "storage", "security", "brand", "careers", "transformers", "cli",
    "buckets", "assets", "images", "static", "css", "js", "favicon.ico", "robots.txt", "sitemap.xml",
})
# hf.co/cli/install.sh: a file on the site, not a repo name
_FILE_LIKE = re.compile(r"\.(sh|ps1|py|html?|md|txt|json|js|css|png|jpe?g|svg|gif|ico|xml|zip)$", re.IGNORECASE)
_REV_MARKERS = frozenset({"resolve", "blob", "tree", "raw", "commit", "commits", "edit"})

# Names without '/' that sentence-transformers loads from its own org (older releases prefixed them);
# plain transformers architectures keep their canonical single-segment id.
_ST_BASIC = re.compile(r"^(albert|bert|camembert|ctrl|distil\w*|gpt2|openai-gpt|roberta|t5|xlm|xlnet)(-|$)", re.IGNORECASE)

_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_TOKEN_ARG = re.compile(r"""(\b(?:use_auth_)?token\s*[=:]\s*)(["'])[^"']*\2""")

# Python calls worth parsing a file for; a file mentioning none of them is skipped without `ast`.
_PY_TRIGGERS = ("from_pretrained", "pipeline", "SentenceTransformer", "CrossEncoder", "hf_hub_download",
                "snapshot_download", "LLM", "EngineArgs")
# Fallback for a file `ast` cannot parse: calls with a literal first argument.
_PY_CALL_RE = re.compile(
    r"""(?P<call>\.from_pretrained|SentenceTransformer|CrossEncoder|hf_hub_download|snapshot_download)\s*\(\s*"""
    r"""(?:(?:pretrained_model_name_or_path|model_name_or_path|repo_id|model_id)\s*=\s*)?(?P<q>["'])(?P<value>[^"'\n]+)(?P=q)"""
)


def scan_codebase(root: str, *, exclude: tuple[str, ...] = ()) -> list[Reference]:
    """All model references under `root` (a directory or one file), sorted by file and line.

    `exclude` holds glob patterns matched against '/'-separated paths relative to root and against
    base names ("vendor", "tests/*", "*.ipynb").
    """
    if not os.path.exists(root):
        raise InputUnreadable(root, "does not exist")
    refs: list[Reference] = []
    if os.path.isfile(root):
        refs.extend(_scan_file(root, os.path.basename(root), os.path.dirname(os.path.abspath(root))))
    else:
        for path, rel in _walk(root, exclude):
            refs.extend(_scan_file(path, rel, root))
    unique = {(r.file, r.line, r.kind, r.model, r.revision, r.reason): r for r in refs}
    return sorted(unique.values(), key=lambda r: (r.file, r.line, r.kind, r.model or "", r.reason or ""))


# --- walking -------------------------------------------------------------------------------------------

def _excluded(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    for pat in patterns:
        pat = pat.strip().rstrip("/")
        pat = pat.removeprefix("./")
        if fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) or rel.startswith(pat + "/"):
            return True
    return False


def _walk(root: str, exclude: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    real_root = os.path.realpath(root)
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # an unreadable directory below root: nothing in it can be scanned
        for entry in entries:
            rel = prefix + entry.name
            if exclude and _excluded(rel, entry.name, exclude):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                        continue
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=True):
                    if entry.is_symlink() and not _inside(os.path.realpath(entry.path), real_root):
                        continue  # a link out of the tree is not part of this codebase
                    ext = os.path.splitext(entry.name)[1].lower()
                    if ext in BINARY_EXTS or entry.stat().st_size > MAX_FILE_BYTES:
                        continue
                    yield entry.path, rel
            except OSError:
                continue


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# --- one file ------------------------------------------------------------------------------------------

def _scan_file(path: str, rel: str, root: str) -> list[Reference]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return [Reference(None, None, rel, 1, "unreadable", "", False,
                          f"file could not be read ({exc.strerror or exc}); references in it are unknown")]
    if len(data) > MAX_FILE_BYTES or b"\x00" in data[:8192]:
        return []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = text.splitlines()
    name = rel.rsplit("/", 1)[-1].lower()
    refs: list[Reference] = []
    if name.endswith((".py", ".pyw")):
        refs.extend(_scan_python(text, lines, rel))
    elif name.endswith(".ipynb"):
        refs.extend(_scan_notebook(text, lines, rel))
    elif name.endswith(YAML_EXTS):
        refs.extend(_scan_yaml(text, lines, rel))
    elif name.endswith(".json"):
        refs.extend(_scan_json(text, lines, rel))
    elif name.endswith(".toml"):
        refs.extend(_scan_toml(text, lines, rel))
    # "models/bert" may be a directory of this codebase rather than a Hub repo: the disk decides
    here = os.path.dirname(path)
    refs = [
        r for r in refs
        if r.model is None
        or not (os.path.isdir(os.path.join(root, r.model)) or os.path.isdir(os.path.join(here, r.model)))
    ]
    if "hf.co/" in text or "huggingface.co/" in text:
        refs.extend(_scan_urls(lines, rel))
    return refs


def _line_text(lines: list[str], line: int) -> str:
    raw = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    # a source line may carry an access token next to the model id; it must never reach a report
    raw = _TOKEN.sub("hf_***", raw)
    raw = _TOKEN_ARG.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}", raw)
    return raw[:MAX_TEXT_CHARS]


def _ref(lines, rel, line, kind, model, revision=None, reason=None) -> Reference:
    return Reference(model, revision, rel, line, kind, _line_text(lines, line), model is not None, reason)


# --- Hub id checks -------------------------------------------------------------------------------------

def _looks_local(value: str) -> bool:
    v = value.strip()
    return (
        v.startswith((".", "/", "~", "\\", "$"))
        or "\\" in v
        or v.count("/") > 1
        or re.match(r"^[A-Za-z]:", v) is not None  # C:\models or C:/models
        or v.lower().endswith(_WEIGHT_EXTS)
    )


def hub_id(value: str, *, allow_single: bool) -> str | None:
    """`value` as a Hub model id, or None when it is a local path or not an id at all."""
    v = value.strip()
    if not v or _looks_local(v) or not _HUB_ID.match(v) or ".." in v:
        return None
    if "/" not in v and not allow_single:
        return None
    return v


# --- URLs ----------------------------------------------------------------------------------------------

def _scan_urls(lines: list[str], rel: str) -> list[Reference]:
    refs = []
    for i, line in enumerate(lines, 1):
        if "hf.co/" not in line and "huggingface.co/" not in line:
            continue
        for m in _URL.finditer(line):
            parsed = _parse_url(m.group(1), m.group(2), m.group(3), m.group(4))
            if parsed:
                refs.append(_ref(lines, rel, i, "url", parsed[0], parsed[1]))
    return refs


def _parse_url(seg1: str, seg2: str | None, seg3: str | None, seg4: str | None) -> tuple[str, str | None] | None:
    if seg1.lower() in _NON_MODEL_PAGES:
        return None
    if seg2 is None:
        return None  # hf.co/org is an org page; a bare single-segment model is only trusted from code
    if seg2 in _REV_MARKERS:
        # canonical single-segment model: huggingface.co/gpt2/resolve/main/config.json
        model, marker, rev = seg1, seg2, seg3
    else:
        model, marker, rev = f"{seg1}/{seg2.rstrip('.')}", seg3, seg4
    if marker not in _REV_MARKERS or marker in ("commits", "edit"):
        rev = None
    elif rev:
        rev = unquote(rev)
    model = model.rstrip(".")
    if not _HUB_ID.match(model) or _FILE_LIKE.search(model):
        return None
    return model, rev


# --- Python --------------------------------------------------------------------------------------------

def _scan_python(text: str, lines: list[str], rel: str, line_map: list[int] | None = None,
                 all_lines: list[str] | None = None) -> list[Reference]:
    """References in Python source. line_map maps source lines to file lines (notebook cells)."""
    if not any(t in text for t in _PY_TRIGGERS):
        return []
    out_lines = all_lines if all_lines is not None else lines
    fix = (lambda n: line_map[n - 1] if 0 < n <= len(line_map) else 1) if line_map else (lambda n: n)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        where = fix(getattr(exc, "lineno", None) or 1)
        refs = [_ref(out_lines, rel, where, "parse-error", None, reason=(
            f"Python syntax error ({getattr(exc, 'msg', exc)}); only literal calls and URLs were scanned"))]
        for i, line in enumerate(lines, 1):
            for m in _PY_CALL_RE.finditer(line):
                model = hub_id(m.group("value"), allow_single=True)
                if model:
                    call = m.group("call").lstrip(".")
                    kind = "sentence-transformers" if call in ("SentenceTransformer", "CrossEncoder") else call
                    refs.append(_ref(out_lines, rel, fix(i), kind, model))
        return refs
    return [
        _ref(out_lines, rel, fix(line), kind, model, revision, reason)
        for line, kind, model, revision, reason in _PyScanner(tree).run()
    ]


class _Unresolved(Exception):
    """A value the scanner cannot know without running the code; carries why."""


class _Skip(Exception):
    """Not a model reference at all (a local path, an already-loaded model object)."""


_ENV_FUNCS = frozenset({"os.getenv", "os.environ.get", "getenv", "environ.get", "os.environ.setdefault"})


_REBOUND = object()  # a name bound by a loop, with, unpacking or augmented assignment: value unknowable


class _PyScanner:
    """Walks one module: collects import aliases and constants per scope, then inspects calls."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.imports: dict[str, str] = {}  # local name -> dotted origin ("transformers.pipeline")
        self.found: list[tuple[int, str, str | None, str | None, str | None]] = []

    def run(self):
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
    def _scope_info(self, node, params: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
        assigns: dict[str, list[ast.expr]] = {}
        for child in self._own_nodes(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    self._collect_target(target, child.value, assigns)
            elif isinstance(child, ast.AnnAssign) and child.value is not None:
                self._collect_target(child.target, child.value, assigns)
            elif isinstance(child, (ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith,
                                    ast.NamedExpr)):
                for target in self._bound_names(child):
                    assigns.setdefault(target, []).append(_REBOUND)
        return {"assigns": assigns, "params": dict(params), "node": node}

    @staticmethod
    def _collect_target(target, value, assigns) -> None:
        if isinstance(target, ast.Name):
            assigns.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                if isinstance(elt, ast.Name):
                    assigns.setdefault(elt.id, []).append(_REBOUND)

    @staticmethod
    def _bound_names(node) -> list[str]:
        targets = []
        if isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        names = []
        for t in targets:
            names.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        return names

    @staticmethod
    def _own_nodes(node) -> Iterator[ast.AST]:
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

    def _visit_scope(self, node, scopes: list[dict[str, Any]]) -> None:
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
                outer = [sc for sc in scopes if not sc.get("class")]
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
                self._visit_scope(child, scopes + [{**self._scope_info(child, ()), "class": True}])

    # --- calls

    def _dotted(self, node: ast.expr) -> str | None:
        parts = []
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

    def _inspect_call(self, call: ast.Call, scopes) -> None:
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

    def _emit(self, call, kind, node, kw, scopes, *, may_be_object=False, st_prefix=False) -> None:
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
        if not isinstance(value, str):
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
                rev = self._value(rev_node, scopes)
                revision = rev if isinstance(rev, str) else None
            except (_Unresolved, _Skip):
                revision = None
        self.found.append((node.lineno, kind, model, revision, None))

    # --- values

    def _value(self, node: ast.expr, scopes, *, may_be_object=False, depth=0):
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
    def _env_name(node) -> str:
        return repr(node.value) if isinstance(node, ast.Constant) else "(computed name)"

    def _name(self, name: str, scopes, *, may_be_object: bool, depth: int):
        for level, scope in enumerate(reversed(scopes)):
            is_module = level == len(scopes) - 1
            if name in scope["assigns"]:
                values = scope["assigns"][name]
                if may_be_object and any(isinstance(v, ast.Call) and not self._is_env(v)
                                         for v in values if v is not _REBOUND):
                    raise _Skip()  # a loaded model object, not an id
                if any(v is _REBOUND for v in values):
                    raise _Unresolved(f"{name!r} is rebound at run time (loop, with, unpacking or +=)")
                results = set()
                for v in values:
                    results.add(self._value(v, scopes[: len(scopes) - level], may_be_object=may_be_object,
                                            depth=depth + 1))
                if len(results) == 1:
                    return results.pop()
                raise _Unresolved(f"{name!r} is assigned different values")
            if name in scope["params"]:
                default = scope["params"][name]
                hint = f" (default {default!r} not assumed)" if isinstance(default, str) else ""
                raise _Unresolved(f"function parameter {name!r}{hint}")
            if is_module and name in self.imports:
                raise _Unresolved(f"name {name!r} imported from {self.imports[name].rsplit('.', 1)[0]}")
        raise _Unresolved(f"name {name!r} is not defined in this file")

    def _is_env(self, node: ast.expr) -> bool:
        func = self._dotted(node.func) if isinstance(node, ast.Call) else None
        return bool(func) and (func in _ENV_FUNCS or func.endswith("environ.get"))


# --- notebooks -----------------------------------------------------------------------------------------

def _scan_notebook(text: str, lines: list[str], rel: str) -> list[Reference]:
    """Code cells of a .ipynb, each line mapped back to its line in the JSON file."""
    if not any(t in text for t in _PY_TRIGGERS):
        return []
    try:
        nb = json.loads(text)
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
    except (ValueError, AttributeError):
        return []
    code: list[str] = []
    line_map: list[int] = []
    cursor = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", [])
        src_lines = [str(x) for x in source] if isinstance(source, list) else str(source).splitlines(True)
        start = _find_source_start(lines, cursor, src_lines)
        cursor = start + len(src_lines)
        if cell.get("cell_type") != "code":
            continue
        cell_magic = bool(src_lines) and src_lines[0].lstrip().startswith("%%")  # %%bash etc.: not Python
        for i, src in enumerate(src_lines):
            s = src.rstrip("\n")
            # IPython magics and shell escapes are not Python; blank them to keep the line count
            code.append("" if cell_magic or s.lstrip().startswith(("%", "!", "?")) else s)
            line_map.append(start + 1 + i)
        code.append("")  # cells are separate statements
        line_map.append(line_map[-1] if line_map else 1)
    return _scan_python("\n".join(code), code, rel, line_map=line_map, all_lines=lines)


def _find_source_start(lines: list[str], cursor: int, src_lines: list[str]) -> int:
    """0-based index of the file line holding a cell's first source line (nbformat writes one per line)."""
    first = json.dumps(src_lines[0], ensure_ascii=False)[1:-1][:40] if src_lines else None
    for i in range(cursor, len(lines)):
        if '"source"' in lines[i]:
            if first is None or (i + 1 < len(lines) and first in lines[i + 1]):
                return i + 1
            if first in lines[i]:  # "source": "one string"
                return i
    return cursor


# --- YAML / JSON / TOML --------------------------------------------------------------------------------

def _config_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    model = hub_id(value, allow_single=False)
    if model is None:
        return None
    if model.split("/", 1)[0].lower() in _PROVIDER_PREFIXES:
        return None
    return model


def _scan_yaml(text: str, lines: list[str], rel: str) -> list[Reference]:
    if not any(k in text for k in CONFIG_KEYS):
        return []
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError:
        return _scan_config_lines(lines, rel)  # templated YAML (Helm, Jinja): read key lines one by one
    refs: list[Reference] = []
    todo = [d for d in docs if d is not None]
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            revision = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == "revision" and isinstance(v, yaml.ScalarNode):
                    revision = v.value or None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value in CONFIG_KEYS:
                    values = [v] if isinstance(v, yaml.ScalarNode) else (
                        [x for x in v.value if isinstance(x, yaml.ScalarNode)] if isinstance(v, yaml.SequenceNode)
                        else [])
                    for scalar in values:
                        if scalar.tag != "tag:yaml.org,2002:str" and scalar.style is None:
                            continue  # an int, bool or null, not an id
                        model = _config_id(scalar.value)
                        if model:
                            refs.append(_ref(lines, rel, scalar.start_mark.line + 1, "config-key", model, revision))
                todo.append(v)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return refs


_KEY_LINE = re.compile(
    r"""^\s*-?\s*["']?(?P<key>%s)["']?\s*[:=]\s*["']?(?P<value>[^"'\s#,]+)["']?\s*,?\s*(?:#.*)?$"""
    % "|".join(sorted(CONFIG_KEYS, key=len, reverse=True))
)


def _scan_config_lines(lines: list[str], rel: str) -> list[Reference]:
    refs = []
    for i, line in enumerate(lines, 1):
        m = _KEY_LINE.match(line)
        if m:
            model = _config_id(m.group("value"))
            if model:
                refs.append(_ref(lines, rel, i, "config-key", model))
    return refs


_JSON_PAIR = re.compile(
    r'"(?P<key>%s)"\s*:\s*(?P<value>"(?:[^"\\\n]|\\.)*"|\[[^\[\]{}]*\])'
    % "|".join(sorted(CONFIG_KEYS, key=len, reverse=True))
)
_JSON_STR = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_REVISION = re.compile(r'"revision"\s*:\s*("(?:[^"\\\n]|\\.)*")')


def _scan_json(text: str, lines: list[str], rel: str) -> list[Reference]:
    """Key/value pairs found by a tokenising scan, so each keeps its line (JSONC and JSON lines work too)."""
    if not any(f'"{k}"' in text for k in CONFIG_KEYS):
        return []
    line_starts = _line_starts(text)
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
            model = _config_id(decoded)
            if model:
                refs.append(_ref(lines, rel, _line_of(line_starts, offset), "config-key", model, revision))
    return refs


def _nearby_revision(text: str, pos: int) -> str | None:
    """A "revision" key in the same JSON object as the model key, if there is one."""
    start = text.rfind("{", 0, pos)
    end = text.find("}", pos)
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


def _line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset)


def _scan_toml(text: str, lines: list[str], rel: str) -> list[Reference]:
    if not any(k in text for k in CONFIG_KEYS):
        return []
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return _scan_config_lines(lines, rel)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return _scan_config_lines(lines, rel)
    pairs: list[tuple[str, str, str | None]] = []
    _toml_pairs(data, pairs)
    refs = []
    used: set[int] = set()
    for key, value, revision in pairs:
        model = _config_id(value)
        if not model:
            continue
        line = _toml_line(lines, key, value, used)
        refs.append(_ref(lines, rel, line, "config-key", model, revision))
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


def _toml_line(lines: list[str], key: str, value: str, used: set[int]) -> int:
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
