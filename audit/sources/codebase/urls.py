"""Hub ids in free text: which strings are Hub model ids, and `hf.co/...` / `huggingface.co/...` URLs."""
from __future__ import annotations

import re
from urllib.parse import unquote

from audit.model import Reference
from audit.sources.codebase.sourcefile import ScanStats, SourceFile
from audit.sources.ids import HUB_HOST, MAX_REPO_ID_LENGTH, REPO_ID

_WEIGHT_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".gguf", ".onnx", ".h5", ".json", ".yaml", ".yml")
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:\models or C:/models

_URL = re.compile(
    rf"(?<![\w.@-])(?:https?://)?{HUB_HOST}/"
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
# Every page kind that may follow a repo in a URL; ids.py knows only those that carry a revision, because
# a command-line URL is always one of those, while text links to commit lists and edit pages too.
_REV_MARKERS = frozenset({"resolve", "blob", "tree", "raw", "commit", "commits", "edit"})
_NO_REVISION = frozenset({"commits", "edit"})


def is_hub_id(value: str) -> bool:
    """`value` is spelled like a Hub repo id ("org/name" or "name").

    ids.REPO_ID, made stricter for ids taken out of arbitrary code and config strings: no segment may start
    with '_' (`_base_/...` in OpenMMLab configs, private names) or be longer than a whole repo id."""
    return bool(REPO_ID.match(value)) and all(
        not seg.startswith("_") and len(seg) <= MAX_REPO_ID_LENGTH for seg in value.split("/")
    )


def _looks_local(value: str) -> bool:
    return (
        value.startswith((".", "/", "~", "\\", "$"))
        or "\\" in value
        or value.count("/") > 1
        or _DRIVE.match(value) is not None
        or value.lower().endswith(_WEIGHT_EXTS)
    )


def hub_id(value: str, *, allow_single: bool) -> str | None:
    """`value` as a Hub model id, or None when it is a local path or not an id at all.

    `allow_single`: accept a bare "name" (canonical models such as "gpt2"); only a call in code is trusted
    to mean the Hub by one."""
    v = value.strip()
    if not v or _looks_local(v) or ".." in v or not is_hub_id(v):
        return None
    if "/" not in v and not allow_single:
        return None
    return v


def scan_urls(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """Every Hub model URL in a text file, with the revision a resolve/blob/tree URL pins."""
    refs = []
    for i, line in enumerate(file.lines, 1):
        if "hf.co/" not in line and "huggingface.co/" not in line:
            continue
        for m in _URL.finditer(line):
            parsed = _parse_url(m.group(1), m.group(2), m.group(3), m.group(4))
            if parsed:
                refs.append(file.ref(i, "url", parsed[0], parsed[1]))
    return refs


def _parse_url(seg1: str, seg2: str | None, seg3: str | None, seg4: str | None) -> tuple[str, str | None] | None:
    if seg1.lower() in _NON_MODEL_PAGES:
        return None
    if seg2 is None:
        return None  # hf.co/org is an org page; a bare single-segment model is only trusted from code
    marker: str | None
    rev: str | None
    if seg2 in _REV_MARKERS:
        # canonical single-segment model: huggingface.co/gpt2/resolve/main/config.json
        model, marker, rev = seg1, seg2, seg3
    else:
        model, marker, rev = f"{seg1}/{seg2.rstrip('.')}", seg3, seg4
    if marker not in _REV_MARKERS or marker in _NO_REVISION:
        rev = None
    elif rev:
        rev = unquote(rev)
    model = model.rstrip(".")
    if not is_hub_id(model) or _FILE_LIKE.search(model):
        return None
    return model, rev
