"""Index benchmark: the Hub-scale lineage index (audit/index) on synthetic card dumps.

    python benchmarks/index_bench.py rows --rows 5000            # per-row stage, one core, no Dask
    python benchmarks/index_bench.py scaling --rows 30000        # the stage on a 1- vs 2-process local cluster
    python benchmarks/index_bench.py e2e --rows 100000 --workers 2   # `index build` end to end (+ a rebuild)
    python benchmarks/index_bench.py closure --nodes 2000000     # graph closure on the driver: time, peak RSS

Synthetic dumps have the columns of the `model_cards_with_metadata` dump (modelId, author, createdAt,
lastModified, tags, downloads, likes, library_name, pipeline_tag, card) and its size distribution: each card is
a generated front matter (license drawn from a Hub-like mix, base_model for 70% of models, 2% without card,
0.5% with broken YAML) followed by the body of a real card from the shared corpus-trees (1,060 published
cards), picked at random, so the body scans cost what they cost on real cards. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

TREES = next((p for p in (os.path.join(ROOT, "..", "shared", "corpus-trees"), "/work/shared/corpus-trees")
              if os.path.isdir(os.path.join(p, "cards"))), None)
LICENSES = [(None, 35), ("apache-2.0", 20), ("mit", 14), ("llama2", 4), ("llama3.1", 4), ("llama3", 3),
            ("creativeml-openrail-m", 4), ("openrail", 2), ("cc-by-nc-4.0", 3), ("gemma", 2), ("other", 4),
            ("cc-by-4.0", 2), ("openrail++", 1), ("gpl-3.0", 1), ("bigscience-bloom-rail-1.0", 1)]
RELATIONS = [(None, 70), ("quantized", 12), ("adapter", 10), ("merge", 4), ("finetune", 4)]


def _pick(rng: random.Random, table):
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def real_bodies() -> list[str]:
    """The bodies of the real corpus-trees cards (their front matter removed)."""
    from audit.card import split_front_matter

    if TREES is None:
        rng = random.Random(0)
        return ["# Model\n" + " ".join("lorem" for _ in range(int(rng.lognormvariate(6, 1.2)))) for _ in range(500)]
    out = []
    for d in sorted(os.listdir(os.path.join(TREES, "cards"))):
        with open(os.path.join(TREES, "cards", d, "README.md"), encoding="utf-8") as fh:
            out.append(split_front_matter(fh.read())[1])
    return out


def synthetic_rows(n: int, seed: int = 1):
    """Dump records, parents always earlier ids (2% roots; a base is a root 60% of the time)."""
    rng = random.Random(seed)
    bodies = real_bodies()
    roots = max(1, n // 50)
    for i in range(n):
        mid = f"org{i % 40000}/model-{i}"
        fm = []
        lic = _pick(rng, LICENSES)
        if lic:
            fm.append(f"license: {lic}")
        base = None
        if i >= roots and rng.random() < 0.7:
            j = rng.randrange(roots) if rng.random() < 0.6 else rng.randrange(i)
            base = f"org{j % 40000}/model-{j}"
            fm.append(f"base_model: {base}")
            rel = _pick(rng, RELATIONS)
            if rel:
                fm.append(f"base_model_relation: {rel}")
        fm.append("tags:\n- transformers\n- text-generation")
        r = rng.random()
        if r < 0.02:
            card = None
        elif r < 0.025:
            card = "---\nlicense: [mit\n---\n" + rng.choice(bodies)
        else:
            card = "---\n" + "\n".join(fm) + "\n---\n" + rng.choice(bodies)
        day = 1 + i % 28
        yield {"modelId": mid, "author": mid.split("/")[0], "createdAt": f"2024-03-{day:02d}T10:00:00.000Z",
               "lastModified": f"2024-04-{day:02d}T10:00:00.000Z", "downloads": rng.randrange(10000),
               "likes": rng.randrange(100), "library_name": "transformers", "pipeline_tag": "text-generation",
               "tags": ["transformers", *([f"base_model:{base}"] if base else [])], "card": card}


def write_dump(path: str, n: int, seed: int = 1) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in synthetic_rows(n, seed):
            fh.write(json.dumps(rec) + "\n")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- stages -------------------------------------------------------------------------------------------------

def bench_rows(n: int) -> None:
    import pandas as pd

    from audit.index.rows import process_frame

    frame = pd.DataFrame(list(synthetic_rows(n)))
    frame = frame.rename(columns={"modelId": "model_id", "createdAt": "created", "lastModified": "modified"})
    frame["metadata"] = None
    frame["source"] = "synthetic"
    frame["row"] = range(1, n + 1)
    process_frame(frame.head(50))  # load the catalog and registry once, as a worker does on its first partition
    t = time.perf_counter()
    out = process_frame(frame)
    dt = time.perf_counter() - t
    print(f"per-row stage, one core: {n} rows in {dt:.2f} s = {n / dt:,.0f} rows/s "
          f"({int(out['error'].notna().sum())} failed, mean card {frame['card'].fillna('').str.len().mean():,.0f} chars)")


def bench_scaling(n: int, blocksize: str) -> None:
    from distributed import Client, LocalCluster, get_task_stream

    from audit.index.rows import empty_frame
    from audit.index.source import read_sources

    with tempfile.TemporaryDirectory() as tmp:
        dump = write_dump(os.path.join(tmp, "cards.jsonl"), n)
        times = {}
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                    Client(cl) as client:
                client.run(_warm)
                frame, _ = read_sources([dump], blocksize=blocksize)
                meta = empty_frame().assign(cpu=0.0, wall=0.0)
                out = frame.map_partitions(_timed_stage, meta=meta)
                load = os.getloadavg()[0]
                t = time.perf_counter()
                with get_task_stream() as ts:
                    result = out.compute()
                times[workers] = time.perf_counter() - t
                busy = sum(s["stop"] - s["start"] for task in ts.data for s in task["startstops"]
                           if s["action"] == "compute")
                parts = result.groupby("source")[["cpu", "wall"]].first().sum()
                print(f"{workers} worker process(es): {len(result)} rows, {frame.npartitions} partitions in "
                      f"{times[workers]:.1f} s = {len(result) / times[workers]:,.0f} rows/s; tasks computing "
                      f"{busy / times[workers]:.2f} of the time on average; the stage got {parts['cpu']:.1f} CPU s "
                      f"in {parts['wall']:.1f} s of task time ({parts['cpu'] / parts['wall']:.0%} of a core while "
                      f"running; 1-min load before: {load:.1f})")
        print(f"speed-up 2 vs 1 workers: {times[1] / times[2]:.2f}x")


def _timed_stage(frame):
    """process_frame, with the partition's CPU time and wall time (contention shows as CPU < wall)."""
    from audit.index.rows import process_frame

    c, w = time.process_time(), time.perf_counter()
    out = process_frame(frame)
    return out.assign(cpu=time.process_time() - c, wall=time.perf_counter() - w)


