"""The community lineage index (audit/index): build on Dask's synchronous scheduler from dumps made of real
cards (the shared corpus-trees: /work/shared, or ../shared beside the checkout in CI), incremental rebuilds,
the closure, `check --index` offline, `index stats`, and the CLI without Dask."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from audit import api
from audit.cli import main
from audit.errors import UsageError
from audit.index.closure import build_graph, close
from audit.index.store import SCHEMA, IndexStore
from audit.report import render
from audit.report.schemas import load_schema

ROOT = Path(__file__).resolve().parent.parent
TREES = next((p for p in (ROOT.parent / "shared" / "corpus-trees", Path("/work/shared/corpus-trees"))
              if (p / "labels.jsonl").is_file()), None)
needs_trees = pytest.mark.skipif(TREES is None, reason="the shared corpus-trees (real cards) is not beside the "
                                                      "checkout (../shared) nor in /work/shared")
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}


def labels() -> list[dict]:
    assert TREES is not None
    return [json.loads(line) for line in (TREES / "labels.jsonl").read_text().splitlines()]


def card_of(label: dict) -> str | None:
    assert TREES is not None
    path = TREES / "cards" / label["dir"] / "README.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def dump_rows(rows: list[dict], modified: str = "2025-04-01T00:00:00.000Z") -> list[dict]:
    """The model_cards_with_metadata layout (modelId, author, createdAt, lastModified, tags, card)."""
    return [{"modelId": r["model_id"], "author": r["model_id"].split("/")[0],
             "createdAt": f"{r['created_at'] or '2024-01-01'}T00:00:00.000Z", "lastModified": modified,
             "tags": ["transformers"], "card": card_of(r), "downloads": 1} for r in rows]


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An index of every corpus-trees card, built in-process (synchronous scheduler)."""
    pytest.importorskip("dask.dataframe")
    if TREES is None:
        pytest.skip("the shared corpus-trees is not on this machine")
    from audit.index.build import build_index

    tmp = tmp_path_factory.mktemp("index")
    dump = write_jsonl(tmp / "cards.jsonl", dump_rows(labels()))
    out = str(tmp / "trees.sqlite")
    result = build_index([dump], out, name="trees")
    return out, result, dump


# --- build ----------------------------------------------------------------------------------------------------

@needs_trees
def test_build_indexes_every_real_card_and_versions_the_file(built):
    path, result, dump = built
    assert (result.rows, result.parsed, result.failed, result.unchanged) == (len(labels()), len(labels()), 0, 0)
    with IndexStore(path) as store:
        meta = store.read_meta()
        assert meta.schema == SCHEMA and meta.name == "trees" and meta.built == result.built
        assert meta.locator == f"index:trees@{result.built}"
        assert meta.sources[0]["source"] == dump and meta.sources[0]["hash"].startswith("sha256:")
        row = store.get("AlekseyKorshuk/evol-codealpaca-pairwise-sharegpt-test-dpo")
    assert row is not None
    assert row["license"]["keys"] == ["mit"]
    assert row["bases"][0][:2] == ["AlekseyKorshuk/evol-codealpaca-pairwise-sharegpt-test", "base_model"]
    assert row["depth"] == 2 and row["created"] == "2024-01-22"


@needs_trees
def test_every_labelled_conflict_is_found_along_the_chain(built):
    path, _, _ = built
    with IndexStore(path) as store:
        for label in labels():
            row = store.get(label["model_id"])
            assert row is not None, label["model_id"]
            if label["expected_conflict"] is True:
                assert row["conflicts"], label["model_id"]
                assert row["chain_conflict"] == 1
            if label["declared_key"] is None and label["depth"] == 1 and card_of(label) and not row["license"]["keys"]:
                # declares nothing: governed by what its root passes down
                assert label["effective_required"] in row["effective"], label["model_id"]


