"""Provenance facts and the integrity check: real downloads from the fake Hub, and a hand-built HF cache."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from hubserver import git_blob_sha1 as server_blob_sha1

from audit.card import parse_card
from audit.model import Origin, RepoFile, Snapshot
from audit.provenance import check_integrity, git_blob_sha1, provenance_evidence, provenance_facts
from audit.sources.cache import read_cached
from audit.sources.hub import HubClient

CARD = "---\nlicense: apache-2.0\n---\n# tiny\n"
CONFIG = '{"model_type": "llama", "auto_map": {"AutoModel": "modeling_tiny.TinyModel"}}'


def client(hub) -> HubClient:
    return HubClient(endpoint=hub.url, token=False, base_delay=0.001, max_delay=0.01, timeout=5)


def test_git_blob_sha1_matches_git(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"hello\n")
    assert git_blob_sha1(str(p)) == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`
    assert git_blob_sha1(str(p)) == server_blob_sha1(b"hello\n")


def test_clean_hub_download_verifies(fake_hub, hf_home):
    fake_hub.add_model("acme/tiny", {"README.md": CARD, "config.json": CONFIG, "model.safetensors": b"\x00" * 64},
                       lfs={"model.safetensors"})
    snap = client(fake_hub).snapshot("acme/tiny")
    facts = provenance_facts(snap, None)
    # read at the commit `main` resolved to, but asked for by branch: not pinned (the next run may differ)
    assert not facts["pinned"] and len(facts["revision"]) == 40
    pinned = client(fake_hub).snapshot(f"acme/tiny@{snap.revision}")
    assert provenance_facts(dataclasses.replace(pinned, info={**pinned.info, "requested": snap.revision}),
                            None)["pinned"]
    assert facts["author"] == "acme"
    assert facts["integrity"]["checked"] >= 2 and facts["integrity"]["mismatched"] == []
    assert facts["weight_formats"] == ["safetensors"] and facts["unsafe_files"] == []
    json.dumps(facts)  # JSON-able


def test_corrupted_hub_download_is_caught(fake_hub, hf_home):
    repo = fake_hub.add_model("acme/tiny", {"README.md": CARD, "config.json": CONFIG})
    repo.corrupt["config.json"] = None  # same length, flipped bytes: only a hash check notices
    snap = client(fake_hub).snapshot("acme/tiny")
    facts = provenance_facts(snap, None)
    bad = facts["integrity"]["mismatched"]
    assert [m["path"] for m in bad] == ["config.json"] and bad[0]["algorithm"] == "git-blob-sha1"
    ev = provenance_evidence("acme/tiny", facts, {})
    integ = [e for e in ev if e.check == "provenance-integrity"]
    assert integ and integ[0].origins[0].file == "config.json"


def _cache_repo(root, repo_id: str, commit: str, files: dict[str, tuple[bytes, bytes, bool]], tree: bool) -> None:
    """files: path -> (advertised content, stored content, lfs). Blobs are named by the advertised hash."""
    base = os.path.join(root, "models--" + repo_id.replace("/", "--"))
    os.makedirs(os.path.join(base, "refs"), exist_ok=True)
    with open(os.path.join(base, "refs", "main"), "w") as fh:
        fh.write(commit)
    entries = {}
    for path, (advertised, stored, lfs) in files.items():
        name = hashlib.sha256(advertised).hexdigest() if lfs else server_blob_sha1(advertised)
        blob = os.path.join(base, "blobs", name)
        os.makedirs(os.path.dirname(blob), exist_ok=True)
        with open(blob, "wb") as fh:
            fh.write(stored)
        link = os.path.join(base, "snapshots", commit, path)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
        entry = {"size": len(advertised), "blob_id": server_blob_sha1(advertised)}
        if lfs:
            entry.update({"lfs_sha256": hashlib.sha256(advertised).hexdigest(), "lfs_size": len(advertised)})
        entries[path] = entry
    if tree:
        os.makedirs(os.path.join(base, "trees"), exist_ok=True)
        with open(os.path.join(base, "trees", f"{commit}.json"), "w") as fh:
            json.dump({"format_version": 1, "files": entries}, fh)


def test_cache_lfs_blob_with_wrong_bytes_is_caught(hf_home):
    root = str(hf_home / "hub")
    weights = bytes(range(256)) * 4
    tampered = bytes(reversed(weights))
    for tree, repo_id in ((True, "acme/with-tree"), (False, "acme/blob-names")):
        _cache_repo(root, repo_id, "a" * 40, {
            "README.md": (CARD.encode(), CARD.encode(), False),
            "model.safetensors": (weights, tampered, True),
            "pytorch_model.bin": (b"PK", b"PK", False),
        }, tree=tree)
        snap = read_cached(repo_id, cache_dir=root)
        facts = provenance_facts(snap, None)
        bad = facts["integrity"]["mismatched"]
        assert [(m["path"], m["algorithm"]) for m in bad] == [("model.safetensors", "sha256")], repo_id
        assert facts["integrity"]["checked"] == 3
        assert facts["unsafe_files"] == ["pytorch_model.bin"] and "pickle" in facts["weight_formats"]


def test_provenance_evidence_follows_the_policy_settings(tmp_path):
    for name, data in (("README.md", CARD), ("config.json", CONFIG), ("modeling_tiny.py", "class TinyModel: ..."),
                       ("pytorch_model.bin", "x"), ("model.safetensors", "x"), ("tokenizer.bin", "x")):
        (tmp_path / name).write_text(data)
    files = tuple(RepoFile(n, local_path=str(tmp_path / n)) for n in sorted(os.listdir(tmp_path)))
    snap = Snapshot(str(tmp_path), Origin("local", str(tmp_path)), files=files,
                    texts={"README.md": CARD, "config.json": CONFIG}, card_path="README.md")
    card = parse_card("---\nlicense: llama3\nextra_gated_prompt: accept\n---\n", Origin("local", str(tmp_path)))
    facts = provenance_facts(snap, card)
    assert not facts["pinned"] and facts["revision"] is None
    assert facts["unsafe_files"] == ["pytorch_model.bin"]  # a tokenizer .bin is not weights
    assert facts["custom_code"]["present"] and facts["custom_code"]["auto_map"]
    assert facts["integrity"] == {"checked": 0, "mismatched": [], "unverified": sorted(os.listdir(tmp_path))}
    ev = {e.check: e for e in provenance_evidence(str(tmp_path), facts, {})}
    assert set(ev) == {"provenance-unsafe-format", "provenance-remote-code", "provenance-gated"}
    assert "safetensors weights are also present" in ev["provenance-unsafe-format"].message
    strict = {e.check: e for e in provenance_evidence(str(tmp_path), facts, {"require_pinned": True,
                                                                             "allowed_authors": ["meta-llama"]})}
    assert "provenance-unpinned" in strict
    assert strict["provenance-author"].unknown  # a local dir has no known author: cannot be allow-listed


def test_author_allow_list(fake_hub, hf_home):
    fake_hub.add_model("someorg/tiny", {"README.md": CARD})
    snap = client(fake_hub).snapshot("someorg/tiny")
    facts = provenance_facts(snap, None)
    assert [e.check for e in provenance_evidence("someorg/tiny", facts, {"allowed_authors": ["meta-*", "google"]})] == [
        "provenance-author"]
    assert provenance_evidence("someorg/tiny", facts, {"allowed_authors": ["SomeOrg"]}) == []


def test_check_integrity_unit(tmp_path):
    p = tmp_path / "w"
    p.write_bytes(b"abc")
    good = RepoFile("w", size=3, local_path=str(p), sha256=hashlib.sha256(b"abc").hexdigest())
    bad = RepoFile("w2", size=4, local_path=str(p), sha256=hashlib.sha256(b"abcd").hexdigest())
    gone = RepoFile("w3", local_path=str(tmp_path / "missing"), blob_id="0" * 40)
    out = check_integrity(Snapshot("x", Origin("local", "x"), files=(good, bad, gone)))
    assert out["checked"] == 2
    assert [m["path"] for m in out["mismatched"]] == ["w2", "w3"]
    assert "size 3 instead of 4" in out["mismatched"][0]["reason"]
