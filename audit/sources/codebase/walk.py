"""Which files of a codebase are read: directory walk, excludes, skipped directories, binaries, size caps."""
from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator

from audit.sources.base import decode_text

MAX_FILE_BYTES = 2 * 1024 * 1024  # bigger files are data or generated code, not where models are named

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


def excluded(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    """Does a glob in `patterns` match the root-relative path, the base name, or a directory above it?"""
    for pat in patterns:
        pat = pat.strip().rstrip("/").removeprefix("./")
        if fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) or rel.startswith(pat + "/"):
            return True
    return False


def walk(root: str, exclude: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(path, '/'-separated path relative to root) of every regular file worth reading, sorted per directory."""
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
            if exclude and excluded(rel, entry.name, exclude):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS and not os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                        stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=True) and _worth_reading(entry, real_root):
                    yield entry.path, rel
            except OSError:
                continue


def _worth_reading(entry: os.DirEntry[str], real_root: str) -> bool:
    if entry.is_symlink() and not _inside(os.path.realpath(entry.path), real_root):
        return False  # a link out of the tree is not part of this codebase
    ext = os.path.splitext(entry.name)[1].lower()
    return ext not in BINARY_EXTS and entry.stat().st_size <= MAX_FILE_BYTES


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_text(path: str) -> str | None:
    """The file as text (UTF-8, else Latin-1, BOM dropped); None when it is binary or over the size cap.
    Raises OSError when it cannot be read."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES or b"\x00" in data[:8192]:
        return None  # binary or generated: skipped, where a model's own files would be refused
    return decode_text(data, path)
