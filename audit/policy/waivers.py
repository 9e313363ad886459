"""Waivers: a reason and an expiry date. Waived findings are reported, not dropped; an expired
waiver no longer applies and the finding says so."""
from __future__ import annotations

import datetime as _dt
import fnmatch
from dataclasses import replace

from audit.model import Finding, Outcome
from audit.policy.schema import Waiver


def apply_waivers(findings: list[Finding], waivers: tuple[Waiver, ...], today: _dt.date | None = None) -> list[Finding]:
    today = today or _dt.date.today()
    out = []
    for f in findings:
        match = next(
            (w for w in waivers if (w.rule in ("*", f.rule)) and fnmatch.fnmatchcase(f.subject, w.subject)),
            None,
        )
        if match is None:
            out.append(f)
        elif match.expires < today:
            out.append(replace(f, waiver=f"waiver expired on {match.expires.isoformat()} ({match.reason})"))
        else:
            out.append(replace(f, outcome=Outcome.WAIVED,
                               waiver=f"{match.reason} (until {match.expires.isoformat()})"))
    return out
