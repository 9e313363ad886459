"""The one router: every input a user can name -> the source that reads it -> snapshots.

Inputs: a snapshot directory, a lone card file, a directory holding snapshot directories (local), a Hub repo
id `org/name[@revision]` or Hub URL (`https://huggingface.co/org/name[/tree/<rev>]`), and the whole local HF
cache. A path that exists is always a path; otherwise an input that parses as a repo id or Hub URL is a repo
(read from the Hub, or offline from --models-dir and the HF cache); anything else is a path, which then
fails as a missing path, naming it.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from enum import Enum
from typing import Protocol

from audit.errors import AuditError, HubUnreachable, InputUnreadable, UsageError
from audit.lineage import index_models_dirs
from audit.model import Origin, Skipped, Snapshot, SourceKind
from audit.registry import load_registry
from audit.sources.base import Source
from audit.sources.cache import cache_dir, iter_cache, read_cached
from audit.sources.hub import HubClient
from audit.sources.ids import looks_like_repo_id, parse_repo_spec
from audit.sources.local import read_local, read_snapshot_dir

Loaded = tuple[str, "Snapshot | AuditError | Skipped"]  # (the input as named, what was read, or why not)


class Progress(Protocol):
    """Told how many inputs a run reads, then each input once it has been read (a progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, spec: str) -> None: ...


OFFLINE_HINT = "run with --offline to audit from the HF cache, --models-dir and the offline registry"


class InputKind(str, Enum):
    PATH = "path"  # a local directory or card file
    REPO = "repo"  # a Hub repo id or URL


def classify(spec: str) -> InputKind:
    """Which kind of input the user named (see the module docstring)."""
    return InputKind.REPO if looks_like_repo_id(spec) else InputKind.PATH


class LocalSource:
    """A snapshot directory, a card file, or a directory of snapshot directories."""

    def read(self, spec: str) -> list[Snapshot | AuditError | Skipped]:
        return read_local(os.path.expanduser(spec))


class HubSource:
    """A repo on the Hub, pinned to the commit its revision resolves to."""

    def __init__(self, client: Callable[[], HubClient]):
        self._client = client

    def read(self, spec: str) -> list[Snapshot | AuditError | Skipped]:
        try:
            return [requested(self._client().snapshot(spec), spec)]
        except HubUnreachable as exc:
            raise HubUnreachable(exc.input, f"{exc.message}; {OFFLINE_HINT}", repo_id=exc.repo_id,
                                 revision=exc.revision, status=exc.status) from None


class OfflineRepoSource:
    """A Hub repo id read without the Hub: from a --models-dir directory (org--name or org/name), else from the
    HF cache at the revision asked for (default: main), else, for a well-known model, from the facts of the
    offline registry (the card itself is then not read, and the audit says so: check `card-not-read`)."""

    def __init__(self, models_dirs: tuple[str, ...], cache_dir: str | None):
        self.models_dirs = models_dirs
        self.cache_dir = cache_dir

    def read(self, spec: str) -> list[Snapshot | AuditError | Skipped]:
        try:
            repo_id, revision = parse_repo_spec(spec)
        except UsageError as exc:
            raise InputUnreadable(spec, exc.message) from None
        found = self._from_models_dirs(repo_id)
        if found is not None:
            return [found]
        snap = read_cached(repo_id, revision, self.cache_dir)
        if snap is not None:
            return [requested(snap, spec)]
        if revision is None:  # the registry knows a model's license today, not at a given commit
            known = registry_snapshot(repo_id)
            if known is not None:
                return [known]
        where = f" at revision {revision!r}" if revision else ""
        dirs = " nor in --models-dir" if self.models_dirs else ""
        rev = f" --revision {revision}" if revision else ""
        raise InputUnreadable(
            spec,
            f"is not in the HF cache ({cache_dir(self.cache_dir)}){where}{dirs}, and --offline (or HF_HUB_OFFLINE) "
            f"forbids the Hub: run once online, or fetch its card and license files with "
            f"`hf download {repo_id}{rev} --include '*.md' 'LICENSE*' 'NOTICE*' 'USE_POLICY*' config.json`",
        )

    def _from_models_dirs(self, repo_id: str) -> Snapshot | None:
        if not self.models_dirs:
            return None

        index = index_models_dirs(self.models_dirs)
        path = index.get(repo_id.lower()) or index.get(repo_id.lower().replace("/", "--"))
        return read_snapshot_dir(path, subject=repo_id) if path is not None else None


