"""The SBOM formats in depth: the CycloneDX 1.6 model card, file hashes, declared and concluded licenses,
reproducible serial numbers; SPDX 2.3 extracted licensing info, checksums, suppliers, download locations;
hostile card text in both. Every document is checked with the real validators (cyclonedx-python-lib's
strict 1.6 validator; spdx-tools and the SPDX 2.3 JSON schema), never skipped. No network.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import uuid

import pytest

from audit.model import (
    Artifacts,
    AuditReport,
    DatasetFacts,
    Declaration,
    Effective,
    FileHash,
    LicenseFacts,
    Lineage,
    ModelCard,
    ModelResult,
    Origin,
    ScanInfo,
    Status,
)
from audit.report import cyclonedx, spdx

SCHEMAS = os.path.join(os.path.dirname(__file__), "schemas")
SUBJECT = "acme/llama-ft"
REV = "0123456789abcdef0123456789abcdef01234567"
WEIGHTS_SHA = "a" * 64
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

CARD = """---
license: apache-2.0
pipeline_tag: text-generation
datasets:
- acme/tickets
---
# Support model

## Intended uses

This model drafts **answers** to support tickets. It is not a lawyer.

## Limitations

- It invents\x1b[2J product names under load. Check its output.

## Out-of-scope use

Never used for this.
"""


def _validate_cyclonedx(text: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error


def _validate_spdx(report: AuditReport, text: str, tmp_path) -> None:
    import jsonschema
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    assert validate_full_spdx_document(spdx.build_document(report)) == []
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text, encoding="utf-8")
    assert validate_full_spdx_document(parse_file(str(path))) == []
    with open(os.path.join(SCHEMAS, "spdx-schema-2.3.json"), encoding="utf-8") as fh:
        errors = list(jsonschema.Draft7Validator(json.load(fh)).iter_errors(json.loads(text)))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def _key(entry) -> str:
    return json.dumps(entry, sort_keys=True)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


def _local_model(tmp_path):
    m = tmp_path / "support-model"
    m.mkdir()
    (m / "README.md").write_text(CARD, encoding="utf-8")
    (m / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    (m / "LICENSE").write_text("Apache License\nVersion 2.0, January 2004\n")
    return m


def _hub_model(**changes) -> ModelResult:
    card_origin = Origin("hub", SUBJECT, REV, "README.md")
    decl = Declaration("front-matter", "apache-2.0", ("apache-2.0",), card_origin.at(line=2), expression="Apache-2.0")
    card = ModelCard(origin=card_origin, front_matter={"license": "apache-2.0"}, license=("apache-2.0",),
                     license_name=None, license_link=None, base_models=("meta-llama/Llama-3.1-8B",),
                     base_model_relation=None, datasets=(), tags=(), gated=None, body="# m\n", body_line=6,
                     field_lines={"license": 2})
    result = ModelResult(
        subject=SUBJECT, revision=REV, origin=Origin("hub", SUBJECT, REV), card=card,
        license=LicenseFacts((decl,), "Apache-2.0", ("apache-2.0",), Status.RESOLVED),
        lineage=Lineage(SUBJECT, "finetune"),
        effective=Effective("Apache-2.0 AND LicenseRef-llama3.1", ("apache-2.0", "llama3.1"), True),
        passed=False,
        artifacts=Artifacts((FileHash("README.md", "b" * 64, "c" * 40, "read"),
                             FileHash("model.safetensors", WEIGHTS_SHA, None, "listed")),
                            "llama", ("LlamaForCausalLM",)),
    )
    return dataclasses.replace(result, **changes)


def _report(*models: ModelResult, **changes) -> AuditReport:
    report = AuditReport("0.1.0", "default", "ab" * 32, tuple(models), (), (), (), False,
                         generated_at="2025-01-15T10:00:00Z")
    return dataclasses.replace(report, **changes)


# --- a local model, audited end to end ------------------------------------------------------------------

def test_cyclonedx_model_card_and_hashes_of_an_audited_model(tmp_path):
    import audit

    m = _local_model(tmp_path)
    report = audit.audit([str(m)], offline=True)
    text = cyclonedx.render(report)
    _validate_cyclonedx(text)
    bom = json.loads(text)
    model = bom["metadata"]["component"]  # one model: it is what the BOM describes
    assert model["type"] == "machine-learning-model" and model["name"] == report.models[0].subject
    assert all(c["bom-ref"] != model["bom-ref"] for c in bom.get("components", []))
    card = model["modelCard"]
    params = card["modelParameters"]
    assert params["task"] == "text-generation"
    assert (params["architectureFamily"], params["modelArchitecture"]) == ("llama", "LlamaForCausalLM")
    refs = {c["bom-ref"]: c for c in bom["components"]}
    (ds,) = params["datasets"]
    assert refs[ds["ref"]]["name"] == "acme/tickets" and refs[ds["ref"]]["type"] == "data"
    considerations = card["considerations"]
    assert considerations["useCases"] == ["This model drafts answers to support tickets."]
    assert considerations["technicalLimitations"] == ["It invents\\x1b[2J product names under load."]
    lines = CARD.splitlines()
    sources = {p["name"]: p["value"] for p in card["properties"]}
    use_line = lines.index("This model drafts **answers** to support tickets. It is not a lawyer.") + 1
    assert sources["mlaudit:useCases-source"] == f"README.md:{use_line}"
    assert "\x1b" not in text
    files = {c["name"]: c for c in model["components"]}
    assert set(files) >= {"README.md", "config.json", "LICENSE"}
    readme = (m / "README.md").read_bytes()
    hashes = {h["alg"]: h["content"] for h in files["README.md"]["hashes"]}
    assert hashes == {"SHA-256": hashlib.sha256(readme).hexdigest(), "SHA-1": hashlib.sha1(readme).hexdigest()}
    assert files["README.md"]["type"] == "file"
    assert {"license": {"id": "Apache-2.0", "acknowledgement": "declared"}} in model["licenses"]
    assert {"license": {"id": "Apache-2.0", "acknowledgement": "concluded"}} in model["licenses"]


def test_spdx_files_checksums_and_local_download_location(tmp_path):
    import audit

    m = _local_model(tmp_path)
    report = audit.audit([str(m)], offline=True)
    text = spdx.render(report)
    _validate_spdx(report, text, tmp_path)
    doc = json.loads(text)
    pkg = next(p for p in doc["packages"] if p["name"] == report.models[0].subject)
    assert pkg["downloadLocation"] == "NOASSERTION" and "supplier" not in pkg
    assert pkg["filesAnalyzed"] is True
    files = {f["fileName"]: f for f in doc["files"]}
    readme = (m / "README.md").read_bytes()
    sums = {c["algorithm"]: c["checksumValue"] for c in files["./README.md"]["checksums"]}
    assert sums == {"SHA1": hashlib.sha1(readme).hexdigest(), "SHA256": hashlib.sha256(readme).hexdigest()}
    contains = {r["relatedSpdxElement"] for r in doc["relationships"]
                if r["spdxElementId"] == pkg["SPDXID"] and r["relationshipType"] == "CONTAINS"}
    assert contains == {f["SPDXID"] for f in doc["files"]}


# --- a Hub model with a custom license ------------------------------------------------------------------

def test_cyclonedx_declared_beside_concluded_and_license_refs_by_catalog_name():
    from audit.licenses.catalog import catalog

    text = cyclonedx.render(_report(_hub_model()))
    _validate_cyclonedx(text)
    model = json.loads(text)["metadata"]["component"]
    llama = catalog()["llama3.1"]
    assert sorted(model["licenses"], key=_key) == sorted([
        {"license": {"id": "Apache-2.0", "acknowledgement": "declared"}},
        {"license": {"id": "Apache-2.0", "acknowledgement": "concluded"}},
        {"license": {"name": llama.name, "url": llama.url, "acknowledgement": "concluded",
                     "properties": [{"name": "mlaudit:license-ref", "value": "LicenseRef-llama3.1"}]}},
    ], key=_key)
    files = {c["name"]: c for c in model["components"]}
    assert files["model.safetensors"]["hashes"] == [{"alg": "SHA-256", "content": WEIGHTS_SHA}]
    uses = model["modelCard"]["considerations"]["useCases"]
    assert any("700,000,000 monthly active users" in u and u.startswith("License restriction (") for u in uses)


def test_cyclonedx_keeps_only_the_declared_license_when_the_concluded_one_cannot_sit_beside_it():
    odd = _hub_model(effective=Effective("MIT OR Apache-2.0", ("mit", "apache-2.0")))
    text = cyclonedx.render(_report(odd))
    _validate_cyclonedx(text)
    model = json.loads(text)["metadata"]["component"]
    assert model["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    props = {p["name"]: p["value"] for p in model["properties"]}
    assert props["mlaudit:effective-license"] == "MIT OR Apache-2.0"
    # an exception cannot be a license entry: the declared expression stands alone, and validates
    with_exception = _hub_model(license=dataclasses.replace(odd.license, expression="Apache-2.0 WITH LLVM-exception"))
    text = cyclonedx.render(_report(with_exception))
    _validate_cyclonedx(text)
    assert json.loads(text)["metadata"]["component"]["licenses"] == [
        {"expression": "Apache-2.0 WITH LLVM-exception", "acknowledgement": "declared"}]
    # nothing declared: the concluded expression stands alone
    none = _hub_model(license=LicenseFacts((), None, (), Status.UNKNOWN))
    text = cyclonedx.render(_report(none, odd))
    _validate_cyclonedx(text)


def test_spdx_extracted_info_supplier_location_and_listed_hashes(tmp_path):
    from audit.licenses.catalog import catalog

    report = _report(_hub_model())
    text = spdx.render(report)
    _validate_spdx(report, text, tmp_path)
    doc = json.loads(text)
    pkg = doc["packages"][0]
    assert pkg["supplier"] == "Organization: acme"
    assert pkg["downloadLocation"] == f"https://huggingface.co/{SUBJECT}/tree/{REV}"
    assert "1 further file(s) have only a SHA-256" in pkg["comment"]
    assert [f["fileName"] for f in doc["files"]] == ["./README.md"]
    (info,) = doc["hasExtractedLicensingInfos"]
    llama = catalog()["llama3.1"]
    assert info["licenseId"] == "LicenseRef-llama3.1" and info["name"] == llama.name
    assert info["seeAlsos"] == [llama.url]
    assert info["extractedText"].startswith(" ".join(llama.summary.split()))
    assert "Limitations: user-threshold" in info["extractedText"]


def test_metadata_component_is_the_scanned_project():
    report = _report(_hub_model(), _hub_model(subject="acme/other", revision=None),
                     scan=ScanInfo("/src/shop-app"))
    text = cyclonedx.render(report)
    _validate_cyclonedx(text)
    bom = json.loads(text)
    project = bom["metadata"]["component"]
    assert (project["type"], project["name"]) == ("application", "shop-app")
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    models = {c["bom-ref"] for c in bom["components"] if c["type"] == "machine-learning-model"}
    assert len(models) == 2 and deps[project["bom-ref"]] == models


# --- identity and time ----------------------------------------------------------------------------------

def test_source_date_epoch_gives_byte_identical_documents(monkeypatch):
    report = _report(_hub_model(), generated_at=None)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736935200")
    for fmt in (cyclonedx, spdx):
        assert fmt.render(report) == fmt.render(report)
    bom = json.loads(cyclonedx.render(report))
    assert bom["metadata"]["timestamp"] == "2025-01-15T10:00:00+00:00"
    assert uuid.UUID(bom["serialNumber"].removeprefix("urn:uuid:")).version == 5
    # another epoch is another document
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736935201")
    assert json.loads(cyclonedx.render(report))["serialNumber"] != bom["serialNumber"]


def test_every_run_gets_a_new_serial_number_without_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    report = _report(_hub_model(), generated_at=None)
    serials = {json.loads(cyclonedx.render(report))["serialNumber"] for _ in range(2)}
    assert len(serials) == 2
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", s) and uuid.UUID(s[9:]).version == 4 for s in serials)
    namespaces = {json.loads(spdx.render(report))["documentNamespace"] for _ in range(2)}
    assert len(namespaces) == 2


# --- hostile card text ----------------------------------------------------------------------------------

@pytest.mark.parametrize("evil", ["x\x1b[2Jy", "a\nPASSED\r\n", "bell\x07\u2028next", "nul\x00"])
def test_hostile_strings_reach_no_json_value_raw(evil, tmp_path):
    m = _hub_model()
    card = dataclasses.replace(m.card, front_matter={"pipeline_tag": evil},
                               body=f"## Limitations\n\n{evil} limits. More.\n", body_line=3)
    hostile = dataclasses.replace(
        m, subject=f"/models/{evil}", card=card, revision=None,
        artifacts=Artifacts((FileHash(f"w/{evil}.bin", WEIGHTS_SHA, None, "listed"),), evil, (evil,)),
        datasets=(DatasetFacts(evil, (), Status.UNKNOWN, None, m.origin),),
        license=dataclasses.replace(m.license, reason=evil),
    )
    report = _report(hostile)
    for fmt in (cyclonedx, spdx):
        text = fmt.render(report)
        assert not _CONTROL.search(text.replace("\n", "")), fmt.__name__
        bad = [s for s in _strings(json.loads(text)) if _CONTROL.search(s) or "\n" in s]
        assert not bad, (fmt.__name__, bad)
    _validate_cyclonedx(cyclonedx.render(report))
    _validate_spdx(report, spdx.render(report), tmp_path)


def test_card_sections_follow_the_hub_template_and_skip_its_placeholders():
    from audit.report.cyclonedx_card import card_sections

    body = """# Model Card

## How to Get Started with the Model

Use the code below to get started.

## Uses

### Direct Use

<!-- This section is for the model use without fine-tuning. -->

Classifying support tickets by urgency, e.g. for triage. Nothing else.

### Downstream Use [optional]

[More Information Needed]

### Out-of-Scope Use

Medical advice.

```
## Limitations
not a heading inside a fence.
```

## Bias, Risks, and Limitations

* Trained on English tickets only; other languages degrade.
"""
    found = card_sections(body, 10)
    lines = body.splitlines()
    assert found == [
        ("useCases", 10 + lines.index("Classifying support tickets by urgency, e.g. for triage. Nothing else."),
         "Classifying support tickets by urgency, e.g. for triage."),
        ("technicalLimitations", 10 + lines.index("* Trained on English tickets only; other languages degrade."),
         "Trained on English tickets only; other languages degrade."),
    ]


# --- hashes agree with the lockfile ---------------------------------------------------------------------

def test_locked_run_sboms_carry_the_hashes_the_lock_pins(fake_hub, tmp_path):
    from click.testing import CliRunner

    from audit.cli import main

    fake_hub.add_model("acme/tiny", {"README.md": "---\nlicense: mit\npipeline_tag: fill-mask\n---\n# tiny\n",
                                     "config.json": '{"model_type": "bert"}', "model.safetensors": b"weights"},
                       lfs={"model.safetensors"})
    lock = tmp_path / "mlaudit.lock"
    res = CliRunner().invoke(main, ["lock", "acme/tiny", "--endpoint", fake_hub.url, "-o", str(lock)])
    assert res.exit_code == 0, res.stderr
    [entry] = json.loads(lock.read_text())["models"]
    pinned = {**entry["files"], **entry["lfs"]}
    assert "model.safetensors" in entry["lfs"] and "README.md" in entry["files"]
    offline = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    res = CliRunner().invoke(main, ["check", "--locked", "--lockfile", str(lock), "--format", "cyclonedx"],
                             env=offline)
    _validate_cyclonedx(res.stdout)
    model = json.loads(res.stdout)["metadata"]["component"]
    hashes = {c["name"]: {h["alg"]: h["content"] for h in c["hashes"]} for c in model["components"]}
    assert {name: h["SHA-256"] for name, h in hashes.items()} == pinned
    weights = next(c for c in model["components"] if c["name"] == "model.safetensors")
    assert weights["properties"] == [{"name": "mlaudit:hash-source", "value": "as the lockfile pins it (not in the cache)"}]
    assert model["modelCard"]["modelParameters"] == {"task": "fill-mask", "architectureFamily": "bert"}
    assert model["version"] == entry["revision"]
    res = CliRunner().invoke(main, ["check", "--locked", "--lockfile", str(lock), "--format", "spdx"], env=offline)
    doc = json.loads(res.stdout)
    sums = {f["fileName"][2:]: {c["algorithm"]: c["checksumValue"] for c in f["checksums"]} for f in doc["files"]}
    assert {name: s["SHA256"] for name, s in sums.items()} == entry["files"]
    assert doc["packages"][0]["downloadLocation"] == f"https://huggingface.co/acme/tiny/tree/{entry['revision']}"
