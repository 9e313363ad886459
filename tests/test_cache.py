"""The HF-cache source, on caches built by huggingface_hub's real client downloading from the fake Hub."""
from __future__ import annotations

import hashlib
import os

import pytest
from hubserver import git_blob_sha1

from audit.errors import InputUnreadable, UsageError
from audit.sources import base
from audit.sources.cache import cache_dir, iter_cache, read_cached
from audit.sources.hub import HubClient

CARD = "---\nlicense: mit\n---\n# Tiny\n"
LICENSE = "MIT License\n\nCopyright (c) acme\n"
WEIGHTS = b"\x01\x02" * 1000


def files(**extra):
    f = {"README.md": CARD, "LICENSE": LICENSE, "config.json": "{}", "model.safetensors": WEIGHTS}
    f.update(extra)
    return f


def download(hub, repo_id, filename, revision=None, **kwargs):
    from huggingface_hub import hf_hub_download

    return hf_hub_download(
        repo_id, filename, revision=revision, endpoint=hub.url, cache_dir=cache_dir(), token=False, **kwargs
    )


def snapshot_download(hub, repo_id, revision=None):
    from huggingface_hub import snapshot_download as sd

    return sd(repo_id, revision=revision, endpoint=hub.url, cache_dir=cache_dir(), token=False)


# -- where the cache is -----------------------------------------------------------------------------------
def test_cache_dir_follows_the_environment_at_call_time(hf_home, monkeypatch, tmp_path):
    assert cache_dir() == str(hf_home / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert cache_dir() == str(tmp_path / "elsewhere")
    assert cache_dir(str(tmp_path / "explicit")) == str(tmp_path / "explicit")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert cache_dir() == str(tmp_path / "home" / "hub")
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert cache_dir() == str(tmp_path / "user" / ".cache" / "huggingface" / "hub")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "xdg" / "huggingface" / "hub")


def test_missing_cache_dir(hf_home, tmp_path):
    missing = str(tmp_path / "no-such-cache")
    with pytest.raises(InputUnreadable) as err:
        iter_cache(missing)
    assert err.value.input == missing and "does not exist" in err.value.message
    assert read_cached("acme/tiny", cache_dir=missing) is None


# -- reading what huggingface_hub downloaded ---------------------------------------------------------------
def test_partial_download_found_at_refs_main(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), lfs={"model.safetensors"})
    download(fake_hub, "acme/tiny", "README.md")
    download(fake_hub, "acme/tiny", "LICENSE")
    download(fake_hub, "acme/tiny", "model.safetensors")

    [snap] = iter_cache()  # from HF_HUB_CACHE, read now
    assert snap.subject == "acme/tiny"
    assert snap.origin.source == "cache" and snap.origin.locator == "acme/tiny"
    assert snap.revision == repo.sha
    assert snap.card_path == "README.md"
    assert snap.texts == {"README.md": CARD, "LICENSE": LICENSE}
    got = {f.path: f for f in snap.files}
    assert set(got) == {"README.md", "LICENSE", "model.safetensors"}  # only what is on disk: no trees/ listing
    # expected hashes come from the blob names (the etags the Hub advertised)
    assert got["LICENSE"].blob_id == git_blob_sha1(LICENSE.encode()) and got["LICENSE"].sha256 is None
    assert got["model.safetensors"].sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert got["model.safetensors"].blob_id is None and got["model.safetensors"].size == len(WEIGHTS)
    assert os.path.dirname(got["LICENSE"].local_path).endswith(os.path.join("models--acme--tiny", "blobs"))
    assert snap.info["hashes_from"] == "blob file names"
    assert snap.info["refs"] == {"main": repo.sha}
    assert snap.info["problems"] == [] and snap.info["skipped"] == []

    assert read_cached("acme/tiny") == snap


def test_snapshot_download_uses_trees_listing(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), lfs={"model.safetensors"})
    snapshot_download(fake_hub, "acme/tiny")
    trees = os.path.join(cache_dir(), "models--acme--tiny", "trees", f"{repo.sha}.json")
    assert os.path.isfile(trees)  # huggingface_hub 2.x writes it on snapshot_download

    snap = read_cached("acme/tiny")
    assert snap.info["hashes_from"] == f"trees/{repo.sha}.json"
    got = {f.path: f for f in snap.files}
    weights = repo.commits[repo.sha].files["model.safetensors"]
    assert got["model.safetensors"].sha256 == weights.sha256
    assert got["model.safetensors"].blob_id == weights.blob_id  # the pointer's id, as the Hub lists it
    assert got["config.json"].blob_id == git_blob_sha1(b"{}")
    assert set(snap.texts) == {"README.md", "LICENSE", "config.json"}


def test_trees_listing_reports_files_never_downloaded(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), lfs={"model.safetensors"})
    snapshot_download(fake_hub, "acme/tiny")
    license_link = os.path.join(cache_dir(), "models--acme--tiny", "snapshots", repo.sha, "LICENSE")
    os.remove(license_link)  # as if only part of the repo had been fetched
    snap = read_cached("acme/tiny")
    lic = next(f for f in snap.files if f.path == "LICENSE")
    assert lic.local_path is None and lic.blob_id == git_blob_sha1(LICENSE.encode())
    assert "LICENSE" not in snap.texts
    assert [(p.code, p.origin.file) for p in snap.info["skipped"]] == [("cache-file-not-downloaded", "LICENSE")]


