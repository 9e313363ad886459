"""The CycloneDX 1.6 `modelCard` of one model, as plain JSON (cyclonedx-python-lib 11 has no model for it).

modelParameters: the task (the card's pipeline_tag), the architecture family and model architecture
(config.json model_type / architectures), the datasets as refs to the BOM's data components.
considerations: the card's intended uses and limitations (the first sentence of each such section, its
card line in a property), and the use restrictions the governing licenses impose, in our words from the
catalog's terms. Card text is hostile: every string goes through common.visible and is cut short.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from audit.card import is_fence
from audit.model import ModelResult
from audit.report.common import visible

_MAX_TEXT = 300  # a first sentence longer than this is cut (with an ellipsis)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# card section headings (lower-cased, markup stripped) -> the considerations list they feed
_SECTIONS = (
    (re.compile(r"\b(intended|direct|downstream)\s+uses?\b|^uses?$|\buse cases?\b"), "useCases"),
    (re.compile(r"\blimitations?\b|\bbias(es)?,? risks\b|\brisks\b"), "technicalLimitations"),
)
_SKIP = re.compile(r"\bout[- ]of[- ]scope\b|\bmisuse\b")
_PLACEHOLDER = re.compile(r"more information needed", re.IGNORECASE)  # the Hub's card template, unfilled
_SENTENCE = re.compile(r"(.+?[.!?])(?=\s+[A-Z0-9\"'(\[]|$)")  # "e.g. for" does not end a sentence
_MARKUP = re.compile(r"[*_`]+|\[([^\]]*)\]\([^)]*\)|<[^>]*>")

# limitation and condition terms that restrict how the model may be used -> how we say so
_RESTRICTIONS: Mapping[str, str] = {
    "non-commercial": "no commercial use",
    "research-only": "research use only",
    "user-threshold": "a separate license is needed above {users} monthly active users",
    "revenue-threshold": "a separate license is needed above USD {usd_per_year} annual revenue",
    "no-derivatives": "no derivative models may be distributed",
    "no-distribution": "the model may not be redistributed",
    "no-training-other-models": "its outputs may not be used to train other models",
    "field-of-use": "field-of-use restrictions apply{restrictions}",
    "geographic": "geographic restrictions apply{regions}",
    "no-hosting": "the model may not be offered as a hosted service",
    "outputs-restricted": "the use of its outputs is restricted",
    "revocable": "the licensor may revoke the license",
    "acceptable-use-policy": "use must follow the acceptable use policy{policy}",
}


def model_card(m: ModelResult, dataset_refs: Mapping[str, str]) -> dict[str, Any]:
    """The modelCard object for a model component (empty sections are left out, as the schema wants)."""
    card: dict[str, Any] = {}
    params = _parameters(m, dataset_refs)
    if params:
        card["modelParameters"] = params
    considerations, props = _considerations(m)
    if considerations:
        card["considerations"] = considerations
    if props:
        card["properties"] = props
    return card


def _parameters(m: ModelResult, dataset_refs: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    task = m.card.front_matter.get("pipeline_tag") if m.card else None
    if isinstance(task, str) and task.strip():
        out["task"] = _short(task)
    art = m.artifacts
    if art is not None and art.model_type:
        out["architectureFamily"] = _short(art.model_type)
    if art is not None and art.architectures:
        out["modelArchitecture"] = _short(", ".join(art.architectures))
    refs = [{"ref": dataset_refs[d.id]} for d in m.datasets if d.id in dataset_refs]
    if refs:
        out["datasets"] = refs
    return out


def _considerations(m: ModelResult) -> tuple[dict[str, Any], list[dict[str, str]]]:
    out: dict[str, list[str]] = {}
    props: list[dict[str, str]] = []
    if m.card is not None:
        file = m.card.origin.file or m.card.origin.locator
        for field, line, sentence in card_sections(m.card.body, m.card.body_line):
            if sentence not in out.get(field, []):
                out.setdefault(field, []).append(sentence)
                props.append({"name": f"mlaudit:{field}-source", "value": visible(f"{file}:{line}")})
    restrictions = use_restrictions(m.effective.keys)
    if restrictions:
        out.setdefault("useCases", []).extend(restrictions)
    return dict(out), props


def card_sections(body: str, body_line: int) -> list[tuple[str, int, str]]:
    """(considerations field, card line, first sentence) of each intended-use or limitations section."""
    found: list[tuple[str, int, str]] = []
    lines = body.splitlines()
    field: str | None = None
    fenced = False
    for i, raw in enumerate(lines):
        if _FENCE.match(raw) and is_fence(raw):
            fenced = not fenced
            continue
        heading = None if fenced else _HEADING.match(raw)
        if heading:
            field = _section(heading.group(2))
            continue
        if field is None or fenced or not raw.strip() or raw.lstrip().startswith(("|", "<!--", "![")):
            continue
        sentence = _first_sentence(lines, i)
        if sentence and not _PLACEHOLDER.search(sentence):
            found.append((field, body_line + i, sentence))
        field = None  # one sentence per section
    return found


def _section(title: str) -> str | None:
    t = " ".join(_MARKUP.sub(r"\1", title).lower().split())
    if _SKIP.search(t):
        return None
    return next((name for rx, name in _SECTIONS if rx.search(t)), None)


def _first_sentence(lines: list[str], start: int) -> str:
    """The first sentence of the paragraph starting at lines[start] (list markers and markup dropped)."""
    para = []
    for raw in lines[start:start + 20]:
        if not raw.strip() or _HEADING.match(raw) or (_FENCE.match(raw) and is_fence(raw)):
            break
        para.append(re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", raw).strip())
    text = " ".join(_MARKUP.sub(r"\1", " ".join(para)).split())
    m = _SENTENCE.match(text)
    return _short(m.group(1) if m else text)


def use_restrictions(keys: tuple[str, ...]) -> list[str]:
    """What each governing license forbids or conditions about use, one line per term, in our words."""
    from audit.licenses.catalog import catalog

    out = []
    for key in keys:
        lic = catalog().get(key)
        if lic is None:
            continue
        for term in lic.terms:
            phrase = _RESTRICTIONS.get(term.id)
            if phrase is None or (term.kind == "permissions"):
                continue
            out.append(_short(f"License restriction ({lic.name}): " + phrase.format(**_params(term.params))))
    return out


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    def join(v: Any) -> str:
        return ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)

    out = {"users": "the stated number of", "usd_per_year": "the stated", "restrictions": "", "regions": "",
           "policy": ""}
    for name in ("users", "usd_per_year"):
        if isinstance(params.get(name), int):
            out[name] = f"{params[name]:,}"
    for name in ("restrictions", "regions", "policy"):
        if params.get(name):
            out[name] = f" ({join(params[name])})"
    return out


def _short(text: str) -> str:
    text = visible(text.strip())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT - 1].rstrip() + "…"
