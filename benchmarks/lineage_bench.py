"""Lineage benchmark and label agreement.

    python benchmarks/lineage_bench.py                 # 200 models, ancestors on a local Hub with 50 ms latency
    python benchmarks/lineage_bench.py --labels [DIR]  # agreement with the corpus labels (registry only, offline)
    python benchmarks/lineage_bench.py --corpus DIR [DIR ...] [--verbose]
        # accuracy on labelled real cards (labels.jsonl or labels.yaml), each card alone and with --models-dir,
        # plus local throughput (see run_corpus)
    python benchmarks/lineage_bench.py --corpus DIR --withhold-declared
        # the same, each card alone, with its declared bases withheld (base_model, base_model_relation and the
        # Hub's base_model: tags dropped from a copy of its front matter): what the rest of a real card says

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


# -- accuracy on labelled real cards, both ways -------------------------------------------------------------------
def _corpus_rows(directory: str) -> list[dict]:
    """One row per labelled model with a card: dir, effective (set or None), required/accept, conflict label."""
    import json

    import yaml

    rows = []
    jl = os.path.join(directory, "labels.jsonl")
    if os.path.exists(jl):
        with open(jl, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                d = os.path.join(directory, "cards", r["dir"])
                if not os.path.isdir(d):
                    continue
                eff = r.get("expected_effective")
                rows.append({"id": r["model_id"], "dir": d, "effective": set(eff) if eff else None,
                             "required": r.get("effective_required"), "accept": set(r.get("effective_accept_also") or ()),
                             "conflict": r["expected_conflict"]})
        return rows
    with open(os.path.join(directory, "labels.yaml"), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for item in data["items"]:
        if item["kind"] != "card":
            continue
        d = os.path.join(directory, os.path.dirname(item["file"]))
        want = set(item["expected"]["effective_licenses"])
        rows.append({"id": item["id"], "dir": d, "effective": None if want == {"unknown"} else want,
                     "required": None, "accept": set(), "conflict": item["expected"]["conflict"], "exact": True})
    return rows


def _effective_right(row: dict, ours: set[str]) -> bool:
    """labels.yaml: the same set. labels.jsonl: the required license (or an accepted alternative) is there, and
    nothing outside the expected and accepted ones."""
    want = row["effective"]
    if row.get("exact"):
        return ours == want
    allowed = want | row["accept"]
    return bool(ours) and ours <= allowed and bool(ours & ({row["required"]} | row["accept"]))


def _audit_dirs(dirs: list[str], models_dir: str | None):
    from audit.api import Options, audit

    opts = Options(offline=True, models_dirs=(models_dir,) if models_dir else (), cache_dir=_empty_cache())
    return audit(dirs, None, options=opts)


_CACHE: list[str] = []


def _empty_cache() -> str:
    if not _CACHE:
        _CACHE.append(tempfile.mkdtemp(prefix="mlaudit-bench-cache-"))
    return _CACHE[0]


def _score(rows: list[dict], report, verbose: bool) -> dict[str, float]:
    from audit.licenses.catalog import catalog

    cat = catalog()
    by_subject = {os.path.abspath(m.subject): m for m in report.models}
    conflicts: dict[str, bool] = {}
    term_fail: set[str] = set()  # failed by a policy rule on its license's terms (non-commercial, ...): the policy at work
    for f in report.findings:
        if f.check == "lineage-conflict":
            conflicts[os.path.abspath(f.subject)] = True
        if f.check is None and f.outcome.value != "waived" and f.severity.value in ("error", "critical"):
            term_fail.add(os.path.abspath(f.subject))
    tp = fp = fn = 0
    eff_ok = eff_n = pass_ok = pass_n = other_n = 0
    for row in rows:
        m = by_subject.get(os.path.abspath(row["dir"]))
        if m is None:
            continue
        ours = {k for k in m.effective.keys if k in cat and not cat[k].ambiguous}
        if not ours or "NOASSERTION" in (m.effective.expression or ""):
            ours = ours or {"unknown"}
        conflict = conflicts.get(os.path.abspath(row["dir"]), False)
        eff_good = None
        if row["effective"] is not None:
            eff_n += 1
            eff_good = _effective_right(row, ours)
            eff_ok += eff_good
        if row["conflict"] is True:
            tp += conflict
            fn += not conflict
        elif row["conflict"] is False:
            fp += conflict
        if row["effective"] is not None and row["conflict"] is False:
            if os.path.abspath(row["dir"]) in term_fail:
                other_n += 1  # "unless another real finding fails it": not counted
            else:
                pass_n += 1
                pass_ok += m.passed
        if verbose and (eff_good is False or (row["conflict"] in (True, False) and conflict != row["conflict"])
                        or (row["effective"] is not None and row["conflict"] is False and not m.passed)):
            print(f"  DIFF {row['id']}: effective {sorted(ours)} (label {sorted(row['effective'] or ())}); "
                  f"conflict {conflict} (label {row['conflict']}); passed {m.passed}")
    return {"effective": eff_ok / max(1, eff_n), "eff_n": eff_n, "precision": tp / max(1, tp + fp),
            "recall": tp / max(1, tp + fn), "tp": tp, "fp": fp, "fn": fn, "pass": pass_ok / max(1, pass_n),
            "pass_n": pass_n, "other_n": other_n}


def run_corpus(directory: str, verbose: bool = False) -> None:
    """Each card alone (offline, ancestors only from mlaudit's own knowledge) and with --models-dir cards/:
    effective license right (% of labelled models), lineage-conflict precision and recall (labels
    'uncertain' left out), the share of known-license no-conflict models that pass the default policy (those a
    policy rule on their license's terms fails, e.g. non-commercial, left out: "unless another real finding
    fails it"), and
    the local throughput of the batched audit (one process, so models/s per core)."""
    rows = _corpus_rows(directory)
    dirs = [r["dir"] for r in rows]
    cards = os.path.join(directory, "cards")
    _audit_dirs(dirs[:5], None)  # imports and data loaded outside the timing
    for mode, models_dir in (("alone", None), ("--models-dir", cards)):
        t0 = time.perf_counter()
        report = _audit_dirs(dirs, models_dir)
        dt = time.perf_counter() - t0
        if verbose:
            print(f"{directory} [{mode}]")
        s = _score(rows, report, verbose)
        print(f"{os.path.basename(directory.rstrip('/'))} [{mode}]: {len(report.models)} models; effective right "
              f"{s['effective']:.1%} of {s['eff_n']}; conflicts precision {s['precision']:.2f} recall "
              f"{s['recall']:.2f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); pass default policy "
              f"{s['pass']:.1%} of {s['pass_n']} ({s['other_n']} failed by a rule on their license's terms left out); {len(report.models) / dt:,.0f} models/s ({dt:.2f} s)")


def run_withheld(directory: str, verbose: bool = False) -> None:
    """Each card alone, its declared bases withheld: how well inference alone (the body, code blocks, tags,
    names, files) recovers what the card declared, on real cards. A card whose front matter cannot be read as
    a mapping is copied as it is."""
    import yaml

    from audit.card import normalize_line_breaks, split_front_matter

    rows = _corpus_rows(directory)
    root = tempfile.mkdtemp(prefix="mlaudit-withheld-")
    withheld = 0
    for row in rows:
        d = os.path.join(root, os.path.basename(row["dir"]))
        os.makedirs(d)
        with open(os.path.join(row["dir"], "README.md"), encoding="utf-8", errors="replace") as fh:
            text = normalize_line_breaks(fh.read())
        yaml_text, body, _ = split_front_matter(text)  # the front matter as mlaudit itself finds it
        try:
            fm = yaml.safe_load(yaml_text) if yaml_text is not None else None
        except yaml.YAMLError:
            fm = None
        if isinstance(fm, dict):
            tags = fm.get("tags")
            declared_tags = [t for t in tags if isinstance(t, str) and t.startswith("base_model:")] \
                if isinstance(tags, list) else []
            if "base_model" in fm or declared_tags:
                withheld += 1
                fm.pop("base_model", None)
                fm.pop("base_model_relation", None)
                if declared_tags:
                    fm["tags"] = [t for t in tags if t not in declared_tags]
                text = "---\n" + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True) + "---\n" + body
        with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as fh:
            fh.write(text)
        row["dir"] = d
    report = _audit_dirs([r["dir"] for r in rows], None)
    s = _score(rows, report, verbose)
    print(f"{os.path.basename(directory.rstrip('/'))} [alone, declared bases withheld from {withheld} cards]: effective "
          f"right {s['effective']:.1%} of {s['eff_n']}; conflicts precision {s['precision']:.2f} recall "
          f"{s['recall']:.2f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); pass default policy {s['pass']:.1%} of "
          f"{s['pass_n']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", nargs="?", const=os.path.join(ROOT, "tests", "fixtures", "cards"), default=None,
                    help="measure agreement with labels.yaml in this directory instead of timing")
    ap.add_argument("--corpus", nargs="+", default=None, help="labelled corpus directories (labels.jsonl or "
                    "labels.yaml beside cards/): accuracy both ways and local throughput")
    ap.add_argument("--verbose", action="store_true", help="with --corpus: print every disagreement")
    ap.add_argument("--withhold-declared", action="store_true", help="with --corpus: each card alone, its declared "
                    "bases withheld")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    if args.corpus:
        for d in args.corpus:
            if args.withhold_declared:
                run_withheld(d, args.verbose)
            else:
                run_corpus(d, args.verbose)
        return 0
    if args.labels:
        return labels(args.labels)
    timing(args.n, args.latency, 8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
