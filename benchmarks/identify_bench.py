#!/usr/bin/env python3
"""License identification: mlaudit vs scancode-toolkit on the same labelled texts, in one run.

Measures, for each tool: accuracy of the license key against the labels (all texts, and the AI model
licenses alone), cold start of a fresh process identifying one file, warm time per file, peak memory.
mlaudit is also scored "held out": with the references derived from the corpus removed, so only the
ScanCode-derived references (and the short facts) can answer, which is the fair comparison for texts
the corpus itself supplied.

scancode-toolkit is a benchmark-only dependency, run in its own virtualenv (never imported here):
    python3 -m venv /work/scvenv && /work/scvenv/bin/pip install scancode-toolkit pluggy==1.6.0

Usage:
    python benchmarks/identify_bench.py [--labels ../shared/corpus/labels.yaml]
        [--scancode-python /work/scvenv/bin/python] [--repeat 5] [--no-scancode]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

Json = dict[str, Any]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tools"))

DEFAULT_LABELS = os.path.join(os.path.dirname(REPO), "shared", "corpus", "labels.yaml")
FALLBACK_LABELS = os.path.join(REPO, "tests", "fixtures", "licenses", "corpus", "labels.yaml")
DEFAULT_SCANCODE_PYTHON = "/work/scvenv/bin/python"
NON_AI_FAMILIES = {"mit", "apache", "cc", "bsd", "gpl"}

MLAUDIT_COLD = """
import resource, sys, time
t = time.perf_counter()
from audit.licenses.identify import identify_file
r = identify_file(sys.argv[1])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, r[0].key)
"""

SCANCODE_DRIVER = """
import json, resource, sys, time
t0 = time.perf_counter()
from scancode.api import get_licenses
files = sys.argv[2:]
mode = sys.argv[1]
first = get_licenses(files[0])
cold = time.perf_counter() - t0
out = {"cold": cold, "times": [], "answers": []}
if mode == "all":
    for f in files:
        t = time.perf_counter()
        r = get_licenses(f)
        out["times"].append(time.perf_counter() - t)
        keys = []
        for det in r.get("license_detections") or []:
            for m in det.get("matches") or []:
                keys.append([m.get("license_expression"), m.get("score"), m.get("start_line")])
        out["answers"].append({"expression": r.get("detected_license_expression"), "matches": keys})
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
"""


def load_items(path: str) -> tuple[str, list[Json]]:
    import yaml

    with open(path, encoding="utf-8") as fh:
        labels = yaml.safe_load(fh)
    base = os.path.dirname(path)
    items = [it for it in labels["items"] if it.get("kind") == "license"]
    for it in items:
        it["abs"] = os.path.join(base, it["file"])
    return base, items


def is_ai(item: Json) -> bool:
    return (item["expected"].get("family") or "") not in NON_AI_FAMILIES


def scancode_key(expression: str | None, matches: list[tuple[str | None, float, int | None]]) -> str | None:
    """ScanCode's answer in catalog keys: the first match, in reading order, whose key we map."""
    from build_fingerprints import SCANCODE_REFS

    mapping = {k: v[0] for k, v in SCANCODE_REFS.items() if not k.startswith("rules/")}
    for expr, _score, _line in sorted(matches, key=lambda m: (m[2] or 0)):
        for token in (expr or "").replace("(", " ").replace(")", " ").split():
            if token in mapping:
                return mapping[token]
    return None


def run_mlaudit(items: list[Json], repeat: int) -> Json:
    from audit.licenses import identify

    identify._data()
    answers = [identify.identify_file(it["abs"]) for it in items]  # warm-up and the answers
    times = []
    for _ in range(repeat):
        for it in items:
            t = time.perf_counter()
            identify.identify_file(it["abs"])
            times.append(time.perf_counter() - t)
    held_out = None
    data = identify._data()
    if any(s.startswith("scancode:") for r in data.refs for s in r.sources):
        sub = identify._subset(data, lambda r: any(s.startswith("scancode:") for s in r.sources))
        held_out = []
        for it in items:
            with open(it["abs"], encoding="utf-8") as fh:
                held_out.append(identify._identify(fh.read(), os.path.basename(it["abs"]), sub))
    colds, rss = [], []
    for _ in range(5):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", MLAUDIT_COLD, items[0]["abs"]], cwd=REPO, capture_output=True, text=True, check=True
        )
        colds.append(time.perf_counter() - t)
        rss.append(int(out.stdout.split()[1]))
    return {"answers": answers, "held_out": held_out, "warm": statistics.mean(times), "cold": statistics.median(colds), "rss_kb": max(rss)}


