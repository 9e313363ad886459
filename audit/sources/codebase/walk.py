"""Which files of a codebase are read: directory walk, excludes, .gitignore, skipped directories, size caps.

Nothing the walk passes over is silent, except what the repository itself says is not part of it (a path
its .gitignore files ignore), what the user excluded, and files whose extension says they are binary
(weights, images, archives). Everything else it does not read comes out as a `Skipped` entry with the
reason, which the scanner turns into a reference of kind `skipped` or `unreadable`:

- fails closed (`benign=False`): a file that could not be read (permission denied, a broken link), a file
  over the size cap or with binary content, a FIFO or device, a link leaving the root, a directory that
  could not be listed or a directory link leaving the root. Whether a skipped *file* fails is decided by
  the scanner from its name (a .py, .yaml, Dockerfile ... could hold a reference; a .md or .txt cannot be
  relied on to, so it is reported without failing).
- reported, need not fail (`benign=True`): a directory that is clearly not code of this repository
  (VCS metadata, virtualenvs (any directory holding pyvenv.cfg), node_modules, caches) and a directory
  link inside the root (its target is scanned where it is).
"""
from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

import pathspec

from audit.errors import InputUnreadable
from audit.sources.base import read_text_file, special_kind

MAX_FILE_BYTES = 2 * 1024 * 1024  # bigger files are data or generated code, not where models are named
MAX_GITIGNORE_BYTES = 256 * 1024

# Directories that are not code of this repository: reported as skipped, never failing.
SKIP_DIRS = {
    ".git": "version control metadata", ".hg": "version control metadata", ".svn": "version control metadata",
    "node_modules": "installed JavaScript packages", "__pycache__": "Python bytecode cache",
    ".venv": "a virtualenv", "venv": "a virtualenv", "site-packages": "installed Python packages",
    ".tox": "a test environment", ".nox": "a test environment", ".eggs": "build artifacts",
    ".mypy_cache": "a tool cache", ".pytest_cache": "a tool cache", ".ruff_cache": "a tool cache",
    ".ipynb_checkpoints": "notebook autosaves",
}
BINARY_EXTS = frozenset({
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5", ".pb", ".tflite",
    ".npy", ".npz", ".pkl", ".pickle", ".parquet", ".arrow", ".msgpack", ".model", ".pyc", ".pyo", ".so",
    ".dll", ".dylib", ".exe", ".o", ".a", ".class", ".jar", ".whl", ".zip", ".gz", ".tgz", ".bz2", ".xz",
    ".zst", ".7z", ".tar", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".bmp", ".tiff", ".pdf",
    ".mp3", ".mp4", ".wav", ".flac", ".ogg", ".mov", ".avi", ".woff", ".woff2", ".ttf", ".otf", ".eot",
    ".db", ".sqlite", ".sqlite3",
})


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something under the root the walk did not read, and why."""

    rel: str  # '/'-separated, relative to the root
    kind: str  # "skipped" (chose not to read) or "unreadable" (tried and failed)
    reason: str
    is_dir: bool = False
    benign: bool = False  # clearly not code: reported, need not fail the audit


def excluded(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    """Does a glob in `patterns` match the root-relative path, the base name, or a directory above it?"""
    for pat in patterns:
        pat = pat.strip().rstrip("/").removeprefix("./")
        if fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) or rel.startswith(pat + "/"):
            return True
    return False


class _GitIgnores:
    """The .gitignore files met so far (the root's and nested ones), each applying below its directory."""

    def __init__(self) -> None:
        self.specs: list[tuple[str, pathspec.PathSpec]] = []  # (directory prefix "a/b/" or "", spec)

    def enter(self, directory: str, prefix: str) -> Skipped | None:
        """Read `directory`/.gitignore if there is one; a .gitignore that cannot be read is reported."""
        path = os.path.join(directory, ".gitignore")
        if not os.path.isfile(path):
            return None
        try:
            text = read_text_file(path, limit=MAX_GITIGNORE_BYTES)
        except InputUnreadable as exc:
            return Skipped(prefix + ".gitignore", "unreadable", f".gitignore not applied: {exc.message}")
        self.specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(text.splitlines())))
        return None

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for prefix, spec in self.specs:  # outer first: a nested .gitignore has the last word
            if not rel.startswith(prefix):
                continue
            result = spec.check_file(rel[len(prefix):] + ("/" if is_dir else ""))
            if result.include is not None:
                verdict = bool(result.include)
        return verdict


