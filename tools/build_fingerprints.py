#!/usr/bin/env python3
"""Build audit/licenses/data/fingerprints.json, the data the license identifier ships.

Inputs (see audit/licenses/data/FINGERPRINTS.md for their sources and licenses):
  --corpus    the shared corpus: licenses/*.txt with their labels in labels.yaml (default ../shared/corpus)
  --scancode  ScanCode's license database, licensedcode/data (default: found in a ScanCode install, e.g. a
              separate venv: /work/scvenv; `--no-scancode` leaves it out)

Output: for each reference text, the CRC32 hashes of its normalized word 5-grams (in order, packed as
little-endian uint32, base64), its token count, the token offsets of its headings and optional parts,
and its catalog key and version; an inverted index of the hashes; and short facts (titles, names,
version lines, URLs) that point at a license. No license text is written. The same inputs always give
the same bytes (sorted, no timestamps), so tests can regenerate and compare.

Usage: python tools/build_fingerprints.py [--corpus DIR] [--scancode DIR | --no-scancode] [--output FILE] [--check]

Why this module is long: reading the corpus, reading ScanCode and fingerprinting a text are one build
step with one output file; the fingerprint format is defined here and nowhere else.
"""
from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import json
import os
import re
import sys
from array import array
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from audit.licenses.identify import NGRAM, Tokens, gram_hashes, tokenize, url_form  # noqa: E402

Json = dict[str, Any]
# (reference entry, phrases (text, key, kind), urls (url, key), input record) of one reference text
RefItem = tuple[Json, list[tuple[str, str, str]], list[tuple[str, str]], Json]

DEFAULT_OUTPUT = os.path.join(REPO, "audit", "licenses", "data", "fingerprints.json")
DEFAULT_CORPUS = os.path.join(os.path.dirname(REPO), "shared", "corpus")
FORMAT = 1

