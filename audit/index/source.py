"""Card dumps -> one Dask dataframe with normalized columns.

Formats by extension: parquet, JSON lines (.jsonl, .ndjson, .jsonl.gz), JSON arrays (.json), CSV. A source is
a local file, a directory (every dump file in it), a glob, or any fsspec URL (`hf://datasets/...`, `s3://...`).

Column mapping, so both public layouts read the same:
- `model_cards_with_metadata`: modelId, author, createdAt, lastModified, tags, card, ...
- model-tree dumps: model_id, card, metadata (JSON of the Hub's model info), depth
Normalized: model_id, author, created, modified, tags, card, metadata, plus `source` and `row` (the partition's
label and the 1-based row inside it), which name a row that fails to parse.

CSV is read one partition per file: a card spans lines, and a byte-range split could cut a quoted field.

URL sources (`Remote`): `hf://` goes through huggingface_hub's HfFileSystem with the endpoint and token `check`
uses (--endpoint / HF_ENDPOINT as it is now, not as it was when huggingface_hub was imported; HF_TOKEN or the
stored login, else anonymous). A Hub URL is pinned to the commit its revision points to when the build starts
(`hf://datasets/org/dump@<sha>/cards.jsonl`), so every partition reads the same files and the index's history
names exactly what was read. A glob or a directory in a URL lists the dump files in it. Offline (--offline,
HF_HUB_OFFLINE) no URL is read: one error naming it. Hub failures are the HubError sentences `check` gives
(audit.sources.hub_errors); the token never appears in a message or a label.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError, HubNotFound, HubUnreachable, InputUnreadable, UsageError
from audit.sources.ids import is_commit_sha

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

COLUMNS = ("model_id", "author", "created", "modified", "tags", "card", "metadata")
ALIASES = {
    "modelid": "model_id", "model_id": "model_id", "id": "model_id", "repo_id": "model_id",
    "author": "author",
    "createdat": "created", "created_at": "created", "created": "created",
    "lastmodified": "modified", "last_modified": "modified", "modified": "modified",
    "tags": "tags", "card": "card", "readme": "card", "metadata": "metadata",
}
_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
            ".csv": "csv"}
BLOCKSIZE = "8MB"  # JSON lines partitions: ~3,000 real cards, a few seconds of work each


class SourceError(UsageError):
    """A dump source that cannot be read as a card dump (unknown format, no model id column). Exit code 2."""


_LOCAL_PROTOCOLS = ("file", "local")
_HF_PREFIXES = {"dataset": "datasets/", "model": "", "space": "spaces/"}
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)


def protocol(source: str) -> str | None:
    """A URL's protocol (lower-case), None for a local path."""
    return source.split("://", 1)[0].lower() if "://" in source else None


def is_remote(source: str) -> bool:
    proto = protocol(source)
    return proto is not None and proto not in _LOCAL_PROTOCOLS


def display(source: str) -> str:
    """A source as labels, messages and the index's history show it: credentials in a URL left out."""
    return _USERINFO.sub(r"\1", source) if "@" in source and "://" in source else source


@dataclass(frozen=True, slots=True)
class Remote:
    """How URL sources are read: the Hub endpoint and token for hf://, and whether to read any URL at all."""

    endpoint: str
    token: str | None = None
    offline: bool = False

    @classmethod
    def resolve(cls, endpoint: str | None = None, token: str | bool | None = None, offline: bool | None = None
                ) -> Remote:
        """Defaults as `check` takes them (audit.sources.hub.HubClient): --endpoint, else HF_ENDPOINT now; HF_TOKEN,
        else the stored login token (False: anonymous); HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE."""
        from audit.sources.hub import HubClient

        client = HubClient(endpoint, token, offline=offline)
        return cls(client.endpoint, client.token, client.offline)

    def options(self, url: str) -> dict[str, Any]:
        """fsspec storage options for a URL."""
        if protocol(url) == "hf":
            return {"endpoint": self.endpoint, "token": self.token or False}
        return {}

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def __repr__(self) -> str:  # never the token
        return f"Remote(endpoint={self.endpoint!r}, token={'set' if self.token else 'none'}, offline={self.offline})"


LOCAL = Remote("https://huggingface.co", None, False)


def _filesystem(url: str, remote: Remote) -> Any:
    import fsspec

    return fsspec.filesystem(protocol(url) or "file", **remote.options(url))


@contextlib.contextmanager
def remote_errors(url: str, remote: Remote) -> Iterator[None]:
    """Any failure reading a URL -> one AuditError naming it (the Hub's: the sentences `check` gives)."""
    try:
        yield
    except AuditError:
        raise
    except Exception as exc:
        raise _explain(exc, url, remote) from None