def walk(root: str, exclude: tuple[str, ...]) -> Iterator[tuple[str, str] | Skipped]:
    """(path, '/'-separated path relative to root) of every regular file worth reading, sorted per
    directory, and a Skipped for everything else the walk passes over that is part of the repository."""
    real_root = os.path.realpath(root)
    ignores = _GitIgnores()
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        bad = ignores.enter(directory, prefix)
        if bad:
            yield bad
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(prefix.rstrip("/") or ".", "unreadable",
                          f"directory could not be listed ({exc.strerror or exc}); what it holds is unknown", True)
            continue
        below = []
        for entry in entries:
            rel = prefix + entry.name
            if exclude and excluded(rel, entry.name, exclude):
                continue
            try:
                found = _classify(entry, rel, real_root, ignores)
            except OSError as exc:
                found = Skipped(rel, "unreadable", f"could not be examined ({exc.strerror or exc})")
            if found == "dir":
                below.append((entry.path, rel + "/"))
            elif found is not None:
                yield found if isinstance(found, Skipped) else (entry.path, rel)
        stack.extend(reversed(below))


def _classify(entry: os.DirEntry[str], rel: str, real_root: str, ignores: _GitIgnores) -> Skipped | str | None:
    """"dir" to descend, "file" to read, a Skipped to report, or None to pass over silently."""
    if entry.is_symlink():
        return _classify_link(entry, rel, real_root, ignores)
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISDIR(mode):
        if ignores.ignored(rel, True):
            return None
        if entry.name in SKIP_DIRS:
            return Skipped(rel, "skipped", f"{SKIP_DIRS[entry.name]}, not code of this repository", True, True)
        if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return Skipped(rel, "skipped", "a virtualenv (holds pyvenv.cfg), not code of this repository", True, True)
        return "dir"
    if ignores.ignored(rel, False) or os.path.splitext(entry.name)[1].lower() in BINARY_EXTS:
        return None
    if not stat.S_ISREG(mode):
        return Skipped(rel, "skipped", f"{special_kind(mode)}, not a regular file: not opened")
    size = entry.stat(follow_symlinks=False).st_size
    if size > MAX_FILE_BYTES:
        return Skipped(rel, "skipped", f"{size / 1048576:.1f} MiB, over the {MAX_FILE_BYTES // 1048576} MiB "
                                       "limit for a scanned file: not read")
    return "file"


def _classify_link(entry: os.DirEntry[str], rel: str, real_root: str, ignores: _GitIgnores) -> Skipped | str | None:
    is_dir = entry.is_dir(follow_symlinks=True)
    if ignores.ignored(rel, is_dir):
        return None
    target = os.path.realpath(entry.path)
    if not os.path.exists(entry.path):
        return Skipped(rel, "unreadable", "a broken symbolic link (or a link loop): what it names is unknown")
    inside = _inside(target, real_root)
    if is_dir:
        if inside:
            return Skipped(rel, "skipped", "a link to a directory inside the root, scanned where it is", True, True)
        return Skipped(rel, "skipped", f"a link to {target}, outside the scanned root: not followed", True)
    if not inside:
        return Skipped(rel, "skipped", f"a link to {target}, outside the scanned root: not read")
    if os.path.splitext(entry.name)[1].lower() in BINARY_EXTS:
        return None
    mode = os.stat(entry.path).st_mode
    if not stat.S_ISREG(mode):
        return Skipped(rel, "skipped", f"a link to {special_kind(mode)}, not a regular file: not opened")
    return "file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_text(path: str) -> str:
    """The file as text (UTF-8, else Latin-1, BOM dropped), read without blocking and to at most the size
    cap. Raises InputUnreadable when it cannot be read (not a regular file, over the cap, binary, denied)."""
    return read_text_file(path, limit=MAX_FILE_BYTES)
