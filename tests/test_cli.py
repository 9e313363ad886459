"""The CLI end to end on the shipped examples: verdicts, exit codes, the JSON contract, explain, validate."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner

from audit import __version__
from audit.cli import main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EX = os.path.join(ROOT, "examples", "models")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"HF_HUB_OFFLINE": "1"})


def check_json(*paths, policy=None):
    args = ["check", *paths, "--format", "json", "--offline"]
    if policy:
        args += ["--policy", policy]
    res = run(*args)
    return res.exit_code, json.loads(res.stdout)


def test_version():
    res = run("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"mlaudit {__version__}"


def test_mit_model_passes_commercial_policy():
    code, rep = check_json(os.path.join(EX, "deepseek-v4-flash"), policy=os.path.join(ROOT, "policies", "commercial.yaml"))
    assert code == 0 and rep["passed"] is True
    m = rep["models"][0]
    assert m["license"] == {**m["license"], "expression": "MIT", "keys": ["mit"], "status": "resolved"}
    assert any(o["kind"] == "include-license" and o["key"] == "mit" for o in rep["obligations"])


def test_json_contract_fields():
    code, rep = check_json(EX)
    assert code == 1
    assert rep["schema"] == "mlaudit.report/1"
    assert rep["tool"] == {"name": "mlaudit", "version": __version__}
    assert set(rep["policy"]) >= {"name", "sha256"} and rep["policy"]["name"] == "default"
    assert rep["passed"] is False
    for m in rep["models"]:
        assert set(m) >= {"subject", "revision", "declared", "license", "effective", "lineage", "datasets"}
        assert set(m["declared"]) >= {"license", "license_name", "license_link"}
        assert set(m["license"]) >= {"expression", "keys", "status"}
        assert set(m["effective"]) >= {"expression", "keys"}
        for a in m["lineage"]:
            assert set(a) >= {"subject", "relation", "keys"}
    for f in rep["findings"]:
        assert set(f) >= {"rule", "severity", "outcome", "subject", "message", "remediation", "evidence"}
        for e in f["evidence"]:
            assert set(e) >= {"source", "file", "line"}
    for o in rep["obligations"]:
        assert set(o) >= {"subject", "key", "kind", "text"}
    assert rep["errors"] == []


def _model(rep, name):
    return next(m for m in rep["models"] if m["subject"].endswith(name))


def _rules(rep, name):
    return {f["rule"] for f in rep["findings"] if f["subject"].endswith(name) and f["outcome"] != "waived"}


def test_examples_verdicts():
    code, rep = check_json(EX)
    assert code == 1
    verdict = {os.path.basename(m["subject"]): m["passed"] for m in rep["models"]}
    assert verdict == {
        "cc-by-nc-summarizer": False,
        "deepseek-v4-flash": True,
        "deepseek-v4-flash-gguf": True,
        "gemma-2-9b-support-agent": True,
        "llama-3.1-8b-support-apache": False,
        "no-license-tagger": False,
        "other-license-with-file": True,
    }
    assert "lineage-conflict" in _rules(rep, "llama-3.1-8b-support-apache")
    assert "lineage-name-prefix" in _rules(rep, "llama-3.1-8b-support-apache")
    llama = _model(rep, "llama-3.1-8b-support-apache")
    assert "llama3.1" in llama["effective"]["keys"]
    assert llama["lineage"][0]["subject"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "non-commercial" in _rules(rep, "cc-by-nc-summarizer")
    assert "license-unknown" in _rules(rep, "no-license-tagger")
    other = _model(rep, "other-license-with-file")
    assert other["license"]["keys"] == ["mit"]
    gemma = _model(rep, "gemma-2-9b-support-agent")
    assert any(o["kind"] == "pass-use-restrictions" for o in rep["obligations"] if o["subject"] == gemma["subject"])


def test_text_report_and_output_file(tmp_path):
    out = tmp_path / "r.txt"
    res = run("check", EX, "--offline", "-o", str(out))
    assert res.exit_code == 1 and res.stdout == ""
    text = out.read_text()
    assert "FAIL" in text and "PASS" in text and "lineage-conflict" in text
    assert "FAILED: 7 model(s)" in text


def test_every_format_renders(tmp_path):
    from audit.report import FORMATS

    for fmt in FORMATS:
        res = run("check", os.path.join(EX, "llama-3.1-8b-support-apache"), "--offline", "--format", fmt)
        assert res.exit_code == 1, (fmt, res.stdout[-500:], res.stderr)
        assert res.stdout.strip(), fmt


def test_explain():
    res = run("explain", "llama3.1")
    assert res.exit_code == 0
    assert "700000000" in res.stdout and "Llama" in res.stdout
    res = run("explain", "Apache 2.0", "--format", "json")
    assert json.loads(res.stdout)["key"] == "apache-2.0"
    res = run("explain", "no-such-license")
    assert res.exit_code == 2 and "not a license mlaudit knows" in res.stderr


def test_policy_validate(tmp_path):
    res = run("policy", "validate", os.path.join(ROOT, "policies", "commercial.yaml"))
    assert res.exit_code == 0 and "ok" in res.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - {id: x, severity: error, when: {term: nonsense}}\n")
    res = run("policy", "validate", str(bad))
    assert res.exit_code == 2 and f"{bad}:3:" in res.stderr


def test_no_inputs_is_usage_error():
    res = run("check")
    assert res.exit_code == 2


def test_library_api():
    import audit

    report = audit.audit([os.path.join(EX, "cc-by-nc-summarizer")], policy=os.path.join(ROOT, "policies", "research.yaml"),
                         offline=True)
    assert report.passed
    report = audit.audit([os.path.join(EX, "cc-by-nc-summarizer")], offline=True)
    assert not report.passed


def test_identify_command(tmp_path):
    lic = os.path.join(ROOT, "tests", "fixtures", "licenses", "corpus", "licenses")
    files = [os.path.join(lic, "llama3.1.txt"), os.path.join(lic, "nvidia-open-model-license-url-only.txt")]
    res = run("identify", *files, "--format", "json")
    assert res.exit_code == 0, res.stderr
    rows = json.loads(res.stdout)
    by_file = {r["file"]: r for r in rows}
    assert by_file[files[0]]["key"] == "llama3.1" and by_file[files[0]]["verdict"] == "exact"
    assert by_file[files[1]]["verdict"] == "stub"
    assert set(rows[0]) >= {"file", "key", "version", "confidence", "verdict", "details"}
    res = run("identify", files[0])
    assert res.exit_code == 0 and "llama3.1" in res.stdout and "exact" in res.stdout
    res = run("identify", str(tmp_path / "missing.txt"))
    assert res.exit_code == 3 and "missing.txt" in res.stderr
