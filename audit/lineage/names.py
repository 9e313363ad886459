"""Who a model is, for lineage: the name it is published under, and whether a model its card names is itself
(its own name, a re-upload or quantization of it) rather than a base."""
from __future__ import annotations

import os
import re

from audit.lineage.phrases import lowered
from audit.model import ModelCard, Origin
from audit.registry import Entry, Registry, name_key, names_one_model, plain_name
from audit.sources.ids import names_hub_repo

_H1 = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def model_name(subject: str, card: ModelCard | None) -> str:
    """The name a model is published under (published_name), else the card's title, else the path's name."""
    name = published_name(subject, card)
    if name:
        return name
    title = card_title(card)
    if title:
        return title
    base = subject.rstrip("/\\")
    name = os.path.basename(base)
    if name.lower() in ("readme.md", "model_card.md") or name.lower().endswith(".md"):
        name = os.path.basename(os.path.dirname(base)) or name
    return name


def card_title(card: ModelCard | None) -> str | None:
    """The card's first level-one heading, without emphasis, code marks, tags or links."""
    m = _H1.search(card.body) if card is not None else None
    if m is None:
        return None
    # emphasis marks go, the underscores inside a name stay ('open_llama_7b', 'phi-1_5')
    title = re.sub(r"`|(?<!\w)[*_]+|[*_]+(?!\w)|<[^>]+>|\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).strip()
    return title or None


def other_names(subject: str, card: ModelCard | None) -> list[tuple[str, Origin]]:
    """The names a card gives its model besides the one it is published under (its repo or snapshot directory):
    its title and its model_name or model-index name. The Trainer writes its output directory there, and people
    title a card after what they made it from ('Llama-2-7b-chat-hf-dpo'), so these names are evidence of a base;
    none when the card has no other name, or only the published one. Each with where the card gives it."""
    if card is None or not (names_hub_repo(subject) or "--" in os.path.basename(subject.rstrip("/\\"))):
        return []
    published = name_key(published_name(subject, card) or "")
    index = card.front_matter.get("model-index")
    m = _H1.search(card.body)
    title_at = card.origin.at(line=card.body_line + card.body.count("\n", 0, m.start(1)) if m else None)
    out: dict[str, Origin] = {}
    for name, at in ((card_title(card), title_at), (card.front_matter.get("model_name"), card.field_origin("model_name")),
                     (index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None,
                      card.field_origin("model-index"))):
        if isinstance(name, str) and name.strip() and names_one_model(name) and name_key(name) != published:
            out.setdefault(name.strip(), at)
    return list(out.items())


def published_name(subject: str, card: ModelCard | None) -> str | None:
    """The name a model is distributed under, when we know it: the repo name, a snapshot directory named like a
    repo (org--name), or the card's model_name or its model-index name (the name its evaluation results are
    published under: the Trainer writes its output directory there, often the base's name, so the repo's own
    name comes first). None for a directory or card file with no such name, and for a card name that is a
    sentence naming another model (sentence-transformers writes 'SentenceTransformer based on org/x')."""
    if names_hub_repo(subject):
        return subject.split("/", 1)[1]
    base = os.path.basename(subject.rstrip("/\\"))
    if "--" in base:
        return base.split("--", 1)[1]
    if card is not None:
        name = card.front_matter.get("model_name")
        index = card.front_matter.get("model-index")
        if not (isinstance(name, str) and name.strip()) and isinstance(index, list) and index \
                and isinstance(index[0], dict):
            name = index[0].get("name")
        if isinstance(name, str) and name.strip() and names_one_model(name):
            return name.strip()
    return None


def is_itself(candidate: str, own: list[str]) -> bool:
    """Is the candidate the model itself, or a re-upload or quantization of it ('TheBloke/Bot-7B-GGUF' named in
    Bot-7B's card)? Not when the model is the decorated one: the GGUF quantization 'gemma-2-9b-it-GGUF' is made
    from the 'google/gemma-2-9b-it' its card links."""
    key = name_key(candidate)
    return any(name_key(name) == key and not (_decorated(name) and not _decorated(candidate)) for name in own)


def _decorated(name: str) -> bool:
    """Does the name carry re-upload decorations (-GGUF, -AWQ, -4bit ...) that name_key drops?"""
    plain = plain_name(name)
    return name_key(name) not in (plain, plain.removeprefix("meta-"))


# how a card names the model it describes: 'Our Skywork-13B-Base model is trained ...', 'Zephyr-7B (ours)'
_OUR_X = re.compile(r"our\s+([A-Za-z][\w.]*(?:[-_][\w.]+)+)\s+(?:model|checkpoint|weights)\b", re.IGNORECASE)
_X_BEFORE = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:[-_][\w.]+)+)\s*$")
_X_OURS = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:[-_][\w.]+)+)\s*\(ours\)", re.IGNORECASE)


