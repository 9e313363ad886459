"""Local directory audit throughput and CLI start-up.

Generates N snapshot directories from the real cards in tests/fixtures/cards (each card with the
files beside it), audits them in one process (parse, normalize, lineage from the offline registry,
evaluate, render JSON) and reports models per second. Then times `mlaudit --version`.

    python benchmarks/audit_bench.py --models 2000
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
CARDS = os.path.join(ROOT, "tests", "fixtures", "cards")


def generate(n: int, out: str) -> None:
    sources = sorted(d for d in os.listdir(CARDS) if os.path.isdir(os.path.join(CARDS, d)))
    for i in range(n):
        src = os.path.join(CARDS, sources[i % len(sources)])
        dst = os.path.join(out, f"{i:05d}-{os.path.basename(src)}")
        shutil.copytree(src, dst)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-lineage", action="store_true", help="skip base-model resolution (as `check --no-lineage`)")
    args = ap.parse_args()

    from audit.api import Options, audit, load_policy, render

    with tempfile.TemporaryDirectory() as tmp:
        generate(args.models, tmp)
        policy = load_policy(None)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = audit([tmp], policy, Options(offline=True, lineage=not args.no_lineage))
            text = render(report, "json")
            times.append(time.perf_counter() - t0)
        assert len(report.models) == args.models, (len(report.models), report.errors[:3])
        best = min(times)
        what = "local audit without lineage" if args.no_lineage else "local audit"
        print(f"{what}: {args.models} models, best {best:.2f} s of {args.repeat} "
              f"-> {args.models / best:,.0f} models/s (median {args.models / statistics.median(times):,.0f}); "
              f"JSON {len(text) / 1e6:.1f} MB")

    runs = []
    for _ in range(10):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "audit", "--version"], check=True, capture_output=True, cwd=ROOT)
        runs.append(time.perf_counter() - t0)
    exe = shutil.which("mlaudit")
    line = f"python -m audit --version: median {statistics.median(runs) * 1000:.0f} ms, best {min(runs) * 1000:.0f} ms"
    if exe:
        runs2 = []
        for _ in range(10):
            t0 = time.perf_counter()
            subprocess.run([exe, "--version"], check=True, capture_output=True)
            runs2.append(time.perf_counter() - t0)
        line += f"; mlaudit --version: median {statistics.median(runs2) * 1000:.0f} ms"
    print(line)


if __name__ == "__main__":
    main()
