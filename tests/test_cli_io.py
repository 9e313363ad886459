"""The CLI's own input and output: a closed or full standard output, reports that would overwrite an input,
and lockfiles that would let a --locked run pass on nothing. Each is one line and exit code 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from audit.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "examples", "models", "deepseek-v4-flash")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def mlaudit(*args: str, **kwargs):
    return subprocess.run([sys.executable, "-m", "audit", *args], capture_output=False, env=ENV, **kwargs)


def test_a_closed_stdout_is_one_line_and_exit_2():
    r, w = os.pipe()
    os.close(r)
    try:
        proc = mlaudit("check", MODEL, "--format", "json", stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["mlaudit: standard output: cannot write the report (closed)"]


def test_a_full_stdout_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:
        proc = mlaudit("check", MODEL, stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["mlaudit: standard output: cannot write the report (no space left)"]


def test_a_report_never_overwrites_an_audited_file(tmp_path):
    card = tmp_path / "m" / "README.md"
    card.parent.mkdir()
    card.write_text("---\nlicense: mit\n---\n")
    before = card.read_text()
    for option in (["-o", str(card)], ["--write", f"sarif={card}"], ["--write-baseline", str(card)]):
        res = CliRunner().invoke(main, ["check", str(card.parent), "--offline", *option])
        assert res.exit_code == 2, option
        assert "is an input of this run" in res.stderr and card.read_text() == before
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\nrules: []\n")
    res = CliRunner().invoke(main, ["check", str(card.parent), "--offline", "-p", str(policy), "-o", str(policy)])
    assert res.exit_code == 2 and policy.read_text() == "name: p\nrules: []\n"


def test_an_empty_lockfile_does_not_pass(tmp_path):
    lock = tmp_path / "mlaudit.lock"
    lock.write_text(json.dumps({"schema": "mlaudit.lock/1", "policy": {}, "models": []}))
    res = CliRunner().invoke(main, ["check", "--locked", "--lockfile", str(lock)])
    assert res.exit_code == 2 and "locks no model" in res.stderr
    lock.write_text("")
    res = CliRunner().invoke(main, ["check", "--locked", "--lockfile", str(lock)])
    assert res.exit_code == 2 and str(lock) in res.stderr


def test_colour_follows_the_flag_then_no_color_then_force_color():
    def colored(args, env):
        res = CliRunner().invoke(main, ["check", MODEL, "--offline", *args], env={"HF_HUB_OFFLINE": "1", **env})
        return "\x1b[" in res.stdout

    assert not colored([], {})  # not a terminal
    assert colored([], {"FORCE_COLOR": "1"})
    assert not colored([], {"FORCE_COLOR": "0"})
    assert not colored([], {"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert colored(["--color"], {"NO_COLOR": "1"})
    assert not colored(["--no-color"], {"FORCE_COLOR": "1"})


def test_the_verdict_line_reaches_the_log_when_the_report_goes_to_a_file(tmp_path):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["check", MODEL, "--offline", "-f", "json", "-o", str(out)])
    assert res.exit_code == 0 and json.loads(out.read_text())["passed"] is True
    assert res.stderr.strip().splitlines()[-1].startswith("PASSED: 1 model(s)")
    quiet = CliRunner().invoke(main, ["check", MODEL, "--offline", "-f", "json", "-o", str(out), "--quiet"])
    assert quiet.stderr == ""


def test_identify_fail_on(tmp_path):
    lic = os.path.join(ROOT, "tests", "fixtures", "licenses", "corpus", "licenses", "mit.txt")
    changed = tmp_path / "LICENSE"
    with open(lic, encoding="utf-8") as fh:
        changed.write_text(fh.read().replace("without restriction", "for non-commercial purposes only"))
    junk = tmp_path / "NOTICE"
    junk.write_text("All rights reserved by nobody in particular.\n")

    def code(*args):
        return CliRunner().invoke(main, ["identify", *args]).exit_code

    assert code(lic, "--fail-on", "modified") == 0
    assert code(str(changed)) == 0 and code(str(changed), "--fail-on", "modified") == 1
    assert code(str(changed), "--fail-on", "unknown") == 0
    assert code(str(junk), "--fail-on", "unknown") == 1