# ScanCode license keys (or rule files) -> (catalog key, version). Only licenses the catalog knows:
# the AI model licenses ScanCode 32.5 ships, and the OSS licenses that have a Hugging Face Hub id.
SCANCODE_REFS: dict[str, tuple[str, str | None]] = {
    "llama-license-2023": ("llama1-noncommercial", "1"),
    "llama-2-license-2023": ("llama2", "2"),
    "llama-3.1-license-2024": ("llama3.1", "3.1"),
    "llama-3.2-license-2024": ("llama3.2", "3.2"),
    "llama-3.3-license-2024": ("llama3.3", "3.3"),
    "llama-4-cla-2025": ("llama4", "4"),
    "llama-4-license-2025": ("llama4-aup", "4"),  # despite its key, ScanCode's text is the Llama 4 AUP
    "gemma-tou-2024-04-01": ("gemma", "2024-04-01"),
    "gemma-tou-2025-03-24": ("gemma", "2025-03-24"),
    "gemma-pup-2024-02-21": ("gemma-prohibited-use-policy", "2024-02-21"),
    "deepseek-la-1.0": ("deepseek-license", "1.0"),
    "exaone-ai-model-1.1-nc": ("exaone-1.1-nc", "1.1"),
    "falcon-2-11b-1.0": ("tii-falcon-2-11b-1.0", "1.0"),
    "qwen-2024": ("qwen", "2024-09-19"),
    "tongyi-qianwen-2023": ("tongyi-qianwen", "2023-08-03"),
    "stability-ai-community-2024": ("stability-ai-community", "2024-07-05"),
    "stability-ai-nc-2023-12-06": ("stability-ai-nc-research-community", "2023-12-06"),
    "nvidia-open-model-2025-04-28": ("nvidia-open-model-license", "2025-04-28"),
    "openmdw-1.0": ("openmdw-1.0", "1.0"),
    "bigcode-open-rail-m-v1": ("bigcode-openrail-m", "1.0"),
    "bigscience-open-rail-m": ("bigscience-openrail-m", "2022-08-18"),
    "bigscience-rail-1.0": ("bigscience-bloom-rail-1.0", "1.0"),
    "bigscience-open-rail-m2": ("openrail++", "2022-11-24"),  # the CreativeML Open RAIL++-M text
    "stable-diffusion-2022-08-22": ("creativeml-openrail-m", "2022-08-22"),
    "ms-research-license-terms": ("msr-license", None),
    "moonshot-ai-modified-mit-2025": ("kimi-modified-mit", None),
    "rules/proprietary-license_931.RULE": ("deepfloyd-if-license", None),  # DeepFloyd IF LICENSE-MODEL
    # OSS licenses with a Hub id
    "apache-2.0": ("apache-2.0", "2.0"),
    "mit": ("mit", None),
    "bsd-new": ("bsd-3-clause", None),
    "bsd-simplified": ("bsd-2-clause", None),
    "clear-bsd": ("bsd-3-clause-clear", None),
    "isc": ("isc", None),
    "unlicense": ("unlicense", None),
    "boost-1.0": ("bsl-1.0", "1.0"),
    "zlib": ("zlib", None),
    "wtfpl-2.0": ("wtfpl", "2.0"),
    "postgresql": ("postgresql", None),
    "uoi-ncsa": ("ncsa", None),
    "ms-pl": ("ms-pl", None),
    "gpl-2.0": ("gpl-2.0", "2.0"),
    "gpl-3.0": ("gpl-3.0", "3.0"),
    "lgpl-2.1": ("lgpl-2.1", "2.1"),
    "lgpl-3.0": ("lgpl-3.0", "3.0"),
    "agpl-3.0": ("agpl-3.0", "3.0"),
    "mpl-2.0": ("mpl-2.0", "2.0"),
    "epl-1.0": ("epl-1.0", "1.0"),
    "epl-2.0": ("epl-2.0", "2.0"),
    "eupl-1.1": ("eupl-1.1", "1.1"),
    "eupl-1.2": ("eupl-1.2", "1.2"),
    "afl-3.0": ("afl-3.0", "3.0"),
    "ecl-2.0": ("ecl-2.0", "2.0"),
    "osl-3.0": ("osl-3.0", "3.0"),
    "artistic-2.0": ("artistic-2.0", "2.0"),
    "ofl-1.1": ("ofl-1.1", "1.1"),
    "lppl-1.3c": ("lppl-1.3c", "1.3c"),
    "gfdl-1.3": ("gfdl", "1.3"),
    "cc0-1.0": ("cc0-1.0", "1.0"),
    "cc-by-2.0": ("cc-by-2.0", "2.0"),
    "cc-by-2.5": ("cc-by-2.5", "2.5"),
    "cc-by-3.0": ("cc-by-3.0", "3.0"),
    "cc-by-4.0": ("cc-by-4.0", "4.0"),
    "cc-by-sa-3.0": ("cc-by-sa-3.0", "3.0"),
    "cc-by-sa-4.0": ("cc-by-sa-4.0", "4.0"),
    "cc-by-nc-2.0": ("cc-by-nc-2.0", "2.0"),
    "cc-by-nc-3.0": ("cc-by-nc-3.0", "3.0"),
    "cc-by-nc-4.0": ("cc-by-nc-4.0", "4.0"),
    "cc-by-nd-4.0": ("cc-by-nd-4.0", "4.0"),
    "cc-by-nc-nd-3.0": ("cc-by-nc-nd-3.0", "3.0"),
    "cc-by-nc-nd-4.0": ("cc-by-nc-nd-4.0", "4.0"),
    "cc-by-nc-sa-2.0": ("cc-by-nc-sa-2.0", "2.0"),
    "cc-by-nc-sa-3.0": ("cc-by-nc-sa-3.0", "3.0"),
    "cc-by-nc-sa-4.0": ("cc-by-nc-sa-4.0", "4.0"),
    "cdla-permissive-1.0": ("cdla-permissive-1.0", "1.0"),
    "cdla-permissive-2.0": ("cdla-permissive-2.0", "2.0"),
    "cdla-sharing-1.0": ("cdla-sharing-1.0", "1.0"),
    "c-uda-1.0": ("c-uda", "1.0"),
    "odbl-1.0": ("odbl", "1.0"),
    "odc-by-1.0": ("odc-by", "1.0"),
    "pddl-1.0": ("pddl", "1.0"),
    "etalab-2.0": ("etalab-2.0", "2.0"),
}

