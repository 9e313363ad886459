"""Provenance facts of one snapshot (what was read, from whom, in which formats) and the integrity check.

huggingface_hub does not verify what it downloads against the hashes the Hub advertises, so the audit
hashes the local bytes itself: sha256 for LFS files (compared with the Hub's lfs.sha256, the cache's
trees/{commit}.json lfs_sha256, or a blob named by its sha256) and the git blob sha1 for small files
(compared with the Hub's blobId / the cache's blob_id or blob name).
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

from audit.model import Evidence, ModelCard, Origin, Snapshot, SourceKind
from audit.sources.base import json_object
from audit.sources.ids import COMMIT_SHA as _HEX40

# formats whose loading runs code (pickle) vs formats that are data only
PICKLE_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".mar")
SAFE_EXTS = {".safetensors": "safetensors", ".gguf": "gguf", ".ggml": "ggml", ".onnx": "onnx", ".h5": "keras-h5",
             ".keras": "keras", ".msgpack": "flax-msgpack", ".tflite": "tflite", ".mlmodel": "coreml", ".npz": "numpy"}

_CHUNK = 1024 * 1024
_NOT_WEIGHTS = re.compile(r"(^|/)(tokenizer|vocab|spm|sentencepiece)[^/]*\.bin$", re.IGNORECASE)


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def git_blob_sha1(path: str) -> str:
    size = os.path.getsize(path)
    h = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_integrity(snapshot: Snapshot) -> dict[str, Any]:
    """Hash every file that is on disk and has an advertised hash; report what does not match."""
    checked = 0
    mismatched: list[dict[str, Any]] = []
    unverified: list[str] = []
    for f in snapshot.files:
        if not f.local_path:
            continue
        expected_sha256 = (f.sha256 or "").lower() or None
        expected_blob = (f.blob_id or "").lower() or None
        if not expected_sha256 and not expected_blob:
            unverified.append(f.path)
            continue
        if not os.path.exists(f.local_path):
            mismatched.append({"path": f.path, "algorithm": None, "expected": expected_sha256 or expected_blob,
                               "actual": None, "reason": "the file is missing (broken link)"})
            continue
        expected: str = expected_sha256 or expected_blob or ""
        try:
            if expected_sha256:
                algo, actual = "sha256", sha256_file(f.local_path)
            else:
                algo, actual = "git-blob-sha1", git_blob_sha1(f.local_path)
        except OSError as exc:
            mismatched.append({"path": f.path, "algorithm": None, "expected": expected_sha256 or expected_blob,
                               "actual": None, "reason": f"cannot be read ({exc.strerror or exc})"})
            continue
        checked += 1
        if actual != expected:
            reason = "content does not match the advertised hash"
            try:
                if f.size is not None and os.path.getsize(f.local_path) != f.size:
                    reason += f" (size {os.path.getsize(f.local_path)} instead of {f.size})"
            except OSError:
                pass
            mismatched.append({"path": f.path, "algorithm": algo, "expected": expected, "actual": actual, "reason": reason})
    return {"checked": checked, "mismatched": mismatched, "unverified": unverified}


def _author(snapshot: Snapshot) -> str | None:
    author = snapshot.info.get("author")
    if isinstance(author, str) and author:
        return author
    subj = snapshot.subject
    if snapshot.origin.source in (SourceKind.HUB, SourceKind.CACHE) and "/" in subj:
        return subj.split("/", 1)[0]
    return None


def provenance_facts(snapshot: Snapshot, card: ModelCard | None) -> dict[str, Any]:
    """JSON-able facts: revision, pinned, author, gated, weight_formats, unsafe_files, custom_code, integrity."""
    names = [f.path for f in snapshot.files] or list(snapshot.texts)
    formats: set[str] = set()
    unsafe: list[str] = []
    for n in names:
        ext = _ext(n)
        if ext in SAFE_EXTS:
            formats.add(SAFE_EXTS[ext])
        elif ext in PICKLE_EXTS and not _NOT_WEIGHTS.search(n):
            formats.add("pickle")
            unsafe.append(n)
    py_files = sorted(n for n in names if n.lower().endswith(".py"))
    auto_map = False
    for cfg in ("config.json", "tokenizer_config.json"):
        if json_object(snapshot.texts.get(cfg)).get("auto_map"):
            auto_map = True
    revision = snapshot.revision
    gated = snapshot.info.get("gated")
    if not gated and card is not None and card.gated:
        gated = card.gated
    return {
        "source": snapshot.origin.source,
        "revision": revision,
        "requested": snapshot.info.get("requested"),
        # pinned: what was asked for names a full commit sha (a branch, `main`, or the commit a branch resolved
        # to in the cache or on the Hub is not a pin: the next run may read another commit)
        "pinned": bool(_HEX40.match(str(snapshot.info.get("requested") or ""))),
        "author": _author(snapshot),
        "gated": gated if gated else False,
        "weight_formats": sorted(formats),
        "unsafe_files": sorted(unsafe),
        "custom_code": {"present": bool(py_files or auto_map), "auto_map": auto_map, "files": py_files[:50]},
        "integrity": check_integrity(snapshot),
        "weight_headers": weight_header_facts(snapshot, card),
    }


def weight_header_facts(snapshot: Snapshot, card: ModelCard | None) -> list[dict[str, Any]]:
    """What the local GGUF / safetensors headers say (audit/sources/weights.py: bounded, never the tensors),
    and where that contradicts the card: another license than the card declares, a base model the card's
    base_model does not name."""
    from audit.licenses.normalize import is_generic, resolve_id
    from audit.sources.weights import weight_headers

    headers = weight_headers(snapshot)
    if not headers:
        return []  # most snapshots: no weights here to read a header from
    out: list[dict[str, Any]] = []
    card_keys: set[str] = set()
    for lic in (card.license if card is not None else ()):
        card_keys.update(resolve_id(lic)[0])
    if card is not None and card.license_name:
        card_keys.update(resolve_id(card.license_name)[0])
    card_bases = {b.lower() for b in (card.base_models if card is not None else ())}
    for h in headers:
        bases = [rid for rid, _ in h.base_models()]
        contradicts: list[str] = []
        keys = list(resolve_id(h.license)[0]) if h.license else []
        if h.license and not is_generic(h.license) and card_keys and keys and not set(keys) & card_keys:
            contradicts.append(f"general.license is {h.license!r}, the card declares {', '.join(sorted(card_keys))}")
        named = [b for b in bases if "/" in b]
        if card_bases and named and not {b.lower() for b in named} & card_bases:
            contradicts.append(f"the header's base model is {', '.join(named)}, the card's base_model "
                               f"{', '.join(card.base_models if card else ())}")
        out.append({"path": h.path, "format": h.format, "license": h.license, "license_keys": keys,
                    "name": h.name, "base_models": bases, "contradicts": contradicts})
    return out


def _author_allowed(author: str, allowed: Any) -> bool:
    pats = allowed if isinstance(allowed, (list, tuple)) else [allowed]
    return any(isinstance(p, str) and fnmatch.fnmatch(author.lower(), p.lower()) for p in pats)


def provenance_evidence(subject: str, facts: Mapping[str, Any], settings: Mapping[str, Any]) -> list[Evidence]:
    """Evidence for the provenance-* checks. require_pinned and allowed_authors come from the policy settings."""
    out: list[Evidence] = []
    origin = Origin(SourceKind(facts.get("source") or SourceKind.LOCAL), subject, revision=facts.get("revision"))
    if settings.get("require_pinned") and not facts.get("pinned"):
        out.append(Evidence("provenance-unpinned", subject,
                            f"is not pinned to a commit: it was asked for as "
                            f"{facts.get('requested') or 'a path or the default branch'}, which may point elsewhere "
                            "next time; name it as org/name@<40-hex commit sha>", (origin,),
                            data={"revision": facts.get("revision")}))
    allowed = settings.get("allowed_authors")
    if allowed:
        author = facts.get("author")
        if not author:
            out.append(Evidence("provenance-author", subject, "the author or organization is not known, so it cannot be "
                                "checked against the allow-list", (origin,), unknown=True))
        elif not _author_allowed(author, allowed):
            out.append(Evidence("provenance-author", subject, f"author {author!r} is not on the policy's allow-list",
                                (origin,), data={"author": author}))
    unsafe = list(facts.get("unsafe_files") or ())
    if unsafe:
        alt = " (safetensors weights are also present: load those)" if "safetensors" in (facts.get("weight_formats") or ()) else ""
        shown = ", ".join(unsafe[:5]) + (f" and {len(unsafe) - 5} more" if len(unsafe) > 5 else "")
        out.append(Evidence("provenance-unsafe-format", subject,
                            f"ships pickle-based files that run code when loaded: {shown}{alt}",
                            tuple(origin.at(file=f) for f in unsafe[:5]), data={"files": unsafe}))
    code = facts.get("custom_code") or {}
    if code.get("present"):
        what = []
        if code.get("auto_map"):
            what.append("config.json auto_map")
        if code.get("files"):
            what.append(", ".join(code["files"][:5]))
        out.append(Evidence("provenance-remote-code", subject,
                            f"ships custom code that trust_remote_code would run ({'; '.join(what)})",
                            tuple(origin.at(file=f) for f in (code.get("files") or ["config.json"])[:5]),
                            data=dict(code)))
    integ = facts.get("integrity") or {}
    for m in integ.get("mismatched") or ():
        out.append(Evidence("provenance-integrity", subject,
                            f"{m['path']}: {m['reason']}" + (f" ({m['algorithm']} {m['actual']}, expected {m['expected']})"
                                                             if m.get("actual") else ""),
                            (origin.at(file=m["path"]),), data=dict(m)))
    for h in facts.get("weight_headers") or ():
        for what in h.get("contradicts") or ():
            out.append(Evidence("license-weights-mismatch", subject, f"{h['path']} ({h['format']} header): {what}",
                                (origin.at(file=h["path"]),), data=dict(h)))
    if facts.get("gated"):
        out.append(Evidence("provenance-gated", subject,
                            f"is gated ({facts['gated']}): its terms must be accepted on the Hub before download",
                            (origin.at(field="gated"),), data={"gated": facts["gated"]}))
    return out
