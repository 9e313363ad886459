"""The shipped licence catalog: schema, consistency, key facts, lookups, and agreement with the real texts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from audit.licenses.catalog import (
    LICENSES_DIR,
    CatalogError,
    alias_form,
    catalog,
    load_dir,
    validate_entry,
)

# Every licence id the Hugging Face Hub accepts in a card's `license:` field
# (hub-docs docs/hub/repositories-licenses.md, checked against huggingface.js's License type).
HUB_IDS = [
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openmdw-1.0",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "grok2-community",
    "gemma",
    "unknown",
    "other",
]
FAMILY_IDS = ["gpl", "lgpl", "bsd", "cc", "openrail", "gfdl", "other", "unknown"]
MODEL_KEYS = [
    "llama1-noncommercial",
    "llama2-aup",
    "llama3-aup",
    "llama3.1-aup",
    "llama3.2-aup",
    "llama3.3-aup",
    "llama4-aup",
    "gemma-prohibited-use-policy",
    "deepseek-license",
    "tongyi-qianwen",
    "tongyi-qianwen-research",
    "qwen",
    "qwen-research",
    "yi-license-1.0",
    "yi-community-2.1",
    "falcon-180b-tii",
    "tii-falcon-llm",
    "tii-falcon-2-11b-1.0",
    "tii-falcon-3",
    "mnpl-0.1",
    "mrl-0.1",
    "nvidia-open-model-license",
    "stability-ai-community",
    "stability-ai-nc-research-community",
    "openmdw-1.1",
    "msr-license",
    "opt-175b",
    "exaone-1.1-nc",
    "kimi-modified-mit",
    "skywork-community",
    "nexusflow-community",
    "katanemo-research",
    "chatglm-6b-license",
    "chatglm2-6b-license",
    "chatglm3-6b-license",
    "glm-4",
    "databricks-open-model-license",
    "health-ai-developer-foundations",
    "lmsys-chat-1m",
]
LLAMA = ["llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4"]
OPENRAIL = [
    "bigscience-bloom-rail-1.0",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "openrail++",
    "bigcode-openrail-m",
    "openrail",
]

# The shared corpus sits beside the repository (../shared), in development and in CI alike.
CORPUS = Path(__file__).resolve().parent / "fixtures" / "licenses" / "corpus" / "licenses"  # copies of shared/corpus/licenses


def _files() -> list[str]:
    return sorted(n for n in os.listdir(LICENSES_DIR) if n.endswith(".yaml"))


def _raw() -> dict[str, dict]:
    out = {}
    for name in _files():
        with open(os.path.join(LICENSES_DIR, name), encoding="utf-8") as fh:
            out[name] = yaml.safe_load(fh)
    return out


RAW = _raw()
CAT = catalog()


def _norm(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip().lower()


# ---------------------------------------------------------------- schema and consistency


def test_every_file_is_a_valid_entry_named_after_its_key():
    assert len(RAW) >= 110
    for name, data in RAW.items():
        assert validate_entry(data, name) == [], name
        assert name == data["key"] + ".yaml"


def test_catalog_loads_every_file():
    assert len(CAT) == len(RAW)
    assert {lic.key for lic in CAT.all()} == {d["key"] for d in RAW.values()}


def test_no_spelling_maps_to_two_keys():
    owner: dict[str, str] = {}
    clashes = []
    for data in RAW.values():
        texts = [data["key"], data.get("hub_id"), data["spdx"], data["name"], *data.get("aliases", [])]
        for text in filter(None, texts):
            form = alias_form(text)
            if owner.setdefault(form, data["key"]) != data["key"]:
                clashes.append(f"{text!r}: {owner[form]} / {data['key']}")
    assert clashes == []


def test_every_spelling_resolves_to_its_own_entry():
    for data in RAW.values():
        for text in [data["key"], data["spdx"], data["name"], *data.get("aliases", [])]:
            assert CAT.lookup(text) == data["key"], text


def test_link_patterns_are_lower_case_without_scheme_and_never_inside_another_entrys_pattern():
    patterns = [(link, d["key"]) for d in RAW.values() for link in d.get("links", [])]
    for link, key in patterns:
        assert link == link.lower() and "://" not in link and not link.startswith("www."), link
        assert CAT.by_link("https://" + link) == key, link
        for other, other_key in patterns:
            if other_key != key:
                assert link not in other, f"{link} ({key}) matches {other} ({other_key})"


def test_references_point_at_existing_keys():
    for lic in CAT.all():
        for ref in (*lic.companions, *lic.allowed_derivative_licenses):
            assert ref in CAT, f"{lic.key} -> {ref}"
        for term in lic.terms:
            policy = term.params.get("policy")
            if policy is not None:
                assert policy in CAT, f"{lic.key} -> {policy}"
            for ref in term.params.get("compatible", []):
                assert ref in CAT, f"{lic.key} -> {ref}"


def test_every_hub_id_is_present_with_hub_id_equal_to_key():
    for hub_id in HUB_IDS:
        lic = CAT.get(hub_id)
        assert lic is not None, hub_id
        assert lic.hub_id == hub_id
    # entries outside the Hub's list must not claim a Hub id
    for lic in CAT.all():
        if lic.hub_id is not None:
            assert lic.hub_id in HUB_IDS, lic.key


def test_model_licences_without_hub_id_are_present_with_licenseref():
    for key in MODEL_KEYS:
        lic = CAT[key]
        assert lic.hub_id is None
        assert lic.spdx == f"LicenseRef-{key}", key


def test_family_ids_are_ambiguous_and_fail_closed():
    for key in FAMILY_IDS:
        lic = CAT[key]
        assert lic.ambiguous, key
        assert lic.spdx == f"LicenseRef-{key}"
        # every BSD variant lets derived works take other terms; for the other families that is unknown
        assert lic.relicense == (key == "bsd"), key
    for key in ("other", "unknown"):
        assert CAT[key].category == "unknown"
        assert not CAT[key].permissions
    assert [lic.key for lic in CAT.all() if lic.ambiguous and lic.key not in FAMILY_IDS] == []


def test_standard_licences_use_real_spdx_ids():
    expected = {
        "apache-2.0": "Apache-2.0",
        "mit": "MIT",
        "gpl-3.0": "GPL-3.0-only",
        "gpl-2.0": "GPL-2.0-only",
        "agpl-3.0": "AGPL-3.0-only",
        "lgpl-2.1": "LGPL-2.1-only",
        "cc-by-nc-4.0": "CC-BY-NC-4.0",
        "cc0-1.0": "CC0-1.0",
        "bsd-3-clause": "BSD-3-Clause",
        "odbl": "ODbL-1.0",
        "openmdw-1.0": "OpenMDW-1.0",
        "c-uda": "C-UDA-1.0",
        "lgpl-lr": "LGPLLR",
        "wtfpl": "WTFPL",
        "bsl-1.0": "BSL-1.0",
    }
    for key, spdx in expected.items():
        assert CAT[key].spdx == spdx, key
    # LicenseRef ids must be valid SPDX idstrings ('+' is not allowed there)
    for lic in CAT.all():
        if lic.spdx.startswith("LicenseRef-"):
            assert re.fullmatch(r"LicenseRef-[A-Za-z0-9.\-]+", lic.spdx), lic.spdx


def test_non_permissive_entries_say_derivatives_cannot_relicense():
    # The loader defaults relicense to True, so every restrictive entry must say false explicitly.
    for name, data in RAW.items():
        if data["category"] not in ("permissive", "public-domain"):
            assert data.get("derivatives", {}).get("relicense") is False, name


# ---------------------------------------------------------------- key facts


def test_llama_user_threshold_prefix_and_display_line():
    for key in LLAMA:
        assert CAT[key].term("user-threshold").params == {"users": 700_000_000}, key
        assert CAT[key].companions == (key + "-aup",)
    assert CAT["llama2"].term("name-prefix") is None
    assert CAT["llama2"].term("attribution-text") is None
    assert CAT["llama3"].term("name-prefix").params["prefix"] == "Llama 3"
    assert CAT["llama3"].term("attribution-text").params["text"] == "Built with Meta Llama 3"
    for key in LLAMA[2:]:
        assert CAT[key].term("name-prefix").params["prefix"] == "Llama", key
        assert CAT[key].term("attribution-text").params["text"] == "Built with Llama", key


def test_llama_output_training_ban_only_in_2_and_3():
    for key in LLAMA:
        assert CAT[key].has("no-training-other-models") == (key in ("llama2", "llama3")), key


def test_llama_eu_multimodal_clause_from_3_2_on():
    for key in LLAMA:
        for k in (key, key + "-aup"):
            geo = CAT[k].term("geographic")
            if key in ("llama3.2", "llama3.3", "llama4"):
                assert geo is not None and geo.params["regions"] == ["EU"], k
            else:
                assert geo is None, k


def test_user_thresholds_of_other_model_licences():
    assert CAT["tongyi-qianwen"].term("user-threshold").params == {"users": 100_000_000}
    assert CAT["qwen"].term("user-threshold").params == {"users": 100_000_000}
    assert CAT["tongyi-qianwen"].has("no-training-other-models")
    assert not CAT["qwen"].has("no-training-other-models")
    assert CAT["qwen"].term("attribution-text").params["text"] == "Built with Qwen"
    assert CAT["stability-ai-community"].term("revenue-threshold").params == {"usd_per_year": 1_000_000}
    assert CAT["stability-ai-community"].term("attribution-text").params["text"] == "Powered by Stability AI"
    assert CAT["exaone-1.1-nc"].term("name-prefix").params["prefix"] == "EXAONE"
    kimi = CAT["kimi-modified-mit"].term("display-name").params
    assert kimi == {"text": "Kimi K2", "users": 100_000_000, "usd_per_month": 20_000_000}


def test_zhipu_chatglm_and_glm_4_licences():
    for key in ("chatglm-6b-license", "chatglm2-6b-license", "chatglm3-6b-license", "glm-4"):
        lic = CAT[key]
        reg = lic.term("registration")
        assert reg is not None and reg.params["url"] == "https://open.bigmodel.cn/mla/form", key
        assert lic.has("commercial-use") and lic.has("revocable") and not lic.relicense, key
        assert "military purposes" in lic.term("field-of-use").params["restrictions"], key
        assert lic.licensor_orgs == ("THUDM", "zai-org"), key
    # only the GLM-4 licence adds the display line and the name prefix
    assert CAT["glm-4"].term("attribution-text").params["text"] == "Built with glm-4"
    assert CAT["glm-4"].term("name-prefix").params["prefix"] == "glm-4"
    for key in ("chatglm-6b-license", "chatglm2-6b-license", "chatglm3-6b-license"):
        assert not CAT[key].has("attribution-text") and not CAT[key].has("name-prefix"), key
    # ChatGLM-6B/2-6B state registration in the README, ChatGLM3-6B and GLM-4 in the licence (§2)
    assert CAT["chatglm-6b-license"].term("registration").clause.startswith("README")
    assert CAT["chatglm3-6b-license"].term("registration").clause == "§2"


def test_dbrx_hai_def_and_lmsys_chat_1m():
    dbrx = CAT["databricks-open-model-license"]
    assert dbrx.term("user-threshold").params == {"users": 700_000_000}
    assert dbrx.has("no-training-other-models") and dbrx.has("commercial-use") and not dbrx.relicense
    assert dbrx.term("acceptable-use-policy").params["url"] == "https://www.databricks.com/legal/acceptable-use-policy-open-model"
    assert dbrx.term("include-notice").params["text"].startswith("DBRX is provided under and subject to")
    assert dbrx.date == "2024-03-27"
    hai = CAT["health-ai-developer-foundations"]
    assert hai.has("pass-use-restrictions") and hai.has("include-notice") and hai.has("state-changes")
    assert any("medical-device" in r for r in hai.term("field-of-use").params["restrictions"])
    assert hai.licensor == "Google" and hai.date == "2024-11-15" and not hai.relicense
    lmsys = CAT["lmsys-chat-1m"]
    assert lmsys.has("no-distribution") and lmsys.has("revocable") and not lmsys.has("commercial-use")
    assert lmsys.category == "proprietary"


def test_falcon_publication_statements_differ_by_version():
    assert "Falcon LLM technology" in CAT["tii-falcon-2-11b-1.0"].term("attribution-text").params["text"]
    assert "artificial intelligence technology" in CAT["tii-falcon-3"].term("attribution-text").params["text"]
    assert CAT["falcon-180b-tii"].has("no-hosting")
    assert not CAT["tii-falcon-2-11b-1.0"].has("no-hosting")


def test_non_commercial_and_research_licences():
    for lic in CAT.all():
        if lic.key.startswith("cc-by-nc"):
            assert lic.has("non-commercial") and lic.category == "non-commercial", lic.key
            assert not lic.has("commercial-use") and not lic.relicense
    for key in (
        "mrl-0.1",
        "msr-license",
        "qwen-research",
        "tongyi-qianwen-research",
        "llama1-noncommercial",
        "opt-175b",
        "deepfloyd-if-license",
        "fair-noncommercial-research-license",
        "exaone-1.1-nc",
    ):
        assert CAT[key].has("research-only"), key
        assert not CAT[key].has("commercial-use"), key
    for key in ("mnpl-0.1", "stability-ai-nc-research-community", "yi-license-1.0"):
        assert CAT[key].has("non-commercial") and not CAT[key].has("commercial-use"), key
    assert CAT["yi-community-2.1"].has("commercial-use")
    assert CAT["msr-license"].has("no-distribution")


def test_relicensing_of_derivatives():
    for key in ("mit", "apache-2.0", "bsd-3-clause", "cc-by-4.0", "cc0-1.0", "openmdw-1.0"):
        assert CAT[key].relicense, key
    for key in [
        *LLAMA,
        "gemma",
        "deepseek-license",
        "cc-by-sa-4.0",
        "gpl-3.0",
        "qwen",
        "kimi-modified-mit",
        "nvidia-open-model-license",
    ]:
        assert not CAT[key].relicense, key
    assert "gpl-3.0" in CAT["cc-by-sa-4.0"].allowed_derivative_licenses
    assert CAT["lgpl-2.1"].allowed_derivative_licenses == ("gpl-2.0", "gpl-3.0")


def test_use_restrictions_travel_with_rail_gemma_deepseek_falcon():
    for key in [
        *OPENRAIL,
        "gemma",
        "deepseek-license",
        "falcon-180b-tii",
        "tii-falcon-2-11b-1.0",
        "tii-falcon-3",
    ]:
        assert CAT[key].has("pass-use-restrictions"), key
        assert not CAT[key].relicense, key
    for key in OPENRAIL:
        assert CAT[key].category == "open-rail"
    # CreativeML and OpenRAIL++ share one Attachment A, so each may pass it on under the other
    assert "openrail++" in CAT["creativeml-openrail-m"].allowed_derivative_licenses
    assert "creativeml-openrail-m" in CAT["openrail++"].allowed_derivative_licenses
    # DeepSeek's list (military ban) is matched by no other licence
    assert CAT["deepseek-license"].allowed_derivative_licenses == ()


def test_acceptable_use_policies_are_linked_to_their_licences():
    assert CAT["gemma"].term("acceptable-use-policy").params["policy"] == "gemma-prohibited-use-policy"
    assert CAT["gemma"].companions == ("gemma-prohibited-use-policy",)
    for key in LLAMA:
        assert CAT[key].term("acceptable-use-policy").params["policy"] == key + "-aup"
        assert CAT[key + "-aup"].category == "use-policy"


def test_versions_and_dates_are_recorded_as_strings():
    assert CAT["llama3.1"].date == "2024-07-23"
    assert CAT["llama4"].date == "2025-04-05"
    assert CAT["deepseek-license"].version == "1.0"
    assert CAT["gemma"].date == "2025-03-24"
    assert CAT["cc-by-4.0"].version == "4.0"


# ---------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    "text,key",
    [
        ("Apache 2.0", "apache-2.0"),
        ("Apache License 2.0", "apache-2.0"),
        ("apache2", "apache-2.0"),
        ("MIT License", "mit"),
        ("llama-3.1", "llama3.1"),
        ("Llama 3.1 Community License", "llama3.1"),
        ("llama 2", "llama2"),
        ("llama3.2-license", "llama3.2"),
        ("cc-by-nc-4", "cc-by-nc-4.0"),
        ("CC BY-NC-SA 4.0", "cc-by-nc-sa-4.0"),
        ("GNU GPL v3", "gpl-3.0"),
        ("GPLv2", "gpl-2.0"),
        ("GPL", "gpl"),
        ("deepseek", "deepseek-license"),
        ("yi-license", "yi-community-2.1"),
        ("falcon-llm-license", "tii-falcon-3"),
        ("falcon2-11b-license", "tii-falcon-2-11b-1.0"),
        ("microsoft-research-license", "msr-license"),
        ("tongyi-qianwen-license-agreement", "tongyi-qianwen"),
        ("gemma-terms-of-use", "gemma"),
        ("stabilityai-ai-community", "stability-ai-community"),
        ("stabilityai-nc-research-community", "stability-ai-nc-research-community"),
        ("mnpl", "mnpl-0.1"),
        ("mrl", "mrl-0.1"),
        ("qwen-research", "qwen-research"),
        ("creativeml-openrail++-m", "openrail++"),
        ("Creative Commons Licence", "cc"),
        ("LGPL_v2.1", "lgpl-2.1"),
        ("chatglm-6b-license", "chatglm-6b-license"),
        ("chatglm2-6b-license", "chatglm2-6b-license"),
        ("chatglm3-6b-license", "chatglm3-6b-license"),
        ("glm-4", "glm-4"),
        ("GLM-4 License", "glm-4"),
        ("databricks-open-model-license", "databricks-open-model-license"),
        ("Databricks Open Model License", "databricks-open-model-license"),
        ("health-ai-developer-foundations", "health-ai-developer-foundations"),
        ("Health AI Developer Foundations Terms of Use", "health-ai-developer-foundations"),
        ("lmsys-chat-1m", "lmsys-chat-1m"),
        # separators and dots dropped or moved: the compact form, when one license holds it
        ("flux1-dev-non-commercial-license", "flux-1-dev-non-commercial-license"),
        ("llama31", "llama3.1"),
        ("ccbync40", "cc-by-nc-4.0"),
    ],
)
def test_lookup_free_form_spellings(text, key):
    assert CAT.lookup(text) == key


@pytest.mark.parametrize("text", ["", "apache", "llama", "cc-by-nc", "license", "some-custom-license"])
def test_lookup_unknown_or_ambiguous_spellings_fails_closed(text):
    assert CAT.lookup(text) is None


def test_a_compact_spelling_never_names_another_license_than_its_alias():
    from audit.licenses.catalog import _compact

    for lic in CAT.all():
        for text in (lic.key, lic.name, *lic.aliases):
            squeezed = _compact(text.lower().replace(" ", "-"))
            assert CAT.lookup(squeezed) in (lic.key, None), (text, squeezed)


@pytest.mark.parametrize(
    "url,key",
    [
        ("https://llama.meta.com/llama3/license/", "llama3"),
        ("https://www.llama.com/llama3_1/license/", "llama3.1"),
        ("https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE", "llama3.2"),
        ("https://ai.google.dev/gemma/terms", "gemma"),
        ("https://github.com/deepseek-ai/DeepSeek-Coder/blob/main/LICENSE-MODEL", "deepseek-license"),
        (
            "https://github.com/SkyworkAI/Skywork/blob/main/Skywork%20Community%20License.pdf",
            "skywork-community",
        ),
        ("https://www.apache.org/licenses/LICENSE-2.0.txt", "apache-2.0"),
        ("http://www.apache.org/licenses/LICENSE-2.0", "apache-2.0"),
        ("https://creativecommons.org/licenses/by-nc/4.0/legalcode", "cc-by-nc-4.0"),
        ("https://creativecommons.org/licenses/by-nc-sa/4.0/", "cc-by-nc-sa-4.0"),
        ("https://www.gnu.org/licenses/old-licenses/gpl-2.0.html", "gpl-2.0"),
        ("https://www.gnu.org/licenses/lgpl-3.0.html", "lgpl-3.0"),
        ("https://falconllm.tii.ae/falcon-terms-and-conditions.html", "tii-falcon-3"),
        ("https://falconllm.tii.ae/falcon-2-terms-and-conditions.html", "tii-falcon-2-11b-1.0"),
        ("https://mistral.ai/licenses/MNPL-0.1.md", "mnpl-0.1"),
        ("https://huggingface.co/spaces/bigscience/license", "bigscience-bloom-rail-1.0"),
        ("https://huggingface.co/THUDM/glm-4-9b/LICENSE", "glm-4"),
        ("https://huggingface.co/THUDM/glm-4-9b-chat/blob/main/LICENSE", "glm-4"),
        ("https://github.com/THUDM/ChatGLM-6B/blob/main/MODEL_LICENSE", "chatglm-6b-license"),
        ("https://github.com/THUDM/ChatGLM2-6B/blob/main/MODEL_LICENSE", "chatglm2-6b-license"),
        ("https://github.com/THUDM/ChatGLM3/blob/main/MODEL_LICENSE", "chatglm3-6b-license"),
        ("https://www.databricks.com/legal/open-model-license", "databricks-open-model-license"),
        ("https://github.com/databricks/dbrx/blob/main/LICENSE", "databricks-open-model-license"),
        ("https://developers.google.com/health-ai-developer-foundations/terms", "health-ai-developer-foundations"),
    ],
)
def test_by_link_resolves_licence_urls(url, key):
    assert CAT.by_link(url) == key


@pytest.mark.parametrize(
    "url",
    [
        # a repository's LICENSE file says nothing by its URL alone
        "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/LICENSE",
        "https://huggingface.co/microsoft/Orca-2-13b/blob/main/LICENSE",
        "https://example.com/license",
        "LICENSE",
    ],
)
def test_by_link_does_not_guess(url):
    assert CAT.by_link(url) is None


# ---------------------------------------------------------------- agreement with the real licence texts

# Facts checked against corpus texts: file, phrases that must appear in it.
CORPUS_FACTS = {
    "llama2": ("llama2.txt", ["July 18, 2023", "700 million"]),
    "llama3": ("llama3.txt", ["April 18, 2024", "700 million", "improve any other large language model"]),
    "llama3.1": ("llama3.1.txt", ["July 23, 2024", "700 million"]),
    "llama3.2": ("llama3.2.txt", ["September 25, 2024", "700 million"]),
    "llama3.3": ("llama3.3.txt", ["December 6, 2024", "700 million"]),
    "llama4": ("llama4.txt", ["April 5, 2025", "700 million"]),
    "gemma-prohibited-use-policy": ("gemma-prohibited-use-policy.txt", ["February 21, 2024"]),
    "deepseek-license": ("deepseek-license.txt", ["Version 1.0, 23 October 2023", "military use"]),
    "tongyi-qianwen": ("tongyi-qianwen.txt", ["August 3, 2023", "100 million"]),
    "tongyi-qianwen-research": (
        "tongyi-qianwen-research.txt",
        ["November 30, 2023", "research or evaluation"],
    ),
    "creativeml-openrail-m": ("creativeml-openrail-m.txt", ["August 22, 2022"]),
    "tii-falcon-2-11b-1.0": ("falcon-2-tii-license-1.0.txt", ["Version 1.0", "May 2024"]),
    "tii-falcon-3": ("falcon-3-tii-falcon-license.txt", ["December 2024"]),
    "stability-ai-nc-research-community": ("stability-ai-nc-research-community.txt", ["December 06, 2023"]),
    "mrl-0.1": ("mrl-0.1.txt", ["and Outputs for Research Purposes"]),
}


def _corpus_text(name: str) -> str:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"shared corpus not beside the repository ({path})")
    return _norm(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("key", sorted(CORPUS_FACTS))
def test_recorded_facts_appear_in_the_licence_text(key):
    name, phrases = CORPUS_FACTS[key]
    text = _corpus_text(name)
    for phrase in phrases:
        assert _norm(phrase) in text, f"{key}: {phrase!r} not in {name}"


def _corpus_sources(lic_key: str) -> list[str]:
    raw = RAW[lic_key + ".yaml"]
    return [
        s.split()[0].removeprefix("corpus/licenses/")
        for s in raw.get("sources", [])
        if s.startswith("corpus/licenses/")
    ]


@pytest.mark.parametrize(
    "key",
    sorted(
        d["key"] for d in RAW.values() if any(s.startswith("corpus/licenses/") for s in d.get("sources", []))
    ),
)
def test_required_phrases_match_the_text_and_prose_is_our_own(key):
    lic = CAT[key]
    texts = [_corpus_text(name) for name in _corpus_sources(key)]
    whole = " ".join(texts)
    # short required phrases (notices, display lines, prefixes) are quoted exactly as the licence has them
    for term in lic.terms:
        for param in ("text", "prefix"):
            value = term.params.get(param)
            if isinstance(value, str):
                assert _norm(value) in whole, f"{key}: {term.id} {value!r}"
    # summaries and notes are written in our own words: no run of 10 words copied from the licence text
    prose = [lic.summary, RAW[key + ".yaml"].get("notes") or "", lic.derivative_note or ""]
    prose += [t.note or "" for t in lic.terms]
    for sentence in prose:
        words = _norm(sentence).split()
        for i in range(len(words) - 9):
            window = " ".join(words[i : i + 10])
            assert window not in whole, f"{key}: copied wording {window!r}"


# ---------------------------------------------------------------- loader behaviour on bad data


def test_loader_names_the_broken_file(tmp_path):
    (tmp_path / "good.yaml").write_text((Path(LICENSES_DIR) / "mit.yaml").read_text(encoding="utf-8"))
    (tmp_path / "bad.yaml").write_text("key: bad\nname: [unclosed\n")
    with pytest.raises(CatalogError, match=r"bad\.yaml"):
        load_dir(str(tmp_path))


def test_loader_rejects_terms_outside_the_vocabulary(tmp_path):
    data = dict(RAW["mit.yaml"])
    data["terms"] = {"permissions": ["free-beer"], "conditions": [], "limitations": []}
    (tmp_path / "mit.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError, match="free-beer"):
        load_dir(str(tmp_path))