# Versions of the corpus references, by catalog key (the corpus labels give the key only).
CORPUS_VERSIONS: dict[str, str] = {
    "llama2": "2",
    "llama2-aup": "2",
    "llama3": "3",
    "llama3-aup": "3",
    "llama3.1": "3.1",
    "llama3.1-aup": "3.1",
    "llama3.2": "3.2",
    "llama3.2-aup": "3.2",
    "llama3.3": "3.3",
    "llama3.3-aup": "3.3",
    "llama4": "4",
    "llama4-aup": "4",
    "gemma": "2024-02-21",
    "gemma-prohibited-use-policy": "2024-02-21",
    "deepseek-license": "1.0",
    "creativeml-openrail-m": "2022-08-22",
    "apache-2.0": "2.0",
    "cc-by-nc-4.0": "4.0",
    "openmdw-1.0": "1.0",
    "openmdw-1.1": "1.1",
    "tii-falcon-2-11b-1.0": "1.0",
    "tii-falcon-3": "2024-12",
    "mnpl-0.1": "0.1",
    "mrl-0.1": "0.1",
    "bigcode-openrail-m": "1.0",
    "stability-ai-nc-research-community": "2023-12-06",
    "tongyi-qianwen": "2023-08-03",
    "tongyi-qianwen-research": "2023-11-30",
}

# Corpus files that hold a second text after the license: split there (line that starts the second
# text, its catalog key). meta-llama/llama-models appends the use policy to the Llama 3 LICENSE.
SPLITS: dict[str, tuple[str, str]] = {
    "llama3.txt": ("Meta Llama 3 Acceptable Use Policy", "llama3-aup"),
}

# Parts of a reference that a faithful copy may leave out (SPDX marks them optional): everything
# after the first phrase, or from the first phrase up to (not including) the second.
OPTIONAL_PHRASES: list[tuple[str, str | None]] = [
    ("end of terms and conditions", None),  # Apache/GPL "how to apply" appendix
    ("creative commons corporation creative commons is not a law firm", "by exercising the licensed rights"),
    ("creative commons is not a party to its public licenses", None),
    ("creative commons is not a party to this license", None),
]