@needs_trees
def test_a_rebuild_parses_only_rows_whose_last_modified_changed(built, tmp_path):
    from audit.index.build import build_index

    path, first, _ = built
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(Path(path).read_bytes())
    rows = dump_rows(labels())
    changed = rows[:3]
    for r in changed:
        r["lastModified"] = "2025-05-01T00:00:00.000Z"
    changed[0]["card"] = "---\nlicense: cc-by-nc-4.0\nbase_model: microsoft/phi-2\n---\n# relicensed\n"
    result = build_index([write_jsonl(tmp_path / "newer.jsonl", rows)], str(copy), name="trees")
    assert (result.parsed, result.unchanged, result.failed) == (3, len(rows) - 3, 0)
    with IndexStore(str(copy)) as store:
        row = store.get(changed[0]["modelId"])
        assert row is not None and row["license"]["keys"] == ["cc-by-nc-4.0"] and row["modified"].startswith("2025-05")
        assert [s["source"] for s in store.read_meta().sources][-1].endswith("newer.jsonl")
        assert len(store.read_meta().sources) == 2


def test_rows_that_fail_are_counted_and_listed_never_fatal(tmp_path):
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index, render_build

    rows = [{"modelId": "org/good", "card": "---\nlicense: mit\n---\n", "lastModified": "2025-01-01"},
            {"modelId": None, "card": "---\nlicense: mit\n---\n"},
            {"modelId": "no-slash", "card": "x"},
            {"modelId": "org/derived", "card": "---\nbase_model: org/good\nlicense: apache-2.0\n---\n"}]
    result = build_index([write_jsonl(tmp_path / "d.jsonl", rows)], str(tmp_path / "i.sqlite"))
    assert (result.parsed, result.failed, result.models) == (2, 2, 2)
    assert [(row, msg.split(" (")[0]) for _, row, _, msg in result.errors] == [(2, "no model id"), (3, "no model id")]
    text = render_build(result)
    assert "d.jsonl row 2: no model id" in text and "2 failed" in text


def test_both_dump_layouts_and_formats_map_to_the_same_rows(tmp_path):
    pytest.importorskip("dask.dataframe")
    import pandas as pd

    from audit.index.build import build_index

    card = "---\nlicense: llama2\nbase_model: meta-llama/Llama-2-7b-hf\n---\n# A fine-tune\n"
    tree = pd.DataFrame([{"model_id": "org/a", "card": card, "depth": 1,
                          "metadata": json.dumps({"createdAt": "2024-02-03T00:00:00Z", "tags": ["llama"]})}])
    tree.to_parquet(tmp_path / "tree.parquet")
    flat = pd.DataFrame([{"modelId": "org/b", "author": "org", "createdAt": "2024-02-04", "lastModified": "2024-02-05",
                          "tags": "[]", "card": card}])
    flat.to_csv(tmp_path / "flat.csv", index=False)
    result = build_index([str(tmp_path / "tree.parquet"), str(tmp_path / "flat.csv")], str(tmp_path / "i.sqlite"))
    assert (result.parsed, result.failed) == (2, 0)
    with IndexStore(str(tmp_path / "i.sqlite")) as store:
        a, b = store.get("org/a"), store.get("org/b")
    assert a is not None and b is not None
    assert a["created"] == "2024-02-03" and b["created"] == "2024-02-04"
    assert a["license"]["keys"] == b["license"]["keys"] == ["llama2"]
    assert a["bases"][0][0] == b["bases"][0][0] == "meta-llama/Llama-2-7b-hf"
    assert a["unknown"] == 0  # its base is not in the dump, but the registry knows it (closed with it, not stored)
    assert store_get(tmp_path / "i.sqlite", "meta-llama/Llama-2-7b-hf") is None


def store_get(path: Path, model_id: str) -> dict | None:
    with IndexStore(str(path)) as store:
        return store.get(model_id)


def test_a_chain_ending_outside_the_dump_takes_the_registrys_license_for_the_root(tmp_path):
    """Derivatives of an official root the dump lacks: the closure follows the registry (as check does), so an
    Apache-2.0 fine-tune of Llama 2 is a conflict and a card declaring nothing takes llama2; a base neither
    the dump nor the registry knows stays unknown."""
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    rows = [{"modelId": "org/relicensed", "card": "---\nlicense: apache-2.0\nbase_model: NousResearch/Llama-2-7b-hf\n---\n"},
            {"modelId": "org/silent", "card": "---\nbase_model: bert-base-uncased\n---\n"},
            {"modelId": "org/lost", "card": "---\nlicense: mit\nbase_model: nobody/nothing-known\n---\n"}]
    out = tmp_path / "i.sqlite"
    build_index([write_jsonl(tmp_path / "d.jsonl", rows)], str(out))
    relicensed, silent, lost = (store_get(out, m) for m in ("org/relicensed", "org/silent", "org/lost"))
    assert relicensed is not None and silent is not None and lost is not None
    assert "llama2" in relicensed["effective"] and relicensed["conflicts"]
    assert silent["effective"] == ["apache-2.0"] and not silent["conflicts"] and silent["unknown"] == 0
    assert lost["unknown"] == 1


