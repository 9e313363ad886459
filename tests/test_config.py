"""Configuration: `.mlaudit.yaml` or `[tool.mlaudit]` in pyproject.toml, found from the current directory up to
the git root; command-line options override it; a bad file is exit code 2 naming file and line."""
from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.config import discover, find_config, load_config
from audit.errors import UsageError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EX = os.path.join(ROOT, "examples", "models")
NC_MODEL = os.path.join(EX, "cc-by-nc-summarizer")  # non-commercial: fails the default policy, passes research
RESEARCH = os.path.join(ROOT, "policies", "research.yaml")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"HF_HUB_OFFLINE": "1"})


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git repository with a subdirectory; the current directory is the subdirectory."""
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    return tmp_path


def test_found_from_a_subdirectory_and_paths_are_relative_to_the_file(project):
    (project / "policies").mkdir()
    with open(RESEARCH, encoding="utf-8") as fh:
        (project / "policies" / "ours.yaml").write_text(fh.read())
    (project / ".mlaudit.yaml").write_text(
        "policy: policies/ours.yaml\nmodels-dirs: [vendor/models]\nfail_on: warning\noffline: true\n"
        "inputs: [models/x, acme/from-hub]\noutputs: {sarif: out/m.sarif}\n"
    )
    (project / "models" / "x").mkdir(parents=True)
    cfg = discover()
    assert cfg.path == str(project / ".mlaudit.yaml")
    assert cfg.get("policy") == str(project / "policies" / "ours.yaml")
    assert cfg.get("models_dirs") == (str(project / "vendor" / "models"),)
    assert cfg.get("fail_on") == "warning" and cfg.get("offline") is True
    assert cfg.get("inputs") == (str(project / "models" / "x"), "acme/from-hub")  # a Hub id stays as written
    assert cfg.get("outputs") == {"sarif": str(project / "out" / "m.sarif")}


def test_search_stops_at_the_git_root(tmp_path, monkeypatch):
    (tmp_path / ".mlaudit.yaml").write_text("fail_on: note\n")  # above the repository: not ours
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    assert find_config() is None
    (repo / ".git").rmdir()  # no repository: the search goes on upward
    assert find_config() == str(tmp_path / ".mlaudit.yaml")


def test_pyproject_table_and_pyprojects_without_one(project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.mlaudit]\npolicy = "p.yaml"\nfail-on = "note"\n')
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')  # no [tool.mlaudit]: skipped
    cfg = discover()
    assert cfg.path == str(project / "pyproject.toml")
    assert cfg.get("policy") == str(project / "p.yaml") and cfg.get("fail_on") == "note"
    (project / ".mlaudit.yaml").write_text("fail_on: error\n")
    with pytest.raises(UsageError, match=r"\.mlaudit\.yaml and pyproject\.toml \[tool\.mlaudit\] both configure"):
        discover()


@pytest.mark.parametrize("name, text, where, fragment", [
    (".mlaudit.yaml", "policy: a.yaml\nfail_on: [error\n", 3, "not valid YAML"),
    (".mlaudit.yaml", "policy: a.yaml\n\npolcy: b.yaml\n", 3, "unknown key 'polcy'"),
    (".mlaudit.yaml", "offline: yes please\n", 1, "'offline' must be true or false"),
    (".mlaudit.yaml", "format: pdf\n", 1, "'format' must be one of text, json"),
    (".mlaudit.yaml", "outputs:\n  pdf: x.pdf\n", 1, "'outputs': unknown format 'pdf'"),
    (".mlaudit.yaml", "- just\n- a list\n", 1, "must be a mapping"),
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.mlaudit]\npolicy = "a.yaml"\nfail_on = "critical"\n', 6,
     "'fail_on' must be one of error, warning, note"),
    ("pyproject.toml", '[tool.mlaudit]\npolicy = "a.yaml"\nmodels_dirs = "m"\nbogus = 1\n', 4, "unknown key 'bogus'"),
    ("pyproject.toml", '[tool.mlaudit]\npolicy = "a.yaml\n', 2, "not valid TOML"),
])
def test_bad_configuration_is_exit_2_with_file_and_line(project, name, text, where, fragment):
    path = project / name
    path.write_text(text)
    res = run("check", NC_MODEL, "--offline")
    assert res.exit_code == 2, (res.stdout, res.stderr)
    line = res.stderr.strip()
    assert "\n" not in line and line.startswith(f"mlaudit: {path}:{where}: "), line
    assert fragment in line


def test_command_line_overrides_the_file(project):
    (project / ".mlaudit.yaml").write_text(f"policy: {RESEARCH}\nformat: json\n")
    res = run("check", NC_MODEL, "--offline")  # research policy from the file: passes, as JSON
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["policy"]["name"] == "research"
    res = run("check", NC_MODEL, "--offline", "--format", "text")  # --format wins
    assert res.exit_code == 0 and res.stdout.rstrip().splitlines()[-1].startswith("PASSED")
    default = os.path.join(ROOT, "audit", "policy", "default.yaml")
    res = run("check", NC_MODEL, "--offline", "--policy", default)  # --policy wins
    assert res.exit_code == 1 and json.loads(res.stdout)["policy"]["name"] == "default"
    res = run("check", NC_MODEL, "--offline", "--no-config")  # the file ignored: text, default policy
    assert res.exit_code == 1 and res.stdout.rstrip().splitlines()[-1].startswith("FAILED")


def test_fail_on_from_the_file_and_from_the_command_line(project):
    ok = os.path.join(EX, "gemma-2-9b-support-agent")  # passes the default policy, with note-level findings
    res = run("check", ok, "--offline", "--format", "json")
    rep = json.loads(res.stdout)
    assert res.exit_code == 0 and {f["severity"] for f in rep["findings"]} & {"note", "warning"}
    (project / ".mlaudit.yaml").write_text("fail_on: note\n")
    assert run("check", ok, "--offline").exit_code == 1
    assert run("check", ok, "--offline", "--fail-on", "error").exit_code == 0


def test_inputs_outputs_and_offline_from_the_file(project, hf_home):
    (project / ".mlaudit.yaml").write_text(
        f"inputs: [{NC_MODEL}]\npolicy: {RESEARCH}\noutputs:\n  junit: reports/junit.xml\n  sarif: reports/m.sarif\n"
        "offline: true\nendpoint: http://127.0.0.1:9\n"
    )
    (project / "reports").mkdir()
    res = CliRunner().invoke(main, ["check"], catch_exceptions=False, env={})  # no inputs: the file's
    assert res.exit_code == 0, res.stderr
    assert "PASSED: 1 model(s)" in res.stdout
    assert "<testsuites" in (project / "reports" / "junit.xml").read_text()
    assert json.loads((project / "reports" / "m.sarif").read_text())["version"] == "2.1.0"
    # offline: true from the file keeps a Hub id off the network; --online on the command line would not
    (project / ".mlaudit.yaml").write_text("inputs: [acme/not-cached]\noffline: true\n")
    res = CliRunner().invoke(main, ["check"], catch_exceptions=False, env={})
    assert res.exit_code == 3 and "is not in the HF cache" in res.stderr
    res = CliRunner().invoke(main, ["check", "--online", "--endpoint", "http://127.0.0.1:9"], catch_exceptions=False, env={})
    assert res.exit_code == 3 and "cannot reach http://127.0.0.1:9" in res.stderr


def test_explicit_config_file(tmp_path):
    cfg = tmp_path / "ci.yaml"
    cfg.write_text(f"policy: {RESEARCH}\n")
    res = run("check", NC_MODEL, "--offline", "--config", str(cfg))
    assert res.exit_code == 0
    res = run("check", NC_MODEL, "--offline", "--config", str(tmp_path / "missing.yaml"))
    assert res.exit_code == 2 and f"mlaudit: {tmp_path / 'missing.yaml'}: does not exist" in res.stderr


def test_load_config_reads_hyphenated_and_empty_files(tmp_path):
    empty = tmp_path / ".mlaudit.yaml"
    empty.write_text("# nothing yet\n")
    assert dict(load_config(str(empty)).values) == {}
    toml = tmp_path / "pyproject.toml"
    toml.write_text('[tool.mlaudit]\nfail-on = "warning"\nexclude = ["tests/*"]\n\n[tool.mlaudit.outputs]\nsarif = "a.sarif"\n')
    cfg = load_config(str(toml))
    assert cfg.get("fail_on") == "warning" and cfg.get("exclude") == ("tests/*",)
    assert cfg.get("outputs") == {"sarif": str(tmp_path / "a.sarif")}


def test_default_lockfile_sits_beside_the_configuration(project, hf_home):
    model = project / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    (project / ".mlaudit.yaml").write_text("inputs: [models/tiny]\noffline: true\n")
    res = CliRunner().invoke(main, ["lock"], catch_exceptions=False, env={})  # from src/pkg
    assert res.exit_code == 0, res.stderr
    assert (project / "mlaudit.lock").exists() and not (project / "src" / "pkg" / "mlaudit.lock").exists()
    res = CliRunner().invoke(main, ["check", "--locked"], catch_exceptions=False, env={})
    assert res.exit_code == 0, res.stderr
    assert "PASSED: 1 model(s)" in res.stdout


@pytest.mark.parametrize("text", [
    'tool.mlaudit.fail_on = "note"\n',
    '[tool]\nmlaudit.fail_on = "note"\n',
    '[tool]\nmlaudit = {fail_on = "note"}\n',
    '[tool.mlaudit]\nfail_on = "note"\n',
])
def test_every_toml_spelling_of_the_table_is_read(project, text):
    # a dotted key before any table header belongs to the root table
    (project / "pyproject.toml").write_text(text + '\n[project]\nname = "x"\n' if text.startswith("tool.") else
                                            '[project]\nname = "x"\n' + text)
    cfg = discover()
    assert cfg is not None and cfg.get("fail_on") == "note"


def test_dotted_key_errors_name_their_line(project):
    (project / "pyproject.toml").write_text('# settings\n\ntool.mlaudit.offline = "yes"\n[project]\nname = "x"\n')
    with pytest.raises(UsageError) as err:
        discover()
    assert err.value.input == f"{project / 'pyproject.toml'}:3" and "true or false" in err.value.message


def test_yaml_anchors_and_aliases_are_refused(project):
    (project / ".mlaudit.yaml").write_text("exclude: &x [a]\nmodels_dirs: *x\n")
    with pytest.raises(UsageError, match="anchors and aliases") as err:
        discover()
    assert err.value.input.endswith(".mlaudit.yaml:1")


def test_a_misspelt_key_suggests_the_right_one(project):
    (project / ".mlaudit.yaml").write_text("polcy: p.yaml\n")
    with pytest.raises(UsageError, match="did you mean 'policy'"):
        discover()


def test_the_same_key_in_two_spellings_is_refused(project):
    (project / ".mlaudit.yaml").write_text("fail_on: note\nfail-on: error\n")
    with pytest.raises(UsageError, match="given twice"):
        discover()


@pytest.mark.parametrize("text", [
    "output: ../../outside.json\n",
    "outputs: {sarif: /tmp/elsewhere/m.sarif}\n",
    "lockfile: ../../../mlaudit.lock\n",
])
def test_a_configuration_cannot_write_outside_its_project(project, text):
    (project / ".mlaudit.yaml").write_text(text)
    with pytest.raises(UsageError, match="outside the project"):
        discover()


def test_the_command_line_may_write_anywhere(project, tmp_path_factory):
    (project / ".mlaudit.yaml").write_text("output: reports/out.json\nformat: json\n")
    out = tmp_path_factory.mktemp("elsewhere") / "r.json"
    res = run("check", NC_MODEL, "--policy", RESEARCH, "-o", str(out))
    assert res.exit_code == 0 and json.loads(out.read_text())["passed"] is True
    assert not (project / "reports" / "out.json").exists()
