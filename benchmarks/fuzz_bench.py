"""Fuzz the fail-closed invariants: N generated hostile snapshots (tests/fuzzgen.py) audited with the default
policy, offline. Counts wrong passes (a poisoned case that passed), wrong fails (a clean case that failed),
internal errors (an exception that is not an AuditError) and hangs (over --timeout seconds per case).

    python benchmarks/fuzz_bench.py --cases 10000 [--seed 1] [--timeout 20]
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from fuzzgen import generate, write

import audit


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("--show", type=int, default=5, help="examples to print per kind of failure")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    poisons: collections.Counter[str] = collections.Counter()
    wrong_by: collections.Counter[str] = collections.Counter()
    signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    root = tempfile.mkdtemp(prefix="mlaudit-fuzz-")
    try:
        for i in range(args.cases):
            case = generate(rng)
            poisons.update(case.poison)
            directory = write(case, os.path.join(root, f"m{i}"))
            signal.alarm(args.timeout)
            try:
                report = audit.audit([directory], offline=True)
                outcome = "pass" if report.passed and not report.errors else "fail"
            except Hang:
                outcome = "hang"
            except audit.errors.AuditError:
                outcome = "fail"
            except Exception as exc:
                outcome = f"internal:{type(exc).__name__}"
            finally:
                signal.alarm(0)
            kind = ("wrong-pass" if case.must_fail and outcome == "pass" else
                    "wrong-fail" if not case.must_fail and outcome == "fail" else
                    "internal-error" if outcome.startswith("internal") else
                    "hang" if outcome == "hang" else "ok")
            counts[kind] += 1
            if kind == "wrong-pass":
                wrong_by.update(case.poison)
            if kind != "ok" and len(examples[kind]) < args.show:
                examples[kind].append(f"case {i}: {outcome}; poison {case.poison}; README {case.files['README.md'][:160]!r}")
            shutil.rmtree(directory, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    took = time.perf_counter() - start
    print(f"inputs {args.cases} (seed {args.seed}) in {took:.1f} s: wrong passes {counts['wrong-pass']}, "
          f"wrong fails {counts['wrong-fail']}, internal errors {counts['internal-error']}, hangs {counts['hang']}")
    print("poison kinds: generated, and in wrongly passed cases")
    for name, n in poisons.most_common():
        print(f"  {n:6d} {wrong_by[name]:6d}  {name}")
    for kind, lines in examples.items():
        print(kind)
        for line in lines:
            print("  " + line)
    return 0 if counts["wrong-pass"] + counts["internal-error"] + counts["hang"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
