"""The Resolver: what is known about a repo id (its license, its bases), from every source configured.

Order: --models-dir snapshot directories, the HF cache, a lineage index (--index, audit/index), the Hub (pinned,
concurrent), the offline registry (exact id, then a re-upload's name, then a family named in its name). Datasets are looked up through the
same resolver (audit.datasets), so both share its caches and its thread pool.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from audit.errors import AuditError, HubGated
from audit.lineage.candidates import Candidate, dedupe, find_bases, inferred_tiers
from audit.lineage.confidence import confidence
from audit.lineage.dates import card_date_floor, parse_date
from audit.lineage.inherit import key_facts, registry_facts
from audit.lineage.phrases import read_name
from audit.lineage.relation import infer_relation, relation_from_name
from audit.model import DatasetFacts, LicenseFacts, ModelCard, Origin, Relation, RepoFile, Snapshot, SourceKind, Status
from audit.registry import Entry, Registry, load_registry

if TYPE_CHECKING:
    from audit.index.lookup import IndexSource
    from audit.sources.hub import HubClient


@dataclass(frozen=True, slots=True)
class Node:
    """What a resolver learned about one repo (or family)."""

    id: str
    resolved_from: SourceKind | None  # local | cache | hub | registry | None (not found)
    facts: LicenseFacts | None
    bases: tuple[Candidate, ...] = ()
    relation: Relation | None = None  # this repo's relation to its bases
    relation_origin: Origin | None = None
    origin: Origin | None = None
    entry: Entry | None = None  # registry Entry for this id (license history), when the registry has it
    date: _dt.date | None = None  # when the repo was created, when known
    problem: str | None = None  # why it could not be resolved
    inferred: bool = False  # its license is known only from its name / a family
    confidence: float = 1.0
    note: str | None = None
    gated: object = None  # the Hub's or the card's gating (truthy when gated)


@dataclass
class _Tried:
    """What each source answered for one repo id that it could not give."""

    reasons: list[str] = field(default_factory=list)
    gated: bool = False  # the Hub refused it as gated (its terms not accepted)

    def failed(self, reason: str, error: AuditError) -> None:
        self.reasons.append(reason)
        self.gated = self.gated or isinstance(error, HubGated)


# -- the resolver ----------------------------------------------------------------------------------------------
_worker = threading.local()  # set while a thread runs a task of a resolver's pool


class Resolver:
    """Finds what is known about a repo id (its license and its bases). Caches; thread-safe; concurrent.

    Order: --models-dir directories (a directory per model named `org--name`, or `org/name` nested, or just
    `name`), the HF cache (when use_cache), the Hub (when a HubClient is given), then the offline registry
    (exact id, then a re-upload's name, then a family in the name). A failure of one source falls through to
    the next; only when all fail is the ancestor unknown, with every reason recorded."""

    def __init__(self, *, models_dirs: tuple[str, ...] = (), cache_dir: str | None = None, use_cache: bool = False,
                 hub: HubClient | None = None, use_registry: bool = True, max_depth: int = 10, max_workers: int = 8,
                 registry: Registry | None = None, datasets_dirs: tuple[str, ...] = (),
                 index: IndexSource | None = None):
        self.models_dirs = tuple(models_dirs)
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.hub = hub
        self.use_registry = use_registry
        self.max_depth = max(1, int(max_depth))
        self.max_workers = max(1, int(max_workers))
        self._registry = registry
        self._nodes: dict[str, Node] = {}
        self._datasets: dict[str, DatasetFacts] = {}
        self._inflight: dict[str, Future[Node]] = {}
        self._lock = threading.Lock()
        self._registry_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._local_index: dict[str, str] | None = None
        self._cache_root_dir: str | None = None
        self.datasets_dirs = tuple(datasets_dirs)
        self.index = index  # [index hook] a community lineage index (audit/index), between the cache and the Hub

    # -- public -------------------------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            with self._registry_lock:
                if self._registry is None:
                    self._registry = load_registry()
        return self._registry

    def node(self, repo_id: str) -> Node:
        """What is known about one repo id (resolved once, then cached)."""
        key = repo_id.strip().lower()
        with self._lock:
            hit = self._nodes.get(key)
            if hit is not None:
                return hit
            waiting = self._inflight.get(key)
            if waiting is None:
                fut: Future[Node] = Future()
                self._inflight[key] = fut
        if waiting is not None:
            return waiting.result()
        try:
            node = self._resolve(repo_id.strip())
        except Exception as exc:  # a bug or an odd answer must not stop the audit: the ancestor is unknown
            node = Node(repo_id, None, None, problem=f"could not be resolved: {type(exc).__name__}: {exc}")
        with self._lock:
            self._nodes[key] = node
            self._inflight.pop(key, None)
        fut.set_result(node)
        return node

    def prefetch(self, ids: Iterable[str]) -> None:
        """Resolve ids and their ancestors (to max_depth) concurrently, level by level, on a bounded pool.

        Call it with every base named by a batch of models before resolving their lineages one by one:
        the later calls are then answered from the cache."""
        level = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
        seen: set[str] = set()
        for _ in range(self.max_depth):
            level = [i for i in level if i.lower() not in seen]
            if not level:
                return
            seen.update(i.lower() for i in level)
            nodes = self.map_nodes(level)
            level = [c.id for n in nodes for c in n.bases]

    def map_nodes(self, ids: Sequence[str]) -> list[Node]:
        """node() for many ids at once, concurrently."""
        ids = list(ids)
        # a worker that needs more nodes (inferred bases of a Hub repo) resolves them itself: waiting on the
        # same bounded pool from inside it could leave every worker waiting on queued work
        if self.max_workers > 1 and not getattr(_worker, "active", False):
            with self._lock:
                todo = [i for i in ids if i.lower() not in self._nodes]
            # only lookups that wait on files or the network go to the pool: the registry answers from memory,
            # and a thread would only add its overhead and wait for the GIL
            todo = [i for i in todo if self._reads(i)]
            if len(todo) > 1:
                list(self._executor().map(self._node_in_worker, todo))
        return [self.node(i) for i in ids]

    def _node_in_worker(self, repo_id: str) -> Node:
        _worker.active = True
        try:
            return self.node(repo_id)
        finally:
            _worker.active = False

    def dataset(self, dataset_id: str, origin: Origin | None = None) -> DatasetFacts:
        """DatasetFacts for a dataset id (see audit.datasets), resolved once and cached."""
        from audit.datasets import lookup_dataset

        key = dataset_id.strip().lower()
        origin = origin or Origin(SourceKind.INFERRED, dataset_id)
        with self._lock:
            hit = self._datasets.get(key)
        if hit is None:
            try:
                hit = lookup_dataset(dataset_id.strip(), self, origin)
            except Exception:  # as for models: a lookup that breaks leaves the dataset unknown
                hit = DatasetFacts(dataset_id, (), Status.UNKNOWN, None, origin)
            with self._lock:
                self._datasets.setdefault(key, hit)
        return replace(hit, origin=origin)

    def map_datasets(self, ids: Sequence[str], origin: Origin | None = None) -> list[DatasetFacts]:
        with self._lock:  # only what is not resolved yet is worth a thread (prefetch_datasets resolved most)
            todo = [i for i in ids if i.strip().lower() not in self._datasets]
        if len(todo) > 1 and self.max_workers > 1 and (self.hub is not None or self._cache_exists()) \
                and not getattr(_worker, "active", False):
            list(self._executor().map(lambda i: self.dataset(i, origin), todo))
        return [self.dataset(i, origin) for i in ids]

    def prefetch_datasets(self, ids: Iterable[str]) -> None:
        """Look up the datasets of a batch of models concurrently (later resolve_datasets calls hit the cache)."""
        self.map_datasets(list(dict.fromkeys(i.strip() for i in ids if i and i.strip())))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------------
    def _reads(self, repo_id: str) -> bool:
        """Would resolving this id read a file or ask the Hub? (Only where to run it depends on the answer.)"""
        rid = repo_id.strip()
        if rid.startswith("family:"):
            return False  # families come from the registry
        if self.hub is not None or self._local_path(rid) is not None:
            return True
        if not self._cache_exists():
            return False
        from audit.sources.cache import repo_folder

        return os.path.isdir(repo_folder(rid.split("@", 1)[0], self._cache_root()))

    def _cache_root(self) -> str:
        if self._cache_root_dir is None:
            from audit.sources.cache import cache_dir

            self._cache_root_dir = cache_dir(self.cache_dir)
        return self._cache_root_dir

    def _cache_exists(self) -> bool:
        """use_cache and the HF cache directory is there (most machines that never downloaded have none)."""
        return self.use_cache and os.path.isdir(self._cache_root())

    def _executor(self) -> ThreadPoolExecutor:
        # Load the shared data once, here, before the workers start: lru_cache does not stop sixteen threads
        # from each loading the catalog at the same time on their first call.
        from audit.card import parse_card  # noqa: F401
        from audit.licenses.catalog import catalog
        from audit.licenses.normalize import license_facts  # noqa: F401

        catalog()
        _ = self.registry
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="mlaudit-lineage")
            return self._pool

    def _resolve(self, repo_id: str) -> Node:
        if repo_id.startswith("family:"):
            return self._family_node(repo_id[len("family:"):])
        tried = _Tried()
        entry = self.registry.model(repo_id) if self.use_registry else None
        path = self._local_path(repo_id)
        node = self._from_local(repo_id, path, tried) if path is not None else None
        if node is None and self.use_cache:
            node = self._from_cache(repo_id, tried)
        if node is None and self.index is not None:  # [index hook] community lineage index (audit/index)
            node = self.index.node(repo_id)
        if node is None and self.hub is not None:
            node = self._from_hub(self.hub, repo_id, tried)
        if node is not None:
            return replace(node, entry=entry)
        if self.use_registry:
            node = self._from_registry(repo_id, entry, tried)
            if node is not None:
                return node
            tried.reasons.append("not in the offline registry")
        return Node(repo_id, None, None, problem="; ".join(tried.reasons) or "no source to look it up in",
                    gated=tried.gated or None)

    def _from_registry(self, repo_id: str, entry: Entry | None, tried: _Tried) -> Node | None:
        """The registry's entry for this id, else a registry model it is a re-upload of, else a family its
        name names."""
        if entry is not None:
            return self._from_entry(repo_id, entry, tried.reasons)
        by_name = self.registry.by_name(repo_id)
        if by_name is not None and by_name.id.lower() != repo_id.lower():
            return self._renamed(repo_id, by_name)
        named = Origin(SourceKind.INFERRED, repo_id)
        name = read_name(repo_id.split("/", 1)[-1])
        made_from = self.registry.made_from(name, read=name != repo_id.split("/", 1)[-1])
        fams = self.registry.by_family(name, in_name=True) if made_from is None else []
        if made_from is None and not fams:  # the last resort: a registry name after a word or two of the publisher's
            branded = self.registry.by_branded_name(name)
            made_from = (branded, "holds, after its publisher's own words, the name of") if branded else None
        if made_from is not None:
            entry, how = made_from
            base = Candidate(entry.id, "registry-prefix", True, confidence("registry-prefix"), (named,),
                             f"the name '{repo_id}' {how} {entry.id}")
            return self._named_after(repo_id, base, f"a model made from {entry.id}", tried)
        if not fams:
            return None
        rule, m = fams[0]
        base = Candidate(f"family:{rule.label}", "registry-family", True, confidence("registry-family"), (named,),
                         f"the name '{m.group(0)}' names the {rule.label} family")
        return self._named_after(repo_id, base, f"the {rule.label} family", tried)

    @staticmethod
    def _named_after(repo_id: str, base: Candidate, what: str, tried: _Tried) -> Node:
        """A repo no source knows whose name says what it was made from: its own license stays unknown, and
        what it inherits is assumed to be what `base` carries. Only that edge is inferred (the base candidate
        says so, with its confidence): the repo itself was named by whoever pointed at it, and its unknown
        license is a fact, not a guess, so it is not marked inferred (that would hold its finding to warning)."""
        return Node(repo_id, SourceKind.REGISTRY, None, bases=(base,), relation=relation_from_name(repo_id),
                    origin=base.evidence[0],
                    problem=f"{'; '.join([*tried.reasons, 'not in the offline registry'])}; its name suggests "
                            f"{what}, whose license is assumed for what it inherits")

    def _renamed(self, repo_id: str, entry: Entry) -> Node:
        """A repo not in the registry whose name is a registry model's name plus re-upload decorations."""
        facts = registry_facts(entry, None, note=f"inferred: the name {repo_id!r} matches registry model {entry.id}")
        named = Origin(SourceKind.INFERRED, repo_id)
        return Node(
            repo_id, SourceKind.REGISTRY, facts,
            bases=(Candidate(entry.id, "registry-name", True, confidence("registry-name"), (named,),
                             f"'{repo_id}' looks like a re-upload of {entry.id}"),),
            relation=relation_from_name(repo_id), origin=named, entry=entry,
            inferred=True, confidence=confidence("registry-name"), note=f"assumed to carry the license of {entry.id}",
        )

    def _family_node(self, label: str) -> Node:
        rule = next((r for r in self.registry.families() if r.label == label), None)
        origin = Origin(SourceKind.REGISTRY, f"family:{label}")
        if rule is None:
            return Node(f"family:{label}", None, None, problem=f"no registry family {label!r}")
        if rule.entry_id:
            entry = self.registry.model(rule.entry_id)
            if entry is not None:
                facts = registry_facts(entry, None, note=f"family {label}: licensed like {entry.id}")
                bases: tuple[Candidate, ...] = ()
                if entry.relation_to:
                    bases = (Candidate(entry.relation_to, "registry-relation", False, confidence("registry-relation"), (origin,)),)
                return Node(f"family:{label}", SourceKind.REGISTRY, facts, bases=bases,
                            relation=Relation.FINETUNE if bases else None, origin=origin, entry=entry, inferred=True,
                            confidence=confidence("family"), note=rule.note)
        if rule.key:
            facts = key_facts(rule.key, origin, f"family {label}: {rule.note}")
            return Node(f"family:{label}", SourceKind.REGISTRY, facts, origin=origin, inferred=True,
                        confidence=confidence("family"), note=rule.note)
        return Node(f"family:{label}", None, None, problem=f"registry family {label!r} has no license")

    def _from_entry(self, repo_id: str, entry: Entry, reasons: list[str]) -> Node:
        facts = registry_facts(entry, None)
        origin = Origin(SourceKind.REGISTRY, entry.id, file=entry.source_file, line=entry.source_line)
        bases: tuple[Candidate, ...] = ()
        if entry.relation_to:
            bases = (Candidate(entry.relation_to, "registry-relation", False, confidence("registry-relation"), (origin.at(field="relation_to"),)),)
        return Node(repo_id, SourceKind.REGISTRY, facts, bases=bases, relation=Relation.FINETUNE if bases else None,
                    origin=origin, entry=entry, note="; ".join(reasons) if reasons else None)

    # local snapshot directories
    def _local_path(self, repo_id: str) -> str | None:
        if not self.models_dirs:
            return None
        with self._lock:
            if self._local_index is None:
                self._local_index = index_models_dirs(self.models_dirs)
            index = self._local_index
        rid = repo_id.lower()
        return index.get(rid) or index.get(rid.replace("/", "--")) or index.get("name:" + rid.split("/")[-1])

    def _from_local(self, repo_id: str, path: str, tried: _Tried) -> Node | None:
        from audit.sources.local import read_snapshot_dir

        try:
            snap = read_snapshot_dir(path, subject=repo_id)
        except AuditError as exc:
            tried.failed(f"{path}: {exc.message}", exc)
            return None
        return self._from_snapshot(repo_id, snap, SourceKind.LOCAL)

    def _from_cache(self, repo_id: str, tried: _Tried) -> Node | None:
        from audit.sources.cache import read_cached

        try:
            snap = read_cached(repo_id, cache_dir=self.cache_dir)
        except AuditError as exc:
            tried.failed(f"HF cache: {exc.message}", exc)
            return None
        if snap is None:
            return None
        return self._from_snapshot(repo_id, snap, SourceKind.CACHE)

    def _from_hub(self, hub: HubClient, repo_id: str, tried: _Tried) -> Node | None:
        try:
            info = hub.model_info(repo_id)
        except AuditError as exc:
            tried.failed(exc.message, exc)
            return None
        origin = Origin(SourceKind.HUB, repo_id, revision=info.get("sha"))
        card = card_from_card_data(info.get("cardData") or {}, origin.at(file="README.md"))
        files = tuple(_repo_file(s) for s in info.get("siblings") or ())
        snap = Snapshot(subject=repo_id, origin=origin, files=files, texts={}, card_path=None, info=info)
        return self._from_snapshot(repo_id, snap, SourceKind.HUB, card=card)

    def _from_snapshot(self, repo_id: str, snap: Snapshot, source: SourceKind, card: ModelCard | None = None) -> Node:
        from audit.card import parse_card
        from audit.licenses.normalize import license_facts

        if card is None and snap.card_path and snap.card_path in snap.texts:
            card = parse_card(snap.texts[snap.card_path], snap.origin.at(file=snap.card_path))
        facts = license_facts(card, snap)
        declared, tiers = find_bases(repo_id, card, snap, self)
        # (not choose_bases: resolving declared bases from inside a node's resolution could wait on itself)
        bases = declared or self.pick_tier(tiers)
        relation, rel_origin, _ = infer_relation(card, snap, len(declared) or len(bases), repo_id,
                                                 declared=bool(declared))
        date = parse_date(snap.info.get("createdAt")) or card_date_floor(card)
        return Node(repo_id, source, facts, bases=tuple(bases), relation=relation, relation_origin=rel_origin,
                    origin=snap.origin, date=date, gated=snap.info.get("gated") or (card.gated if card else None))

    def choose_bases(self, subject: str, card: ModelCard | None, snapshot: Snapshot | None,
                     declared: Sequence[Candidate], tiers: Sequence[Sequence[Candidate]]) -> list[Candidate]:
        """The bases to follow: the declared ones; when none of them can be resolved, the card's other evidence
        still counts (inferred bases beside the declared ones, which stay, reported as unknown); when nothing
        is declared, the strongest inferred tier that resolves (pick_tier)."""
        if not declared:
            return self.pick_tier(tiers)
        nodes = self.map_nodes([c.id for c in declared])
        if any(n.facts is not None or n.bases for n in nodes):
            return list(declared)
        ids = {c.id.lower() for c in declared}
        extra = [c for c in self.pick_tier(inferred_tiers(subject, card, snapshot)) if c.id.lower() not in ids]
        return list(declared) + extra

    def pick_tier(self, tiers: Sequence[Sequence[Candidate]]) -> list[Candidate]:
        """The strongest tier of inferred bases that resolves; weaker tiers are used only when it does not.

        Bases named explicitly (a link, a merge configuration, config.json) stay in the lineage even when they
        cannot be resolved, so they are reported as unknown ancestors beside what a weaker tier found."""
        explicit: list[Candidate] = []
        for tier in tiers:
            if not tier:
                continue
            nodes = self.map_nodes([c.id for c in tier])
            # a repo id written in prose (not linked) counts only when some source knows that exact repo:
            # 'English/Chinese' or 'scripts/train.sh' are not models
            keep = [(c, n) for c, n in zip(tier, nodes) if c.via != "body-name" or n.facts is not None]
            if any(n.facts is not None or n.bases for _, n in keep):
                return dedupe(explicit + [c for c, _ in keep], "")
            explicit.extend(c for c, _ in keep if c.via in ("body-link", "mergekit", "config"))
        return explicit


def index_models_dirs(dirs: Sequence[str]) -> dict[str, str]:
    """repo id forms -> snapshot directory. Layouts: <dir>/org--name, <dir>/org/name, <dir>/name.

    Keys: 'org--name' and 'org/name' (lower-case), and 'name:<name>' when only one directory has that name."""
    index: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    for root in dirs:
        try:
            entries = sorted(os.listdir(root))
        except OSError:
            continue
        for e in entries:
            p = os.path.join(root, e)
            if not os.path.isdir(p):
                continue
            low = e.lower()
            if "--" in low:
                index.setdefault(low, p)
                names.setdefault(low.split("--", 1)[1], []).append(p)
                continue
            subs: list[str] = []
            with contextlib.suppress(OSError):
                subs = [s for s in sorted(os.listdir(p)) if os.path.isdir(os.path.join(p, s))]
            for s in subs:
                index.setdefault(f"{low}/{s.lower()}", os.path.join(p, s))
                names.setdefault(s.lower(), []).append(os.path.join(p, s))
            names.setdefault(low, []).append(p)
    for name, paths in names.items():
        if len(paths) == 1:
            index.setdefault("name:" + name, paths[0])
    return index


def _repo_file(s: Mapping[str, Any]) -> RepoFile:
    lfs = s.get("lfs") or {}
    return RepoFile(path=cast(str, s.get("rfilename")), size=lfs.get("size") or s.get("size"), blob_id=s.get("blobId"),
                    sha256=lfs.get("sha256"))


def card_from_card_data(card_data: Mapping[str, Any], origin: Origin) -> ModelCard:
    """A ModelCard from the Hub's parsed cardData (no body, no line numbers)."""
    import yaml

    from audit.card import parse_card

    try:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = "---\n" + yaml.dump(dict(card_data), Dumper=dumper, sort_keys=False, allow_unicode=True) + "---\n"
    except yaml.YAMLError:
        text = ""
    card = parse_card(text, origin)
    return replace(card, field_lines={}, body_line=1)

