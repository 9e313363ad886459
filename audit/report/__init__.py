"""Renderers: one module per format, each a function AuditReport -> str. FORMATS builds --format choices."""
from __future__ import annotations

import importlib
from collections.abc import Callable

# format name -> module under audit.report (imported only when that format is asked for)
FORMATS = {
    "text": "terminal",
    "json": "json",
    "sarif": "sarif",
    "junit": "junit",
    "markdown": "markdown",
    "cyclonedx": "cyclonedx",
    "spdx": "spdx",
    "notices": "notices",
}


def renderer(fmt: str) -> Callable:
    return importlib.import_module(f"audit.report.{FORMATS[fmt]}").render


def render(report, fmt: str = "text", options=None):  # replaced by the Renderer registry (report branch)
    return renderer(fmt)(report)
