"""The openness profile (audit/openness.py): components with evidence, the MOF class, the policy checks."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import audit
from audit.openness import class_rank, weights_level
from audit.policy.schema import load_policy

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "models"

FULL_CARD = """---
license: apache-2.0
datasets:
- acme/open-corpus
tags:
- arxiv:2403.13784
---

# acme-open-7b

Code: https://github.com/acme/open-7b

## Intended uses

Summarising support tickets.

## Limitations

It makes things up.

## Evaluation

| benchmark | score |
|---|---|
| x | 1 |

## Training data

acme/open-corpus, see the paper https://arxiv.org/abs/2403.13784 for details.
"""

DATASET_CARD = "---\nlicense: cc-by-4.0\n---\n# open corpus\n"


def _model(tmp_path: Path, card: str, files: dict[str, str] | None = None, name: str = "acme-open-7b") -> Path:
    d = tmp_path / "models" / name
    d.mkdir(parents=True)
    (d / "README.md").write_text(card, encoding="utf-8")
    for rel, text in (files or {}).items():
        (d / rel).write_text(text, encoding="utf-8")
    return d


def _audit(tmp_path: Path, path: Path, policy=None, **settings):
    ds = tmp_path / "models" / "acme--open-corpus"
    if not ds.exists():
        ds.mkdir(parents=True)
        (ds / "README.md").write_text(DATASET_CARD, encoding="utf-8")
    pol = load_policy(policy)
    if settings:
        pol = replace(pol, settings={**pol.settings, **settings})
    return audit.audit([str(path)], pol, offline=True, models_dirs=[str(tmp_path / "models")])


def test_a_fully_open_release_with_code_reaches_class_i(tmp_path):
    path = _model(tmp_path, FULL_CARD, {"config.json": "{}", "modeling_acme.py": "x = 1\n"})
    m = _audit(tmp_path, path).models[0]
    o = m.openness
    assert o is not None and o.mof_class == "I" and o.decided and o.next_class is None and o.missing == ()
    status = {c.name: c.status for c in o.components}
    assert status == {"weights": "osi-approved", "code": "shipped", "data": "named", "documentation": "complete",
                      "paper": "linked"}
    # evidence points at the card's lines: the paper link on line 29 (arXiv tag wins only without a link)
    paper = o.component("paper")
    assert paper is not None and paper.evidence[0].line == 29
    docs = o.component("documentation")
    assert docs is not None and [e.line for e in docs.evidence] == [13, 17, 21]


def test_a_linked_repository_is_not_verified_open_code(tmp_path):
    path = _model(tmp_path, FULL_CARD, {"config.json": "{}"})
    o = _audit(tmp_path, path).models[0].openness
    assert o is not None and o.mof_class == "III" and o.next_class == "II"
    code = o.component("code")
    assert code is not None and code.status == "linked" and not code.open
    assert code.evidence[0].line == 11
    assert any("not verified" in why for why in o.missing)


def test_restricted_weights_reach_no_class_whatever_else_is_open(tmp_path):
    card = FULL_CARD.replace("license: apache-2.0", "license: llama3.1")
    path = _model(tmp_path, card, {"config.json": "{}", "modeling_acme.py": "x = 1\n"})
    o = _audit(tmp_path, path).models[0].openness
    assert o is not None and o.mof_class is None and o.next_class == "III"
    assert o.missing == ("weights under an open license (now: restricted)",)


def test_weights_levels_follow_the_catalog():
    assert weights_level(["apache-2.0"]) == "osi-approved"
    assert weights_level(["cc-by-4.0"]) == "open"
    assert weights_level(["llama3.1"]) == "restricted"
    assert weights_level(["bigscience-openrail-m"]) == "restricted"
    assert weights_level(["cc-by-nc-4.0"]) == "non-commercial"
    assert weights_level(["apache-2.0", "llama3.1"]) == "restricted"  # the least open governs
    assert weights_level([]) == "unknown" and weights_level(["other"]) == "unknown"


def test_examples_profiles():
    report = audit.audit([str(EXAMPLES)], offline=True)
    by = {Path(m.subject).name: m.openness for m in report.models}
    assert all(o is not None for o in by.values())
    assert by["gemma-2-9b-support-agent"].component("weights").status == "restricted"  # type: ignore[union-attr]
    assert by["cc-by-nc-summarizer"].component("weights").status == "non-commercial"  # type: ignore[union-attr]
    assert by["no-license-tagger"].decided is False  # type: ignore[union-attr]
    # undisclosed data, no documentation sections: the MIT example is open weights, yet no class
    mit = by["deepseek-v4-flash"]
    assert mit is not None and mit.component("weights").status == "osi-approved"  # type: ignore[union-attr]
    assert mit.mof_class is None and "the training data disclosed (named or described on the card)" in mit.missing


def test_policy_settings_grade_openness(tmp_path):
    path = _model(tmp_path, FULL_CARD.replace("datasets:\n- acme/open-corpus\n", ""), {"config.json": "{}"})
    quiet = _audit(tmp_path, path)
    assert not [f for f in quiet.findings if f.check in ("openness-below-class", "training-data-undisclosed")]
    report = _audit(tmp_path, path, min_openness_class="II", require_training_data=True)
    found = {f.check: f for f in report.findings}
    below = found["openness-below-class"]
    assert "is class III, the policy requires class II" in below.message
    assert found["training-data-undisclosed"].evidence[0].line == 25  # the "Training data" heading
    assert below.severity.value == "error" and not report.passed  # asked for, no rule grades it: fails closed
    assert _audit(tmp_path, path, min_openness_class=3).passed
    # a rule grades it like any check
    graded = tmp_path / "graded.yaml"
    graded.write_text("name: graded\nextends: default\nrules:\n  - {id: openness-below-class, severity: warning}\n")
    report = _audit(tmp_path, path, str(graded), min_openness_class="II")
    assert [f.severity.value for f in report.findings if f.check == "openness-below-class"] == ["warning"]
    assert report.passed


def test_an_undecided_class_fails_closed(tmp_path):
    path = _model(tmp_path, "---\nlicense: other\n---\n# x\n")
    report = _audit(tmp_path, path, min_openness_class="III")
    below = [f for f in report.findings if f.check == "openness-below-class"]
    assert below and below[0].outcome.value == "unknown" and not report.passed


def test_a_misspelt_min_openness_class_fails_closed(tmp_path):
    path = _model(tmp_path, FULL_CARD, {"config.json": "{}", "modeling_acme.py": "x = 1\n"})
    report = _audit(tmp_path, path, min_openness_class="class 3")
    (below,) = [f for f in report.findings if f.check == "openness-below-class"]
    assert below.outcome.value == "unknown" and "not one of I, II, III" in below.message and not report.passed


def test_a_license_link_to_github_is_not_a_code_repository(tmp_path):
    card = ("---\nlicense: mit\n---\n# m\n\nLicense: https://github.com/acme/m/blob/main/LICENSE\n"
            "Code: https://github.com/acme/m-train\n")
    o = _audit(tmp_path, _model(tmp_path, card)).models[0].openness
    code = o.component("code") if o else None
    assert code is not None and code.status == "linked" and "acme/m-train" in code.detail
    assert "LICENSE" not in code.detail and [e.line for e in code.evidence] == [7]


def test_class_rank_accepts_roman_and_arabic():
    assert class_rank("I") == 3 and class_rank("ii") == 2 and class_rank(3) == 1
    assert class_rank(None) == 0 and class_rank("IV") == 0


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "cyclonedx", "spdx", "html"])
def test_every_format_carries_the_profile(tmp_path, fmt):
    path = _model(tmp_path, FULL_CARD, {"config.json": "{}"})
    out = audit.render(_audit(tmp_path, path), fmt)
    assert isinstance(out, str)
    if fmt == "json":
        o = json.loads(out)["models"][0]["openness"]
        assert o["class"] == "III" and o["next_class"] == "II"
        assert [c["name"] for c in o["components"]] == ["weights", "code", "data", "documentation", "paper"]
    elif fmt == "cyclonedx":
        model = json.loads(out)["metadata"]["component"]  # the one audited model is what the BOM describes
        props = {p["name"]: p["value"] for p in model["properties"]}
        assert props["mlaudit:openness-class"] == "III" and props["mlaudit:openness-weights"] == "osi-approved"
    elif fmt == "spdx":
        pkg = json.loads(out)["packages"][0]
        assert "Openness: MOF class III" in pkg["comment"] and "weights osi-approved" in pkg["comment"]
    else:
        assert "class III" in out and "osi-approved" in out