def _explain(exc: BaseException, url: str, remote: Remote) -> AuditError:
    shown = display(url)
    if protocol(url) != "hf":
        why = f"{type(exc).__name__}: {exc}" if not isinstance(exc, FileNotFoundError) else "no such file"
        return InputUnreadable(shown, remote.scrub(why.splitlines()[0][:300]))
    from audit.sources.hub_errors import HubCall, Where, explain

    kind, repo_id, revision, path = _hf_parts(url)
    call = HubCall(shown, kind, repo_id, revision, path)
    cause = exc.__cause__ if isinstance(exc, FileNotFoundError) and exc.__cause__ is not None else exc
    if isinstance(cause, FileNotFoundError):  # the repo is there, the file is not
        return HubNotFound(shown, f"file {path or '(root)'} of {kind} {repo_id} not found on {remote.endpoint}"
                                  + (f" (revision {revision})" if revision else ""),
                           repo_id=repo_id, revision=revision, status=404)
    err = explain(cause, call, Where(remote.endpoint, remote.token, 10.0, ""), attempts=None)
    err.message = remote.scrub(err.message)
    err.args = (f"{err.input}: {err.message}",)
    return err


def _hf_parts(url: str) -> tuple[str, str, str | None, str]:
    """hf://[datasets/|spaces/]org/name[@rev]/path -> (kind, repo id, revision or None, path in the repo)."""
    rest = url.split("://", 1)[1]
    kind = "model"
    for k, prefix in _HF_PREFIXES.items():
        if prefix and rest.startswith(prefix):
            kind, rest = k, rest[len(prefix):]
    parts = rest.split("/")
    repo, path = "/".join(parts[:2]), "/".join(parts[2:])
    revision = None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    return kind, repo, revision, path


def _pin(url: str, remote: Remote) -> str:
    """hf://... at a branch or tag -> the same path at the commit it points to now."""
    from huggingface_hub import HfApi

    kind, repo_id, revision, path = _hf_parts(url)
    if is_commit_sha(revision):
        return url
    api = HfApi(endpoint=remote.endpoint, token=remote.token or False)
    sha = api.repo_info(repo_id, repo_type=kind, revision=revision).sha
    if not sha:
        return url
    return f"hf://{_HF_PREFIXES[kind]}{repo_id}@{sha}" + (f"/{path}" if path else "")


def _expand_url(source: str, remote: Remote) -> list[str]:
    if remote.offline:
        raise HubUnreachable(display(source), "offline (--offline or HF_HUB_OFFLINE): a URL source cannot be read; "
                                              "give a local copy of the dump")
    with remote_errors(source, remote):
        url = _pin(source, remote) if protocol(source) == "hf" else source
        fs = _filesystem(url, remote)
        proto = protocol(url)
        if any(ch in url.split("://", 1)[1] for ch in "*?["):
            found = sorted(p for p in fs.glob(url) if _known(p))
            if not found:
                raise InputUnreadable(display(source), "no dump file matches this pattern")
            return [_with_protocol(p, proto) for p in found]
        if fs.isdir(url):
            found = sorted(p for p in fs.find(url) if _known(p))
            if not found:
                raise InputUnreadable(display(source), "no card dump (parquet, JSON lines, JSON, CSV) in this directory")
            return [_with_protocol(p, proto) for p in found]
        if not fs.exists(url):
            raise FileNotFoundError(url)
        return [url]


def _with_protocol(path: str, proto: str | None) -> str:
    return path if "://" in path or proto is None else f"{proto}://{path}"


def dump_format(path: str) -> str:
    low = path.lower()
    for suffix in (".gz", ".bz2", ".zst", ".xz"):
        if low.endswith(suffix):
            low = low[: -len(suffix)]
    fmt = _FORMATS.get(os.path.splitext(low)[1])
    if fmt is None:
        raise SourceError(path, f"not a card dump format mlaudit reads (by extension: {', '.join(sorted(_FORMATS))})")
    return fmt


def expand(source: str, remote: Remote = LOCAL) -> list[str]:
    """A directory or glob (local, or in a URL) -> its dump files; a file as it is; a Hub URL pinned (Remote)."""
    if is_remote(source):
        return _expand_url(source, remote)
    if os.path.isdir(source):
        found = sorted(p for p in glob.glob(os.path.join(source, "**", "*"), recursive=True)
                       if os.path.isfile(p) and _known(p))
        if not found:
            raise InputUnreadable(source, "no card dump (parquet, JSON lines, JSON, CSV) in this directory")
        return found
    if any(ch in source for ch in "*?["):
        found = sorted(glob.glob(source))
        if not found:
            raise InputUnreadable(source, "no file matches this pattern")
        return found
    if not os.path.isfile(source):
        raise InputUnreadable(source, "no such file")
    return [source]