# Short facts, in our own words, for texts that carry no license wording: names that survive a
# translation, titles of licenses we have no reference text for, and the pages licenses live at.
NAMES: list[tuple[str, str]] = [
    ("llama 2", "llama2"),
    ("llama2", "llama2"),
    ("meta llama 3", "llama3"),
    ("llama 3", "llama3"),
    ("llama3", "llama3"),
    ("llama 3.1", "llama3.1"),
    ("llama3.1", "llama3.1"),
    ("llama 3.2", "llama3.2"),
    ("llama3.2", "llama3.2"),
    ("llama 3.3", "llama3.3"),
    ("llama3.3", "llama3.3"),
    ("llama 4", "llama4"),
    ("llama4", "llama4"),
    ("gemma", "gemma"),
    ("deepseek", "deepseek-license"),
    ("tongyi qianwen", "tongyi-qianwen"),
    ("通 义 千 问", "tongyi-qianwen"),
    ("qwen", "qwen"),
    ("falcon 2", "tii-falcon-2-11b-1.0"),
    ("falcon 3", "tii-falcon-3"),
    ("falcon 180b", "falcon-180b-tii"),
    ("exaone", "exaone-1.1-nc"),
    ("openmdw 1.0", "openmdw-1.0"),
    ("openmdw 1.1", "openmdw-1.1"),
]
TITLES: list[tuple[str, str]] = [
    ("yi series models license agreement", "yi-license-1.0"),
    ("yi series models community license agreement", "yi-community-2.1"),
    ("qwen research license agreement", "qwen-research"),
    ("qwen license agreement", "qwen"),
    ("tongyi qianwen research license agreement", "tongyi-qianwen-research"),
    ("tongyi qianwen license agreement", "tongyi-qianwen"),
    ("falcon 3 tii falcon license", "tii-falcon-3"),
    ("falcon 2 11b tii license", "tii-falcon-2-11b-1.0"),
    ("openmdw license agreement version 1.0", "openmdw-1.0"),
    ("openmdw license agreement version 1.1", "openmdw-1.1"),
    ("falcon 180b tii license", "falcon-180b-tii"),
    ("opt 175b license agreement", "opt-175b"),
    ("nvidia open model license", "nvidia-open-model-license"),
    ("llama 2 community license", "llama2"),
    ("meta llama 3 community license", "llama3"),
    ("llama 3.1 community license", "llama3.1"),
    ("llama 3.2 community license", "llama3.2"),
    ("llama 3.3 community license", "llama3.3"),
    ("llama 4 community license", "llama4"),
    ("gemma terms of use", "gemma"),
    ("gemma prohibited use policy", "gemma-prohibited-use-policy"),
    ("deepseek license agreement", "deepseek-license"),
    ("mistral ai non production license", "mnpl-0.1"),
    ("mistral ai research license", "mrl-0.1"),
    ("stability ai community license", "stability-ai-community"),
    ("fair noncommercial research license", "fair-noncommercial-research-license"),
    ("apache license version 2.0", "apache-2.0"),
    ("apache license 2.0", "apache-2.0"),
    ("mit license", "mit"),
]
URLS: list[tuple[str, str]] = [
    ("nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license", "nvidia-open-model-license"),
    ("ai.meta.com/llama/license", "llama2"),
    ("ai.meta.com/llama/use-policy", "llama2-aup"),
    ("llama.meta.com/llama3/license", "llama3"),
    ("llama.meta.com/llama3/use-policy", "llama3-aup"),
    ("llama.meta.com/llama3_1/license", "llama3.1"),
    ("llama.meta.com/llama3_1/use-policy", "llama3.1-aup"),
    ("llama.com/llama3_1/license", "llama3.1"),
    ("llama.com/llama3_1/use-policy", "llama3.1-aup"),
    ("llama.com/llama3_2/license", "llama3.2"),
    ("llama.com/llama3_2/use-policy", "llama3.2-aup"),
    ("llama.com/llama3_3/license", "llama3.3"),
    ("llama.com/llama3_3/use-policy", "llama3.3-aup"),
    ("llama.com/llama4/license", "llama4"),
    ("llama.com/llama4/use-policy", "llama4-aup"),
    ("ai.google.dev/gemma/terms", "gemma"),
    ("ai.google.dev/gemma/prohibited_use_policy", "gemma-prohibited-use-policy"),
    ("mistral.ai/licenses/mnpl-0.1.md", "mnpl-0.1"),
    ("mistral.ai/licenses/mrl-0.1.md", "mrl-0.1"),
    ("stability.ai/community-license", "stability-ai-community"),
    ("github.com/01-ai/yi/blob/main/model_license_agreement.txt", "yi-community-2.1"),
    ("apache.org/licenses/license-2.0", "apache-2.0"),
    ("opensource.org/licenses/mit", "mit"),
    ("creativecommons.org/licenses/by/4.0", "cc-by-4.0"),
    ("creativecommons.org/licenses/by-sa/4.0", "cc-by-sa-4.0"),
    ("creativecommons.org/licenses/by-nc/4.0", "cc-by-nc-4.0"),
    ("creativecommons.org/licenses/by-nd/4.0", "cc-by-nd-4.0"),
    ("creativecommons.org/licenses/by-nc-sa/4.0", "cc-by-nc-sa-4.0"),
    ("creativecommons.org/licenses/by-nc-nd/4.0", "cc-by-nc-nd-4.0"),
    ("creativecommons.org/publicdomain/zero/1.0", "cc0-1.0"),
    ("gnu.org/licenses/gpl-3.0", "gpl-3.0"),
    ("gnu.org/licenses/agpl-3.0", "agpl-3.0"),
    ("gnu.org/licenses/lgpl-3.0", "lgpl-3.0"),
    ("mozilla.org/mpl/2.0", "mpl-2.0"),
]

