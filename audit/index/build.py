"""`mlaudit index build`: card dumps -> the per-row stage on Dask -> rows written, graph closed on the driver.

    sources --(source.py: dask dataframe)--> map_partitions(rows.process_frame) --compute--> driver
            --> store.upsert (changed rows only) --> inferred bases picked, closure.close over every row --> store

Where the per-row stage runs:
- in-process (the default): Dask's synchronous scheduler; no cluster to start;
- `workers=N`: a local cluster of N single-threaded worker processes (the stage is pure Python: processes,
  not threads, use the cores);
- `scheduler="tcp://host:port"`: an existing cluster (Kubernetes, Slurm, ...; see benchmarks/README.md).
Incremental: a row whose `lastModified` (or, without one, its card's sha1) is what the index holds is skipped
by the stage and not rewritten. The closure is recomputed for every row (it is cheap) and written only where
it changed.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit import __version__
from audit.errors import UsageError
from audit.index.closure import Signature, build_graph, close
from audit.index.store import ROW_COLUMNS, SCHEMA, IndexStore

INSTALL_HINT = "needs Dask and pyarrow: pip install 'mlaudit[scale]'"
MAX_LISTED_ERRORS = 20


class ScaleMissing(UsageError):
    """Dask or pyarrow is not installed (the `scale` extra). Exit code 2."""


@dataclass
class BuildResult:
    path: str
    rows: int  # rows read from the sources
    parsed: int  # rows run through the per-row stage and written
    unchanged: int  # rows skipped: the index already had them at this lastModified
    failed: int  # rows that could not be indexed (listed in `errors`)
    models: int  # models in the index after the build
    closure_updated: int  # rows whose effective license, conflicts or depth changed
    errors: list[tuple[str, int, str | None, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    built: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.path, "built": self.built, "rows": self.rows, "parsed": self.parsed,
                "unchanged": self.unchanged, "failed": self.failed, "models": self.models,
                "closure_updated": self.closure_updated, "seconds": self.seconds,
                "errors": [{"source": s, "row": r, "id": i, "message": m} for s, r, i, m in self.errors]}


def require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise ScaleMissing("index build", INSTALL_HINT) from None


@contextlib.contextmanager
def scheduler(workers: int | None = None, address: str | None = None) -> Iterator[str]:
    """Where compute() runs, as a context: 'sync', a local cluster of `workers` processes, or `address`."""
    import dask

    if address:
        from distributed import Client

        with Client(address) as client:
            yield f"cluster {address} ({len(client.scheduler_info().get('workers', {}))} workers)"
        return
    if workers:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl):
            yield f"local cluster ({workers} processes)"
        return
    with dask.config.set(scheduler="sync"):
        yield "in-process"


def build_index(sources: Sequence[str], output: str, *, workers: int | None = None, address: str | None = None,
                name: str | None = None, today: _dt.date | None = None, blocksize: str | None = None,
                endpoint: str | None = None, token: str | bool | None = None, offline: bool | None = None
                ) -> BuildResult:
    """Build or update the index at `output` from card dumps (see the module doc). `endpoint`, `token` and
    `offline` are for URL sources (source.Remote: by default what `check` uses)."""
    require_dask()
    import dask

    from audit.index.rows import empty_frame, process_frame
    from audit.index.source import BLOCKSIZE, Remote, fingerprint, read_sources

    if not sources:
        raise UsageError("index build", "give at least one card dump (parquet, JSON lines, CSV, or a URL)")
    if os.path.exists(output):
        IndexStore(output).close()  # an existing file must be an index of this schema: it is updated, not replaced
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    remote = Remote.resolve(endpoint, token, offline) if any("://" in s for s in sources) else Remote("", None)
    # the sources first: one that cannot be read leaves no index file behind
    frame, files = read_sources(list(sources), blocksize or BLOCKSIZE, remote)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with IndexStore(output, create=True) as store:
        known = store.fingerprints()
        out = frame.map_partitions(process_frame, known=dask.delayed(known, pure=True), meta=empty_frame())
        with scheduler(workers, address), _reading(files, remote):
            result = out.compute()
        seconds["rows"] = round(time.perf_counter() - clock, 3)
        fresh = result[~result["skip"] & result["error"].isna()]
        fresh = fresh.drop_duplicates("key", keep="last")
        store.upsert(fresh[list(ROW_COLUMNS)].itertuples(index=False, name=None))
        bad = result[result["error"].notna()]
        errors = [(s, int(r), i if isinstance(i, str) else None, m)
                  for s, r, i, m in bad[["source", "row", "id", "error"]].itertuples(index=False, name=None)]
        store.clear_errors()
        store.add_errors(errors)
        mark = time.perf_counter()
        updated = close_store(store)
        seconds["closure"] = round(time.perf_counter() - mark, 3)
        built = (today or _dt.datetime.now(_dt.timezone.utc).date()).isoformat()
        with _reading(files, remote):
            hashes = [fingerprint(f, remote) for f in files]
        history = _sources_history(store, files, hashes, result, built)
        store.write_meta({"schema": SCHEMA, "built": built, "tool": __version__, "sources": json.dumps(history),
                          "name": name or os.path.splitext(os.path.basename(output))[0]})
        store.commit()
        seconds["total"] = round(time.perf_counter() - clock, 3)
        return BuildResult(output, len(result), len(fresh), int(result["skip"].sum()), len(errors), store.count(),
                           updated, errors[:MAX_LISTED_ERRORS], seconds, built)


@contextlib.contextmanager
def _reading(files: list[str], remote: Any) -> Iterator[None]:
    """A failure while the URL sources are read (inside the Dask stage) -> one error naming them."""
    from audit.errors import AuditError, InputUnreadable
    from audit.index.source import _explain, display, is_remote

    urls = [f for f in files if is_remote(f)]
    try:
        yield
    except AuditError:
        raise
    except Exception as exc:
        if not urls:
            raise
        if len(urls) == 1:
            raise _explain(exc, urls[0], remote) from None
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputUnreadable(", ".join(display(u) for u in urls),
                              remote.scrub(f"reading failed: {type(exc).__name__}: {first}")) from None


def _sources_history(store: IndexStore, files: list[str], hashes: list[str], result: Any, built: str
                     ) -> list[dict[str, Any]]:
    """The sources of every build so far, this one's last (source, sha256 or ETag, rows, build date)."""
    from audit.index.source import display

    try:
        history = list(store.read_meta().sources)
    except UsageError:
        history = []  # a new index
    labels = result["source"].map(lambda s: str(s).split("#", 1)[0]).value_counts().to_dict() if len(result) else {}
    history += [{"source": display(f), "hash": h, "rows": int(labels.get(display(f), 0)), "built": built}
                for f, h in zip(files, hashes)]
    return history


