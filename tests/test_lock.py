"""mlaudit.lock: written from the fake Hub (huggingface_hub's real client on 127.0.0.1) and from local
snapshots; `check --locked` re-audits from it with the network disabled (HF_HUB_OFFLINE=1, an endpoint
nothing listens on, and no request reaching the fake Hub) and fails on changed files and on a license
that changed in a newer revision of the locked branch."""
from __future__ import annotations

import hashlib
import json
import os

import pytest
from click.testing import CliRunner

from audit.cli import main

MIT = "---\nlicense: mit\n---\n# tiny\n"
MIT_V2 = "---\nlicense: mit\n---\n# tiny, retrained\n"
NC = "---\nlicense: cc-by-nc-4.0\n---\n# tiny, now non-commercial\n"
# a complete MIT license text (the example model's), so the license file itself raises no finding
with open(os.path.join(os.path.dirname(__file__), "..", "examples", "models", "other-license-with-file", "LICENSE"),
          encoding="utf-8") as _fh:
    MIT_TEXT = _fh.read()
NO_NETWORK = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env or {})


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def locked(fake_hub, tmp_path):
    """acme/tiny (MIT) on the fake Hub, locked into tmp_path/mlaudit.lock (which fills the HF cache)."""
    repo = fake_hub.add_model("acme/tiny", {"README.md": MIT, "LICENSE": MIT_TEXT,
                                            "model.safetensors": b"weights"}, lfs={"model.safetensors"})
    lock = tmp_path / "mlaudit.lock"
    res = run("lock", "acme/tiny", "--endpoint", fake_hub.url, "-o", str(lock))
    assert res.exit_code == 0, res.stderr
    return repo, lock


def check_locked(lock, *args):
    res = run("check", "--locked", "--lockfile", str(lock), "--format", "json", *args, env=NO_NETWORK)
    return res, (json.loads(res.stdout) if res.stdout else None)


def test_lock_pins_commit_license_verdict_and_hashes(locked, fake_hub):
    repo, lock = locked
    data = json.loads(lock.read_text())
    assert data["schema"] == "mlaudit.lock/1" and data["policy"]["name"] == "default"
    [entry] = data["models"]
    assert entry == {
        "subject": "acme/tiny",
        "source": "hub",
        "requested": "main",
        "revision": repo.sha,
        "license": {"expression": "MIT", "keys": ["mit"]},
        "effective": {"expression": "MIT", "keys": ["mit"]},
        "verdict": "pass",
        "files": {"LICENSE": sha256(MIT_TEXT), "README.md": sha256(MIT)},
        "lfs": {"model.safetensors": hashlib.sha256(b"weights").hexdigest()},
    }
    # deterministic: writing it again gives the same bytes
    before = lock.read_bytes()
    assert run("lock", "acme/tiny", "--endpoint", fake_hub.url, "-o", str(lock)).exit_code == 0
    assert lock.read_bytes() == before


def test_check_locked_uses_no_network(locked, fake_hub):
    _, lock = locked
    fake_hub.clear_requests()
    res, rep = check_locked(lock)
    assert res.exit_code == 0, res.stderr
    assert fake_hub.requests == []
    assert [(m["subject"], m["source"], m["passed"]) for m in rep["models"]] == [("acme/tiny", "cache", True)]
    assert rep["lock"]["newer_revisions"] == []


def test_locked_detects_a_changed_license_in_a_new_revision(locked, fake_hub):
    repo, lock = locked
    old = repo.sha
    new = fake_hub.add_model("acme/tiny", {"README.md": NC, "LICENSE": MIT_TEXT})  # main moves on
    assert new.sha != old
    # someone downloads the new main (an ordinary online run): the cache now holds both commits
    assert run("check", "acme/tiny", "--endpoint", fake_hub.url).exit_code == 1
    fake_hub.clear_requests()

    res, rep = check_locked(lock)
    assert fake_hub.requests == []
    assert res.exit_code == 1, res.stderr
    # the locked commit is what is audited, and it is still MIT ...
    assert [(m["revision"], m["license"]["keys"]) for m in rep["models"]] == [(old, ["mit"])]
    # ... but the branch it was locked from now carries another license
    drift = [f for f in rep["findings"] if f["rule"] == "license-drift"]
    assert len(drift) == 1 and drift[0]["severity"] == "error" and drift[0]["outcome"] == "fail"
    assert f"main now points to {new.sha[:12]}" in drift[0]["message"]
    assert "cc-by-nc-4.0" in drift[0]["message"] and f"pins {old[:12]} under MIT [mit]" in drift[0]["message"]
    assert drift[0]["evidence"][0]["file"] == "README.md"
    assert rep["lock"]["newer_revisions"] == [{"subject": "acme/tiny", "requested": "main", "locked": old,
                                               "latest": new.sha, "license": ["cc-by-nc-4.0"],
                                               "license_changed": True}]


def test_a_new_revision_under_the_same_license_is_no_finding(locked, fake_hub):
    _, lock = locked
    new = fake_hub.add_model("acme/tiny", {"README.md": MIT_V2, "LICENSE": MIT_TEXT})
    assert run("check", "acme/tiny", "--endpoint", fake_hub.url).exit_code == 0
    res, rep = check_locked(lock)
    assert res.exit_code == 0, res.stderr
    assert not [f for f in rep["findings"] if f["rule"] == "license-drift"]
    assert rep["lock"]["newer_revisions"][0]["latest"] == new.sha
    assert rep["lock"]["newer_revisions"][0]["license_changed"] is False


