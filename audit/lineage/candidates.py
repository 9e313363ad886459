"""A model's bases when its card does not declare them: inferred from configs, the card body, tags and names.

Declared bases (base_model, the Hub's base_model tags, adapter_config.json) come first; inference runs only
without them, in tiers (find_bases). The phrase tables behind the body scan are data (data/phrases.yaml).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from audit.card import is_fence
from audit.lineage.codeblocks import CodeBlock
from audit.lineage.confidence import confidence
from audit.lineage.inherit import repo_id_of
from audit.lineage.names import is_itself, model_name, other_names, published_name, spaced_names, spoken_of_as_ours
from audit.lineage.phrases import (
    ANCESTRY,
    ANCESTRY_HINTS,
    NAME_DECORATIONS,
    NAMED_BEFORE,
    NOT_ANCESTRY,
    NOT_ANCESTRY_LISTS,
    SOURCES_HEADING,
    TOOL_NAMES,
    mask_other_roles,
    read_name,
)
from audit.model import ModelCard, Origin, Snapshot, SourceKind
from audit.registry import BARE_LLAMA, Entry, Registry, load_registry, lowerable
from audit.sources.base import json_object
from audit.sources.ids import declared_repo_id
from audit.sources.weights import weight_headers

if TYPE_CHECKING:
    from audit.lineage.resolver import Resolver


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model named as (or guessed to be) a base of another."""

    id: str  # repo id, or 'family:<label>' for a family named in text
    via: str  # base_model | hub | adapter_config | config | mergekit | body-link | body-name | body-family |
    #           code-base | tag | name | registry-relation | registry-name (confidence.yaml lists them all)
    inferred: bool
    confidence: float
    evidence: tuple[Origin, ...] = ()
    note: str | None = None


