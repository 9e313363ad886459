"""scan_codebase: every model reference in a small repository, with the right file, line and kind, and
nothing else (local paths, datasets, API-provider model names, skipped directories)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from audit.errors import InputUnreadable
from audit.sources.codebase import Reference, ScanStats, hub_id, scan_codebase

REV = "0e9e39f249a16976918f6564b8830bc894c89659"

APP_PY = f'''\
import os
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
from sentence_transformers import SentenceTransformer
from diffusers import StableDiffusionPipeline
from huggingface_hub import hf_hub_download, snapshot_download
from peft import PeftModel
from vllm import LLM

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
REVISION = "{REV}"
BASE = "Qwen/"


def load(name, checkpoint="org/default-model"):
    tok = AutoTokenizer.from_pretrained(MODEL, revision=REVISION)
    model = AutoModelForCausalLM.from_pretrained(
        "Qwen/Qwen2.5-7B-Instruct",
        revision="main",
    )
    qwen = AutoModelForCausalLM.from_pretrained(BASE + "Qwen2.5-0.5B")
    by_param = AutoModelForCausalLM.from_pretrained(name)
    by_default = AutoModelForCausalLM.from_pretrained(checkpoint)
    by_env = AutoModelForCausalLM.from_pretrained(os.environ.get("MODEL_ID", "org/fallback"))
    by_fstring = AutoModelForCausalLM.from_pretrained(f"acme/{{name}}-v2")
    local = AutoModelForCausalLM.from_pretrained("./checkpoints/run-1")
    absolute = AutoModelForCausalLM.from_pretrained("/srv/models/llama")
    on_disk = AutoModelForCausalLM.from_pretrained("checkpoints/run-1")
    gen = pipeline("text-generation", model=model, tokenizer=tok)
    clf = pipeline("sentiment-analysis", model="distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    summarize = pipeline("summarization")
    embed = SentenceTransformer("all-MiniLM-L6-v2")
    embed2 = SentenceTransformer("BAAI/bge-small-en-v1.5")
    sd = StableDiffusionPipeline.from_pretrained("stabilityai/stable-diffusion-2-1")
    gguf = hf_hub_download(repo_id="TheBloke/Llama-2-7B-GGUF", filename="llama-2-7b.Q4_K_M.gguf",
                           token="hf_abcdefghijklmnopqrstuvwxyz0123456789")
    snap = snapshot_download("bigscience/bloom-560m")
    data = snapshot_download(repo_id="acme/tickets", repo_type="dataset")
    lora = PeftModel.from_pretrained(model, "acme/support-lora")
    llm = LLM(model="mistralai/Mistral-7B-Instruct-v0.3")
    gpt2 = AutoModelForCausalLM.from_pretrained("gpt2")
    return tok
'''

BROKEN_PY = '''\
print "this is Python 2"
model = AutoModel.from_pretrained("google/flan-t5-base")
'''

TRAIN_YAML = '''\
# training config
model:
  model_name_or_path: mistralai/Mistral-7B-v0.1
  revision: 7231864981174d9bee8c7687c24c8344414eae6b
base_model:
  - "meta-llama/Llama-3.1-8B"
  - google/gemma-2-9b
output_dir: ./out
model_name: gpt2
llm:
  model: openai/gpt-4o
notes: see https://huggingface.co/datasets/acme/tickets
'''

MODEL_JSON = '''\
{
  "model_id": "microsoft/phi-2",
  "adapter": {
    "base_model_name_or_path": "Qwen/Qwen2-1.5B",
    "revision": "refs/pr/3"
  },
  "output": "runs/model",
  "description": "model: not/this"
}
'''

PYPROJECT = '''\
[project]
name = "demo"

[tool.demo]
model = "deepseek-ai/DeepSeek-R1"
model_name = "gpt2"

[[tool.demo.judges]]
repo_id = "Qwen/Qwen2.5-72B-Instruct"
'''

README = '''\
# Demo

We fine-tune [Llama](https://huggingface.co/meta-llama/Llama-3.1-8B) pinned at
https://hf.co/meta-llama/Llama-3.1-8B/resolve/d04e592bb4f6aa9cfee91e2e20afa771667e1d4b/config.json.
Data: https://huggingface.co/datasets/acme/tickets, demo: https://huggingface.co/spaces/acme/demo,
docs: https://huggingface.co/docs/transformers and the org page https://huggingface.co/acme.
'''


def _notebook() -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Eval\n", "Scores for google/gemma-2b.\n"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["!pip install transformers\n", "from transformers import AutoModel\n",
                    'NB_MODEL = "allenai/OLMo-2-1124-7B"\n']},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["%time\n", "m = AutoModel.from_pretrained(NB_MODEL)"]},
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # the layout nbformat writes


def _line(text: str, needle: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def _write(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    _write(tmp_path, "src/app.py", APP_PY)
    _write(tmp_path, "src/legacy/broken.py", BROKEN_PY)
    _write(tmp_path, "configs/train.yaml", TRAIN_YAML)
    _write(tmp_path, "configs/model.json", MODEL_JSON)
    _write(tmp_path, "pyproject.toml", PYPROJECT)
    _write(tmp_path, "README.md", README)
    _write(tmp_path, "notebooks/eval.ipynb", _notebook())
    (tmp_path / "checkpoints" / "run-1").mkdir(parents=True)  # makes "checkpoints/run-1" a local path
    # places that must not be scanned
    ref = 'AutoModel.from_pretrained("evil/should-not-appear")\n'
    for rel in (".venv/lib/site.py", "node_modules/pkg/x.py", ".git/hooks/x.py", "src/__pycache__/x.py",
                "env311/lib/x.py"):
        _write(tmp_path, rel, ref)
    _write(tmp_path, "env311/pyvenv.cfg", "home = /usr/bin\n")  # a venv under any name
    _write(tmp_path, "weights/model.bin", b"\x00\x01huggingface.co/evil/binary\x00")
    _write(tmp_path, "data/notes.txt", b"huggingface.co/evil/binary-text\n\x00\x00")
    _write(tmp_path, "data/huge.md", "https://huggingface.co/evil/huge\n" + "x" * (2 * 1024 * 1024 + 10))
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "src" / "pipe.py")  # opening a FIFO would block the scan forever
    return tmp_path


def _key(r: Reference) -> tuple[str, int, str, str | None, str | None]:
    return (r.file, r.line, r.kind, r.model, r.revision)


def test_scan_finds_every_reference_and_nothing_else(repo: Path) -> None:
    refs = scan_codebase(str(repo))

    def app(needle: str) -> int:
        return _line(APP_PY, needle)

    expected = {
        ("README.md", 3, "url", "meta-llama/Llama-3.1-8B", None),
        ("README.md", 4, "url", "meta-llama/Llama-3.1-8B", "d04e592bb4f6aa9cfee91e2e20afa771667e1d4b"),
        ("configs/model.json", 2, "config-key", "microsoft/phi-2", None),
        ("configs/model.json", 4, "config-key", "Qwen/Qwen2-1.5B", "refs/pr/3"),
        ("configs/train.yaml", 3, "config-key", "mistralai/Mistral-7B-v0.1",
         "7231864981174d9bee8c7687c24c8344414eae6b"),
        ("configs/train.yaml", 6, "config-key", "meta-llama/Llama-3.1-8B", None),
        ("configs/train.yaml", 7, "config-key", "google/gemma-2-9b", None),
        ("notebooks/eval.ipynb", _line(_notebook(), "from_pretrained(NB_MODEL)"), "from_pretrained",
         "allenai/OLMo-2-1124-7B", None),
        ("pyproject.toml", 5, "config-key", "deepseek-ai/DeepSeek-R1", None),
        ("pyproject.toml", 9, "config-key", "Qwen/Qwen2.5-72B-Instruct", None),
        ("src/app.py", app("from_pretrained(MODEL"), "from_pretrained", "meta-llama/Llama-3.1-8B-Instruct", REV),
        ("src/app.py", app('"Qwen/Qwen2.5-7B-Instruct",'), "from_pretrained", "Qwen/Qwen2.5-7B-Instruct", "main"),
        ("src/app.py", app("BASE +"), "from_pretrained", "Qwen/Qwen2.5-0.5B", None),
        ("src/app.py", app("from_pretrained(name)"), "from_pretrained", None, None),
        ("src/app.py", app("from_pretrained(checkpoint)"), "from_pretrained", None, None),
        ("src/app.py", app("by_env ="), "from_pretrained", None, None),
        ("src/app.py", app("by_fstring ="), "from_pretrained", None, None),
        ("src/app.py", app("clf ="), "pipeline", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", None),
        ("src/app.py", app("summarize ="), "pipeline", None, None),
        ("src/app.py", app("embed ="), "sentence-transformers", "sentence-transformers/all-MiniLM-L6-v2", None),
        ("src/app.py", app("embed2 ="), "sentence-transformers", "BAAI/bge-small-en-v1.5", None),
        ("src/app.py", app("sd ="), "diffusers", "stabilityai/stable-diffusion-2-1", None),
        ("src/app.py", app("gguf ="), "hf_hub_download", "TheBloke/Llama-2-7B-GGUF", None),
        ("src/app.py", app("snap ="), "snapshot_download", "bigscience/bloom-560m", None),
        ("src/app.py", app("lora ="), "peft", "acme/support-lora", None),
        ("src/app.py", app("llm ="), "vllm", "mistralai/Mistral-7B-Instruct-v0.3", None),
        ("src/app.py", app("gpt2 ="), "from_pretrained", "gpt2", None),
        ("src/legacy/broken.py", 1, "parse-error", None, None),
        ("src/legacy/broken.py", 2, "from_pretrained", "google/flan-t5-base", None),
        # what was not read is reported (the walk does not descend into these, nor read the others)
        (".git", 1, "skipped", None, None),
        (".venv", 1, "skipped", None, None),
        ("node_modules", 1, "skipped", None, None),
        ("src/__pycache__", 1, "skipped", None, None),
        ("env311", 1, "skipped", None, None),
        ("data/notes.txt", 1, "unreadable", None, None),
        ("data/huge.md", 1, "skipped", None, None),
    }
    if hasattr(os, "mkfifo"):
        expected.add(("src/pipe.py", 1, "skipped", None, None))
    got = [_key(r) for r in refs]
    assert len(got) == len(set(got)), "duplicate references"
    assert set(got) - expected == set(), "unexpected references"
    assert expected - set(got) == set(), "missing references"
    assert got == sorted(got, key=lambda k: (k[0], k[1])), "not sorted by file, line"


def test_unresolvable_references_say_why_and_guess_nothing(repo: Path) -> None:
    refs = [r for r in scan_codebase(str(repo)) if not r.resolved]
    assert all(r.model is None and r.revision is None for r in refs)
    reasons = {r.line: r.reason or "" for r in refs if r.file == "src/app.py"}
    assert reasons[_line(APP_PY, "from_pretrained(name)")] == "function parameter 'name'"
    assert reasons[_line(APP_PY, "from_pretrained(checkpoint)")] == (
        "function parameter 'checkpoint' (default 'org/default-model' not assumed)")
    assert "environment variable 'MODEL_ID'" in reasons[_line(APP_PY, "by_env =")]
    assert "f-string" in reasons[_line(APP_PY, "by_fstring =")]
    assert "default model" in reasons[_line(APP_PY, "summarize =")]
    broken = next(r for r in refs if r.kind == "parse-error")
    assert "syntax error" in (broken.reason or "")
    # nothing unresolved is guessed from a default value
    assert not any(r.model in ("org/default-model", "org/fallback") for r in scan_codebase(str(repo)))


def test_reference_text_and_dict(repo: Path) -> None:
    refs = scan_codebase(str(repo))
    gguf = next(r for r in refs if r.kind == "hf_hub_download")
    # the source line is kept for context, with the access token on it redacted
    assert gguf.text == 'gguf = hf_hub_download(repo_id="TheBloke/Llama-2-7B-GGUF", filename="llama-2-7b.Q4_K_M.gguf",'
    tok_line = next(r for r in refs if r.file == "src/app.py" and r.model == "meta-llama/Llama-3.1-8B-Instruct")
    assert tok_line.text == "tok = AutoTokenizer.from_pretrained(MODEL, revision=REVISION)"
    assert tok_line.to_dict() == {"model": "meta-llama/Llama-3.1-8B-Instruct", "revision": REV,
                                  "file": "src/app.py", "line": _line(APP_PY, "from_pretrained(MODEL"),
                                  "kind": "from_pretrained", "reason": None}
    assert all(len(r.text) <= 200 for r in refs)
    assert not any("hf_abcdefghij" in r.text for r in refs)


def test_tokens_never_reach_the_text(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", 'from huggingface_hub import snapshot_download\n'
                             'snapshot_download("org/model", token="hf_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")\n'
                             'x = "https://huggingface.co/org/model" # hf_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n')
    refs = scan_codebase(str(tmp_path))
    assert [(r.line, r.model) for r in refs] == [(2, "org/model"), (3, "org/model")]
    assert all("hf_zzz" not in r.text and "hf_yyy" not in r.text for r in refs)


def test_exclude_patterns(repo: Path) -> None:
    refs = scan_codebase(str(repo), exclude=("src/legacy", "*.ipynb", "configs/*.json", "data", "src/pipe.py"))
    files = {r.file for r in refs if r.kind not in ("skipped", "unreadable")}
    assert {r.file for r in refs if r.kind in ("skipped", "unreadable")} == {
        ".git", ".venv", "node_modules", "src/__pycache__", "env311"}  # an excluded path is not reported
    assert files == {"README.md", "configs/train.yaml", "pyproject.toml", "src/app.py"}


def test_scan_a_single_file_and_a_missing_root(repo: Path) -> None:
    refs = scan_codebase(str(repo / "configs" / "train.yaml"))
    assert [(r.file, r.line) for r in refs] == [("train.yaml", 3), ("train.yaml", 6), ("train.yaml", 7)]
    with pytest.raises(InputUnreadable) as err:
        scan_codebase(str(repo / "nope"))
    assert "nope" in str(err.value) and "does not exist" in str(err.value)


def test_module_constants_resolve_but_rebinding_does_not(tmp_path: Path) -> None:
    _write(tmp_path, "m.py", '''\
from transformers import AutoModel
A = "org/a"
B = "org/b"
B = "org/c"
for C in ("org/x", "org/y"):
    pass


def f():
    local = "org/local"
    AutoModel.from_pretrained(A)
    AutoModel.from_pretrained(B)
    AutoModel.from_pretrained(C)
    AutoModel.from_pretrained(local)
    AutoModel.from_pretrained(UNDEFINED)
''')
    got = [(r.line, r.model, r.reason) for r in scan_codebase(str(tmp_path))]
    assert got == [
        (11, "org/a", None),
        (12, None, "'B' is assigned different values"),
        (13, None, "'C' is rebound at run time (loop, with, unpacking or +=)"),
        (14, "org/local", None),
        (15, None, "name 'UNDEFINED' is not defined in this file"),
    ]


def test_yaml_that_does_not_parse_is_read_line_by_line(tmp_path: Path) -> None:
    _write(tmp_path, "chart/values.yaml", "image: {{ .Values.image }}\nmodel_id: {{ x }}\n"
                                          "  model_id: \"mistralai/Mistral-7B-v0.1\"\n")
    refs = scan_codebase(str(tmp_path))
    assert [(r.file, r.line, r.model) for r in refs] == [("chart/values.yaml", 3, "mistralai/Mistral-7B-v0.1")]


def test_hub_id_rules() -> None:
    assert hub_id("org/name", allow_single=False) == "org/name"
    assert hub_id("gpt2", allow_single=True) == "gpt2"
    assert hub_id("gpt2", allow_single=False) is None  # a bare name counts only in code calls
    for local in ("./x/y", "../y", "/abs/path", "~/m", "C:\\models\\x", "a/b/c", "x/model.safetensors", "a/../b"):
        assert hub_id(local, allow_single=True) is None, local
    # stricter than a command-line repo id: text is full of private and template names
    assert hub_id("_base_/models", allow_single=False) is None
    assert hub_id("org/" + "m" * 96, allow_single=False) == "org/" + "m" * 96
    assert hub_id("org/" + "m" * 97, allow_single=False) is None


def test_the_cheap_trigger_check_spares_ast_for_files_that_name_no_loader(tmp_path: Path) -> None:
    """Thousands of files scan quickly because most never reach `ast`: counted, not timed."""
    n = 2000
    for i in range(n):
        d = tmp_path / f"pkg{i % 40}"
        d.mkdir(exist_ok=True)
        if i % 4 == 0:
            (d / f"m{i}.py").write_text(f'from transformers import AutoModel\nm = AutoModel.from_pretrained("org/m{i}")\n')
        elif i % 4 == 1:
            (d / f"c{i}.yaml").write_text(f"model_name_or_path: org/c{i}\nlr: 0.1\n")
        elif i % 4 == 2:
            (d / f"u{i}.py").write_text("def f(x):\n    return x + 1\n" * 20)
        else:
            (d / f"r{i}.md").write_text(f"see https://huggingface.co/org/r{i}\n")
    stats = ScanStats()
    refs = scan_codebase(str(tmp_path), stats=stats)
    assert len(refs) == n * 3 // 4
    assert (stats.files_read, stats.parsed, stats.skipped) == (n, n // 4, n // 4)


def test_a_notebook_without_a_loader_call_is_not_parsed(tmp_path: Path) -> None:
    _write(tmp_path, "plain.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n"]}]}))
    _write(tmp_path, "eval.ipynb", _notebook())
    stats = ScanStats()
    refs = scan_codebase(str(tmp_path), stats=stats)
    assert {r.file for r in refs} == {"eval.ipynb"}
    assert (stats.files_read, stats.parsed, stats.skipped) == (2, 1, 1)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text('AutoModel.from_pretrained("org/x")\n')
    path.chmod(0)
    try:
        (ref,) = scan_codebase(str(tmp_path))
    finally:
        path.chmod(0o644)
    assert (ref.kind, ref.resolved, ref.model) == ("unreadable", False, None)


def test_class_body_constants_follow_python_scoping(tmp_path: Path) -> None:
    _write(tmp_path, "c.py", '''\
from transformers import AutoModel
NAME = "org/module-level"
class Loader:
    NAME = "org/class-level"
    model = AutoModel.from_pretrained(NAME)
    def load(self):
        return AutoModel.from_pretrained(NAME)
    def load_attr(self):
        return AutoModel.from_pretrained(self.NAME)
''')
    got = [(r.line, r.model, r.reason) for r in scan_codebase(str(tmp_path))]
    assert got == [
        (5, "org/class-level", None),
        (7, "org/module-level", None),  # a method does not see the class body's names
        (9, None, "attribute self.NAME set at run time"),
    ]


def test_a_new_file_kind_is_one_row_and_every_matching_row_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The place deployment files plug in: FILE_KINDS rows (name globs -> extractor)."""
    from audit.sources import codebase

    def env_lines(file: codebase.SourceFile, stats: ScanStats) -> list[Reference]:
        return [file.ref(i, "env", m.group(1)) for i, line in enumerate(file.lines, 1)
                for m in re.finditer(r"\bMODEL=([\w/-]+)", line)]

    monkeypatch.setattr(codebase, "FILE_KINDS", (*codebase.FILE_KINDS, (("dockerfile", "*.yaml"), env_lines)))
    _write(tmp_path, "Dockerfile", "FROM python:3.11\nENV MODEL=org/served\n")
    _write(tmp_path, "serve.yaml", "model_id: org/configured\nenv: [MODEL=org/both]\n")
    got = [(r.file, r.line, r.kind, r.model) for r in scan_codebase(str(tmp_path))]
    assert got == [
        ("Dockerfile", 2, "env", "org/served"),
        ("serve.yaml", 1, "config-key", "org/configured"),
        ("serve.yaml", 2, "env", "org/both"),
    ]


