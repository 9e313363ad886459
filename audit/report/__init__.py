"""Renderers: one module per format, each `render(report, options) -> str`, found through one registry.

`render(report, fmt, options)` is the one entry point: the CLI, the API and the tests all go through it,
so a format cannot behave differently depending on who asks. Format modules are imported only when their
format is asked for (cyclonedx and spdx pull in heavy libraries; CLI start-up must stay cheap).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from audit.errors import UsageError

if TYPE_CHECKING:
    from audit.model import AuditReport


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render, as opposed to what: every format accepts every option and ignores those it has no use for."""

    color: bool = False  # text: ANSI colours (the CLI sets it when standard output is a terminal)
    pretty: bool = False  # json: indented; compact by default, since large reports are read by tools
    show_errors: bool = True  # text: list the inputs that could not be read (off when the CLI already printed
    #                           them on standard error, so a terminal does not show them twice)
    quiet: bool = False  # text: only the verdict line
    repository_root: str | None = None  # sarif: the checkout whose files locations are relative to (default:
    #                                      the git root above the scanned directory, else the current directory's)


DEFAULT_OPTIONS = RenderOptions()


class Renderer(Protocol):
    """What a format module is: audit.report.<module> with this `render`."""

    def render(self, report: AuditReport, options: RenderOptions) -> str | bytes: ...


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
    "html": "html",
}


def renderer(fmt: str) -> Callable[[AuditReport, RenderOptions], str | bytes]:
    """The render function of a format; UsageError naming the format when there is no such format."""
    if fmt not in FORMATS:
        raise UsageError(fmt, f"unknown report format (choose one of: {', '.join(FORMATS)})")
    module: Renderer = importlib.import_module(f"audit.report.{FORMATS[fmt]}")
    return module.render


def render(report: AuditReport, fmt: str = "text", options: RenderOptions | None = None) -> str | bytes:
    """The report in a format (see FORMATS), rendered with `options` (defaults: RenderOptions())."""
    return renderer(fmt)(report, options or DEFAULT_OPTIONS)


if TYPE_CHECKING:  # mypy checks that every format module satisfies the Renderer protocol
    from audit.report import cyclonedx, html, json, junit, markdown, notices, sarif, spdx, terminal

    _ALL: tuple[Renderer, ...] = (terminal, json, sarif, junit, markdown, cyclonedx, spdx, notices, html)