# Titles made only of these words do not name one license ("Terms and Conditions").
GENERIC_TITLE_WORDS = frozenset(
    ["terms", "and", "conditions", "of", "use", "the", "license", "licence", "agreement", "version", "public", "community", "research", "policy", "acceptable", "prohibited", "software", "model", "models", "ai", "for", "a", "an", "to", "non", "commercial", "noncommercial"]
)
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_HEADER_URL = re.compile(r"^\s*\[[^\]]*?((?:https?://|www\.)[^\s\]]+)[^\]]*\]\s*$")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pack_u32(values: list[int]) -> str:
    arr = array("I", values)
    if sys.byteorder != "little":
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _find_phrase(words: tuple[str, ...], phrase: str, start: int = 0) -> int:
    ph = tuple(phrase.split())
    n = len(ph)
    for i in range(start, len(words) - n + 1):
        if words[i : i + n] == ph:
            return i
    return -1


def _lines_of(tokens: Tokens) -> list[tuple[int, int, int]]:
    """(line number, first token, end token) for each line that has tokens."""
    out: list[tuple[int, int, int]] = []
    for i, ln in enumerate(tokens.lines):
        if out and out[-1][0] == ln:
            out[-1] = (ln, out[-1][1], i + 1)
        else:
            out.append((ln, i, i + 1))
    return out


def _is_heading(raw: str, n_tokens: int) -> bool:
    """A short line set apart as a title or section heading (used for titles and for naming sections)."""
    s = raw.strip().strip("*#_ ").strip()
    if not 1 <= n_tokens <= 10 or s.endswith((",", ";")):
        return False
    letters = [c for c in s if c.isalpha()]
    upper = bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.6
    long_words = [w for w in re.findall(r"[^\W\d_]+", s) if len(w) > 3]
    capitalized = bool(long_words) and sum(w[0].isupper() for w in long_words) / len(long_words) >= 0.7
    numbered = bool(re.match(r"^(\(?[0-9ivxa-h]{1,4}[.):]|section|article|exhibit|attachment)", s, re.I))
    return upper or capitalized or numbered or raw.lstrip().startswith("#") or s.endswith(":")


