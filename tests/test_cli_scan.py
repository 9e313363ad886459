"""`mlaudit scan` end to end: a small repository with model references in Python, YAML, TOML and JSON, the
models served by the fake Hub on 127.0.0.1 (huggingface_hub's real client), then the same scan offline from
the HF cache the first run filled. Checks every reference is found at its line and nothing else is, every
model is audited, and unresolvable references fail closed."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main

if TYPE_CHECKING:
    from hubserver import FakeHub

APP_PY = '''\
import os
from transformers import AutoModelForCausalLM, pipeline

CHAT = "acme/chat-7b"


def load(name):
    chat = AutoModelForCausalLM.from_pretrained(CHAT)
    clf = pipeline("text-classification", model="acme/classifier", revision="v1")
    local = AutoModelForCausalLM.from_pretrained("./checkpoints/run-1")
    anything = AutoModelForCausalLM.from_pretrained(name)
    return chat, clf, local, anything
'''

TRAIN_YAML = '''\
# fine-tuning
model_name_or_path: acme/base-llm
output_dir: ./out
judge:
  model: openai/gpt-4o
data: https://huggingface.co/datasets/acme/tickets
'''

PYPROJECT = '''\
[project]
name = "support-bot"

[tool.support-bot]
model = "acme/embedder"
'''

SERVE_JSON = '''\
{
  "model_id": "acme/nc-summarizer",
  "port": 8080,
  "description": "model: not/this"
}
'''

NOTES_MD = "Nothing to see here; https://huggingface.co/docs/transformers is documentation.\n"

CARDS = {
    "acme/chat-7b": "---\nlicense: mit\n---\n# chat\n",
    "acme/classifier": "---\nlicense: apache-2.0\n---\n# classifier\n",
    "acme/base-llm": "---\nlicense: apache-2.0\n---\n# base\n",
    "acme/embedder": "---\nlicense: mit\n---\n# embedder\n",
    "acme/nc-summarizer": "---\nlicense: cc-by-nc-4.0\n---\n# summarizer\n",
}


def _line(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def make_repo(root: Path) -> None:
    files = {
        "src/app.py": APP_PY,
        "configs/train.yaml": TRAIN_YAML,
        "pyproject.toml": PYPROJECT,
        "configs/serve.json": SERVE_JSON,
        "docs/notes.md": NOTES_MD,
        ".venv/lib/x.py": 'AutoModel.from_pretrained("evil/not-scanned")\n',
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "checkpoints" / "run-1").mkdir(parents=True)
    (root / ".git").mkdir()  # the repository root: configuration search stops here


EXPECTED = {
    ("src/app.py", _line(APP_PY, "from_pretrained(CHAT)"), "from_pretrained", "acme/chat-7b", None),
    ("src/app.py", _line(APP_PY, "clf ="), "pipeline", "acme/classifier", "v1"),
    ("src/app.py", _line(APP_PY, "from_pretrained(name)"), "from_pretrained", None, None),
    ("configs/train.yaml", 2, "config-key", "acme/base-llm", None),
    ("pyproject.toml", 5, "config-key", "acme/embedder", None),
    ("configs/serve.json", 2, "config-key", "acme/nc-summarizer", None),
    # reported, not read, not failing: a virtualenv and the VCS metadata
    (".git", 1, "skipped", None, None),
    (".venv", 1, "skipped", None, None),
}


@pytest.fixture
def hub(fake_hub: FakeHub) -> FakeHub:
    for repo_id, card in CARDS.items():
        revisions: dict[str, Any] | None = (
            {"v1": {"README.md": card + "\nversion 1\n"}} if repo_id == "acme/classifier" else None)
        fake_hub.add_model(repo_id, {"README.md": card}, revisions=revisions)
    return fake_hub


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env or {})


def scan_json(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Result, dict[str, Any]]:
    res = run("scan", str(root), "--format", "json", *args, env=env)
    assert res.stdout, res.stderr
    return res, json.loads(res.stdout)


def _refs(rep: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(r["file"], r["line"], r["kind"], r["model"], r["revision"]) for r in rep["references"]}


def test_scan_finds_every_reference_and_audits_every_model(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    res, rep = scan_json(tmp_path, "--endpoint", hub.url)
    assert _refs(rep) == EXPECTED  # every reference, at its line, and nothing else
    assert rep["scan_root"] == str(tmp_path)
    unresolved = [r for r in rep["references"] if r["model"] is None and r["kind"] != "skipped"]
    assert unresolved[0]["reason"] == "function parameter 'name'"

    models = {m["subject"]: m for m in rep["models"]}
    assert set(models) == {"acme/chat-7b", "acme/classifier", "acme/base-llm", "acme/embedder", "acme/nc-summarizer"}
    assert models["acme/classifier"]["revision"] == hub.repos[("models", "acme/classifier")].refs["v1"]
    assert models["acme/chat-7b"]["revision"] == hub.repos[("models", "acme/chat-7b")].sha
    assert models["acme/nc-summarizer"]["passed"] is False
    assert {m for m, v in models.items() if v["passed"]} == {"acme/chat-7b", "acme/classifier", "acme/base-llm",
                                                             "acme/embedder"}
    rules = {(f["subject"], f["rule"]) for f in rep["findings"] if f["outcome"] != "waived"}
    assert ("acme/nc-summarizer", "non-commercial") in rules
    # the unresolvable reference fails closed, located at its line
    unres = [f for f in rep["findings"] if f["rule"] == "reference-unresolved"]
    assert len(unres) == 1 and unres[0]["subject"] == "src/app.py" and unres[0]["outcome"] == "unknown"
    assert unres[0]["evidence"][0]["line"] == _line(APP_PY, "from_pretrained(name)")
    assert res.exit_code == 1 and rep["passed"] is False


def test_offline_scan_reads_the_models_from_the_cache_without_network(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    online, rep_online = scan_json(tmp_path, "--endpoint", hub.url)
    hub.clear_requests()
    env = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    res, rep = scan_json(tmp_path, "--offline", env=env)
    assert hub.requests == []
    assert res.exit_code == online.exit_code == 1, res.stderr
    assert {(m["subject"], m["revision"], m["source"]) for m in rep["models"]} == {
        (m["subject"], m["revision"], "cache") for m in rep_online["models"]
    }
    assert [f["rule"] for f in rep["findings"]] == [f["rule"] for f in rep_online["findings"]]


def test_offline_model_missing_from_cache_is_one_clear_line(tmp_path: Path, hf_home: Path) -> None:
    (tmp_path / "app.py").write_text('from transformers import AutoModel\nAutoModel.from_pretrained("acme/absent")\n')
    res = run("scan", str(tmp_path), "--offline", env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert res.exit_code == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlaudit: acme/absent: is not in the HF cache")
    assert "hf download acme/absent" in lines[0]


def test_offline_scan_uses_models_dir(tmp_path: Path, hf_home: Path) -> None:
    (tmp_path / "app.py").write_text('from transformers import AutoModel\nAutoModel.from_pretrained("acme/local-one")\n')
    models = tmp_path / "models" / "acme--local-one"
    models.mkdir(parents=True)
    (models / "README.md").write_text("---\nlicense: mit\n---\n# here\n")
    res, rep = scan_json(tmp_path, "--offline", "--models-dir", str(tmp_path / "models"), "--exclude", "models")
    assert res.exit_code == 0, res.stderr
    assert [(m["subject"], m["source"], m["license"]["keys"]) for m in rep["models"]] == [("acme/local-one", "local", ["mit"])]


def test_sarif_results_sit_on_the_referencing_lines(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    res = run("scan", str(tmp_path), "--endpoint", hub.url, "--format", "sarif")
    assert res.exit_code == 1
    run_ = json.loads(res.stdout)["runs"][0]
    where = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")) for r in run_["results"]}
    assert ("non-commercial", "configs/serve.json", 2) in where
    assert ("reference-unresolved", "src/app.py", _line(APP_PY, "from_pretrained(name)")) in where
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == f"file://{tmp_path}/"


def test_write_several_formats_in_one_run_and_quiet(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    sarif, junit = tmp_path / "out" / "m.sarif", tmp_path / "out" / "junit.xml"
    (tmp_path / "out").mkdir()
    res = run("scan", str(tmp_path), "--endpoint", hub.url, "--write", f"sarif={sarif}", "--write", f"junit={junit}",
              "--quiet", "--exclude", "out")
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [res.stdout.strip()] and res.stdout.startswith("FAILED: 5 model(s)")
    assert res.stderr == ""
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert "<testsuites" in junit.read_text()
    bad = run("scan", str(tmp_path), "--write", "sarif")
    assert bad.exit_code == 2 and "FORMAT=FILE" in bad.stderr


def test_text_report_lists_unresolved_references_and_verbose_shows_origins(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    res = run("scan", str(tmp_path), "--endpoint", hub.url, "--verbose")
    assert res.exit_code == 1
    out = res.stdout
    assert "FAIL  src/app.py" in out and "reference-unresolved" in out
    assert f"at src/app.py:{_line(APP_PY, 'from_pretrained(name)')}" in out
    assert "6 model reference(s) in 4 file(s), 5 model(s), 1 unresolved; 2 path(s) not read, 0 failing closed" in out
    # each model with the file:line of its references, then what was not read
    chat = _line(APP_PY, "from_pretrained(CHAT)")
    assert any(ln.split() == ["acme/chat-7b", f"src/app.py:{chat}"] for ln in out.splitlines()), out
    assert any(ln.split() == ["acme/classifier", "@", "v1", f"src/app.py:{chat + 1}"] for ln in out.splitlines())
    assert "- not read  .venv: directory a virtualenv, not code of this repository; not scanned" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED: 5 model(s), 4 passed, 1 failed")
    err = res.stderr
    assert "acme/nc-summarizer @ " in err and "declared  front-matter 'cc-by-nc-4.0' -> cc-by-nc-4.0" in err
    assert "at README.md:2" in err  # where the declaration came from
    assert "reference configs/serve.json:2  config-key  acme/nc-summarizer" in err
    assert "reference src/app.py:" in err and "? (function parameter 'name')" in err


def test_scan_without_references_passes(tmp_path: Path, hf_home: Path) -> None:
    (tmp_path / "main.py").write_text("print('no models here')\n")
    res, rep = scan_json(tmp_path, "--offline")
    assert res.exit_code == 0 and rep["passed"] is True
    assert rep["references"] == [] and rep["models"] == [] and rep["errors"] == []


def test_scan_of_a_missing_path_is_exit_3(tmp_path: Path) -> None:
    res = run("scan", str(tmp_path / "nope"))
    assert res.exit_code == 3
    assert res.stderr.strip() == f"mlaudit: {tmp_path / 'nope'}: does not exist"


def test_a_policy_grades_unresolved_references(tmp_path: Path, hf_home: Path) -> None:
    (tmp_path / "app.py").write_text("from transformers import AutoModel\n"
                                     "def f(n):\n    return AutoModel.from_pretrained(n)\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("name: lenient\nrules:\n  - {id: reference-unresolved, severity: warning}\n")
    res, rep = scan_json(tmp_path, "--offline", "--policy", str(policy))
    assert res.exit_code == 0
    assert [(f["rule"], f["severity"]) for f in rep["findings"]] == [("reference-unresolved", "warning")]
    # a policy that does not name the check still fails closed on it
    other = tmp_path / "q.yaml"
    other.write_text("name: other\nrules:\n  - {id: license-unknown, severity: error}\n")
    res, rep = scan_json(tmp_path, "--offline", "--policy", str(other))
    assert res.exit_code == 1
    assert [(f["rule"], f["severity"], f["outcome"]) for f in rep["findings"]] == [("reference-unresolved", "error", "unknown")]
    res, rep = scan_json(tmp_path, "--offline", "--policy", str(other), "--fail-on", "warning")
    assert res.exit_code == 1


def test_progress_bar_only_on_a_terminal_and_for_many_models(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from audit import cli

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())

    def bar(settings, total):
        b = cli._ProgressBar(settings, "x")
        b.start(total)
        for i in range(total):
            b.advance(str(i))
        shown = b.bar
        b.close()
        return shown

    assert isinstance(bar({}, cli.PROGRESS_MIN_MODELS + 1), click._termui_impl.ProgressBar)
    assert bar({}, cli.PROGRESS_MIN_MODELS) is None
    assert bar({"quiet": True}, cli.PROGRESS_MIN_MODELS + 1) is None
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert bar({}, 100) is None


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    res = run("scan", str(tmp_path), "--endpoint", hub.url, "--format", "json")
    assert res.stderr == ""  # five models, but CliRunner's stderr is not a terminal
    assert os.path.exists(tmp_path / "src" / "app.py")


# --- the GitHub Action and the pre-commit hook ------------------------------------------------------------

def _shim(tmp_path: Path) -> str:
    """A `mlaudit` command on PATH that runs this checkout (the action installs the package instead)."""
    import sys

    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "mlaudit"
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{root}" exec "{sys.executable}" -m audit "$@"\n')
    shim.chmod(0o755)
    return str(bindir)


def _action_step(name: str) -> dict[str, Any]:
    import yaml

    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "action.yml"), encoding="utf-8") as fh:
        action = yaml.safe_load(fh)
    assert action["runs"]["using"] == "composite"
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


def _run_action_script(tmp_path: Path, workdir: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    import subprocess

    step = _action_step("Run mlaudit")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MLAUDIT_"))}
    env.update({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"})
    defaults = {"command": "scan", "path": ".", "policy": "", "format": "text", "fail-on": "", "locked": "false",
                "lockfile": "mlaudit.lock", "baseline": "", "sarif": "mlaudit.sarif", "args": "", "summary": "true"}
    env["RUNNER_TEMP"] = str(tmp_path)
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "step_summary.md")
    defaults.update(inputs)
    for name, value in defaults.items():
        env["MLAUDIT_" + name.upper().replace("-", "_")] = value
    out = tmp_path / "github_output"
    out.write_text("")
    env["GITHUB_OUTPUT"] = str(out)
    env["PATH"] = _shim(tmp_path) + os.pathsep + env.get("PATH", "")
    # GitHub runs composite bash steps as `bash --noprofile --norc -eo pipefail {0}`
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc.returncode, outputs, proc.stdout + proc.stderr


def test_github_action_runs_the_scan_and_reports_the_exit_code(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("from transformers import AutoModel\ndef f(n):\n    return AutoModel.from_pretrained(n)\n")
    code, outputs, log = _run_action_script(tmp_path, repo, args="--exclude mlaudit.sarif")
    assert code == 0, log  # the step itself succeeds; the verdict step fails the job afterwards
    assert outputs == {"exit-code": "1", "sarif": str(repo / "mlaudit.sarif")}, log
    sarif = json.loads((repo / "mlaudit.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "reference-unresolved"
    assert "reference-unresolved" in log
    # a lenient fail-on and policy from the inputs
    policy = repo / "lenient.yaml"
    policy.write_text("name: lenient\nrules:\n  - {id: reference-unresolved, severity: warning}\n")
    code, outputs, log = _run_action_script(tmp_path, repo, policy="lenient.yaml", sarif="",
                                            args="--exclude mlaudit.sarif --exclude lenient.yaml")
    assert outputs == {"exit-code": "0", "sarif": ""}, log
    code, outputs, log = _run_action_script(tmp_path, repo, command="deploy")
    assert code == 2 and "command must be scan or check" in log
    verdict = _action_step("Verdict")["run"]
    assert 'exit "${MLAUDIT_EXIT:-3}"' in verdict


def test_pre_commit_hook_definition() -> None:
    import yaml

    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        [hook] = yaml.safe_load(fh)
    assert hook["id"] == "mlaudit-scan" and hook["entry"] == "mlaudit scan" and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the scan needs the whole repository, not the staged files
    res = run(*hook["entry"].split()[1:], "--help")
    assert res.exit_code == 0 and "--locked" in res.stdout


def test_reports_written_into_the_scanned_tree_are_not_scanned_next_time(tmp_path: Path, hub: FakeHub) -> None:
    make_repo(tmp_path)
    sarif = tmp_path / "mlaudit.sarif"
    first = run("scan", str(tmp_path), "--endpoint", hub.url, "--write", f"sarif={sarif}", "--format", "json",
                "--write-baseline", str(tmp_path / "baseline.json"))
    assert "huggingface.co/acme/" in sarif.read_text()  # Hub evidence is linked by URL in the SARIF
    second = run("scan", str(tmp_path), "--endpoint", hub.url, "--write", f"sarif={sarif}", "--format", "json",
                 "--baseline", str(tmp_path / "baseline.json"))
    assert second.exit_code == 0, second.stderr
    assert _refs(json.loads(second.stdout)) == _refs(json.loads(first.stdout)) == EXPECTED


def test_github_action_writes_a_job_summary_and_pins_its_actions(tmp_path):
    import re

    import yaml

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("from transformers import AutoModel\ndef f(n):\n    return AutoModel.from_pretrained(n)\n")
    code, _, log = _run_action_script(tmp_path, repo, args="--exclude mlaudit.sarif")
    assert code == 0, log
    summary = (tmp_path / "step_summary.md").read_text()
    assert "reference-unresolved" in summary and summary.lstrip().startswith("#")
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "action.yml"), encoding="utf-8") as fh:
        action = yaml.safe_load(fh)
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u) for u in uses), uses
    assert {"category", "working-directory"} <= set(action["inputs"])
    run = _action_step("Run mlaudit")
    assert run["working-directory"] == "${{ inputs.working-directory }}"
    cache = next(s for s in action["runs"]["steps"] if "actions/cache@" in s.get("uses", ""))
    assert "inputs.locked == 'true'" in cache["if"] and "huggingface" in cache["with"]["path"]


def test_mlaudit_output_in_the_tree_is_recognised_by_its_content(tmp_path: Path, hf_home: Path) -> None:
    """Every format mlaudit writes, copied into the scanned tree under names that say nothing, is not read
    as references (the JSON report lists the models, SARIF and JUnit name them) and does not fail the gate."""
    repo, out = tmp_path / "repo", tmp_path / "out"
    repo.mkdir()
    out.mkdir()
    (repo / "serve.sh").write_text("vllm serve acme/secret-model\n")
    formats = ("sarif", "junit", "markdown", "cyclonedx", "spdx")
    writes = [a for f in formats for a in ("--write", f"{f}={out / f}")]
    first, rep = scan_json(repo, "--offline", *writes)
    (out / "json").write_text(first.stdout)
    run("lock", "--offline", "--scan", str(repo), "--lockfile", str(out / "lock"))
    for i, path in enumerate(sorted(out.iterdir())):
        (repo / "ci" / f"artifact-{i}{'.json' if i % 2 else '.txt'}").parent.mkdir(exist_ok=True)
        (repo / "ci" / f"artifact-{i}{'.json' if i % 2 else '.txt'}").write_bytes(path.read_bytes())
    second, rep2 = scan_json(repo, "--offline")
    assert [(r["file"], r["model"]) for r in rep2["references"] if r["model"]] == [("serve.sh", "acme/secret-model")]
    skipped = [r for r in rep2["references"] if r["kind"] == "skipped"]
    assert len(skipped) == len(list(out.iterdir())) and all("written by mlaudit" in r["reason"] for r in skipped)
    assert {f["subject"] for f in rep2["findings"]} == {f["subject"] for f in rep["findings"]}  # none about ci/