def _signature(license_json: str) -> Signature:
    lic = json.loads(license_json)
    return tuple(lic.get("keys") or ()), tuple(lic.get("ack") or ()), bool(lic.get("declared"))


class _KnownIds:
    """The index being built, as the resolver's index source: which ids it holds (all pick_tier asks)."""

    def __init__(self, rows: list[tuple[Any, ...]]):
        from audit.model import LicenseFacts, Status

        self.keys = {row[0] for row in rows}
        self.facts = LicenseFacts((), None, (), Status.UNKNOWN)

    def node(self, repo_id: str) -> Any:
        from audit.lineage.resolver import Node
        from audit.model import SourceKind

        rid = repo_id.split("@", 1)[0]
        return Node(rid, SourceKind.INDEX, self.facts) if rid.strip().lower() in self.keys else None


def inferred_bases(resolver: Any, model_id: str, tiers: list[list[list[Any]]]) -> list[Any]:
    """The inferred bases `check` follows for a model whose card declares none: its tiers (rows.py) through the
    resolver's own pick_tier, the resolver knowing this index and the registry (as `check --index` offline)."""
    from audit.lineage.candidates import Candidate
    from audit.model import Origin, SourceKind

    base = Origin(SourceKind.INDEX, model_id)
    return resolver.pick_tier([[Candidate(cid, via, True, conf, tuple(base.at(file=f, line=ln, field=fld)
                                                                      for f, ln, fld in where), note)
                                for cid, via, conf, note, where in tier] for tier in tiers])