def requested(snapshot: Snapshot, spec: str) -> Snapshot:
    """The snapshot with the revision the input asked for (None: the default branch), which is what decides
    whether the input is pinned (`require_pinned`): a branch resolves to a commit, but not always the same one."""
    try:
        rev = parse_repo_spec(spec)[1]
    except UsageError:
        rev = None
    return replace(snapshot, info={**snapshot.info, "requested": rev})


def registry_snapshot(repo_id: str) -> Snapshot | None:
    """A well-known model as the offline registry records it: a card built from the registry's facts (license,
    license_name, base model), marked with the registry as its origin; None when the registry does not know it."""
    entry = load_registry().model(repo_id)
    if entry is None:
        return None
    lines = []
    if entry.license and entry.license.startswith("other/"):
        lines += ["license: other", f"license_name: {entry.license.split('/', 1)[1]}"]
    elif entry.license:
        lines.append(f"license: {entry.license}")
    if entry.relation_to:
        lines.append(f"base_model: {entry.relation_to}")
    name = "registry:" + os.path.basename(entry.source_file or "models.yaml")
    text = "---\n" + "\n".join(lines) + "\n---\n"
    origin = Origin(SourceKind.REGISTRY, entry.id)
    return Snapshot(subject=entry.id, origin=origin, texts={name: text}, card_path=name,
                    info={"registry": {"evidence": entry.evidence, "evidence_date": entry.evidence_date,
                                       "file": entry.source_file, "line": entry.source_line}})


class CacheSource:
    """Every model repo in the local HF cache (`--hf-cache`)."""

    def __init__(self, cache_dir: str | None):
        self.cache_dir = cache_dir

    def read_all(self) -> list[Snapshot | AuditError | Skipped]:
        cached: list[Snapshot | AuditError | Skipped] = list(iter_cache(self.cache_dir))
        if not cached:
            raise InputUnreadable(cache_dir(self.cache_dir), "the HF cache holds no model repos to audit")
        return cached


class Router:
    """Routes each input to its source. `hub` gives the Hub client, or is None when the Hub may not be used
    (offline): repo ids are then read from --models-dir and the HF cache."""

    def __init__(self, *, models_dirs: tuple[str, ...] = (), cache_dir: str | None = None,
                 hub: Callable[[], HubClient] | None = None):
        self.local: Source = LocalSource()
        self.repo: Source = HubSource(hub) if hub is not None else OfflineRepoSource(models_dirs, cache_dir)
        self.cache = CacheSource(cache_dir)

    def source_for(self, spec: str) -> Source:
        return self.repo if classify(spec) is InputKind.REPO else self.local

    def read(self, spec: str) -> list[Snapshot | AuditError | Skipped]:
        """The snapshots one input names; an input that cannot be read gives its error, in place."""
        try:
            return self.source_for(spec).read(spec)
        except AuditError as exc:
            return [exc]

    def read_all(self, specs: Iterable[str], *, hf_cache: bool = False,
                 progress: Progress | None = None) -> list[Loaded]:
        """Every input, in order, each snapshot paired with the input that named it."""
        specs = list(specs)
        if progress is not None:
            progress.start(len(specs))
        out: list[Loaded] = []
        if hf_cache:
            try:
                out.extend(("--hf-cache", item) for item in self.cache.read_all())
            except AuditError as exc:
                out.append(("--hf-cache", exc))
        for spec in specs:
            out.extend((spec, item) for item in self.read(spec))
            if progress is not None:
                progress.advance(spec)
        return out
