"""License identification by text (audit.licenses.identify) on the corpus texts and transformed copies.

Fixtures: tests/fixtures/licenses/corpus/ are copies of shared/corpus license texts and their labels
(sources in tests/fixtures/licenses/SOURCES.md). Transformed texts are made here from those copies.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from audit.errors import InputUnreadable
from audit.licenses import identify as ident
from audit.licenses.identify import Identification, identify_file, identify_text
from audit.report.identify import render_identifications

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures" / "licenses"
CORPUS = FIX / "corpus"
LABELS = yaml.safe_load((CORPUS / "labels.yaml").read_text(encoding="utf-8"))["items"]
BY_ID = {it["id"]: it for it in LABELS}


def text_of(label_id: str) -> str:
    return (CORPUS / BY_ID[label_id]["file"]).read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    return re.split(r"\n[ \t\u00a0]*\n", text)


def top(text: str, name: str | None = None) -> Identification:
    results = identify_text(text, name)
    assert results, "identify_text must always answer"
    return results[0]


def confidently(result: Identification, key: str) -> bool:
    return result.key == key and result.confidence >= 0.5


# ---------------------------------------------------------------------------------------------------
# every corpus license text, as labelled


@pytest.mark.parametrize("item", LABELS, ids=[it["id"] for it in LABELS])
def test_corpus_text_is_identified_as_labelled(item):
    results = identify_file(str(CORPUS / item["file"]))
    first = results[0]
    expected = item["expected"]
    assert first.key == expected["license_id"], first.details
    if expected["authentic_full_text"]:
        assert first.verdict == "exact", first.details
        assert first.confidence == 1.0
        assert first.version is not None or expected["license_id"] in ("mit", "msr-license")
    else:
        assert first.verdict == "stub", first.details
        assert first.confidence < 1.0


def test_versions_of_the_llama_family_are_told_apart():
    versions = {k: top(text_of(k)).version for k in ("llama2", "llama3.1", "llama3.2", "llama3.3", "llama4")}
    assert versions == {"llama2": "2", "llama3.1": "3.1", "llama3.2": "3.2", "llama3.3": "3.3", "llama4": "4"}


def test_the_llama3_license_file_also_holds_its_use_policy():
    # meta-llama/llama-models ships the Llama 3 LICENSE with the acceptable use policy appended
    results = identify_text(text_of("llama3"))
    assert [r.key for r in results] == ["llama3", "llama3-aup"]
    assert all(r.verdict == "exact" for r in results)
    assert results[0].end_line < results[1].start_line


# ---------------------------------------------------------------------------------------------------
# held out: without the corpus references, the ScanCode-derived ones must carry the answer, and a text
# whose own reference is missing must not get a confident wrong answer


@pytest.fixture(scope="module")
def scancode_only():
    data = ident._data()
    if not any(s.startswith("scancode:") for r in data.refs for s in r.sources):
        pytest.skip("the shipped data was built without ScanCode")
    return ident._subset(data, lambda r: any(s.startswith("scancode:") for s in r.sources))


@pytest.mark.parametrize("item", LABELS, ids=[it["id"] for it in LABELS])
def test_held_out_corpus_text_gets_no_confident_wrong_answer(item, scancode_only):
    expected = item["expected"]["license_id"]
    result = ident._identify(text_of(item["id"]), None, scancode_only)[0]
    if any(r.key == expected for r in scancode_only.refs) and item["expected"]["authentic_full_text"]:
        assert result.key == expected, result.details
        assert result.confidence >= 0.8
    else:
        assert result.key == expected or result.confidence < 0.5, result


# ---------------------------------------------------------------------------------------------------
# transformed texts


def rewrap(text: str, width: int) -> str:
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paragraphs(text) if p.strip())


@pytest.mark.parametrize("label_id,width", [("llama3.1", 60), ("apache-2.0", 50), ("gemma-terms-20240221", 100)])
def test_rewrapped_text_is_still_exact(label_id, width):
    original = top(text_of(label_id))
    result = top(rewrap(text_of(label_id), width))
    assert (result.key, result.version, result.verdict) == (original.key, original.version, "exact"), result.details


def test_markdown_headings_and_bold_are_ignored():
    lines = []
    for line in text_of("llama3.1").splitlines():
        words = line.split()
        if 0 < len(words) <= 8:
            line = "## " + line.strip()
        elif words:
            first, _, rest = line.strip().partition(" ")
            line = f"**{first}** {rest}"
        lines.append(line)
    result = top("\n".join(lines))
    assert (result.key, result.version, result.verdict) == ("llama3.1", "3.1", "exact"), result.details


def test_copyright_filled_in_is_still_exact():
    text = text_of("mit").replace("<year> <copyright holders>", "2024 Acme Robotics GmbH")
    assert (top(text).key, top(text).verdict) == ("mit", "exact")
    text = "Copyright (c) 2025 Example Labs. All rights reserved.\n\n" + text_of("apache-2.0")
    assert (top(text).key, top(text).verdict) == ("apache-2.0", "exact")


def test_curly_quotes_dashes_and_licence_spelling_are_ignored():
    text = text_of("mit").replace('"', "\u201c").replace("license", "licence").replace("LICENSE", "LICENCE")
    result = top(text)
    assert (result.key, result.verdict) == ("mit", "exact"), result.details


def test_a_clause_added_is_reported_as_modified_and_quoted():
    paras = paragraphs(text_of("llama3.1"))
    at = next(i for i, p in enumerate(paras) if p.strip().startswith("2. Additional Commercial Terms"))
    clause = "2a. Extra Terms. You may not use the Llama Materials to run a toaster, and you must send Acme a postcard."
    result = top("\n\n".join(paras[:at] + [clause] + paras[at:]))
    assert (result.key, result.verdict) == ("llama3.1", "modified")
    assert 0.5 <= result.confidence < 1.0
    added = [d for d in result.details if d.startswith("added")]
    assert (added and "postcard" not in added[0]) or "toaster" in added[0], result.details
    assert any("extra terms you may not use the llama materials" in d for d in result.details)


def test_a_clause_removed_is_reported_as_modified():
    paras = paragraphs(text_of("llama3.1"))
    at = next(i for i, p in enumerate(paras) if p.strip().startswith("2. Additional Commercial Terms"))
    result = top("\n\n".join(paras[:at] + paras[at + 1 :]))
    assert (result.key, result.verdict) == ("llama3.1", "modified")
    removed = [d for d in result.details if d.startswith("removed")]
    assert removed and re.search(r"removed \d+ word", removed[0]), result.details
    # it says where: after the end of the previous clause, by line
    assert "line" in removed[0]


def test_a_modified_mit_with_an_extra_paragraph_names_the_paragraph():
    extra = (
        "Our only modification: if the Software is used in a product with more than 50 million monthly "
        'active users, you shall display "Powered by Example" on its home page.'
    )
    text = text_of("mit").replace("<year> <copyright holders>", "2025 Example AI") + "\n\n" + extra + "\n"
    result = top(text)
    assert (result.key, result.verdict) == ("mit", "modified")
    assert any(d.startswith("added after the license text") and "our only modification" in d for d in result.details)


@pytest.mark.parametrize(
    "source,swap",
    [
        ("llama3.1", {"3.1": "3.3", "July 23, 2024": "December 6, 2024"}),
        ("llama3.3", {"3.3": "3.1", "December 6, 2024": "July 23, 2024"}),
    ],
)
def test_a_version_swapped_text_is_not_confidently_the_original_or_the_new_one(source, swap):
    text = text_of(source)
    for old, new in swap.items():
        text = text.replace(old, new)
    result = top(text)
    assert not confidently(result, source), result
    assert result.verdict != "exact"
    assert result.confidence < 0.5
    assert any("mixes the wording" in d for d in result.details), result.details


def test_name_and_date_changed_back_and_forth_between_3_2_and_3_1_is_not_exact():
    text = text_of("llama3.2").replace("3.2", "3.1").replace("September 25, 2024", "July 23, 2024")
    result = top(text)
    assert not (result.verdict == "exact" and result.key in ("llama3.1", "llama3.2"))


@pytest.mark.parametrize("label_id", ["llama3.1", "apache-2.0", "deepseek-license", "gemma-terms-20240221"])
def test_cut_in_half_is_truncated(label_id):
    text = text_of(label_id)
    expected = top(text)
    result = top(text[: len(text) // 2])
    assert (result.key, result.verdict) == (expected.key, "truncated"), result.details
    assert result.confidence >= 0.8
    assert any(d.startswith("the text stops at") for d in result.details)


def test_apache_without_its_optional_appendix_is_exact():
    text = text_of("apache-2.0")
    cut = text[: text.index("END OF TERMS AND CONDITIONS") + len("END OF TERMS AND CONDITIONS")]
    assert (top(cut).key, top(cut).verdict) == ("apache-2.0", "exact")


def _pseudo_translate(text: str) -> str:
    """Every English word to Cyrillic letters; names with digits (Llama 3.1) and URLs survive, as in a translation."""
    table = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "абкдефгхийклмнопкрстуввкузАБКДЕФГХИЙКЛМНОПКРСТУВВКУЗ")

    def word(m: re.Match) -> str:
        w = m.group(0)
        return w if w.lower() == "llama" else w.translate(table)

    parts = re.split(r"(https?://\S+)", text)
    return "".join(p if p.startswith("http") else re.sub(r"[A-Za-z]+", word, p) for p in parts)


def test_a_translation_into_another_script_is_a_translation_or_unknown():
    result = top(_pseudo_translate(text_of("llama3.1")))
    assert result.verdict in ("translation", "unknown")
    assert result.key in ("llama3.1", "llama3.1-aup", None)
    assert result.confidence < 0.5


def test_a_german_text_naming_the_license_is_a_translation():
    # our own words, not a translation of the license text
    text = (
        "LLAMA 3.1 COMMUNITY-LIZENZVEREINBARUNG\n\n"
        "Diese Vereinbarung regelt die Nutzung, Vervielfältigung und Weitergabe der Llama-Materialien. "
        "Wer die Materialien weitergibt, muss eine Kopie dieser Vereinbarung beifügen und auf einer Webseite "
        "gut sichtbar angeben, dass das Produkt mit Llama gebaut wurde. Die Nutzung muss mit den geltenden "
        "Gesetzen übereinstimmen und die Richtlinie zur zulässigen Nutzung einhalten, die unter "
        "https://llama.meta.com/llama3_1/use-policy abrufbar ist und Teil dieser Vereinbarung wird. "
        "Wenn die monatlich aktiven Nutzer eines Lizenznehmers am Tag der Veröffentlichung mehr als "
        "siebenhundert Millionen betragen, muss der Lizenznehmer eine eigene Lizenz bei Meta beantragen. "
        "Meta gewährt keine Garantien; die Haftung ist ausgeschlossen, soweit das Gesetz es erlaubt. "
        "Diese Vereinbarung unterliegt dem Recht des Staates Kalifornien, ohne Rücksicht auf dessen "
        "Kollisionsnormen, und die Gerichte in Kalifornien sind ausschließlich zuständig.\n"
    )
    result = top(text)
    assert result.verdict == "translation", result
    assert result.key in ("llama3.1", "llama3.1-aup")
    assert result.confidence < 0.5


def test_url_only_pointer_is_a_stub_naming_the_license():
    result = top("See https://www.llama.com/llama3_1/license/ for the license of this model.\n")
    assert (result.key, result.verdict) == ("llama3.1", "stub")
    assert result.confidence < 1.0
    assert top("[Llama 3.1 Community License](https://www.llama.com/llama3_1/license)").key == "llama3.1"
    policy = top("See https://www.llama.com/llama3_2/use-policy", name="USE_POLICY.md")
    assert (policy.key, policy.verdict) == ("llama3.2-aup", "stub")


def test_a_pointer_to_an_unknown_page_is_a_stub_without_a_key():
    result = top("The license is at https://example.com/our-license\n")
    assert (result.key, result.verdict) == (None, "stub")


def test_a_title_only_pointer_names_the_license():
    result = top("Gemma Terms of Use\n\nThis model is distributed under the terms linked above.\n")
    assert (result.key, result.verdict) == ("gemma", "stub")


@pytest.mark.parametrize(
    "text",
    [
        (REPO / "audit" / "model.py").read_text(encoding="utf-8"),
        "Hello! This repository contains a small model fine-tuned on cooking recipes. " * 30,
        "short",
    ],
    ids=["python-source", "prose", "one-word"],
)
def test_unrelated_text_is_unknown(text):
    result = top(text)
    assert (result.key, result.verdict) == (None, "unknown"), result
    assert result.confidence == 0.0


def test_a_model_card_is_not_a_stub_or_a_translation():
    card = (
        "---\nlicense: llama2\n---\n# 示例模型\n\n"
        + "这是一个基于 Llama 2 微调的中文对话模型，使用前请阅读许可协议。" * 20
        + "\n\nSee https://ai.meta.com/llama/license for the Llama 2 Community License.\n"
    )
    result = top(card)
    assert (result.key, result.verdict) == (None, "unknown"), result
    prose = "This model is a fine-tune released under the Llama 3.1 Community License. " * 3
    result = top(prose, name="README.md")
    assert (result.key, result.verdict) == (None, "unknown")
    assert any("llama3.1" in d for d in result.details)
    # while the same words in a file of their own are a pointer
    assert (top(prose, name="LICENSE").key, top(prose, name="LICENSE").verdict) == ("llama3.1", "stub")


def test_a_paraphrase_is_not_identified_confidently():
    # our own summary of MIT-like terms, titled as MIT
    text = (
        "MIT License\n\nAnyone who gets a copy of this software may use it, change it, merge it into other "
        "work, publish it, sublicense it and sell it, for free, as long as this notice travels with every "
        "copy. The software comes as it is, with no warranty of any kind, and the authors are not liable "
        "for any claim or damage that comes from it or from its use.\n"
    )
    result = top(text)
    assert result.confidence < 0.5
    assert result.verdict in ("modified", "stub", "unknown")


def test_two_licenses_in_one_file_give_two_results_in_order():
    code = text_of("deepseek-v3-code-mit")
    model = text_of("llama3.1")
    results = identify_text(code + "\n\n" + model)
    assert [(r.key, r.verdict) for r in results] == [("mit", "exact"), ("llama3.1", "exact")]
    n_code_lines = code.count("\n") + 1
    assert results[0].end_line <= n_code_lines < results[1].start_line


def test_a_license_inside_a_longer_document_is_found_with_its_lines():
    readme = "# My model\n\nA model card with a few words about the model.\n\n## License\n\n"
    text = readme + text_of("llama3.2") + "\n\n## Citation\n\nPlease cite our paper if you use this model.\n"
    results = identify_text(text)
    assert [(r.key, r.version) for r in results] == [("llama3.2", "3.2")]
    assert results[0].start_line == readme.count("\n") + 1


def test_odd_inputs_never_raise():
    assert top("").verdict == "unknown"
    assert top("   \n\n  ").verdict == "unknown"
    assert top("\x00\x01\x02 binary").verdict == "unknown"
    assert top("\ufffd" * 5000).verdict == "unknown"
    assert top("a" * 100_000).verdict == "unknown"
    huge = text_of("mit") * 3000  # ~3 MB: read up to the cap
    results = identify_text(huge)
    assert results[0].key == "mit"
    assert any("only the first" in d for r in results for d in r.details)
    assert identify_text(None)[0].verdict == "unknown"  # type: ignore[arg-type]


def test_identify_file_names_the_file_when_it_cannot_be_read(tmp_path):
    missing = tmp_path / "LICENSE"
    with pytest.raises(InputUnreadable) as err:
        identify_file(str(missing))
    assert str(missing) in str(err.value)
    with pytest.raises(InputUnreadable) as err:
        identify_file(str(tmp_path))
    assert "directory" in str(err.value)
    binary = tmp_path / "LICENSE.bin"
    binary.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(InputUnreadable):
        identify_file(str(binary))


def test_identify_file_reads_the_file(tmp_path):
    path = tmp_path / "LICENSE"
    path.write_text(text_of("apache-2.0"), encoding="utf-8")
    assert identify_file(str(path))[0].key == "apache-2.0"


def test_to_dict_has_the_agreed_fields():
    d = top(text_of("gemma-terms-20240221")).to_dict()
    assert set(d) == {"key", "version", "confidence", "verdict", "details"}
    assert d["key"] == "gemma" and d["version"] == "2024-02-21" and isinstance(d["details"], list)
    json.dumps(d)


# ---------------------------------------------------------------------------------------------------
# rendering


def test_render_text_and_json():
    results = [
        ("LICENSE", identify_text(text_of("deepseek-v3-code-mit") + "\n\n" + text_of("llama3.1"))),
        ("NOTICE", identify_text("nothing to see here")),
    ]
    text = render_identifications(results, "text")
    assert text.splitlines()[0] == "LICENSE"
    assert "  mit  exact  confidence 1.00" in text
    assert "  llama3.1 3.1  exact  confidence 1.00" in text
    assert "  unknown  unknown  confidence 0.00" in text
    rows = json.loads(render_identifications(results, "json"))
    assert [(r["file"], r["key"], r["verdict"]) for r in rows] == [
        ("LICENSE", "mit", "exact"),
        ("LICENSE", "llama3.1", "exact"),
        ("NOTICE", None, "unknown"),
    ]
    assert {"file", "key", "version", "confidence", "verdict", "details"} <= set(rows[0])
    with pytest.raises(ValueError):
        render_identifications(results, "xml")


# ---------------------------------------------------------------------------------------------------
# the shipped data


def test_import_is_light_and_loads_no_data():
    code = (
        "import sys; import audit.licenses.identify as m; "
        "heavy = [x for x in ('yaml', 'difflib', 'huggingface_hub', 'click') if x in sys.modules]; "
        "print(heavy, m._data.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_shipped_data_holds_no_license_text():
    raw = (REPO / "audit" / "licenses" / "data" / "fingerprints.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    strings = [r["title"] for r in data["refs"]] + [h for r in data["refs"] for _, h in r["headings"]]
    strings += [p for p, _, _ in data["phrases"]]
    assert max(len(s.split()) for s in strings) <= 9  # titles, headings, names: short facts
    # and no run of 10 words of any corpus text appears in the data
    body = " | ".join(strings)
    for item in LABELS:
        words = re.findall(r"[a-z0-9]+", text_of(item["id"]).lower())
        for i in range(0, max(0, len(words) - 10), 3):
            assert " ".join(words[i : i + 10]) not in body


def _build(tmp_path, *extra):
    out = tmp_path / "fp.json"
    cmd = [sys.executable, str(REPO / "tools" / "build_fingerprints.py"), "--corpus", str(CORPUS), "--output", str(out)]
    subprocess.run(cmd + list(extra), cwd=REPO, capture_output=True, text=True, check=True)
    return out.read_text(encoding="utf-8")


def test_generator_rebuilds_the_corpus_part_of_the_shipped_data(tmp_path):
    """Determinism: the generator, run twice on the fixture copy of the corpus without ScanCode, gives the
    same bytes, and its references equal the corpus-derived references of the shipped file."""
    first = _build(tmp_path, "--no-scancode")
    assert _build(tmp_path, "--no-scancode") == first
    fresh = json.loads(first)
    shipped = json.loads((REPO / "audit" / "licenses" / "data" / "fingerprints.json").read_text(encoding="utf-8"))
    def without_sources(r):
        return {k: v for k, v in r.items() if k != "sources"}

    shipped_corpus = [without_sources(r) for r in shipped["refs"] if r["id"].startswith("corpus:")]
    assert shipped_corpus == [without_sources(r) for r in fresh["refs"]]
    fresh_inputs = {i["id"]: i for i in fresh["inputs"]}
    assert [i for i in shipped["inputs"] if i["id"].startswith("corpus:")] == list(fresh_inputs.values())
    assert set(map(tuple, fresh["urls"])) <= set(map(tuple, shipped["urls"]))


def test_generator_rebuilds_the_shipped_data_exactly_when_scancode_is_installed(tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import build_fingerprints
    finally:
        sys.path.pop(0)
    scancode = build_fingerprints.find_scancode_data()
    if scancode is None:
        pytest.skip("scancode-toolkit is not installed (set MLAUDIT_SCANCODE_DATA to its licensedcode/data)")
    fresh = _build(tmp_path, "--scancode", scancode)
    shipped = (REPO / "audit" / "licenses" / "data" / "fingerprints.json").read_text(encoding="utf-8")
    assert fresh == shipped


def test_every_key_in_the_data_is_a_catalog_key():
    from audit.licenses.catalog import catalog

    cat = catalog()
    if len(cat) == 0:
        pytest.skip("the catalog has no entries yet")
    data = json.loads((REPO / "audit" / "licenses" / "data" / "fingerprints.json").read_text(encoding="utf-8"))
    keys = {r["key"] for r in data["refs"]} | {k for _, k, _ in data["phrases"]} | {k for _, k in data["urls"]}
    missing = sorted(k for k in keys if k not in cat)
    assert not missing, f"keys unknown to the catalog: {missing}"


def test_a_fresh_process_identifies_a_file():
    # the time this takes is measured by benchmarks/identify_bench.py, not asserted here (no wall-clock tests)
    code = (
        "from audit.licenses.identify import identify_file; "
        f"r = identify_file({str(CORPUS / 'licenses' / 'llama3.1.txt')!r}); "
        "print(r[0].key, r[0].verdict)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["llama3.1", "exact"]
