"""Local input: a snapshot directory, a lone card file, or a directory holding many snapshot directories.

A directory is a snapshot when it holds a model card or a model config; a directory holding neither is a
container, searched for snapshots at any depth (a LICENSE at a container's root does not make it a model);
a directory with only license-like files and no snapshot below it is a model without a card. Nothing is left
out silently: every directory the search does not enter is returned as Skipped with the reason, and every
wanted file that cannot be read (too big, not a regular file, a link leaving the snapshot) is recorded in
Snapshot.unread, which fails the audit closed.
"""
from __future__ import annotations

import os
import stat

from audit.artifacts import bytes_digests
from audit.errors import AuditError, InputUnreadable
from audit.model import Origin, Problem, RepoFile, Skipped, Snapshot, SourceKind
from audit.sources.base import (
    CARD_NAMES,
    CONFIG_NAMES,
    MAX_CARD_BYTES,
    MAX_FILES_LISTED,
    MAX_TEXT_BYTES,
    decode_text,
    is_license_like,
    is_wanted_text,
    read_file_bytes,
    read_text_file,
)

# Directories never entered, with the reason reported for each one met inside a container.
_VCS_DIRS = {".git": "version-control metadata", ".hg": "version-control metadata",
             ".svn": "version-control metadata", "__pycache__": "Python byte-code cache",
             "node_modules": "JavaScript dependencies"}
_MAX_DEPTH = 32  # a container nested deeper than this is a loop or an attack, not a model collection
_MAX_DIRS = 100_000  # directories a container search visits at most

Found = Snapshot | AuditError | Skipped


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symbolic link loop: not a directory; reading it as a file says what it is
        return False


def _names(path: str) -> list[str]:
    # files only: a folder called "other-license-model" is not a license file
    return [e.name for e in os.scandir(path) if not _is_dir(e)]


def _has_card_or_config(names: list[str]) -> bool:
    return any(n in CARD_NAMES or n in CONFIG_NAMES for n in names)


def _list_files(root: str) -> list[RepoFile]:
    files: list[RepoFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _VCS_DIRS)
        rel_dir = "." if dirpath == root else os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
            try:
                size: int | None = os.path.getsize(full)
            except OSError:
                size = None  # a broken symlink: listed, with no size; reading it is what fails
            files.append(RepoFile(rel, size, full))
            if len(files) >= MAX_FILES_LISTED:
                return files
    return files


def read_snapshot_dir(path: str, subject: str | None = None) -> Snapshot:
    """One snapshot directory -> Snapshot. The card and license-like files are read eagerly, never outside the
    directory. README.md is the card; an unreadable card stops this model, any other unreadable wanted file is
    recorded in `unread`."""
    origin = Origin(SourceKind.LOCAL, path)
    files = _list_files(path)
    texts: dict[str, str] = {}
    digests: dict[str, tuple[str, str]] = {}  # hashed as read: the SBOM's digests need no second read
    card_path = next((n for n in CARD_NAMES if any(f.path == n for f in files)), None)
    unread: list[Problem] = []
    for f in files:
        if not is_wanted_text(f.path):  # other card files too: compared with the card, never used instead
            continue
        is_card = f.path == card_path
        where = os.path.join(path, f.path)
        try:
            data = read_file_bytes(where, limit=MAX_CARD_BYTES if is_card else MAX_TEXT_BYTES, within=path)
            texts[f.path] = decode_text(data, where)
            digests[f.path] = bytes_digests(data)
        except InputUnreadable as exc:
            if is_card:
                raise
            unread.append(Problem("file-unreadable", f"{f.path} {exc.message}", origin.at(file=f.path)))
    return Snapshot(subject=subject or path, origin=origin, files=tuple(files), texts=texts, card_path=card_path,
                    unread=tuple(unread), digests=digests)


def read_card_file(path: str) -> Snapshot:
    name = os.path.basename(path)
    text = read_text_file(path, limit=MAX_CARD_BYTES)
    return Snapshot(
        subject=path,
        origin=Origin(SourceKind.CARD, path),
        files=(RepoFile(name, len(text.encode("utf-8")), path),),
        texts={name: text},
        card_path=name,
    )


class _Search:
    """The snapshot directories below a container, and what the search did not enter."""

    def __init__(self) -> None:
        self.found: list[Found] = []
        self.visited = 0

    def walk(self, path: str, depth: int) -> bool:
        """Search `path`; True when a snapshot was found at or below it."""
        self.visited += 1
        if depth > _MAX_DEPTH or self.visited > _MAX_DIRS:
            self.found.append(Skipped(path, f"not searched: deeper than {_MAX_DEPTH} levels or past "
                                            f"{_MAX_DIRS} directories"))
            return False
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
            names = [e.name for e in entries if not _is_dir(e)]
        except OSError as exc:
            self.found.append(InputUnreadable(path, f"cannot be listed ({exc.strerror or exc}): models in it would be missed"))
            return False
        if depth > 0 and _has_card_or_config(names):
            self.found.append(_read(path))
            return True
        before = len(self.found)
        any_below = False
        for e in entries:
            if not _is_dir(e):
                continue
            reason = self._skip_reason(e)
            if reason:
                self.found.append(Skipped(e.path, reason))
                continue
            any_below = self.walk(e.path, depth + 1) or any_below
        if depth > 0 and not any_below and any(is_license_like(n) for n in names):
            del self.found[before:]  # a model without a card: its own sub-folders are its files
            self.found.append(_read(path))
            return True
        return any_below

    @staticmethod
    def _skip_reason(entry: os.DirEntry[str]) -> str | None:
        if entry.name in _VCS_DIRS:
            return f"not searched: {_VCS_DIRS[entry.name]}"
        if entry.is_symlink():
            return "not searched: a symbolic link to a directory (it may point outside, or loop)"
        if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return "not searched: a Python virtual environment (pyvenv.cfg)"
        return None


def _read(path: str) -> Snapshot | AuditError:
    try:
        return read_snapshot_dir(path)
    except AuditError as exc:
        return exc


def read_local(path: str) -> list[Found]:
    """A path -> its snapshots. Problems with a child snapshot are returned in place, not raised, so one bad
    model does not hide the others; a path that cannot be read at all raises."""
    try:
        mode = os.stat(path).st_mode  # one stat answers exists / isfile / isdir
    except (OSError, ValueError):
        if os.path.islink(path):
            raise InputUnreadable(path, "is a broken symbolic link") from None
        raise InputUnreadable(path, "does not exist") from None
    if stat.S_ISREG(mode):
        return [read_card_file(path)]
    if not stat.S_ISDIR(mode):
        raise InputUnreadable(path, "is neither a file nor a directory")
    try:
        names = _names(path)
    except OSError as exc:
        raise InputUnreadable(path, f"cannot be listed ({exc.strerror or exc})") from None
    if _has_card_or_config(names):
        return [read_snapshot_dir(path)]
    search = _Search()
    found_any = search.walk(path, 0)
    if not found_any:
        if any(is_license_like(n) for n in names):
            return [read_snapshot_dir(path)]  # license files and nothing else: a model without a card
        errors = [f for f in search.found if isinstance(f, AuditError)]
        if errors:
            return list(search.found)
        raise InputUnreadable(path, "holds no model card (README.md) and no snapshot directories")
    return search.found
