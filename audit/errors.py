"""One root error, typed subclasses. Every error names the input it is about; the CLI turns it into one line
and an exit code. Callers branch on the class, never on the message."""
from __future__ import annotations


class AuditError(Exception):
    """Root of every error mlaudit raises on purpose."""

    exit_code = 3

    def __init__(self, input: str, message: str):
        super().__init__(f"{input}: {message}")
        self.input = input
        self.message = message


class InputUnreadable(AuditError):
    """An input (path, card, repo id, network resource) could not be read. Exit code 3."""

    exit_code = 3


class UsageError(AuditError):
    """The command line or a configuration file is wrong. Exit code 2."""

    exit_code = 2


class PolicyError(UsageError):
    """A policy file is invalid. Carries file and line where known. Exit code 2."""

    def __init__(self, input: str, message: str, line: int | None = None):
        where = f"{input}:{line}" if line else input
        super().__init__(where, message)
        self.file = input
        self.line = line


# -- the Hub ---------------------------------------------------------------------------------------------------
class HubError(InputUnreadable):
    """The Hub (or a compatible endpoint) did not give what was asked. Exit code 3.

    `repo_id` and `revision` say what was asked for; `status` is the HTTP status where there was one."""

    def __init__(self, input: str, message: str, *, repo_id: str | None = None, revision: str | None = None,
                 status: int | None = None):
        super().__init__(input, message)
        self.repo_id = repo_id
        self.revision = revision
        self.status = status


class HubGated(HubError):
    """The repo is gated and this account has not accepted its terms (or no token was given)."""


class HubUnauthorized(HubError):
    """The token was rejected, or the server refused access (401 with bad credentials, 403)."""


class HubNotFound(HubError):
    """The repo (or a file of it) does not exist, or is private and the token gives no access."""


class HubRevisionNotFound(HubNotFound):
    """The repo exists but not at the revision asked for."""


class HubRateLimited(HubError):
    """HTTP 429 after the allowed retries."""


class HubUnreachable(HubError):
    """No answer: host not found, connection refused or reset, time-out, a 5xx after retries, or offline mode."""
