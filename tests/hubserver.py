"""A fake Hugging Face Hub on 127.0.0.1 for tests: a real HTTP server that speaks enough of the Hub API for
huggingface_hub's own client (which uses httpx2, so request interceptors cannot see it).

Repos are defined in Python:

    hub = FakeHub().start()
    repo = hub.add_model("acme/tiny", {"README.md": b"---\\nlicense: mit\\n---\\n", "LICENSE": b"..."})
    repo.rate_limit = 2            # answer 429 twice, then succeed
    repo.drip = 0.05               # send headers, then the body one byte every 0.05 s (for at most drip_for s)
    ...
    hub.stop()

Behaviour follows what HUB-NOTES.md measured of the real Hub: 401 + X-Error-Code RepoNotFound for missing or
private repos, GatedRepo on file downloads of gated repos (their metadata stays public), quoted ETags (git blob
sha1, or sha256 for LFS files with X-Linked-Etag/X-Linked-Size), X-Repo-Commit on every file answer.
Every request is recorded (without its Authorization header) so tests can assert what the client did.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

FOREVER = float("inf")
_LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n"
_TIMESTAMP = "2024-05-01T12:00:00.000Z"
_RELATIONS = ("finetune", "adapter", "quantized", "merge")


def git_blob_sha1(data: bytes) -> str:
    """The id git (and the Hub) gives a file's content."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # path with query string, as sent
    headers: dict[str, str]  # lower-cased names; Authorization removed
    token_digest: str | None  # sha256 of the bearer token, when one was sent
    status: int | None = None  # what the server answered (None: connection dropped)

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def sent_token(self, token: str) -> bool:
        return self.token_digest == token_digest(token)


@dataclass
class FakeFile:
    path: str
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return _LFS_POINTER.format(sha=self.sha256, size=len(self.data)).encode()

    @property
    def blob_id(self) -> str:
        # The Hub reports an LFS file's git blob id as the id of its pointer file.
        return git_blob_sha1(self.pointer if self.lfs else self.data)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else git_blob_sha1(self.data)


@dataclass
class FakeCommit:
    sha: str
    files: dict[str, FakeFile]


@dataclass
class FakeRepo:
    """One repo and its per-repo behaviours (mutable: tests change them between calls)."""

    kind: str  # models | datasets
    repo_id: str
    commits: dict[str, FakeCommit]
    refs: dict[str, str]  # branch/tag -> commit sha
    card_data: dict[str, Any]
    tags: list[str]
    gated: bool | str = False
    private: bool = False
    disabled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # more model-info fields (library_name, ...)
    allowed_tokens: set[str] = field(default_factory=set)  # tokens that may read a private or gated repo
    # behaviours
    status: int | None = None  # answer every request with this status ...
    error_code: str | None = None  # ... and this X-Error-Code
    rate_limit: float = 0  # answer this many requests with 429 (FOREVER for always)
    rate_limit_scope: str = "api"  # api | file | all
    retry_after: str | None = "0"  # Retry-After header sent with a 429
    ratelimit_header: str | None = None  # RateLimit header sent with a 429, e.g. '"api";r=0;t=0'
    drop: float = 0  # close the connection without answering on this many requests
    drop_scope: str = "all"
    latency: float = 0.0  # seconds added to every request for this repo
    drip: float = 0.0  # send the headers, then the body one byte every `drip` seconds ...
    drip_scope: str = "all"
    drip_for: float = 3.0  # ... and hang up after this many seconds, so a test never waits longer
    dripped: int = 0  # body bytes sent by dripping (all requests)
    missing: set[str] = field(default_factory=set)  # files listed but answered 404 EntryNotFound on download
    corrupt: dict[str, bytes | None] = field(default_factory=dict)  # path -> bytes served instead (None: flipped)

    @property
    def sha(self) -> str:
        return self.refs["main"]

    def commit(self, revision: str | None) -> FakeCommit | None:
        revision = revision or "main"
        if revision in self.refs:
            return self.commits[self.refs[revision]]
        return self.commits.get(revision)


def _commit_sha(kind: str, repo_id: str, ref: str, files: dict[str, FakeFile]) -> str:
    listing = "\n".join(f"{p} {f.blob_id}" for p, f in sorted(files.items()))
    return hashlib.sha1(f"{kind}/{repo_id}@{ref}\n{listing}".encode()).hexdigest()


def _front_matter(readme: bytes | None) -> dict[str, Any]:
    if not readme:
        return {}
    text = readme.decode("utf-8", "replace")
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not m:
        return {}
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


