"""Inferred bases in the lineage index (mlaudit.index/2): a card that declares no base gets the bases `check`
infers from it, by the same functions (find_bases' tiers, the resolver's pick_tier), with their evidence and
confidence; the closure follows them as `check` does (a weak one never governs a declared license); `check
--index` reports an ancestor reached through such an edge as inferred, with the index row's card line."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_index import OFFLINE, TREES, card_of, dump_rows, labels, needs_trees, write_jsonl

from audit import api
from audit.cli import main
from audit.index.closure import build_graph, close
from audit.index.store import SCHEMA, IndexStore

SD21 = "stabilityai/stable-diffusion-2-1"
SD2 = "stabilityai/stable-diffusion-2"
SD2_ROW = {"modelId": SD2, "author": "stabilityai", "createdAt": "2022-11-23T00:00:00.000Z",
           "lastModified": "2023-07-05T00:00:00.000Z", "tags": ["diffusers"],
           "card": "---\nlicense: openrail++\ntags:\n- stable-diffusion\n---\n# Stable Diffusion v2 Model Card\n"}


def _prose_line() -> int:
    assert TREES is not None
    text = (TREES / "cards" / "stabilityai--stable-diffusion-2-1" / "README.md").read_text(encoding="utf-8")
    return next(i for i, line in enumerate(text.splitlines(), 1) if "is fine-tuned from [stable-diffusion-2]" in line)


@pytest.fixture(scope="module")
def sd_index(tmp_path_factory):
    """The Stable Diffusion 2.1 tree of real cards (its root's card names its base only in prose) and a row for
    that base, stable-diffusion-2."""
    pytest.importorskip("dask.dataframe")
    if TREES is None:
        pytest.skip("the shared corpus-trees is not on this machine")
    from audit.index.build import build_index

    tmp = tmp_path_factory.mktemp("sd")
    tree = [r for r in labels() if r["root"] == SD21 or r["model_id"] == SD21]
    dump = write_jsonl(tmp / "cards.jsonl", [*dump_rows(tree), SD2_ROW])
    out = str(tmp / "sd.sqlite")
    result = build_index([dump], out, name="sd")
    assert result.failed == 0
    return out, result


@needs_trees
def test_a_real_card_whose_base_is_only_in_prose_gets_its_inferred_edge(sd_index, hf_home):
    path, _ = sd_index
    with IndexStore(path) as store:
        row = store.get(SD21)
    assert row is not None and row["bases"] == []  # the card declares no base_model
    link = row["inferred"][0]
    assert link[:3] == [SD2, "body-link", 0.7]
    assert "fine-tuned from [stable-diffusion-2]" in link[3] and link[4] == [["README.md", _prose_line(), None]]
    # what `check` infers from the same card, offline, with no index: the same bases, evidence and confidence
    assert TREES is not None
    report = api.audit([str(TREES / "cards" / "stabilityai--stable-diffusion-2-1")], options=api.Options(offline=True))
    direct = [a for a in report.models[0].lineage.ancestors if a.depth == 1]
    assert [(a.subject, a.via, a.confidence, a.inferred) for a in direct] == \
        [(c[0], c[1], c[2], True) for c in row["inferred"]]
    assert [a.evidence[0].line for a in direct] == [c[4][0][1] for c in row["inferred"]]
    # the closure follows the edge: the root of the tree is now a depth-1 model under stable-diffusion-2
    assert row["depth"] == 1 and row["effective"] == ["openrail++"] and not row["conflicts"]
    with IndexStore(path) as store:
        child = store.get("0xOracle/Image-GAN")
    assert child is not None and child["depth"] == 2 and child["effective"] == ["openrail++"]


@needs_trees
def test_check_index_reports_an_ancestor_from_an_inferred_index_edge(sd_index, hf_home):
    path, result = sd_index
    assert TREES is not None
    model = str(TREES / "cards" / "0xOracle--Image-GAN")  # base_model: stabilityai/stable-diffusion-2-1
    res = CliRunner().invoke(main, ["check", model, "--offline", "--no-config", "--index", path, "-f", "json"],
                             env=OFFLINE)
    assert res.exit_code in (0, 1), res.output
    lineage = {a["subject"]: a for a in json.loads(res.stdout)["models"][0]["lineage"]}
    assert lineage[SD21]["resolved_from"] == "index" and not lineage[SD21]["inferred"]
    sd2 = lineage[SD2]
    assert (sd2["resolved_from"], sd2["inferred"], sd2["confidence"], sd2["via"], sd2["parent"], sd2["depth"]) == \
        ("index", True, 0.7, "body-link", SD21, 2)
    assert sd2["keys"] == ["openrail++"] and "fine-tuned from" in sd2["note"]
    where = sd2["evidence"][0]
    assert (where["source"], where["locator"], where["file"], where["line"]) == \
        ("index", f"index:sd@{result.built}", SD21, _prose_line())


def test_a_strong_inferred_edge_conflicts_like_check_and_prose_ids_count_only_when_known(tmp_path, hf_home):
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    rows = [{"modelId": "org/root", "card": "---\nlicense: llama2\n---\n# Root\n"},
            {"modelId": "org/relicensed", "card": "---\nlicense: mit\n---\n# Relicensed\n\nThis model is fine-tuned "
                                                  "from [root](https://huggingface.co/org/root) on our data.\n"},
            {"modelId": "org/quant", "card": "---\n---\n# Quant\n\nOriginal model: org/root\n"},
            {"modelId": "org/orphan", "card": "---\n---\n# Orphan\n\nOriginal model: org/not-in-any-source\n"}]
    dump = write_jsonl(tmp_path / "d.jsonl", rows)
    out = str(tmp_path / "i.sqlite")
    build_index([dump], out, name="t")
    with IndexStore(out) as store:
        relicensed, quant, orphan = store.get("org/relicensed"), store.get("org/quant"), store.get("org/orphan")
    assert relicensed is not None and quant is not None and orphan is not None
    assert relicensed["inferred"][0][:3] == ["org/root", "body-link", 0.7]
    assert relicensed["conflicts"] == [["llama2", "org/root"]] and relicensed["chain_conflict"] == 1
    assert quant["inferred"][0][:3] == ["org/root", "body-name", 0.6] and quant["effective"] == ["llama2"]
    assert orphan["inferred"] is None and orphan["tiers"]  # named in prose, known nowhere: not followed
    # `check` on the same card, with this index, finds the same conflict (a warning: the lineage is inferred) and
    # the same effective license
    card = tmp_path / "org--relicensed"
    card.mkdir()
    (card / "README.md").write_text(rows[1]["card"])
    res = CliRunner().invoke(main, ["check", str(card), "--offline", "--no-config", "--index", out, "-f", "json"],
                             env=OFFLINE)
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and "lineage-conflict" in {f["rule"] for f in data["findings"]}
    assert data["models"][0]["effective"]["keys"] == relicensed["effective"] == ["llama2"]
    assert [(a["subject"], a["resolved_from"], a["inferred"]) for a in data["models"][0]["lineage"]] == \
        [("org/root", "index", True)]


def test_a_weak_inferred_edge_never_governs_a_declared_license():
    llama = (("llama2",), ("llama2",), True)
    mit = (("mit",), ("mit",), True)
    apache = (("apache-2.0",), ("apache-2.0",), True)
    none = ((), (), False)
    g = build_graph([
        ("meta/root", llama, []),
        ("a/declares-weak", mit, [("meta/root", True)]),  # weak: set aside, as check does
        ("b/declares-strong", mit, [("meta/root", False)]),  # strong inferred: a conflict, as check finds
        ("c/nothing-weak", none, [("meta/root", True)]),  # declares nothing: takes what it may descend from
        ("d/nothing-under-a", none, ["a/declares-weak"]),  # nothing declared down the chain: the weak edge counts
        ("e/declares-under-a", apache, ["a/declares-weak"]),  # declares: the weak edge above does not reach it
        ("f/declares-weak-outside", mit, [("family:x", True)]),
        ("g/nothing-weak-outside", none, [("family:x", True)]),
    ])
    c = close(g)
    at = {g.names[i]: i for i in range(len(g.names))}

    def eff(name: str) -> set[str]:
        return set(c.effective[c.eff[at[name]]])

    assert eff("a/declares-weak") == {"mit"} and at["a/declares-weak"] not in c.conflicts
    assert c.depth[at["a/declares-weak"]] == 0 and not c.chain_conflict[at["a/declares-weak"]]
    assert "llama2" in eff("b/declares-strong") and c.conflicts[at["b/declares-strong"]] == [("llama2", "meta/root")]
    assert eff("c/nothing-weak") == {"llama2"}
    assert "llama2" in eff("d/nothing-under-a")
    assert eff("e/declares-under-a") == {"apache-2.0"} and at["e/declares-under-a"] not in c.conflicts
    assert not c.chain_unknown[at["f/declares-weak-outside"]] and c.chain_unknown[at["g/nothing-weak-outside"]]


def test_an_index_of_the_previous_schema_asks_to_be_rebuilt(tmp_path):
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    dump = write_jsonl(tmp_path / "d.jsonl", [{"modelId": "org/a", "card": "---\nlicense: mit\n---\n"}])
    out = tmp_path / "old.sqlite"
    build_index([dump], str(out))
    with sqlite3.connect(out) as conn:
        conn.execute("UPDATE meta SET value = 'mlaudit.index/1' WHERE key = 'schema'")
    for args in (["check", str(tmp_path), "--offline", "--no-config", "--index", str(out)],
                 ["index", "stats", str(out)], ["index", "build", dump, "-o", str(out)]):
        res = CliRunner().invoke(main, args, env=OFFLINE)
        assert res.exit_code == 2, (args, res.output)
        (line,) = res.stderr.strip().splitlines()
        assert f"index schema 'mlaudit.index/1', this mlaudit reads '{SCHEMA}'" in line and "rebuild" in line


@needs_trees
def test_every_real_card_declaring_no_base_is_indexed_with_what_check_infers(tmp_path, hf_home):
    """Over the corpus: the rows whose cards declare no base carry exactly the inferred bases `check` follows."""
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    subjects = [lab for lab in labels() if card_of(lab) and not lab["base_model"]]
    assert len(subjects) >= 5
    out = str(tmp_path / "i.sqlite")
    build_index([write_jsonl(tmp_path / "d.jsonl", dump_rows(labels()))], out)
    assert TREES is not None
    report = api.audit([str(TREES / "cards" / lab["dir"]) for lab in subjects], options=api.Options(offline=True,
                                                                                                   index=out))
    with IndexStore(out) as store:
        for lab, model in zip(subjects, report.models):
            row = store.get(lab["model_id"])
            assert row is not None
            direct = [(a.subject, a.via, a.confidence) for a in model.lineage.ancestors if a.depth == 1]
            # a publisher's model whose base the registry records carries that base, as `check` does
            recorded = [(b[0], b[1], 1.0) for b in row["bases"] or () if b[1] == "registry-relation"]
            assert direct == (recorded or [tuple(c[:3]) for c in row["inferred"] or ()]), lab["model_id"]
    assert Path(out).stat().st_size > 0
