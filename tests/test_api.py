"""The public library API (audit.api) and the one input router, driven the way the CLI drives them."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

import audit
from audit import api
from audit.cli import main
from audit.errors import AuditError
from audit.model import AuditReport, Snapshot, SourceKind
from audit.sources.router import InputKind, Router, classify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples", "models")
MIT_CARD = "---\nlicense: mit\n---\n# tiny\n"


def test_public_api_is_declared_and_typed():
    assert set(api.__all__) >= {"Options", "audit", "scan", "render", "load_policy", "audit_locked", "lock"}
    for name in api.__all__:
        assert hasattr(api, name), name
    assert audit.audit is api.audit and audit.scan is api.scan and audit.render is api.render
    assert os.path.exists(os.path.join(ROOT, "audit", "py.typed"))


def test_unknown_option_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="online"):
        api.Options(online=False)
    with pytest.raises(TypeError, match="colour"):
        audit.audit([EX], colour=True)
    with pytest.raises(TypeError, match="not both"):
        audit.audit([EX], options=api.Options(), offline=True)


def test_options_are_frozen_and_offline_reads_as_expected(monkeypatch):
    opts = api.Options(offline=True, models_dirs=["a", "b"])
    assert opts.is_offline and opts.models_dirs == ("a", "b")
    with pytest.raises(AttributeError):
        opts.offline = False  # type: ignore[misc]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert api.Options().is_offline and not api.Options(offline=False).is_offline
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert not api.Options().is_offline


def test_readme_three_line_example(tmp_path):
    report = audit.audit([EX], policy=os.path.join(ROOT, "policies", "commercial.yaml"), offline=True)
    assert isinstance(report, AuditReport) and not report.passed
    assert {m.subject for m in report.models} >= {os.path.join(EX, "deepseek-v4-flash")}
    text = audit.render(report, "markdown")
    assert isinstance(text, str) and "deepseek-v4-flash" in text
    code = tmp_path / "app.py"
    code.write_text('from transformers import AutoModel\nAutoModel.from_pretrained(name)\n')
    scanned = audit.scan(str(tmp_path), offline=True)
    assert scanned.scan is not None and scanned.scan.root == str(tmp_path)
    assert [f.rule for f in scanned.findings] == ["reference-unresolved"] and not scanned.passed


@pytest.mark.parametrize(("spec", "kind"), [
    ("acme/tiny", InputKind.REPO),
    ("gpt2", InputKind.REPO),
    ("acme/tiny@v1", InputKind.REPO),
    ("https://huggingface.co/acme/tiny", InputKind.REPO),
    ("https://huggingface.co/acme/tiny/tree/v1", InputKind.REPO),
    ("hf.co/acme/tiny", InputKind.REPO),
    ("./tiny", InputKind.PATH),
    ("card.md", InputKind.PATH),
    ("a/b/c", InputKind.PATH),
    ("/no/such/dir", InputKind.PATH),
])
def test_router_classifies_inputs(spec, kind):
    assert classify(spec) is kind


def test_an_existing_path_is_a_path_even_when_it_looks_like_a_repo_id(tmp_path, monkeypatch):
    (tmp_path / "acme" / "tiny").mkdir(parents=True)
    (tmp_path / "acme" / "tiny" / "README.md").write_text(MIT_CARD)
    monkeypatch.chdir(tmp_path)
    assert classify("acme/tiny") is InputKind.PATH
    [snap] = Router().read("acme/tiny")
    assert isinstance(snap, Snapshot) and snap.origin.source == SourceKind.LOCAL


def test_hub_urls_go_to_the_hub_through_the_cli(fake_hub):
    fake_hub.add_model("acme/tiny", {"README.md": MIT_CARD}, revisions={"v1": {"README.md": MIT_CARD}})
    for spec in ("https://huggingface.co/acme/tiny", f"{fake_hub.url}/acme/tiny".replace(fake_hub.url, "hf.co"),
                 "https://huggingface.co/acme/tiny/tree/v1"):
        res = CliRunner().invoke(main, ["check", spec, "--endpoint", fake_hub.url, "--format", "json",
                                        "--no-lineage"])
        assert res.exit_code == 0, (spec, res.output)
        [model] = json.loads(res.stdout)["models"]
        assert model["subject"] == "acme/tiny" and model["source"] == "hub" and len(model["revision"]) == 40


def test_offline_repo_ids_come_from_models_dirs_and_never_the_hub(tmp_path, fake_hub):
    d = tmp_path / "models" / "acme--tiny"
    d.mkdir(parents=True)
    (d / "README.md").write_text(MIT_CARD)
    report = audit.audit(["acme/tiny"], models_dirs=[str(tmp_path / "models")], offline=True,
                         endpoint=fake_hub.url)
    assert [m.subject for m in report.models] == ["acme/tiny"] and report.passed
    missing = audit.audit(["acme/other"], offline=True, endpoint=fake_hub.url)
    assert not missing.passed and "forbids the Hub" in missing.errors[0].message
    assert fake_hub.requests == []


def test_one_bad_input_does_not_hide_the_others(tmp_path):
    loaded = Router().read_all([os.path.join(EX, "deepseek-v4-flash"), str(tmp_path / "missing")])
    assert isinstance(loaded[0][1], Snapshot)
    assert isinstance(loaded[1][1], AuditError) and loaded[1][0] == str(tmp_path / "missing")


def test_lock_and_locked_audit_through_the_api(tmp_path):
    model = tmp_path / "m"
    shutil.copytree(os.path.join(EX, "deepseek-v4-flash"), model)
    result = audit.lock([str(model)], lockfile=str(tmp_path / "mlaudit.lock"), offline=True)
    assert result.lockfile is not None and len(result.lockfile.entries) == 1
    again = audit.audit_locked(str(tmp_path / "mlaudit.lock"))
    assert again.lock is not None and again.lock.models == 1
    assert not [f for f in again.findings if f.rule in ("provenance-integrity", "license-drift")]
    with open(model / "README.md", "a", encoding="utf-8") as fh:
        fh.write("\nedited\n")
    drifted = audit.audit_locked(str(tmp_path / "mlaudit.lock"))
    assert "provenance-integrity" in {f.rule for f in drifted.findings} and not drifted.passed


def test_postprocessors_do_not_call_back_into_the_pipeline():
    # lock and baseline transform inputs or reports; the pipeline calls them, never the reverse
    for name in ("lock.py", "baseline.py"):
        with open(os.path.join(ROOT, "audit", "postprocess", name), encoding="utf-8") as fh:
            text = fh.read()
        assert "audit.api" not in text and "from audit import api" not in text, name


def test_sources_do_not_import_each_other_in_a_cycle():
    import ast

    def imports(name: str) -> set[str]:
        with open(os.path.join(ROOT, "audit", "sources", f"{name}.py"), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}

    assert "audit.sources.hub" not in imports("cache")
    assert "audit.sources.hub" not in imports("local") and "audit.sources.cache" not in imports("local")


def test_offline_registry_models_are_audited_from_its_facts(fake_hub):
    report = audit.audit(["meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1"], offline=True,
                         endpoint=fake_hub.url)
    assert not report.errors and fake_hub.requests == []
    by = {m.subject: m for m in report.models}
    llama = by["meta-llama/Llama-3.1-8B-Instruct"]
    assert llama.origin.source == SourceKind.REGISTRY and llama.license.keys == ("llama3.1",)
    notes = [f for f in report.findings if f.rule == "card-not-read"]
    assert {f.subject for f in notes} == set(by) and all(f.severity.value == "note" for f in notes)
    assert "card and files were not read" in notes[0].message
    res = CliRunner().invoke(main, ["check", "meta-llama/Llama-3.1-8B-Instruct", "--offline", "-f", "json"])
    [model] = json.loads(res.stdout)["models"]
    assert model["source"] == "registry" and res.exit_code == 0


def test_offline_unknown_repo_suggests_fetching_only_card_and_license_files(hf_home):
    report = audit.audit(["acme/not-a-registry-model@v2"], offline=True)
    [error] = report.errors
    assert "hf download acme/not-a-registry-model --revision v2 --include" in error.message
    assert "LICENSE*" in error.message


def test_an_unreachable_hub_is_said_once_with_the_offline_hint(hf_home):
    res = CliRunner().invoke(main, ["check", "acme/a", "acme/b", "acme/c", "--endpoint", "http://127.0.0.1:9",
                                    "--no-lineage"])
    assert res.exit_code == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlaudit: 3 inputs (acme/a, acme/b, acme/c): cannot reach")
    assert "--offline" in lines[0]


def test_a_license_file_the_hub_lists_but_too_big_to_read_fails_closed(fake_hub):
    fake_hub.add_model("acme/big", {"README.md": MIT_CARD, "LICENSE": "terms " * 200_000})
    report = audit.audit(["acme/big"], endpoint=fake_hub.url, lineage=False)
    assert [f.rule for f in report.findings if f.rule == "file-unreadable"] == ["file-unreadable"]
    assert not report.passed


def test_require_pinned_means_a_commit_sha_in_the_input_not_a_resolved_branch(fake_hub):
    from audit.policy.schema import parse_policy

    repo = fake_hub.add_model("acme/tiny", {"README.md": MIT_CARD})
    policy = parse_policy("name: p\nextends: default\nsettings: {require_pinned: true}\n"
                          "rules:\n  - {id: provenance-unpinned, severity: error}\n", "p.yaml")
    branch = audit.audit(["acme/tiny"], policy, endpoint=fake_hub.url, lineage=False)
    assert [f.rule for f in branch.findings if f.rule == "provenance-unpinned"] == ["provenance-unpinned"]
    assert not branch.passed
    sha = branch.models[0].revision
    pinned = audit.audit([f"acme/tiny@{sha}"], policy, endpoint=fake_hub.url, lineage=False)
    assert not [f for f in pinned.findings if f.rule == "provenance-unpinned"] and pinned.passed
    assert repo is not None
