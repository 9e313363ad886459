"""Local input: a snapshot directory, a lone card file, or a directory holding many snapshot directories."""
from __future__ import annotations

import os

from audit.errors import AuditError, InputUnreadable
from audit.model import Origin, RepoFile, Snapshot
from audit.sources.base import (
    CARD_NAMES,
    CONFIG_NAMES,
    MAX_CARD_BYTES,
    MAX_FILES_LISTED,
    MAX_TEXT_BYTES,
    is_license_like,
    is_wanted_text,
    read_text_file,
)

_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".cache", ".venv", "venv"}
_MAX_NESTING = 3  # how deep a directory of snapshot directories is searched


def _is_snapshot_dir(path: str) -> bool:
    try:
        # files only: a folder called "other-license-model" is not a license file
        names = [e.name for e in os.scandir(path) if not e.is_dir()]
    except OSError:
        return False
    return any(n in CARD_NAMES or n in CONFIG_NAMES or is_license_like(n) for n in names)


def _list_files(root: str) -> list[RepoFile]:
    files: list[RepoFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
            try:
                size = os.path.getsize(full)
            except OSError:
                size = None  # a broken symlink: listed, with no size; reading it is what fails
            files.append(RepoFile(rel, size, full))
            if len(files) >= MAX_FILES_LISTED:
                return files
    return files


def read_snapshot_dir(path: str, subject: str | None = None) -> Snapshot:
    """One snapshot directory -> Snapshot. The card and license-like files are read eagerly."""
    files = _list_files(path)
    texts: dict[str, str] = {}
    card_path = None
    skipped: list[str] = []
    for f in files:
        if not is_wanted_text(f.path):
            continue
        is_card = "/" not in f.path and f.path in CARD_NAMES
        if is_card and card_path is not None:
            continue
        limit = MAX_CARD_BYTES if is_card else MAX_TEXT_BYTES
        where = os.path.join(path, f.path)
        if is_card:
            texts[f.path] = read_text_file(where, limit=limit)  # an unreadable card stops this model
            card_path = f.path
        else:
            try:
                texts[f.path] = read_text_file(where, limit=limit)
            except InputUnreadable as exc:
                skipped.append(f"{f.path}: {exc.message}")
    return Snapshot(
        subject=subject or path,
        origin=Origin("local", path),
        files=tuple(files),
        texts=texts,
        card_path=card_path,
        info={"skipped": skipped} if skipped else {},
    )


def read_card_file(path: str) -> Snapshot:
    name = os.path.basename(path)
    text = read_text_file(path, limit=MAX_CARD_BYTES)
    return Snapshot(
        subject=path,
        origin=Origin("card", path),
        files=(RepoFile(name, len(text.encode("utf-8")), path),),
        texts={name: text},
        card_path=name,
    )


def _find_snapshot_dirs(path: str, depth: int = 0) -> list[str]:
    out: list[str] = []
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if e.name in _SKIP_DIRS or e.name.startswith("."):
            continue
        if e.is_dir():
            if _is_snapshot_dir(e.path):
                out.append(e.path)
            elif depth + 1 < _MAX_NESTING:
                out.extend(_find_snapshot_dirs(e.path, depth + 1))
    return out


def read_local(path: str) -> list[Snapshot | AuditError]:
    """A path -> its snapshots. Problems with a child snapshot are returned in place, not raised,
    so one bad model does not hide the others; a path that cannot be read at all raises."""
    if os.path.islink(path) and not os.path.exists(path):
        raise InputUnreadable(path, "is a broken symbolic link")
    if not os.path.exists(path):
        raise InputUnreadable(path, "does not exist")
    if os.path.isfile(path):
        return [read_card_file(path)]
    if not os.path.isdir(path):
        raise InputUnreadable(path, "is neither a file nor a directory")
    if _is_snapshot_dir(path):
        return [read_snapshot_dir(path)]
    children = _find_snapshot_dirs(path)
    if not children:
        raise InputUnreadable(path, "holds no model card (README.md) and no snapshot directories")
    out: list[Snapshot | AuditError] = []
    for child in children:
        try:
            out.append(read_snapshot_dir(child))
        except AuditError as exc:
            out.append(exc)
    return out
