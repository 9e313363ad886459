"""`mlaudit check` on Hub repo ids and on the local HF cache, through huggingface_hub's real client
talking to the fake Hub on 127.0.0.1."""
from __future__ import annotations

import json

from click.testing import CliRunner

from audit.cli import main

LLAMA_FT = b"---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B-Instruct\n---\n# support bot\n"
MIT_CARD = b"---\nlicense: mit\n---\n# DeepSeek-V4-Flash\n"


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env or {})


def test_hub_repo_pinned_to_resolved_commit(fake_hub):
    repo = fake_hub.add_model("deepseek-ai/DeepSeek-V4-Flash", {"README.md": MIT_CARD, "LICENSE": b"MIT License\n"})
    res = run("check", "deepseek-ai/DeepSeek-V4-Flash@main", "--endpoint", fake_hub.url, "--format", "json")
    assert res.exit_code == 0, res.stderr
    rep = json.loads(res.stdout)
    m = rep["models"][0]
    assert m["subject"] == "deepseek-ai/DeepSeek-V4-Flash"
    assert m["revision"] == repo.sha and len(m["revision"]) == 40
    assert m["license"]["keys"] == ["mit"]
    downloads = [r.path for r in fake_hub.requests_for("deepseek-ai/DeepSeek-V4-Flash", "GET") if "/resolve/" in r.path]
    assert downloads and all(f"/resolve/{m['revision']}/" in p for p in downloads)


def test_hub_derivative_fails_on_lineage(fake_hub):
    fake_hub.add_model("acme/support-bot", {"README.md": LLAMA_FT})
    res = run("check", "acme/support-bot", "--endpoint", fake_hub.url, "--format", "json")
    assert res.exit_code == 1
    rep = json.loads(res.stdout)
    assert "lineage-conflict" in {f["rule"] for f in rep["findings"]}


def test_hub_errors_are_one_line_exit_3(fake_hub):
    fake_hub.add_model("acme/gated", {"README.md": MIT_CARD}, gated="manual")
    for spec, fragment in [("acme/missing", "not found"), ("acme/gated", "gated")]:
        res = run("check", spec, "--endpoint", fake_hub.url)
        assert res.exit_code == 3, (spec, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and spec in lines[0] and fragment in lines[0], res.stderr


def test_token_never_printed(fake_hub):
    secret = "hf_SECRETtoken1234567890"
    res = run("check", "acme/missing", "--endpoint", fake_hub.url, env={"HF_TOKEN": secret})
    assert res.exit_code == 3
    assert secret not in res.stdout + res.stderr


def test_hf_cache_audits_every_cached_model(fake_hub, hf_home):
    fake_hub.add_model("deepseek-ai/DeepSeek-V4-Flash", {"README.md": MIT_CARD})
    fake_hub.add_model("acme/support-bot", {"README.md": LLAMA_FT})
    from huggingface_hub import hf_hub_download

    for repo in ("deepseek-ai/DeepSeek-V4-Flash", "acme/support-bot"):
        hf_hub_download(repo, "README.md", endpoint=fake_hub.url, cache_dir=str(hf_home / "hub"))
    res = run("check", "--hf-cache", "--offline", "--format", "json")
    assert res.exit_code == 1, res.stderr
    rep = json.loads(res.stdout)
    subjects = {m["subject"]: m for m in rep["models"]}
    assert set(subjects) == {"deepseek-ai/DeepSeek-V4-Flash", "acme/support-bot"}
    assert all(m["source"] == "cache" and m["revision"] for m in subjects.values())
    assert not subjects["acme/support-bot"]["passed"] and subjects["deepseek-ai/DeepSeek-V4-Flash"]["passed"]


def test_registry_update_command(fake_hub, tmp_path):
    fake_hub.add_model("acme/new-model", {"README.md": b"---\nlicense: llama3.2\nbase_model: meta-llama/Llama-3.2-1B\n---\n"})
    reg = tmp_path / "reg"
    res = run("registry", "update", "acme/new-model", "ghost/none", "--endpoint", fake_hub.url, "--dir", str(reg))
    assert res.exit_code == 0, res.stderr
    assert "wrote" in res.stdout and "1 entries" in res.stdout and "1 could not be read" in res.stdout
    assert "ghost/none" in res.stderr
    assert "llama3.2" in (reg / "models.yaml").read_text()


def test_empty_hf_cache_is_one_clear_line(hf_home):
    res = run("check", "--hf-cache", "--offline")
    assert res.exit_code == 3
    assert res.stderr.strip() == f"mlaudit: {hf_home / 'hub'}: the HF cache holds no model repos to audit"
