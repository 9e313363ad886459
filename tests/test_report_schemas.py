"""The shipped JSON Schemas (audit/report/schemas) hold the files mlaudit really writes.

Every file validated here comes from the CLI on real inputs: `check` of the example models, a `scan` of a
small codebase, `--write-baseline`, a baseline-applied run, `lock` of local example dirs and of a model on
the fake Hub, and the `--locked` run that reads it. The negative tests show the schemas are strict: a stray
key or a wrong enum value fails. A schema's `$id` names the version its writer puts in the file, so a change
of shape without a new version shows up here.
"""
from __future__ import annotations

import copy
import json
import os
import shutil

import jsonschema
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import UsageError
from audit.model import AuditReport
from audit.postprocess import baseline as baseline_mod
from audit.postprocess import lock as lock_mod
from audit.report import render
from audit.report.schemas import SCHEMAS, load_schema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EX = os.path.join(ROOT, "examples", "models")
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env if env is not None else OFFLINE)


def errors(name: str, data) -> list[str]:
    schema = load_schema(name)
    cls = jsonschema.Draft202012Validator
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def report_json(*args, codes=(0, 1)) -> dict:
    res = run(*args, "--format", "json", "--offline")
    assert res.exit_code in codes, res.stderr
    return json.loads(res.stdout)


# --- the schemas themselves ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCHEMAS)
def test_schemas_are_valid_draft_2020_12(name):
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name, version", [
    ("report", AuditReport.schema),
    ("lock", lock_mod.SCHEMA),
    ("baseline", baseline_mod.SCHEMA),
])
def test_each_schema_is_pinned_to_the_version_its_writer_emits(name, version):
    """A change of shape is a new version: the writer's version string, the schema's $id and the value the
    schema requires in the file's `schema` key move together."""
    assert (name, version) in {("report", "mlaudit.report/1"), ("lock", "mlaudit.lock/1"),
                               ("baseline", "mlaudit.baseline/1")}
    schema = load_schema(name)
    assert schema["$id"] == f"urn:mlaudit:schema:{version}"
    assert schema["properties"]["schema"] == {"const": version}
    assert schema["required"][0] == "schema"


def test_an_unknown_schema_name_is_a_usage_error():
    with pytest.raises(UsageError) as exc:
        load_schema("policy")
    assert exc.value.input == "policy"


# --- real output validates ----------------------------------------------------------------------------------

def test_check_of_the_examples_validates():
    rep = report_json("check", EX)
    assert rep["schema"] == AuditReport.schema
    assert errors("report", rep) == []
    # the run exercises the schema: lineage, datasets, findings with evidence, obligations, rules
    assert any(m["lineage"] for m in rep["models"]) and any(m["datasets"] for m in rep["models"])
    assert rep["findings"] and all(f["evidence"] for f in rep["findings"]) and rep["obligations"] and rep["rules"]


def test_a_report_with_an_unreadable_input_validates(tmp_path):
    rep = report_json("check", os.path.join(EX, "deepseek-v4-flash"), str(tmp_path / "missing"), codes=(3,))
    assert rep["errors"] and errors("report", rep) == []


def test_scan_with_resolved_and_unresolved_references_validates(tmp_path, hf_home):
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.py").write_text(
        "from transformers import AutoModel\n"
        'a = AutoModel.from_pretrained("acme/local-one")\n'
        "def load(name):\n"
        "    return AutoModel.from_pretrained(name)\n"
    )
    model = tmp_path / "models" / "acme--local-one"
    model.mkdir(parents=True)
    (model / "README.md").write_text("---\nlicense: mit\n---\n# here\n")
    rep = report_json("scan", str(tmp_path), "--models-dir", str(tmp_path / "models"), "--exclude", "models")
    assert {r["model"] for r in rep["references"]} == {"acme/local-one", None}
    assert rep["scan_root"] == str(tmp_path)
    assert any(f["rule"] == "reference-unresolved" for f in rep["findings"])
    assert errors("report", rep) == []


def test_baseline_file_and_the_run_that_applies_it_validate(tmp_path):
    path = tmp_path / "baseline.json"
    first = report_json("check", EX, "--write-baseline", str(path))
    data = json.loads(path.read_text())
    assert data["schema"] == baseline_mod.SCHEMA and data["findings"]
    assert errors("baseline", data) == []
    assert errors("report", first) == []

    rep = report_json("check", EX, "--baseline", str(path))
    assert rep["baseline"]["matched"] == sum(e["count"] for e in data["findings"]) and rep["baseline"]["new"] == 0
    assert errors("report", rep) == []


