"""HF-cache source: model repos already downloaded into the Hugging Face cache, read without any network.

Layout (huggingface_hub 2.x):

    <cache>/models--{org}--{name}/refs/{branch}             commit sha the branch pointed to when downloaded
    <cache>/models--{org}--{name}/blobs/{etag}               content, named by git blob sha1 or LFS sha256
    <cache>/models--{org}--{name}/snapshots/{commit}/{path}  symlinks into blobs/
    <cache>/models--{org}--{name}/trees/{commit}.json        the Hub's listing (written by snapshot_download only)

A cached file's expected hash comes from trees/{commit}.json when it exists, else from the name of the blob the
snapshot links to (the etag the Hub advertised). Neither is a verified hash: comparing them with the bytes is
the integrity check's job, and this module only reports what the cache claims.

Paths are read from the environment at call time: huggingface_hub reads them once, at import.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

from audit.errors import InputUnreadable
from audit.model import Origin, Problem, RepoFile, Snapshot
from audit.sources import base
from audit.sources.ids import COMMIT_SHA as _HEX40

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MODEL_PREFIX = "models--"


def hf_home() -> str:
    """$HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (as huggingface_hub resolves it)."""
    home = os.environ.get("HF_HOME")
    if not home:
        home = os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return os.path.expanduser(os.path.expandvars(home))


def cache_dir(explicit: str | None = None) -> str:
    """The hub cache directory: explicit, else $HF_HUB_CACHE (or the older $HUGGINGFACE_HUB_CACHE), else
    $HF_HOME/hub, else ~/.cache/huggingface/hub. Does not check that it exists."""
    chosen = explicit or os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not chosen:
        chosen = os.path.join(hf_home(), "hub")
    return os.path.expanduser(os.path.expandvars(chosen))


_cache_dir = cache_dir  # the functions below take a parameter of the same name


def repo_folder(repo_id: str, root: str) -> str:
    return os.path.join(root, _MODEL_PREFIX + repo_id.replace("/", "--"))


def iter_cache(cache_dir: str | None = None) -> list[Snapshot]:
    """One Snapshot per model repo in the cache, at the commit refs/main names (else the newest snapshot).

    Raises InputUnreadable when the cache directory does not exist. A damaged repo (broken symlinks, unreadable
    files) is still returned, with what went wrong in info["problems"].
    """
    root = _cache_dir(cache_dir)
    if not os.path.exists(root):
        raise InputUnreadable(root, "HF cache directory does not exist (set HF_HUB_CACHE or HF_HOME, or pass the path)")
    if not os.path.isdir(root):
        raise InputUnreadable(root, "is not a directory, so it cannot be an HF cache")

    chosen: dict[str, tuple[str, str, str]] = {}  # real repo path -> (repo id, repo path, commit)
    try:
        from huggingface_hub import scan_cache_dir

        # scan_cache_dir drops a repo with any broken symlink into its warnings; the walk below picks those up.
        for repo in scan_cache_dir(root).repos:
            if repo.repo_type != "model" or not repo.revisions:
                continue
            on_main = [r for r in repo.revisions if "main" in r.refs]
            rev = on_main[0] if on_main else max(repo.revisions, key=lambda r: (r.last_modified, r.commit_hash))
            path = str(repo.repo_path)
            chosen[os.path.realpath(path)] = (repo.repo_id, path, rev.commit_hash)
    except Exception:
        pass

    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        raise InputUnreadable(root, f"HF cache directory cannot be listed ({exc.strerror or exc})") from None
    for name in names:
        path = os.path.join(root, name)
        if not name.startswith(_MODEL_PREFIX) or os.path.realpath(path) in chosen or not os.path.isdir(path):
            continue
        commit = _pick_commit(path, None)
        if commit is not None:  # a repo with no snapshot has nothing to audit
            chosen[os.path.realpath(path)] = (_repo_id_of(name), path, commit)

    snaps = [_read_snapshot(repo_id, path, commit, root) for repo_id, path, commit in chosen.values()]
    return sorted(snaps, key=lambda s: s.subject)


def read_cached(repo_id: str, revision: str | None = None, cache_dir: str | None = None) -> Snapshot | None:
    """The cached snapshot of one model repo, or None when the cache does not hold it (at that revision).

    `revision` may be a branch/tag the cache has a ref for, or a full commit sha; None means refs/main, else the
    newest snapshot. `repo_id` may carry "@revision".
    """
    from audit.sources.ids import check_revision as _check_revision
    from audit.sources.ids import parse_repo_spec

    repo_id, spec_rev = parse_repo_spec(repo_id)
    revision = revision or spec_rev
    if revision is not None:
        _check_revision(revision, f"{repo_id}@{revision}")  # it becomes a path under refs/
    root = _cache_dir(cache_dir)
    path = repo_folder(repo_id, root)
    if not os.path.isdir(path):
        return None
    commit = _pick_commit(path, revision)
    if commit is None:
        return None
    return _read_snapshot(repo_id, path, commit, root)


# ---------------------------------------------------------------------------------------------------------
def _repo_id_of(folder_name: str) -> str:
    return folder_name[len(_MODEL_PREFIX):].replace("--", "/")


def _read_ref(repo_path: str, ref: str) -> str | None:
    try:
        with open(os.path.join(repo_path, "refs", *ref.split("/")), encoding="utf-8") as fh:
            commit = fh.read(200).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit if _HEX40.match(commit) else None


def _pick_commit(repo_path: str, revision: str | None) -> str | None:
    """Commit whose snapshot to read: the revision asked for, else refs/main, else the newest snapshot."""
    snapshots = os.path.join(repo_path, "snapshots")
    if revision is not None:
        commit = revision if _HEX40.match(revision) else _read_ref(repo_path, revision)
        return commit if commit and os.path.isdir(os.path.join(snapshots, commit)) else None
    commit = _read_ref(repo_path, "main")
    if commit and os.path.isdir(os.path.join(snapshots, commit)):
        return commit
    try:
        candidates = [n for n in os.listdir(snapshots) if os.path.isdir(os.path.join(snapshots, n))]
    except OSError:
        return None
    if not candidates:
        return None
    return max(candidates, key=lambda n: (_snapshot_mtime(os.path.join(snapshots, n)), n))


def _snapshot_mtime(path: str) -> float:
    # Same notion of "newest" as scan_cache_dir: the newest blob a snapshot links to.
    newest = None
    for _rel, full in _walk(path):
        try:
            m = os.stat(full).st_mtime
        except OSError:
            continue
        newest = m if newest is None else max(newest, m)
    if newest is None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return 0.0
    return newest


def _walk(top: str) -> list[tuple[str, str]]:
    """(repo path with '/', full path) for every file or file symlink under a snapshot dir, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            out.append((os.path.relpath(full, top).replace(os.sep, "/"), full))
    return sorted(out)