def test_revisions(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), revisions={"v1": files(LICENSE="Old license\n")})
    download(fake_hub, "acme/tiny", "LICENSE", revision="v1")
    only_v1 = read_cached("acme/tiny")  # no refs/main: the newest (only) snapshot
    assert only_v1.revision == repo.refs["v1"] and only_v1.texts["LICENSE"] == "Old license\n"

    download(fake_hub, "acme/tiny", "LICENSE")  # main
    assert read_cached("acme/tiny").revision == repo.sha
    assert read_cached("acme/tiny", revision="v1").texts["LICENSE"] == "Old license\n"
    assert read_cached("acme/tiny@v1").revision == repo.refs["v1"]
    assert read_cached("acme/tiny", revision=repo.sha).texts["LICENSE"] == LICENSE
    assert read_cached("acme/tiny", revision="v2") is None
    assert read_cached("acme/tiny", revision="0" * 40) is None
    assert read_cached("acme/other") is None
    [snap] = iter_cache()
    assert snap.revision == repo.sha


def test_download_by_sha_only_picks_newest_snapshot(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), revisions={"v1": files(LICENSE="Old\n")})
    download(fake_hub, "acme/tiny", "LICENSE", revision=repo.refs["v1"])
    os.utime(download(fake_hub, "acme/tiny", "LICENSE", revision=repo.refs["v1"]), (1, 1))  # old blob
    download(fake_hub, "acme/tiny", "README.md", revision=repo.sha)
    refs = os.path.join(cache_dir(), "models--acme--tiny", "refs")
    assert not os.path.exists(refs)  # downloads by sha record no ref
    assert read_cached("acme/tiny").revision == repo.sha
    assert iter_cache()[0].revision == repo.sha


def test_hub_snapshot_then_read_from_cache(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files(), revisions={"v1": files(LICENSE="v1 license\n")})
    client = HubClient(endpoint=fake_hub.url, token=False)
    online = client.snapshot("acme/tiny@v1")
    offline = read_cached("acme/tiny", revision="v1")
    assert offline.revision == online.revision == repo.refs["v1"]
    assert offline.texts == online.texts
    assert read_cached("acme/tiny") is not None  # newest snapshot: no refs/main was recorded
    assert read_cached("acme/tiny").revision == repo.refs["v1"]


def test_only_model_repos_are_listed(fake_hub):
    fake_hub.add_model("acme/a", files())
    fake_hub.add_model("b", files())
    fake_hub.add_dataset("acme/data", {"README.md": "---\nlicense: cc0-1.0\n---\n"})
    download(fake_hub, "acme/a", "README.md")
    download(fake_hub, "b", "README.md")
    download(fake_hub, "acme/data", "README.md", repo_type="dataset")
    assert [s.subject for s in iter_cache()] == ["acme/a", "b"]


# -- damage ------------------------------------------------------------------------------------------------
def test_broken_symlink_is_a_problem_not_a_crash(fake_hub):
    repo = fake_hub.add_model("acme/tiny", files())
    download(fake_hub, "acme/tiny", "README.md")
    lic_path = download(fake_hub, "acme/tiny", "LICENSE")
    fake_hub.add_model("acme/fine", files())
    download(fake_hub, "acme/fine", "README.md")
    os.remove(os.path.realpath(lic_path))  # the blob is gone; the snapshot link dangles

    snaps = {s.subject: s for s in iter_cache()}
    assert set(snaps) == {"acme/fine", "acme/tiny"}  # scan_cache_dir rejects the repo; it is still listed
    snap = snaps["acme/tiny"]
    assert snap.revision == repo.sha and snap.card_path == "README.md"
    assert "LICENSE" not in snap.texts
    [problem] = snap.info["problems"]
    assert problem.code == "cache-broken-symlink" and problem.origin.file == "LICENSE"
    assert "missing" in problem.message
    lic = next(f for f in snap.files if f.path == "LICENSE")
    assert lic.local_path is None and lic.blob_id == git_blob_sha1(LICENSE.encode())
    assert read_cached("acme/tiny").info["problems"] == snap.info["problems"]
    assert snaps["acme/fine"].info["problems"] == []


def test_oversized_text_in_cache_is_skipped(fake_hub):
    fake_hub.add_model("acme/tiny", files(LICENSE="x" * (base.MAX_TEXT_BYTES + 10)))
    download(fake_hub, "acme/tiny", "LICENSE")
    download(fake_hub, "acme/tiny", "README.md")
    snap = read_cached("acme/tiny")
    assert "LICENSE" not in snap.texts and snap.card_path == "README.md"
    [skip] = snap.info["skipped"]
    assert skip.code == "file-skipped" and skip.origin.file == "LICENSE"


def test_half_written_repo_dir_is_ignored(fake_hub):
    fake_hub.add_model("acme/tiny", files())
    download(fake_hub, "acme/tiny", "README.md")
    os.makedirs(os.path.join(cache_dir(), "models--acme--empty", "blobs"))  # no snapshots/: nothing to audit
    open(os.path.join(cache_dir(), "version.txt"), "w").close()
    assert [s.subject for s in iter_cache()] == ["acme/tiny"]
    assert read_cached("acme/empty") is None


def test_cache_that_is_a_file(tmp_path, hf_home):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputUnreadable, match="not a directory"):
        iter_cache(str(f))


def test_read_cached_rejects_bad_ids_and_revisions(hf_home):
    with pytest.raises(UsageError):
        read_cached("a/b/c")
    with pytest.raises(UsageError):
        read_cached("acme/tiny", revision="../../../etc/hostname")
