"""The index build on a real 2-process Dask cluster (distributed.LocalCluster) gives the rows the in-process
build gives. Real cards from the shared corpus-trees; skipped without it or without the scale extra."""
from __future__ import annotations

import json

import pytest
from test_index import TREES, dump_rows, labels, write_jsonl

from audit.index.store import IndexStore

pytestmark = pytest.mark.skipif(TREES is None, reason="the shared corpus-trees (real cards) is not beside the "
                                                     "checkout (../shared) nor in /work/shared")


def _rows(path: str) -> dict[str, tuple]:
    with IndexStore(path) as store:
        return {k: (lic, bases, tiers, inferred, eff, conf)
                for k, _id, lic, bases, tiers, inferred, eff, conf, *_ in store.graph_rows()}


def test_two_worker_processes_build_what_the_synchronous_scheduler_builds(tmp_path):
    pytest.importorskip("distributed")
    from audit.index.build import build_index

    llama = [r for r in labels() if r["root"] == "meta-llama/Llama-2-7b-chat-hf"]
    subset = [r for r in llama if r["depth"] == 0] + [r for r in llama if r["depth"]][:150]
    dump = write_jsonl(tmp_path / "cards.jsonl", dump_rows(subset))
    sync = build_index([dump], str(tmp_path / "sync.sqlite"))
    cluster = build_index([dump], str(tmp_path / "cluster.sqlite"), workers=2)
    assert (cluster.parsed, cluster.failed) == (sync.parsed, sync.failed) == (len(subset), 0)
    assert _rows(str(tmp_path / "cluster.sqlite")) == _rows(str(tmp_path / "sync.sqlite"))
    assert any(json.loads(conf) for *_, conf in _rows(str(tmp_path / "cluster.sqlite")).values())
