"""The command line (console script `mlaudit` = audit.cli:main). A thin layer over audit.api: settings ->
library call -> render -> exit code. commands.py: the click commands; settings.py: options and configuration;
output.py: printing, writing reports, exit codes."""
from __future__ import annotations

from audit.cli.commands import main
from audit.cli.output import EXIT_FAIL, EXIT_INPUT, EXIT_PASS, EXIT_USAGE, PROGRESS_MIN_MODELS, _ProgressBar

__all__ = ["EXIT_FAIL", "EXIT_INPUT", "EXIT_PASS", "EXIT_USAGE", "PROGRESS_MIN_MODELS", "_ProgressBar", "main"]
