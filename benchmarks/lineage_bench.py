"""Lineage benchmark and label agreement.

    python benchmarks/lineage_bench.py                 # 200 models, ancestors on a local Hub with 50 ms latency
    python benchmarks/lineage_bench.py --labels [DIR]  # agreement with the corpus labels (registry only, offline)

Timing: 200 local model directories, each a fine-tune of a distinct Hub repo, which is itself a fine-tune of
one of 10 foundation models on the same fake Hub (tests/hubserver.py, 50 ms added to every request): 210
metadata requests. The full audit (audit.api.audit, default policy) is timed with the resolver's bounded
pool, and the same audit serially (one request at a time) for comparison.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

FOUNDATION_LICENSES = ("llama3.1", "gemma", "apache-2.0", "mit", "llama2")


def _card(**fields) -> str:
    import yaml

    return "---\n" + yaml.safe_dump(fields, sort_keys=False) + "---\n# model\n"


def build(hub, root: str, n: int) -> list[str]:
    for j in range(10):
        hub.add_model(f"found/base-{j}", {"README.md": _card(license=FOUNDATION_LICENSES[j % len(FOUNDATION_LICENSES)])})
    dirs = []
    for i in range(n):
        base = f"found/base-{i % 10}"
        lic = FOUNDATION_LICENSES[i % 10 % len(FOUNDATION_LICENSES)]
        hub.add_model(f"tune/ft-{i}", {"README.md": _card(license=lic, base_model=base)})
        d = os.path.join(root, f"model-{i:03d}")
        os.makedirs(d)
        with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as fh:
            own = "apache-2.0" if i % 3 == 0 else lic  # a third relicense their base: some are conflicts
            fh.write(_card(license=own, base_model=f"tune/ft-{i}"))
        dirs.append(d)
    return dirs


def timing(n: int, latency: float, workers: int) -> None:
    home = tempfile.mkdtemp(prefix="mlaudit-bench-home-")
    os.environ["HF_HOME"] = home
    os.environ["HF_HUB_CACHE"] = os.path.join(home, "hub")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import hubserver
    from hubserver import FakeHub

    # The test server writes headers and body separately; with Nagle's algorithm on, each answer then waits
    # for the client's delayed ACK (~40 ms on Linux) on top of the latency we add. The real Hub does not.
    hubserver._Handler.disable_nagle_algorithm = True

    from audit.api import Options, _Run, audit, load_policy
    from audit.lineage import Resolver
    from audit.sources.hub import HubClient

    with FakeHub(latency=latency) as hub:
        root = tempfile.mkdtemp(prefix="mlaudit-bench-models-")
        build(hub, root, n)
        client = HubClient(endpoint=hub.url, token=False, timeout=10)
        client.model_info("found/base-0")  # import huggingface_hub and open the session outside the timing
        hub.clear_requests()

        t0 = time.perf_counter()
        report = audit([root], None, Options(hub=client))
        concurrent = time.perf_counter() - t0
        requests = len(hub.requests)
        conflicts = sum(1 for f in report.findings if f.check == "lineage-conflict")
        assert len(report.models) == n and not report.errors, report.errors[:3]

        hub.clear_requests()
        policy = load_policy(None)
        t0 = time.perf_counter()
        run = _Run(Options(hub=client))
        run._resolver = Resolver(hub=client, use_cache=True, max_workers=1)  # one request at a time
        for _, snap in run.read([root]):
            run.audit_one(snap, policy)
        serial = time.perf_counter() - t0
        serial_requests = len(hub.requests)
    print(f"{n} models, {requests} Hub requests at {latency * 1000:.0f} ms each, {conflicts} lineage conflicts")
    print(f"concurrent (run_audit, resolver pool of {workers}): {concurrent:.2f} s")
    print(f"serial (one request at a time, {serial_requests} requests): {serial:.2f} s")


def labels(directory: str) -> int:
    import yaml

    from audit.card import parse_card
    from audit.licenses.catalog import catalog
    from audit.licenses.normalize import license_facts
    from audit.lineage import Resolver, effective_license, lineage_evidence, resolve_lineage
    from audit.model import Origin, Status

    with open(os.path.join(directory, "labels.yaml"), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    cat = catalog()
    r = Resolver()  # registry only: no Hub, no cache, no models dir
    tp = fp = fn = tn = 0
    eff_ok = eff_n = 0
    uncertain = []
    rows = []
    for item in data["items"]:
        if item["kind"] != "card":
            continue
        rel = item["file"]
        path = os.path.join(directory, rel)
        if not os.path.exists(path):
            path = os.path.join(directory, rel.split("/", 1)[1])
        with open(path, encoding="utf-8") as fh:
            card = parse_card(fh.read(), Origin("local", path, file=path))
        facts = license_facts(card, None)
        subject = os.path.dirname(path)
        lin = resolve_lineage(subject, card, facts, None, r)
        eff = effective_license(subject, facts, lin)
        ev = lineage_evidence(subject, card, facts, lin, eff)
        conflict = any(e.check == "lineage-conflict" for e in ev)
        ours = {k for k in eff.keys if k in cat and not cat[k].ambiguous}
        undecided = not ours or "NOASSERTION" in (eff.expression or "") or any(
            cat[k].ambiguous for k in eff.keys if k in cat)
        if undecided and (not ours or facts.status is Status.UNKNOWN):
            ours.add("unknown")
        exp = item["expected"]
        want = set(exp["effective_licenses"])
        eff_n += 1
        eff_ok += ours == want
        label = exp["conflict"]
        if label is True:
            tp += conflict
            fn += not conflict
        elif label is False:
            fp += conflict
            tn += not conflict
        else:
            uncertain.append((item["id"], conflict))
        mark = "ok " if (label not in (True, False) or conflict == label) and ours == want else "DIFF"
        rows.append(f"{mark} {item['id']}: conflict {conflict} (label {label}); effective {sorted(ours)} "
                    f"(label {sorted(want)})")
    n = tp + fp + fn + tn
    print("\n".join(rows))
    print(f"conflict verdict: {tp + tn}/{n} agree ({(tp + tn) / n:.1%}); precision {tp / max(1, tp + fp):.2f}, "
          f"recall {tp / max(1, tp + fn):.2f} (tp {tp}, fp {fp}, fn {fn}, tn {tn}); "
          f"uncertain labels not counted: {', '.join(f'{i} (ours {c})' for i, c in uncertain)}")
    print(f"effective licenses: {eff_ok}/{eff_n} agree ({eff_ok / eff_n:.1%})")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", nargs="?", const=os.path.join(ROOT, "tests", "fixtures", "cards"), default=None,
                    help="measure agreement with labels.yaml in this directory instead of timing")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    if args.labels:
        return labels(args.labels)
    timing(args.n, args.latency, 8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