# --- deployment files ------------------------------------------------------------------------------------------

DEPLOY = Path(__file__).parent / "fixtures" / "deploy"
SHA = "0e9e39f249a16976918f6564b8830bc894c89659"


def _at(rel: str, needle: str) -> int:
    return _line((DEPLOY / rel).read_text(encoding="utf-8"), needle)


def test_scan_finds_deployment_references_with_their_pins(tmp_path: Path) -> None:
    """Shell, Makefile, Dockerfile, compose, Kubernetes, Helm, workflows, .env, Modelfile, vLLM config and a
    Python dict: every model at its line, pinned where the file pins it; local paths, GGUF files, docker
    images, datasets, Ollama library models, API-provider models and served names are not references."""
    import shutil

    shutil.copytree(DEPLOY, tmp_path / "repo")
    refs = scan_codebase(str(tmp_path / "repo"))
    got = {_key(r) for r in refs if r.model}
    llama8 = "meta-llama/Llama-3.1-8B-Instruct"
    mistral = "mistralai/Mistral-7B-Instruct-v0.3"
    expected = {
        ("serve.sh", 3, "env", llama8, None),
        ("serve.sh", _at("serve.sh", "huggingface-cli download"), "command", llama8, SHA),
        ("serve.sh", _at("serve.sh", "hf download Qwen"), "command", "Qwen/Qwen2.5-7B-Instruct-GGUF", None),
        ("serve.sh", _at("serve.sh", "vllm serve"), "command", llama8, SHA),  # pinned two lines below
        ("serve.sh", _at("serve.sh", "--tokenizer"), "command", mistral, None),
        ("serve.sh", _at("serve.sh", "llama-server -hf"), "command", "bartowski/Llama-3.2-3B-Instruct-GGUF", None),
        ("serve.sh", _at("serve.sh", "ollama run hf.co"), "command", "bartowski/gemma-2-2b-it-GGUF", None),
        ("serve.sh", _at("serve.sh", "ollama run hf.co"), "url", "bartowski/gemma-2-2b-it-GGUF", None),
        ("Dockerfile", 2, "env", mistral, None),  # ARG HF_MODEL_ID=...
        ("Dockerfile", 3, "env", mistral, None),  # ENV MODEL_NAME=${HF_MODEL_ID}: the file's own ARG
        ("Dockerfile", 5, "env", mistral, None),  # ENV NAME value (the old form)
        ("Dockerfile", 6, "command", mistral, None),  # RUN huggingface-cli download ${HF_MODEL_ID}
        ("Dockerfile", 9, "command", "microsoft/Phi-3-mini-4k-instruct", None),  # CMD in exec (JSON) form
        ("docker-compose.yml", 4, "command", "Qwen/Qwen2.5-14B-Instruct", "9c2e84d5b8dd5fdb1bb43f2d4e9d1d2bcd6ee6f9"),
        ("docker-compose.yml", 7, "env", "BAAI/bge-m3", None),
        ("docker-compose.yml", 12, "env", "google/gemma-2-9b-it", None),
        ("k8s/deployment.yaml", 13, "command", "meta-llama/Llama-3.2-1B-Instruct",
         "9213176726f574b556790deb65791e0c5aa438b6"),
        ("k8s/deployment.yaml", 20, "env", "Qwen/Qwen2.5-0.5B-Instruct", None),
        ("k8s/deployment.yaml", 22, "env", "Qwen/Qwen2.5-0.5B-Instruct", None),  # value: $(HF_MODEL)
        ("chart/values.yaml", 1, "config-key", "microsoft/Phi-3.5-mini-instruct", None),
        (".github/workflows/eval.yml", 9, "env", "google/gemma-2-2b-it", None),
        (".github/workflows/eval.yml", 16, "command", "google/gemma-2-2b-it", None),  # ${{ env.BASE_MODEL }}
        (".gitlab-ci.yml", 2, "env", "mistralai/Mistral-Nemo-Instruct-2407", None),
        (".gitlab-ci.yml", 6, "command", "mistralai/Mistral-Nemo-Instruct-2407",
         "4b1f1ab0bd7a5fb5d35e7e9d37cbf2e3cfcdbd7b"),
        (".env", 2, "env", "meta-llama/Llama-3.1-70B-Instruct", None),
        (".env", 3, "env", "acme/private-model", None),
        (".env", 3, "url", "acme/private-model", None),
        ("Makefile", 1, "env", "Qwen/Qwen2.5-Coder-7B-Instruct", None),
        ("Makefile", 5, "command", "Qwen/Qwen2.5-Coder-7B-Instruct", None),
        ("Makefile", 8, "command", "Qwen/Qwen2.5-Coder-7B-Instruct", None),
        ("Modelfile", 1, "modelfile", "bartowski/Llama-3.2-1B-Instruct-GGUF", None),
        ("Modelfile", 1, "url", "bartowski/Llama-3.2-1B-Instruct-GGUF", None),
        ("configs/vllm.yaml", 1, "config-key", llama8, SHA),
        ("configs/vllm.yaml", 2, "config-key", llama8, SHA),
        ("configs/vllm.yaml", 3, "config-key", "meta-llama/Llama-3.2-1B-Instruct", SHA),
        ("src/client.py", 3, "dict-key", "acme/served-llm", None),
    }
    assert got == expected
    unresolved = {(r.file, r.line, r.kind, r.reason) for r in refs if r.model is None}
    assert unresolved == {
        ("serve.sh", _at("serve.sh", "--speculative-model"), "command",
         "variable DRAFT_MODEL is set outside this file, at deploy time"),
        ("serve.sh", _at("serve.sh", "docker run"), "command",
         "variable SERVE_MODEL is set at deploy time (default 'microsoft/phi-4' not assumed)"),
        ("docker-compose.yml", 10, "command", "variable TGI_MODEL_ID is set outside this file, at deploy time"),
        ("chart/templates/deployment.yaml", 13, "command", "template value {{ .Values.model }} is filled in at deploy time"),
        ("chart/templates/deployment.yaml", 15, "command",
         "template value {{ .Values.tokenizer | default .Values.model | quote }} is filled in at deploy time"),
        ("chart/templates/deployment.yaml", 18, "env", "template value {{ .Values.model | quote }} is filled in at deploy time"),
        (".github/workflows/eval.yml", 19, "command",
         "workflow expression ${{ inputs.model }} is filled in at deploy time"),
    }
    assert all(not r.resolved for r in refs if r.model is None)


