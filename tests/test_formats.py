"""Machine report formats rendered from one realistic AuditReport, each validated against its schema.

The sample report is built from the core dataclasses directly: a Llama 3.1 fine-tune that declares
apache-2.0 (lineage conflict, an undecided dataset, a waived naming rule), an MIT DeepSeek model that
passes, a CC-BY-NC model that fails on non-commercial terms, and one input that could not be read.
Schemas: tests/schemas/README.md says where each comes from. The validators (jsonschema, xmlschema,
cyclonedx-python-lib[json-validation], spdx-tools) are required test dependencies, never skipped.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import xml.etree.ElementTree as ET

from audit.model import (
    Ancestor,
    AuditReport,
    DatasetFacts,
    Declaration,
    Effective,
    Finding,
    InputError,
    LicenseFacts,
    Lineage,
    ModelCard,
    ModelResult,
    Obligation,
    Origin,
    Outcome,
    Reference,
    ScanInfo,
    Severity,
    Status,
)
from audit.report import RenderOptions, junit, markdown, notices, sarif

SCHEMAS = os.path.join(os.path.dirname(__file__), "schemas")

FT = "acme/llama-3.1-8b-support-ft"
FT_REV = "5f0b02c75b57c5855da9ae460ce51323ea669d8a"
LLAMA = "meta-llama/Llama-3.1-8B"
DS = "deepseek-ai/DeepSeek-R1"
DS_REV = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
NC = "CohereForAI/aya-23-8B"
NC_REV = "2a1a63b24af8f591616fdf58936ee576d63ca835"
DATASET = "acme/support-tickets"
WAIVER = "internal-only | not distributed <approved by legal> (LEGAL-1234), expires 2026-12-31"


def _facts(value: str, key: str, expression: str, origin: Origin) -> LicenseFacts:
    decl = Declaration("front-matter", value, (key,), origin, expression=expression)
    return LicenseFacts((decl,), expression, (key,), Status.RESOLVED)


def _card(origin: Origin, license: str, base_models=(), datasets=()) -> ModelCard:
    return ModelCard(
        origin=origin, front_matter={"license": license}, license=(license,), license_name=None,
        license_link=None, base_models=tuple(base_models), base_model_relation=None, datasets=tuple(datasets),
        tags=(), gated=None, body="# Model\n", body_line=12,
        field_lines={"license": 3, "base_model": 5, "datasets": 9},
    )


def sample_report(*, references=None) -> AuditReport:
    ft_card = Origin("hub", FT, FT_REV, "README.md")
    llama_card = Origin("hub", LLAMA, "d04e592bb4f6aa9cfee91e2e20afa771667e1d4b", "README.md")
    ds_card = Origin("hub", DS, DS_REV, "README.md")
    nc_card = Origin("hub", NC, NC_REV, "README.md")

    llama_facts = _facts("llama3.1", "llama3.1", "LicenseRef-llama3.1", llama_card.at(line=5, field="license"))
    ft = ModelResult(
        subject=FT, revision=FT_REV, origin=Origin("hub", FT, FT_REV),
        card=_card(ft_card, "apache-2.0", [LLAMA], [DATASET]),
        license=_facts("apache-2.0", "apache-2.0", "Apache-2.0", ft_card.at(line=3, field="license")),
        lineage=Lineage(FT, "finetune", (
            Ancestor(LLAMA, FT, "finetune", 1, llama_facts, "hub", evidence=(ft_card.at(line=5, field="base_model"),)),
        )),
        effective=Effective("Apache-2.0 AND LicenseRef-llama3.1", ("apache-2.0", "llama3.1"), True,
                            {"apache-2.0": FT, "llama3.1": LLAMA}),
        datasets=(DatasetFacts(DATASET, (), Status.UNKNOWN, None, ft_card.at(line=9, field="datasets")),),
        passed=False,
    )
    ds = ModelResult(
        subject=DS, revision=DS_REV, origin=Origin("hub", DS, DS_REV), card=_card(ds_card, "mit"),
        license=_facts("mit", "mit", "MIT", ds_card.at(line=3, field="license")),
        lineage=Lineage(DS, None), effective=Effective("MIT", ("mit",)), passed=True,
    )
    nc = ModelResult(
        subject=NC, revision=NC_REV, origin=Origin("hub", NC, NC_REV), card=_card(nc_card, "cc-by-nc-4.0"),
        license=_facts("cc-by-nc-4.0", "cc-by-nc-4.0", "CC-BY-NC-4.0", nc_card.at(line=4, field="license")),
        lineage=Lineage(NC, None), effective=Effective("CC-BY-NC-4.0", ("cc-by-nc-4.0",)),
        datasets=(DatasetFacts("CohereForAI/aya_dataset", ("apache-2.0",), Status.RESOLVED, "hub", nc_card),),
        passed=False,
    )
    findings = (
        Finding("lineage-conflict", Severity.ERROR, Outcome.FAIL, FT,
                f"declares Apache-2.0, but its base model {LLAMA} is under llama3.1, whose terms carry over",
                remediation="Declare the llama3.1 license (license: llama3.1) and keep its terms.",
                evidence=(ft_card.at(line=3, field="license"), llama_card.at(line=5, field="license")),
                check="lineage-conflict"),
        Finding("dataset-license", Severity.WARNING, Outcome.UNKNOWN, FT,
                f"the license of training dataset {DATASET} could not be determined",
                remediation="Give the dataset card a license, or waive this finding with a reason.",
                evidence=(ft_card.at(line=9, field="datasets"),), check="dataset-license"),
        Finding("lineage-name-prefix", Severity.WARNING, Outcome.WAIVED, FT,
                'a distributed derivative of llama3.1 must have a name starting with "Llama"',
                remediation='Rename the model so that its name starts with "Llama".',
                evidence=(ft_card,), check="lineage-name-prefix", waiver=WAIVER),
        Finding("non-commercial", Severity.ERROR, Outcome.FAIL, NC,
                "license cc-by-nc-4.0 forbids commercial use",
                remediation="Use the model only for non-commercial purposes, or pick a model whose license "
                            "allows commercial use.",
                evidence=(nc_card.at(line=4, field="license"),)),
    )
    via = LLAMA
    obligations = (
        Obligation(FT, "apache-2.0", "include-license",
                   "Include a copy of the Apache License 2.0 with every copy of the model you distribute."),
        Obligation(FT, "llama3.1", "include-license",
                   "Include a copy of the Llama 3.1 Community License Agreement with every copy you distribute.",
                   via),
        Obligation(FT, "llama3.1", "attribution-text",
                   'Display "Built with Llama" with products or services built on the model.', via),
        Obligation(FT, "llama3.1", "name-prefix",
                   'A model derived from it that you distribute must have a name starting with "Llama".', via),
        Obligation(FT, "llama3.1", "include-notice",
                   'Ship a notice with the model stating: "Llama 3.1 is licensed under the Llama 3.1 Community '
                   'License, Copyright © Meta Platforms, Inc. All Rights Reserved.".', via),
        Obligation(FT, "llama3.1", "acceptable-use-policy",
                   "Use the model only as the Llama 3.1 Acceptable Use Policy allows, and keep to its updates.", via),
        Obligation(DS, "mit", "include-license",
                   "Include a copy of the MIT License with every copy of the model or derivative you distribute."),
        Obligation(NC, "cc-by-nc-4.0", "attribution-text",
                   "Credit the creator, link the license and say whether you changed the model."),
        Obligation(NC, "cc-by-nc-4.0", "include-license",
                   "Include the license notice or a link to the CC BY-NC 4.0 license."),
    )
    if references is None:
        references = [
            {"model": FT, "revision": None, "file": "src/serve.py", "line": 12, "kind": "from_pretrained"},
            {"model": FT, "revision": FT_REV, "file": "configs/train.yaml", "line": 3, "kind": "config-key"},
            {"model": DS, "revision": None, "file": "configs/serve.toml", "line": 2, "kind": "config-key"},
            {"model": None, "revision": None, "file": "src/eval.py", "line": 7, "kind": "from_pretrained",
             "reason": "function parameter 'name'"},
        ]
    return AuditReport(
        tool_version="0.1.0", policy_name="default", policy_sha256="ab" * 32,
        models=(ft, ds, nc), findings=findings, obligations=obligations,
        errors=(InputError("acme/missing-model", "not found on the Hub (404)"),),
        passed=False,
        scan=ScanInfo("/src/app", tuple(Reference(r["model"], r["revision"], r["file"], r["line"], r["kind"], "",
                                                  r["model"] is not None, r.get("reason")) for r in references)),
        generated_at="2025-01-15T10:00:00Z",
    )


# --- SARIF ---------------------------------------------------------------------------------------------

def _sarif_validator():
    import jsonschema
    with open(os.path.join(SCHEMAS, "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_validates_against_the_official_schema():
    log = json.loads(sarif.render(sample_report()))
    errors = sorted(_sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_schema_rejects_a_broken_log():
    # the validator is real: a result without a message and a bad level are caught
    log = json.loads(sarif.render(sample_report()))
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["results"][1]["message"]
    assert len(list(_sarif_validator().iter_errors(log))) >= 2


def test_sarif_rules_and_driver():
    run = json.loads(sarif.render(sample_report()))["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mlaudit", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {"lineage-conflict", "dataset-license", "lineage-name-prefix", "non-commercial"}
    assert rules["lineage-conflict"]["help"]["text"].endswith(
        "How to fix: Declare the llama3.1 license (license: llama3.1) and keep its terms.")
    assert "**How to fix:**" in rules["lineage-conflict"]["help"]["markdown"]
    assert all(r["helpUri"].startswith("https://") and r["fullDescription"]["markdown"] for r in rules.values())
    assert rules["non-commercial"]["defaultConfiguration"]["level"] == "error"
    assert rules["dataset-license"]["defaultConfiguration"]["level"] == "warning"
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///src/app/"}}
    assert "acme/missing-model" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def _where(result):
    loc = result["locations"][0].get("physicalLocation")
    if loc is None:
        return None
    return loc["artifactLocation"]["uri"], loc.get("region", {}).get("startLine")


def test_sarif_results_sit_on_the_referencing_lines_and_hub_evidence_stays_out_of_locations():
    results = json.loads(sarif.render(sample_report()))["runs"][0]["results"]
    by_rule: dict[str, list] = {}
    for r in results:
        by_rule.setdefault(r["ruleId"], []).append(r)
    # the fine-tune is named on two source lines: each finding is reported on both, relative to the repository
    assert sorted(_where(r) for r in by_rule["lineage-conflict"]) == [("configs/train.yaml", 3), ("src/serve.py", 12)]
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for r in by_rule["lineage-conflict"])
    # the Hub cards are evidence in the properties, with their pinned URLs: never a location
    evidence = by_rule["lineage-conflict"][0]["properties"]["evidence"]
    assert [(e["url"], e["line"]) for e in evidence] == [
        (f"https://huggingface.co/{FT}/blob/{FT_REV}/README.md", 3),
        (f"https://huggingface.co/{LLAMA}/blob/d04e592bb4f6aa9cfee91e2e20afa771667e1d4b/README.md", 5),
    ]
    assert "relatedLocations" not in by_rule["lineage-conflict"][0]
    # no code names the CC-BY-NC model and its card is not in the repository: a logical location only
    [nc] = by_rule["non-commercial"]
    assert _where(nc) is None and nc["locations"][0]["logicalLocations"][0]["name"] == NC
    assert nc["properties"]["evidence"][0]["url"] == f"https://huggingface.co/{NC}/blob/{NC_REV}/README.md"
    assert len(results) == 3 * 2 + 1


def test_sarif_levels_waivers_and_unknowns():
    results = json.loads(sarif.render(sample_report()))["runs"][0]["results"]
    for r in results:
        if r["ruleId"] == "lineage-name-prefix":
            assert r["suppressions"] == [{"kind": "external", "status": "accepted", "justification": WAIVER}]
            assert r["level"] == "warning"
        else:
            assert "suppressions" not in r
        if r["ruleId"] == "dataset-license":
            assert r["properties"]["outcome"] == "unknown"
            assert r["message"]["text"].startswith("Could not be decided (fails closed)")
            assert r["level"] == "warning"
        if r["ruleId"] in ("lineage-conflict", "non-commercial"):
            assert r["level"] == "error"
        # an annotation on a code line must say which model it is about
        assert r["properties"]["subject"] in r["message"]["text"]
    # one fingerprint per location: the same finding on two files gives two alerts, one per file
    fps = [r["partialFingerprints"]["mlauditFinding/v2"] for r in results]
    assert len(set(fps)) == len(fps) == 7


def test_sarif_locates_findings_at_lines_found_by_the_scanner(tmp_path):
    from audit.sources.codebase import scan_codebase

    (tmp_path / "app.py").write_text(
        "from transformers import AutoModelForCausalLM\n"
        "\n"
        f'model = AutoModelForCausalLM.from_pretrained("{FT}")\n'
    )
    (tmp_path / "nc.yaml").write_text(f"eval:\n  model_name_or_path: {NC}\n")
    refs = tuple(scan_codebase(str(tmp_path)))
    report = dataclasses.replace(sample_report(), scan=ScanInfo(str(tmp_path), refs))
    results = json.loads(sarif.render(report))["runs"][0]["results"]
    assert {(r["ruleId"], _where(r)) for r in results} == {
        ("lineage-conflict", ("app.py", 3)),
        ("dataset-license", ("app.py", 3)),
        ("lineage-name-prefix", ("app.py", 3)),
        ("non-commercial", ("nc.yaml", 2)),
    }


def test_sarif_paths_are_relative_to_the_repository_root_not_the_scan_root(tmp_path):
    from audit.sources.codebase import scan_codebase

    (tmp_path / ".git").mkdir()
    service = tmp_path / "services" / "api"
    service.mkdir(parents=True)
    (service / "app.py").write_text(f'from transformers import AutoModel\nAutoModel.from_pretrained("{FT}")\n')
    report = dataclasses.replace(sample_report(), scan=ScanInfo(str(service), tuple(scan_codebase(str(service)))))
    run = json.loads(sarif.render(report))["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    assert ("services/api/app.py", 2) in {_where(r) for r in run["results"]}


def test_sarif_local_evidence_inside_the_repository_is_a_relative_location(tmp_path):
    card = tmp_path / "models" / "aya"
    local = Origin("local", str(card), None, "README.md", 4, "license")
    outside = Origin("local", "/srv/models/aya", None, "README.md", 4, "license")
    for origin, where in ((local, ("models/aya/README.md", 4)), (outside, None)):
        f = Finding("non-commercial", Severity.ERROR, Outcome.FAIL, origin.locator, "non-commercial", evidence=(origin,))
        report = AuditReport("0.1.0", "d", "0" * 64, (), (f,), (), (), False)
        result = json.loads(sarif.render(report, RenderOptions(repository_root=str(tmp_path))))["runs"][0]["results"][0]
        assert _where(result) == where


def test_sarif_meets_github_code_scanning_constraints(tmp_path):
    """What GitHub's upload checks beyond the schema: repository-relative file locations only, rule ids that
    exist, fingerprints on every result, at most 25,000 results and 10 locations per result."""
    for report in (sample_report(), dataclasses.replace(sample_report(), scan=None),
                   AuditReport("0.1.0", "d", "0" * 64, (), (), (), (), True)):
        log = json.loads(sarif.render(report))
        assert not list(_sarif_validator().iter_errors(log))
        github_upload_check(log)


def github_upload_check(log: dict) -> None:
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert len(run["results"]) <= 25_000
    for result in run["results"]:
        assert result["ruleId"] in rule_ids and result["partialFingerprints"]
        assert 1 <= len(result["locations"]) <= 10 and len(result.get("relatedLocations", ())) <= 10
        for loc in result["locations"] + result.get("relatedLocations", []):
            physical = loc.get("physicalLocation")
            if physical is None:
                continue
            uri = physical["artifactLocation"]["uri"]
            assert physical["artifactLocation"].get("uriBaseId") == "%SRCROOT%", uri
            assert "://" not in uri and not uri.startswith("/") and ".." not in uri.split("/"), uri


# --- JUnit ---------------------------------------------------------------------------------------------

def test_junit_validates_against_the_junit_xsd():
    import xmlschema
    schema = xmlschema.XMLSchema(os.path.join(SCHEMAS, "junit-10.xsd"))
    text = junit.render(sample_report())
    schema.validate(text)
    # and the schema is not a rubber stamp: a testcase without a name is rejected
    assert not schema.is_valid(text.replace('name="non-commercial"', 'nome="non-commercial"'))


def test_junit_cases_per_model_and_rule():
    root = ET.fromstring(junit.render(sample_report()).encode("utf-8"))
    suite = root.find("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    assert set(cases) == {
        (FT, "dataset-license"), (FT, "lineage-conflict"), (FT, "lineage-name-prefix"),
        (DS, "policy"), (NC, "non-commercial"), ("acme/missing-model", "input"),
    }
    assert cases[(FT, "lineage-conflict")].find("failure").get("type") == "error/fail"
    # a warning is below the default gate (fail_on: error): a passing case that says what it found, not a failure
    warning = cases[(FT, "dataset-license")]
    assert warning.find("failure") is None
    out = warning.find("system-out").text
    assert out.startswith("below the gate") and "[warning] unknown" in out and "README.md:9 (datasets)" in out
    skipped = cases[(FT, "lineage-name-prefix")].find("skipped")
    assert skipped is not None and WAIVER in skipped.get("message")
    assert len(cases[(DS, "policy")]) == 0  # a passing case has no child elements
    assert cases[("acme/missing-model", "input")].find("error").get("message") == "not found on the Hub (404)"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "2", "1", "1")
    # with fail_on: warning the same finding fails the gate, and the JUnit says so
    strict = ET.fromstring(junit.render(dataclasses.replace(sample_report(), fail_on=Severity.WARNING)).encode("utf-8"))
    failure = next(c for c in strict.iter("testcase") if c.get("name") == "dataset-license").find("failure")
    assert failure.get("type") == "warning/unknown" and failure.get("message").startswith("undecided")
    # the suite's time is the run's
    timed = ET.fromstring(junit.render(dataclasses.replace(sample_report(), duration_s=1.25)).encode("utf-8"))
    assert timed.get("time") == "1.250" and timed.find("testsuite").get("time") == "1.250"


def test_junit_survives_control_characters():
    report = sample_report()
    bad = Finding("x", Severity.ERROR, Outcome.FAIL, FT, "card says \x07\x1b[31m hi")
    report = AuditReport("0.1.0", "default", "0" * 64, report.models, (bad,), (), (), False)
    ET.fromstring(junit.render(report).encode("utf-8"))


# --- Markdown ------------------------------------------------------------------------------------------

def test_markdown_pr_comment():
    text = markdown.render(sample_report())
    assert text.startswith("### mlaudit: ❌ failed\n")
    assert "3 models audited against policy `default`: 1 passed, 2 failed" in text
    # the undecided dataset finding is a warning, below the default gate: shown as such, not as a failure
    assert "2 failing findings" in text and "1 warning and notes (not failing)" in text and "1 waived" in text
    failing = text[text.index("#### Failing findings"):text.index("#### Warnings, notes")]
    assert "dataset-license" not in failing and "lineage-conflict" in failing
    assert "⚠️ **warning** `dataset-license` (undecided)" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    for row in rows:  # no stray cell separators: every row has exactly six unescaped pipes
        assert len(re.findall(r"(?<!\\)\|", row)) == 6
    ft_row = next(r for r in rows if FT in r)
    assert "`Apache-2.0`" in ft_row and "`Apache-2.0 AND LicenseRef-llama3.1` (from lineage)" in ft_row
    assert "❌ fail" in ft_row
    assert "✅ pass" in next(r for r in rows if DS in r)
    assert "Fix: Declare the llama3.1 license" in text
    # evidence from another repo (the base model's card) says which repo it is
    assert f"`README.md:3 (license)`, `{LLAMA}/README.md:5 (license)`" in text
    # waiver text from a policy file is escaped: no raw HTML, no table-breaking pipe
    assert "<approved by legal>" not in text and "\\<approved by legal\\>" in text
    assert "internal-only \\| not distributed" in text
    assert "Built with Llama" in text and "`acme/missing-model`: not found on the Hub (404)" in text
    # failing findings come before the warnings, the warnings before the waived
    assert text.index("lineage-conflict") < text.index("dataset-license") < text.index("Waiver:")


def test_markdown_escapes_card_content():
    report = sample_report()
    evil = Finding("x", Severity.ERROR, Outcome.FAIL, "a|b", "[click](http://evil) <img src=x> | *bold*")
    report = AuditReport("0.1.0", "default", "0" * 64, report.models, (evil,), (), (), False)
    text = markdown.render(report)
    assert not re.search(r"(?<!\\)[<\[]", text.replace("<sub>", "").replace("</sub>", ""))
    assert "\\[click\\](http://evil) \\<img src=x\\> \\| \\*bold\\*" in text
    assert "`a\\|b`" not in text and "`a|b`" in text  # a code span outside a table keeps its pipe


# --- CycloneDX -----------------------------------------------------------------------------------------

def test_cyclonedx_validates_against_the_1_6_schema():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from audit.report import cyclonedx

    text = cyclonedx.render(sample_report())
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(text) is None
    broken = json.loads(text)
    broken["components"][0]["type"] = "large-language-thing"
    assert validator.validate_str(json.dumps(broken)) is not None


def test_cyclonedx_components_lineage_and_datasets():
    from audit.report import cyclonedx

    bom = json.loads(cyclonedx.render(sample_report()))
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    comps = {c["name"]: c for c in bom["components"]}
    assert {c["type"] for c in bom["components"]} == {"machine-learning-model", "data"}
    ft = comps[FT]
    assert ft["type"] == "machine-learning-model" and ft["version"] == FT_REV
    assert ft["purl"] == f"pkg:huggingface/acme/llama-3.1-8b-support-ft@{FT_REV}"
    assert {"license": {"id": "Apache-2.0", "acknowledgement": "declared"}} in ft["licenses"]
    props = {p["name"]: p["value"] for p in ft["properties"]}
    assert props["mlaudit:effective-license"] == "Apache-2.0 AND LicenseRef-llama3.1"
    assert props["mlaudit:verdict"] == "fail"
    (ancestor,) = ft["pedigree"]["ancestors"]
    assert ancestor["name"] == LLAMA and ancestor["purl"] == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    assert ancestor["licenses"][0]["license"]["name"] == "Llama 3.1 Community License Agreement"
    assert comps[DS]["licenses"][0]["license"]["id"] == "MIT"
    assert comps[NC]["licenses"][0]["license"]["id"] == "CC-BY-NC-4.0"
    data = comps[DATASET]
    assert data["type"] == "data" and "licenses" not in data  # unknown stays unknown
    assert comps["CohereForAI/aya_dataset"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert deps[ft["bom-ref"]] == {data["bom-ref"]}
    # the same report gives the same serial number
    assert json.loads(cyclonedx.render(sample_report()))["serialNumber"] == bom["serialNumber"]


# --- SPDX ----------------------------------------------------------------------------------------------

def test_spdx_validates_with_spdx_tools_and_the_json_schema(tmp_path):
    import jsonschema
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from audit.report import spdx

    text = spdx.render(sample_report())
    assert validate_full_spdx_document(spdx.build_document(sample_report())) == []
    # round trip: what we wrote parses back and still validates
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text, encoding="utf-8")
    assert validate_full_spdx_document(parse_file(str(path))) == []
    with open(os.path.join(SCHEMAS, "spdx-schema-2.3.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    validator = jsonschema.Draft7Validator(schema)
    errors = list(validator.iter_errors(json.loads(text)))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_spdx_packages_licenses_and_relationships():
    from audit.report import spdx

    doc = json.loads(spdx.render(sample_report()))
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["creationInfo"]["created"] == "2025-01-15T10:00:00Z"
    pkgs = {p["name"]: p for p in doc["packages"]}
    ft = pkgs[FT]
    assert ft["licenseDeclared"] == "Apache-2.0"
    assert ft["licenseConcluded"] == "Apache-2.0 AND LicenseRef-llama3.1"
    assert ft["versionInfo"] == FT_REV and ft["downloadLocation"] == f"https://huggingface.co/{FT}/tree/{FT_REV}"
    assert ft["externalRefs"][0]["referenceLocator"] == f"pkg:huggingface/acme/llama-3.1-8b-support-ft@{FT_REV}"
    assert any("Built with Llama" in t for t in ft["attributionTexts"])
    assert pkgs[LLAMA]["licenseDeclared"] == "LicenseRef-llama3.1"
    assert pkgs[DATASET]["licenseDeclared"] == "NOASSERTION"
    assert pkgs[DATASET]["downloadLocation"] == f"https://huggingface.co/datasets/{DATASET}"
    assert pkgs[NC]["licenseConcluded"] == "CC-BY-NC-4.0"
    assert [e["licenseId"] for e in doc["hasExtractedLicensingInfos"]] == ["LicenseRef-llama3.1"]
    ids = {p["name"]: p["SPDXID"] for p in doc["packages"]}
    rels = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]}
    assert (ids[FT], "DESCENDANT_OF", ids[LLAMA]) in rels
    assert (ids[FT], "GENERATED_FROM", ids[DATASET]) in rels
    assert {r for r in rels if r[1] == "DESCRIBES"} == {("SPDXRef-DOCUMENT", "DESCRIBES", ids[m]) for m in (FT, DS, NC)}


# --- NOTICE --------------------------------------------------------------------------------------------

def test_notices_list_every_obligation_grouped_per_model():
    report = sample_report()
    text = notices.render(report)
    for o in report.obligations:
        assert o.text in text
    sections = text.split("=" * 78)
    heads = [s.strip().splitlines()[0] for s in sections[1:-1]]
    # models sorted by subject, ignoring case
    assert heads == [f"{FT} (revision {FT_REV})", f"{NC} (revision {NC_REV})", f"{DS} (revision {DS_REV})"]
    ft = sections[1]
    assert "License: Apache-2.0 AND LicenseRef-llama3.1" in ft
    assert "Terms inherited from: meta-llama/Llama-3.1-8B (llama3.1)" in ft
    assert ft.index("Attribution to display:") < ft.index("Built with Llama") < ft.index("Notices to include:")
    assert ft.index("License copies to include:") < ft.index("Naming rules for derivatives:")
    assert "[llama3.1, via meta-llama/Llama-3.1-8B]" in ft


def test_notices_are_deterministic():
    report = sample_report()
    shuffled = dataclasses.replace(report, models=report.models[::-1], obligations=report.obligations[::-1])
    assert notices.render(report) == notices.render(shuffled)


def test_notices_flag_an_undecided_license():
    report = sample_report()
    ft = report.models[0]
    unknown = ModelResult(ft.subject, ft.revision, ft.origin, ft.card,
                          LicenseFacts((), None, (), Status.UNKNOWN, reason="no license declared"),
                          ft.lineage, Effective(None, ()), passed=False)
    report = AuditReport("0.1.0", "default", "0" * 64, (unknown,), (), (), (), False)
    text = notices.render(report)
    assert "License: unknown" in text and "could not be decided" in text


# --- every --format choice -----------------------------------------------------------------------------

def test_every_format_renders_the_sample_report():
    from audit.report import FORMATS, render, renderer

    for fmt in FORMATS:
        out = renderer(fmt)(sample_report())
        assert isinstance(out, str) and out.strip(), fmt
        assert FT in out, fmt
        assert render(sample_report(), fmt) == out, fmt


def test_every_format_module_has_the_one_render_signature():
    """No renderer-specific keyword arguments: every format takes (report, options) and nothing else."""
    import importlib
    import inspect

    from audit.report import DEFAULT_OPTIONS, FORMATS

    for fmt, module in FORMATS.items():
        params = inspect.signature(importlib.import_module(f"audit.report.{module}").render).parameters
        assert list(params) == ["report", "options"], fmt
        assert params["options"].default is DEFAULT_OPTIONS, fmt


def test_an_unknown_format_is_a_usage_error_naming_it():
    import pytest

    from audit.errors import UsageError
    from audit.report import render

    with pytest.raises(UsageError) as exc:
        render(sample_report(), "yaml")
    assert exc.value.input == "yaml" and "sarif" in exc.value.message


def test_render_options_reach_the_formats_that_use_them():
    from audit.report import RenderOptions, render

    report = sample_report()
    text = render(report, "text")
    verdict_line = text.rstrip("\n").rsplit("\n", 1)[-1]
    assert verdict_line.startswith("FAILED: 3 model(s), 1 passed, 2 failed, 1 unreadable")
    assert render(report, "text", RenderOptions(quiet=True)) == verdict_line + "\n"
    assert "ERROR acme/missing-model: not found on the Hub (404)" in text
    without = render(report, "text", RenderOptions(show_errors=False))
    assert "acme/missing-model" not in without and without.endswith(verdict_line + "\n")
    colored = render(report, "text", RenderOptions(color=True))
    assert "\x1b[" in colored and "\x1b[" not in text
    assert colored.rstrip("\n").rsplit("\n", 1)[-1].startswith("\x1b[31m\x1b[1mFAILED\x1b[0m: 3 model(s)")

    compact, pretty = render(report, "json"), render(report, "json", RenderOptions(pretty=True))
    assert json.loads(compact) == json.loads(pretty)
    assert compact.count("\n") == 1 and pretty.startswith('{\n  "schema": "mlaudit.report/1"')
    # a format ignores the options it has no use for
    everything = RenderOptions(color=True, pretty=True, show_errors=False, quiet=True)
    for fmt in ("sarif", "junit", "markdown", "notices"):
        assert render(report, fmt, everything) == render(report, fmt), fmt


def test_cli_startup_imports_no_sbom_library():
    """Formats are imported when asked for: the text format does not pull in cyclonedx or spdx-tools."""
    import subprocess
    import sys

    code = ("import sys; from audit.report import renderer; renderer('text'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cyclonedx', 'spdx_tools')"
            " or m in ('audit.report.cyclonedx', 'audit.report.spdx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sboms_take_their_time_from_the_report_else_source_date_epoch(monkeypatch):
    import dataclasses

    from audit.report import cyclonedx, spdx

    report = dataclasses.replace(sample_report(), generated_at=None)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736935200")  # 2025-01-15T10:00:00Z
    assert json.loads(cyclonedx.render(report))["metadata"]["timestamp"] == "2025-01-15T10:00:00+00:00"
    assert json.loads(spdx.render(report))["creationInfo"]["created"] == "2025-01-15T10:00:00Z"
    # generated_at wins over the environment
    stamped = dataclasses.replace(report, generated_at="2024-06-01T08:30:00Z")
    assert json.loads(spdx.render(stamped))["creationInfo"]["created"] == "2024-06-01T08:30:00Z"


def test_sboms_never_mangle_a_malformed_expression():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from audit.report import cyclonedx, spdx

    report = sample_report()
    ds = report.models[1]
    odd = ModelResult(ds.subject, ds.revision, ds.origin, ds.card,
                      LicenseFacts(ds.license.declarations, "MIT AND", ("mit",), Status.RESOLVED),
                      ds.lineage, Effective("MIT AND", ("mit",)), passed=True)
    report = AuditReport("0.1.0", "default", "0" * 64, (odd,), (), (), (), True)
    pkg = json.loads(spdx.render(report))["packages"][0]
    assert (pkg["licenseDeclared"], pkg["licenseConcluded"]) == ("NOASSERTION", "NOASSERTION")
    assert validate_full_spdx_document(spdx.build_document(report)) == []
    text = cyclonedx.render(report)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert json.loads(text)["metadata"]["component"]["licenses"] == [  # one model: what the BOM describes
        {"license": {"name": "MIT AND", "acknowledgement": "declared"}}
    ]


def test_local_and_empty_reports_still_validate():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from audit.report import cyclonedx, spdx

    card = Origin("local", "/srv/models/my model", None, "README.md")
    local = ModelResult(
        "/srv/models/my model", None, card.at(), None,
        LicenseFacts((), None, (), Status.UNKNOWN, reason="no license declared"),
        Lineage("/srv/models/my model", None), Effective(None, ()), passed=False,
    )
    finding = Finding("license-unknown", Severity.ERROR, Outcome.UNKNOWN, local.subject, "license unknown",
                      evidence=(card,), check="license-unknown")
    for report in (
        AuditReport("0.1.0", "default", "0" * 64, (local,), (finding,), (), (), False),
        AuditReport("0.1.0", "default", "0" * 64, (), (), (), (), True),
    ):
        log = json.loads(sarif.render(report))
        assert not list(_sarif_validator().iter_errors(log))
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cyclonedx.render(report)) is None
        assert validate_full_spdx_document(spdx.build_document(report)) == []
        ET.fromstring(junit.render(report).encode("utf-8"))
        assert markdown.render(report) and notices.render(report)
    # the undecided local model outside the repository: a logical location, its card in the evidence
    result = json.loads(sarif.render(AuditReport("0.1.0", "d", "0" * 64, (local,), (finding,), (), (), False)))
    assert _where(result["runs"][0]["results"][0]) is None
    assert result["runs"][0]["results"][0]["properties"]["evidence"][0]["text"].endswith("README.md")
    pkg = json.loads(spdx.render(AuditReport("0.1.0", "d", "0" * 64, (local,), (), (), (), False)))["packages"][0]
    assert pkg["downloadLocation"] == "NOASSERTION" and "externalRefs" not in pkg


def test_notices_reproduce_the_models_own_files_and_name_the_licenses(tmp_path):
    import audit

    m = tmp_path / "m"
    m.mkdir()
    (m / "README.md").write_text("---\nlicense: apache-2.0\n---\n# m\n")
    (m / "NOTICE").write_text("Acme Model\nCopyright 2026 Acme Corp.\n\x1b[2Jhidden\n")
    (m / "LICENSE").write_text("Apache License\nVersion 2.0, January 2004\n")
    text = notices.render(audit.audit([str(m)], offline=True))
    assert "Apache License 2.0 [apache-2.0]: https://" in text
    assert "--- NOTICE (as shipped with" in text and "Copyright 2026 Acme Corp." in text
    assert "--- LICENSE (as shipped with" in text and "Version 2.0, January 2004" in text
    assert "\x1b" not in text and "\\x1b[2Jhidden" in text  # an escape sequence is shown, never sent


def test_hostile_subjects_cannot_forge_lines_in_plain_text_formats():
    report = sample_report()
    evil = "acme/x\nPASSED: 0 models\x1b[2J"
    f = Finding("non-commercial", Severity.ERROR, Outcome.FAIL, evil, "bad\r\nPASSED: all good")
    report = AuditReport("0.1.0", "default", "0" * 64, report.models, (f,), (Obligation(evil, "mit", "include-license", "x\x07"),), (), False)
    from audit.report import terminal

    for text in (notices.render(report), terminal.render(report), markdown.render(report)):
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text
        assert not any(line.lstrip("#* -").startswith("PASSED") for line in text.splitlines())
    assert "[click]" not in markdown.render(dataclasses.replace(report, findings=(
        dataclasses.replace(f, message="[click](javascript:alert(1))"),)))
    ET.fromstring(junit.render(report).encode("utf-8"))
    assert "\x1b" not in sarif.render(report)  # JSON escapes it: \u001b, text, never a live sequence


def test_a_hostile_directory_name_is_one_visible_line_on_stderr(tmp_path):
    from click.testing import CliRunner

    from audit.cli import main

    evil = tmp_path / "m\nmlaudit: PASSED\x1b[2J"
    evil.mkdir()
    (evil / "README.md").write_text("---\nlicense: [\n")  # malformed: an error naming the path
    res = CliRunner().invoke(main, ["check", str(evil), "--offline"])
    assert res.exit_code == 3
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and "\x1b" not in res.stderr and "\\n" in lines[0] and "\\x1b" in lines[0]
