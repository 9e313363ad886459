"""The Hub source against a fake Hub on 127.0.0.1, through huggingface_hub's real client."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hubserver import FOREVER, git_blob_sha1

from audit.errors import InputUnreadable, UsageError
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


def client(hub, **kwargs) -> HubClient:
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


def test_rate_limited_forever_gives_up_quickly(fake_hub):
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit = FOREVER
    start = time.monotonic()
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, max_retries=3).snapshot("acme/tiny")
    assert time.monotonic() - start < 2
    assert err.value.message == f"rate limited by {fake_hub.url} after 4 attempts while fetching model acme/tiny"
    assert len(fake_hub.requests) == 4


@pytest.mark.parametrize(
    "retry_after, ratelimit",
    [("0", None), (None, '"api";r=0;t=0'), ("3600", None), (None, '"api";r=0;t=3600')],
)
def test_server_wait_is_honoured_and_capped(fake_hub, retry_after, ratelimit):
    # base_delay is long: a quick success shows the server's (capped) wait was used instead of the backoff
    repo = fake_hub.add_model("acme/tiny", tiny_files())
    repo.rate_limit, repo.retry_after, repo.ratelimit_header = 1, retry_after, ratelimit
    start = time.monotonic()
    info = client(fake_hub, base_delay=30, max_delay=30, max_retry_after=0.05).model_info("acme/tiny")
    assert info["sha"] == repo.sha and time.monotonic() - start < 2


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
    start = time.monotonic()
    with pytest.raises(InputUnreadable) as err:
        client(fake_hub, max_retries=2).snapshot("acme/tiny")
    assert time.monotonic() - start < 3
    assert err.value.message == (
        f"cannot reach {fake_hub.url}: the server closed the connection without answering after 3 attempts"
    )
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
    hub = HubClient(endpoint=f"http://127.0.0.1:{port}", token=False, max_retries=2, base_delay=0.01)
    with pytest.raises(InputUnreadable) as first:
        hub.model_info("acme/a")
    assert "connection refused" in first.value.message
    start = time.monotonic()
    with pytest.raises(InputUnreadable) as second:
        hub.dataset_info("acme/data")
    assert time.monotonic() - start < 0.05
    assert second.value.input == "acme/data" and "connection refused" in second.value.message