@pytest.mark.parametrize(("name", "text", "expected"), [
    # option forms, and what a value is not
    ("run.sh", "vllm serve --model=org/served --tokenizer-revision v2 --tokenizer org/tok\n",
     {(1, "org/served", None), (1, "org/tok", "v2")}),
    ("run.sh", "text-generation-launcher --model-id org/tgi@abc123\n", {(1, "org/tgi", "abc123")}),
    ("run.sh", f"vllm serve org/pinned:{REV}\n", {(1, "org/pinned", REV)}),
    ("run.sh", "vllm serve gpt2 --port 8000\n", {(1, "gpt2", None)}),  # a canonical id after `vllm serve`
    ("run.sh", "vllm serve ./models/x\nvllm serve /models/x\nllama-cli -m model-q4_k_m.gguf\n", set()),
    ("run.sh", "docker run vllm/vllm-openai:latest --port 8000\n--model vllm/vllm-openai:v0.6\n", set()),
    ("run.sh", "ollama run llama3:8b\nollama pull qwen2.5\n--model openai/gpt-4o\n", set()),
    ("run.sh", "hf download org/data --repo-type=dataset\necho vllm serve\n", set()),
    ("run.sh", "MODEL=org/a\nMODEL=org/b\nvllm serve $MODEL\n", {(1, "org/a", None), (2, "org/b", None),
                                                               (3, None, None)}),
    ("run.sh", "export HUB_MODEL_ID=org/pushed SERVED_MODEL_NAME=org/alias\n", set()),  # names, not loads
    ("run.sh", "python serve.py --model org/one && python serve.py --model org/two\n",
     {(1, "org/one", None), (1, "org/two", None)}),
    (".env.production", "TOKENIZER=org/tok\nRERANKER_MODEL_ID='org/rerank'\n",
     {(1, "org/tok", None), (2, "org/rerank", None)}),
])
def test_deployment_command_lines(tmp_path: Path, name: str, text: str,
                                  expected: set[tuple[int, str | None, str | None]]) -> None:
    _write(tmp_path, name, text)
    got = {(r.line, r.model, r.revision) for r in scan_codebase(str(tmp_path)) if r.kind != "url"}
    assert got == expected