def _warm() -> None:
    from audit.index.rows import index_row

    index_row("a/b", "---\nlicense: mit\nbase_model: c/d\n---\n# x\n", [], None)


def bench_e2e(n: int, workers: int) -> None:
    from audit.index.build import build_index

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        dump = write_dump(os.path.join(tmp, "cards.jsonl"), n)
        print(f"generated {n} rows ({os.path.getsize(dump) / 1e6:,.0f} MB JSON lines) in {time.perf_counter() - t:.0f} s")
        out = os.path.join(tmp, "hub.sqlite")
        r = build_index([dump], out, workers=workers)
        print(f"build ({workers} workers): {r.rows} rows, {r.parsed} indexed, {r.failed} failed, {r.models} models; "
              f"seconds {r.seconds}; index {os.path.getsize(out) / 1e6:,.0f} MB")
        r = build_index([dump], out, workers=workers)
        print(f"rebuild, nothing changed: {r.parsed} parsed, {r.unchanged} unchanged; seconds {r.seconds}")
        print(f"driver peak RSS {peak_rss_mb():,.0f} MB")


def bench_closure(nodes: int) -> None:
    from audit.index.closure import build_graph, close

    rng = random.Random(2)
    sigs = [((), (), False)] * 35 + [((k,), (k,), True) for k, _ in LICENSES if k and k != "other"] * 4
    sigs += [((), (), True)] * 4  # declares a license nobody can identify
    roots = nodes // 50

    def rows():
        for i in range(nodes):
            bases = []
            if i >= roots and rng.random() < 0.7:
                j = rng.randrange(roots) if rng.random() < 0.6 else rng.randrange(i)
                bases.append(f"org{j % 40000}/model-{j}")
                if rng.random() < 0.04:
                    bases.append(f"org{i % 40000}/missing-{i}")
            yield f"org{i % 40000}/model-{i}", rng.choice(sigs), bases

    base_rss = peak_rss_mb()
    data = list(rows())  # the input, as the driver holds it after reading the index's rows
    input_rss = peak_rss_mb()
    t = time.perf_counter()
    g = build_graph(data)
    t1 = time.perf_counter()
    c = close(g)
    t2 = time.perf_counter()
    print(f"closure of {nodes:,} nodes: build the graph {t1 - t:.1f} s + close {t2 - t1:.1f} s = {t2 - t:.1f} s; "
          f"{len(c.conflicts):,} conflicting, {sum(c.chain_conflict):,} with a conflict in the chain, "
          f"{sum(c.chain_unknown):,} with an ancestor outside the graph, max depth {max(c.depth)}; peak RSS "
          f"{peak_rss_mb():,.0f} MB (interpreter {base_rss:,.0f} MB, + the input rows {input_rss:,.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["rows", "scaling", "e2e", "closure", "gen"])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--nodes", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--blocksize", default="4MB")
    ap.add_argument("--out", help="gen: where to write the synthetic dump (JSON lines)")
    a = ap.parse_args()
    if a.stage == "rows":
        bench_rows(a.rows)
    elif a.stage == "scaling":
        bench_scaling(a.rows, a.blocksize)
    elif a.stage == "e2e":
        bench_e2e(a.rows, a.workers)
    elif a.stage == "closure":
        bench_closure(a.nodes)
    else:
        print(write_dump(a.out or "cards.jsonl", a.rows))


if __name__ == "__main__":
    main()
