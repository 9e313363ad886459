"""What every source shares: which repo files the audit reads, and the limits on reading them.

A source turns an input (directory, card file, cache entry, Hub repo id) into Snapshots. The audit
only ever needs the model card, license-like files and a few small JSON configs, so sources read
those eagerly (bounded in size) and only list the rest.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from typing import TYPE_CHECKING, Any, Protocol

from audit.errors import InputUnreadable

if TYPE_CHECKING:
    from audit.errors import AuditError
    from audit.model import Skipped, Snapshot



class Source(Protocol):
    """Reads one kind of input (see audit.sources.router, the one place that picks a source for an input)."""

    def read(self, spec: str) -> list[Snapshot | AuditError | Skipped]:
        """The snapshots `spec` names; a child that cannot be read is returned in place as its error, so one
        bad model does not hide the others, and a part the source chose not to read as Skipped with the
        reason. An input that cannot be read at all raises an AuditError."""
        ...


MAX_CARD_BYTES = 2 * 1024 * 1024  # real cards are tens of KB; beyond this it is not a card
MAX_TEXT_BYTES = 1 * 1024 * 1024  # a license text or a config.json
MAX_FILES_LISTED = 100_000

CARD_NAMES = ("README.md", "readme.md", "README.MD", "Readme.md", "MODEL_CARD.md", "model_card.md")

_LICENSE_LIKE = re.compile(
    r"""(^|/)(
        (un)?licen[cs]e[^/]*            # LICENSE, LICENSE.txt, LICENSE-MODEL, LICENSE_CODE, license.md
      | [^/]*[-_.]licen[cs]e[^/]*       # MODEL-LICENSE, Model_License.txt, tii-falcon-license.txt
      | copying[^/]*
      | notice[^/]*
      | use[-_]?policy[^/]*
      | acceptable[-_]?use[^/]*
      | prohibited[-_]?use[^/]*
      | terms[-_]of[-_]use[^/]*
      | [^/]*agreement[^/]*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_TEXT_EXTS = (".md", ".txt", ".rst", ".markdown", ".html", ".htm")
CONFIG_NAMES = ("config.json", "adapter_config.json", "generation_config.json")


def is_license_like(path: str) -> bool:
    """True for a repo path that probably holds a license or policy text (LICENSE, NOTICE, USE_POLICY.md ...)."""
    name = path.rsplit("/", 1)[-1]
    if "/" in path.strip("/") and path.count("/") > 1:
        return False  # deep files are vendored code, not the model's license
    if not _LICENSE_LIKE.search(path):
        return False
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    # LICENSE-MODEL has no real extension; LICENSE.pdf and NOTICE.py are not texts we can read
    return not ext or ext in _TEXT_EXTS or not ext[1:].isalpha() or ext in (".model", ".code", ".llama", ".gemma")


def is_wanted_text(path: str) -> bool:
    """Files a source reads eagerly: the card, license-like texts and small configs at the repo root."""
    name = path.rsplit("/", 1)[-1]
    if "/" not in path and (name in CARD_NAMES or name in CONFIG_NAMES):
        return True
    return is_license_like(path)


def decode_text(data: bytes, input: str) -> str:
    """Bytes -> text, refusing binary files. Handles a UTF-8 BOM and falls back to latin-1."""
    if b"\x00" in data[:8192]:
        raise InputUnreadable(input, "is a binary file, not text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def special_kind(mode: int) -> str | None:
    """What a file that is not a regular file is ("a FIFO (named pipe)", "a device" ...); None for a regular one."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _kind_of(mode: int) -> str | None:
    """Why a file that is not a regular file is not read, or None for a regular file."""
    kind = special_kind(mode)
    if kind is None:
        return None
    if kind == "a directory":
        return "a directory, not a file"
    return "not a regular file" if kind == "a special file" else f"{kind}, not a regular file"


def _loops(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def read_text_file(path: str, *, limit: int, input: str | None = None, within: str | None = None) -> str:
    """Read a local text file with a size cap; every failure is an InputUnreadable naming the file (the checks
    of read_file_bytes, then decode_text's)."""
    return decode_text(read_file_bytes(path, limit=limit, input=input, within=within), input or path)


def _directly_in(path: str, link: bool, within: str) -> bool:
    """Is `path` a file named directly in `within` that is no symbolic link? Then it is inside `within`, whatever
    `within`'s own real path is: no realpath (one lstat per directory of the path) is needed to know it."""
    name = os.path.basename(path)
    return not link and name not in ("", os.curdir, os.pardir) and os.path.join(within, name) == path


def read_file_bytes(path: str, *, limit: int, input: str | None = None, within: str | None = None) -> bytes:
    """Read a local file's bytes with a size cap; every failure is an InputUnreadable naming the file.

    Only regular files are read (a FIFO or a device would block or never end), opened without blocking and
    read to at most `limit` + 1 bytes whatever the size said. With `within`, a file whose real path (after
    every symbolic link) leaves that directory is refused: a snapshot cannot make mlaudit read outside it."""
    name = input or path
    try:
        st = os.lstat(path)  # for a file that is no link, the stat the checks below need
        link = stat.S_ISLNK(st.st_mode)
        if link and not os.path.exists(path):
            raise InputUnreadable(name, "is a symbolic link loop" if _loops(path) else "is a broken symbolic link")
        if within is not None and not _directly_in(path, link, within):
            root = os.path.realpath(within)
            real = os.path.realpath(path)
            if os.path.commonpath([real, root]) != root:
                raise InputUnreadable(name, f"is a link to {real}, outside {within}: not read")
        if link:
            st = os.stat(path)
        kind = _kind_of(st.st_mode)
        if kind is not None:
            raise InputUnreadable(name, f"is {kind}")
        size = st.st_size
        if size > limit:
            raise InputUnreadable(name, f"is {size / 1048576:.1f} MiB, over the {limit // 1048576} MiB limit for a text file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            opened = os.fstat(fh.fileno())
            if _kind_of(opened.st_mode) is not None:  # swapped for a FIFO since the stat
                raise InputUnreadable(name, "is not a regular file")
            # the size said, plus one byte to see growth, and only then up to limit + 1: a read of limit + 1 at
            # once makes Python allocate megabytes for a card of a few KB
            want = min(opened.st_size, limit) + 1
            data = fh.read(want)
            if len(data) == want and want < limit + 1:
                data += fh.read(limit + 1 - want)
        if len(data) > limit:
            raise InputUnreadable(name, f"grew over the {limit // 1048576} MiB limit for a text file while read")
    except InputUnreadable:
        raise
    except IsADirectoryError:
        raise InputUnreadable(name, "is a directory, not a file") from None
    except FileNotFoundError:
        raise InputUnreadable(name, "does not exist") from None
    except PermissionError:
        raise InputUnreadable(name, "cannot be read (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputUnreadable(name, "is a symbolic link loop") from None
        raise InputUnreadable(name, f"cannot be read ({exc.strerror or exc})") from None
    return data


def json_object(text: str | None) -> dict[str, Any]:
    """A snapshot's JSON text (config.json, adapter_config.json ...) as an object; {} when it is none, not JSON,
    nested too deep to decode, or not an object (what a file says is read only where it says it plainly)."""
    import json

    if not text or "{" not in text:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def read_json_file(path: str, *, limit: int, missing: str):
    """A JSON file mlaudit wrote (lockfile, baseline): a missing, unreadable or malformed one is a UsageError
    naming the file (and the line); `missing` says how to create it."""
    import json

    from audit.errors import UsageError

    if not os.path.exists(path):
        raise UsageError(path, missing)
    try:
        text = read_text_file(path, limit=limit)
    except InputUnreadable as exc:
        raise UsageError(path, exc.message) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise UsageError(f"{path}:{line}" if line else path, f"not valid JSON: {getattr(exc, 'msg', exc)}") from None
