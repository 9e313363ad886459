"""mlaudit: audit the license and provenance of open-weight AI models.

Keep this module light: the CLI imports it on every start-up.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "audit", "load_policy"]


def audit(inputs, policy=None, **options):
    """Audit model inputs against a policy and return an AuditReport. See audit.api.run_audit."""
    from audit.api import run_audit

    return run_audit(inputs, policy=policy, **options)


def load_policy(path=None):
    """Load a policy file (or the default policy when path is None)."""
    from audit.policy.schema import load_policy as _load

    return _load(path)