def test_a_tampered_cache_file_fails_integrity(locked, hf_home):
    repo, lock = locked
    snap = hf_home / "hub" / "models--acme--tiny" / "snapshots" / repo.sha / "README.md"
    target = snap.resolve()
    target.chmod(0o644)
    target.write_text(NC)  # the bytes the lock hashed are not the bytes in the cache any more
    res, rep = check_locked(lock)
    assert res.exit_code == 1
    rules = {f["rule"]: f for f in rep["findings"]}
    assert "does not match mlaudit.lock" in rules["provenance-integrity"]["message"]
    assert "license-drift" in rules and "its files changed" in rules["license-drift"]["message"]


def test_model_not_in_the_cache_is_one_clear_line(locked, hf_home):
    repo, lock = locked
    import shutil

    shutil.rmtree(hf_home / "hub" / "models--acme--tiny")
    res = run("check", "--locked", "--lockfile", str(lock), env=NO_NETWORK)
    assert res.exit_code == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mlaudit: acme/tiny@{repo.sha}: is not in the HF cache")
    assert f"mlaudit check acme/tiny@{repo.sha}" in lines[0]


def _local_model(tmp_path, card=MIT):
    d = tmp_path / "models" / "tiny"
    d.mkdir(parents=True, exist_ok=True)
    (d / "README.md").write_text(card)
    (d / "LICENSE").write_text(MIT_TEXT)
    return d


def test_local_model_edits_are_caught(tmp_path, hf_home, monkeypatch):
    model = _local_model(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run("lock", "models/tiny", "--offline").exit_code == 0
    entry = json.loads((tmp_path / "mlaudit.lock").read_text())["models"][0]
    assert entry["source"] == "local" and entry["path"] == "models/tiny" and entry["subject"] == "models/tiny"
    assert entry["files"] == {"LICENSE": sha256(MIT_TEXT), "README.md": sha256(MIT)}

    res, rep = check_locked(tmp_path / "mlaudit.lock")
    assert res.exit_code == 0 and rep["findings"] == []

    (model / "README.md").write_text(MIT_V2)  # same license, other bytes: the model changed
    res, rep = check_locked(tmp_path / "mlaudit.lock")
    assert res.exit_code == 1
    assert [f["rule"] for f in rep["findings"]] == ["provenance-integrity"]

    (model / "README.md").write_text(NC)  # and now the license changed too
    res, rep = check_locked(tmp_path / "mlaudit.lock")
    drift = [f for f in rep["findings"] if f["rule"] == "license-drift"]
    assert res.exit_code == 1 and len(drift) == 1
    assert "now CC-BY-NC-4.0 [cc-by-nc-4.0]" in drift[0]["message"] and "recorded MIT [mit]" in drift[0]["message"]

    (model / "README.md").unlink()
    (model / "LICENSE").unlink()
    model.rmdir()
    res = run("check", "--locked", env=NO_NETWORK)  # the lockfile in the current directory
    assert res.exit_code == 3 and "models/tiny: does not exist any more" in res.stderr


def test_lock_from_a_scan_and_scan_locked(tmp_path, fake_hub, monkeypatch):
    fake_hub.add_model("acme/tiny", {"README.md": MIT})
    fake_hub.add_model("acme/other", {"README.md": MIT})
    (tmp_path / "app.py").write_text('from transformers import AutoModel\nAutoModel.from_pretrained("acme/tiny")\n')
    monkeypatch.chdir(tmp_path)
    res = run("lock", "--scan", ".", "--endpoint", fake_hub.url)
    assert res.exit_code == 0 and "locked 1 model(s) in mlaudit.lock: 1 pass, 0 fail" in res.stderr
    res = run("scan", ".", "--locked", "--format", "json", "--exclude", "mlaudit.lock", env=NO_NETWORK)
    assert res.exit_code == 0, res.stderr
    rep = json.loads(res.stdout)
    assert [m["subject"] for m in rep["models"]] == ["acme/tiny"] and rep["references"][0]["line"] == 2

    # code that starts using a model nobody locked
    (tmp_path / "more.py").write_text('from transformers import AutoModel\nAutoModel.from_pretrained("acme/other")\n')
    res = run("scan", ".", "--locked", env=NO_NETWORK)
    assert res.exit_code == 3
    assert "mlaudit: acme/other: is referenced in the code but not locked in mlaudit.lock" in res.stderr


def test_lock_is_not_written_when_an_input_is_unreadable(tmp_path, fake_hub):
    fake_hub.add_model("acme/tiny", {"README.md": MIT})
    lock = tmp_path / "mlaudit.lock"
    res = run("lock", "acme/tiny", "acme/missing", "--endpoint", fake_hub.url, "-o", str(lock))
    assert res.exit_code == 3 and not lock.exists()
    assert "acme/missing" in res.stderr and "not written" in res.stderr


def test_bad_lockfiles_are_exit_2_naming_the_file(tmp_path):
    missing = tmp_path / "nope.lock"
    res = run("check", "--locked", "--lockfile", str(missing))
    assert res.exit_code == 2 and f"mlaudit: {missing}: lockfile does not exist" in res.stderr
    bad = tmp_path / "bad.lock"
    bad.write_text('{\n  "schema": "mlaudit.lock/1",\n  "models": [,]\n}\n')
    res = run("check", "--locked", "--lockfile", str(bad))
    assert res.exit_code == 2 and f"mlaudit: {bad}:3: not valid JSON" in res.stderr
    bad.write_text(json.dumps({"schema": "mlaudit.lock/1", "models": [{"subject": "a/b", "source": "hub"}]}))
    res = run("check", "--locked", "--lockfile", str(bad))
    assert res.exit_code == 2 and "models[0]: a Hub or cache model needs the 40-hex commit" in res.stderr
    res = run("check", "--locked", "x", "--lockfile", str(bad))
    assert res.exit_code == 2 and "give no inputs" in res.stderr
