"""The license catalog: one YAML file per license under data/licenses/, loaded once, lazily.

Entries are facts written in our own words (never license text). `validate_entry` is the schema;
tests run it over every file so a bad entry fails CI, and the loader runs it too so a user's
extra catalog directory gets the same checks.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
LICENSES_DIR = os.path.join(DATA_DIR, "licenses")

CATEGORIES = (
    "permissive",
    "public-domain",
    "weak-copyleft",
    "copyleft",
    "open-rail",
    "community-model-license",
    "non-commercial",
    "research-only",
    "proprietary",
    "use-policy",  # an acceptable/prohibited use policy incorporated by another license
    "unknown",  # a Hub id that names a family, not one license (cc, other, unknown)
)

# The fixed term vocabulary, with the parameters each term may carry.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "commercial-use": (),
    "modification": (),
    "distribution": (),
    "private-use": (),
    "patent-grant": (),
}
CONDITIONS: dict[str, tuple[str, ...]] = {
    "include-license": (),
    "include-notice": ("text",),
    "attribution-text": ("text", "duty"),  # duty: the attribution duty as the license states it, in our words
    "name-prefix": ("prefix",),
    "pass-use-restrictions": (),
    "acceptable-use-policy": ("policy", "url"),
    "same-license": ("compatible",),
    "disclose-source": (),
    "network-use-disclose": (),
    "state-changes": (),
    "display-name": ("text", "users", "usd_per_month"),
    "registration": ("url",),  # the licensor must be told (a form, an email) before some use, e.g. commercial use
}
LIMITATIONS: dict[str, tuple[str, ...]] = {
    "non-commercial": (),
    "research-only": (),
    "user-threshold": ("users",),
    "revenue-threshold": ("usd_per_year",),
    "no-derivatives": (),
    "no-distribution": (),
    "no-training-other-models": (),
    "field-of-use": ("restrictions",),
    "geographic": ("regions",),
    "revocable": (),
    "no-hosting": (),
    "outputs-restricted": (),
    "trademark": (),
    "liability": (),
    "warranty": (),
}
TERM_KINDS: dict[str, dict[str, tuple[str, ...]]] = {"permissions": PERMISSIONS, "conditions": CONDITIONS, "limitations": LIMITATIONS}
COMMON_TERM_FIELDS = ("id", "clause", "note")

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")
_SPDX_RE = re.compile(r"^(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+)$")
ENTRY_FIELDS = {
    "key": True,
    "name": True,
    "category": True,
    "spdx": True,
    "terms": True,
    "summary": True,
    "version": False,
    "date": False,
    "family": False,
    "scancode": False,
    "hub_id": False,
    "url": False,
    "aliases": False,
    "links": False,
    "ambiguous": False,
    "companions": False,
    "derivatives": False,
    "sources": False,
    "notes": False,
    "licensor": False,
}
LICENSOR_FIELDS = ("name", "orgs")
DERIVATIVE_FIELDS = ("relicense", "allowed", "note")


class CatalogError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    kind: str  # permissions | conditions | limitations
    params: Mapping[str, Any] = field(default_factory=dict)
    clause: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class License:
    key: str
    name: str
    category: str
    spdx: str
    summary: str
    terms: tuple[Term, ...]
    version: str | None = None
    date: str | None = None
    family: str | None = None
    scancode: str | None = None
    hub_id: str | None = None
    url: str | None = None
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    ambiguous: bool = False
    companions: tuple[str, ...] = ()
    relicense: bool = True  # may a derivative be published under another license?
    allowed_derivative_licenses: tuple[str, ...] = ()  # other keys a derivative may carry
    derivative_note: str | None = None
    licensor: str | None = None  # who grants the license (a model license's author), None for generic licenses
    licensor_orgs: tuple[str, ...] = ()  # the Hub organisations the licensor publishes its models under

    def term(self, term_id: str) -> Term | None:
        for t in self.terms:
            if t.id == term_id:
                return t
        return None

    def has(self, term_id: str) -> bool:
        return self.term(term_id) is not None

    @property
    def permissions(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind == "permissions")

    @property
    def conditions(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind == "conditions")

    @property
    def limitations(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.kind == "limitations")


def validate_entry(data: Any, where: str) -> list[str]:
    """Return the schema violations of one catalog entry (empty list when valid)."""
    if not isinstance(data, dict):
        return [f"{where}: an entry must be a mapping"]
    errs = [*_field_errors(data), *_identity_errors(data), *_value_errors(data), *_derivative_errors(data),
            *_licensor_errors(data), *_term_errors(data.get("terms"))]
    return [f"{where}: {e}" for e in errs]


def _field_errors(data: Mapping[str, Any]) -> list[str]:
    errs = [f"missing required field '{name}'" for name, required in ENTRY_FIELDS.items()
            if required and name not in data]
    return errs + [f"unknown field '{name}'" for name in data if name not in ENTRY_FIELDS]


def _identity_errors(data: Mapping[str, Any]) -> list[str]:
    errs: list[str] = []
    key = data.get("key")
    if not isinstance(key, str) or not _KEY_RE.match(key):
        errs.append("key must be lower-case letters, digits, '.', '+', '-'")
    if data.get("category") not in CATEGORIES:
        errs.append(f"category must be one of {', '.join(CATEGORIES)}")
    spdx = data.get("spdx")
    if not isinstance(spdx, str) or not _SPDX_RE.match(spdx):
        errs.append("spdx must be an SPDX id or LicenseRef-...")
    return errs


def _value_errors(data: Mapping[str, Any]) -> list[str]:
    errs: list[str] = []
    for name in ("name", "summary"):
        if name in data and (not isinstance(data[name], str) or not data[name].strip()):
            errs.append(f"{name} must be a non-empty string")
    for name in ("aliases", "links", "companions", "sources"):
        v = data.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            errs.append(f"{name} must be a list of non-empty strings")
    for name in ("version", "date", "family", "scancode", "hub_id", "url", "notes"):
        v = data.get(name)
        if v is not None and not isinstance(v, str):
            errs.append(f"{name} must be a string (quote versions and dates)")
    if "ambiguous" in data and not isinstance(data["ambiguous"], bool):
        errs.append("ambiguous must be true or false")
    return errs


def _derivative_errors(data: Mapping[str, Any]) -> list[str]:
    deriv = data.get("derivatives", {})
    if not isinstance(deriv, dict):
        return ["derivatives must be a mapping"]
    errs = [f"derivatives has unknown field '{name}'" for name in deriv if name not in DERIVATIVE_FIELDS]
    if "relicense" in deriv and not isinstance(deriv["relicense"], bool):
        errs.append("derivatives.relicense must be true or false")
    allowed = deriv.get("allowed", [])
    if not isinstance(allowed, list) or not all(isinstance(x, str) for x in allowed):
        errs.append("derivatives.allowed must be a list of keys")
    return errs


def _licensor_errors(data: Mapping[str, Any]) -> list[str]:
    if "licensor" not in data:
        return []
    lic = data["licensor"]
    if not isinstance(lic, dict):
        return ["licensor must be a mapping with 'name' and 'orgs'"]
    errs = [f"licensor has unknown field '{name}'" for name in lic if name not in LICENSOR_FIELDS]
    if not isinstance(lic.get("name"), str) or not lic["name"].strip():
        errs.append("licensor.name must be a non-empty string")
    orgs = lic.get("orgs")
    if not isinstance(orgs, list) or not orgs or not all(isinstance(o, str) and o.strip() and "/" not in o for o in orgs):
        errs.append("licensor.orgs must be a non-empty list of Hub organisation names")
    return errs


def _term_errors(terms: Any) -> list[str]:
    if not isinstance(terms, dict):
        return ["terms must be a mapping of permissions/conditions/limitations"]
    errs: list[str] = []
    for kind, items in terms.items():
        vocab = TERM_KINDS.get(kind)
        if vocab is None:
            errs.append(f"terms.{kind} is not one of permissions, conditions, limitations")
        elif not isinstance(items, list):
            errs.append(f"terms.{kind} must be a list")
        else:
            errs.extend(e for item in items for e in _term_item_errors(kind, vocab, item))
    return errs


def _term_item_errors(kind: str, vocab: Mapping[str, tuple[str, ...]], item: Any) -> list[str]:
    tid = item if isinstance(item, str) else item.get("id") if isinstance(item, dict) else None
    if not isinstance(tid, str) or tid not in vocab:
        return [f"terms.{kind}: '{tid}' is not in the vocabulary ({', '.join(vocab)})"]
    if not isinstance(item, dict):
        return []
    return [f"term '{tid}' has unknown parameter '{p}'" for p in item
            if p not in COMMON_TERM_FIELDS and p not in vocab[tid]]


def _term_list(terms: Mapping[str, Any]) -> tuple[Term, ...]:
    out = []
    for kind in ("permissions", "conditions", "limitations"):
        for item in terms.get(kind) or ():
            if isinstance(item, str):
                out.append(Term(item, kind))
            else:
                params = {k: v for k, v in item.items() if k not in COMMON_TERM_FIELDS}
                out.append(Term(item["id"], kind, params, item.get("clause"), item.get("note")))
    return tuple(out)


def _entry(data: Mapping[str, Any]) -> License:
    deriv = data.get("derivatives") or {}
    return License(
        key=data["key"],
        name=data["name"],
        category=data["category"],
        spdx=data["spdx"],
        summary=data["summary"].strip(),
        terms=_term_list(data["terms"]),
        version=data.get("version"),
        date=data.get("date"),
        family=data.get("family"),
        scancode=data.get("scancode"),
        hub_id=data.get("hub_id"),
        url=data.get("url"),
        aliases=tuple(data.get("aliases") or ()),
        links=tuple(data.get("links") or ()),
        ambiguous=bool(data.get("ambiguous", False)),
        companions=tuple(data.get("companions") or ()),
        relicense=bool(deriv.get("relicense", False)),  # unsaid: fail closed, derivatives keep the terms
        allowed_derivative_licenses=tuple(deriv.get("allowed") or ()),
        derivative_note=deriv.get("note"),
        licensor=(data.get("licensor") or {}).get("name"),
        licensor_orgs=tuple((data.get("licensor") or {}).get("orgs") or ()),
    )


def _load_yaml(path: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def alias_form(text: str) -> str:
    """The form aliases are compared in: lower case, runs of space/_/- folded to one '-'."""
    t = text.strip().lower().replace("licence", "license")
    t = re.sub(r"[\s_\-/]+", "-", t)
    return t.strip("-.")


def _compact(form: str) -> str:
    return re.sub(r"[-.]", "", form)


_FRAMING = (
    (re.compile(r"^the-"), ""),
    (re.compile(r"^meta-(?=llama)"), ""),
    (re.compile(r"-agreement$"), ""),
    (re.compile(r"-license$"), ""),
    (re.compile(r"-version-(?=\d)"), "-"),
)


def _variants(form: str) -> list[str]:
    """Forms of a license name with framing words dropped one after another ('the-x-license-agreement' ->
    'x-license' -> 'x'), tried only after the name itself did not match."""
    out = []
    cur = form
    for rx, repl in _FRAMING:
        new = rx.sub(repl, cur)
        if new != cur and new:
            out.append(new)
            cur = new
    return out


class Catalog:
    def __init__(self, entries: Iterable[License]):
        self._by_key: dict[str, License] = {}
        self._alias: dict[str, str] = {}
        self._links: list[tuple[str, str]] = []
        for lic in entries:
            if lic.key in self._by_key:
                raise CatalogError(f"duplicate catalog key {lic.key}")
            self._by_key[lic.key] = lic
        # keys, Hub ids and SPDX ids win over free-form aliases when two entries claim the same text
        for lic in self._by_key.values():
            for text in (lic.key, lic.hub_id, lic.spdx):
                if text:
                    self._alias.setdefault(alias_form(text), lic.key)
        for lic in self._by_key.values():
            for text in (lic.name, *lic.aliases):
                self._alias.setdefault(alias_form(text), lic.key)
        # names with their framing words dropped ("Yi Series Models Community License Agreement" also answers
        # to "yi-series-models-community-license"), weakest of all; never down to a single word, which would
        # make a bare family name ("llama") resolve to one version
        for lic in self._by_key.values():
            for text in (lic.name, *lic.aliases):
                for variant in _variants(alias_form(text)):
                    if "-" in variant:
                        self._alias.setdefault(variant, lic.key)
            for link in lic.links:
                self._links.append((link.lower().rstrip("/"), lic.key))
        # every alias with its separators and dots dropped ('flux1-dev-...' is 'flux-1-dev-...', 'llama31' is
        # 'llama-3.1'), tried last; a compact form two licenses share answers neither
        compact: dict[str, set[str]] = {}
        for form, key in self._alias.items():
            compact.setdefault(_compact(form), set()).add(key)
        self._compact = {c: next(iter(keys)) for c, keys in compact.items() if len(keys) == 1 and len(c) >= 4}
        # longest link pattern first, so a specific path beats a bare domain
        self._links.sort(key=lambda kv: -len(kv[0]))
        self._links_by_host: dict[str, tuple[tuple[str, str], ...]] = {}
        for pattern, key in self._links:
            first = pattern.split("/", 1)[0]
            is_host = re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", first) and not first.endswith((".pdf", ".txt", ".md", ".html"))
            host = first.removeprefix("www.") if is_host else ""  # a pattern that is only a file name fits any host
            self._links_by_host[host] = self._links_by_host.get(host, ()) + ((pattern, key),)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def get(self, key: str) -> License | None:
        return self._by_key.get(key)

    def __getitem__(self, key: str) -> License:
        return self._by_key[key]

    def all(self) -> tuple[License, ...]:
        return tuple(self._by_key.values())

    def lookup(self, text: str) -> str | None:
        """Key for a license id, SPDX id, name or alias as someone might write it; None when unknown."""
        if not text:
            return None
        form = alias_form(text)
        key = self._alias.get(form)
        if key is not None:
            return key
        # the same name with or without its framing words: "the", "Meta", "agreement", "version"; last, each of
        # these forms with its separators and dots dropped
        forms = (form, *_variants(form))
        key = next((self._alias[f] for f in forms[1:] if f in self._alias), None)
        if key is None:
            key = next((self._compact[c] for c in map(_compact, forms) if c in self._compact), None)
        return key

    def by_link(self, url: str) -> str | None:
        """Key for a license URL (license_link, a link in a card body); None when unknown."""
        u = url.strip().lower().rstrip("/")
        u = re.sub(r"^https?://(www\.)?", "", u)
        host = u.split("/", 1)[0]
        # only the patterns for this host (or host-less ones) can match: far fewer to try
        for pattern, key in self._links_by_host.get(host, ()) + self._links_by_host.get("", ()):
            at = u.find(pattern)
            # the pattern must end at a path boundary: '/licenses/mit' is not '/licenses/mit-0'
            while at != -1:
                end = at + len(pattern)
                if end == len(u) or u[end] in "/.?#":
                    return key
                at = u.find(pattern, at + 1)
        return None


def load_dir(path: str) -> list[License]:
    entries = []
    errors: list[str] = []
    for name in sorted(os.listdir(path)):
        if not name.endswith(".yaml"):
            continue
        where = os.path.join(path, name)
        try:
            data = _load_yaml(where)
        except Exception as exc:  # a broken data file must name itself
            errors.append(f"{where}: not valid YAML ({exc})")
            continue
        errs = validate_entry(data, where)
        if errs:
            errors.extend(errs)
            continue
        entries.append(_entry(data))
    if errors:
        raise CatalogError("; ".join(errors[:5]))
    return entries


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The shipped catalog, loaded once per process."""
    return Catalog(load_dir(LICENSES_DIR))
