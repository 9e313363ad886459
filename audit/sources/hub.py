"""Hub source: a model repo on the Hugging Face Hub (or a compatible endpoint), pinned to one commit.

The revision asked for (a branch, tag or sha) is resolved once, through the model-info call, to a commit sha;
every file is then downloaded at that sha, so a branch that moves mid-audit cannot mix two commits.

huggingface_hub is imported only when the Hub is used (it costs ~0.3 s). It reads HF_ENDPOINT, HF_HUB_OFFLINE
and the cache paths once, at import, so this module reads the environment itself, at call time, and passes
endpoint=, token= and cache_dir= explicitly. The client does not retry metadata calls, so model_info has its
own bounded retry with backoff. Every failure becomes one typed HubError sentence naming the repo (see
hub_errors); no huggingface_hub exception, traceback or token leaves this module.

Nothing waits unboundedly: each metadata request has an overall deadline (request_deadline), each read a
time-out, each retry wait a cap (max_retry_after), and the client a per-run budget (deadline) of time spent
waiting on the Hub, after which every call fails at once with HubUnreachable. Clock and sleep are injected.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar
from urllib.parse import quote

from audit.errors import AuditError, HubError, HubUnreachable, InputUnreadable, UsageError
from audit.model import Origin, Problem, RepoFile, Snapshot
from audit.sources import base
from audit.sources.hub_errors import (
    NO_ROUTE,
    RETRY_STATUS,
    HubCall,
    Where,
    budget_spent_message,
    explain,
    is_transient,
    net_reason,
    request_deadline_message,
    server_wait,
    status_of,
)
from audit.sources.hub_time import Budget, Limit, limited
from audit.sources.ids import COMMIT_SHA, check_repo_id, check_revision, parse_repo_spec

__all__ = ["HubClient", "parse_repo_spec"]

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://huggingface.co"
_MIB = 1024 * 1024

_RELATIONS = ("finetune", "adapter", "quantized", "merge")
_TRUE = ("1", "true", "yes", "on")


# -- environment ---------------------------------------------------------------------------------------------
def _env_true(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in _TRUE


def _stored_token() -> str | None:
    """The token `hf auth login` stored, read from its file (get_token() may refresh OAuth tokens over the network)."""
    from audit.sources.cache import hf_home

    path = os.environ.get("HF_TOKEN_PATH") or os.path.join(hf_home(), "token")
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            return fh.read(4096).strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _import_hf() -> None:
    # Telemetry makes the client fetch {import-time endpoint}/api/agent-harnesses: a request to huggingface.co
    # even when the audit points at a mirror. Respect an explicit setting; only effective before first import.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import huggingface_hub  # noqa: F401


_QUIET_TQDM: Any = None


def _quiet_tqdm() -> Any:
    """A progress-bar class that never draws: the audit's output is its report."""
    global _QUIET_TQDM
    if _QUIET_TQDM is None:
        from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

        class _Quiet(hf_tqdm):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True
                super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call,unused-ignore]

        _QUIET_TQDM = _Quiet
    return _QUIET_TQDM


