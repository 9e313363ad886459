"""Quality gates a new maintainer can rely on, checked on the source itself (ruff and mypy run in .ci/run):
no module over 500 lines without a written reason, no function over 80 lines, no wall-clock assertion in a
test, and a CLI start-up that imports no heavy third-party package."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "audit")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
REASON = "Why this module is long:"
HEAVY = ("huggingface_hub", "cyclonedx", "spdx_tools", "license_expression", "jsonschema", "httpx", "requests")


def _modules():
    for dirpath, _, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as fh:
                    yield os.path.relpath(path, ROOT), fh.read()


def test_no_module_over_500_lines_without_a_reason():
    long = []
    for rel, text in _modules():
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_MODULE_LINES and REASON not in doc:
            long.append(f"{rel}: {lines} lines")
    assert not long, f"modules over {MAX_MODULE_LINES} lines need '{REASON} ...' in their docstring: {long}"


def test_no_function_over_80_lines():
    long = []
    for rel, text in _modules():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name} ({size} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_no_wall_clock_assertions_in_tests():
    timers = re.compile(r"\b(?:time\.(?:monotonic|perf_counter|time)|elapsed)\b")
    bad = []
    for name in sorted(os.listdir(os.path.join(ROOT, "tests"))):
        if not name.endswith(".py") or name == "test_quality.py":
            continue
        with open(os.path.join(ROOT, "tests", name), encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.lstrip().startswith("assert") and timers.search(line):
                    bad.append(f"tests/{name}:{i}")
    assert not bad, f"timing belongs in benchmarks/, tests count operations instead: {bad}"


def test_cli_start_up_imports_no_heavy_package():
    code = (f"import sys, audit.cli; heavy = {HEAVY!r}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_package_ships_its_type_marker_and_schemas():
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as fh:
        text = fh.read()
    assert '"py.typed"' in text and "schemas/*.json" in text