def reference(ref_id: str, key: str, version: str | None, text: str) -> tuple[Json, list[tuple[str, str, str]], list[str]]:
    """Fingerprint one reference text: (entry, phrases, header URLs)."""
    tokens = tokenize(text)
    words = tokens.words
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _lines_of(tokens)
    optional: list[list[int]] = []
    phrases: list[tuple[str, str, str]] = []
    title = ""
    # the title (first line, when short) is optional, as SPDX treats a license's name
    if lines and lines[0][2] - lines[0][1] <= 12 and _is_heading(raw_lines[lines[0][0] - 1], lines[0][2] - lines[0][1]):
        optional.append([lines[0][1], lines[0][2]])
    for i, (ln, a, b) in enumerate(lines[:4]):
        ws = words[a:b]
        if not 2 <= len(ws) <= 9 or any(w.startswith("u:") for w in ws):
            continue
        text_ws = " ".join(ws)
        heading = _is_heading(raw_lines[ln - 1], len(ws))
        if (
            not title
            and i < 2
            and heading
            and not set(ws) <= GENERIC_TITLE_WORDS
            and not _YEAR.search(text_ws)
            and ws[0] not in ("section", "article")
        ):
            title = text_ws
            phrases.append((text_ws, key, "title"))
        elif _YEAR.search(text_ws) and not set(ws) <= GENERIC_TITLE_WORDS:
            phrases.append((text_ws, key, "version"))
    for start_phrase, end_phrase in OPTIONAL_PHRASES:
        s = _find_phrase(words, start_phrase)
        if s < 0:
            continue
        if end_phrase is None:
            # the phrase itself stays required; what follows it is optional
            optional.append([s + len(start_phrase.split()), len(words)])
        else:
            e = _find_phrase(words, end_phrase, s)
            if e > s:
                optional.append([s, e])
    optional = [list(x) for x in sorted({(a, b) for a, b in optional if b > a})]
    headings = []
    for ln, a, b in lines:
        if b - a <= 8 and _is_heading(raw_lines[ln - 1], b - a):
            headings.append([a, " ".join(w[2:] if w.startswith("u:") else w for w in words[a:b])[:60]])
    header_urls = []
    for raw in raw_lines[:5]:
        m = _HEADER_URL.match(raw)
        if m:
            header_urls.append(url_form(m.group(1)))
    grams = gram_hashes(words)
    where: dict[int, list[int]] = {}
    for i, h in enumerate(grams):
        where.setdefault(h, []).append(i)
    repeats = sorted([h, p] for h, p in where.items() if len(p) > 1)
    entry = {
        "id": ref_id,
        "key": key,
        "version": version,
        "title": title,
        "ntok": len(words),
        "grams": grams,
        "repeats": repeats,
        "optional": optional,
        "headings": headings,
    }
    return entry, phrases, header_urls


def _read_labels(corpus: str) -> list[Json]:
    import yaml

    with open(os.path.join(corpus, "labels.yaml"), encoding="utf-8") as fh:
        labels = yaml.safe_load(fh)
    return [it for it in labels["items"] if it.get("kind") == "license"]


def corpus_refs(corpus: str) -> list[RefItem]:
    """(entry, phrases, urls, input record) for each authentic full text of the corpus, by file name."""
    out: list[RefItem] = []
    for item in sorted(_read_labels(corpus), key=lambda it: it["file"]):
        exp = item["expected"]
        if not exp.get("authentic_full_text"):
            continue  # stubs and paraphrases are not references
        path = os.path.join(corpus, item["file"])
        with open(path, "rb") as fh:
            data = fh.read()
        key = exp["license_id"]
        text = data.decode("utf-8")
        name = os.path.basename(item["file"])
        parts = [("corpus:" + name, key, text)]
        if name in SPLITS:
            first_line, second_key = SPLITS[name]
            at = text.find("\n" + first_line + "\n")
            if at < 0:
                raise SystemExit(f"{path}: the line {first_line!r} to split at is missing")
            parts = [("corpus:" + name, key, text[: at + 1]), (f"corpus:{name}#{second_key}", second_key, text[at + 1 :])]
        for ref_id, ref_key, ref_text in parts:
            entry, phrases, urls = reference(ref_id, ref_key, CORPUS_VERSIONS.get(ref_key), ref_text)
            record = {
                "id": ref_id,
                "path": item["file"],
                "sha256": _sha256(data),
                "from": f"{item['repo']}@{item['commit']}:{item['path']}",
            }
            out.append((entry, phrases, [(u, ref_key) for u in urls], record))
    return out


def find_scancode_data() -> str | None:
    env = os.environ.get("MLAUDIT_SCANCODE_DATA")
    if env:
        return env if os.path.isdir(env) else None
    try:  # running inside the environment that has scancode-toolkit
        import importlib.util

        spec = importlib.util.find_spec("licensedcode")
        if spec and spec.submodule_search_locations:
            d = os.path.join(next(iter(spec.submodule_search_locations)), "data")
            if os.path.isdir(d):
                return d
    except Exception:
        pass
    for d in sorted(glob.glob("/work/scvenv/lib/python3*/site-packages/licensedcode/data")):
        return d
    return None