def spoken_of_as_ours(body: str) -> list[str]:
    """The names a card gives its own model ('our X model', 'X (ours)'): an official card copied to a directory of
    any name still speaks of itself so, and is not its own base. (The patterns are tried only where str.find sees
    'our': a regex scan of a long card costs far more.)"""
    low = lowered(body)
    if low is None:  # lower() would move positions: the patterns as written, over the whole card
        return [m.group(1) for m in _OUR_X.finditer(body) if m.start() == 0 or not body[m.start() - 1].isalnum()] \
            + [m.group(1) for m in _X_OURS.finditer(body)]
    names = []
    i = low.find("our")
    while i >= 0:
        if i == 0 or not low[i - 1].isalnum():
            m = _OUR_X.match(body, i)
            if m is not None:
                names.append(m.group(1))
        i = low.find("our", i + 3)
    i = low.find("(ours)")
    while i >= 0:
        m = _X_BEFORE.search(body, max(0, i - 120), i)
        if m is not None:
            names.append(m.group(1))
        i = low.find("(ours)", i + 6)
    return names


_WORD = re.compile(r"\S+")
_SPACED_PART = re.compile(r"[A-Za-z0-9][\w.+]*")  # one word of a name written with spaces ('Qwen2.5', '7B', 'v0.2')
_WRAP = "[]()*_`\"'"
_STOP = re.compile(r"[.,;:!?]\W*$")
_LONGEST = 2000


def spaced_names(text: str, reg: Registry, taken: list[tuple[int, int]]) -> list[tuple[int, int, Entry, str]]:
    """Registry models that prose names with spaces for the dashes of their names ('Qwen2.5 3B Instruct', 'Qwen 2.5
    72B Instruct', 'FLUX.1 [dev]'), as (start, end, entry, the name as read), outside the `taken` spans. A run of
    words one space apart, opening with a word registry names begin with, is read as the longest dashed name of two
    words or more that by_name knows. A run that a blank follows is left alone: a blank is where mask_other_roles
    took out the rest of a name in another role ('Qwen 2.5 72B Instruct outputs', 'Instruct' blanked)."""
    words: list[tuple[int, int, str, bool]] = []  # (start, end, the word bare, whether a run stops after it)
    # a sentence stating an origin is short: past _LONGEST characters a line is not one (and each word may cost
    # several lookups), so a huge line costs no more than a long sentence
    for m in _WORD.finditer(text, 0, min(len(text), _LONGEST)):
        raw = m.group(0)
        core = raw.strip(_WRAP).rstrip(".,;:!?").strip(_WRAP)
        if not _SPACED_PART.fullmatch(core):
            words.append((m.start(), m.end(), "", True))
            continue
        # punctuation after it, a bracket closing one opened before it ('[FLUX.1 dev]') or a blank ends the name
        stops = _STOP.search(raw) is not None or (raw.endswith((")", "]")) and not raw.startswith(("(", "["))) \
            or text[m.end():m.end() + 2] == "  "
        words.append((m.start(), m.end(), core, stops))
    found: list[tuple[int, int, Entry, str]] = []
    i = 0
    while i < len(words):
        start, _, first, _ = words[i]
        j = i
        while not words[j][3] and j + 1 < len(words) and words[j + 1][2] and j - i < 6:
            j += 1
        if j == i or not first or not reg.begins_names(first) or any(a <= start < b for a, b in taken) \
                or text[words[j][1]:words[j][1] + 2] == "  ":
            i += 1
            continue
        for k in range(j, i, -1):
            parts = [w[2] for w in words[i:k + 1]]
            entry = reg.by_name("-".join(parts))
            if entry is not None:
                found.append((start, words[k][1], entry, " ".join(parts)))
                i = k
                break
        i += 1
    return found
