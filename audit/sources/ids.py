"""Hub repo ids, revisions, commit shas and Hub URLs: the patterns every module shares, written once.

Pure and cheap to import (only `re`): the CLI router, the sources, the lockfile and the codebase scanner
all use it, and none of them must import another source to parse a repo id.
"""
from __future__ import annotations

import os
import re
from urllib.parse import unquote

from audit.errors import UsageError

MAX_REPO_ID_LENGTH = 96

# A repo id segment as the Hub validates it: word characters, '-' and '.', starting and ending with a word char.
SEGMENT = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"^(?:{SEGMENT}/)?{SEGMENT}$")
# what git allows in a ref name, roughly
REVISION = re.compile(r"^[^\s\x00-\x1f\x7f~^:?*\[\\]+$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
# the Hub's hosts, as a fragment for larger patterns (the codebase scanner, card bodies)
HUB_HOST = r"(?:www\.)?(?:huggingface\.co|hf\.co)"
HUB_URL = re.compile(rf"^(?:https?://)?{HUB_HOST}/", re.IGNORECASE)
# an argument that ends like a file name is a missing file, not a model ("card.md")
_FILE_LIKE = re.compile(r"\.(md|markdown|txt|rst|json|ya?ml|toml|html?|cfg|ini)$", re.IGNORECASE)
_REV_MARKERS = ("tree", "blob", "resolve", "commit")


_REPO_ID_SHAPE = re.compile(r"^[\w.-]+/[\w.-]+$")


def names_hub_repo(subject: str) -> bool:
    """Is this audit subject a Hub repo id ('org/name') rather than a local path of that shape? The lineage
    names models by repo id and snapshots by path; os.access answers exists() without raising."""
    return bool(_REPO_ID_SHAPE.match(subject)) and not os.access(subject, os.F_OK)


def is_commit_sha(value: object) -> bool:
    """A full 40-hex commit sha (what `require_pinned` and the lockfile mean by pinned)."""
    return isinstance(value, str) and bool(COMMIT_SHA.match(value))


def check_repo_id(repo_id: str, spec: str) -> None:
    """Raise UsageError naming `spec` when `repo_id` is not a valid Hub model repo id."""
    if not repo_id:
        raise UsageError(spec, "is not a Hub repo id: the repo id is empty")
    if len(repo_id) > MAX_REPO_ID_LENGTH:
        raise UsageError(spec, f"is not a Hub repo id: longer than {MAX_REPO_ID_LENGTH} characters")
    if repo_id.count("/") > 1:
        raise UsageError(spec, "is not a Hub repo id: it has more than two path segments (expected org/name)")
    if "--" in repo_id or ".." in repo_id:
        raise UsageError(spec, "is not a Hub repo id: '--' and '..' are not allowed")
    if repo_id.endswith(".git"):
        raise UsageError(spec, "is not a Hub repo id: it may not end with '.git'")
    if not REPO_ID.match(repo_id):
        raise UsageError(
            spec,
            "is not a Hub repo id: use letters, digits, '-', '_' and '.', not starting or ending with '-' or '.'",
        )


def check_revision(revision: str, spec: str) -> None:
    if not revision:
        raise UsageError(spec, "names an empty revision after '@'")
    if len(revision) > 255 or ".." in revision or not REVISION.match(revision):
        raise UsageError(spec, f"names an invalid revision {revision!r}")


def parse_repo_spec(spec: str) -> tuple[str, str | None]:
    """"org/name@rev" -> ("org/name", "rev"). Also takes Hub URLs: https://huggingface.co/org/name,
    hf.co/org/name, .../org/name/tree/<rev>. Raises UsageError naming the spec when it is not a model repo."""
    s = (spec or "").strip()
    label = spec if spec and spec.strip() else repr(spec)
    revision: str | None = None
    m = HUB_URL.match(s)
    if m:
        parts = [p for p in re.split(r"[?#]", s[m.end():], maxsplit=1)[0].split("/") if p]
        if parts and parts[0] in ("datasets", "spaces"):
            raise UsageError(label, f"is a Hub {parts[0][:-1]}, not a model repository")
        if parts and parts[0] == "models":
            parts = parts[1:]
        for i in (1, 2):  # name/tree/<rev>/... or org/name/tree/<rev>/...
            if len(parts) > i + 1 and parts[i] in _REV_MARKERS:
                revision, parts = unquote(parts[i + 1]), parts[:i]
                break
        s = "/".join(parts)
    repo_id, at, rev = s.partition("@")
    if at:
        if revision is not None:
            raise UsageError(label, "names a revision twice")
        revision = rev
    check_repo_id(repo_id, label)
    if revision is not None:
        check_revision(revision, label)
    return repo_id, revision


def looks_like_repo_id(spec: str) -> bool:
    """Is this command-line input a Hub repo id or URL rather than a path? A path that exists is a path."""
    if not spec or os.path.lexists(spec):
        return False
    s = spec.strip()
    if HUB_URL.match(s):
        return True
    if s.startswith((".", "/", "~")) or "\\" in s:
        return False
    try:
        repo_id, _ = parse_repo_spec(s)
    except UsageError:
        return False
    return not _FILE_LIKE.search(repo_id)


# a folder of the Hugging Face cache: the repo id with '/' written '--' (the Hub allows no '--' in an id)
_CACHE_FOLDER = re.compile(r"(?:^|[/\\])models--((?:[\w.]+-)*?[\w.]+(?:--[\w.-]+)?)(?:[/\\]|$)")
# what a training run or a download adds under the model's own folder: 'checkpoint-500', 'snapshots/<sha>', '1'
_RUN_FOLDER = re.compile(r"^(?:checkpoint[-_]?\d*|snapshots|[0-9a-f]{40}|\d+|final|best|latest|main)$", re.IGNORECASE)


def _local_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or "\\" in value or re.match(r"^[A-Za-z]:[/\\]", value) is not None


def declared_repo_id(value: str) -> str:
    """A base_model written as a Hub URL or with a revision ('https://huggingface.co/org/name', 'org/name@main')
    declares that repo as surely as 'org/name' does. So does a path into the Hugging Face cache, whose folder
    spells the id ('.../hub/models--org--name/snapshots/<sha>'). Any other local path is kept, without the folders a
    training run or a download adds under the model's own ('.../Mistral-7B-v0.1/checkpoint-500'), so that its
    last folder is the model's name; anything else is kept as written."""
    if _local_path(value):
        cached = _CACHE_FOLDER.search(value)
        if cached is not None:
            return cached.group(1).replace("--", "/", 1)
        parts = re.split(r"[/\\]", value.rstrip("/\\"))
        while len(parts) > 1 and _RUN_FOLDER.match(parts[-1]):
            parts.pop()
        return "/".join(parts) if any(parts) else value
    if "@" in value or HUB_URL.match(value):
        try:
            return parse_repo_spec(value)[0]
        except UsageError:
            return value
    return value