class FakeHub:
    """The server plus the repos it serves. Use as a context manager or call start()/stop()."""

    def __init__(self, *, latency: float = 0.0):
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at the same time
        self.latency = latency
        self.invalid_tokens: set[str] = set()  # tokens answered 401 "Invalid credentials" (rejected by the Hub)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FakeHub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeHub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- repos -----------------------------------------------------------------------------------------
    def add_model(
        self,
        repo_id: str,
        files: dict[str, bytes | str],
        card_data: dict[str, Any] | None = None,
        revisions: dict[str, dict[str, bytes | str] | str] | None = None,
        gated: bool | str = False,
        private: bool = False,
        tags: list[str] | None = None,
        lfs: set[str] | frozenset[str] | tuple[str, ...] = (),
        allowed_tokens: set[str] | tuple[str, ...] = (),
        **extra: Any,
    ) -> FakeRepo:
        """Add a model repo. `files` is the tree of `main`; `revisions` maps other branches/tags to their own
        trees (or to the name of another ref, for a tag on the same commit). cardData and tags are derived from
        README.md the way the Hub does unless given."""
        return self._add("models", repo_id, files, card_data, revisions, gated, private, tags, lfs, allowed_tokens, extra)

    def add_dataset(self, repo_id: str, files: dict[str, bytes | str], **kwargs: Any) -> FakeRepo:
        return self._add(
            "datasets",
            repo_id,
            files,
            kwargs.pop("card_data", None),
            kwargs.pop("revisions", None),
            kwargs.pop("gated", False),
            kwargs.pop("private", False),
            kwargs.pop("tags", None),
            kwargs.pop("lfs", ()),
            kwargs.pop("allowed_tokens", ()),
            kwargs,
        )

    def _add(self, kind, repo_id, files, card_data, revisions, gated, private, tags, lfs, allowed_tokens, extra):
        lfs = set(lfs)
        commits: dict[str, FakeCommit] = {}
        refs: dict[str, str] = {}

        def make(ref: str, tree: dict[str, bytes | str]) -> str:
            ff = {
                p: FakeFile(p, d.encode() if isinstance(d, str) else bytes(d), p in lfs) for p, d in tree.items()
            }
            sha = _commit_sha(kind, repo_id, ref, ff)
            commits[sha] = FakeCommit(sha, ff)
            return sha

        refs["main"] = make("main", files)
        for ref, tree in (revisions or {}).items():
            refs[ref] = refs[tree] if isinstance(tree, str) else make(ref, tree)

        readme = commits[refs["main"]].files.get("README.md")
        if card_data is None:
            card_data = _front_matter(readme.data if readme else None)
        if tags is None:
            tags = self._derived_tags(card_data, commits[refs["main"]].files)
        repo = FakeRepo(
            kind=kind,
            repo_id=repo_id,
            commits=commits,
            refs=refs,
            card_data=card_data,
            tags=list(tags),
            gated=("auto" if gated is True else gated),
            private=private,
            extra=dict(extra),
            allowed_tokens=set(allowed_tokens),
        )
        with self._lock:
            self.repos[(kind, repo_id)] = repo
        return repo

    @staticmethod
    def _derived_tags(card_data: dict[str, Any], files: dict[str, FakeFile]) -> list[str]:
        # The Hub adds license:<id> and base_model:[<relation>:]<id> tags from the card metadata.
        tags = _as_list(card_data.get("tags"))
        tags += [f"license:{v}" for v in _as_list(card_data.get("license"))]
        relation = card_data.get("base_model_relation")
        if relation not in _RELATIONS:
            relation = "adapter" if "adapter_config.json" in files else "finetune"
        for base in _as_list(card_data.get("base_model")):
            tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
        return tags

    # -- inspection ------------------------------------------------------------------------------------
    def requests_for(self, repo_id: str | None = None, method: str | None = None) -> list[Request]:
        with self._lock:
            reqs = list(self.requests)
        out = []
        for r in reqs:
            if method and r.method != method:
                continue
            if repo_id and f"/{repo_id}/" not in unquote(r.route) + "/":
                continue
            out.append(r)
        return out

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def _find(self, kind: str, repo_id: str) -> FakeRepo | None:
        with self._lock:
            return self.repos.get((kind, repo_id))

    def _take(self, repo: FakeRepo, attr: str) -> bool:
        """Consume one unit of a counted behaviour (rate_limit, drop); True when it applies to this request."""
        with self._lock:
            left = getattr(repo, attr)
            if left <= 0:
                return False
            if left != FOREVER:
                setattr(repo, attr, left - 1)
            return True


