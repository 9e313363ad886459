"""mlaudit.lock: the models a project uses, pinned, so a CI gate can re-audit them with no network.

Per model: the commit it resolved to (Hub and cache models) or its path (local models), the branch or tag
that was asked for, its own and effective license keys, the verdict when it was locked, and file hashes:
sha256 of every file the audit read (card, license-like files, configs), hashed by mlaudit from the bytes,
and the sha256 the Hub or cache lists for the other (LFS) files, which are not downloaded to be re-hashed.

`mlaudit check --locked` reads every model from the lock alone: Hub models from the HF cache at the locked
commit, local models from their paths; it never contacts the Hub. It fails when
  - a file no longer matches its locked hash (check `provenance-integrity`), and
  - the license differs from the locked one (check `license-drift`): because the files changed, or
    because the branch or tag that was locked now points, in the local cache, to a newer commit whose
    license differs (a new revision that was downloaded since, e.g. by a run without --locked).
The file is JSON, sorted, with no timestamps, so it changes only when a model does.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from audit.artifacts import file_digests
from audit.errors import AuditError, InputUnreadable, UsageError
from audit.model import (
    AuditReport,
    Evidence,
    Finding,
    LockSummary,
    ModelResult,
    NewerRevision,
    Origin,
    Snapshot,
    SourceKind,
    Verdict,
)
from audit.policy.grade import grade_evidence, with_findings
from audit.policy.schema import Policy
from audit.sources.base import read_json_file
from audit.sources.cache import cache_dir as default_cache_dir
from audit.sources.cache import read_cached
from audit.sources.ids import COMMIT_SHA as _HEX40
from audit.sources.ids import parse_repo_spec
from audit.sources.local import read_card_file, read_snapshot_dir

SCHEMA = "mlaudit.lock/1"
DEFAULT_LOCKFILE = "mlaudit.lock"
MAX_LOCK_BYTES = 64 * 1024 * 1024

_HUB_SOURCES = ("hub", "cache")
_LOCAL_SOURCES = ("local", "card")


@dataclass(frozen=True, slots=True)
class LockEntry:
    subject: str
    source: str  # hub | cache | local | card
    path: str | None = None  # local | card: the path, relative to the lockfile's directory, '/'-separated
    requested: str | None = None  # hub | cache: the branch or tag asked for ("main" when none was named)
    revision: str | None = None  # hub | cache: the commit it resolved to
    license: Mapping[str, Any] = field(default_factory=dict)  # {"expression", "keys"}
    effective: Mapping[str, Any] = field(default_factory=dict)  # {"expression", "keys"}
    verdict: str = "fail"  # pass | fail, under the policy the lock was written with
    files: Mapping[str, str] = field(default_factory=dict)  # file -> sha256 of the bytes mlaudit read
    lfs: Mapping[str, str] = field(default_factory=dict)  # file -> sha256 the Hub or cache lists

    @property
    def input(self) -> str:
        """How errors name this entry."""
        if self.source in _HUB_SOURCES:
            return f"{self.subject}@{self.revision}" if self.revision else self.subject
        return self.path or self.subject

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"subject": self.subject, "source": self.source}
        if self.source in _LOCAL_SOURCES:
            d["path"] = self.path
        else:
            d["requested"] = self.requested
            d["revision"] = self.revision
        d.update(
            license={"expression": self.license.get("expression"), "keys": sorted(self.license.get("keys") or ())},
            effective={"expression": self.effective.get("expression"), "keys": sorted(self.effective.get("keys") or ())},
            verdict=self.verdict,
            files=dict(sorted(self.files.items())),
            lfs=dict(sorted(self.lfs.items())),
        )
        return d


@dataclass(frozen=True, slots=True)
class Lockfile:
    path: str
    policy: Mapping[str, Any]
    entries: tuple[LockEntry, ...]


# --- hashes --------------------------------------------------------------------------------------------

def file_hashes(snapshot: Snapshot) -> tuple[dict[str, str], dict[str, str]]:
    """(files the audit read -> sha256 of their bytes, other files -> the sha256 the source lists)."""
    files: dict[str, str] = {}
    lfs: dict[str, str] = {}
    for f in snapshot.files:
        if f.path in snapshot.texts and f.local_path:
            digests = file_digests(f.local_path)
            if digests:
                files[f.path] = digests[0]
        elif f.sha256:
            lfs[f.path] = f.sha256
    return dict(sorted(files.items())), dict(sorted(lfs.items()))


# --- writing -------------------------------------------------------------------------------------------

def _requested(spec: str, snapshot: Snapshot) -> str | None:
    if snapshot.origin.source == "hub":
        try:
            return parse_repo_spec(spec)[1] or "main"
        except AuditError:
            return "main"
    refs = {k: v for k, v in (snapshot.info.get("refs") or {}).items() if v == snapshot.revision}
    if "main" in refs:
        return "main"
    return min(refs) if refs else None


def _entry(spec: str, snapshot: Snapshot, model: ModelResult, lock_dir: str) -> LockEntry:
    files, lfs = file_hashes(snapshot)
    source = snapshot.origin.source
    path = requested = revision = None
    if source in _HUB_SOURCES:
        requested, revision = _requested(spec, snapshot), snapshot.revision
    else:
        path = os.path.relpath(os.path.abspath(snapshot.origin.locator), lock_dir).replace(os.sep, "/")
    return LockEntry(
        subject=model.subject,
        source=source,
        path=path,
        requested=requested,
        revision=revision,
        license={"expression": model.license.expression, "keys": list(model.license.keys)},
        effective={"expression": model.effective.expression, "keys": list(model.effective.keys)},
        verdict=(Verdict.PASS if model.passed else Verdict.FAIL).value,
        files=files,
        lfs=lfs,
    )


def lock_entries(report: AuditReport, loaded: Sequence[tuple[str, object]], lock_path: str) -> list[LockEntry]:
    """One entry per audited model, from the report and the (input, snapshot) pairs it was made from."""
    lock_dir = os.path.dirname(os.path.abspath(lock_path))
    entries = []
    for m in report.models:
        pair = next(((s, snap) for s, snap in loaded
                     if isinstance(snap, Snapshot) and snap.subject == m.subject and snap.origin == m.origin), None)
        if pair is not None:
            entries.append(_entry(pair[0], pair[1], m, lock_dir))
    return entries


def lock_dict(report: AuditReport, entries: Iterable[LockEntry]) -> dict[str, Any]:
    rows = sorted((e.to_dict() for e in entries),
                  key=lambda d: (d["subject"].lower(), d.get("requested") or "", d.get("revision") or "", d.get("path") or ""))
    unique = list({json.dumps(r, sort_keys=True): r for r in rows}.values())  # one model named twice: once
    return {"schema": SCHEMA, "policy": {"name": report.policy_name, "sha256": report.policy_sha256}, "models": unique}


def write_lock(path: str, report: AuditReport, loaded: Sequence[tuple[str, object]]) -> Lockfile:
    """Write the lockfile for an audit with no unreadable input (a partial lock would drop a model silently)."""
    if report.errors:
        raise UsageError(path, "not written: some inputs could not be read (see the errors above)")
    entries = lock_entries(report, loaded, path)
    data = lock_dict(report, entries)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(path, f"cannot write the lockfile ({exc.strerror or exc})") from None
    return _parse(data, path)


# --- reading -------------------------------------------------------------------------------------------

def read_lock(path: str) -> Lockfile:
    """A lockfile; missing or malformed is a UsageError naming the file (and line)."""

    data = read_json_file(path, limit=MAX_LOCK_BYTES, missing="lockfile does not exist: write it with `mlaudit lock`")
    return _parse(data, path)


def _entry_error(path: str, index: int):
    return lambda msg: UsageError(path, f"models[{index}]: {msg}")


def _parse(data: Any, path: str) -> Lockfile:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("models"), list):
        raise UsageError(path, f"not an mlaudit lockfile (expected schema {SCHEMA!r} and a 'models' list)")
    entries = []
    for i, d in enumerate(data["models"]):
        bad = _entry_error(path, i)
        if not isinstance(d, dict) or not isinstance(d.get("subject"), str) \
                or d.get("source") not in _HUB_SOURCES + _LOCAL_SOURCES:
            raise bad("needs a subject and a source (hub, cache, local or card)")
        source = d["source"]
        if source in _HUB_SOURCES and not (isinstance(d.get("revision"), str) and _HEX40.match(d["revision"])):
            raise bad("a Hub or cache model needs the 40-hex commit it is locked at in 'revision'")
        if source in _LOCAL_SOURCES and not (isinstance(d.get("path"), str) and d["path"]):
            raise bad("a local model needs its 'path'")
        for key in ("files", "lfs"):
            v = d.get(key, {})
            if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(h, str) for k, h in v.items()):
                raise bad(f"'{key}' must map file names to sha256 hashes")
        for key in ("license", "effective"):
            v = d.get(key, {})
            if not isinstance(v, dict) or not isinstance(v.get("keys", []), list):
                raise bad(f"'{key}' must be {{expression, keys}}")
        entries.append(LockEntry(
            subject=d["subject"], source=source, path=d.get("path"), requested=d.get("requested"),
            revision=d.get("revision"), license=d.get("license") or {}, effective=d.get("effective") or {},
            verdict=str(d.get("verdict", "fail")), files=d.get("files") or {}, lfs=d.get("lfs") or {},
        ))
    policy = data.get("policy")
    return Lockfile(path, policy if isinstance(policy, dict) else {}, tuple(entries))


# --- the inputs a --locked run audits -------------------------------------------------------------------

def locked_inputs(lock: Lockfile, cache_dir: str | None, entries: Iterable[LockEntry] | None = None
                  ) -> list[tuple[LockEntry, Snapshot | AuditError]]:
    """Every locked model read without the network: Hub models from the HF cache at the locked commit,
    local models from their paths (relative to the lockfile)."""
    base = os.path.dirname(os.path.abspath(lock.path))
    out: list[tuple[LockEntry, Snapshot | AuditError]] = []
    for e in lock.entries if entries is None else entries:
        try:
            out.append((e, _read_entry(e, base, cache_dir, lock.path)))
        except AuditError as exc:
            out.append((e, exc))
    return out


def _read_entry(e: LockEntry, base: str, cache_dir: str | None, lock_path: str) -> Snapshot:
    if e.source in _LOCAL_SOURCES:
        path = os.path.normpath(os.path.join(base, e.path or ""))
        if e.source == "card" and os.path.isfile(path):
            return replace(read_card_file(path), subject=e.subject)
        if e.source == "local" and os.path.isdir(path):
            return read_snapshot_dir(path, subject=e.subject)
        raise InputUnreadable(e.input, f"does not exist any more (locked in {lock_path} as {path})")
    snap = read_cached(e.subject, e.revision, cache_dir)
    if snap is not None:
        return replace(snap, info={**snap.info, "requested": e.revision})  # the lock pins this commit
    raise InputUnreadable(
        e.input,
        f"is not in the HF cache ({default_cache_dir(cache_dir)}) at the commit {lock_path} pins, and --locked "
        f"never uses the network: fill the cache once online with `mlaudit check {e.subject}@{e.revision}`",
    )


def newer_cached(lock: Lockfile, cache_dir: str | None) -> list[tuple[LockEntry, Snapshot | AuditError]]:
    """Locked branches or tags that point, in the local cache, to another commit than the lock pins: the
    snapshot at that newer commit (or why it cannot be read). The caller audits them, so that verify() can
    tell whether the license moved with the branch."""

    out: list[tuple[LockEntry, Snapshot | AuditError]] = []
    for entry in lock.entries:
        if entry.source not in _HUB_SOURCES or not entry.requested or _HEX40.match(entry.requested):
            continue
        try:
            latest = read_cached(entry.subject, entry.requested, cache_dir)
        except AuditError:
            continue
        if latest is not None and latest.revision != entry.revision:
            out.append((entry, latest))
    return out


def entries_for_references(lock: Lockfile, specs: Iterable[str]) -> tuple[list[LockEntry], list[AuditError]]:
    """The locked entries that the code's references ("org/name[@rev]") name; a reference the lock does not
    hold is an error (the code uses a model nobody locked)."""
    chosen: dict[int, LockEntry] = {}
    errors: list[AuditError] = []
    for spec in specs:
        repo_id, _, rev = spec.partition("@")
        found = [e for e in lock.entries if e.source in _HUB_SOURCES and e.subject.lower() == repo_id.lower()]
        if rev:
            found = [e for e in found if rev in (e.requested, e.revision)]
        else:
            found = [e for e in found if e.requested in ("main", None)] or found
        if not found:
            errors.append(InputUnreadable(spec, f"is referenced in the code but not locked in {lock.path}: run "
                                                f"`mlaudit lock --scan PATH` to add it"))
        for e in found[:1]:
            chosen[id(e)] = e
    return list(chosen.values()), errors


# --- verifying a report against the lock ------------------------------------------------------------------

def _describe(expression: Any, keys: Sequence[str]) -> str:
    keys = sorted(keys)
    if expression:
        return f"{expression} [{', '.join(keys)}]" if keys else str(expression)
    return f"[{', '.join(keys)}]" if keys else "unknown"


def _license_changed(model: ModelResult, own: Sequence[str], effective: Sequence[str]) -> bool:
    if sorted(model.license.keys) != sorted(own):
        return True
    # the effective license depends on the ancestors found; offline, one may not be found at all, which
    # lineage-unknown-ancestor already reports: compare only a lineage that resolved completely
    resolved = all(a.license is not None and a.license.keys for a in model.lineage.ancestors)
    return resolved and sorted(model.effective.keys) != sorted(effective)


def _card_origin(snap: Snapshot) -> Origin:
    return snap.origin.at(file=snap.card_path) if snap.card_path else snap.origin


def _file_evidence(entry: LockEntry, snap: Snapshot, subject: str, name: str) -> list[Evidence]:
    """provenance-integrity: every file that no longer matches its locked hash, was removed, or is new."""
    evidence: list[Evidence] = []
    files, lfs = file_hashes(snap)
    for path, locked in sorted(entry.files.items()):
        now = files.get(path)
        where = (snap.origin.at(file=path),)
        if now == locked:
            continue
        if now is None and entry.source in _HUB_SOURCES:
            evidence.append(Evidence("provenance-integrity", subject,
                                     f"{path} is locked in {name} but not in the HF cache at "
                                     f"{(entry.revision or '')[:12]}: it cannot be verified", where, unknown=True))
        elif now is None:
            evidence.append(Evidence("provenance-integrity", subject, f"{path} was removed since {name} was written", where))
        else:
            evidence.append(Evidence("provenance-integrity", subject,
                                     f"{path} does not match {name} (sha256 {now[:12]}, locked {locked[:12]})", where))
    for path in sorted(set(files) - set(entry.files)):
        evidence.append(Evidence("provenance-integrity", subject,
                                 f"{path} is new since {name} was written", (snap.origin.at(file=path),)))
    for path, locked in sorted(entry.lfs.items()):
        if lfs.get(path) not in (None, locked):
            evidence.append(Evidence("provenance-integrity", subject,
                                     f"{path} is listed with sha256 {lfs[path][:12]}, {name} locked {locked[:12]}",
                                     (snap.origin.at(file=path),)))
    return evidence


def _newer_evidence(entry: LockEntry, model: ModelResult, latest: Snapshot | AuditError,
                    result: ModelResult | AuditError, name: str) -> tuple[list[Evidence], NewerRevision | None]:
    """license-drift for a locked branch that moved, in the cache, to a commit under another license."""
    own = entry.license.get("keys") or []
    eff = entry.effective.get("keys") or []
    was = _describe(entry.license.get("expression"), own)
    revision = latest.revision if isinstance(latest, Snapshot) else None
    head = f"{entry.requested} now points to {(revision or '')[:12]}"
    if isinstance(result, AuditError) or not isinstance(latest, Snapshot):
        why = result.message if isinstance(result, AuditError) else "it cannot be read"
        origin = latest.origin if isinstance(latest, Snapshot) else _card_origin_missing(entry)
        return [Evidence("license-drift", model.subject, f"{head}, which cannot be read ({why}): its license is unknown",
                         (origin,), unknown=True)], None
    drift = _license_changed(result, own, eff)
    newer = NewerRevision(model.subject, entry.requested or "", entry.revision, revision,
                          tuple(result.license.keys), drift)
    if not drift:
        return [], newer
    return [Evidence(
        "license-drift", model.subject,
        f"{head}, whose license is {_describe(result.license.expression, result.license.keys)} "
        f"(effective {_describe(result.effective.expression, result.effective.keys)}); "
        f"{name} pins {(entry.revision or '')[:12]} under {was}",
        (_card_origin(latest),))], newer


def _card_origin_missing(entry: LockEntry) -> Origin:
    return Origin(SourceKind.CACHE, entry.subject, entry.requested)


def verify(report: AuditReport, lock: Lockfile, pairs: Sequence[tuple[LockEntry, Snapshot | AuditError]],
           newer: Sequence[tuple[LockEntry, Snapshot | AuditError, ModelResult | AuditError]],
           policy: Policy, today: _dt.date | None = None) -> AuditReport:
    """The report with a finding for every locked model whose files or license changed (see the module
    docstring). `newer` holds, for each locked branch that moved in the cache (newer_cached), the newer
    snapshot and its audit result, which the caller computed."""
    name = os.path.basename(lock.path)
    moved = {id(entry): (latest, result) for entry, latest, result in newer}
    newer_revisions: list[NewerRevision] = []
    added: list[Finding] = []
    for entry, snap in pairs:
        if not isinstance(snap, Snapshot):
            continue
        model = next((m for m in report.models if m.subject == snap.subject and m.origin == snap.origin), None)
        if model is None:
            continue
        evidence = _file_evidence(entry, snap, model.subject, name)
        own = entry.license.get("keys") or []
        eff = entry.effective.get("keys") or []
        if _license_changed(model, own, eff):
            why = "its files changed" if evidence else "its files did not change: mlaudit now reads its license differently"
            evidence.append(Evidence(
                "license-drift", model.subject,
                f"the license is now {_describe(model.license.expression, model.license.keys)} "
                f"(effective {_describe(model.effective.expression, model.effective.keys)}); {name} recorded "
                f"{_describe(entry.license.get('expression'), own)} ({why})",
                (_card_origin(snap),)))
        if id(entry) in moved:
            more, revision = _newer_evidence(entry, model, *moved[id(entry)], name)
            evidence += more
            if revision is not None:
                newer_revisions.append(revision)
        added += grade_evidence(policy, model.subject, evidence, facts=model.license, effective=model.effective,
                                today=today)
    summary = LockSummary(lock.path, len(lock.entries), tuple(newer_revisions))
    return with_findings(report, report.findings + tuple(added), policy, lock=summary)