# --- what the scan does not read ------------------------------------------------------------------------------

def _not_read(refs: list[Reference]) -> dict[str, tuple[str, bool, str]]:
    return {r.file: (r.kind, r.resolved, r.reason or "") for r in refs if r.kind in ("skipped", "unreadable")}


def test_nothing_unread_is_silent_and_what_could_hold_a_reference_fails_closed(repo: Path, tmp_path_factory:
                                                                             pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "serve.yaml").write_text("model: org/outside\n")
    os.symlink(outside / "serve.yaml", repo / "linked.yaml")  # a file link leaving the root
    os.symlink(outside, repo / "shared")  # a directory link leaving the root
    os.symlink(repo / "src", repo / "src-link")  # a directory link inside it: scanned where it is
    os.symlink(repo / "gone.py", repo / "dangling.py")
    _write(repo, "big.py", "x = 1\n" * (400 * 1024))  # over the 2 MiB cap
    _write(repo, "blob.yaml", b"model: org/x\n\x00\x00")  # binary content under a config's name
    refs = scan_codebase(str(repo))
    got = _not_read(refs)
    assert got.pop(".venv") == ("skipped", True, "directory a virtualenv, not code of this repository; not scanned")
    assert got.pop("env311")[:2] == ("skipped", True)  # any directory holding pyvenv.cfg
    assert got.pop("src-link")[:2] == ("skipped", True)
    for benign in (".git", "node_modules", "src/__pycache__", "data/huge.md", "data/notes.txt"):
        assert got.pop(benign)[1] is True, benign  # not code: reported, need not fail
    kind, resolved, reason = got.pop("shared")
    assert (kind, resolved) == ("skipped", False) and "outside the scanned root" in reason
    assert got.pop("linked.yaml")[:2] == ("skipped", False)
    assert got.pop("dangling.py")[:2] == ("unreadable", False)
    kind, resolved, reason = got.pop("big.py")
    assert (kind, resolved) == ("skipped", False) and "over the 2 MiB limit" in reason
    kind, resolved, reason = got.pop("blob.yaml")
    assert (kind, resolved) == ("unreadable", False) and "binary" in reason
    if hasattr(os, "mkfifo"):
        kind, resolved, reason = got.pop("src/pipe.py")  # refused without opening it (it would block)
        assert (kind, resolved) == ("skipped", False) and "FIFO" in reason
    assert got == {}
    assert not any(r.model == "org/outside" for r in refs)
    assert all(r.model is None for r in refs if r.kind in ("skipped", "unreadable"))


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any directory")
def test_a_directory_that_cannot_be_listed_fails_closed(tmp_path: Path) -> None:
    _write(tmp_path, "private/app.py", 'AutoModel.from_pretrained("org/x")\n')
    (tmp_path / "private").chmod(0)
    try:
        refs = scan_codebase(str(tmp_path))
    finally:
        (tmp_path / "private").chmod(0o755)
    assert [(r.file, r.kind, r.resolved) for r in refs] == [("private", "unreadable", False)]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_given_as_the_root_is_refused_without_blocking() -> None:
    (ref,) = scan_codebase("/dev/null")
    assert (ref.kind, ref.resolved, ref.model) == ("unreadable", False, None)
    assert "device" in (ref.reason or "")


