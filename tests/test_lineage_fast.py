"""Lineage inference's fast paths find exactly what the patterns as written find.

For speed, the case-insensitive patterns that scan card bodies run on lower-cased text, behind literal
pre-tests (audit.lineage.phrases.Phrases, card_date_floor, audit.registry.Registry.by_family), and registry-only
lookups skip the thread pool. These tests check the Unicode facts that make lower-casing exact, and compare
each fast path with the plain pattern (IGNORECASE, every rule tried) on every line of the real cards in
tests/fixtures/cards (see SOURCES.md there): as written, with the case of their letters scrambled, and with
letters swapped for the characters that need care ('İ', 'ı', 'ſ', 'K' Kelvin sign).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import re

import pytest

from audit.card import parse_card
from audit.licenses.normalize import license_facts
from audit.lineage import (
    Resolver,
    card_date_floor,
    effective_license,
    index_models_dirs,
    lineage_evidence,
    resolve_many,
)
from audit.lineage.dates import (
    _ARXIV,
    _BIB_YEAR,
    _ISO_DATE,
    _MADE,
    _MONTH_YEAR,
    _MONTHS,
    _month_years,
    card_stated_date,
)
from audit.lineage.phrases import ANCESTRY, NAMED_BEFORE, NOT_ANCESTRY, SOURCES_HEADING, literal_first, lowered
from audit.model import Lineage, Origin
from audit.registry import NOT_LOWERABLE, Entry, Registry, _needs, load_registry, lowerable, user_registry_dir
from audit.sources.local import read_local

try:  # the regex parser (Python 3.11+), sre_parse before
    from re import _parser as sre_parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as sre_parser  # type: ignore[no-redef]

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cards")
TRICKY = ("\u0130", "\u0131", "\u017f", "\u212a", "ß", "Σ", "\u0307", "é", "\U0001f600", "\u00a0", "\u2028")


def _bodies() -> list[str]:
    out = []
    for d in sorted(os.listdir(FIXTURES)):
        path = os.path.join(FIXTURES, d, "README.md")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                out.append(fh.read())
    assert len(out) >= 25
    return out


def _variants(text: str, rnd: random.Random) -> list[str]:
    """The text, its letters' case scrambled (a few characters swapped for tricky ones), and the letters that
    have non-ASCII case partners (i, s, k) swapped for them."""
    scrambled = "".join(rnd.choice(TRICKY) if rnd.random() < 0.01 else (c.upper() if rnd.random() < 0.3 else c)
                        for c in text)
    if rnd.random() < 0.5:
        partners = text.replace("i", "\u0131").replace("s", "\u017f").replace("k", "\u212a")
    else:
        partners = text.upper().replace("I", "\u0130").replace("K", "\u212a")
    return [text, scrambled, partners]


# a sentence for each alternative of the phrase patterns (and near misses), beside the real cards' lines
SENTENCES = (
    "Llama 2. based model", "fine-tuned version of X", "a finetune of X", "fine tunes of X", "we fine-tuned it", "I then fine tuned it",
    "it was further fine-tuned", "it has been fine-tuned", "we had fine-tuned", "they have finetuned",
    "fine-tuned using LoRA", "based on X", "based upon X", "based off X", "a Llama-based model", "X based chat",
    "Base model: X", "base model is X", "base model | X", "with X as the base", "built upon X", "trained from X",
    "trained on the X base", "a merge of", "merged with", "derived from X", "a derivative of X",
    "quantized version of X", "quantization of X", "quants of X", "initialised from X", "initialized with X",
    "continued pretraining", "continued pre-train", "on top of X", "LoRA for X", "adapter on X",
    "distilled from X", "distillation of X", "weights of X", "foundation model", "composed of X",
    "composition of X", "version of X", "models used", "used in this merge", "used for the merge",
    "not a derivative of X", "not based on", "architecture", "structure", "outperforms X", "compared to",
    "X vs. Y", "X vs Y", "benchmark", "leaderboard", "better than X", "beats X", "cite", "citation",
    "from scratch", "we plan", "planned", "potential", "future", "upcoming", "similar-sized", "top performer",
    "Merge Details", "Models and LoRAs used", "LoRA", "source models", "ingredients", "credits",
    "original model", "the base models", "Base Model", "lineage", "finetuned from",
    "database of", "unbased", "basement", "refined", "dishes", "whose version", "nota bene", "thank",
)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    rnd = random.Random(7)
    texts = [line for body in _bodies() for line in body.split("\n")] + list(SENTENCES)
    return list(dict.fromkeys(v for line in texts for v in _variants(line, rnd)))


# -- the Unicode facts behind lowerable() ------------------------------------------------------------------------
def test_lower_keeps_length_and_character_classes_except_dotted_capital_i():
    changed = []
    for cp in range(0x110000):
        ch = chr(cp)
        low = ch.lower()
        if low == ch:
            continue
        if len(low) != 1:
            changed.append(cp)
            continue
        for cls in (r"\w", r"\s", r"\d"):
            assert bool(re.fullmatch(cls, ch)) == bool(re.fullmatch(cls, low)), (hex(cp), cls)
    assert changed == [0x130]  # 'İ' lowers to 'i' + U+0307: lowerable() rules out texts holding it


def test_only_three_characters_match_an_ascii_letter_that_lower_does_not_give():
    any_letter = re.compile("[a-z]", re.IGNORECASE)
    odd = []
    for cp in range(0x80, 0x110000):
        ch = chr(cp)
        if any_letter.fullmatch(ch):
            letters = [c for c in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(c, ch, re.IGNORECASE)]
            if ch.lower() not in letters:
                odd.append(ch)
    assert sorted(odd) == sorted(NOT_LOWERABLE)
    assert "\u212a".lower() == "k" and lowerable("\u212a") and not lowerable("ab\u017fc")


# -- phrases --------------------------------------------------------------------------------------------------
PHRASES = ((ANCESTRY, ANCESTRY.full), (NOT_ANCESTRY, NOT_ANCESTRY.full), (SOURCES_HEADING, SOURCES_HEADING.full),
           (NAMED_BEFORE, NAMED_BEFORE.full))


def test_the_words_that_follow_their_model_are_not_ancestry_words():
    assert {spec[:2] for spec in NAMED_BEFORE._spec} <= {spec[:2] for spec in NOT_ANCESTRY._spec}


def test_phrases_answer_what_the_patterns_as_written_answer(lines):
    fast_path = 0
    for line in lines:
        low = lowered(line)
        fast_path += low is not None
        for phrases, full in PHRASES:
            assert phrases.search(line, low) == bool(full.search(line)), (full.pattern[:40], line)
    assert fast_path > len(lines) / 2  # most lines take the fast path: the comparison is not vacuous
    hits = sum(bool(ANCESTRY.full.search(line)) for line in lines)
    assert hits > 100  # and many lines do say where a model comes from


def test_the_patterns_as_written_are_unchanged():
    # the IGNORECASE patterns are the reference the fast paths are held to
    assert NOT_ANCESTRY.full.pattern == (
        r"\bnot\b(?:[^.]|\.(?=\w)){0,60}\b(?:derivative|based|fine-?tuned|fine[-\s]?tunes?\b|built|use)|architecture|structure|outperform|compar|"
        r"\bvs\.?\s|benchmark|leaderboard|\bthan\b|\bbeats?\b|\bcite\b|\bcitation\b|from\s+scratch|\bplan|"
        r"\bpotential\b|\bfuture\b|\bupcoming\b|similar[-\s]sized|top\s+performer|"
        r"\b(?:previous|earlier|older|prior)\s+versions?\s+of\b|\bon\s+par\s+with\b|"
        r"\bcompetitive\s+with\b|\b(?:can|could|may|might)\s+(?:also\s+|easily\s+|further\s+)?(?:be\s+)?fine[-\s]?tune[ds]?\b|"
        r"\bsimilar\s+to\b|\bsame\s+(?:\w+\s+){0,2}as\b|tokenizer|\breward\s+models?\b|"
        r"\b(?:can|could|may|might)\s+(?:also\s+)?be\s+merged\b|"
        r"\binspired\s+by\b|\bunlike\b|\bif\s+you\s+(?:want|need|prefer|are\s+looking\s+for)\b|\brecipe\s+(?:of|from)\b|"
        r"\b(?:card|readme|code|scripts?|template|documentation|description|text|example|notebook)\s+(?:is\s+|was\s+|has\s+been\s+)?adapted\s+from\b|"
        r"\bfollowing\s+(?:the\s+)?(?:\w+\s+)?(?:approach|method|work|procedure)\b|"
        r"优于|超过|超越|相比|对比|比较|比較|上回|よりも|비교|보다|übertrifft|surpasse|\bsupera\b|"
        r"\bbesser\s+als\b|\bmeilleure?s?\s+que\b|\bmejor(?:es)?\s+que\b|"
        r"\bmelhor(?:es)?\s+(?:que|do|da)\b|\bmiglior[ei]?\s+di\b|\brispetto\s+a\b|\bbeter\s+dan\b|vergel|lepsz|przewyższa|porówn|"
        r"превосход|лучше|сравн|tốt\s+hơn|vượt|\bso\s+với|\bdaha\s+iyi\b|karşılaştır|\blebih\s+baik\b|"
        r"melampaui|banding|"
        r"架构|(?:模型|网络|的)结构|从零|从头|アーキテクチャ|(?:モデル|ネットワーク|の)構造|ゼロから|スクラッチ|아키텍처|"
        r"(?:(?:모델|네트워크)\s?|의\s?)구조|처음부터|architektur|\bvon\s+grund\s+auf\b|à\s+partir\s+de\s+zéro|"
        r"arquitectura|arquitetura|architettura|\bdesde\s+cero\b|\b(?:do|da)\s+zero\b|архитектур|с\s+нуля|"
        r"kiến\s+trúc|từ\s+đầu\b|mimari|sıfırdan|arsitektur|\bdari\s+awal\b")
    assert SOURCES_HEADING.full.pattern == (
        r"merg|\bmodels?\s+(?:and\s+\w+\s+)?used|\bloras?\b|source\s+models?|ingredients|composition|credits|"
        r"original\s+model|^\W*(?:the\s+)?base\s+models?\W*$|lineage|fine-?tuned\s+from")
    assert ANCESTRY.full.flags & re.IGNORECASE and "lora\\s+(?:for|of|on)\\b|adapter\\s+(?:for|of|on)\\b" in ANCESTRY.full.pattern


def _literal_runs(pattern: str) -> tuple[list[str], list[str]]:
    """(runs of consecutive literal characters outside any optional, repeated or alternative part, which
    zero-width assertions do not break; every literal character anywhere in the pattern)."""
    runs: list[str] = []
    chars: list[str] = []

    def walk(items, top: bool, run: list[str]) -> list[str]:
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                chars.append(chr(av))
                if top:
                    run.append(chr(av))
                continue
            if name in ("AT", "ASSERT", "ASSERT_NOT"):  # zero-width: what precedes and follows is contiguous
                if name != "AT":
                    walk(av[1], False, [])
                continue
            if top and run:
                runs.append("".join(run))
                run = []
            if name == "SUBPATTERN":
                walk(av[-1], top and not any(str(o) == "BRANCH" for o, _ in av[-1]), [])
            elif name == "BRANCH":
                for alt in av[1]:
                    walk(alt, False, [])
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                walk(av[2], False, [])
            elif name == "IN":
                chars.extend(chr(v) for o, v in av if str(o) == "LITERAL")
                chars.extend(chr(c) for o, v in av if str(o) == "RANGE" for c in v)
        return run

    last = walk(sre_parser.parse(pattern), True, [])
    if last:
        runs.append("".join(last))
    return runs, chars


def test_every_alternative_holds_its_word_and_no_capital_letter():
    for phrases, _ in PHRASES:
        for spec in phrases._spec:
            word, alt, *fast = spec
            if alt is None:
                assert word == word.lower() and word.isalpha()
                continue
            for pattern in (alt, fast[0] if fast else literal_first(alt)):
                runs, chars = _literal_runs(pattern)
                assert any(word in run for run in runs), (word, pattern)
                assert not any(c.isupper() for c in chars), pattern


def test_literal_first_moves_a_word_boundary_behind_the_first_letter():
    assert literal_first(r"\bbase\s+model") == r"b(?<!\wb)ase\s+model"
    assert literal_first(r"\bs?he") == r"\bs?he"  # a quantified first letter stays as it is
    assert literal_first(r"fine\b") == r"fine\b"
    rx = re.compile(literal_first(r"\bbase\b"))
    assert [bool(rx.search(t)) for t in ("base", "a base", "database", "_base", ".base", "bases")] == \
        [True, True, False, False, True, False]


# -- dates ---------------------------------------------------------------------------------------------------------
class _Body:
    def __init__(self, body: str):
        self.body = body


def _date_floor_as_written(text: str) -> dt.date | None:
    found = [dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)) for m in _ISO_DATE.finditer(text)]
    for m in _MONTH_YEAR.finditer(text):
        month = next(i for name, i in _MONTHS.items() if re.fullmatch(name, m.group(1), re.IGNORECASE))
        found.append(dt.date(int(m.group(2)), month, 1))
    found += [dt.date(2000 + int(m.group(1)), int(m.group(2)), 1) for m in _ARXIV.finditer(text)]
    found += [dt.date(int(m.group(1)), 1, 1) for m in _BIB_YEAR.finditer(text)]
    found = [d for d in found if d <= dt.date.today()]
    return max(found) if found else None


def test_card_date_floor_finds_what_the_patterns_as_written_find():
    rnd = random.Random(3)
    texts = [v for body in _bodies() for v in _variants(body, rnd)]
    texts += ["May 2023", "xMay 2023", "may 5, 2023 and JUNE 2024", "maymay 2023", "2023-05-05", "a2023-05",
              "12023-05", "year = {2023}", "YEAR=2024", "see arXiv.org/abs/2311.12345", "Auguſt 2023",
              "the 1st of March  2021", "1 NOVEMBER 2022"]
    dated = 0
    for text in texts:
        expected = _date_floor_as_written(text)
        dated += expected is not None
        assert card_date_floor(_Body(text)) == expected, text[:80]
    assert dated > len(texts) / 2
    assert card_date_floor(_Body("released Auguſt 2023")) == dt.date(2023, 8, 1)  # no KeyError


def _stated_date_as_written(text: str) -> dt.date | None:
    found = [dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)) for m in _ISO_DATE.finditer(text)
             if _MADE.search(text, max(0, m.start() - 50), m.start())]
    for m in _MONTH_YEAR.finditer(text):
        if _MADE.search(text, max(0, m.start() - 50), m.start()):
            month = next(i for name, i in _MONTHS.items() if re.fullmatch(name, m.group(1), re.IGNORECASE))
            found.append(dt.date(int(m.group(2)), month, 1))
    found = [d for d in found if d <= dt.date.today()]
    return max(found) if found else None


def test_card_stated_date_finds_what_the_patterns_as_written_find():
    rnd = random.Random(5)
    texts = [v for body in _bodies() for v in _variants(body, rnd)]
    texts += ["Trained in May 2023", "RELEASED: 2024-03-01", "released Auguſt 2023", "we fine-tuned it in june 2024.",
              "Updated 2024-02 and cited 2025-01", "made, then. March 2024", "Date  :  December 2023",
              "TRAİNED in May 2023"]
    stated = 0
    for text in texts:
        expected = _stated_date_as_written(text)
        stated += expected is not None
        assert card_stated_date(_Body(text)) == expected, text[:80]
    assert stated >= 6


def test_month_years_are_the_matches_finditer_finds():
    rnd = random.Random(5)
    for body in _bodies():
        for text in _variants(body, rnd)[:2]:
            low = lowered(text)
            if low is None:
                continue
            fast = sorted((m.span(), m.groups()) for m in _month_years(low))
            assert fast == [(m.span(), m.groups()) for m in _MONTH_YEAR.finditer(low)]


# -- families --------------------------------------------------------------------------------------------------
def _by_family_trying_every_rule(reg, text):
    found, taken = [], []
    low = text.lower()
    for rule in reg.families():
        if rule.probe not in low:
            continue
        for m in rule.pattern.finditer(text):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((rule, m))
            break
    found.sort(key=lambda rm: rm[1].start())
    return found


def test_by_family_finds_what_trying_every_rule_finds(lines):
    reg = load_registry()
    named = 0
    for line in lines:
        fast = [(r.label, m.span(), m.group(0)) for r, m in reg.by_family(line)]
        assert fast == [(r.label, m.span(), m.group(0)) for r, m in _by_family_trying_every_rule(reg, line)], line
        named += bool(fast)
    assert named > 200
    for text in ("Llama-2-13B", "CodeLlama 34b", "t5gemma and T5", "BLOOMZ-7b1 / bloom", "llama 13b", "Qwen2.5 & qwen"):
        assert [r.label for r, _ in reg.by_family(text)] == [r.label for r, _ in _by_family_trying_every_rule(reg, text)]


def test_a_rule_whose_probe_starts_a_longer_probe_is_still_tried():
    # 'gptneox' starts with the probe 'gptneo' (longest) and with 'gpt', whose rule gpt-neox matches it
    def entry(rid, family):
        return Entry(rid, "model", "apache-2.0", "apache-2.0", family, None, "high", None, "2026-11-29")

    reg = Registry([entry("a/gpt-neox-20b", "gpt-neox"), entry("b/gptneo-1", "gptneo")])
    for text in ("a gptneox model", "GPT-NeoX and GPTNeo"):
        found = [(r.label, m.group(0)) for r, m in reg.by_family(text)]
        assert found == [(r.label, m.group(0)) for r, m in _by_family_trying_every_rule(reg, text)]
        assert found and found[0][0] == "gpt-neox"


def test_needs_are_the_other_literal_runs_of_a_label_without_i_or_s():
    assert _needs("qwen3.5") == ("3.5",)
    assert _needs("deepseek-coder-v2") == ("coder", "v", "2")
    assert _needs("mistral-small-4") == ("4",)  # 'small' holds an s: not a sure substring of lower-cased text
    assert _needs("llama") == ()


# -- the resolver ----------------------------------------------------------------------------------------------
def _fixture_items():
    snaps = read_local(FIXTURES)
    items = []
    for s in snaps:
        card = parse_card(s.texts[s.card_path], s.origin.at(file=s.card_path)) if s.card_path else None
        items.append((s.subject, card, license_facts(card, s), s))
    return items


def test_registry_only_lineage_uses_no_thread_pool_and_finds_the_same(tmp_path):
    items = _fixture_items()
    pooled = Resolver(use_cache=True, cache_dir=str(tmp_path / "no-cache-here"), max_workers=8)
    serial = Resolver(max_workers=1)
    assert [repr(x) for x in resolve_many(items, pooled)] == [repr(x) for x in resolve_many(items, serial)]
    assert pooled._pool is None  # every ancestor came from the registry: no thread was started


def _cache_repo(root, repo_id: str, card: str) -> None:
    commit = "a" * 40
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "README.md").write_text(card)


def test_lookups_that_read_the_cache_still_run_on_the_pool(tmp_path):
    for name in ("acme/one", "acme/two"):
        _cache_repo(tmp_path, name, "---\nlicense: mit\n---\n# model\n")
    with Resolver(use_cache=True, cache_dir=str(tmp_path), max_workers=4) as res:
        nodes = res.map_nodes(["acme/one", "acme/two", "family:llama2"])
        assert [n.resolved_from for n in nodes] == ["cache", "cache", "registry"]
        assert nodes[0].facts.keys == ("mit",)
        assert res._pool is not None


def test_index_models_dirs_is_public(tmp_path):
    (tmp_path / "acme--tiny").mkdir()
    (tmp_path / "org" / "small").mkdir(parents=True)
    index = index_models_dirs([str(tmp_path)])
    assert index["acme--tiny"] == str(tmp_path / "acme--tiny")
    assert index["org/small"] == str(tmp_path / "org" / "small")
    assert index["name:tiny"] == str(tmp_path / "acme--tiny")


def test_user_registry_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLAUDIT_REGISTRY", str(tmp_path / "reg"))
    assert user_registry_dir() == str(tmp_path / "reg")
    monkeypatch.delenv("MLAUDIT_REGISTRY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_registry_dir() == os.path.join(str(tmp_path / "xdg"), "mlaudit", "registry")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_registry_dir() == os.path.join(str(tmp_path / "home"), ".local", "share", "mlaudit", "registry")


def test_effective_license_and_evidence_do_not_mix_up_models():
    items = _fixture_items()
    lineages = resolve_many(items, Resolver(max_workers=1))
    # each model alone: effective license, then evidence
    alone = []
    for (subject, card, facts, _), lin in zip(items, lineages):
        eff = effective_license(subject, facts, lin)
        alone.append((eff, lineage_evidence(subject, card, facts, lin, eff)))
    # interleaved: all effective licenses first, then all evidence
    effs = [effective_license(s, f, lin) for (s, _, f, _), lin in zip(items, lineages)]
    evs = [lineage_evidence(s, c, f, lin, e) for (s, c, f, _), lin, e in zip(items, lineages, effs)]
    assert list(zip(effs, evs)) == alone
    conflicted = [i for i, (_, ev) in enumerate(alone) if any(e.check == "lineage-conflict" for e in ev)]
    assert len(conflicted) >= 5
    # the same model with another lineage (no ancestors) right after: no conflict is left over
    subject, card, facts, _ = items[conflicted[0]]
    eff = effective_license(subject, facts, lineages[conflicted[0]])
    bare = Lineage(subject, None)
    assert not any(e.check == "lineage-conflict" for e in lineage_evidence(subject, card, facts, bare, eff))
    origin = Origin("local", "/x/README.md", file="/x/README.md")
    assert card_date_floor(parse_card("---\nlicense: mit\n---\nBuilt in March 2024.\n", origin)) == dt.date(2024, 3, 1)
