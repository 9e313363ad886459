"""`index build` from hf:// URLs: card dumps served as a dataset repo by the fake Hub on 127.0.0.1 (tests/hubserver.py),
read through huggingface_hub's real HfFileSystem (the fsspec filesystem behind hf://). Real cards from the shared
corpus-trees; no network."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from click.testing import CliRunner
from test_index import TREES, dump_rows, labels, write_jsonl

from audit.cli import main
from audit.index.store import IndexStore

pytestmark = pytest.mark.skipif(TREES is None, reason="the shared corpus-trees (real cards) is not beside the "
                                                     "checkout (../shared) nor in /work/shared")
SECRET = "hf_IndexDumpSeCrEt0123456789"


def _rows(path: str) -> dict[str, tuple]:
    with IndexStore(path) as store:
        return {k: tuple(rest) for k, _id, *rest in store.graph_rows()}


def _subset() -> list[dict]:
    """Every card of two trees: the Llama 2 chat tree and the Stable Diffusion 2.1 tree (roots and chains)."""
    keep = {"meta-llama/Llama-2-7b-chat-hf", "stabilityai/stable-diffusion-2-1"}
    return dump_rows([r for r in labels() if r["root"] in keep or r["model_id"] in keep][:400])


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _parquet(rows: list[dict]) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buf)
    return buf.getvalue()


@pytest.fixture
def dump(fake_hub, tmp_path):
    """The same real cards as a local JSON lines file and as the dataset org/dump (JSON lines, LFS, and two
    parquet halves); returns (local path, rows)."""
    pytest.importorskip("dask.dataframe")
    rows = _subset()
    half = len(rows) // 2
    fake_hub.add_dataset("org/dump", {"README.md": "---\nlicense: cc-by-4.0\n---\n# Card dump\n",
                                      "cards.jsonl": _jsonl(rows),
                                      "parquet/part-0.parquet": _parquet(rows[:half]),
                                      "parquet/part-1.parquet": _parquet(rows[half:])},
                         lfs={"cards.jsonl", "parquet/part-0.parquet", "parquet/part-1.parquet"})
    return write_jsonl(tmp_path / "cards.jsonl", rows), rows


def test_an_hf_dataset_file_builds_the_index_the_local_file_builds(fake_hub, dump, tmp_path):
    from audit.index.build import build_index

    local, rows = dump
    want = build_index([local], str(tmp_path / "local.sqlite"))
    got = build_index(["hf://datasets/org/dump/cards.jsonl"], str(tmp_path / "hub.sqlite"), endpoint=fake_hub.url,
                      token=False)
    assert (got.rows, got.parsed, got.failed) == (want.rows, want.parsed, want.failed) == (len(rows), len(rows), 0)
    assert _rows(str(tmp_path / "hub.sqlite")) == _rows(str(tmp_path / "local.sqlite"))
    # pinned to the commit main pointed to, and fingerprinted by the LFS sha256: the local file's own hash
    sha = fake_hub.repos[("datasets", "org/dump")].sha
    with IndexStore(str(tmp_path / "hub.sqlite")) as store:
        (src,) = store.read_meta().sources
    with IndexStore(str(tmp_path / "local.sqlite")) as store:
        (local_src,) = store.read_meta().sources
    assert src["source"] == f"hf://datasets/org/dump@{sha}/cards.jsonl" and src["rows"] == len(rows)
    assert src["hash"] == local_src["hash"] == "sha256:" + hashlib.sha256(_jsonl(rows)).hexdigest()
    # every byte came through the client's ranged reads of the pinned commit
    reads = [r for r in fake_hub.requests_for("org/dump", "GET") if "/resolve/" in r.route]
    assert reads and all(f"/resolve/{sha}/" in r.route for r in reads)
    assert all(r.status == 206 and r.headers.get("range", "").startswith("bytes=") for r in reads)


def test_a_glob_and_a_directory_of_parquet_files_in_the_dataset(fake_hub, dump, tmp_path):
    from audit.index.build import build_index

    local, rows = dump
    build_index([local], str(tmp_path / "local.sqlite"))
    for i, src in enumerate(["hf://datasets/org/dump/parquet/*.parquet", "hf://datasets/org/dump/parquet"]):
        out = str(tmp_path / f"hub{i}.sqlite")
        got = build_index([src], out, endpoint=fake_hub.url, token=False)
        assert (got.rows, got.parsed, got.failed) == (len(rows), len(rows), 0), src
        assert _rows(out) == _rows(str(tmp_path / "local.sqlite")), src
        with IndexStore(out) as store:
            names = [s["source"].rsplit("/", 1)[1] for s in store.read_meta().sources]
        assert names == ["part-0.parquet", "part-1.parquet"]


def test_a_revision_in_the_url_reads_that_revision(fake_hub, tmp_path):
    pytest.importorskip("dask.dataframe")
    from audit.index.build import build_index

    old = [{"modelId": "org/a", "card": "---\nlicense: mit\n---\n"}]
    new = [{"modelId": "org/a", "card": "---\nlicense: apache-2.0\n---\n"}]
    repo = fake_hub.add_dataset("org/versions", {"cards.jsonl": _jsonl(new)}, revisions={"v1": {"cards.jsonl": _jsonl(old)}})
    build_index(["hf://datasets/org/versions@v1/cards.jsonl"], str(tmp_path / "v1.sqlite"), endpoint=fake_hub.url)
    with IndexStore(str(tmp_path / "v1.sqlite")) as store:
        row = store.get("org/a")
        assert row is not None and row["license"]["keys"] == ["mit"]
        assert store.read_meta().sources[0]["source"] == f"hf://datasets/org/versions@{repo.refs['v1']}/cards.jsonl"


def test_cli_builds_from_hf_with_the_endpoint_from_the_environment(fake_hub, dump, tmp_path):
    out = str(tmp_path / "i.sqlite")
    res = CliRunner().invoke(main, ["index", "build", "hf://datasets/org/dump/cards.jsonl", "-o", out, "-f", "json"],
                             env={"HF_ENDPOINT": fake_hub.url})
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (report["parsed"], report["failed"]) == (len(dump[1]), 0)
    res = CliRunner().invoke(main, ["index", "build", "hf://datasets/org/dump/parquet/*.parquet", "-o",
                                    str(tmp_path / "p.sqlite"), "--endpoint", fake_hub.url])
    assert res.exit_code == 0, res.output
    assert f"{len(dump[1])} indexed" in res.stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_offline_an_hf_source_is_one_clear_error_and_no_request(fake_hub, dump, tmp_path, how):
    out = tmp_path / "i.sqlite"
    args = ["index", "build", "hf://datasets/org/dump/cards.jsonl", "-o", str(out), "--endpoint", fake_hub.url]
    env = {"HF_HUB_OFFLINE": "1"} if how == "env" else {}
    fake_hub.clear_requests()
    res = CliRunner().invoke(main, args + (["--offline"] if how == "flag" else []), env=env)
    assert res.exit_code == 3, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert lines[0].startswith("mlaudit: hf://datasets/org/dump/cards.jsonl: offline")
    assert not fake_hub.requests and not out.exists()


def test_a_missing_dataset_or_file_is_one_line_naming_it_exit_3(fake_hub, dump, tmp_path):
    cases = [("hf://datasets/org/no-such-dump/cards.jsonl", "dataset org/no-such-dump not found on"),
             ("hf://datasets/org/dump/no-such-file.jsonl", "file no-such-file.jsonl of dataset org/dump not found on"),
             ("hf://datasets/org/dump/*.csv", "no dump file matches this pattern"),
             ("hf://datasets/org/dump@v9/cards.jsonl", "revision 'v9' of dataset org/dump not found on")]
    for url, fragment in cases:
        out = tmp_path / "i.sqlite"
        res = CliRunner().invoke(main, ["index", "build", url, "-o", str(out)], env={"HF_ENDPOINT": fake_hub.url})
        assert res.exit_code == 3, (url, res.output)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"mlaudit: {url}: ") and fragment in lines[0], (url, lines)
        assert not out.exists()


def test_a_private_dump_is_read_with_the_token_which_never_shows(fake_hub, tmp_path):
    pytest.importorskip("dask.dataframe")
    rows = _subset()[:20]
    fake_hub.add_dataset("org/private-dump", {"cards.jsonl": _jsonl(rows)}, private=True, allowed_tokens={SECRET})
    url = "hf://datasets/org/private-dump/cards.jsonl"
    res = CliRunner().invoke(main, ["index", "build", url, "-o", str(tmp_path / "i.sqlite"), "-f", "json"],
                             env={"HF_ENDPOINT": fake_hub.url, "HF_TOKEN": SECRET})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["parsed"] == len(rows) and SECRET not in res.output
    reads = [r for r in fake_hub.requests_for("org/private-dump") if "/resolve/" in r.route]
    assert reads and all(r.sent_token(SECRET) for r in reads)
    with IndexStore(str(tmp_path / "i.sqlite")) as store:
        assert SECRET not in json.dumps(list(store.read_meta().sources))
    # without the token it does not exist; with a rejected one, the Hub says so: neither message shows the token
    res = CliRunner().invoke(main, ["index", "build", url, "-o", str(tmp_path / "j.sqlite")],
                             env={"HF_ENDPOINT": fake_hub.url})
    assert res.exit_code == 3 and "dataset org/private-dump not found" in res.stderr
    fake_hub.invalid_tokens.add(SECRET + "x")
    res = CliRunner().invoke(main, ["index", "build", url, "-o", str(tmp_path / "j.sqlite")],
                             env={"HF_ENDPOINT": fake_hub.url, "HF_TOKEN": SECRET + "x"})
    assert res.exit_code == 3 and "rejected HF_TOKEN" in res.stderr and SECRET not in res.output


def test_credentials_in_a_url_never_reach_a_label_or_a_message(tmp_path):
    from audit.index.source import Remote, display

    assert display("s3://KEY:SECRET@bucket/cards.jsonl") == "s3://bucket/cards.jsonl"
    assert "hf_x" not in repr(Remote("http://h", "hf_x"))
    pytest.importorskip("dask.dataframe")  # without it, `index build` stops earlier: it says how to install it
    res = CliRunner().invoke(main, ["index", "build", "hf://datasets/org/dump/cards.jsonl", "-o",
                                    str(tmp_path / "i.sqlite"), "--offline"], env={"HF_TOKEN": SECRET})
    assert res.exit_code == 3 and SECRET not in res.output
    assert re.search(r"offline", res.stderr)
