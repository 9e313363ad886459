"""Card parsing on real corpus cards and on the odd inputs real cards contain."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.card import parse_card
from audit.model import ModelCard, Origin

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cards")


def card(text: str) -> ModelCard:
    return parse_card(text, Origin("card", "README.md", file="README.md"))


def codes(c: ModelCard) -> list[str]:
    return [p.code for p in c.problems]


def test_basic_fields_and_lines() -> None:
    c = card("---\nlicense: llama3.1\nbase_model:\n- meta-llama/Llama-3.1-8B\ndatasets: org/data\n---\n# Title\nbody\n")
    assert c.license == ("llama3.1",)
    assert c.base_models == ("meta-llama/Llama-3.1-8B",)
    assert c.datasets == ("org/data",)
    assert c.field_lines["license"] == 2
    assert c.field_lines["base_model"] == 3
    assert c.body.startswith("# Title")
    assert c.body_line == 7
    assert c.problems == ()


def test_no_front_matter_is_a_problem_not_a_crash() -> None:
    c = card("# Just a title\n\nNo metadata.\n")
    assert c.license == () and not c.has_front_matter
    assert codes(c) == ["card-no-front-matter"]


def test_a_front_matter_after_html_comments_is_read_and_said_to_be_displaced() -> None:
    # the Hub reads no metadata from such a card; its author still declared these fields, which must not go unread
    c = card("<!-- generated header -->\n\n<!-- another\n comment -->\n---\nlicense: apache-2.0\n"
             "base_model: meta-llama/Llama-2-7b-chat-hf\n---\n# Title\n")
    assert c.license == ("apache-2.0",) and c.base_models == ("meta-llama/Llama-2-7b-chat-hf",)
    assert (c.field_lines["license"], c.field_lines["base_model"], c.body_line) == (6, 7, 9)
    assert codes(c) == ["card-front-matter-displaced"] and c.body.startswith("# Title")
    # one that never ends is as unreadable after a comment as at the top
    assert codes(card("<!-- header -->\n---\nlicense: mit\n# no closing fence\n")) == ["card-front-matter-unclosed"]
    # text before the block, an unclosed comment, or a comment too long to be a header: no front matter
    for text in ("<!-- x --> words\n---\nlicense: mit\n---\n", "<!-- never closed\n---\nlicense: mit\n---\n",
                 "<!--" + "x" * 5000 + "-->\n---\nlicense: mit\n---\n"):
        assert card(text).license == () and codes(card(text)) == ["card-no-front-matter"], text[:20]


def test_malformed_yaml_records_line() -> None:
    c = card("---\nlicense: mit\ntags: [a, b\n---\nbody\n")
    assert "card-malformed-yaml" in codes(c)
    p = next(p for p in c.problems if p.code == "card-malformed-yaml")
    assert p.origin.line and p.origin.line >= 2


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)
    ) + "license: mit\n---\n"
    c = card(bomb)
    assert "card-yaml-alias" in codes(c)
    assert c.license == ()


def test_crlf_and_bom() -> None:
    c = card("\ufeff---\r\nlicense: apache-2.0\r\n---\r\n# Title\r\n")
    assert c.license == ("apache-2.0",)
    assert c.problems == ()


def test_british_spelling_is_read_and_recorded() -> None:
    c = card("---\nlicence: cc-by-4.0\n---\n")
    assert c.license == ("cc-by-4.0",)
    assert codes(c) == ["card-british-spelling"]


def test_a_repeated_field_is_recorded_and_its_last_value_read() -> None:
    c = card("---\nlicense: mit\ntags: [a]\nlicense: llama3.1\nwidget: 1\nwidget: 2\n---\n")
    assert c.license == ("llama3.1",)
    assert c.field_lines["license"] == 4  # the line of the value that was read
    dups = [p for p in c.problems if p.code == "card-duplicate-key"]  # anywhere, read by mlaudit or not
    assert sorted(p.origin.line for p in dups) == [4, 6]
    assert any("license" in p.message for p in dups) and any("widget" in p.message for p in dups)


def test_the_hub_spelling_keeps_its_line_beside_the_british_one() -> None:
    c = card("---\nlicense: mit\nlicence: apache-2.0\n---\n")
    assert c.license == ("mit",) and c.field_lines["license"] == 2


def test_list_valued_license_and_wrong_types() -> None:
    c = card("---\nlicense:\n- mit\n- apache-2.0\nbase_model: 42\nlicense_name: [deepseek]\n---\n")
    assert c.license == ("mit", "apache-2.0")
    assert c.license_name == "deepseek"
    assert c.base_models == ("<not text: an int 42>",)  # kept, so the lineage it declares cannot pass unread
    assert {"card-license-list", "card-field-type"} <= set(codes(c))


def test_a_base_model_or_dataset_that_is_not_text_is_kept_unresolvable() -> None:
    c = card("---\nbase_model:\n- model: meta-llama/Llama-2-7b-hf\n- org/real\n- null\ndatasets: [5]\n---\n")
    assert c.base_models == ("<not text: a dict {'model': 'meta-llama/Llama-2-7b-hf'}>", "org/real")
    assert c.datasets == ("<not text: an int 5>",)
    assert codes(c).count("card-field-type") == 2


def test_front_matter_not_a_mapping() -> None:
    c = card("---\n- just\n- a list\n---\nbody\n")
    assert codes(c) == ["card-front-matter-type"]


def test_unclosed_front_matter() -> None:
    c = card("---\nlicense: mit\n# no closing fence\n")
    assert codes(c) == ["card-front-matter-unclosed"]


@pytest.mark.parametrize(
    "name, expected_license, expected_bases",
    [
        ("leliuga-nous-capybara-34b", ("mit",), ()),  # license written as a one-item list
        ("leliuga-solar-10.7b-instruct", ("cc-by-nc-4.0",), ("upstage/SOLAR-10.7B-v1.0",)),  # indented list
        ("datalablife-r1-distill-llama-sql", ("apache-2.0",), ("unsloth/deepseek-r1-distill-llama-8b-unsloth-bnb-4bit",)),
        ("leliuga-dr-samantha-7b", ("llama2",), ("Severus27/BeingWell_llama2_7b", "ParthasarathyShanmugam/llama-2-7b-samantha")),
    ],
)
def test_real_cards(name: str, expected_license: tuple[str, ...], expected_bases: tuple[str, ...]) -> None:
    path = os.path.join(FIXTURES, name, "README.md")
    with open(path, encoding="utf-8") as fh:
        c = card(fh.read())
    assert c.license == expected_license
    assert c.base_models == expected_bases


def test_real_card_without_front_matter() -> None:
    with open(os.path.join(FIXTURES, "leliuga-athena-v1", "README.md"), encoding="utf-8") as fh:
        c = card(fh.read())
    assert not c.has_front_matter and c.license == ()


def test_lines_count_blank_lines_before_the_front_matter() -> None:
    c = card("\n\n---\ntags: [x]\nlicense: mit\n---\nbody\n")
    assert c.license == ("mit",)
    assert c.field_lines["license"] == 5 and c.body_line == 7
    bad = card("\n---\nlicense: [mit\n---\n")
    line = next(p for p in bad.problems if p.code == "card-malformed-yaml").origin.line
    assert line is not None and line >= 3


# --- one reading of the card (issue "Fail closed, everywhere", item 1) ---

@pytest.mark.parametrize("brk", ["\u0085", "\u2028", "\u2029", "\r", "\r\n"])
def test_every_yaml_line_break_is_a_line_break_everywhere(brk):
    # a second license key hidden behind a break only YAML knows is seen, as a duplicate, at its own line
    text = f"---{brk}license: mit{brk}license: cc-by-nc-4.0{brk}---{brk}# T{brk}body{brk}"
    c = card(text)
    assert c.license == ("cc-by-nc-4.0",)
    dup = [p for p in c.problems if p.code == "card-duplicate-key"]
    assert len(dup) == 1 and dup[0].origin.line == 3 and "license" in dup[0].message
    assert c.field_lines["license"] == 3 and c.body_line == 5 and c.body == "# T\nbody\n"


def test_duplicate_keys_anywhere_are_recorded_with_their_path():
    c = card("---\nlicense: mit\nmodel-index:\n- name: m\n  results: 1\n  results: 2\n---\n")
    (dup,) = [p for p in c.problems if p.code == "card-duplicate-key"]
    assert "model-index.results" in dup.message and dup.origin.line == 6


def test_licence_and_license_together_are_a_duplicate():
    c = card("---\nlicense: mit\nlicence: cc-by-nc-4.0\n---\n")
    assert c.license == ("mit",) and "card-duplicate-key" in codes(c)


def test_an_alias_in_a_field_mlaudit_does_not_read_is_refused():
    c = card("---\nlicense: mit\nwidget: &w {text: hi}\nother_widget: *w\n---\n")
    assert codes(c) == ["card-yaml-alias"] and c.license == ()


def test_an_unused_anchor_alone_is_not_an_alias():
    c = card("---\nlicense: &l mit\n---\n")
    assert c.license == ("mit",) and "card-yaml-alias" not in codes(c)


def test_front_matter_is_parsed_whole_not_filtered_by_lines():
    # a flow mapping at the top level: a line-based filter could not tell where `license` is; the parser can
    c = card("---\n{license: mit, base_model: org/base}\n---\n")
    assert c.license == ("mit",) and c.base_models == ("org/base",)


@pytest.mark.parametrize("value, expected", [
    ("42", ("<not text: an int 42>",)),
    ("[mit, 3]", ("mit", "<not text: an int 3>")),
    ("null", ("<not text: an empty value>",)),
    ("[]", ("<not text: an empty value>",)),
    ("{name: mit}", ("<not text: a dict {'name': 'mit'}>",)),
])
def test_every_license_item_is_kept_even_when_it_is_not_text(value, expected):
    assert card(f"---\nlicense: {value}\n---\n").license == expected


def test_a_value_mlaudit_never_reads_cannot_make_the_front_matter_unreadable():
    """Only the fields mlaudit reads are built (and of model-index only its first name): a date that is no date in
    another field, or in the evaluation results, leaves the license readable. Aliases are still refused anywhere."""
    from audit.model import Origin

    origin = Origin("local", "/x", file="README.md")
    for extra in ("released: 2024-13-45\n", "model-index:\n- name: foo\n  results: [{date: 2024-13-45}]\n"):
        card = parse_card("---\nlicense: mit\n" + extra + "---\n# x\n", origin)
        assert card.license == ("mit",) and not card.problems, extra
    card = parse_card("---\nlicense: mit\nmodel-index:\n- name: foo\n  results: [{a: 1}]\n---\n# x\n", origin)
    assert card.front_matter["model-index"] == [{"name": "foo"}]
    card = parse_card("---\nlicense: mit\nextra: &a [1]\nother: *a\n---\n# x\n", origin)
    assert card.license == () and [p.code for p in card.problems] == ["card-yaml-alias"]


def test_a_placeholder_base_model_is_no_base_but_unknown_stays_a_base_nobody_named():
    card = parse_card("---\nbase_model: None\ndatasets:\n- n/a\n- org/data\n---\n", Origin("local", "m", file="README.md"))
    assert card.base_models == () and card.datasets == ("org/data",)
    assert [p.code for p in card.problems] == ["card-field-value", "card-field-value"]
    assert "placeholder" in card.problems[0].message and card.problems[0].origin.line == 2
    card = parse_card("---\nbase_model: unknown\n---\n", Origin("local", "m", file="README.md"))
    assert card.base_models == ("unknown",)  # "there is one, unnamed": the lineage stays unknown (fail closed)



def test_several_repo_ids_in_one_string_are_each_a_base():
    # read whole, 'a/x, b/y' named only b/y's repo (its last '/'), and a/x's license was lost
    origin = Origin("local", "m", file="README.md")
    card = parse_card("---\nbase_model: meta-llama/Llama-2-7b-hf, mistralai/Mistral-7B-v0.1\n---\n", origin)
    assert card.base_models == ("meta-llama/Llama-2-7b-hf", "mistralai/Mistral-7B-v0.1")
    assert [p.code for p in card.problems] == ["card-field-value"] and "several repo ids" in card.problems[0].message
    card = parse_card("---\nbase_model: \"['org/a']\"\ndatasets: org/d1; org/d2\n---\n", origin)
    assert card.base_models == ("org/a",) and card.datasets == ("org/d1", "org/d2")
    # a value that is not only repo ids stays as written (and fails closed if nothing resolves it)
    for value in ("meta-llama/Llama 2", "Llama-2-7b-hf", "./models/llama-2"):
        card = parse_card(f"---\nbase_model: {value}\n---\n", origin)
        assert card.base_models == (value,) and not card.problems, value



@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}/[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True),
                min_size=1, max_size=4),
       st.sampled_from([", ", ",", "; ", " ", " , "]), st.booleans())
def test_a_base_model_string_never_loses_a_repo_id_it_holds(ids, sep, as_list_text):
    # fail closed: every id a base_model string lists is a base (read whole, all but the last one were lost)
    value = sep.join(ids)
    if as_list_text:
        value = "[" + ", ".join(f"'{i}'" for i in ids) + "]"
    card = parse_card("---\nbase_model: " + json.dumps(value) + "\n---\n", Origin("local", "m", file="README.md"))
    assert set(ids) <= set(card.base_models), (value, card.base_models)


def test_a_fence_is_three_backticks_or_tildes_with_no_backtick_after():
    from audit.card import is_fence

    for line in ("```", "```python", "  ```yaml title", "~~~", "````", "~~~ `x`"):
        assert is_fence(line), line
    for line in ("```org/x``` is a fine-tune", "``x``", "`code`", "text ```", "~~ not"):
        assert not is_fence(line), line


# -- the front matter's values are built as PyYAML's SafeConstructor builds them ------------------------------------
def _both(text: str):
    """(our build, the SafeConstructor's) of a YAML text, or the exception class each raised."""
    import yaml

    from audit.card import _LOADER, _build

    out = []
    for build in (lambda n, ld: _build(n, ld), lambda n, ld: ld.construct_document(n)):
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            out.append(None if node is None else build(node, loader))
        except yaml.YAMLError as exc:
            out.append(type(exc))
        finally:
            loader.dispose()
    return out


@pytest.mark.parametrize("text", [
    "license: mit\nbase_model: [a/b, c/d]\ntags:\n- x\n- 3\n",
    "a: 1\nb: 1.5\nc: true\nd: null\ne: 2024-01-06\nf: 2024-01-06 10:00:00\ng: '007'\nh: 0x1F\ni: .inf\n",
    "base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2\n",  # a merge key: the constructor's
    "? [a, b]\n: unhashable key\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\nbin: !!binary aGk=\n",
    "x: !!python/name:os.system ''\n",  # refused by the safe constructor, refused here
    "1: int key\nnull: null key\n2024-01-01: date key\n",
    "nested:\n  - {a: [1, {b: [x, y]}]}\n  - - deep\n    - [list]\n",
    "",
])
def test_the_front_matter_is_built_as_the_safe_constructor_builds_it(text: str) -> None:
    ours, theirs = _both(text)
    assert ours == theirs and type(ours) is type(theirs)


def test_real_front_matters_are_built_as_the_safe_constructor_builds_them() -> None:
    import glob

    from audit.card import split_front_matter

    paths = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "**", "README.md"), recursive=True))
    trees = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus-trees", "cards")
    paths += sorted(glob.glob(os.path.join(trees, "*", "README.md")))[:300]
    seen = 0
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as fh:
            yaml_text, _, _ = split_front_matter(fh.read().replace("\r\n", "\n"))
        if yaml_text is not None:
            ours, theirs = _both(yaml_text)
            assert ours == theirs, p
            seen += 1
    assert seen >= 20


def test_generated_yaml_is_built_as_the_safe_constructor_builds_it() -> None:
    import datetime as dt

    import yaml
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                        st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1)))
    keys = st.one_of(st.text(max_size=8), st.integers(), st.booleans())
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                          max_leaves=12)

    @settings(max_examples=80, deadline=None)
    @given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5), st.sampled_from([None, True, False]))
    def check(data, flow):
        ours, theirs = _both(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True))
        assert ours == theirs

    check()
