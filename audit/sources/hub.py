"""Hub source: a model repo on the Hugging Face Hub (or a compatible endpoint), pinned to one commit.

The revision asked for (a branch, tag or sha) is resolved once, through the model-info call, to a commit sha;
every file is then downloaded at that sha, so a branch that moves mid-audit cannot mix two commits.

huggingface_hub is imported only when the Hub is used (it costs ~0.3 s). It reads HF_ENDPOINT, HF_HUB_OFFLINE
and the cache paths once, at import, so this module reads the environment itself, at call time, and passes
endpoint=, token= and cache_dir= explicitly. The client does not retry metadata calls, so model_info has its
own bounded retry with backoff. Every failure becomes one InputUnreadable sentence naming the repo; no
huggingface_hub exception, traceback or token leaves this module.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from audit.errors import AuditError, InputUnreadable, UsageError
from audit.model import Origin, Problem, RepoFile, Snapshot
from audit.sources import base
from audit.sources.ids import COMMIT_SHA, check_repo_id, check_revision, parse_repo_spec

__all__ = ["HubClient", "parse_repo_spec"]

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://huggingface.co"
_MIB = 1024 * 1024

_RATELIMIT_T = re.compile(r"(?:^|;)\s*t\s*=\s*(\d+)")
_RELATIONS = ("finetune", "adapter", "quantized", "merge")
_RETRY_STATUS = (408, 429, 500, 502, 503, 504)
_TRUE = ("1", "true", "yes", "on")

# Exception classes of the HTTP stacks huggingface_hub has used, named so none of them must be importable.
_NET_MODULES = ("httpx2", "httpx", "httpcore", "requests", "urllib3")
_TRANSIENT = {
    "TimeoutException", "NetworkError", "RemoteProtocolError", "ReadError", "WriteError", "ConnectError",
    "ConnectionError", "Timeout", "ProtocolError", "ChunkedEncodingError",
}


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
        from huggingface_hub.utils import tqdm as hf_tqdm

        class _Quiet(hf_tqdm):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True
                super().__init__(*args, **kwargs)

        _QUIET_TQDM = _Quiet
    return _QUIET_TQDM


@dataclass(frozen=True)
class _Call:
    """What a Hub call was about, for its error message."""

    input: str  # the spec as the user gave it; becomes the error's input
    kind: str  # model | dataset
    repo_id: str
    revision: str | None = None
    file: str | None = None


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
    ):
        """endpoint/token/offline default to HF_ENDPOINT, HF_TOKEN (else the stored login token) and
        HF_HUB_OFFLINE as they are now. token=False means anonymous. A metadata call is tried 1 + max_retries
        times on 429, 5xx and connection errors, waiting base_delay doubling up to max_delay, or what the
        server asks (Retry-After, RateLimit t=) up to max_retry_after seconds."""
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

    def _call(self, kind: str, repo_id: str, revision: str | None, input: str | None) -> _Call:
        label = input or (f"{repo_id}@{revision}" if revision else repo_id)
        check_repo_id(repo_id, label)
        if revision is not None:
            check_revision(revision, label)
        return _Call(label, kind, repo_id, revision)

    def _get_json(self, path: str, revision: str | None, params: dict[str, str], call: _Call) -> Any:
        self._refuse_offline(call)
        _import_hf()
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        from audit import __version__

        if revision is not None:
            path += f"/revision/{quote(revision, safe='')}"
        url = self.endpoint + path
        headers = build_hf_headers(token=self.token or False, library_name="mlaudit", library_version=__version__)

        def get() -> Any:
            response = get_session().get(url, headers=headers, params=params, timeout=self.timeout)
            hf_raise_for_status(response)
            try:
                return response.json()
            except ValueError:
                raise InputUnreadable(call.input, f"{self.endpoint} answered with something that is not JSON") from None

        return self._with_retries(get, call)

    def _normalize_info(self, data: Any, call: _Call) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InputUnreadable(call.input, f"{self.endpoint} answered with unexpected JSON (not an object)")
        sha = data.get("sha")
        if not (isinstance(sha, str) and COMMIT_SHA.match(sha)):
            raise InputUnreadable(call.input, f"{self.endpoint} did not give the commit sha of this {call.kind}")
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

        local = self._download_all(repo_id, sha, wanted, _Call(label, "model", repo_id, revision))
        texts: dict[str, str] = {}
        for path in wanted:
            if local.get(path) is None:
                skipped.append(Problem("file-missing", f"{path} is listed by the Hub but could not be downloaded at {sha[:12]}", origin.at(file=path)))
                continue
            limit = base.MAX_CARD_BYTES if path == card_path else base.MAX_TEXT_BYTES
            try:
                texts[path] = base.read_text_file(local[path], limit=limit, input=f"{repo_id}/{path}")
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
                local_path=os.path.realpath(local[s["rfilename"]]) if local.get(s["rfilename"]) else None,
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
        )

    def _download_all(self, repo_id: str, sha: str, paths: list[str], call: _Call) -> dict[str, str | None]:
        if not paths:
            return {}
        if len(paths) == 1 or self.workers == 1:
            return {p: self._download(repo_id, sha, p, call) for p in paths}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.workers, len(paths))) as pool:
            results = list(pool.map(lambda p: self._download(repo_id, sha, p, call), paths))
        return dict(zip(paths, results))

    def _download(self, repo_id: str, sha: str, path: str, call: _Call) -> str | None:
        """Local path of one file at the pinned sha (from the cache if there), None if the Hub has no such file."""
        call = _Call(call.input, call.kind, repo_id, call.revision, path)
        self._refuse_offline(call)
        _import_hf()
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        from audit import __version__

        try:
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
        except AuditError:
            raise
        except Exception as exc:
            raise self._explain(exc, call, attempts=None) from None

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
    def _refuse_offline(self, call: _Call) -> None:
        if self.offline:
            raise InputUnreadable(call.input, f"HF_HUB_OFFLINE is set: cannot fetch {call.kind} {call.repo_id} from {self.endpoint}")

    def _with_retries(self, fn: Callable[[], T], call: _Call) -> T:
        if self._unreachable is not None:
            raise InputUnreadable(call.input, self._unreachable)
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except AuditError:
                raise
            except Exception as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None or attempt > self.max_retries:
                    err = self._explain(exc, call, attempts=attempt)
                    if _status_of(exc) is None and self._net_reason(exc) in _NO_ROUTE:
                        self._unreachable = f"cannot reach {self.endpoint}: {self._net_reason(exc)}"
                    raise err from None
            time.sleep(wait)

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the error will not go away by waiting."""
        status = _status_of(exc)
        if status is None and not _is_transient(exc):
            return None
        if status is None and self._net_reason(exc) == "host name not found":
            return None  # waiting does not make a host name resolve
        if status is not None and status not in _RETRY_STATUS:
            return None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if status in (429, 503):
            asked = _server_wait(getattr(exc, "response", None))
            if asked is not None:
                return min(asked, self.max_retry_after)
        return backoff

    def _explain(self, exc: BaseException, call: _Call, attempts: int | None) -> InputUnreadable:
        """One sentence for the user. Only names: the endpoint, the repo, the revision, the file; never the token."""
        from huggingface_hub import errors as hf_errors

        cause = exc
        if isinstance(exc, hf_errors.LocalEntryNotFoundError) and exc.__cause__ is not None:
            cause = exc.__cause__  # the download's HEAD failed: explain that failure
        where = self.endpoint
        what = f"{call.kind} {call.repo_id}"
        tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""
        status = _status_of(cause)
        server_message = ""
        response = getattr(cause, "response", None)
        if response is not None:
            server_message = (getattr(response, "headers", None) or {}).get("X-Error-Message") or ""

        if isinstance(cause, hf_errors.OfflineModeIsEnabled):
            msg = f"HF_HUB_OFFLINE is set: cannot fetch {what} from {where}"
        elif isinstance(cause, hf_errors.GatedRepoError):  # before RepositoryNotFoundError: it is a subclass
            how = "with the account HF_TOKEN belongs to" if self.token else "and set HF_TOKEN"
            msg = f"{what} is gated: accept its terms on the Hub ({where}) {how}"
        elif isinstance(cause, hf_errors.RevisionNotFoundError):
            msg = f"revision {call.revision or 'main'!r} of {what} not found on {where}"
        elif isinstance(cause, hf_errors.DisabledRepoError):
            msg = f"{what} is disabled on {where}"
        elif isinstance(cause, hf_errors.RemoteEntryNotFoundError):
            msg = f"file {call.file} of {what} not found on {where}"
        elif status == 401 and server_message == "Invalid credentials in Authorization header":
            msg = f"{where} rejected HF_TOKEN (invalid credentials) while fetching {what}"
        elif isinstance(cause, hf_errors.RepositoryNotFoundError) or status in (401, 404):
            hint = "or private, and HF_TOKEN gives no access to it" if self.token else "or private: set HF_TOKEN"
            msg = f"{what} not found on {where} ({hint})"
        elif status == 403:
            msg = f"{where} refused access to {what} (HTTP 403): check that HF_TOKEN may read it"
        elif status == 429:
            msg = f"rate limited by {where}{tries} while fetching {what}"
        elif status is not None and status >= 500:
            msg = f"{where} failed with HTTP {status}{tries} while fetching {what}"
        elif status is not None:
            msg = f"{where} answered HTTP {status} while fetching {what}"
        elif isinstance(cause, hf_errors.FileMetadataError):
            msg = f"{where} does not answer like a Hugging Face Hub (no file metadata headers) for {what}"
        elif _is_transient(cause) or isinstance(cause, (ConnectionError, TimeoutError)):
            msg = f"cannot reach {where}: {self._net_reason(cause)}{tries}"
        elif isinstance(cause, OSError):
            msg = f"cannot store {what} in the HF cache {self.cache_dir}: {cause.strerror or cause}"
        else:
            first = (str(cause).strip().splitlines() or [""])[0][:200]
            msg = f"unexpected error from huggingface_hub while fetching {what} ({type(cause).__name__}: {first})"
        if call.revision and call.revision not in msg and not isinstance(cause, hf_errors.OfflineModeIsEnabled):
            msg += f" (revision {call.revision})"
        if self.token:
            msg = msg.replace(self.token, "***")
        return InputUnreadable(call.input, msg)

    def _net_reason(self, exc: BaseException) -> str:
        name = type(exc).__name__
        text = str(exc).strip()
        low = text.lower()
        if "timeout" in name.lower() or isinstance(exc, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        if "refused" in low:
            return "connection refused"
        if name == "RemoteProtocolError" or "disconnected" in low or "without sending" in low:
            return "the server closed the connection without answering"
        if "reset" in low:
            return "connection reset"
        if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low:
            return "host name not found"
        return (text.splitlines() or [name])[0][:200] or name


# -- helpers ----------------------------------------------------------------------------------------------
_NO_ROUTE = ("host name not found", "connection refused")
def _status_of(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _is_transient(exc: BaseException) -> bool:
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in _NET_MODULES and cls.__name__ in _TRANSIENT:
            return True
    return isinstance(exc, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, TimeoutError))


def _server_wait(response: Any) -> float | None:
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
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
