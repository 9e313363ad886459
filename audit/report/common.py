"""What several formats say the same way, written once: evidence locations, verdict words, the order of
findings and subjects, Hub ids and URLs, and the identity and time of a report for the SBOM formats."""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from audit.model import AuditReport, Finding, LicenseFacts, Origin, Outcome, Verdict

HUB = "https://huggingface.co"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# failing findings first, then the undecided ones (they fail closed too), then the waived ones
_OUTCOME_ORDER = {Outcome.FAIL: 0, Outcome.UNKNOWN: 1, Outcome.WAIVED: 2}


class _HasSubject(Protocol):
    @property
    def subject(self) -> str: ...


S = TypeVar("S", bound=_HasSubject)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str, keep_newlines: bool = False) -> str:
    """Text from a card, a file or a repo made inert for a plain-text format: control characters and escape
    sequences are shown as \\xNN instead of acting on the reader's terminal; line breaks become \\n unless
    kept (a multi-line file quoted as such)."""
    def show(m: re.Match[str]) -> str:
        return f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"

    text = text.replace("\r\n", "\n")
    if not keep_newlines:
        text = text.replace("\n", "\\n")
    return _CONTROL.sub(show, text)


def inert(value: Any) -> Any:
    """Every string of a JSON document with its control characters shown, not sent (consumers print them raw)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, list):
        return [inert(v) for v in value]
    if isinstance(value, dict):
        return {k: inert(v) for k, v in value.items()}
    return value


def evidence_text(o: Origin, subject: str) -> str:
    """An origin as a reader needs it: which repo, when it is not the finding's own model."""
    if o.locator and o.locator != subject and o.file and not o.file.startswith("/"):
        return f"{o.locator}/{o}"
    return str(o)


def verdict(passed: bool) -> str:
    """One model's verdict: pass | fail."""
    return Verdict.PASS.value if passed else Verdict.FAIL.value


def run_verdict(passed: bool) -> str:
    """A whole run's verdict: passed | failed."""
    return "passed" if passed else "failed"


def finding_order(f: Finding) -> tuple[int, int, str, str]:
    """Sort key: what blocks first (fail, undecided, waived), then the most severe, then by subject and rule."""
    return _OUTCOME_ORDER[f.outcome], -f.severity.rank, f.subject, f.rule


def subject_order(subject: str) -> tuple[str, str]:
    """Sort key for subjects: ignoring case, ties broken by case so the order is total."""
    return subject.lower(), subject


def by_subject(items: Iterable[S]) -> dict[str, list[S]]:
    """Findings or obligations per subject, subjects and items in the order they came."""
    out: dict[str, list[S]] = {}
    for item in items:
        out.setdefault(item.subject, []).append(item)
    return out


def is_hub_id(subject: str) -> bool:
    """An `org/name` subject that names a Hub repo (a local path or a lone name does not)."""
    return _HUB_ID.match(subject) is not None


@lru_cache(maxsize=1)
def spdx_licensing() -> Any:
    """license-expression's SPDX licensing, built once and only by the formats that need it."""
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def is_spdx_expression(expr: str) -> bool:
    """A valid SPDX expression whose only unknown symbols are LicenseRef-… (license-expression flags those)."""
    try:
        info = spdx_licensing().validate(expr)
    except Exception:  # license_expression raises several error types on unexpected characters
        return False
    unknown = [s for s in info.invalid_symbols if not str(s).startswith("LicenseRef-")]
    syntax = [e for e in info.errors if not e.startswith("Unknown license key")]
    return not unknown and not syntax


def document_key(report: AuditReport) -> str:
    """What makes two reports the same document (SBOM serial numbers are derived from it, so reruns match)."""
    return "\n".join([report.tool_version, report.policy_sha256]
                     + [f"{m.subject}@{m.revision or ''}" for m in report.models])


def timestamp(report: AuditReport) -> datetime:
    """When the report was made: report.generated_at, else SOURCE_DATE_EPOCH (reproducible builds), else now.

    A generated_at without a time zone stays naive; the caller decides what that means."""
    if report.generated_at is not None:
        try:
            return datetime.fromisoformat(report.generated_at.replace("Z", "+00:00"))
        except ValueError:
            pass
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def declared_view(facts: LicenseFacts) -> str:
    """What the front matter declares, for people: its keys; else the values it gives that name no license
    ('other' (not identified)); else 'nothing'."""
    from audit.licenses.normalize import declared_keys

    keys = declared_keys(facts)
    if keys:
        return ", ".join(keys)
    values = dict.fromkeys(repr(d.value) for d in facts.declarations if d.kind in ("front-matter", "license-name")
                           and d.value)
    return f"{', '.join(values)} (not identified)" if values else "nothing"
