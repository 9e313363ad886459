"""The JSON Schemas (draft 2020-12) of the files mlaudit writes: report (`--format json`), lock, baseline.

Each schema's `$id` ends with the version its writer puts in the file's `schema` key; a change to a file's
shape is a new schema version, and tests/test_report_schemas.py holds every writer to its schema.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

from audit.errors import UsageError

# report: audit.report.json (version AuditReport.schema); lock: audit.postprocess.lock (SCHEMA);
# baseline: audit.postprocess.baseline (SCHEMA)
SCHEMAS = ("report", "lock", "baseline")


def load_schema(name: str) -> dict[str, Any]:
    """The schema `name` (report | lock | baseline) as a dict; UsageError naming it when there is none."""
    if name not in SCHEMAS:
        raise UsageError(name, f"no such schema (one of: {', '.join(SCHEMAS)})")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
