"""The Hub source against a fake Hub on 127.0.0.1, through huggingface_hub's real client."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hubserver import FOREVER, git_blob_sha1

from audit.errors import (
    HubError,
    HubGated,
    HubNotFound,
    HubRateLimited,
    HubRevisionNotFound,
    HubUnauthorized,
    HubUnreachable,
    InputUnreadable,
    UsageError,
)
from audit.sources import base
from audit.sources.hub import HubClient
from audit.sources.ids import looks_like_repo_id, parse_repo_spec

CARD = """---
license: apache-2.0
base_model: acme/base-7b
datasets:
- acme/pile
---
# Tiny

A tiny model.
"""
LICENSE = "Apache License\nVersion 2.0, January 2004\n"
WEIGHTS = bytes(range(256)) * 16  # 4 KiB "LFS" file
SECRET = "hf_SeCrEtToKeN0123456789abcdef"


def tiny_files(**extra: bytes | str) -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = {
        "README.md": CARD,
        "LICENSE": LICENSE,
        "config.json": '{"model_type": "llama"}',
        "model.safetensors": WEIGHTS,
        "tokenizer.json": "{}",
    }
    files.update(extra)
    return files


class FakeTime:
    """An injected clock and sleep: sleeping moves the clock; every sleep is recorded, none is real.
    `tick` also moves the clock on every reading, to make a deadline pass after a counted number of reads."""

    def __init__(self, tick: float = 0.0):
        self.now = 1000.0
        self.tick = tick
        self.sleeps: list[float] = []
        self.reads = 0

    def clock(self) -> float:
        self.reads += 1
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(hub, fake: FakeTime | None = None, **kwargs) -> HubClient:
    if fake is not None:
        kwargs.update(sleep=fake.sleep, clock=fake.clock)
    kwargs.setdefault("token", False)
    kwargs.setdefault("base_delay", 0.001)
    kwargs.setdefault("max_delay", 0.01)
    kwargs.setdefault("max_retry_after", 0.05)
    kwargs.setdefault("timeout", 5)
    return HubClient(endpoint=hub.url, **kwargs)


def resolve_requests(hub):
    return [r for r in hub.requests if "/resolve/" in r.route]


# -- a public repo ----------------------------------------------------------------------------------------
def test_public_repo_snapshot(fake_hub, hf_home):
    repo = fake_hub.add_model("acme/tiny", tiny_files(), lfs={"model.safetensors"}, library_name="transformers")
    snap = client(fake_hub).snapshot("acme/tiny")

    assert snap.subject == "acme/tiny"
    assert snap.origin.source == "hub" and snap.origin.locator == "acme/tiny"
    assert snap.revision == repo.sha
    assert snap.card_path == "README.md"
    assert set(snap.texts) == {"README.md", "LICENSE", "config.json"}
    assert snap.texts["README.md"] == CARD and snap.texts["LICENSE"] == LICENSE

    files = {f.path: f for f in snap.files}
    assert set(files) == {"README.md", "LICENSE", "config.json", "model.safetensors", "tokenizer.json"}
    weights = files["model.safetensors"]
    assert weights.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert weights.size == len(WEIGHTS) and weights.local_path is None  # listed, never downloaded
    lic = files["LICENSE"]
    assert lic.blob_id == git_blob_sha1(LICENSE.encode()) and lic.sha256 is None
    assert lic.local_path and lic.local_path.startswith(str(hf_home / "hub"))
    with open(lic.local_path, "rb") as fh:
        assert fh.read() == LICENSE.encode()

    info = snap.info
    assert info["id"] == "acme/tiny" and info["sha"] == repo.sha and info["author"] == "acme"
    assert info["cardData"]["license"] == "apache-2.0"
    assert "license:apache-2.0" in info["tags"]
    assert info["base_models"] == [{"id": "acme/base-7b", "relation": "finetune"}]
    assert info["library_name"] == "transformers" and info["gated"] is False
    assert info["skipped"] == []

    # one metadata call with file metadata, then HEAD+GET per wanted text, none for weights or tokenizer
    assert [r.path for r in fake_hub.requests if r.route.startswith("/api/")] == ["/api/models/acme/tiny?blobs=true"]
    fetched = {r.route.rsplit("/", 1)[-1] for r in resolve_requests(fake_hub)}
    assert fetched == {"README.md", "LICENSE", "config.json"}


def test_snapshot_writes_into_hf_cache_and_reuses_it(fake_hub, hf_home):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    c = client(fake_hub)
    c.snapshot("acme/tiny")
    assert (hf_home / "hub" / "models--acme--tiny" / "refs" / "main").read_text() == repo.sha
    fake_hub.clear_requests()
    again = c.snapshot("acme/tiny")
    assert again.texts["LICENSE"] == LICENSE
    # the pinned files come from the cache: only the metadata call goes out
    assert resolve_requests(fake_hub) == []


def test_skips_files_over_the_cap_and_refuses_a_huge_card(fake_hub):
    big = b"x" * (base.MAX_TEXT_BYTES + 1)
    fake_hub.add_model("acme/biglicense", tiny_files(LICENSE=big))
    snap = client(fake_hub).snapshot("acme/biglicense")
    assert "LICENSE" not in snap.texts and "README.md" in snap.texts
    [skip] = snap.info["skipped"]
    assert skip.code == "file-too-large" and skip.origin.file == "LICENSE" and "MiB" in skip.message
    assert not any(r.route.endswith("/LICENSE") for r in resolve_requests(fake_hub))  # not even downloaded

    fake_hub.add_model("acme/bigcard", {"README.md": b"y" * (base.MAX_CARD_BYTES + 1)})
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).snapshot("acme/bigcard")
    assert err.value.input == "acme/bigcard" and "model card README.md" in err.value.message


def test_binary_license_file_is_skipped_not_fatal(fake_hub):
    fake_hub.add_model("acme/binlic", tiny_files(LICENSE=b"\x00\x01PK\x03\x04"))
    snap = client(fake_hub).snapshot("acme/binlic")
    assert "LICENSE" not in snap.texts
    assert [p.code for p in snap.info["skipped"]] == ["file-skipped"]


def test_repo_without_card(fake_hub):
    fake_hub.add_model("acme/nocard", {"config.json": "{}", "LICENSE.txt": "MIT License"})
    snap = client(fake_hub).snapshot("acme/nocard")
    assert snap.card_path is None and set(snap.texts) == {"config.json", "LICENSE.txt"}


# -- revisions --------------------------------------------------------------------------------------------
def test_pinned_revision_resolves_branch_to_sha(fake_hub):
    repo = fake_hub.add_model(
        "acme/tiny",
        tiny_files(),
        revisions={"v1.0": tiny_files(LICENSE="MIT License\n"), "stable": "v1.0"},
    )
    c = client(fake_hub)
    snap = c.snapshot("acme/tiny@v1.0")
    v1 = repo.refs["v1.0"]
    assert v1 != repo.sha
    assert snap.revision == v1 and snap.texts["LICENSE"] == "MIT License\n"
    assert any(r.route == "/api/models/acme/tiny/revision/v1.0" for r in fake_hub.requests)
    downloads = resolve_requests(fake_hub)
    assert downloads and all(f"/resolve/{v1}/" in r.route for r in downloads)

    # a tag on the same commit, the URL form, and the revision= argument all land on the same sha
    assert c.snapshot("https://huggingface.co/acme/tiny/tree/stable").revision == v1
    assert c.snapshot("hf.co/acme/tiny", revision="v1.0").revision == v1
    assert c.snapshot(f"acme/tiny@{v1}").revision == v1


def test_revision_with_slash_is_quoted(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files(), revisions={"refs/pr/1": tiny_files(LICENSE="PR license")})
    snap = client(fake_hub).snapshot("acme/tiny@refs/pr/1")
    assert snap.revision == repo.refs["refs/pr/1"] and snap.texts["LICENSE"] == "PR license"
    assert any(r.path.startswith("/api/models/acme/tiny/revision/refs%2Fpr%2F1") for r in fake_hub.requests)


def test_unknown_revision(fake_hub):
    fake_hub.add_model("acme/tiny", tiny_files())
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).snapshot("acme/tiny@v9")
    assert err.value.input == "acme/tiny@v9"
    assert err.value.message == f"revision 'v9' of model acme/tiny not found on {fake_hub.url}"


def test_conflicting_revisions_are_a_usage_error(fake_hub):
    with pytest.raises(UsageError):
        client(fake_hub).snapshot("acme/tiny@v1", revision="v2")


# -- access -----------------------------------------------------------------------------------------------
def test_gated_repo(fake_hub):
    repo = fake_hub.add_model("acme/gated", tiny_files(), gated=True, allowed_tokens={"hf_granted"})
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).snapshot("acme/gated")
    assert "is gated: accept its terms on the Hub" in err.value.message and "set HF_TOKEN" in err.value.message
    assert err.value.input == "acme/gated"
    assert {r.status for r in resolve_requests(fake_hub)} == {401}  # metadata is public, files are not

    fake_hub.clear_requests()
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, token="hf_other").snapshot("acme/gated")
    assert "is gated" in err.value.message and "hf_other" not in str(err.value)
    assert {r.status for r in resolve_requests(fake_hub)} == {403}

    snap = client(fake_hub, token="hf_granted").snapshot("acme/gated")
    assert snap.revision == repo.sha and snap.info["gated"] == "auto"


def test_missing_repo(fake_hub):
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).snapshot("acme/nope")
    assert err.value.exit_code == 3 and err.value.input == "acme/nope"
    assert err.value.message == f"model acme/nope not found on {fake_hub.url} (or private: set HF_TOKEN)"
    assert [r.status for r in fake_hub.requests] == [401]  # no retry on a definite answer


def test_missing_repo_with_token_is_404(fake_hub):
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, token=SECRET).snapshot("acme/nope")
    assert "not found on" in err.value.message and "HF_TOKEN gives no access" in err.value.message
    assert [r.status for r in fake_hub.requests] == [404]


def test_private_repo_needs_its_token(fake_hub):
    repo = fake_hub.add_model("acme/private", tiny_files(), private=True, allowed_tokens={SECRET})
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).snapshot("acme/private")
    assert "not found on" in err.value.message and "(or private: set HF_TOKEN)" in err.value.message

    fake_hub.clear_requests()
    snap = client(fake_hub, token=SECRET).snapshot("acme/private")
    assert snap.revision == repo.sha and snap.info["private"] is True
    assert fake_hub.requests and all(r.sent_token(SECRET) for r in fake_hub.requests)
    assert all("authorization" not in r.headers for r in fake_hub.requests)


def test_token_from_environment_at_call_time(fake_hub, monkeypatch):
    fake_hub.add_model("acme/private", tiny_files(), private=True, allowed_tokens={SECRET})
    monkeypatch.setenv("HF_TOKEN", SECRET)
    snap = HubClient(endpoint=fake_hub.url).snapshot("acme/private")
    assert snap.texts["LICENSE"] == LICENSE
    assert "SeCrEt" not in repr(HubClient(endpoint=fake_hub.url))


def test_stored_login_token_is_used(fake_hub, hf_home):
    fake_hub.add_model("acme/private", tiny_files(), private=True, allowed_tokens={SECRET})
    (hf_home / "token").write_text(SECRET + "\n")
    assert HubClient(endpoint=fake_hub.url).snapshot("acme/private").card_path == "README.md"


def test_forbidden(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.status = 403
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, token=SECRET).snapshot("acme/tiny")
    assert "refused access to model acme/tiny (HTTP 403)" in err.value.message


def test_disabled_repo(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.disabled = True
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).model_info("acme/tiny")
    assert err.value.message == f"model acme/tiny is disabled on {fake_hub.url}"


# -- retries ----------------------------------------------------------------------------------------------
def test_rate_limited_twice_then_succeeds(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit = 2
    snap = client(fake_hub).snapshot("acme/tiny")
    assert snap.revision == repo.sha
    assert [r.status for r in fake_hub.requests if r.route.startswith("/api/")] == [429, 429, 200]


def test_rate_limited_forever_gives_up_after_bounded_waits(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit, repo.retry_after = FOREVER, None  # no server wait: our backoff, doubling up to max_delay
    t = FakeTime()
    with pytest.raises(HubRateLimited) as err:
        client(fake_hub, t, max_retries=3, base_delay=0.5, max_delay=1.5).snapshot("acme/tiny")
    assert err.value.message == f"rate limited by {fake_hub.url} after 4 attempts while fetching model acme/tiny"
    assert t.sleeps == [0.5, 1.0, 1.5]
    assert len(fake_hub.requests) == 4


@pytest.mark.parametrize(
    "retry_after, ratelimit, waited",
    [("0", None, 0.0), (None, '"api";r=0;t=0', 0.0), ("3", None, 3.0), (None, '"api";r=0;t=2', 2.0),
     ("3600", None, 5.0), (None, '"api";r=0;t=3600', 5.0)],
)
def test_server_wait_is_honoured_and_capped(fake_hub, retry_after, ratelimit, waited):
    # base_delay is long: the recorded wait is the server's (capped), not the backoff
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit, repo.retry_after, repo.ratelimit_header = 1, retry_after, ratelimit
    t = FakeTime()
    info = client(fake_hub, t, base_delay=30, max_delay=30, max_retry_after=5).model_info("acme/tiny")
    assert info["sha"] == repo.sha
    assert t.sleeps == [waited]


def test_rate_limited_downloads_use_the_capped_retry_not_the_libraries(fake_hub):
    # huggingface_hub would retry a 429 on a file by itself, sleeping Retry-After + 1 s, uncapped
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit, repo.rate_limit_scope, repo.retry_after = 2, "file", "7"  # a regression sleeps 8 s per try: slow, not a hang
    t = FakeTime()
    snap = client(fake_hub, t, max_retry_after=5, workers=1).snapshot("acme/tiny")
    assert snap.texts["LICENSE"] == LICENSE
    assert t.sleeps == [5, 5]
    assert [r.status for r in resolve_requests(fake_hub)].count(429) == 2


def test_server_error_is_retried_then_explained(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.status = 503
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, max_retries=2).model_info("acme/tiny", "main")
    assert err.value.input == "acme/tiny@main"
    assert err.value.message == (
        f"{fake_hub.url} failed with HTTP 503 after 3 attempts while fetching model acme/tiny (revision main)"
    )


def test_dropped_connection(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.drop = FOREVER
    t = FakeTime()
    with pytest.raises(HubUnreachable) as err:
        client(fake_hub, t, max_retries=2, base_delay=0.25, max_delay=8).snapshot("acme/tiny")
    assert err.value.message == (
        f"cannot reach {fake_hub.url}: the server closed the connection without answering after 3 attempts"
    )
    assert t.sleeps == [0.25, 0.5]
    assert [r.status for r in fake_hub.requests] == [None, None, None]

    repo.drop = 1  # a single dropped connection is retried
    assert client(fake_hub).snapshot("acme/tiny").revision == repo.sha


def test_connection_refused(hf_home):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputUnreadable) as err:
        HubClient(endpoint=f"http://127.0.0.1:{port}", token=False, max_retries=1, base_delay=0.001).snapshot("acme/tiny")
    assert err.value.message == f"cannot reach http://127.0.0.1:{port}: connection refused after 2 attempts"


def test_timeout(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.latency = 0.5
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, timeout=0.1, max_retries=0).model_info("acme/tiny")
    assert err.value.message == f"cannot reach {fake_hub.url}: no answer within 0.1 s"


def test_endpoint_that_is_not_a_hub(hf_home):
    class Html(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(InputUnreadable) as err:
            HubClient(endpoint=url, token=False).snapshot("acme/tiny")
        assert err.value.message == f"{url} answered with something that is not JSON"
    finally:
        server.shutdown()
        server.server_close()


def test_fake_hub_speaks_enough_for_hfapi(fake_hub):
    repo = fake_hub.add_model("acme/tiny", {**tiny_files(), "sub/dir/NOTICE": "notice"}, lfs={"model.safetensors"})
    api = client(fake_hub).api
    assert sorted(api.list_repo_files("acme/tiny")) == sorted([*tiny_files(), "sub/dir/NOTICE"])
    [entry] = api.get_paths_info("acme/tiny", ["model.safetensors"])
    assert entry.lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    info = api.model_info("acme/tiny", expand=["baseModels", "sha"])
    assert info.sha == repo.sha
    assert any(r.path.endswith("expand=baseModels&expand=sha") for r in fake_hub.requests)


# -- typed errors ------------------------------------------------------------------------------------------
def _closed_port() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _gated(hub):
    hub.add_model("acme/m", tiny_files(), gated=True)
    return client(hub), "acme/m", 401  # metadata is public; the file download is refused


def _bad_token(hub):
    hub.add_model("acme/m", tiny_files())
    hub.invalid_tokens.add(SECRET)
    return client(hub, token=SECRET), "acme/m", 401


def _forbidden(hub):
    hub.add_model("acme/m", tiny_files()).status = 403
    return client(hub, token=SECRET), "acme/m", 403


def _missing(hub):
    return client(hub), "acme/m", 401


def _missing_with_token(hub):
    return client(hub, token=SECRET), "acme/m", 404


def _private(hub):
    hub.add_model("acme/m", tiny_files(), private=True, allowed_tokens={"hf_someone_else"})
    return client(hub), "acme/m", 401


def _bad_revision(hub):
    hub.add_model("acme/m", tiny_files())
    return client(hub), "acme/m@v9", 404


def _rate_limited(hub):
    hub.add_model("acme/m", tiny_files()).rate_limit = FOREVER
    return client(hub, FakeTime(), max_retries=1), "acme/m", 429


def _server_error(hub):
    hub.add_model("acme/m", tiny_files()).status = 502
    return client(hub, FakeTime(), max_retries=1), "acme/m", 502


def _dropped(hub):
    hub.add_model("acme/m", tiny_files()).drop = FOREVER
    return client(hub, FakeTime(), max_retries=1), "acme/m", None


def _timed_out(hub):
    hub.add_model("acme/m", tiny_files()).latency = 0.5
    return client(hub, timeout=0.1, max_retries=0), "acme/m", None


def _refused(hub):
    return HubClient(endpoint=_closed_port(), token=False, max_retries=0), "acme/m", None


def _offline(hub):
    hub.add_model("acme/m", tiny_files())
    return client(hub, offline=True), "acme/m", None


def _disabled(hub):
    hub.add_model("acme/m", tiny_files()).disabled = True
    return client(hub), "acme/m", 403


def _teapot(hub):
    hub.add_model("acme/m", tiny_files()).status = 418
    return client(hub), "acme/m", 418


@pytest.mark.parametrize(
    "case, cls, fragment",
    [
        (_gated, HubGated, "is gated: accept its terms"),
        (_bad_token, HubUnauthorized, "rejected HF_TOKEN (invalid credentials)"),
        (_forbidden, HubUnauthorized, "refused access to model acme/m (HTTP 403)"),
        (_missing, HubNotFound, "model acme/m not found on"),
        (_missing_with_token, HubNotFound, "HF_TOKEN gives no access to it"),
        (_private, HubNotFound, "(or private: set HF_TOKEN)"),
        (_bad_revision, HubRevisionNotFound, "revision 'v9' of model acme/m not found"),
        (_rate_limited, HubRateLimited, "rate limited by"),
        (_server_error, HubUnreachable, "failed with HTTP 502 after 2 attempts"),
        (_dropped, HubUnreachable, "closed the connection without answering after 2 attempts"),
        (_timed_out, HubUnreachable, "no answer within 0.1 s"),
        (_refused, HubUnreachable, "connection refused"),
        (_offline, HubUnreachable, "HF_HUB_OFFLINE is set"),
        (_disabled, HubError, "model acme/m is disabled on"),
        (_teapot, HubError, "answered HTTP 418 while fetching model acme/m"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) and not isinstance(v, type) else None,
)
def test_each_failure_raises_its_class(fake_hub, case, cls, fragment):
    c, spec, status = case(fake_hub)
    with pytest.raises(HubError) as err:
        c.snapshot(spec)
    e = err.value
    assert type(e) is cls and isinstance(e, InputUnreadable) and e.exit_code == 3
    assert fragment in e.message and "\n" not in e.message and SECRET not in str(e)
    assert e.input == spec and str(e) == f"{spec}: {e.message}"
    assert e.repo_id == "acme/m" and e.revision == ("v9" if "@" in spec else None)
    assert e.status == status


def test_a_revision_not_found_is_also_a_not_found(fake_hub):
    fake_hub.add_model("acme/tiny", tiny_files())
    with pytest.raises(HubNotFound) as err:  # callers that only care "is it there" catch the parent
        client(fake_hub).model_info("acme/tiny", "v9")
    assert type(err.value) is HubRevisionNotFound and err.value.revision == "v9"


def test_a_file_that_cannot_be_downloaded_is_recorded_not_fatal(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.missing.add("LICENSE")  # listed, but the download answers 404 EntryNotFound
    snap = client(fake_hub).snapshot("acme/tiny")
    assert "LICENSE" not in snap.texts and snap.texts["README.md"] == CARD
    [problem] = snap.info["skipped"]
    assert problem.code == "file-missing" and problem.origin.file == "LICENSE"


# -- deadlines ---------------------------------------------------------------------------------------------
def test_slow_drip_metadata_is_cut_off_at_the_request_deadline(fake_hub):
    # headers at once, then a byte every 20 ms; every clock reading counts 1 s, so the 5 s deadline passes
    # after a handful of bytes however fast or slow this machine is
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.drip, repo.drip_scope = 0.02, "api"
    t = FakeTime(tick=1.0)
    with pytest.raises(HubUnreachable) as err:
        client(fake_hub, t, request_deadline=5, max_retries=3).model_info("acme/tiny")
    assert err.value.message == f"cannot reach {fake_hub.url}: no complete answer within the 5 s deadline for one request"
    assert t.sleeps == []  # a trickle is not retried
    assert [r.route for r in fake_hub.requests] == ["/api/models/acme/tiny"]
    assert 0 < repo.dripped < 20  # the body (hundreds of bytes) was not read to its end


def test_slow_drip_download_is_cut_off_at_the_request_deadline(fake_hub):
    repo = fake_hub.add_model("acme/tiny", {"README.md": CARD})
    repo.drip, repo.drip_scope = 0.02, "file"
    t = FakeTime(tick=1.0)
    with pytest.raises(HubUnreachable) as err:
        client(fake_hub, t, request_deadline=8).snapshot("acme/tiny")
    assert "no complete answer within the 8 s deadline for one request" in err.value.message
    assert 0 < repo.dripped < len(CARD)
    assert len([r for r in resolve_requests(fake_hub) if r.method == "GET"]) == 1  # not retried by the library


def test_run_budget_bounds_all_waiting_then_calls_fail_fast(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit, repo.retry_after = FOREVER, "4"
    t = FakeTime()
    c = client(fake_hub, t, deadline=10, max_retries=100, max_retry_after=60)
    with pytest.raises(HubRateLimited) as err:
        c.model_info("acme/tiny")
    assert t.sleeps == [4, 4]  # a third wait of 4 s would not fit in the 2 s left
    assert "after 3 attempts" in err.value.message

    t.tick = 1.0  # from now on time passes while the client works: the first request spends what is left
    repo.rate_limit, repo.drip, repo.drip_scope = 0, 0.02, "api"
    with pytest.raises(HubUnreachable) as err:
        c.model_info("acme/tiny")
    spent = f"stopped waiting on {fake_hub.url}: the 10 s this run may wait on the Hub are spent"
    assert err.value.message == spent
    fake_hub.clear_requests()
    with pytest.raises(HubUnreachable) as err:
        c.dataset_info("acme/pile")
    assert err.value.message == spent and err.value.input == "acme/pile"
    assert fake_hub.requests == []  # failed without asking


# -- offline and configuration --------------------------------------------------------------------------
def test_offline_makes_no_request(fake_hub, monkeypatch):
    fake_hub.add_model("acme/tiny", tiny_files())
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, offline=True).snapshot("acme/tiny")
    assert err.value.message == f"HF_HUB_OFFLINE is set: cannot fetch model acme/tiny from {fake_hub.url}"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read when the client is made, not at import
    with pytest.raises(InputUnreadable, match="HF_HUB_OFFLINE is set"):
        HubClient(endpoint=fake_hub.url).model_info("acme/tiny")
    assert fake_hub.requests == []


def test_endpoint_from_environment_at_call_time(fake_hub, monkeypatch):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url + "/")
    c = HubClient(token=False)
    assert c.endpoint == fake_hub.url
    assert c.model_info("acme/tiny")["sha"] == repo.sha


def test_bad_endpoint_is_a_usage_error(hf_home):
    with pytest.raises(UsageError):
        HubClient(endpoint="ftp://example.org")


def test_token_never_in_errors_or_output(fake_hub, capsys, caplog):
    gated = fake_hub.add_model("acme/gated", tiny_files(), gated=True)
    limited = fake_hub.add_model("acme/limited", tiny_files())
    limited.rate_limit = FOREVER
    broken = fake_hub.add_model("acme/broken", tiny_files())
    broken.status = 500
    forbidden = fake_hub.add_model("acme/forbidden", tiny_files())
    forbidden.status = 403
    c = client(fake_hub, token=SECRET, max_retries=1)
    messages = []
    for spec in ("acme/gated", "acme/limited", "acme/broken", "acme/forbidden", "acme/missing", "acme/gated@nope"):
        with pytest.raises(InputUnreadable) as err:
            c.snapshot(spec)
        messages.append(str(err.value))
        assert err.value.__cause__ is None and err.value.__suppress_context__
    out = capsys.readouterr()
    for text in messages + [out.out, out.err, caplog.text]:
        assert SECRET not in text
    assert all(r.sent_token(SECRET) for r in fake_hub.requests)
    assert gated.gated == "auto"


# -- datasets, concurrency, integrity fixture -------------------------------------------------------------
def test_dataset_info(fake_hub):
    ds = fake_hub.add_dataset("acme/pile", {"README.md": "---\nlicense: cc-by-4.0\n---\n# Pile\n"})
    info = client(fake_hub).dataset_info("acme/pile")
    assert info["sha"] == ds.sha and info["cardData"]["license"] == "cc-by-4.0"
    assert "license:cc-by-4.0" in info["tags"]
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub).dataset_info("acme/nothing")
    assert err.value.message.startswith("dataset acme/nothing not found on")


def test_base_models_from_expand_answer(fake_hub):
    fake_hub.add_model("acme/adapter", {"README.md": "---\nbase_model: acme/base\n---\n", "adapter_config.json": "{}"})
    info = client(fake_hub).model_info("acme/adapter")
    assert info["base_models"] == [{"id": "acme/base", "relation": "adapter"}]


def test_concurrent_snapshots_share_one_client(fake_hub):
    repos = {f"acme/m{i}": fake_hub.add_model(f"acme/m{i}", tiny_files(LICENSE=f"license {i}")) for i in range(6)}
    fake_hub.latency = 0.01
    c = client(fake_hub)
    with ThreadPoolExecutor(max_workers=6) as pool:
        snaps = list(pool.map(c.snapshot, repos))
    for snap, (rid, repo) in zip(snaps, repos.items()):
        assert snap.subject == rid and snap.revision == repo.sha
        assert snap.texts["LICENSE"] == f"license {rid[-1]}"


def test_fake_hub_serves_corrupted_bytes_under_the_original_hashes(fake_hub):
    # The integrity check (elsewhere) relies on this: the client stores what it got without complaint.
    repo = fake_hub.add_model("acme/tiny", tiny_files(), lfs={"LICENSE"})
    repo.corrupt["LICENSE"] = None
    snap = client(fake_hub).snapshot("acme/tiny")
    lic = next(f for f in snap.files if f.path == "LICENSE")
    with open(lic.local_path, "rb") as fh:
        got = fh.read()
    assert len(got) == len(LICENSE) and got != LICENSE.encode()
    assert lic.sha256 == hashlib.sha256(LICENSE.encode()).hexdigest() != hashlib.sha256(got).hexdigest()
    assert os.path.basename(lic.local_path) == lic.sha256  # the cache names the blob by the advertised hash


def test_range_requests(fake_hub):
    fake_hub.add_model("acme/tiny", tiny_files())
    import httpx2

    url = f"{fake_hub.url}/acme/tiny/resolve/main/LICENSE"
    r = httpx2.get(url, headers={"Range": "bytes=8-"})
    assert r.status_code == 206 and r.content == LICENSE.encode()[8:]
    assert r.headers["Content-Range"] == f"bytes 8-{len(LICENSE) - 1}/{len(LICENSE)}"
    assert httpx2.get(f"{fake_hub.url}/api/agent-harnesses").status_code == 404


# -- repo references --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, expected",
    [
        ("gpt2", ("gpt2", None)),
        ("acme/tiny", ("acme/tiny", None)),
        (" acme/tiny@v1.0 ", ("acme/tiny", "v1.0")),
        ("acme/tiny@refs/pr/1", ("acme/tiny", "refs/pr/1")),
        ("meta-llama/Llama-3.1-8B_x", ("meta-llama/Llama-3.1-8B_x", None)),
        ("https://huggingface.co/acme/tiny", ("acme/tiny", None)),
        ("https://huggingface.co/acme/tiny/", ("acme/tiny", None)),
        ("https://huggingface.co/acme/tiny/tree/v2", ("acme/tiny", "v2")),
        ("https://huggingface.co/acme/tiny/blob/main/README.md", ("acme/tiny", "main")),
        ("https://hf.co/gpt2", ("gpt2", None)),
        ("hf.co/acme/tiny@abc", ("acme/tiny", "abc")),
        ("huggingface.co/models/acme/tiny", ("acme/tiny", None)),
    ],
)
def test_parse_repo_spec(spec, expected):
    assert parse_repo_spec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "a/b/c",
        "acme--x/tiny",
        "acme/ti..ny",
        "-acme/tiny",
        "acme/tiny.",
        "acme/ti ny",
        "acme/tiny.git",
        "x" * 97,
        "acme/tiny@",
        "acme/tiny@bad rev",
        "acme/tiny@a..b",
        "hf.co/datasets/acme/pile",
        "https://huggingface.co/spaces/acme/demo",
        "acme/tïny",
    ],
)
def test_bad_repo_ids_are_usage_errors(spec):
    with pytest.raises(UsageError) as err:
        parse_repo_spec(spec)
    assert err.value.exit_code == 2
    assert err.value.input == (spec if spec.strip() else repr(spec))


def test_looks_like_repo_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "local").mkdir()
    assert looks_like_repo_id("acme/tiny")
    assert looks_like_repo_id("gpt2")
    assert looks_like_repo_id("acme/tiny@v1")
    assert looks_like_repo_id("https://huggingface.co/acme/tiny")
    assert not looks_like_repo_id("acme/local")  # exists here
    assert not looks_like_repo_id(str(tmp_path))
    assert not looks_like_repo_id("README.md")  # a missing file, not a model
    assert not looks_like_repo_id("cards/model.md")
    assert not looks_like_repo_id("./tiny")
    assert not looks_like_repo_id("../x/y")
    assert not looks_like_repo_id("a/b/c")
    assert not looks_like_repo_id("")


def test_unreachable_endpoint_fails_every_later_call_at_once():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = FakeTime()
    hub = HubClient(endpoint=f"http://127.0.0.1:{port}", token=False, max_retries=2, base_delay=0.01,
                    sleep=t.sleep, clock=t.clock)
    with pytest.raises(HubUnreachable) as first:
        hub.model_info("acme/a")
    assert "connection refused" in first.value.message
    assert t.sleeps == [0.01, 0.02]  # retried twice
    with pytest.raises(HubUnreachable) as second:
        hub.dataset_info("acme/data")
    assert t.sleeps == [0.01, 0.02]  # no retry, no wait: it failed at once
    assert second.value.input == "acme/data" and "connection refused" in second.value.message
    assert second.value.repo_id == "acme/data"