def test_lock_of_local_example_dirs_and_the_locked_run_validate(tmp_path, hf_home, monkeypatch):
    shutil.copytree(EX, tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    assert run("lock", "models", "--offline", "-o", "mlaudit.lock").exit_code == 0
    data = json.loads((tmp_path / "mlaudit.lock").read_text())
    assert data["schema"] == lock_mod.SCHEMA and {e["source"] for e in data["models"]} == {"local"}
    assert errors("lock", data) == []

    rep = report_json("check", "--locked", "--lockfile", "mlaudit.lock")
    assert rep["lock"]["models"] == len(data["models"])
    assert errors("report", rep) == []


def test_lock_of_a_hub_model_validates(tmp_path, fake_hub):
    fake_hub.add_model("acme/tiny", {"README.md": "---\nlicense: mit\n---\n# tiny\n"})
    lock = tmp_path / "mlaudit.lock"
    assert run("lock", "acme/tiny", "--endpoint", fake_hub.url, "-o", str(lock), env={}).exit_code == 0
    data = json.loads(lock.read_text())
    (entry,) = data["models"]
    assert entry["source"] == "hub" and entry["requested"] == "main"
    assert errors("lock", data) == []


def test_the_sample_report_of_every_optional_section_validates():
    """The hand-built report of tests/test_formats.py: scan references, generated_at, waivers, errors."""
    from test_formats import sample_report

    rep = json.loads(render(sample_report(), "json"))
    assert {"references", "scan_root", "generated_at"} <= set(rep)
    assert errors("report", rep) == []


# --- the schemas are strict ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example_report():
    return report_json("check", EX)


def _broken(data, change):
    data = copy.deepcopy(data)
    change(data)
    return data


@pytest.mark.parametrize("what, change", [
    ("a stray top-level key", lambda r: r.update(extra={"anything": 1})),
    ("a stray key in a finding", lambda r: r["findings"][0].update(score=3)),
    ("a stray key in a model's license", lambda r: r["models"][0]["license"].update(spdx="MIT")),
    ("a severity that is no severity", lambda r: r["findings"][0].update(severity="critical")),
    ("an outcome that is no outcome", lambda r: r["findings"][0].update(outcome="passed")),
    ("a license status that is no status", lambda r: r["models"][0]["license"].update(status="ok")),
    ("an origin source that is no source", lambda r: r["findings"][0]["evidence"][0].update(source="web")),
    ("another schema version", lambda r: r.update(schema="mlaudit.report/2")),
    ("a missing required key", lambda r: r.pop("obligations")),
    ("references without scan_root", lambda r: r.update(references=[])),
])
def test_the_report_schema_rejects(example_report, what, change):
    assert errors("report", example_report) == []
    assert errors("report", _broken(example_report, change)), what


def test_the_lock_and_baseline_schemas_reject_what_their_readers_would_not_write(tmp_path):
    lock = {"schema": "mlaudit.lock/1", "policy": {"name": "default", "sha256": "0" * 64}, "models": [{
        "subject": "acme/tiny", "source": "hub", "requested": "main", "revision": "a" * 40,
        "license": {"expression": "MIT", "keys": ["mit"]}, "effective": {"expression": "MIT", "keys": ["mit"]},
        "verdict": "pass", "files": {"README.md": "b" * 64}, "lfs": {}}]}
    assert errors("lock", lock) == []
    for change in (
        lambda d: d["models"][0].pop("revision"),  # a Hub model must be pinned
        lambda d: d["models"][0].update(revision="main"),
        lambda d: d["models"][0].update(path="models/tiny"),  # a Hub entry has no path
        lambda d: d["models"][0].update(verdict="passed"),
        lambda d: d["models"][0].update(source="web"),
        lambda d: d.update(generated="today"),
    ):
        assert errors("lock", _broken(lock, change))

    baseline = {"schema": "mlaudit.baseline/1", "findings": [
        {"fingerprint": "c" * 32, "rule": "non-commercial", "subject": "acme/x", "message": "m", "count": 1}]}
    assert errors("baseline", baseline) == []
    for change in (
        lambda d: d["findings"][0].update(count=0),
        lambda d: d["findings"][0].update(severity="error"),
        lambda d: d.update(schema="mlaudit.baseline/2"),
    ):
        assert errors("baseline", _broken(baseline, change))