_TABLE_ROW = re.compile(r"^\s*\||<t[dhr][\s>]", re.IGNORECASE)
# a Markdown table's delimiter row ('|---|---|', '---|---'): the rows after it are table rows, with or without
# a leading '|', until a line holds no '|'
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$|^\s*\|\s*:?-{3,}:?\s*\|\s*$")
_HUB_LINK = re.compile(
    r"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/"
    r"(?!datasets/|spaces/|docs/|blog/|papers/|api/|collections/|models\?|organizations/|settings/|join|login)"
    r"([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)",
    re.IGNORECASE,
)
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_BARE_ID = re.compile(r"(?<![\w/.:-])`?([A-Za-z0-9][\w-]*(?:\.[\w-]+)*/[A-Za-z0-9][\w.-]*[A-Za-z0-9])`?(?![\w/])")
_NAME_GAPS = re.compile(r"\s*[-\u2013\u2014:|]\s+|\s+[-\u2013\u2014:|]?\s*")  # ' - ', ': ', ' ' between a name's words
_NAME_TOKEN = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:[-_][\w.]+)+)", re.ASCII)  # ASCII: a name ends where CJK text begins
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_LIST_OR_LINK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s|^\s*\[?https?://|^\s*<a\s", re.IGNORECASE)
# a name followed by "dataset" names the data ("the Alpaca-GPT4 dataset"), unless a preposition comes between
# ("fine-tuned mistral-7b on our dataset": the name is the model the data was used on)
_DATA_AFTER = re.compile(r"^(?!\s+(?:on|with|using|for|from|in|to)\b)[\s\w.-]{0,12}\b(?:data(?:set)?s?|corpus)\b",
                         re.IGNORECASE)


def _text_candidates(text: str, origin: Origin, reg: Registry, via_name: str, via_family: str,
                     bare_llama: bool = True, name: bool = False, phrase: str | None = None) -> list[Candidate]:
    """Registry models named in a span of text (a re-upload name, 'Yi-34B'), then families ('Llama 2').
    `name`: the text is a model's name: its shorthands are expanded ('L3.1-8B') and its decorations
    ('-abliterated') dropped (phrases.yaml). Tool names ('llama.cpp') are masked first. `phrase`: the sentence
    the text comes from, quoted in each candidate's note."""
    out: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    if name:
        read = read_name(text)
        # a registry model's own name beats the shorthands it holds ('control_v11p_sd15_canny' is ControlNet's)
        if read != text and not any(reg.by_name(m.group(1).strip(".-_")) for m in _NAME_TOKEN.finditer(text)):
            text = read
    if "l" in text.lower() and not name:  # a model's own name is no tool's ('LLaVA v1.5 7B GGUF')
        text = TOOL_NAMES.sub(lambda m: " " * len(m.group(0)), text)
    said = f" in {phrase}" if phrase else ""
    for m in _NAME_TOKEN.finditer(text) if "-" in text or "_" in text else ():
        tok = m.group(1).strip(".-_")
        if _DATA_AFTER.match(text[m.end():]):
            continue
        entry = reg.by_name(tok)
        if entry is None and NAME_DECORATIONS.search(tok):
            entry = reg.by_name(NAME_DECORATIONS.sub("", tok))
        if entry is None and name:  # a model's name begins with its base's ('Qwen2.5-7B-roleplay'), or its end's
            entry = reg.by_sized_prefix(tok) or reg.by_name_end(tok)
        if entry is not None:
            spans.append((m.start(), m.end()))
            out.append(Candidate(entry.id, via_name, True, confidence(via_name), (origin,),
                                 f"'{tok}' names registry model {entry.id}{said}"))
    spelled: list[tuple[int, int, Entry | None, str]] = []
    if not name and " " in text:  # prose: a name in it written with spaces ('Fine-tuned from Qwen2.5 3B Instruct')
        spelled = list(spaced_names(text, reg, spans))
    elif name and not out and " " in text.strip():
        # a name written with spaces, as titles are ('Zephyr 7B Beta - GGUF'): read it as the repo name it spells
        joined = _NAME_GAPS.sub("-", text.strip())
        spelled = [(0, len(text), reg.by_name(joined) or reg.by_sized_prefix(joined), text.strip())]
    for a, b, entry, words in spelled:
        if entry is not None:
            spans.append((a, b))
            out.append(Candidate(entry.id, via_name, True, confidence(via_name), (origin,),
                                 f"'{words}' names registry model {entry.id}{said}"))
    rest = text
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " * (b - a) + rest[b:]
    for rule, m in reg.by_family(rest, in_name=name):
        if _DATA_AFTER.match(rest[m.end():]):
            continue
        out.append(Candidate(f"family:{rule.label}", via_family, True, confidence(via_family), (origin,),
                             f"'{m.group(0)}' names the {rule.label} family ({rule.note}){said}"))
    for m in _NAME_TOKEN.finditer(text) if name and not out and "-" in text else ():
        # the last resort for a name: a word or two of the publisher's own before the base's ('Magic-Qwen2.5-7B')
        tok = m.group(1).strip(".-_")
        entry = reg.by_branded_name(tok)
        if entry is not None:
            out.append(Candidate(entry.id, via_name, True, confidence(via_name), (origin,),
                                 f"'{tok}' holds the name of registry model {entry.id}{said}"))
            break
    # (no i or s in "llama": a match always lowers to "llama", so the substring test is a sound guard)
    if bare_llama and not out and "llama" in rest.lower() and BARE_LLAMA.search(rest):
        # no surer than a family named where the word stands: in the tags, as weak as any tag
        sure = min(confidence("bare-llama"), confidence(via_family))
        out.append(Candidate("family:llama1", "bare-llama", True, sure, (origin,),
                             "an unversioned 'LLaMA' names the original LLaMA (later versions are always numbered)"))
    return out


def _body_candidates(card: ModelCard, subject: str, reg: Registry) -> tuple[list[Candidate], list[Candidate]]:
    """(repo ids, families) that the card body names in a sentence about where the model comes from."""
    ids: list[Candidate] = []
    fams: list[Candidate] = []
    exact = lowerable(card.body)
    scope: str | None = None  # 'heading': to the next heading; 'label': to the end of the list it introduces
    blank_run = 0
    code: CodeBlock | None = None
    in_table = False
    # Most lines are prose that names no base: each test below is ordered so that such a line, a code line and
    # a blank line cost as little as possible (cheap substring tests guard every regex).
    for idx, line in enumerate(card.body.split("\n")):
        stripped = line.strip()
        if stripped[:1] in ("`", "~") and is_fence(stripped):
            if code is None:
                code = CodeBlock()
            else:
                ids.extend(_code_candidates(code, card))
                code = None
            continue
        if code is not None:
            code.feed(line, idx)
            continue
        if in_table and "|" not in line:
            in_table = False
        if "-" in line and "|" in line and _TABLE_RULE.match(line):
            in_table = True
            continue
        heading = _HEADING.match(line) if stripped[:1] == "#" else None
        if heading:
            text = heading.group(1)
            low = text.lower() if exact else None
            scope = "heading" if SOURCES_HEADING.search(text, low) and \
                not NOT_ANCESTRY.search(text, low) else None
            blank_run = 0
            continue
        if not stripped:
            blank_run += 1
            continue
        if scope == "label" and blank_run and not _LIST_OR_LINK.match(line):
            scope = None  # a paragraph after the list ends it
        blank_run = 0
        low = line.lower()
        if scope is None:
            for h in ANCESTRY_HINTS:  # any(h in low ...), written out: it runs for most lines, at half the cost
                if h in low:
                    break
            else:
                continue  # no word any ancestry phrase needs: skip the costly patterns
        if NOT_ANCESTRY_LISTS.search(line, low if exact else None):
            if scope == "label":
                scope = None
            continue  # "see also", a collection, other sizes: related models, not this one's origin
        in_row = in_table or _TABLE_ROW.search(line) is not None
        if in_row and line.count("|") >= 2 and len([c for c in line.split("|") if c.strip()]) >= 3:
            continue  # a row of three cells or more is one of several things a table lists (a family's models)
        origin = card.origin.at(line=card.body_line + idx)
        row = scope is not None and in_row
        context = _scan_line(line, origin, scope is not None and not row, exact, reg, ids, fams)
        if context and stripped.endswith(":") and scope is None:
            scope = "label"  # "The models used in this merge were:" introduces a list
    if code is not None:  # a block left open runs to the end of the card
        ids.extend(_code_candidates(code, card))
    return ids, fams


def _code_candidates(code: CodeBlock, card: ModelCard) -> list[Candidate]:
    return [Candidate(rid, kind, True, confidence(kind), (card.origin.at(line=card.body_line + idx),), note)
            for rid, idx, kind, note in code.bases()]


# sentences, and CJK clauses: a Chinese line joins "based on X" and "better than Y" with a full-width comma
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[*_(])|(?<=[。！？；，])")


def _scan_line(line: str, origin: Origin, in_section: bool, exact: bool, reg: Registry,
               ids: list[Candidate], fams: list[Candidate]) -> bool:
    """The bases a line names, when it says where the model comes from (or a section of sources holds it);
    True when the line itself states an origin. A long line is read sentence by sentence: a comparison in one
    sentence does not deny the origin stated in another ("Trained from Qwen's weights. It beats Llama 2 ...");
    but when any sentence is a comparison, only the sentences that themselves state an origin are read."""
    low = line.lower() if exact else None
    context = ANCESTRY.search(line, low)
    if not (context or in_section):
        return False
    pieces = _SENTENCE.split(line) if (len(line) > 80 or not line.isascii()) and _SENTENCE.search(line) else [line]
    if len(pieces) > 1:
        lows = [p.lower() if exact else None for p in pieces]
        if any(NOT_ANCESTRY.search(p, lo) for p, lo in zip(pieces, lows)):
            pieces = [p for p, lo in zip(pieces, lows) if ANCESTRY.search(p, lo)] if context else pieces
    for piece in pieces:
        _scan_sentence(piece, origin, exact, reg, ids, fams)
    return context


def _scan_sentence(line: str, origin: Origin, exact: bool, reg: Registry, ids: list[Candidate],
                   fams: list[Candidate]) -> None:
    """The bases one sentence of a line about the model's origin names. In a sentence that is also a comparison
    or a denial, a link right after the origin words ('a fine-tune of [X](hf link), which outperforms ...') and
    the names before the comparison ('Fine-tuned from X, it outperforms Y'). A model in another role (the one
    that wrote the training data, a judge, a teacher: phrases.yaml other_roles) is masked first."""
    line = mask_other_roles(line)
    low = line.lower() if exact else None
    linked = "://" in line  # (each pattern below needs the literal text tested before it)
    denied = NOT_ANCESTRY.search(line, low)
    # in a denied sentence, only a link that closely follows the words stating the origin is the base
    phrase_ends = [m.end() for m in ANCESTRY.full.finditer(line)] if denied and linked else []
    for m in _HUB_LINK.finditer(line) if linked else ():
        if denied and not any(0 <= m.start() - end <= _LINK_AFTER_PHRASE for end in phrase_ends):
            continue
        if _links_a_card(line, m.start()):
            continue  # "this card is based on the [DALL-E Mini model card](...)": a document, not a base
        rid = re.sub(r"(?:/(?:blob|tree|resolve|raw)/.*)$", "", m.group(1)).rstrip(".,;:)")
        ids.append(Candidate(rid, "body-link", True, confidence("body-link"), (origin,),
                             f"linked from a sentence about the model's origin: {_quote(line)}"))
    text = line
    if denied:
        text = _origin_part(line)
        if not text:
            return
    plain = _CODE_LINK.sub(" ", text) if "](" in text else text  # a link to code names a tool, not a base
    plain = _MD_LINK_TARGET.sub("] ", plain) if "](" in plain else plain
    plain = _HUB_LINK.sub(" ", plain) if linked else plain
    plain = _URL.sub(" ", plain) if "://" in plain else plain
    for m in _BARE_ID.finditer(plain) if "/" in plain else ():
        rid = m.group(1)
        if "." in rid.split("/", 1)[0] or rid.lower().startswith(("http", "www")):
            continue
        ids.append(Candidate(rid, "body-name", True, confidence("body-name"), (origin,),
                             f"repo id named in a sentence about the model's origin: {_quote(line)}"))
    fams.extend(_text_candidates(plain, origin, reg, "text-name", "body-family", phrase=_quote(line)))
    label = _LABELLED_WORD.search(plain) if ":" in plain or "=" in plain else None
    if label is not None:
        # a one-word name is read from prose only as the whole value of a label ('Base model: LaBSE', 'gpt2'),
        # and only when it is exactly a registry model's name: as a word in a sentence it is too often a word
        entry = reg.by_exact_name(label.group(1))
        if entry is not None:
            fams.append(Candidate(entry.id, "text-name", True, confidence("text-name"), (origin,),
                                  f"'{label.group(1)}' names registry model {entry.id} in {_quote(line)}"))


# a label stating the base and a one-word value ('Base model: LaBSE', '**Original model**: `gpt2`')
_LABELLED_WORD = re.compile(r"\b(?:base|original|parent|finetuned\s+from|fine-tuned\s+from)\s+model[*_\s]*(?:\[optional\])?"
                            r"[*_\s]*[:\uff1a=][*_\s`]*([A-Za-z][A-Za-z0-9]*)[*_`]*\s*(?:[.,;)]\s*)?$", re.IGNORECASE)


def _origin_part(line: str) -> str:
    """The part of a sentence that is also a comparison or a denial that still states the model's origin. A
    comparison names its models after its word, so what comes before it, when it states the origin, is read
    ("Fine-tuned from Mistral-7B, it outperforms Llama-2-13B"), unless the word follows the model it is about
    ("the Llama-2 architecture"); else the clauses that state an origin and compare nothing ("Compared to
    Llama-2-7b, our model, trained from Mistral-7B, ..."). '' when no part does."""
    if "](" in line:  # a link to code is a tool's name: it neither compares nor is cut in two
        line = _CODE_LINK.sub(lambda m: " " * len(m.group(0)), line)
    first = NOT_ANCESTRY.full.search(line)
    if first is None:
        return ""
    head = line[:first.start()]
    if head.strip() and not NAMED_BEFORE.full.match(line, first.start()) and ANCESTRY.full.search(head):
        return head
    clauses = [c for c in _CLAUSE.split(line) if ANCESTRY.full.search(c) and not NOT_ANCESTRY.full.search(c)]
    return " ; ".join(clauses)


_CLAUSE = re.compile(r"[,;:()]\s")


def _links_a_card(line: str, at: int) -> bool:
    """Is the link at `at` a Markdown link whose text names a model card ('[the X model card](...)')?"""
    if line[at - 2:at] != "](":
        return False
    text = line[line.rfind("[", 0, at - 2) + 1:at - 2]
    return _CARD_TEXT.search(text) is not None


# '[the X model card](...)' is a document; '[the original model card](...)' is the card of the base, at its repo
_CARD_TEXT = re.compile(r"(?<!original model )(?<!base model )(?<!original model's )\bcards?\W*$", re.IGNORECASE)
_LINK_AFTER_PHRASE = 80  # characters between "a fine-tune of" and its link: '[Llama 2 7B chat](https://...'
# a link to anything but the Hub (code, a paper); not one with no target at all ('from [`org/x`]()', as mlx-lm writes)
_CODE_LINK = re.compile(r"\[[^\]]*\]\((?!\s*https?://(?:www\.)?(?:huggingface\.co|hf\.co)/|\s*\))[^)]*\)", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def _quote(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return f'"{text[:width]}{"..." if len(text) > width else ""}"'


def dedupe(cands: Iterable[Candidate], subject: str) -> list[Candidate]:
    """One candidate per id (the first, with every origin), the subject left out. Its confidence: the best of
    each kind of evidence, and independent kinds combined (1 - the product of 1 - each, data/confidence.yaml)."""
    out: dict[str, Candidate] = {}
    kinds: dict[str, dict[str, float]] = {}
    me = subject.lower()
    for c in cands:
        k = c.id.lower()
        if k == me:
            continue
        prev = out.get(k)
        best = kinds.setdefault(k, {})
        best[c.via] = max(best.get(c.via, 0.0), c.confidence)
        if prev is None:
            out[k] = c
            continue
        miss = 1.0
        for conf in best.values():
            miss *= 1.0 - conf
        notes = prev.note if not c.note or c.note == prev.note else f"{prev.note}; {c.note}"
        out[k] = replace(prev, confidence=round(min(1.0, max(1.0 - miss, prev.confidence)), 2), note=notes,
                         evidence=prev.evidence + tuple(o for o in c.evidence if o not in prev.evidence))
    return list(out.values())


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def find_bases(subject: str, card: ModelCard | None, snapshot: Snapshot | None, resolver: Resolver | None = None
               ) -> tuple[list[Candidate], list[list[Candidate]]]:
    """The subject's bases: (declared, inferred tiers strongest first).

    Declared: the card's base_model, the Hub's base_model tags, adapter_config.json. When nothing is declared,
    inference runs in tiers, each used only when the stronger ones found nothing the resolver can resolve:
    A) configs, merge configurations, Hub links and repo ids in sentences about the model's origin;
    B) registry models and families named in such sentences; C) families in the tags and the model name.
    (`resolver` is not used: the caller picks the tier that resolves, see Resolver.pick_tier.)"""
    declared = _declared_bases(subject, card, snapshot)
    if declared:
        return declared, []
    name = model_name(subject, card)
    recorded = _registry_base(subject, card, name)
    if recorded is not None:
        return [recorded], []
    return [], inferred_tiers(subject, card, snapshot, name)


def _registry_base(subject: str, card: ModelCard | None, name: str) -> Candidate | None:
    """The base the registry records for the model published under this repo id (a Hub id, a directory named
    org--name), or for the registry model whose very name the card is published or titled under (a copy of its
    official card): a fact (DeepSeek-V3 from V3-Base, Orca 2 from Llama 2) where the prose names the publisher's
    other models (teachers). `name` is model_name's answer (its published name first, else its title)."""
    reg = load_registry()
    rid = repo_id_of(subject)
    entry = reg.model(rid) if rid else None
    if entry is None and rid is None and card is not None and name:
        entry = reg.by_exact_name(name)
    if entry is None or not entry.relation_to:
        return None
    origin = Origin(SourceKind.REGISTRY, entry.id, file=entry.source_file, line=entry.source_line, field="relation_to")
    return Candidate(entry.relation_to, "registry-relation", False, confidence("registry-relation"), (origin,),
                     f"the registry records {entry.id} as made from {entry.relation_to}")


def _snapshot_origin(snapshot: Snapshot | None, subject: str) -> Origin:
    # (without a snapshot there are no texts or Hub facts, so this fallback names nothing that was read)
    return snapshot.origin if snapshot is not None else Origin(SourceKind.INFERRED, subject)


def _declared_bases(subject: str, card: ModelCard | None, snapshot: Snapshot | None) -> list[Candidate]:
    """The card's base_model, the Hub's base_model tags, adapter_config.json."""
    declared: list[Candidate] = []
    where = _snapshot_origin(snapshot, subject)
    texts = snapshot.texts if snapshot is not None else {}
    if card is not None and card.base_models:
        origin = card.field_origin("base_model")
        for b in card.base_models:
            declared.append(Candidate(declared_repo_id(b), "base_model", False, confidence("base_model"), (origin,)))
    info = snapshot.info if snapshot is not None else {}
    # the Hub's own tags 'base_model:org/name' and 'base_model:<relation>:org/name' (in the card or Hub info)
    tags = list(card.tags) if card is not None else []
    tags += [t for t in info.get("tags", ()) or () if isinstance(t, str)]
    for t in tags:
        if t.startswith("base_model:"):
            tag_id = t.rsplit(":", 1)[-1].strip()
            if _REPO_ID.match(tag_id):
                at = card.field_origin("tags") if card is not None and t in card.tags else where.at(field="tags")
                declared.append(Candidate(tag_id, "hub", False, confidence("hub"), (at,), f"the Hub tag {t!r}"))
    for b in info.get("base_models", ()) or ():
        bid = b.get("id") if isinstance(b, dict) else b
        if isinstance(bid, str) and bid:
            declared.append(Candidate(bid, "hub", False, confidence("hub"), (where.at(field="baseModels"),)))
    adapter = json_object(texts.get("adapter_config.json"))
    ad_base = adapter.get("base_model_name_or_path")
    if isinstance(ad_base, str) and _REPO_ID.match(ad_base.strip()):
        declared.append(Candidate(ad_base.strip(), "adapter_config", not declared, confidence("adapter_config"),
                                  (where.at(file="adapter_config.json", field="base_model_name_or_path"),)))
    return dedupe(declared, subject)


def inferred_tiers(subject: str, card: ModelCard | None, snapshot: Snapshot | None, name: str | None = None
                   ) -> list[list[Candidate]]:
    """Bases named outside base_model, in tiers strongest first (see find_bases). `name`: model_name's answer,
    when the caller has it."""
    reg = load_registry()
    where = _snapshot_origin(snapshot, subject)
    texts = snapshot.texts if snapshot is not None else {}
    info = snapshot.info if snapshot is not None else {}
    tier_a: list[Candidate] = []
    config = json_object(texts.get("config.json"))
    name_or_path = config.get("_name_or_path")
    if isinstance(name_or_path, str) and _REPO_ID.match(name_or_path.strip()):
        tier_a.append(Candidate(name_or_path.strip(), "config", True, confidence("config"),
                                (where.at(file="config.json", field="_name_or_path"),),
                                "config.json _name_or_path names the checkpoint training started from"))
    headers = weight_headers(snapshot) if snapshot is not None and snapshot.files else []
    for h in headers:
        for rid, fld in h.base_models():
            tier_a.append(Candidate(rid, "weights-base", True, confidence("weights-base"),
                                    (where.at(file=h.path, field=fld),),
                                    f"the {h.format} header of {h.path} records {fld} = {rid}"))
    tier_b: list[Candidate] = []
    if card is not None:
        ids, fams = _body_candidates(card, subject, reg)
        tier_a.extend(ids)
        tier_b.extend(fams)
    tier_c: list[Candidate] = []
    tags = list(card.tags) if card is not None else []
    tags += [t for t in info.get("tags", ()) or () if isinstance(t, str) and ":" not in t]
    if tags:
        tag_origin = card.field_origin("tags") if card is not None else where.at(field="tags")
        tier_c.extend(_text_candidates(" ; ".join(dict.fromkeys(tags)), tag_origin, reg, "tag-name", "tag"))
    if name is None:
        name = model_name(subject, card)
    published = published_name(subject, card)
    titled_as: list[str] = []
    if name and not published and reg.by_exact_name(name) is not None:
        titled_as, name = [name], ""  # a card titled with a registry model's very name is that model's card
    if name:
        name_origin = card.origin.at(line=card.body_line) if card is not None else Origin(SourceKind.INFERRED, subject)
        tier_c.extend(_text_candidates(name, name_origin, reg, "name-name", "name", bare_llama=False, name=True))
    for other, at in other_names(subject, card):  # its title, its model-index name
        tier_c.extend(_text_candidates(other, at, reg, "name-name", "name", bare_llama=False, name=True))
    for h in headers:
        if h.name:
            tier_c.extend(_text_candidates(h.name, where.at(file=h.path, field="general.name"), reg,
                                           "weights-name", "weights-name", bare_llama=False, name=True))
    # a model does not descend from itself, nor from its own re-uploads and quantizations (official cards name
    # their own family everywhere; a card links its own GGUF versions)
    own = [subject] + ([published] if published else []) + titled_as
    ours = spoken_of_as_ours(card.body) if card is not None else []
    own.extend(ours)
    own_id = repo_id_of(subject)
    for entry in (reg.model(own_id) if own_id else None, *(reg.by_name(n) for n in ours + titled_as)):
        if entry is not None and entry.family:  # a registry model's own family is itself and its siblings
            own.append(f"family:{entry.family}")
    tier_b_names = [c for c in tier_b if c.via == "text-name"]
    tier_b_fams = [c for c in tier_b if c.via != "text-name"]  # body-family, bare-llama
    tiers = [[c for c in dedupe(tier, subject) if not is_itself(c.id, own)]
             for tier in (tier_a, tier_b_names, tier_b_fams, tier_c)]
    # an unversioned 'LLaMA' (read as the original) gives way to anything else its tier names: the Hub's 'llama' tag
    # is an architecture tag, worn by Llama 2 and 3 fine-tunes whose names say which
    return [[c for c in tier if c.via != "bare-llama"] if any(c.via != "bare-llama" for c in tier) else tier
            for tier in tiers]