def run_scancode(items: list[Json], python: str) -> Json:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(SCANCODE_DRIVER)
        driver = fh.name
    try:
        files = [it["abs"] for it in items]
        t = time.perf_counter()
        subprocess.run([python, driver, "one", files[0]], capture_output=True, text=True, check=True)
        cold = time.perf_counter() - t
        out = subprocess.run([python, driver, "all", *files], capture_output=True, text=True, check=True)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        version = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('scancode-toolkit'))"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    finally:
        os.unlink(driver)
    keys = [scancode_key(a["expression"], a["matches"]) for a in data["answers"]]
    return {"keys": keys, "warm": statistics.mean(data["times"]), "cold": cold, "rss_kb": data["maxrss_kb"], "version": version}


def expected_key(label: str) -> str:
    """A label id as a catalog key (labels say creativeml-openrail++-m where the catalog says openrail++)."""
    try:
        from audit.licenses.catalog import catalog

        cat = catalog()
        return label if label in cat else (cat.lookup(label) or label)
    except Exception:
        return label


def score(items: list[Json], keys: list[str | None], confidences: list[float] | None = None) -> Json:
    ok = [k == expected_key(it["expected"]["license_id"]) for k, it in zip(keys, items)]
    ai = [o for o, it in zip(ok, items) if is_ai(it)]
    out: Json = {"all": (sum(ok), len(ok)), "ai": (sum(ai), len(ai))}
    if confidences is not None:
        out["confident_wrong"] = sum(1 for o, c in zip(ok, confidences) if not o and c >= 0.5)
    return out


def fmt_acc(pair: tuple[int, int]) -> str:
    n, d = pair
    return f"{n}/{d} ({100 * n / max(1, d):.0f}%)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", default=DEFAULT_LABELS if os.path.exists(DEFAULT_LABELS) else FALLBACK_LABELS)
    ap.add_argument("--scancode-python", default=DEFAULT_SCANCODE_PYTHON)
    ap.add_argument("--no-scancode", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--verbose", action="store_true", help="print each text's answers")
    args = ap.parse_args(argv)

    _, items = load_items(args.labels)
    ml = run_mlaudit(items, args.repeat)
    ml_keys = [r[0].key for r in ml["answers"]]
    ml_conf = [r[0].confidence for r in ml["answers"]]
    ml_score = score(items, ml_keys, ml_conf)
    authentic_ok = sum(
        (r[0].verdict == "exact") == bool(it["expected"]["authentic_full_text"]) for r, it in zip(ml["answers"], items)
    )
    held = None
    if ml["held_out"] is not None:
        held = score(items, [r[0].key for r in ml["held_out"]], [r[0].confidence for r in ml["held_out"]])
    sc = None
    if not args.no_scancode and os.path.exists(args.scancode_python):
        sc = run_scancode(items, args.scancode_python)
        sc_score = score(items, sc["keys"])

    if args.verbose:
        for i, it in enumerate(items):
            r = ml["answers"][i][0]
            h = ml["held_out"][i][0] if ml["held_out"] else None
            print(
                f"{it['file']:50s} expected={it['expected']['license_id']:32s} mlaudit={r.key}/{r.verdict}/{r.confidence}"
                + (f" held-out={h.key}/{h.verdict}/{h.confidence}" if h else "")
                + (f" scancode={sc['keys'][i]}" if sc else "")
            )

    n = len(items)
    n_ai = sum(is_ai(it) for it in items)
    head = ["", "mlaudit"] + (["mlaudit, held out (ScanCode refs only)"] if held else []) + ([f"scancode-toolkit {sc['version']}"] if sc else [])
    rows = [
        [f"key accuracy, all {n} texts", fmt_acc(ml_score["all"])] + ([fmt_acc(held["all"])] if held else []) + ([fmt_acc(sc_score["all"])] if sc else []),
        [f"key accuracy, AI model licenses ({n_ai})", fmt_acc(ml_score["ai"])] + ([fmt_acc(held["ai"])] if held else []) + ([fmt_acc(sc_score["ai"])] if sc else []),
        ["wrong key with confidence >= 0.5", str(ml_score["confident_wrong"])] + ([str(held["confident_wrong"])] if held else []) + (["n/a (no confidence)"] if sc else []),
        ["full text vs stub told apart", f"{authentic_ok}/{n}"] + (["-"] if held else []) + (["n/a"] if sc else []),
        ["cold start: fresh process, one file", f"{ml['cold']:.2f} s"] + (["-"] if held else []) + ([f"{sc['cold']:.2f} s"] if sc else []),
        ["warm time per file", f"{ml['warm'] * 1000:.1f} ms"] + (["-"] if held else []) + ([f"{sc['warm'] * 1000:.0f} ms"] if sc else []),
        ["peak memory (RSS)", f"{ml['rss_kb'] / 1024:.0f} MB"] + (["-"] if held else []) + ([f"{sc['rss_kb'] / 1024:.0f} MB"] if sc else []),
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if sc:
        print(f"\nwarm speed-up: {sc['warm'] / ml['warm']:.0f}x; cold start: {sc['cold'] / ml['cold']:.0f}x")
    print(f"texts: {args.labels} ({n} license items); warm = mean of {args.repeat} passes after a warm-up pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
