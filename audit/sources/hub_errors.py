"""What went wrong in a Hub call: huggingface_hub / HTTP-stack exceptions -> one typed HubError sentence.

`explain` picks the class callers branch on (audit.errors.HubGated, HubNotFound, ...) and the one-line message
the user reads; the helpers say whether an error may go away by waiting and how long the server asked to wait.
Only names appear in messages (endpoint, repo, revision, file), never the token.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from audit.errors import (
    HubError,
    HubGated,
    HubNotFound,
    HubRateLimited,
    HubRevisionNotFound,
    HubUnauthorized,
    HubUnreachable,
)

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
NO_ROUTE = ("host name not found", "connection refused")  # waiting will not help; later calls fail at once

_RATELIMIT_T = re.compile(r"(?:^|;)\s*t\s*=\s*(\d+)")
# Exception classes of the HTTP stacks huggingface_hub has used, named so none of them must be importable.
_NET_MODULES = ("httpx2", "httpx", "httpcore2", "httpcore", "requests", "urllib3")
_TRANSIENT = {
    "TimeoutException", "NetworkError", "RemoteProtocolError", "ReadError", "WriteError", "ConnectError",
    "ConnectionError", "Timeout", "ProtocolError", "ChunkedEncodingError",
}


@dataclass(frozen=True, slots=True)
class HubCall:
    """What a Hub call was about, for its error message."""

    input: str  # the spec as the user gave it; becomes the error's input
    kind: str  # model | dataset
    repo_id: str
    revision: str | None = None
    file: str | None = None


class DeadlineExceeded(Exception):
    """A call did not complete within its deadline (raised by hub_time); the message is the user's sentence."""


def request_deadline_message(endpoint: str, seconds: float) -> str:
    return f"cannot reach {endpoint}: no complete answer within the {seconds:g} s deadline for one request"


def budget_spent_message(endpoint: str, seconds: float) -> str:
    return f"stopped waiting on {endpoint}: the {seconds:g} s this run may wait on the Hub are spent"


@dataclass(frozen=True, slots=True)
class Where:
    """The client settings an explanation names or depends on."""

    endpoint: str
    token: str | None
    timeout: float
    cache_dir: str


def explain(exc: BaseException, call: HubCall, where: Where, attempts: int | None) -> HubError:
    """One sentence for the user, as the HubError subclass callers branch on."""
    from huggingface_hub import errors as hf_errors

    cause = exc
    if isinstance(exc, hf_errors.LocalEntryNotFoundError) and exc.__cause__ is not None:
        cause = exc.__cause__  # the download's HEAD failed: explain that failure
    status = status_of(cause)
    cls, msg = _classify(cause, call, where, status, attempts)
    if call.revision and call.revision not in msg and not isinstance(cause, hf_errors.OfflineModeIsEnabled):
        msg += f" (revision {call.revision})"
    if where.token:
        msg = msg.replace(where.token, "***")
    return cls(call.input, msg, repo_id=call.repo_id, revision=call.revision, status=status)


def _classify(
    cause: BaseException, call: HubCall, where: Where, status: int | None, attempts: int | None
) -> tuple[type[HubError], str]:
    from huggingface_hub import errors as hf_errors

    url = where.endpoint
    what = f"{call.kind} {call.repo_id}"
    tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    headers = getattr(getattr(cause, "response", None), "headers", None) or {}
    server_message = headers.get("X-Error-Message") or ""

    if isinstance(cause, hf_errors.OfflineModeIsEnabled):
        return HubUnreachable, f"HF_HUB_OFFLINE is set: cannot fetch {what} from {url}"
    if isinstance(cause, hf_errors.GatedRepoError):  # before RepositoryNotFoundError: it is a subclass
        how = "with the account HF_TOKEN belongs to" if where.token else "and set HF_TOKEN"
        return HubGated, f"{what} is gated: accept its terms on the Hub ({url}) {how}"
    if isinstance(cause, hf_errors.RevisionNotFoundError):
        return HubRevisionNotFound, f"revision {call.revision or 'main'!r} of {what} not found on {url}"
    if isinstance(cause, hf_errors.DisabledRepoError):
        return HubError, f"{what} is disabled on {url}"
    if isinstance(cause, hf_errors.RemoteEntryNotFoundError):
        return HubNotFound, f"file {call.file} of {what} not found on {url}"
    if status == 401 and server_message == "Invalid credentials in Authorization header":
        return HubUnauthorized, f"{url} rejected HF_TOKEN (invalid credentials) while fetching {what}"
    if isinstance(cause, hf_errors.RepositoryNotFoundError) or status in (401, 404):
        hint = "or private, and HF_TOKEN gives no access to it" if where.token else "or private: set HF_TOKEN"
        return HubNotFound, f"{what} not found on {url} ({hint})"
    if status == 403:
        return HubUnauthorized, f"{url} refused access to {what} (HTTP 403): check that HF_TOKEN may read it"
    if status == 429:
        return HubRateLimited, f"rate limited by {url}{tries} while fetching {what}"
    if status is not None and status >= 500:
        return HubUnreachable, f"{url} failed with HTTP {status}{tries} while fetching {what}"
    if status is not None:
        return HubError, f"{url} answered HTTP {status} while fetching {what}"
    if isinstance(cause, DeadlineExceeded):
        return HubUnreachable, f"{cause}{tries}"
    if isinstance(cause, hf_errors.FileMetadataError):
        return HubError, f"{url} does not answer like a Hugging Face Hub (no file metadata headers) for {what}"
    if is_transient(cause) or isinstance(cause, (ConnectionError, TimeoutError)):
        return HubUnreachable, f"cannot reach {url}: {net_reason(cause, where.timeout)}{tries}"
    if isinstance(cause, OSError):
        return HubError, f"cannot store {what} in the HF cache {where.cache_dir}: {cause.strerror or cause}"
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    return HubError, f"unexpected error from huggingface_hub while fetching {what} ({type(cause).__name__}: {first})"


def net_reason(exc: BaseException, timeout: float) -> str:
    """A network failure in a few words: what the user can act on."""
    name = type(exc).__name__
    text = str(exc).strip()
    low = text.lower()
    if "timeout" in name.lower() or isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if "refused" in low:
        return "connection refused"
    if name == "RemoteProtocolError" or "disconnected" in low or "without sending" in low:
        return "the server closed the connection without answering"
    if "reset" in low:
        return "connection reset"
    if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low:
        return "host name not found"
    return (text.splitlines() or [name])[0][:200] or name


def status_of(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in _NET_MODULES and cls.__name__ in _TRANSIENT:
            return True
    return isinstance(exc, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, TimeoutError))


def server_wait(response: Any) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or a date), or RateLimit's t=."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ratelimit = headers.get("RateLimit") or headers.get("ratelimit")
    if ratelimit:
        m = _RATELIMIT_T.search(ratelimit)
        if m:
            return float(m.group(1))
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        # an HTTP date is wall-clock time by definition; the caller caps the result
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
