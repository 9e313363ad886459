"""mlaudit: audit the license and provenance of open-weight AI models.

    import audit
    report = audit.audit(["examples/models"], policy="policies/commercial.yaml")   # or audit.scan(".")
    print(audit.render(report, "markdown"))

The public API lives in audit.api and is re-exported here. Keep this module light: the CLI imports it on
every start-up, so the names below are imported only when first used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Options", "__version__", "audit", "audit_locked", "load_policy", "lock", "render", "scan"]

if TYPE_CHECKING:
    from audit.api import Options, audit, audit_locked, load_policy, lock, render, scan


def __getattr__(name: str) -> Any:
    if name in __all__:
        from audit import api

        return getattr(api, name)
    raise AttributeError(f"module 'audit' has no attribute {name!r}")
