"""The shortcuts that read a card faster must find exactly what reading it line by line with the regexes finds:
audit.textscan's lowered text (its list of letters re.IGNORECASE folds onto ASCII ones), the words that stand
in for each pattern, and the line-finding of audit.openness and audit.licenses.statements, compared with the
plain reading on generated cards full of the odd cases (line breaks of every kind, fences, dotless i, long s)."""
from __future__ import annotations

import random
import re
import string

from audit import openness
from audit.card import is_fence, normalize_line_breaks, parse_card
from audit.licenses import statements as st
from audit.licenses.catalog import catalog
from audit.model import Origin
from audit.textscan import _FOLDED_ONTO_ASCII, Lowered

ORIGIN = Origin("local", "m", file="README.md")


def test_every_letter_ignorecase_folds_onto_an_ascii_letter_is_known():
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    for letter in string.ascii_lowercase:
        folded = {c for c in re.findall("(?i)" + letter, every) if c not in (letter, letter.upper())}
        assert folded <= set(_FOLDED_ONTO_ASCII), (letter, folded)
        assert all(c.lower() == letter for c in re.findall("(?i)" + letter, every) if c not in _FOLDED_ONTO_ASCII)


def test_lowered_text_stands_in_only_when_positions_hold():
    assert Lowered("See the LICENSE, the License").positions(("licen",)) == [8, 21]
    assert Lowered("the LİCENSE").positions(("licen",)) is None  # İ lowers to two characters
    assert Lowered("ſubject to").positions(("subject",)) is None  # ſ matches s, lowers to itself
    assert Lowered("nothing here").positions(("licen",)) == []


def _alternatives(pattern: re.Pattern[str]) -> list[str]:
    return pattern.pattern.split("|")


def test_each_pattern_alternative_holds_one_of_its_words():
    for alt in _alternatives(st._FENCE_OR_WORTH):
        assert any(w in alt for w in st._FENCE_OR_WORTH_WORDS), alt
    for alt in _alternatives(openness._REPORT):
        assert any(w in alt for w in openness._REPORT_WORDS), alt
    for pattern in (openness._PAPER, openness._CODE_REPO):
        assert pattern.pattern.startswith(r"https?://"), pattern.pattern


PIECES = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", " ", "  ", "x", "|", "#", "## Results ##",
          "```", " ~~~py", "subject", "Subject\nto", "SUBJECT  TO", "ſubject to", "LİCENSE", "lıcense", "\u212a", "ß",
          "This model is licensed under the MIT license.", "The weights are for non-commercial use only",
          "the code is Apache-2.0, the model is under CC-BY-NC-4.0", "research", "under", "governed by",
          "This model is governed by Apache-2.0", "This model is licensed as Apache-2.0.", "The model is for research only",
          "The weights are subject to CC-BY-NC-4.0", "The weights are SUBJECT\x0bTO MIT",
          "https://github.com/a/b", "https://github.com/a/b/LICENSE", "HTTPS://ARXIV.ORG/abs/1234.56789", "http://gitlab.com/x/y",
          "technical\nreport", "Tech  Report", "white paper", "Paper", "report"]


def _cards(n: int, pieces: list[str] = PIECES) -> list[str]:
    rnd = random.Random(7)
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))) for _ in range(n)]


# cards with '\n' as their only line break (most cards), where _Card.headings reads the body in one pass, with
# whitespace of every kind around the '#'
_ONE_BREAK = [p for p in PIECES if not any(b in p for b in ("\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"))] + [
    "\t", "\u3000", "\xa0", "\x1f", "###### six", "####### seven", "   # three", "    # four", "#\t", "# ", "#"]


def _statements_line_by_line(text: str, implied: bool) -> list[st.Statement]:
    cat, out, fenced = catalog(), [], False
    for n, line in enumerate(normalize_line_breaks(text).split("\n")):
        if st._FENCE.match(line) and is_fence(line):
            fenced = not fenced
            continue
        if fenced or line.count("|") >= 2 or not line.strip() or not st._WORTH_READING.search(line):
            continue
        for sentence in st._SENTENCE.split(line):
            for clause in st._CLAUSE.split(sentence):
                found = st._statement(clause, ORIGIN.at(line=1 + n), implied, cat)
                if found is not None:
                    out.append(found)
    return out


def test_statements_read_the_lines_reading_every_line_would():
    for text in _cards(1500):
        for implied in (False, True):
            assert st.statements(text, ORIGIN, 1, implied) == _statements_line_by_line(text, implied), text


def test_openness_finds_what_every_line_shows():
    for text in _cards(1500):
        card = parse_card("---\nlicense: mit\n---\n" + text, ORIGIN)
        c = openness._Card(card)
        every_line = [(card.body_line + i, line) for i, line in enumerate(card.body.splitlines())]
        for pattern, words in ((openness._CODE_REPO, (openness._HTTP,)), (openness._PAPER, (openness._HTTP,)),
                               (openness._REPORT, openness._REPORT_WORDS)):
            want = []
            for n, line in every_line:
                m = pattern.search(line)
                if m:
                    want.append((n, m.group(1) if m.groups() else m.group(0)))
            assert c.find(pattern, words) == want == c.find(pattern), text
            if words == (openness._HTTP,):
                assert c.find_from(pattern, openness._HTTP) == want, text
        heads = [(n, m.group(1)) for n, line in every_line for m in [openness._HEADING.match(line)] if m]
        assert c.headings() == heads, text


def test_headings_read_in_one_pass_are_those_every_line_shows():
    found = 0
    for text in _cards(3000, _ONE_BREAK):
        card = parse_card("---\nlicense: mit\n---\n" + text, ORIGIN)
        every_line = [(card.body_line + i, line) for i, line in enumerate(card.body.splitlines())]
        heads = [(n, m.group(1)) for n, line in every_line for m in [openness._HEADING.match(line)] if m]
        assert openness._Card(card).headings() == heads, repr(text)
        found += len(heads)
    assert found > 200  # the cards do hold headings: the comparison is not vacuous


def test_license_mentions_are_where_the_pattern_finds_them():
    for text in _cards(1500):
        assert st._license_mentions(text) == [m.start() for m in st._LICEN.finditer(text)], text


def test_the_line_breaks_openness_cuts_lines_at_are_those_of_str_splitlines():
    breaks = {c for c in map(chr, range(0x110000)) if len(("a" + c + "b").splitlines()) == 2}
    assert breaks == openness._SPLITLINES_BREAKS
    c = openness._Card(parse_card("---\nlicense: mit\n---\n" + "a\r\nb\x0bc\n\nd\u2028", ORIGIN))
    assert [c._line(i) for i in range(len(c.body.splitlines()))] == c.body.splitlines()
