"""Card dumps -> one Dask dataframe with normalized columns.

Formats by extension: parquet, JSON lines (.jsonl, .ndjson, .jsonl.gz), JSON arrays (.json), CSV. A source is
a local file, a directory (every dump file in it), a glob, or any fsspec URL (`hf://datasets/...`, `s3://...`).

Column mapping, so both public layouts read the same:
- `model_cards_with_metadata`: modelId, author, createdAt, lastModified, tags, card, ...
- model-tree dumps: model_id, card, metadata (JSON of the Hub's model info), depth
Normalized: model_id, author, created, modified, tags, card, metadata, plus `source` and `row` (the partition's
label and the 1-based row inside it), which name a row that fails to parse.

CSV is read one partition per file: a card spans lines, and a byte-range split could cut a quoted field.
"""
from __future__ import annotations

import glob
import hashlib
import os
from typing import TYPE_CHECKING, Any

from audit.errors import InputUnreadable, UsageError

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


def dump_format(path: str) -> str:
    low = path.lower()
    for suffix in (".gz", ".bz2", ".zst", ".xz"):
        if low.endswith(suffix):
            low = low[: -len(suffix)]
    fmt = _FORMATS.get(os.path.splitext(low)[1])
    if fmt is None:
        raise SourceError(path, f"not a card dump format mlaudit reads (by extension: {', '.join(sorted(_FORMATS))})")
    return fmt


def expand(source: str) -> list[str]:
    """A local directory or glob -> its dump files; a URL or a file as it is."""
    if "://" in source:
        return [source]
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


def fingerprint(path: str) -> str:
    """sha256 of a local file; for a URL, what its filesystem reports (an ETag, a git or LFS sha, else size)."""
    if "://" not in path:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return "sha256:" + h.hexdigest()
    import fsspec

    fs, _, paths = fsspec.get_fs_token_paths(path)
    info = fs.info(paths[0]) if paths else {}
    lfs = info.get("lfs") or {}
    for label, value in (("sha256", lfs.get("sha256")), ("blob", info.get("blob_id")), ("etag", info.get("ETag")),
                         ("etag", info.get("etag"))):
        if value:
            return f"{label}:{str(value).strip(chr(34))}"
    return f"size:{info.get('size')}"


def read_dump(path: str, blocksize: str = BLOCKSIZE) -> dd.DataFrame:
    """One dump file (or URL) -> a Dask dataframe with the normalized columns."""
    import dask.dataframe as dd

    fmt = dump_format(path)
    try:
        if fmt == "parquet":
            frame = dd.read_parquet(path)
        elif fmt == "jsonl":
            compressed = not path.lower().endswith((".jsonl", ".ndjson"))
            frame = dd.read_json(path, lines=True, blocksize=None if compressed else blocksize, dtype=False)
        elif fmt == "json":
            frame = dd.read_json(path, orient="records", lines=False, dtype=False)
        else:
            frame = dd.read_csv(path, blocksize=None, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputUnreadable(path, f"cannot read as {fmt}: {exc}") from None
    mapping = column_mapping(list(frame.columns), path)
    frame = frame[list(mapping)]
    meta = empty_normalized()
    return frame.map_partitions(normalize, mapping=mapping, label=path, meta=meta)


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


def read_sources(sources: list[str], blocksize: str = BLOCKSIZE) -> tuple[dd.DataFrame, list[str]]:
    """Every source -> one dataframe, and the files (or URLs) it reads."""
    import dask.dataframe as dd

    files = [f for s in sources for f in expand(s)]
    frames = [read_dump(f, blocksize) for f in files]
    return (frames[0] if len(frames) == 1 else dd.concat(frames)), files
