"""Render `mlaudit identify` results: per file, the licenses found in it (text or JSON)."""
from __future__ import annotations

import json
from collections.abc import Sequence

from audit.licenses.identify import Identification

FORMATS = ("text", "json")


def render_identifications(results: Sequence[tuple[str, Sequence[Identification]]], fmt: str) -> str:
    """results: (file, identifications) pairs in input order. fmt: text | json."""
    if fmt == "json":
        return _json(results)
    if fmt == "text":
        return _text(results)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _json(results: Sequence[tuple[str, Sequence[Identification]]]) -> str:
    rows = []
    for file, idents in results:
        for ident in idents:
            row = {"file": file, **ident.to_dict(), "start_line": ident.start_line, "end_line": ident.end_line}
            rows.append(row)
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _text(results: Sequence[tuple[str, Sequence[Identification]]]) -> str:
    out: list[str] = []
    for file, idents in results:
        out.append(file)
        if not idents:
            out.append("  no license found")
        for ident in idents:
            key = ident.key or "unknown"
            version = f" {ident.version}" if ident.version else ""
            lines = ""
            if ident.start_line:
                lines = f"  (lines {ident.start_line}-{ident.end_line})" if ident.end_line != ident.start_line else f"  (line {ident.start_line})"
            out.append(f"  {key}{version}  {ident.verdict}  confidence {ident.confidence:.2f}{lines}")
            for d in ident.details:
                out.append(f"    - {d}")
    return "\n".join(out) + "\n"
