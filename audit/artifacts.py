"""A model's files and architecture as the SBOM formats describe them: a digest per file where one is known
(sha256 and sha1 of the bytes mlaudit read; the LFS sha256 the Hub or cache lists for the rest), and the
architecture config.json names; in a --locked run, the lockfile's hash for a file the cache does not hold.
Listings and configs come from the repo: every value is checked, never trusted."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from audit.model import Artifacts, AuditReport, FileHash, Snapshot
from audit.sources.base import json_object

if TYPE_CHECKING:
    from audit.postprocess.lock import LockEntry

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1024 * 1024
_MAX_NAME = 200  # a model_type or architecture name longer than this is not one


def bytes_digests(data: bytes) -> tuple[str, str]:
    """(sha256, sha1) of bytes already read."""
    return hashlib.sha256(data).hexdigest(), hashlib.sha1(data, usedforsecurity=False).hexdigest()


def file_digests(path: str) -> tuple[str, str] | None:
    """(sha256, sha1) of a file's bytes, read in chunks; None when it cannot be read."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                sha256.update(chunk)
                sha1.update(chunk)
    except OSError:
        return None
    return sha256.hexdigest(), sha1.hexdigest()


def _name(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= _MAX_NAME else None


def artifacts(snapshot: Snapshot) -> Artifacts:
    """The snapshot's file digests (files it read are hashed from their bytes: those the source hashed as it read
    them, the others read again here) and config.json's architecture."""
    files: list[FileHash] = []
    for f in snapshot.files:
        digests = None
        if f.path in snapshot.texts and f.local_path:
            digests = snapshot.digests.get(f.path) or file_digests(f.local_path)
        if digests is not None:
            files.append(FileHash(f.path, digests[0], digests[1], "read"))
        elif f.sha256 and _SHA256.match(f.sha256):
            files.append(FileHash(f.path, f.sha256.lower(), None, "listed"))
    model_type: str | None = None
    architectures: tuple[str, ...] = ()
    config = json_object(snapshot.texts.get("config.json"))
    if config:
        model_type = _name(config.get("model_type"))
        archs = config.get("architectures")
        if isinstance(archs, list):
            architectures = tuple(n for n in (_name(a) for a in archs[:20]) if n)
    return Artifacts(tuple(sorted(files, key=lambda h: h.path)), model_type, architectures)


def with_locked_hashes(report: AuditReport, pairs: Sequence[tuple[LockEntry, Any]]) -> AuditReport:
    """A locked run reads models from the cache, which may hold only some files: the others keep the sha256
    the lockfile pins for them ("locked"), so the SBOM still lists every file the lock knows."""
    entries = {(s.subject, s.origin): e for e, s in pairs if isinstance(s, Snapshot)}
    models = []
    for m in report.models:
        entry = entries.get((m.subject, m.origin))
        art = m.artifacts or Artifacts()
        known = {f.path for f in art.files}
        pinned = {**entry.lfs, **entry.files} if entry is not None else {}
        extra = [FileHash(path, digest.lower(), None, "locked") for path, digest in pinned.items()
                 if path not in known and isinstance(digest, str) and _SHA256.match(digest)]
        if extra:
            m = replace(m, artifacts=replace(art, files=tuple(sorted((*art.files, *extra), key=lambda h: h.path))))
        models.append(m)
    return replace(report, models=tuple(models))