def test_cli_index_build_reports_as_json_and_refuses_what_is_not_an_index(tmp_path):
    pytest.importorskip("dask.dataframe")
    dump = write_jsonl(tmp_path / "d.jsonl", [{"modelId": "org/a", "card": "---\nlicense: mit\n---\n"},
                                              {"modelId": "", "card": ""}])
    out = str(tmp_path / "i.sqlite")
    res = CliRunner().invoke(main, ["index", "build", dump, "-o", out, "-f", "json"], env=OFFLINE)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (report["parsed"], report["failed"], report["models"]) == (1, 1, 1)
    assert report["errors"][0]["row"] == 2
    res = CliRunner().invoke(main, ["index", "build", dump, "-o", out, "--workers", "2", "--scheduler", "tcp://x:1"],
                             env=OFFLINE)
    assert res.exit_code == 2
    (tmp_path / "notes.txt").write_text("not an index")
    res = CliRunner().invoke(main, ["index", "build", dump, "-o", str(tmp_path / "notes.txt")], env=OFFLINE)
    assert res.exit_code == 2 and "not an mlaudit index" in res.stderr


def test_a_source_without_a_model_id_column_is_refused(tmp_path):
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    dump = write_jsonl(tmp_path / "d.jsonl", [{"name": "x", "card": ""}])
    with pytest.raises(UsageError, match="no model id column"):
        build_index([dump], str(tmp_path / "i.sqlite"))


# --- the closure ----------------------------------------------------------------------------------------------

def test_closure_inherits_flags_conflicts_and_survives_cycles_and_unknown_bases():
    llama = (("llama2",), ("llama2",), True)
    mit = (("mit",), ("mit",), True)
    none = ((), (), False)
    g = build_graph([
        ("meta/root", llama, []),
        ("a/ft", none, ["meta/root"]),
        ("b/relicensed", mit, ["a/ft"]),
        ("c/child", none, ["b/relicensed", "x/missing"]),
        ("d/loop1", none, ["d/loop2"]),
        ("d/loop2", none, ["d/loop1"]),
    ])
    c = close(g)
    eff = {g.names[i]: c.effective[c.eff[i]] for i in range(len(g.names))}
    assert eff["a/ft"] == ("llama2",)
    assert set(eff["b/relicensed"]) >= {"llama2"}
    assert c.conflicts[2] == [("llama2", "meta/root")]
    assert c.chain_conflict[3] == 1 and c.conflicts.get(3) is None
    assert c.chain_unknown[3] == 1 and c.chain_unknown[2] == 0
    assert list(c.depth)[:4] == [0, 1, 2, 3]
    assert c.cycle[4] or c.cycle[5]


# --- check --index, offline ------------------------------------------------------------------------------------

@needs_trees
def test_check_with_the_index_resolves_every_in_tree_chain_offline(built, hf_home):
    path, result, _ = built
    chained = [lab for lab in labels() if lab["in_tree_chain"] and card_of(lab)]
    assert len(chained) >= 40
    assert TREES is not None
    report = api.audit([str(TREES / "cards" / lab["dir"]) for lab in chained], options=api.Options(
        offline=True, index=path))
    assert not report.errors
    for lab, model in zip(chained, report.models):
        by_id = {a.subject.lower(): a for a in model.lineage.ancestors}
        for anc in [*lab["in_tree_chain"], lab["root"]]:
            got = by_id.get(anc.lower())
            assert got is not None and got.resolved_from == "index", (lab["model_id"], anc)
            assert any(o.locator == f"index:trees@{result.built}" for o in got.evidence)
    data = json.loads(render(report, "json"))
    validator = jsonschema.Draft202012Validator(load_schema("report"))
    assert not list(validator.iter_errors(data))
    # what the chains declare comes from the index; beyond it only what an index row's inferred edge leads to
    # (a root's card naming its family, e.g. Llama-2-7b-chat-hf's 'llama-2' tag), with that row's card line
    for m in data["models"]:
        through_inferred: set[str] = set()
        for a in sorted(m["lineage"], key=lambda a: a["depth"]):
            if a["inferred"] or a["parent"].lower() in through_inferred:
                through_inferred.add(a["subject"].lower())
            elif a["via"] == "registry-relation":  # a publisher's model the registry records the base of
                assert a["resolved_from"] == "registry", (m["subject"], a["subject"])
            else:
                assert a["resolved_from"] == "index", (m["subject"], a["subject"])
            if a["inferred"] and a["parent"].lower() not in through_inferred:
                assert a["evidence"][0]["locator"] == f"index:trees@{result.built}"
                assert a["evidence"][0]["file"] == a["parent"] and a["via"] and a["note"]