def test_gitignore_files_are_respected_root_and_nested(tmp_path: Path) -> None:
    load = 'from transformers import AutoModel\nAutoModel.from_pretrained("{}")\n'
    _write(tmp_path, ".gitignore", "build/\n*.generated.py\noutputs/*\n!outputs/keep.py\n")
    _write(tmp_path, "build/lib/app.py", load.format("org/built"))
    _write(tmp_path, "src/x.generated.py", load.format("org/generated"))
    _write(tmp_path, "outputs/run.py", load.format("org/output"))
    _write(tmp_path, "outputs/keep.py", load.format("org/kept"))
    _write(tmp_path, "svc/.gitignore", "local.env\n/scratch\n")
    _write(tmp_path, "svc/local.env", "MODEL_ID=org/local-only\n")
    _write(tmp_path, "svc/scratch/try.sh", "vllm serve org/scratch\n")
    _write(tmp_path, "svc/prod.env", "MODEL_ID=org/prod\n")
    _write(tmp_path, "scratch/try.sh", "vllm serve org/not-anchored-here\n")  # /scratch is svc's, not the root's
    got = {(r.file, r.model) for r in scan_codebase(str(tmp_path))}
    assert got == {("outputs/keep.py", "org/kept"), ("svc/prod.env", "org/prod"),
                   ("scratch/try.sh", "org/not-anchored-here")}


