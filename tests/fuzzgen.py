"""Hostile model snapshots for the fail-closed invariants, with the verdict each one must not get.

`generate(rng)` builds one snapshot directory's files from a random.Random: a card whose front matter mixes
known licenses with poison (unknown ids, `other` with no name, non-string items, duplicate keys, anchors and
aliases, unknown WITH exceptions, license_name/license_link that name another license, YAML line breaks that
only some readers know), bodies and gating prompts that put the weights under another license, and license
files that cannot be read. A case with any poison must never pass (exit 0); a clean case (one permissive
license, said once) must pass, so the invariants also catch a tool that fails everything.

Used by tests/test_properties.py (a quick slice, through hypothesis) and benchmarks/fuzz_bench.py (10,000+).
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

CLEAN_LICENSES = ("mit", "apache-2.0", "bsd-3-clause")
UNKNOWN_IDS = ("acme-proprietary-9", "see-license", "TBD", "free", "closed", "unknown-x", "MIT-ish")
SPDX_EXPRESSIONS_POISON = ("mit WITH acme-exception-1.0", "apache-2.0 AND acme-eula", "(mit OR nonsense-4.2)")
OTHER_NAMES_UNKNOWN = ("acme-model-license", "internal use only", "custom")
CONTRADICTING = ("cc-by-nc-4.0", "llama3.1", "gpl-3.0")
SOFTWARE_OTHER = ("gpl-3.0", "agpl-3.0", "mpl-2.0")  # software licenses that none of CLEAN_LICENSES is
LINE_BREAKS = ("\u0085", "\u2028", "\u2029", "\r")
# a real license text (tests/fixtures/licenses/corpus/licenses, see its SOURCES.md) that mlaudit identifies
with open(os.path.join(os.path.dirname(__file__), "fixtures", "licenses", "corpus", "licenses", "cc-by-nc-4.0.txt"),
          encoding="utf-8") as _fh:
    _NC_TEXT = _fh.read()


@dataclass
class Case:
    files: dict[str, str | bytes] = field(default_factory=dict)
    poison: list[str] = field(default_factory=list)  # why this case must not pass; empty: a clean case
    special: list[str] = field(default_factory=list)  # files to make special (fifo, loop) once written

    @property
    def must_fail(self) -> bool:
        return bool(self.poison)


def _front(lines: list[str]) -> str:
    return "---\n" + "\n".join(lines) + "\n---\n"


def _license_lines(rng: random.Random, case: Case) -> list[str]:
    kind = rng.choice(("clean", "clean", "clean", "unknown", "other", "list", "nonstring", "expr", "restrictive"))
    if kind == "clean":
        return [f"license: {rng.choice(CLEAN_LICENSES)}"]
    if kind == "unknown":
        case.poison.append("unknown license id")
        return [f"license: {rng.choice(UNKNOWN_IDS)}"]
    if kind == "other":
        case.poison.append("license: other with no resolvable name")
        name = rng.choice((None, *OTHER_NAMES_UNKNOWN))
        return ["license: other"] + ([f"license_name: {name}"] if name else [])
    if kind == "list":
        items = [rng.choice(CLEAN_LICENSES)] + [rng.choice((*UNKNOWN_IDS, "other"))]
        rng.shuffle(items)
        case.poison.append("a license list with an unknown or generic item")
        return ["license:"] + [f"- {i}" for i in items]
    if kind == "nonstring":
        case.poison.append("a non-string license item")
        return [rng.choice(("license: 42", "license: {name: mit}", "license: [mit, 3]", "license: null",
                            "license: true", "license: []"))]
    if kind == "expr":
        case.poison.append("an SPDX expression with an unknown part")
        return [f"license: '{rng.choice(SPDX_EXPRESSIONS_POISON)}'"]
    case.poison.append("a license the default policy refuses (non-commercial)")
    return ["license: cc-by-nc-4.0"]


def _mutations(rng: random.Random, case: Case, lines: list[str]) -> list[str]:
    """Front-matter hazards layered on any license declaration."""
    if rng.random() < 0.12:
        case.poison.append("duplicate license key")
        lines = lines + [f"license: {rng.choice(CONTRADICTING)}"]
    if rng.random() < 0.08:
        case.poison.append("YAML anchors and aliases")
        lines = ["base: &b cc-by-nc-4.0"] + lines + ["license_name: *b"]
    # `other` and `see-license` defer to license_name (the Hub convention): a license_name beside them names the
    # license, it does not contradict one, so the mutation is only applied beside a license that names one
    if rng.random() < 0.1 and not any(x.startswith(("license: other", "license: see-license", "license_name"))
                                      for x in lines):
        # another software license: a model license beside a code license names two scopes (the weights' license
        # governs: Janus-Pro's `license: mit` + `license_name: deepseek`), which is not a contradiction
        case.poison.append("license_name that names another software license")
        lines = lines + [f"license_name: {rng.choice(SOFTWARE_OTHER)}"]
    if rng.random() < 0.08:
        case.poison.append("license_link to another license's text")
        lines = lines + ["license_link: LICENSE-OTHER.txt"]
        case.files["LICENSE-OTHER.txt"] = "Creative Commons Attribution-NonCommercial 4.0 International\n" \
                                          "You may not use the material for commercial purposes.\n"
    if rng.random() < 0.08:
        case.poison.append("a gating prompt that limits use to non-commercial research")
        lines = lines + ["extra_gated_prompt: 'This model is for non-commercial research use only.'"]
    if rng.random() < 0.08:
        # a YAML line break hides a second license key from a line-based reader
        brk = rng.choice(LINE_BREAKS)
        case.poison.append("a second license key after a line break only YAML knows")
        lines = [lines[0] + brk + f"license: {rng.choice(CONTRADICTING)}"] + lines[1:]
    return lines


def _body(rng: random.Random, case: Case) -> str:
    body = "# A model\n\nIt answers questions.\n"
    roll = rng.random()
    if roll < 0.08:
        lic = rng.choice(("CC-BY-NC-4.0", "the Llama 3.1 Community License", "GPL-3.0"))
        case.poison.append("the body puts the weights under another license")
        body += f"\n## License\n\nThe model weights are released under {lic}.\n"
    elif roll < 0.14:
        case.poison.append("the body says non-commercial use only")
        body += "\n## License\n\nThis model may be used for non-commercial purposes only.\n"
    elif roll < 0.2:
        # scope: code under one license, weights under the card's: not a contradiction, stays clean
        body += "\n## License\n\nThe training code in this repository is released under the MIT license.\n"
    elif roll < 0.26:
        # a long origin line of one hostile token (regex backtracking bait): names no model, stays clean, must not hang
        unit = rng.choice(("a.", "a-", "1.", "a_", "a-b", "Qwen ", "llama "))
        verb = rng.choice(("We trained", "Finetuned", "4-bit quantized", "An uncensored", "A LoRA for", "Base:"))
        body += f"\n{verb} {unit * rng.randint(2000, 20000)} trained on data.\n"
    elif roll < 0.30:
        # a License section that names another license alone on its first line (no sentence, no 'licen')
        named = rng.choice(("CC-BY-NC-4.0", "- **GPL-3.0**", "[Llama 3.1 Community License](https://www.llama.com/llama3_1/license/)"))
        case.poison.append("a License section naming another license")
        body += f"\n## License\n\n{named}\n"
    return body


def _files(rng: random.Random, case: Case) -> None:
    roll = rng.random()
    if roll < 0.04:
        case.poison.append("a LICENSE over the size cap")
        case.files["LICENSE"] = "terms " * 200_000
    elif roll < 0.07:
        case.poison.append("a binary LICENSE")
        case.files["LICENSE"] = b"\x00\x01\x02binary" * 10
    elif roll < 0.09 and hasattr(os, "mkfifo"):
        case.poison.append("a FIFO LICENSE")
        case.special.append("fifo:LICENSE")
    elif roll < 0.11:
        case.poison.append("a LICENSE symlink loop")
        case.special.append("loop:LICENSE")
    elif roll < 0.13:
        case.poison.append("a MODEL_CARD.md that disagrees with README.md")
        case.files["MODEL_CARD.md"] = "---\nlicense: cc-by-nc-4.0\n---\n"
    elif roll < 0.16:
        # the repo's license text limits use where the card's license does not: which governs is undecided
        case.poison.append("a LICENSE that is the CC BY-NC 4.0 text")
        case.files["LICENSE"] = _NC_TEXT


def generate(rng: random.Random) -> Case:
    case = Case()
    lines = _mutations(rng, case, _license_lines(rng, case))
    body = _body(rng, case)
    _files(rng, case)
    text = _front(lines) + body
    if rng.random() < 0.05:  # a header comment before the front matter: its fields must still be read
        text = "<!-- generated by a template -->\n" + text
    if rng.random() < 0.05:
        text = "\ufeff" + text.replace("\n", "\r\n")  # BOM and CRLF: the same card, read the same way
    case.files["README.md"] = text
    return case


def write(case: Case, directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    for name, content in case.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(directory, name), mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as fh:
            fh.write(content)
    for spec in case.special:
        kind, name = spec.split(":", 1)
        path = os.path.join(directory, name)
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            os.symlink(os.path.join(directory, name + ".b"), path)
            os.symlink(path, os.path.join(directory, name + ".b"))
    return directory
