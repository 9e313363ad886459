"""Time limits of Hub calls: one run's budget of waiting, and one call's overall deadline.

The HTTP stack's time-outs are per read: a server that sends its headers and then a byte every few seconds never
trips them. And hf_hub_download retries by itself, sleeping what the server asks (Retry-After, uncapped) with a
sleep we cannot inject. So every call the HubClient makes runs under a `Limit`, seen by two hooks installed on
huggingface_hub's shared HTTP client (which both our metadata calls and hf_hub_download use):

- before each request: fail at once when the deadline has passed, or when an earlier request of the same call
  failed (that is huggingface_hub retrying on its own); cap each time-out by what is left of the deadline;
- on each response: raise a 408/429/5xx answer at once (RetryableStatus), so that the HubClient's own retry loop,
  with its capped waits and injected sleep, is the only one; read the body through a stream that checks the
  clock between chunks.

Outside a Limit the hooks do nothing, so other users of huggingface_hub in the process see no change.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from audit.sources.hub_errors import RETRY_STATUS, DeadlineExceeded

Clock = Callable[[], float]


class Budget:
    """How long one run may wait on the Hub: the wall time during which at least one call of the client was in
    progress (concurrent calls overlap, they do not add up), including the sleeps between retries."""

    def __init__(self, seconds: float, clock: Clock):
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._spent = 0.0
        self._active = 0
        self._since = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._since = self._clock()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._spent += self._clock() - self._since

    def left(self) -> float:
        """Seconds still available; while a call runs, the budget drains at wall-clock speed."""
        with self._lock:
            spent = self._spent + (self._clock() - self._since if self._active else 0.0)
        return self.seconds - spent


class RetryableStatus(Exception):
    """A 408/429/5xx answer, raised before huggingface_hub can retry it with its own waits."""

    def __init__(self, response: Any):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


@dataclass
class Limit:
    """The limits of one attempt of one Hub call (one metadata request, or one file download)."""

    ends_at: float  # on `clock`
    message: str  # what DeadlineExceeded says when the limit is passed
    timeout: float  # per connect / read
    clock: Clock
    failure: BaseException | None = None  # a request of this attempt failed without an answer

    def trace(self, event: str, info: dict[str, Any]) -> None:
        # httpcore reports every failed step as "<step>.failed" with the exception: keep it to re-raise
        if event.endswith(".failed") and isinstance(info.get("exception"), Exception):
            self.failure = info["exception"]


_LIMIT: ContextVar[Limit | None] = ContextVar("mlaudit_hub_limit", default=None)
_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


@contextmanager
def limited(limit: Limit) -> Iterator[Limit]:
    """Run the block's Hub requests (in this thread) under `limit`."""
    _install()
    token = _LIMIT.set(limit)
    try:
        yield limit
    finally:
        _LIMIT.reset(token)


def _on_request(request: Any) -> None:
    limit = _LIMIT.get()
    if limit is None:
        return
    if limit.failure is not None:
        raise limit.failure  # huggingface_hub is retrying a failed request by itself: our loop decides instead
    left = limit.ends_at - limit.clock()
    if left <= 0:
        raise DeadlineExceeded(limit.message)
    cap = max(0.001, min(limit.timeout, left))
    asked = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {k: cap if asked.get(k) is None else min(asked[k], cap)
                                     for k in ("connect", "read", "write", "pool")}
    request.extensions["trace"] = limit.trace


def _on_response(response: Any) -> None:
    limit = _LIMIT.get()
    if limit is None:
        return
    limit.failure = None
    if response.status_code in RETRY_STATUS:
        raise RetryableStatus(response)
    response.stream = _deadline_stream(response.stream, limit)


def _deadline_stream(inner: Any, limit: Limit) -> Any:
    import httpx2

    class _Deadline(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for chunk in inner:
                if limit.clock() > limit.ends_at:
                    raise DeadlineExceeded(limit.message)
                yield chunk

        def close(self) -> None:
            inner.close()

    return _Deadline()


def _install() -> None:
    """Add the hooks to every HTTP client huggingface_hub makes (it remakes its shared client after a
    connection error), by wrapping its client factory once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        import huggingface_hub
        from huggingface_hub.utils import _http

        # the factory in use (the default, or one the application set for its proxy or certificates)
        previous: Callable[[], Any] = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)

        def factory() -> Any:
            client = previous()
            hooks = client.event_hooks
            client.event_hooks = {"request": [*hooks["request"], _on_request],
                                  "response": [*hooks["response"], _on_response]}
            return client

        huggingface_hub.set_client_factory(factory)
        _INSTALLED = True