def _scancode_version(data_dir: str) -> str | None:
    site = os.path.dirname(os.path.dirname(data_dir))
    for meta in sorted(glob.glob(os.path.join(site, "scancode_toolkit-*.dist-info", "METADATA"))):
        with open(meta, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    return None


def _split_front_matter(raw: str) -> tuple[Json, str]:
    import yaml

    if raw.startswith("---\n"):
        end = raw.find("\n---\n", 4)
        if end > 0:
            return yaml.safe_load(raw[4:end]) or {}, raw[end + 5 :]
    return {}, raw


def scancode_refs(data_dir: str) -> list[RefItem]:
    out: list[RefItem] = []
    for sc_key in sorted(SCANCODE_REFS):
        key, version = SCANCODE_REFS[sc_key]
        rel = sc_key if sc_key.startswith("rules/") else f"licenses/{sc_key}.LICENSE"
        path = os.path.join(data_dir, rel)
        if not os.path.exists(path):
            raise SystemExit(f"{path}: missing from the ScanCode database (is it ScanCode 32.5?)")
        with open(path, "rb") as fh:
            data = fh.read()
        meta, text = _split_front_matter(data.decode("utf-8"))
        ref_id = "scancode:" + (os.path.basename(sc_key) if sc_key.startswith("rules/") else sc_key)
        entry, phrases, _ = reference(ref_id, key, version, text)
        urls: list[tuple[str, str]] = []
        for u in [meta.get("homepage_url"), *(meta.get("text_urls") or [])]:
            if isinstance(u, str) and u.count("/") >= 4:  # a page, not a bare site
                urls.append((url_form(u), key))
        record = {"id": ref_id, "path": rel, "sha256": _sha256(data)}
        out.append((entry, phrases, urls, record))
    return out


# categories of licenses written for software: their ScanCode texts come only through SCANCODE_REFS
_SOFTWARE_CATEGORIES = ("permissive", "public-domain", "weak-copyleft", "copyleft", "unknown")


def catalog_scancode_refs(data_dir: str, covered: set[str]):
    """References for catalogued model licenses that have no reference text yet, from ScanCode's text for the
    key the catalog entry names (`scancode:`). A catalog key whose ScanCode text is missing is reported on stderr
    and left without a reference."""
    from audit.licenses.catalog import catalog

    out = []
    for lic in sorted(catalog().all(), key=lambda x: x.key):
        if lic.key in covered or lic.category in _SOFTWARE_CATEGORIES:
            continue
        # a catalog `scancode:` value is a license key, or a rule file ("rules/<name>.RULE") for a text ScanCode
        # holds only as a rule
        rel = None
        if lic.scancode:
            rel = lic.scancode if lic.scancode.startswith("rules/") else f"licenses/{lic.scancode}.LICENSE"
        path = os.path.join(data_dir, rel) if rel else None
        if path is None or not os.path.exists(path):
            why = f"ScanCode has no {rel}" if rel else "the catalog names no ScanCode key"
            print(f"no reference text for {lic.key}: {why}", file=sys.stderr)
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        meta, text = _split_front_matter(data.decode("utf-8"))
        ref_id = "scancode:" + os.path.basename(lic.scancode or "")
        entry, phrases, _ = reference(ref_id, lic.key, lic.version, text)
        urls = [(url_form(u), lic.key) for u in [meta.get("homepage_url"), *(meta.get("text_urls") or [])]
                if isinstance(u, str) and u.count("/") >= 4]
        out.append((entry, phrases, urls, {"id": ref_id, "path": rel, "sha256": _sha256(data)}))
    return out


def build(corpus: str, scancode: str | None) -> Json:
    items = corpus_refs(corpus)
    sources: list[dict[str, str | None]] = [{"name": "corpus", "path": "../shared/corpus"}]
    if scancode:
        items += scancode_refs(scancode)
        items += catalog_scancode_refs(scancode, {it[0]["key"] for it in items})
        sources.append({"name": "scancode", "version": _scancode_version(scancode)})
    refs: list[Json] = []
    inputs: list[Json] = []
    seen_grams: dict[tuple[str, tuple[int, ...]], Json] = {}
    phrase_keys: dict[str, set[str]] = {}
    phrase_kind: dict[str, str] = {}
    url_keys: dict[str, set[str]] = {}
    for entry, phrases, urls, record in items:
        sig = (entry["key"], tuple(entry["grams"]))
        inputs.append(record)
        if sig in seen_grams:
            # a second copy of the same text adds nothing but the knowledge that both sources hold it
            record["same_as"] = seen_grams[sig]["id"]
            seen_grams[sig]["sources"].append(entry["id"])
            continue
        entry["sources"] = [entry["id"]]
        seen_grams[sig] = entry
        refs.append(entry)
        for text, key, kind in phrases:
            phrase_keys.setdefault(text, set()).add(key)
            phrase_kind.setdefault(text, kind)
        for u, key in urls:
            url_keys.setdefault(u, set()).add(key)
    # facts that point at two licenses point at none; the hand-written ones win
    phrases_out = {t: (min(ks), phrase_kind[t]) for t, ks in phrase_keys.items() if len(ks) == 1}
    for text, key in TITLES:
        phrases_out[text] = (key, "title")
    for text, key in NAMES:
        phrases_out.setdefault(text, (key, "name"))
    urls_out = {u: min(ks) for u, ks in url_keys.items() if len(ks) == 1}
    for u, key in URLS:
        urls_out[u] = key
    # inverted index: gram hash -> the references that hold it
    post: dict[int, set[int]] = {}
    for i, r in enumerate(refs):
        for h in r["grams"]:
            post.setdefault(h, set()).add(i)
    hashes = sorted(post)
    group_index: dict[tuple[int, ...], int] = {}
    values = []
    for h in hashes:
        holders = tuple(sorted(post[h]))
        if len(holders) == 1:
            values.append(holders[0])
        else:
            g = group_index.setdefault(holders, len(group_index))
            values.append((-(g + 1)) & 0xFFFFFFFF)
    groups = [list(g) for g, _ in sorted(group_index.items(), key=lambda kv: kv[1])]
    for r in refs:
        r["grams"] = _pack_u32(r["grams"])
    return {
        "format": FORMAT,
        "ngram": NGRAM,
        "generator": "tools/build_fingerprints.py",
        "sources": sources,
        "inputs": inputs,
        "refs": refs,
        "postings": {"hashes": _pack_u32(hashes), "values": _pack_u32(values), "groups": groups},
        "phrases": sorted([t, k, kind] for t, (k, kind) in phrases_out.items()),
        "urls": sorted([u, k] for u, k in urls_out.items()),
    }


def dumps(data: Json) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--scancode", default=None, help="ScanCode licensedcode/data directory")
    ap.add_argument("--no-scancode", action="store_true")
    ap.add_argument("--output", default=DEFAULT_OUTPUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if the output file differs from a fresh build")
    args = ap.parse_args(argv)
    scancode = None if args.no_scancode else (args.scancode or find_scancode_data())
    text = dumps(build(args.corpus, scancode))
    if args.check:
        with open(args.output, encoding="utf-8") as fh:
            same = fh.read() == text
        print(f"{args.output}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text)
    data = json.loads(text)
    print(
        f"wrote {args.output}: {len(data['refs'])} references, {len(data['phrases'])} phrases, "
        f"{len(data['urls'])} URLs, {os.path.getsize(args.output) // 1024} KiB"
        + ("" if scancode else " (without ScanCode)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
