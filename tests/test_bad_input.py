"""Bad input never produces a traceback: one clear line on stderr naming the input, exit code 3."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def run(*args, cwd=None, env=None):
    e = dict(os.environ)
    e.update({"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "PYTHONPATH": ROOT})
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "audit", *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          env=e, timeout=60)


def snapshot(tmp_path, name, card: str | bytes):
    d = tmp_path / name
    d.mkdir()
    p = d / "README.md"
    if isinstance(card, bytes):
        p.write_bytes(card)
    else:
        p.write_text(card, encoding="utf-8")
    return d


def assert_one_clear_line(res, *fragments):
    assert res.returncode == 3, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for frag in fragments:
        assert frag in lines[0], lines[0]


def test_malformed_yaml(tmp_path):
    d = snapshot(tmp_path, "broken", "---\nlicense: mit\ntags: [a, b\nbase_model: x\n---\n# card\n")
    assert_one_clear_line(run("check", str(d)), "broken", "README.md:", "not valid YAML")


def test_alias_bomb(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    d = snapshot(tmp_path, "bomb", "---\n" + "\n".join(lines) + "\nlicense: mit\n---\n")
    assert_one_clear_line(run("check", str(d)), "bomb", "aliases")


def test_fifty_megabyte_card(tmp_path):
    d = tmp_path / "huge"
    d.mkdir()
    with open(d / "README.md", "wb") as fh:
        fh.write(b"---\nlicense: mit\n---\n")
        fh.write(b"x" * (50 * 1024 * 1024))
    assert_one_clear_line(run("check", str(d)), "README.md", "MiB")


def test_binary_file(tmp_path):
    p = tmp_path / "weights.md"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)
    assert_one_clear_line(run("check", str(p)), "weights.md", "binary")


def test_directory_with_no_card(tmp_path):
    d = tmp_path / "empty-model"
    d.mkdir()
    (d / "model.safetensors").write_bytes(b"\x00" * 16)
    assert_one_clear_line(run("check", str(d)), "empty-model", "no model card")


def test_json_files_nested_too_deep_are_ignored_not_an_internal_error(tmp_path):
    # config.json and tokenizer_config.json name no license: one the decoder cannot read is set aside, as
    # malformed JSON is, and the audit goes on from the card (exit 0 here, no traceback)
    d = tmp_path / "deep-config"
    d.mkdir()
    (d / "README.md").write_text("---\nlicense: mit\n---\n# x\n", encoding="utf-8")
    deep = '{"a": ' + "[" * 200_000 + "]" * 200_000 + "}"
    (d / "config.json").write_text(deep, encoding="utf-8")
    (d / "tokenizer_config.json").write_text(deep, encoding="utf-8")
    result = run("check", str(d), "--offline")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_broken_symlink(tmp_path):
    link = tmp_path / "dangling"
    os.symlink(tmp_path / "nowhere", link)
    assert_one_clear_line(run("check", str(link)), "dangling", "broken symbolic link")


def test_broken_symlink_card_inside_snapshot(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    os.symlink(tmp_path / "missing-blob", d / "README.md")
    assert_one_clear_line(run("check", str(d)), "README.md", "broken symbolic link")


def test_nonexistent_path(tmp_path):
    assert_one_clear_line(run("check", str(tmp_path / "does" / "not" / "exist")), "does/not/exist", "does not exist")


@pytest.mark.parametrize("repo_id", ["not a repo!", "org/na..me", "org/-bad", "org--x/name", "org/name@"])
def test_bad_repo_id(repo_id):
    res = run("check", repo_id)
    assert_one_clear_line(res, repo_id)


def test_bad_policy_is_exit_2_with_line(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("name: p\nrules:\n  - id: x\n    severity: loud\n    check: license-unknown\n")
    res = run("check", "examples/models/deepseek-v4-flash", "--policy", str(pol))
    assert res.returncode == 2
    assert res.stderr.strip() == f"mlaudit: {pol}:4: severity must be error, warning or note, not 'loud'"


def test_one_bad_model_does_not_hide_the_others(tmp_path):
    snapshot(tmp_path, "good", "---\nlicense: mit\n---\n# fine\n")
    snapshot(tmp_path, "bad", "---\nlicense: [mit\n---\n")
    res = run("check", str(tmp_path), "--format", "json")
    assert res.returncode == 3
    import json

    rep = json.loads(res.stdout)
    assert [m["subject"] for m in rep["models"]] == [str(tmp_path / "good")]
    assert len(rep["errors"]) == 1 and "bad" in rep["errors"][0]["input"]


def test_a_model_card_md_that_disagrees_with_readme_fails_and_does_not_replace_it(tmp_path):
    d = snapshot(tmp_path, "two-cards", "---\nlicense: mit\n---\n# card\n")
    (d / "MODEL_CARD.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n", encoding="utf-8")
    res = run("check", str(d), "--offline")
    assert res.returncode == 1 and "MODEL_CARD.md declares license 'cc-by-nc-4.0'" in res.stdout, res.stdout


def test_a_duplicate_key_hidden_behind_a_unicode_line_break_fails_at_its_line(tmp_path):
    d = snapshot(tmp_path, "dup", "---\nlicense: mit\u2028license: cc-by-nc-4.0\n---\n# card\n")
    res = run("check", str(d), "--offline")
    assert res.returncode == 1 and "card-duplicate-key" in res.stdout and "README.md:3" in res.stdout, res.stdout


def test_a_deeply_nested_front_matter_is_one_clear_line_or_a_decision(tmp_path):
    d = snapshot(tmp_path, "deep", "---\nlicense: mit\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n")
    res = run("check", str(d), "--offline")
    assert res.returncode in (0, 1, 3) and "Traceback" not in res.stderr, res.stderr