# ---------------------------------------------------------------------------------------------------------
_API = re.compile(
    r"^/api/(?P<kind>models|datasets)/(?P<id>[^/]+(?:/[^/]+)?)"
    r"(?:/(?P<op>revision|tree|paths-info)/(?P<rev>[^/]+)(?:/(?P<sub>.*))?)?/?$"
)
_RESOLVE = re.compile(r"^/(?:(?P<kind>datasets)/)?(?P<id>[^/]+(?:/[^/]+)?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # small JSON answers: do not wait 40 ms for an ACK
    protocol_version = "HTTP/1.1"
    timeout = 10  # a keep-alive connection idle this long is closed (threads are daemons anyway)

    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined]

    # -- plumbing --------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None

    def _dispatch(self) -> None:
        self._drip_repo: FakeRepo | None = None
        self._status: int | None = None
        self._recorded = False
        self._req_token = self._token()
        try:
            self._route(self._req_token)
        finally:
            self._record_now()

    def _record_now(self) -> None:
        """Record the request before the client can see the answer (or the dropped connection), so a test
        that counts requests right after a call never races the handler thread."""
        if self._recorded:
            return
        self._recorded = True
        token = self._req_token
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.hub._record(Request(self.command, self.path, headers, token_digest(token) if token else None, self._status))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, *, length: int | None = None):
        self._status = status
        self._record_now()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and body:
            if self._drip_repo is not None:
                return self._drip(self._drip_repo, body)
            self.wfile.write(body)

    def _drip(self, repo: FakeRepo, body: bytes) -> None:
        """A byte at a time, every repo.drip seconds; hang up after repo.drip_for seconds or when the client does."""
        self.wfile.flush()
        stop = time.monotonic() + repo.drip_for
        for i in range(len(body)):
            if time.monotonic() > stop:
                break
            try:
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            except OSError:
                break
            with self.hub._lock:
                repo.dripped += 1
            time.sleep(repo.drip)
        self.close_connection = True

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> None:
        h = {"X-Error-Message": message, **(headers or {})}
        if code:
            h["X-Error-Code"] = code
        self._json(status, {"error": message}, h)

    def _drop(self) -> None:
        self._record_now()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- routing ---------------------------------------------------------------------------------------
    def _route(self, token: str | None) -> None:
        hub = self.hub
        with hub._lock:  # how many requests the server is answering at once (tests assert concurrency by it)
            hub.in_flight += 1
            hub.max_in_flight = max(hub.max_in_flight, hub.in_flight)
        try:
            self._route_counted(token)
        finally:
            with hub._lock:
                hub.in_flight -= 1

    def _route_counted(self, token: str | None) -> None:
        hub = self.hub
        if hub.latency:
            time.sleep(hub.latency)
        path = urlsplit(self.path).path
        if path == "/api/agent-harnesses":
            return self._error(404, None, "Not Found")
        if token is not None and token in hub.invalid_tokens:
            return self._error(401, None, "Invalid credentials in Authorization header")

        m = _API.match(path)
        scope = "api"
        if m:
            kind, repo_id = m["kind"], unquote(m["id"])
            op, rev, sub = m["op"], (unquote(m["rev"]) if m["rev"] else None), unquote(m["sub"] or "")
        else:
            m = _RESOLVE.match(path)
            if not m or self.command == "POST":
                return self._error(404, None, "Not Found")
            scope = "file"
            kind, repo_id = (m["kind"] or "models"), unquote(m["id"])
            op, rev, sub = "resolve", unquote(m["rev"]), unquote(m["file"])

        repo = hub._find(kind, repo_id)
        if repo is not None:
            if repo.latency:
                time.sleep(repo.latency)
            if repo.drop_scope in (scope, "all") and hub._take(repo, "drop"):
                return self._drop()
            if repo.rate_limit_scope in (scope, "all") and hub._take(repo, "rate_limit"):
                h = {}
                if repo.retry_after is not None:
                    h["Retry-After"] = repo.retry_after
                if repo.ratelimit_header is not None:
                    h["RateLimit"] = repo.ratelimit_header
                    h["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
                return self._error(429, None, "Too Many Requests", h)
            if repo.status is not None:
                return self._error(repo.status, repo.error_code, f"Forced status {repo.status}")
            if repo.drip and repo.drip_scope in (scope, "all"):
                self._drip_repo = repo

        # Missing, and private without a token that may read it, look the same from outside.
        allowed = repo is not None and (not repo.private or (token is not None and token in repo.allowed_tokens))
        if not allowed:
            return self._error(404 if token else 401, "RepoNotFound", "Repository not found")
        assert repo is not None
        if repo.disabled:
            return self._error(403, None, "Access to this resource is disabled.")

        commit = repo.commit(rev)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")

        if op == "resolve":
            return self._resolve(repo, commit, sub, token)
        if op == "tree":
            return self._tree(commit, sub)
        if op == "paths-info":
            return self._paths_info(commit)
        return self._info(repo, commit)

    # -- endpoints -------------------------------------------------------------------------------------
    def _info(self, repo: FakeRepo, commit: FakeCommit) -> None:
        query = parse_qs(urlsplit(self.path).query)
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for f in sorted(commit.files.values(), key=lambda f: f.path):
            s: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                s["size"] = len(f.data)
                s["blobId"] = f.blob_id
                if f.lfs:
                    s["lfs"] = {"sha256": f.sha256, "size": len(f.data), "pointerSize": len(f.pointer)}
            siblings.append(s)
        author = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        data: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": author,
            "sha": commit.sha,
            "lastModified": _TIMESTAMP,
            "createdAt": _TIMESTAMP,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": repo.disabled,
            "downloads": 0,
            "likes": 0,
            "tags": list(repo.tags),
            "cardData": repo.card_data,
            "siblings": siblings,
        }
        if repo.kind == "models":
            data["modelId"] = repo.repo_id
            data.setdefault("library_name", None)
            data.setdefault("pipeline_tag", None)
        data.update(repo.extra)
        expand = query.get("expand")
        if expand:
            bases = _as_list(repo.card_data.get("base_model"))
            relation = next((t.split(":")[1] for t in repo.tags if t.count(":") >= 2 and t.startswith("base_model:")), None)
            data["baseModels"] = {"relation": relation, "models": [{"id": b} for b in bases]} if bases else None
            data = {k: v for k, v in data.items() if k in expand or k in ("_id", "id")}
        self._json(200, data)

    def _entry(self, f: FakeFile) -> dict[str, Any]:
        e: dict[str, Any] = {"type": "file", "oid": f.blob_id, "size": len(f.data), "path": f.path}
        if f.lfs:
            e["lfs"] = {"oid": f.sha256, "size": len(f.data), "pointerSize": len(f.pointer)}
        return e

    def _tree(self, commit: FakeCommit, sub: str) -> None:
        query = parse_qs(urlsplit(self.path).query)
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        entries: list[dict[str, Any]] = []
        dirs: set[str] = set()
        for f in sorted(commit.files.values(), key=lambda f: f.path):
            if not f.path.startswith(prefix):
                continue
            rest = f.path[len(prefix):]
            parts = rest.split("/")
            for i in range(1, len(parts)):
                d = prefix + "/".join(parts[:i])
                if d not in dirs and (recursive or i == 1):
                    dirs.add(d)
                    entries.append({"type": "directory", "oid": git_blob_sha1(d.encode()), "size": 0, "path": d})
            if recursive or len(parts) == 1:
                entries.append(self._entry(f))
        if prefix and not entries:
            return self._error(404, "EntryNotFound", f"{sub} does not exist", {"X-Repo-Commit": commit.sha})
        self._json(200, entries)

    def _paths_info(self, commit: FakeCommit) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            paths = _as_list(json.loads(raw or "{}").get("paths"))
        else:
            paths = parse_qs(raw).get("paths", [])
        self._json(200, [self._entry(commit.files[p]) for p in paths if p in commit.files])

    def _resolve(self, repo: FakeRepo, commit: FakeCommit, path: str, token: str | None) -> None:
        if repo.gated and not (token and token in repo.allowed_tokens):
            message = f"Access to model {repo.repo_id} is restricted. You must have access to it and be authenticated."
            return self._error(403 if token else 401, "GatedRepo", message)
        f = commit.files.get(path)
        if f is None or path in repo.missing:
            return self._error(404, "EntryNotFound", f"{path} does not exist", {"X-Repo-Commit": commit.sha})
        body = f.data
        if path in repo.corrupt:
            # Same length, different bytes: only a hash check can notice.
            body = repo.corrupt[path] if repo.corrupt[path] is not None else bytes(b ^ 0xFF for b in f.data)
        headers = {
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{f.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if f.lfs:
            headers["X-Linked-Etag"] = f'"{f.sha256}"'
            headers["X-Linked-Size"] = str(len(f.data))
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip()) if rng else None
        if m:
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(body) - 1
            if start >= len(body):
                return self._send(416, b"", {**headers, "Content-Range": f"bytes */{len(body)}"})
            end = min(end, len(body) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            return self._send(206, body[start : end + 1], headers)
        self._send(200, body, headers)
