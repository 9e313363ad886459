"""What weight files say about themselves: the GGUF key-value header and the safetensors `__metadata__` map.

Only headers are read, with a byte budget, never the tensors: a GGUF file is a little-endian header (magic
"GGUF", version, tensor count, key-value count, then typed key-value pairs) before its tensor data; a
safetensors file is an 8-byte little-endian header length, then that many bytes of JSON, then the tensors.
Both formats are documented (ggml-org/ggml docs/gguf.md; huggingface/safetensors README).

GGUF keys used for provenance: general.license, general.name, general.basename, general.organization,
general.base_model.count and general.base_model.N.{name, organization, repo_url}. Large arrays (a tokenizer's
vocabulary) are skipped by seeking, not read.
"""
from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any

from audit.model import Origin, Snapshot

MAX_HEADER_BYTES = 16 * 1024 * 1024  # a header larger than this is not read (GGUF: up to the general.* keys)
MAX_KV = 4096  # key-value pairs read at most
MAX_FILES = 2  # weight files per format read per snapshot (the first shard carries the metadata)
_GGUF_MAGIC = b"GGUF"
# GGUF value types: id -> struct format of a scalar (8: string, 9: array)
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_HF_REPO = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)/?$")


class HeaderError(ValueError):
    """The file is not a readable header of its format (truncated, wrong magic, over the byte budget)."""


@dataclass(frozen=True, slots=True)
class WeightHeader:
    """The provenance fields of one weight file's header."""

    path: str  # repo path of the file
    format: str  # gguf | safetensors
    fields: Mapping[str, Any] = field(default_factory=dict)  # general.* (GGUF) or __metadata__ (safetensors)
    origin: Origin | None = None

    @property
    def license(self) -> str | None:
        value = self.fields.get("general.license" if self.format == "gguf" else "license")
        return value.strip() if isinstance(value, str) and value.strip() else None

    @property
    def name(self) -> str | None:
        for key in ("general.name", "general.basename", "name"):
            value = self.fields.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def base_models(self) -> list[tuple[str, str]]:
        """(repo id or name, the field it came from) for each general.base_model.N the header records."""
        out: list[tuple[str, str]] = []
        count = self.fields.get("general.base_model.count")
        n = count if isinstance(count, int) and 0 < count <= 64 else 0
        for i in range(n):
            pre = f"general.base_model.{i}"
            url = self.fields.get(f"{pre}.repo_url")
            m = _HF_REPO.match(url.strip()) if isinstance(url, str) else None
            if m:
                out.append((m.group(1), f"{pre}.repo_url"))
                continue
            org, name = self.fields.get(f"{pre}.organization"), self.fields.get(f"{pre}.name")
            if isinstance(name, str) and name.strip():
                rid = f"{org.strip()}/{name.strip()}" if isinstance(org, str) and org.strip() else name.strip()
                out.append((rid.replace(" ", "-"), f"{pre}.name"))
        return out


# -- GGUF -------------------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, fh: IO[bytes], budget: int):
        self.fh = fh
        self.budget = budget

    def read(self, n: int) -> bytes:
        if n < 0 or self.fh.tell() + n > self.budget:
            raise HeaderError(f"header larger than {self.budget} bytes")
        data = self.fh.read(n)
        if len(data) != n:
            raise HeaderError("truncated header")
        return data

    def skip(self, n: int) -> None:
        if n < 0 or self.fh.tell() + n > self.budget:
            raise HeaderError(f"header larger than {self.budget} bytes")
        self.fh.seek(n, os.SEEK_CUR)

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.read(self.unpack("<Q")).decode("utf-8", "replace")

    def skip_string(self) -> None:
        self.skip(self.unpack("<Q"))


def _gguf_value(r: _Reader, vtype: int, keep: bool) -> Any:
    """One value; `keep` False: skipped (seeked over), None returned."""
    if vtype in _SCALAR:
        fmt = _SCALAR[vtype]
        if not keep:
            r.skip(struct.calcsize(fmt))
            return None
        return r.unpack(fmt)
    if vtype == _STRING:
        if not keep:
            r.skip_string()
            return None
        return r.string()
    if vtype == _ARRAY:
        itype, count = r.unpack("<I"), r.unpack("<Q")
        small = keep and count <= 64
        if itype in _SCALAR and not small:
            r.skip(struct.calcsize(_SCALAR[itype]) * count)
            return None
        items = [_gguf_value(r, itype, small) for _ in range(count)]
        return items if small else None
    raise HeaderError(f"unknown GGUF value type {vtype}")


def read_gguf_header(path: str, budget: int = MAX_HEADER_BYTES) -> dict[str, Any]:
    """The general.* key-value pairs of a GGUF file's header (every other pair skipped)."""
    out: dict[str, Any] = {}
    with open(path, "rb") as fh:
        r = _Reader(fh, budget)
        if r.read(4) != _GGUF_MAGIC:
            raise HeaderError("not a GGUF file (magic)")
        version = r.unpack("<I")
        if version == 1:
            r.unpack("<I")
            kv_count = r.unpack("<I")
        else:
            r.unpack("<Q")
            kv_count = r.unpack("<Q")
        for _ in range(min(kv_count, MAX_KV)):
            key = r.string() if version != 1 else r.read(r.unpack("<I")).decode("utf-8", "replace")
            vtype = r.unpack("<I")
            wanted = key.startswith("general.")
            value = _gguf_value(r, vtype, wanted)
            if wanted:
                out[key] = value
    return out


# -- safetensors ------------------------------------------------------------------------------------------------
def read_safetensors_metadata(path: str, budget: int = MAX_HEADER_BYTES) -> dict[str, Any]:
    """The `__metadata__` map of a safetensors file's JSON header ({} when it has none)."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise HeaderError("truncated header")
        (n,) = struct.unpack("<Q", raw)
        if n > budget:
            raise HeaderError(f"header larger than {budget} bytes")
        text = fh.read(n)
        if len(text) != n:
            raise HeaderError("truncated header")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HeaderError(f"header is not JSON: {exc}") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return {str(k): v for k, v in meta.items()} if isinstance(meta, dict) else {}


# -- a snapshot's weight files ----------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _read(path: str, fmt: str, size: int, mtime_ns: int) -> Mapping[str, Any]:
    """One header, read once per file version (lineage and provenance both ask)."""
    return read_gguf_header(path) if fmt == "gguf" else read_safetensors_metadata(path)


def weight_headers(snapshot: Snapshot | None) -> list[WeightHeader]:
    """The headers of the snapshot's local GGUF and safetensors files (at most MAX_FILES of each, in path
    order); a file that is not on disk or cannot be read is left out."""
    if snapshot is None:
        return []
    out: list[WeightHeader] = []
    seen = {"gguf": 0, "safetensors": 0}
    for f in sorted(snapshot.files, key=lambda f: f.path):
        fmt = "gguf" if f.path.lower().endswith(".gguf") else "safetensors" if f.path.lower().endswith(
            ".safetensors") else None
        if fmt is None or not f.local_path or seen[fmt] >= MAX_FILES:
            continue
        try:
            st = os.stat(f.local_path)
            fields = _read(f.local_path, fmt, st.st_size, st.st_mtime_ns)
        except (OSError, HeaderError, struct.error):
            continue
        seen[fmt] += 1
        if fields:
            out.append(WeightHeader(f.path, fmt, fields, snapshot.origin.at(file=f.path)))
    return out
