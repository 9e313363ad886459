"""Baseline: an existing codebase records its findings once; afterwards only new findings fail. Entries match
by rule + subject + message (not the line), with a count, and baselined findings stay visible as waived."""
from __future__ import annotations

import json
import os
import shutil

from click.testing import CliRunner

from audit.cli import main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EX = os.path.join(ROOT, "examples", "models")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"HF_HUB_OFFLINE": "1"})


def unresolved_calls(n: int, pad: int = 0) -> str:
    calls = "".join(f"def f{i}(name):\n    return AutoModel.from_pretrained(name)\n\n" for i in range(n))
    return "\n" * pad + "from transformers import AutoModel\n\n" + calls


def test_only_new_findings_fail(tmp_path):
    models = tmp_path / "models"
    for name in ("cc-by-nc-summarizer", "deepseek-v4-flash"):
        shutil.copytree(os.path.join(EX, name), models / name)
    baseline = tmp_path / "baseline.json"
    res = run("check", str(models), "--offline", "--write-baseline", str(baseline), "--format", "json")
    assert res.exit_code == 0, res.stderr  # the run that records the baseline passes under it
    assert "wrote" in res.stderr and "finding(s) recorded" in res.stderr
    data = json.loads(baseline.read_text())
    assert data["schema"] == "mlaudit.baseline/1"
    assert {(e["rule"], os.path.basename(e["subject"])) for e in data["findings"]} >= {("non-commercial", "cc-by-nc-summarizer")}
    assert data["findings"] == sorted(data["findings"], key=lambda e: (e["subject"], e["rule"], e["message"], e["fingerprint"]))

    res = run("check", str(models), "--offline", "--format", "json")
    assert res.exit_code == 1  # without the baseline the old findings still fail
    res = run("check", str(models), "--offline", "--baseline", str(baseline), "--format", "json")
    rep = json.loads(res.stdout)
    assert res.exit_code == 0 and rep["passed"] is True
    nc = [f for f in rep["findings"] if f["rule"] == "non-commercial"]
    assert nc and all(f["outcome"] == "waived" and f["waiver"] == f"in baseline {baseline}" for f in nc)
    assert rep["baseline"] == {"path": str(baseline), "matched": len(rep["findings"]), "new": 0, "stale": 0}

    shutil.copytree(os.path.join(EX, "no-license-tagger"), models / "no-license-tagger")  # a new problem
    res = run("check", str(models), "--offline", "--baseline", str(baseline), "--format", "json")
    rep = json.loads(res.stdout)
    assert res.exit_code == 1
    failing = {(os.path.basename(f["subject"]), f["rule"]) for f in rep["findings"] if f["outcome"] != "waived"}
    assert failing and {s for s, _ in failing} == {"no-license-tagger"}
    assert rep["baseline"]["new"] == sum(1 for f in rep["findings"] if f["outcome"] != "waived")

    shutil.rmtree(models / "cc-by-nc-summarizer")  # a fixed problem leaves stale entries behind, harmlessly
    shutil.rmtree(models / "no-license-tagger")
    rep = json.loads(run("check", str(models), "--offline", "--baseline", str(baseline), "--format", "json").stdout)
    assert rep["passed"] is True and rep["baseline"]["stale"] >= 1


def test_entries_survive_line_moves_and_count_occurrences(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(unresolved_calls(2))
    baseline = tmp_path / ".mlaudit-baseline.json"
    assert run("scan", str(tmp_path), "--write-baseline", str(baseline), "--exclude", baseline.name).exit_code == 0
    [entry] = json.loads(baseline.read_text())["findings"]
    assert entry["rule"] == "reference-unresolved" and entry["subject"] == "app.py" and entry["count"] == 2

    app.write_text(unresolved_calls(2, pad=5))  # the same code, five lines lower
    res = run("scan", str(tmp_path), "--baseline", str(baseline), "--exclude", baseline.name)
    assert res.exit_code == 0, res.stdout

    app.write_text(unresolved_calls(3))  # a third unresolved load in the same file is new
    res = run("scan", str(tmp_path), "--baseline", str(baseline), "--exclude", baseline.name, "--format", "json")
    rep = json.loads(res.stdout)
    assert res.exit_code == 1
    assert [f["outcome"] for f in rep["findings"]] == ["waived", "waived", "unknown"]
    assert rep["baseline"] == {"path": str(baseline), "matched": 2, "new": 1, "stale": 0}


def test_baselined_findings_are_suppressed_not_dropped_in_sarif(tmp_path):
    (tmp_path / "app.py").write_text(unresolved_calls(1))
    baseline = tmp_path / "b.json"
    res = run("scan", str(tmp_path), "--write-baseline", str(baseline), "--exclude", "b.json", "--format", "sarif")
    assert res.exit_code == 0
    [result] = json.loads(res.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "reference-unresolved"
    assert result["suppressions"][0]["status"] == "accepted" and "in baseline" in result["suppressions"][0]["justification"]


def test_baseline_file_is_deterministic_and_hand_edits_still_match(tmp_path):
    (tmp_path / "app.py").write_text(unresolved_calls(1))
    b1, b2 = tmp_path / "b1.json", tmp_path / "b2.json"
    run("scan", str(tmp_path / "app.py"), "--write-baseline", str(b1))
    run("scan", str(tmp_path / "app.py"), "--write-baseline", str(b2))
    assert b1.read_bytes() == b2.read_bytes()
    data = json.loads(b1.read_text())
    data["findings"][0]["fingerprint"] = "edited-by-hand"  # the fingerprint is recomputed from rule/subject/message
    b1.write_text(json.dumps(data))
    assert run("scan", str(tmp_path / "app.py"), "--baseline", str(b1)).exit_code == 0


def test_bad_baseline_is_exit_2_naming_the_file(tmp_path):
    (tmp_path / "app.py").write_text(unresolved_calls(1))
    missing = tmp_path / "missing.json"
    res = run("scan", str(tmp_path / "app.py"), "--baseline", str(missing))
    assert res.exit_code == 2 and f"mlaudit: {missing}: baseline file does not exist" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "mlaudit.baseline/1",\n "findings": [}\n')
    res = run("scan", str(tmp_path / "app.py"), "--baseline", str(bad))
    assert res.exit_code == 2 and f"mlaudit: {bad}:2: not valid JSON" in res.stderr
    bad.write_text('{"schema": "something-else", "findings": []}')
    res = run("scan", str(tmp_path / "app.py"), "--baseline", str(bad))
    assert res.exit_code == 2 and "not an mlaudit baseline" in res.stderr
    bad.write_text('{"schema": "mlaudit.baseline/1", "findings": [{"rule": "x", "subject": "y", "message": "z", "count": 0}]}')
    res = run("scan", str(tmp_path / "app.py"), "--baseline", str(bad))
    assert res.exit_code == 2 and "findings[0]: count must be a positive whole number" in res.stderr