def _known(path: str) -> bool:
    try:
        dump_format(path)
    except SourceError:
        return False
    return True


def fingerprint(path: str, remote: Remote = LOCAL) -> str:
    """sha256 of a local file; for a URL, what its filesystem reports (an ETag, a git or LFS sha, else size)."""
    if not is_remote(path):
        h = hashlib.sha256()
        with open(path.split("://", 1)[-1], "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return "sha256:" + h.hexdigest()
    with remote_errors(path, remote):
        info = _filesystem(path, remote).info(path)
    lfs = info.get("lfs") or {}
    lfs_sha = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
    for label, value in (("sha256", lfs_sha), ("blob", info.get("blob_id")), ("etag", info.get("ETag")),
                         ("etag", info.get("etag"))):
        if value:
            return f"{label}:{str(value).strip(chr(34))}"
    return f"size:{info.get('size')}"


def read_dump(path: str, blocksize: str = BLOCKSIZE, remote: Remote = LOCAL) -> dd.DataFrame:
    """One dump file (or URL) -> a Dask dataframe with the normalized columns."""
    import dask.dataframe as dd

    fmt = dump_format(path)
    opts = {"storage_options": remote.options(path)} if is_remote(path) else {}
    label = display(path)
    try:
        if fmt == "parquet":
            frame = dd.read_parquet(path, **opts)
        elif fmt == "jsonl":
            compressed = not path.lower().endswith((".jsonl", ".ndjson"))
            frame = dd.read_json(path, lines=True, blocksize=None if compressed else blocksize, dtype=False, **opts)
        elif fmt == "json":
            frame = dd.read_json(path, orient="records", lines=False, dtype=False, **opts)
        else:
            frame = dd.read_csv(path, blocksize=None, dtype=str, keep_default_na=False, **opts)
    except (OSError, ValueError) as exc:
        if is_remote(path) and not isinstance(exc, ValueError):
            raise _explain(exc, path, remote) from None
        raise InputUnreadable(label, remote.scrub(f"cannot read as {fmt}: {exc}")) from None
    except AuditError:
        raise
    except Exception as exc:
        if not is_remote(path):
            raise
        raise _explain(exc, path, remote) from None
    mapping = column_mapping(list(frame.columns), label)
    frame = frame[list(mapping)]
    meta = empty_normalized()
    return frame.map_partitions(normalize, mapping=mapping, label=label, meta=meta)


def column_mapping(columns: list[str], path: str) -> dict[str, str]:
    """Dump column -> normalized column (the first spelling found wins); a dump without an id column is refused."""
    out: dict[str, str] = {}
    for col in columns:
        target = ALIASES.get(str(col).strip().lower())
        if target is not None and target not in out.values():
            out[col] = target
    if "model_id" not in out.values() and "metadata" not in out.values():
        raise SourceError(path, f"no model id column (modelId or model_id) among {', '.join(map(str, columns))}")
    return out


def normalize(frame: pd.DataFrame, mapping: dict[str, str], label: str,
              partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """A partition with the dump's columns -> the normalized columns, `source` and `row`."""
    import pandas as pd

    part = (partition_info or {}).get("number", 0)
    out = frame.rename(columns=mapping)
    for col in COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out[list(COLUMNS)].astype(object)
    out["source"] = f"{label}#{part}" if part else label
    out["row"] = pd.Series(range(1, len(out) + 1), index=out.index, dtype="int64")
    return out


def empty_normalized() -> pd.DataFrame:
    import pandas as pd

    cols: dict[str, Any] = {c: pd.Series(dtype="object") for c in COLUMNS}
    cols["source"] = pd.Series(dtype="object")
    cols["row"] = pd.Series(dtype="int64")
    return pd.DataFrame(cols)


def read_sources(sources: list[str], blocksize: str = BLOCKSIZE, remote: Remote = LOCAL
                 ) -> tuple[dd.DataFrame, list[str]]:
    """Every source -> one dataframe, and the files (or URLs, Hub ones pinned) it reads."""
    import dask.dataframe as dd

    files = [f for s in sources for f in expand(s, remote)]
    frames = [read_dump(f, blocksize, remote) for f in files]
    return (frames[0] if len(frames) == 1 else dd.concat(frames)), files
