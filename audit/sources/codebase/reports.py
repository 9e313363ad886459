"""mlaudit's own output, recognised by its content (never by its name), so a report committed to a repository
or left in a CI workspace is never read as the models the code uses.

Recognised: the JSON report, lockfile and baseline (`"schema": "mlaudit.<kind>/<n>"`), SARIF (a run whose
`tool.driver.name` is mlaudit), CycloneDX (mlaudit among the metadata tools, JSON or XML), SPDX (creator
`Tool: mlaudit-...`, JSON or tag-value), JUnit XML (`<testsuites name="mlaudit"`) and the Markdown summary
(its `### mlaudit:` heading and `<sub>mlaudit ...` footer).
"""
from __future__ import annotations

import json
import re
from typing import Any

_JUNIT = re.compile(r"<testsuites\s+name=\"mlaudit\"")
_CYCLONEDX_XML = re.compile(r"<bom\b[^>]*cyclonedx[\s\S]*bom-ref=\"tool:mlaudit\"")
_SPDX_TAG = re.compile(r"^Creator:\s*Tool:\s*mlaudit-", re.MULTILINE)
_MARKDOWN_HEAD = re.compile(r"\A\s*### mlaudit: ")
_MARKDOWN_FOOT = re.compile(r"^<sub>mlaudit \S+ · policy sha256 ", re.MULTILINE)


def own_report(text: str) -> str | None:
    """What kind of mlaudit output `text` is ("an mlaudit.report/1 JSON report", "a SARIF log" ...), or None."""
    if "mlaudit" not in text:
        return None
    head = text.lstrip()[:1]
    if head == "{":
        return _json_report(text)
    if head == "<":
        if _JUNIT.search(text):
            return "a JUnit report"
        if _CYCLONEDX_XML.search(text):
            return "a CycloneDX SBOM"
        return None
    if _SPDX_TAG.search(text):
        return "an SPDX document"
    if _MARKDOWN_HEAD.search(text) and _MARKDOWN_FOOT.search(text):
        return "a Markdown report"
    return None


def _json_report(text: str) -> str | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    schema = data.get("schema")
    if isinstance(schema, str) and re.fullmatch(r"mlaudit\.[a-z-]+/\d+", schema):
        return f"an {schema} file"
    runs = data.get("runs")
    if isinstance(runs, list) and any(_get(r, "tool", "driver", "name") == "mlaudit" for r in runs):
        return "a SARIF log"
    if data.get("bomFormat") == "CycloneDX":
        tools = _get(data, "metadata", "tools")
        listed = tools.get("components") if isinstance(tools, dict) else tools
        if isinstance(listed, list) and any(isinstance(t, dict) and t.get("name") == "mlaudit" for t in listed):
            return "a CycloneDX SBOM"
    creators = _get(data, "creationInfo", "creators")
    if isinstance(creators, list) and any(isinstance(c, str) and c.startswith("Tool: mlaudit-") for c in creators):
        return "an SPDX document"
    return None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