def _read_tree(repo_path: str, commit: str, origin: Origin, problems: list[Problem]) -> dict[str, dict[str, Any]] | None:
    """trees/{commit}.json as huggingface_hub 2.x writes it: {"format_version": 1, "files": {path: {size,
    blob_id, lfs_sha256?, lfs_size?}}}. None when absent or not in a format we know (recorded as a problem)."""
    path = os.path.join(repo_path, "trees", f"{commit}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(Problem("cache-tree-unreadable", f"trees/{commit}.json cannot be read ({exc})", origin))
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format_version") != 1 or not isinstance(files, dict):
        problems.append(Problem("cache-tree-unreadable", f"trees/{commit}.json is not in a format mlaudit knows", origin))
        return None
    return {p: e for p, e in files.items() if isinstance(p, str) and isinstance(e, dict)}


def _hashes_from_blob_name(link_target: str, blobs_dir: str) -> tuple[str | None, str | None]:
    """(blob_id, sha256) from the name of the blob a snapshot file links to: the cache names blobs by etag."""
    if os.path.dirname(os.path.normpath(link_target)) != os.path.normpath(blobs_dir):
        return None, None
    name = os.path.basename(link_target)
    if _HEX64.match(name):
        return None, name
    if _HEX40.match(name):
        return name, None
    return None, None


def _read_snapshot(repo_id: str, repo_path: str, commit: str, root: str) -> Snapshot:
    snap_dir = os.path.join(repo_path, "snapshots", commit)
    blobs_dir = os.path.realpath(os.path.join(repo_path, "blobs"))
    origin = Origin("cache", repo_id, revision=commit)
    problems: list[Problem] = []
    skipped: list[Problem] = []
    tree = _read_tree(repo_path, commit, origin, problems)

    files: list[RepoFile] = []
    on_disk: set[str] = set()
    for rel, full in _walk(snap_dir):
        if len(files) >= base.MAX_FILES_LISTED:
            problems.append(Problem("cache-too-many-files", f"more than {base.MAX_FILES_LISTED} files; the rest are not listed", origin))
            break
        on_disk.add(rel)
        entry = (tree or {}).get(rel)
        target = os.path.realpath(full)  # resolves a broken link too, as far as it goes
        if entry is not None:
            blob_id, sha256 = entry.get("blob_id"), entry.get("lfs_sha256")
        elif os.path.islink(full):
            blob_id, sha256 = _hashes_from_blob_name(target, blobs_dir)
        else:
            blob_id, sha256 = None, None  # a copied file (no symlinks on this system): nothing claims a hash
        expected_size = _expected_size(entry)
        if not os.path.exists(target):
            problems.append(
                Problem(
                    "cache-broken-symlink",
                    f"{rel} is a broken symbolic link in the HF cache: its blob {os.path.basename(target)} is missing",
                    origin.at(file=rel),
                )
            )
            files.append(RepoFile(rel, size=expected_size, local_path=None, blob_id=blob_id, sha256=sha256))
            continue
        try:
            size = expected_size if expected_size is not None else os.path.getsize(target)
        except OSError:
            size = None
        files.append(RepoFile(rel, size=size, local_path=target, blob_id=blob_id, sha256=sha256))

    # Files the Hub listed for this commit that were never downloaded: part of the repo, not on this machine.
    for rel, entry in sorted((tree or {}).items()):
        if rel in on_disk or len(files) >= base.MAX_FILES_LISTED:
            continue
        files.append(RepoFile(rel, size=_expected_size(entry), local_path=None, blob_id=entry.get("blob_id"), sha256=entry.get("lfs_sha256")))
        if base.is_wanted_text(rel):
            skipped.append(Problem("cache-file-not-downloaded", f"{rel} is in the repo but not in the HF cache", origin.at(file=rel)))

    texts = _read_texts(repo_id, files, origin, skipped)
    card_path = next((n for n in base.CARD_NAMES if n in texts), None)

    refs = _refs(repo_path)
    info: dict[str, Any] = {
        "id": repo_id,
        "sha": commit,
        "cache_dir": root,
        "repo_path": repo_path,
        "snapshot_path": snap_dir,
        "refs": refs,
        "hashes_from": f"trees/{commit}.json" if tree is not None else "blob file names",
        "problems": problems,
        "skipped": skipped,
    }
    return Snapshot(
        subject=repo_id,
        origin=origin,
        files=tuple(files),
        texts=texts,
        card_path=card_path,
        info=info,
        unread=tuple(p for p in skipped if base.is_license_like(p.origin.file or "")),
    )


def _read_texts(repo_id: str, files: list[RepoFile], origin: Origin, skipped: list[Problem]) -> dict[str, str]:
    """The card, license-like files and configs that are on disk; one that cannot be read goes to `skipped`."""
    texts: dict[str, str] = {}
    cards = [f.path for f in files if f.path in base.CARD_NAMES and f.local_path]
    card_candidate = next((n for n in base.CARD_NAMES if n in cards), None)
    for f in files:
        if not f.local_path or not base.is_wanted_text(f.path):
            continue
        limit = base.MAX_CARD_BYTES if f.path == card_candidate else base.MAX_TEXT_BYTES
        try:
            texts[f.path] = base.read_text_file(f.local_path, limit=limit, input=f"{repo_id}/{f.path}")
        except InputUnreadable as exc:
            skipped.append(Problem("file-skipped", f"{f.path} {exc.message}; not read", origin.at(file=f.path)))
    return texts


def _refs(repo_path: str) -> dict[str, str]:
    """Branch and tag name -> the commit the cache last saw it at."""
    refs = {}
    refs_dir = os.path.join(repo_path, "refs")
    for rel, _full in _walk(refs_dir) if os.path.isdir(refs_dir) else []:
        c = _read_ref(repo_path, rel)
        if c:
            refs[rel] = c
    return refs


def _expected_size(entry: dict[str, Any] | None) -> int | None:
    if not entry:
        return None
    size = entry.get("lfs_size") if entry.get("lfs_sha256") else entry.get("size")
    return size if isinstance(size, int) else None