def test_mlaudit_reports_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    report = {"schema": "mlaudit.report/1", "tool": {"name": "mlaudit", "version": "0.1.0"},
              "references": [{"model": "org/reported", "file": "a.py", "line": 1}]}
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "mlaudit"}},
                                           "results": [{"message": {"text": "https://huggingface.co/org/in-sarif"}}]}]}
    _write(tmp_path, "ci/out-1.json", json.dumps(report))
    _write(tmp_path, "ci/findings.txt", json.dumps(sarif))
    _write(tmp_path, "ci/lock-copy.json", json.dumps({"schema": "mlaudit.lock/1", "models": [{"model_id": "org/locked"}]}))
    _write(tmp_path, "ci/junit.xml", '<?xml version="1.0"?>\n<testsuites name="mlaudit" tests="1">\n'
                                     '<testcase name="https://huggingface.co/org/in-junit"/></testsuites>\n')
    _write(tmp_path, "ci/summary.md", "### mlaudit: ❌ failed\n\n- https://huggingface.co/org/in-md\n\n"
                                      "<sub>mlaudit 0.1.0 · policy sha256 `cff52d79b2db`</sub>\n")
    _write(tmp_path, "ci/sbom.spdx", "SPDXVersion: SPDX-2.3\nCreator: Tool: mlaudit-0.1.0\n"
                                     "PackageDownloadLocation: https://huggingface.co/org/in-spdx\n")
    # a config that merely mentions mlaudit is still read
    _write(tmp_path, "serve.json", '{"model_id": "org/served", "note": "audited by mlaudit"}\n')
    refs = scan_codebase(str(tmp_path))
    assert [(r.file, r.model) for r in refs if r.model] == [("serve.json", "org/served")]
    skipped = _not_read(refs)
    assert set(skipped) == {"ci/out-1.json", "ci/findings.txt", "ci/lock-copy.json", "ci/junit.xml",
                            "ci/summary.md", "ci/sbom.spdx"}
    assert all(resolved for _, resolved, _ in skipped.values())  # reported, never failing
    assert "mlaudit.report/1" in skipped["ci/out-1.json"][2]