@needs_trees
def test_cli_check_takes_index_from_the_option_and_the_config(built, tmp_path, hf_home):
    path, _, _ = built
    assert TREES is not None
    model = str(TREES / "cards" / "AlekseyKorshuk--evol-codealpaca-pairwise-sharegpt-test-dpo")
    res = CliRunner().invoke(main, ["check", model, "--offline", "--no-config", "--index", path, "-f", "json"],
                             env=OFFLINE)
    # phi-2 changed from the Microsoft Research License to MIT by 2024-01-06; the Transformers version this card
    # names was published later, so the change is decided (MIT) rather than a lineage-license-history warning
    assert res.exit_code == 0, res.output
    assert "lineage-license-history" not in {f["rule"] for f in json.loads(res.stdout)["findings"]}
    assert json.loads(res.stdout)["models"][0]["effective"]["keys"] == ["mit"]
    lineage = json.loads(res.stdout)["models"][0]["lineage"]
    assert [a["resolved_from"] for a in lineage] == ["index", "index"]
    (tmp_path / ".mlaudit.yaml").write_text(f"index: {path}\noffline: true\n")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        res = CliRunner().invoke(main, ["check", model, "-f", "json"], env=OFFLINE)
    finally:
        os.chdir(cwd)
    assert [a["resolved_from"] for a in json.loads(res.stdout)["models"][0]["lineage"]] == ["index", "index"]


def test_a_file_that_is_not_an_index_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    res = CliRunner().invoke(main, ["check", str(tmp_path), "--offline", "--no-config", "--index", str(bad)],
                             env=OFFLINE)
    assert res.exit_code == 2 and "not an mlaudit index" in res.stderr
    res = CliRunner().invoke(main, ["index", "stats", str(tmp_path / "missing.sqlite")], env=OFFLINE)
    assert res.exit_code == 3 and "no such index file" in res.stderr


# --- stats ----------------------------------------------------------------------------------------------------

@needs_trees
def test_stats_as_text_and_json(built):
    path, _, _ = built
    res = CliRunner().invoke(main, ["index", "stats", path, "-f", "json"], env=OFFLINE)
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    assert stats["schema"] == "mlaudit.index-stats/1" and stats["models"] == len(labels())
    conflicts = sum(1 for lab in labels() if lab["expected_conflict"] is True)
    assert stats["derivatives"] * stats["derivatives_with_conflict_in_chain_share"] >= conflicts
    pairs = {(p["declared"], p["inherited"]) for p in stats["top_conflict_pairs"]}
    assert ("apache-2.0", "llama2") in pairs
    assert {"finetune", "quantized", "merge"} <= set(stats["by_relation"])
    text = CliRunner().invoke(main, ["index", "stats", path], env=OFFLINE).stdout
    assert "with a license conflict along their chain" in text and "apache-2.0 over llama2" in text


# --- the CLI without the scale extra ----------------------------------------------------------------------------

def test_index_build_without_dask_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    dump = write_jsonl(tmp_path / "d.jsonl", [{"modelId": "a/b", "card": ""}])
    res = CliRunner().invoke(main, ["index", "build", dump, "-o", str(tmp_path / "i.sqlite")], env=OFFLINE)
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == ["mlaudit: index build: needs Dask and pyarrow: "
                                               "pip install 'mlaudit[scale]'"]


def test_cli_start_up_does_not_import_dask_or_pandas():
    code = "import sys, audit.cli, audit.index.lookup; print(sorted(m for m in ('dask', 'pandas', 'pyarrow') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
