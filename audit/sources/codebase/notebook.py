"""Model references in Jupyter notebooks: the code cells, read as Python, each line mapped to the JSON file."""
from __future__ import annotations

import json
from collections.abc import Sequence

from audit.model import Reference
from audit.sources.codebase.python import PY_TRIGGERS, scan_python
from audit.sources.codebase.sourcefile import ScanStats, SourceFile


def scan_notebook(file: SourceFile, stats: ScanStats) -> list[Reference]:
    """Code cells of a .ipynb, each line mapped back to its line in the JSON file."""
    if not any(t in file.text for t in PY_TRIGGERS):
        stats.skipped += 1
        return []
    try:
        nb = json.loads(file.text)
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
    except (ValueError, AttributeError):
        return []
    code: list[str] = []
    line_map: list[int] = []
    cursor = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", [])
        src_lines = [str(x) for x in source] if isinstance(source, list) else str(source).splitlines(True)
        start = _find_source_start(file.lines, cursor, src_lines)
        cursor = start + len(src_lines)
        if cell.get("cell_type") != "code":
            continue
        cell_magic = bool(src_lines) and src_lines[0].lstrip().startswith("%%")  # %%bash etc.: not Python
        for i, src in enumerate(src_lines):
            s = src.rstrip("\n")
            # IPython magics and shell escapes are not Python; blank them to keep the line count
            code.append("" if cell_magic or s.lstrip().startswith(("%", "!", "?")) else s)
            line_map.append(start + 1 + i)
        code.append("")  # cells are separate statements
        line_map.append(line_map[-1] if line_map else 1)
    return scan_python("\n".join(code), code, file, stats, line_map=line_map)


def _find_source_start(lines: Sequence[str], cursor: int, src_lines: list[str]) -> int:
    """0-based index of the file line holding a cell's first source line (nbformat writes one per line)."""
    first = json.dumps(src_lines[0], ensure_ascii=False)[1:-1][:40] if src_lines else None
    for i in range(cursor, len(lines)):
        if '"source"' in lines[i]:
            if first is None or (i + 1 < len(lines) and first in lines[i + 1]):
                return i + 1
            if first in lines[i]:  # "source": "one string"
                return i
    return cursor