def registry_rows(graph_rows: list[tuple[str, Signature, list[Any]]]) -> list[tuple[str, Signature, list[Any]]]:
    """Graph rows for the bases the dump lacks and mlaudit's registry knows (an official root, a legacy id, a
    re-upload named after a registry model), and
    for their registry bases in turn, so a chain ending outside the dump still reaches a known license, as it
    does for `check`. They are closed with the dump's rows but never written to the index."""
    from audit.lineage.inherit import registry_facts
    from audit.registry import load_registry

    registry = load_registry()
    have = {mid.lower() for mid, _sig, _bases in graph_rows}
    todo = [b if isinstance(b, str) else b[0] for _mid, _sig, bases in graph_rows for b in bases]
    out: list[tuple[str, Signature, list[Any]]] = []
    while todo:
        bid = todo.pop()
        # as the resolver does: the registry's entry, else the registry model a re-upload is named after
        entry = None if bid.lower() in have else (registry.model(bid) or registry.by_name(bid))
        if entry is None:
            continue
        have.add(bid.lower())
        bases = [entry.relation_to] if entry.relation_to else []
        out.append((bid, (registry_facts(entry, None).keys, (), True), bases))
        todo.extend(bases)
    return out


def close_store(store: IndexStore) -> int:
    """Close the graph of every row in the store (inferred bases picked first); write the rows whose closure
    changed. Returns their number."""
    from audit.index.rows import candidate_json, dumps
    from audit.lineage.confidence import weak
    from audit.lineage.resolver import Resolver

    rows = store.graph_rows()
    resolver = Resolver(index=_KnownIds(rows), max_workers=1)  # type: ignore[arg-type]
    picked: list[str | None] = []
    graph_rows: list[tuple[str, Signature, list[Any]]] = []
    for _key, mid, lic, bases, tiers, *_ in rows:
        declared = [b[0] for b in json.loads(bases)]
        chosen = inferred_bases(resolver, mid, json.loads(tiers)) if not declared and tiers not in (None, "[]") else []
        picked.append(dumps([candidate_json(c) for c in chosen]) if chosen else None)
        graph_rows.append((mid, _signature(lic), declared or [(c.id, weak(c.confidence)) for c in chosen]))
    graph_rows += registry_rows(graph_rows)
    closure = close(build_graph(graph_rows))
    changed = []
    for i, (key, _mid, _lic, _bases, _tiers, *before) in enumerate(rows):
        now = (picked[i], json.dumps(list(closure.effective[closure.eff[i]])),
               json.dumps([list(c) for c in closure.conflicts.get(i, ())]),
               closure.depth[i], closure.chain_unknown[i], closure.cycle[i], closure.chain_conflict[i])
        if tuple(before) != now:
            changed.append((*now, key))
    store.set_closure(changed)
    return len(changed)


def render_build(result: BuildResult, fmt: str = "text") -> str:
    """What a build did, as text or JSON; rows that failed are listed (up to MAX_LISTED_ERRORS)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    lines = [f"{result.path}: {result.models} models (built {result.built}); read {result.rows} rows: "
             f"{result.parsed} indexed, {result.unchanged} unchanged since the last build, {result.failed} failed; "
             f"{result.closure_updated} closures updated in {result.seconds.get('total', 0)} s"]
    lines += [f"  {src} row {row}{f' ({mid})' if mid else ''}: {msg}" for src, row, mid, msg in result.errors]
    if result.failed > len(result.errors):
        lines.append(f"  ... and {result.failed - len(result.errors)} more (all are in the index's errors table)")
    return "\n".join(lines) + "\n"