def _alias_bomb() -> str:
    lines = ["a0: &a0 [model, model, model, model, model, model, model, model, model]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]  # 9**12 nodes
    return "\n".join(lines) + "\nmodel: org/after-the-bomb\n"


NEST = 100_000


@pytest.mark.parametrize(("name", "text", "found"), [
    ("bomb.yaml", _alias_bomb(), "org/after-the-bomb"),
    ("deep.yaml", "model: org/deep-yaml\nx:\n" + "".join("  " * i + "-\n" for i in range(150)), "org/deep-yaml"),
    ("deep.toml", 'model = "org/deep-toml"\nx = ' + "[" * NEST + "]" * NEST + "\n", "org/deep-toml"),
    ("deep.py", 'from transformers import AutoModel\nAutoModel.from_pretrained("org/deep-py")\nx = '
     + "+".join(["a"] * NEST) + "\n", "org/deep-py"),
    ("brackets.py", 'from transformers import AutoModel\nAutoModel.from_pretrained("org/brackets")\nx = '
     + "[" * NEST + "]" * NEST + "\n", "org/brackets"),
    ("deep.ipynb", '{"cells": [], "from_pretrained": ' + "[" * NEST + "]" * NEST + "}\n", None),
])
def test_hostile_nesting_is_a_per_file_finding_not_a_hang_or_an_abort(tmp_path: Path, name: str, text: str,
                                                                      found: str | None) -> None:
    _write(tmp_path, name, text)
    _write(tmp_path, "ok.py", 'from transformers import AutoModel\nAutoModel.from_pretrained("org/still-scanned")\n')
    refs = scan_codebase(str(tmp_path))
    assert ("ok.py", "org/still-scanned") in {(r.file, r.model) for r in refs}  # the scan went on
    bad = [r for r in refs if r.file == name and r.model is None]
    assert len(bad) == 1 and not bad[0].resolved, bad  # one fail-closed finding for the file
    assert any(w in (bad[0].reason or "") for w in ("nested", "aliases")), bad[0].reason
    if found:  # what could still be read line by line was
        assert (name, found) in {(r.file, r.model) for r in refs}


def test_ci_script_items_are_separate_commands_and_kubernetes_env_from_elsewhere_is_unresolved(tmp_path: Path) -> None:
    _write(tmp_path, ".gitlab-ci.yml", """\
serve:
  script:
    - hf download org/pinned --revision v1
    - hf download org/unpinned
    - hf download org/my-dataset-tools
    - hf download org/data --repo-type dataset
""")
    _write(tmp_path, "k8s.yaml", """\
env:
  - name: MODEL_ID
    valueFrom:
      configMapKeyRef: {name: llm, key: model}
""")
    _write(tmp_path, "Modelfile", "from hf.co/org/lower-case:Q4_K_M\n")
    got = {(r.file, r.line, r.model, r.revision) for r in scan_codebase(str(tmp_path)) if r.kind != "url"}
    assert got == {(".gitlab-ci.yml", 3, "org/pinned", "v1"), (".gitlab-ci.yml", 4, "org/unpinned", None),
                   (".gitlab-ci.yml", 5, "org/my-dataset-tools", None), ("k8s.yaml", 3, None, None),
                   ("Modelfile", 1, "org/lower-case", None)}


@pytest.mark.parametrize("line", ["MODEL=" + "{{ " * 300_000, "{{" + " " * 1_000_000, "x" * 1_900_000,
                                  "--model '" + "a" * 1_000_000])
def test_a_hostile_line_in_a_deploy_file_is_read_in_linear_time(tmp_path: Path, line: str) -> None:
    _write(tmp_path, "run.sh", line + "\nvllm serve org/after\n")
    assert [(r.line, r.model) for r in scan_codebase(str(tmp_path))] == [(2, "org/after")]


def test_deep_json_is_read_without_parsing(tmp_path: Path) -> None:
    """The JSON scan tokenises rather than parses, so nesting costs it nothing; the own-report check that
    does parse survives a RecursionError."""
    _write(tmp_path, "deep.json", '{"model_id": "org/deep-json", "by": "mlaudit", "x": '
           + "[" * NEST + "]" * NEST + "}\n")
    assert [(r.file, r.model) for r in scan_codebase(str(tmp_path))] == [("deep.json", "org/deep-json")]
