"""Model card text -> ModelCard: front matter (one real YAML parse), typed fields, body, problems recorded.

Real cards are messy: no front matter, malformed YAML, CRLF, BOMs, `licence:`, list-valued licenses,
YAML anchors. Each is handled and recorded as a Problem; only input we cannot decide on at all
(binary, oversized) raises, and that happens in the source that read the bytes.

The front matter is read once, by the YAML parser itself (libyaml's CSafeLoader where installed): no
line-based pre-filter decides what the parser sees, because any such filter can disagree with YAML about
where a key starts (a NEL or U+2028 is a line break to YAML and not to a regex on '\\n'). Every line break
YAML knows is turned into '\\n' before anything else reads the text, so front-matter splitting, line numbers
and body scanning all see the same lines. Aliases are refused, duplicate keys recorded.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from audit.model import ModelCard, Origin, Problem

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FRONT_MATTER_BYTES = 256 * 1024
# the line breaks YAML 1.1 (PyYAML, libyaml) knows; CRLF first so it becomes one break, not two
_LINE_BREAK = re.compile("\r\n|[\r\x85\u2028\u2029]")

# front-matter fields we copy out; everything else is ignored (cards carry arbitrary metadata)
_BRITISH = {"licence": "license", "licence_name": "license_name", "licence_link": "license_link"}
KNOWN_FIELDS = (
    "license",
    "license_name",
    "license_link",
    "base_model",
    "base_model_relation",
    "datasets",
    "tags",
    "gated",
    "extra_gated_prompt",
    "extra_gated_heading",
    "model_name",
    "language",
    "library_name",
    "pipeline_tag",
    "new_version",
    "model-index",  # its first entry's name is the name the model publishes results under (its own name)
)
RELATIONS = ("adapter", "merge", "quantized", "finetune")
# a license item that is not text (a number, a mapping, true): recorded as written, in these brackets, so the
# license facts count it as an undecidable declaration instead of dropping it
NOT_TEXT = "<not text: {}>"


def normalize_line_breaks(text: str) -> str:
    """The card with every line break YAML knows (CRLF, CR, NEL, U+2028, U+2029) turned into '\\n'."""
    if "\r" not in text and "\x85" not in text and "\u2028" not in text and "\u2029" not in text:
        return text  # most cards: four substring scans are cheaper than the regex's walk over every character
    return _LINE_BREAK.sub("\n", text)


def is_fence(line: str) -> bool:
    """Does the line open or close a fenced code block (``` or ~~~)? The info string of a backtick fence holds no
    backtick, so a line such as '```org/x``` is a fine-tune of ...' is inline code in prose, not a fence (read as
    one, it hid the rest of the card as code)."""
    s = line.lstrip()
    if s.startswith("```"):
        return "`" not in s.lstrip("`")
    return s.startswith("~~~")


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (yaml_text or None, body, body_line) where body_line is 1-based. `text` has '\\n' breaks only."""
    if text.startswith("\ufeff"):
        text = text[1:]
    start = len(text) - len(text.lstrip())
    if not text.startswith("---", start):
        return None, text, 1
    first = text.find("\n", start)
    if first == -1 or text[start + 3:first].strip(" \t"):
        return None, text, 1
    # huggingface_hub's rule: the block ends at the next line that is exactly '---' (trailing blanks allowed)
    pos = first
    while True:
        end = text.find("\n---", pos)
        if end == -1:
            return None, text, 1
        line_end = text.find("\n", end + 4)
        rest = text[end + 4: line_end if line_end != -1 else len(text)]
        if not rest.strip(" \t"):
            break
        pos = end + 1
    yaml_text = text[first + 1: end]
    body_start = len(text) if line_end == -1 else line_end + 1
    body_line = text.count("\n", 0, body_start) + (1 if line_end != -1 else 2)
    return yaml_text, text[body_start:], body_line


MAX_LEADING_COMMENTS = 4096  # a header comment before the front matter, not a document hidden in one
_SPACE = re.compile(r"\s*")


def _header_comments_blanked(text: str) -> str | None:
    """The card with the HTML comments it opens with blanked (line breaks kept, so lines stay the card's own),
    when a '---' follows them; None when the card is not of that shape (or its comments run past a header's size)."""
    pos = 1 if text.startswith("\ufeff") else 0
    comments = 0
    while pos <= MAX_LEADING_COMMENTS:
        space = _SPACE.match(text, pos)
        pos = space.end() if space else pos
        if not text.startswith("<!--", pos):
            break
        end = text.find("-->", pos + 4, pos + MAX_LEADING_COMMENTS)
        if end == -1:
            return None
        pos, comments = end + 3, comments + 1
    if not comments or pos > MAX_LEADING_COMMENTS or not text.startswith("---", pos):
        return None
    return re.sub(r"[^\n]", " ", text[:pos]) + text[pos:]


def displaced_front_matter(text: str) -> tuple[str | None, str, int]:
    """split_front_matter of a card whose front matter follows HTML comments ('<!-- header -->' before '---'): the
    Hub reads no metadata from it, but its author declared these fields; (None, text, 1) when the card is not of
    that shape or the front matter never ends."""
    blanked = _header_comments_blanked(text)
    return split_front_matter(blanked) if blanked is not None else (None, text, 1)


def load_front_matter(yaml_text: str) -> tuple[Any, dict[str, int], list[tuple[str, int]], int | None]:
    """One YAML parse -> (data, top-level key -> 0-based line, duplicate keys as (path, 0-based line), the
    0-based line of the first alias or None). With an alias the data is not built and is None: aliases are the
    alias-bomb vector and are refused wherever they are, also in fields mlaudit does not read.

    Raises yaml.YAMLError when the text is not YAML."""
    loader = _LOADER(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, [], None
        # an alias is written '*name': a text without '*' has none, and the walk need not visit scalars
        duplicates, alias_line = _check_nodes(node, may_alias="*" in yaml_text)
        if alias_line is not None:
            return None, {}, duplicates, alias_line
        top_lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    top_lines[key.value] = key.start_mark.line  # a repeated key: the line of the value YAML reads
        return _build(_fields_read(node), loader), top_lines, duplicates, None
    finally:
        loader.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG, _SEQ_TAG, _MAP_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _build(node: yaml.Node, loader: Any) -> Any:
    """The Python value of a node, as the loader's SafeConstructor builds it: strings, lists and plain
    mappings are built here (they are most of a card, and the constructor's generic machinery was a third of
    reading the YAML); every other node (numbers, dates, booleans, null, a merge key, any other tag) is the
    constructor's. Aliases were refused before, so no node is reached twice."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR_TAG else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
        return [_build(item, loader) for item in node.value]
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG and not any(k.tag == _MERGE_TAG for k, _ in node.value):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, loader)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                        "found unhashable key", key_node.start_mark) from None
            out[key] = _build(value_node, loader)
        return out
    return loader.construct_object(node, deep=True)


def _fields_read(node: yaml.Node) -> yaml.Node:
    """The front matter's node with only the fields mlaudit reads (KNOWN_FIELDS, British spellings too), and
    of model-index only its first entry's name: evaluation tables are most of many cards' YAML, and building
    them into Python objects was a tenth of an audit. A value mlaudit never reads cannot make the card
    unreadable either (a malformed date in a field nobody reads). Every node was already checked for aliases
    and duplicate keys. A merge key ('<<') could bring any field in: such a mapping is built whole."""
    if not isinstance(node, yaml.MappingNode) or any(k.tag == _MERGE_TAG for k, _ in node.value):
        return node
    pairs = []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and _BRITISH.get(key.value, key.value) in KNOWN_FIELDS:
            pairs.append((key, _first_name(value) if key.value == "model-index" else value))
    return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)


def _first_name(node: yaml.Node) -> yaml.Node:
    """model-index reduced to what mlaudit reads of it: [{name: ...}] of its first entry."""
    if not (isinstance(node, yaml.SequenceNode) and node.value and isinstance(node.value[0], yaml.MappingNode)):
        return node
    first = node.value[0]
    if any(k.tag == _MERGE_TAG for k, _ in first.value):
        return node
    names = [(k, v) for k, v in first.value if isinstance(k, yaml.ScalarNode) and k.value == "name"]
    entry = yaml.MappingNode(first.tag, names, first.start_mark, first.end_mark, first.flow_style)
    return yaml.SequenceNode(node.tag, [entry], node.start_mark, node.end_mark, node.flow_style)


def _check_nodes(root: yaml.Node, may_alias: bool = True) -> tuple[list[tuple[str, int]], int | None]:
    """Walk the composed nodes once: find the first alias (a node reached twice) and the duplicate mapping keys.
    Iterative, so a deeply nested card cannot exhaust the stack here. `may_alias` False (the text holds no '*'):
    no alias to find, so only mappings and sequences are visited."""
    seen: set[int] = set()
    duplicates: list[tuple[str, int]] = []
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if may_alias:
            if id(node) in seen:
                return duplicates, node.start_mark.line
            seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[object, object]] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and key.tag != _MERGE_TAG:
                    canon = (key.tag, _BRITISH.get(name, name) if not path else name)
                    if canon in keys:
                        duplicates.append((f"{path}{name}", key.start_mark.line))
                    keys.add(canon)
                if may_alias or name is None:
                    stack.append((key, path))
                if may_alias or not isinstance(value, yaml.ScalarNode):
                    stack.append((value, f"{path}{name if name is not None else '?'}."))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path) for item in node.value
                         if may_alias or not isinstance(item, yaml.ScalarNode))
    return duplicates, None


def _a_value(v: Any) -> str:
    """'an int 5', 'a dict {...}': a value that is not text, in words (bounded)."""
    kind = type(v).__name__
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} {v!r}"[:80]


def _str_list(value: Any, name: str, where: Callable[[str], Origin], problems: list[Problem],
              keep_unread: bool = False) -> tuple[str, ...]:
    """The field's strings. `keep_unread`: a value that is not text is kept as NOT_TEXT, so that what it
    declares (a base model, a dataset) stays a declaration nobody can resolve and fails closed, rather than
    vanishing and letting the model pass as if it declared nothing."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, str) and v.strip():
                out.append(v.strip())
            elif v is not None:
                what = _a_value(v)
                if keep_unread:
                    problems.append(Problem("card-field-type", f"{name}: {what} is not a repo id; kept as a "
                                            "declaration nobody can resolve", where(name)))
                    out.append(NOT_TEXT.format(what))
                else:
                    problems.append(Problem("card-field-type", f"{name}: ignored a non-string item {v!r}", where(name)))
        return tuple(out)
    problems.append(Problem("card-field-type", f"{name} should be a string or a list, got {type(value).__name__}", where(name)))
    return (NOT_TEXT.format(_a_value(value)),) if keep_unread else ()


# what a generated card writes where it had no value ('base_model: None' from a script whose base was unset):
# it says there is none. 'unknown' or 'TBD' say there is one nobody named: those stay, and fail closed
_PLACEHOLDERS = frozenset({"none", "null", "nil", "n/a", "na", "-"})


def _named(values: tuple[str, ...], name: str, where: Callable[[str], Origin],
           problems: list[Problem]) -> tuple[str, ...]:
    """The values that name something: a placeholder names no model or dataset (a card-field-value problem).
    A value holding several repo ids ('org/a, org/b', a list written as a string) names each of them: read
    whole it would name only the last one's repo (what follows its last '/'), and the others would be lost."""
    kept: list[str] = []
    for v in values:
        ids = _several_ids(v)
        if ids:
            problems.append(Problem("card-field-value", f"{name} {v!r} holds several repo ids in one string: read as "
                                    f"the list {list(ids)}", where(name)))
            kept.extend(ids)
            continue
        if v.lower() not in _PLACEHOLDERS:
            kept.append(v)
            continue
        problems.append(Problem("card-field-value", f"{name} {v!r} is a placeholder, not a repo id: read as not given",
                                where(name)))
    return tuple(kept)


_ID_SEPARATORS = re.compile(r"[\s,;\[\]'\"]+")
_AN_ID = re.compile(r"[\w.~-]+(?:/[\w.~-]+)+")


def _several_ids(value: str) -> tuple[str, ...]:
    """The repo ids (or paths) a value lists when it is a list written as one string, else ()."""
    if not _ID_SEPARATORS.search(value):
        return ()
    ids = tuple(t for t in _ID_SEPARATORS.split(value) if t)
    if not ids or not all(_AN_ID.fullmatch(t) for t in ids) or (len(ids) == 1 and ids[0] == value.strip()):
        return ()
    return ids


def _license_values(value: Any, where: Callable[[str], Origin], problems: list[Problem]) -> tuple[str, ...]:
    """Every item of the license field counts: a non-string item is kept (as NOT_TEXT) so it makes the license
    undecided, and an empty value (`license:`, `license: []`) declares nothing a reader can decide on."""
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else (NOT_TEXT.format("an empty value"),)
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        items = [None]
    out = []
    for v in items:
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
        else:
            what = "an empty value" if v is None or v == "" else _a_value(v)
            problems.append(Problem("card-field-type", f"license: {what} is not a license id", where("license")))
            out.append(NOT_TEXT.format(what))
    return tuple(out)


def _str(value: Any, name: str, where: Callable[[str], Origin], problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        problems.append(Problem("card-field-type", f"{name} is a one-item list; read as {value[0]!r}", where(name)))
        return value[0].strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problems.append(Problem("card-field-type", f"{name} is a number; read as text", where(name)))
        return str(value)
    problems.append(Problem("card-field-type", f"{name} should be a string, got {type(value).__name__}", where(name)))
    # kept as written: a license_name that is not text is still a declaration nobody can decide on
    return NOT_TEXT.format(f"a {type(value).__name__}") if name in ("license_name", "license_link") else None


def _read_yaml(yaml_text: str, fm_line: int, origin: Origin, problems: list[Problem]) -> tuple[Any, dict[str, int]]:
    """Parse the front matter once; every failure is a Problem at its line. -> (data or None, field lines)."""
    if len(yaml_text.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        problems.append(Problem("card-front-matter-too-large",
                                f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB; not read", origin.at(line=1)))
        return None, {}
    try:
        loaded, top_lines, duplicates, alias_line = load_front_matter(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + fm_line if mark is not None else fm_line
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem("card-malformed-yaml", f"front matter is not valid YAML: {reason}", origin.at(line=line)))
        return None, {}
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        problems.append(Problem("card-malformed-yaml", f"front matter could not be read: {type(exc).__name__}",
                                origin.at(line=fm_line)))
        return None, {}
    if alias_line is not None:
        problems.append(Problem("card-yaml-alias", "front matter uses YAML anchors/aliases, which are refused; not read",
                                origin.at(line=alias_line + fm_line)))
        return None, {}
    for path, line in duplicates:
        problems.append(Problem("card-duplicate-key", f"front matter key '{path}' is given more than once; YAML readers "
                                f"disagree about which value counts", origin.at(line=line + fm_line, field=path)))
    field_lines: dict[str, int] = {}
    for key, line in top_lines.items():
        field_lines.setdefault(_BRITISH.get(key, key), line + fm_line)
    return loaded, field_lines


def _known_fields(loaded: dict[Any, Any], field_lines: dict[str, int], origin: Origin,
                  problems: list[Problem]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key, value in loaded.items():
        if not isinstance(key, str):
            continue
        name = _BRITISH.get(key, key)
        if name != key:
            problems.append(
                Problem("card-british-spelling", f"'{key}' read as '{name}' (the Hub only reads '{name}')",
                        origin.at(line=field_lines.get(name), field=key))
            )
            if name in raw or name in loaded:
                continue  # the spelling the Hub reads wins (both at once is also a duplicate-key problem)
        if name in KNOWN_FIELDS:
            raw[name] = value
    return raw


def parse_card(text: str, origin: Origin) -> ModelCard:
    """Parse card text. Never raises on content: every oddity becomes a Problem on the card."""
    problems: list[Problem] = []
    text = normalize_line_breaks(text)
    yaml_text, body, body_line = split_front_matter(text)
    if yaml_text is None:
        yaml_text, body, body_line = displaced_front_matter(text)
        if yaml_text is not None:
            problems.append(Problem("card-front-matter-displaced", "the front matter follows an HTML comment, so the Hub "
                                    "reads no metadata from this card; mlaudit reads its fields as declared",
                                    origin.at(line=1)))
    raw: dict[str, Any] = {}
    field_lines: dict[str, int] = {}
    has_fm = yaml_text is not None
    if yaml_text is None:
        stripped = text.lstrip("\ufeff \t\n")
        if stripped.startswith("---") or _header_comments_blanked(text) is not None:  # after comments too
            problems.append(Problem("card-front-matter-unclosed", "front matter starts with '---' but never ends", origin.at(line=1)))
        else:
            problems.append(Problem("card-no-front-matter", "card has no YAML front matter (no declared license)", origin.at(line=1)))
    else:
        fm_line = body_line - yaml_text.count("\n") - 2  # the card's line of the first front-matter line
        loaded, field_lines = _read_yaml(yaml_text, fm_line, origin, problems)
        if loaded is None:
            pass
        elif not isinstance(loaded, dict):
            problems.append(Problem("card-front-matter-type", "front matter is not a mapping of fields", origin.at(line=fm_line)))
        else:
            raw = _known_fields(loaded, field_lines, origin, problems)

    def f(name: str) -> Origin:  # made only for a problem: most cards have none
        return origin.at(line=field_lines.get(name), field=name)

    license_values = _license_values(raw["license"], f, problems) if "license" in raw else ()
    if isinstance(raw.get("license"), (list, tuple)) and len(raw["license"]) > 1:
        problems.append(Problem("card-license-list", "license is a list; the Hub expects one id", f("license")))
    relation = _str(raw.get("base_model_relation"), "base_model_relation", f, problems)
    if relation is not None and relation.lower() not in RELATIONS:
        problems.append(Problem("card-field-value", f"base_model_relation {relation!r} is not one of {', '.join(RELATIONS)}",
                                f("base_model_relation")))
    gated = raw.get("gated")
    if gated is None and raw.get("extra_gated_prompt"):
        gated = "extra_gated_prompt"
    return ModelCard(
        origin=origin,
        front_matter=raw,
        license=license_values,
        license_name=_str(raw.get("license_name"), "license_name", f, problems),
        license_link=_str(raw.get("license_link"), "license_link", f, problems),
        base_models=_named(_str_list(raw.get("base_model"), "base_model", f, problems, keep_unread=True), "base_model", f,
                           problems),
        base_model_relation=relation.lower() if relation else None,
        datasets=_named(_str_list(raw.get("datasets"), "datasets", f, problems, keep_unread=True), "datasets", f, problems),
        tags=_str_list(raw.get("tags"), "tags", f, problems),
        gated=gated,
        body=body,
        body_line=body_line,
        field_lines=field_lines,
        problems=tuple(problems),
        has_front_matter=has_fm,
    )