# -- the client ----------------------------------------------------------------------------------------------
class HubClient:
    """Talks to one Hub endpoint with one token. Safe to share between threads."""

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | bool | None = None,
        *,
        offline: bool | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        cache_dir: str | None = None,
        workers: int = 4,
        request_deadline: float = 60.0,
        deadline: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        """endpoint/token/offline default to HF_ENDPOINT, HF_TOKEN (else the stored login token) and
        HF_HUB_OFFLINE as they are now. token=False means anonymous. A metadata call is tried 1 + max_retries
        times on 429, 5xx and connection errors, waiting base_delay doubling up to max_delay, or what the
        server asks (Retry-After, RateLimit t=) up to max_retry_after seconds.

        Time limits: `timeout` bounds each connect and read; `request_deadline` bounds one metadata request from
        start to last byte (a server that trickles its answer is cut off); `deadline` is the run's budget: the
        wall time this client may spend waiting on the Hub (requests, downloads and retry waits; concurrent
        calls overlap). Once it is spent every call raises HubUnreachable without a request. `sleep` and
        `clock` (time.sleep, time.monotonic) are what the retries wait with and the limits are measured by."""
        env_endpoint = os.environ.get("HF_ENDPOINT")
        chosen = (endpoint or env_endpoint or DEFAULT_ENDPOINT).strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", chosen):
            raise UsageError(endpoint or "HF_ENDPOINT", f"is not an http(s) URL for a Hub endpoint: {chosen!r}")
        self.endpoint = chosen
        if token is None:
            token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or _stored_token()
        self.token: str | None = token.strip() if isinstance(token, str) and token.strip() else None
        self.offline = (_env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")) if offline is None else bool(offline)
        # set once the endpoint cannot be reached at all (no such host, connection refused): every later call
        # in this run fails at once with the same reason instead of waiting through its own retries
        self._unreachable: str | None = None
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.request_deadline = request_deadline
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self._budget = Budget(deadline, clock)
        from audit.sources.cache import cache_dir as _cache_dir

        self.cache_dir = _cache_dir(cache_dir)
        self.workers = max(1, workers)
        self._api: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HubClient(endpoint={self.endpoint!r}, token={'set' if self.token else 'none'}, offline={self.offline})"

    @property
    def api(self) -> Any:
        """A huggingface_hub HfApi bound to this endpoint and token (created on first use)."""
        with self._lock:
            if self._api is None:
                _import_hf()
                from huggingface_hub import HfApi

                from audit import __version__

                self._api = HfApi(
                    endpoint=self.endpoint, token=self.token or False, library_name="mlaudit", library_version=__version__
                )
            return self._api

    # -- metadata ------------------------------------------------------------------------------------------
    def model_info(self, repo_id: str, revision: str | None = None, *, input: str | None = None) -> dict[str, Any]:
        """The Hub's metadata of a model repo at a revision, as a plain dict (see _normalize_info)."""
        call = self._call("model", repo_id, revision, input)
        data = self._get_json(f"/api/models/{repo_id}", revision, {"blobs": "true"}, call)
        return self._normalize_info(data, call)

    def dataset_info(self, dataset_id: str, revision: str | None = None, *, input: str | None = None) -> dict[str, Any]:
        """The Hub's metadata of a dataset repo (cardData carries its license), as a plain dict."""
        call = self._call("dataset", dataset_id, revision, input)
        data = self._get_json(f"/api/datasets/{dataset_id}", revision, {}, call)
        return self._normalize_info(data, call)

    def _call(self, kind: str, repo_id: str, revision: str | None, input: str | None) -> HubCall:
        label = input or (f"{repo_id}@{revision}" if revision else repo_id)
        check_repo_id(repo_id, label)
        if revision is not None:
            check_revision(revision, label)
        return HubCall(label, kind, repo_id, revision)

    def _get_json(self, path: str, revision: str | None, params: dict[str, str], call: HubCall) -> Any:
        self._refuse_offline(call)
        _import_hf()
        from huggingface_hub import get_session, hf_raise_for_status
        from huggingface_hub.utils._headers import build_hf_headers

        from audit import __version__

        if revision is not None:
            path += f"/revision/{quote(revision, safe='')}"
        url = self.endpoint + path
        headers = build_hf_headers(token=self.token or False, library_name="mlaudit", library_version=__version__)

        def get() -> Any:
            with self._limited():
                response = get_session().get(url, headers=headers, params=params, timeout=self.timeout)
            hf_raise_for_status(response)
            try:
                return response.json()
            except ValueError:
                raise HubError(call.input, f"{self.endpoint} answered with something that is not JSON",
                               repo_id=call.repo_id, revision=call.revision, status=response.status_code) from None

        return self._with_retries(get, call)

    def _normalize_info(self, data: Any, call: HubCall) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise HubError(call.input, f"{self.endpoint} answered with unexpected JSON (not an object)",
                           repo_id=call.repo_id, revision=call.revision)
        sha = data.get("sha")
        if not (isinstance(sha, str) and COMMIT_SHA.match(sha)):
            raise HubError(call.input, f"{self.endpoint} did not give the commit sha of this {call.kind}",
                           repo_id=call.repo_id, revision=call.revision)
        tags = [t for t in data.get("tags") or [] if isinstance(t, str)]
        card_data = data.get("cardData")
        siblings = []
        for s in data.get("siblings") or []:
            if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str):
                continue
            lfs = s.get("lfs") if isinstance(s.get("lfs"), dict) else None
            siblings.append(
                {
                    "rfilename": s["rfilename"],
                    "size": s.get("size") if isinstance(s.get("size"), int) else None,
                    "blobId": s.get("blobId") if isinstance(s.get("blobId"), str) else None,
                    "lfs": {"sha256": lfs.get("sha256"), "size": lfs.get("size")} if lfs else None,
                }
            )
        return {
            "id": data.get("id") if isinstance(data.get("id"), str) else call.repo_id,
            "sha": sha,
            "author": data.get("author"),
            "gated": data.get("gated", False),
            "private": bool(data.get("private", False)),
            "disabled": bool(data.get("disabled", False)),
            "tags": tags,
            "cardData": card_data if isinstance(card_data, dict) else {},
            "siblings": siblings,
            "lastModified": data.get("lastModified"),
            "createdAt": data.get("createdAt"),
            "library_name": data.get("library_name"),
            "pipeline_tag": data.get("pipeline_tag"),
            "downloads": data.get("downloads"),
            "likes": data.get("likes"),
            "base_models": _base_models(data.get("baseModels"), tags),
        }

    # -- snapshot -----------------------------------------------------------------------------------------
    def snapshot(self, spec_or_repo_id: str, revision: str | None = None) -> Snapshot:
        """The model repo at one commit: metadata, file listing, and the card, license-like files and configs
        downloaded (into the HF cache) and read. Files over the size caps are listed, skipped and recorded in
        info["skipped"]; a card over its cap is an error."""
        repo_id, spec_revision = parse_repo_spec(spec_or_repo_id)
        label = spec_or_repo_id.strip()
        if revision and spec_revision and revision != spec_revision:
            raise UsageError(label, f"names revision {spec_revision!r} but revision {revision!r} was also asked for")
        if revision and not spec_revision:
            label = f"{label}@{revision}"
        revision = revision or spec_revision
        info = self.model_info(repo_id, revision, input=label)
        sha = info["sha"]
        origin = Origin("hub", repo_id, revision=sha)
        names = {s["rfilename"] for s in info["siblings"]}
        card_path = next((n for n in base.CARD_NAMES if n in names), None)

        skipped: list[Problem] = []
        wanted: list[str] = []
        for s in info["siblings"]:
            path = s["rfilename"]
            if not base.is_wanted_text(path):
                continue
            size = _sibling_size(s)
            limit = base.MAX_CARD_BYTES if path == card_path else base.MAX_TEXT_BYTES
            if size is not None and size > limit:
                what = f"{size / _MIB:.1f} MiB, over the {limit // _MIB} MiB limit"
                if path == card_path:
                    raise InputUnreadable(label, f"model card {path} is {what} for a model card")
                skipped.append(Problem("file-too-large", f"{path} is {what} for a text file; not read", origin.at(file=path)))
                continue
            wanted.append(path)

        local = self._download_all(repo_id, sha, wanted, HubCall(label, "model", repo_id, revision))
        texts: dict[str, str] = {}
        for path in wanted:
            local_path = local.get(path)
            if local_path is None:
                skipped.append(Problem("file-missing", f"{path} is listed by the Hub but could not be downloaded at {sha[:12]}", origin.at(file=path)))
                continue
            limit = base.MAX_CARD_BYTES if path == card_path else base.MAX_TEXT_BYTES
            try:
                texts[path] = base.read_text_file(local_path, limit=limit, input=f"{repo_id}/{path}")
            except InputUnreadable as exc:
                if path == card_path:
                    raise InputUnreadable(label, f"model card {path} {exc.message}") from None
                skipped.append(Problem("file-skipped", f"{path} {exc.message}; not read", origin.at(file=path)))
        if local:
            self._remember_ref(repo_id, revision, sha)

        files = tuple(
            RepoFile(
                path=s["rfilename"],
                size=_sibling_size(s),
                local_path=_real(local.get(s["rfilename"])),
                blob_id=s["blobId"],
                sha256=(s["lfs"] or {}).get("sha256"),
            )
            for s in info["siblings"]
        )
        return Snapshot(
            subject=repo_id,
            origin=origin,
            files=files,
            texts=texts,
            card_path=card_path if card_path in texts else None,
            info={**info, "skipped": skipped},
            # a license-like file that could not be read may hold the terms: the audit fails closed on it
            unread=tuple(p for p in skipped if base.is_license_like(p.origin.file or "")),
        )

    def _download_all(self, repo_id: str, sha: str, paths: list[str], call: HubCall) -> dict[str, str | None]:
        if not paths:
            return {}
        if len(paths) == 1 or self.workers == 1:
            return {p: self._download(repo_id, sha, p, call) for p in paths}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.workers, len(paths))) as pool:
            results = list(pool.map(lambda p: self._download(repo_id, sha, p, call), paths))
        return dict(zip(paths, results))

    def _download(self, repo_id: str, sha: str, path: str, call: HubCall) -> str | None:
        """Local path of one file at the pinned sha (from the cache if there), None if the Hub has no such file."""
        call = HubCall(call.input, call.kind, repo_id, call.revision, path)
        self._refuse_offline(call)
        _import_hf()
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        from audit import __version__

        def download() -> str | None:
            try:
                with self._limited():
                    return hf_hub_download(
                        repo_id,
                        path,
                        revision=sha,
                        endpoint=self.endpoint,
                        token=self.token or False,
                        cache_dir=self.cache_dir,
                        etag_timeout=self.timeout,
                        library_name="mlaudit",
                        library_version=__version__,
                        tqdm_class=_quiet_tqdm(),
                    )
            except RemoteEntryNotFoundError:
                return None

        return self._with_retries(download, call)

    def _remember_ref(self, repo_id: str, revision: str | None, sha: str) -> None:
        """Record in the cache which commit the branch/tag pointed to, as hf_hub_download(revision=branch)
        does, so the cache source finds this snapshot later (we downloaded by sha, which records no ref)."""
        ref = revision or "main"
        if COMMIT_SHA.match(ref):
            return
        from audit.sources.cache import repo_folder

        path = os.path.join(repo_folder(repo_id, self.cache_dir), "refs", *ref.split("/"))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(sha)
            os.replace(tmp, path)
        except OSError:
            pass  # the ref is a convenience for later offline runs; the audit itself has what it needs

    # -- retries and errors -------------------------------------------------------------------------------
    def _where(self) -> Where:
        return Where(self.endpoint, self.token, self.timeout, self.cache_dir)

    def _refuse_offline(self, call: HubCall) -> None:
        if self.offline:
            raise HubUnreachable(call.input, f"HF_HUB_OFFLINE is set: cannot fetch {call.kind} {call.repo_id} from {self.endpoint}",
                                 repo_id=call.repo_id, revision=call.revision)

    def _limited(self) -> AbstractContextManager[Limit]:
        """The limits of one attempt: the request deadline, or what is left of the run's budget if less."""
        left = self._budget.left()
        if left < self.request_deadline:
            seconds, message = left, budget_spent_message(self.endpoint, self.deadline)
        else:
            seconds, message = self.request_deadline, request_deadline_message(self.endpoint, self.request_deadline)
        return limited(Limit(self._clock() + seconds, message, self.timeout, self._clock))

    def _refuse_spent(self, call: HubCall) -> None:
        """Fail fast, without a request, once the endpoint is known unreachable or the run's budget is spent."""
        reason = self._unreachable
        if reason is None and self._budget.left() <= 0:
            reason = budget_spent_message(self.endpoint, self.deadline)
        if reason is not None:
            raise HubUnreachable(call.input, reason, repo_id=call.repo_id, revision=call.revision)

    def _with_retries(self, fn: Callable[[], T], call: HubCall) -> T:
        self._refuse_spent(call)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._budget.running():
                    return fn()
            except AuditError:
                raise
            except Exception as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None or attempt > self.max_retries or wait >= self._budget.left():
                    err = explain(exc, call, self._where(), attempts=attempt)
                    if status_of(exc) is None and net_reason(exc, self.timeout) in NO_ROUTE:
                        self._unreachable = f"cannot reach {self.endpoint}: {net_reason(exc, self.timeout)}"
                    raise err from None
            with self._budget.running():
                self._sleep(wait)

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the error will not go away by waiting."""
        status = status_of(exc)
        if status is None and not is_transient(exc):
            return None
        if status is None and net_reason(exc, self.timeout) == "host name not found":
            return None  # waiting does not make a host name resolve
        if status is not None and status not in RETRY_STATUS:
            return None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if status in (429, 503):
            asked = server_wait(getattr(exc, "response", None))
            if asked is not None:
                return min(asked, self.max_retry_after)
        return float(backoff)


# -- helpers ----------------------------------------------------------------------------------------------
def _real(path: str | None) -> str | None:
    return os.path.realpath(path) if path else None


def _sibling_size(sibling: dict[str, Any]) -> int | None:
    lfs = sibling.get("lfs") or {}
    size = lfs.get("size") if isinstance(lfs.get("size"), int) else sibling.get("size")
    return size if isinstance(size, int) else None


def _base_models(expanded: Any, tags: list[str]) -> list[dict[str, str | None]]:
    """Base models from the expand=baseModels answer, else from the Hub's base_model:[<relation>:]<id> tags."""
    found: dict[str, str | None] = {}
    if isinstance(expanded, dict):
        relation = expanded.get("relation") if expanded.get("relation") in _RELATIONS else None
        for m in expanded.get("models") or []:
            mid = m.get("id") if isinstance(m, dict) else m
            if isinstance(mid, str) and mid:
                found[mid] = relation
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:"):]
        relation, sep, mid = rest.partition(":")
        if sep and relation in _RELATIONS:
            found[mid] = relation
        elif rest and rest not in found:
            found[rest] = None
    return [{"id": mid, "relation": rel} for mid, rel in found.items() if mid]
