"""Find the models a codebase uses: Hub references in Python code, notebooks, configs, deployment files and
URLs, with file and line.

One module per job: `walk` picks the files (and reports what it passes over), `python` and `notebook` read
code with `ast`, `configs` reads YAML/JSON/TOML model keys, `deploy` reads shell, Makefiles, Dockerfiles,
manifests, workflows, .env files and Modelfiles as command lines, `urls` finds hf.co links and decides what
a Hub id is, `reports` recognises mlaudit's own output. This module routes each file to its extractors
through FILE_KINDS; a new kind of file is one extractor module and one row there.
"""
from __future__ import annotations

import fnmatch
import os

from audit.errors import InputUnreadable
from audit.model import Reference
from audit.sources.codebase.configs import scan_json, scan_toml, scan_yaml
from audit.sources.codebase.deploy import scan_deploy, scan_modelfile
from audit.sources.codebase.notebook import scan_notebook
from audit.sources.codebase.python import scan_python_file
from audit.sources.codebase.reports import own_report
from audit.sources.codebase.sourcefile import Extractor, ScanStats, SourceFile
from audit.sources.codebase.urls import hub_id, scan_urls
from audit.sources.codebase.walk import Skipped, read_text, walk

__all__ = ["FILE_KINDS", "Extractor", "Reference", "ScanStats", "SourceFile", "hub_id", "scan_codebase"]

# Shell scripts, Makefiles, Dockerfiles, YAML manifests and workflows, .env files: read as command lines
DEPLOY_GLOBS = (
    "*.sh", "*.bash", "*.zsh", "makefile", "gnumakefile", "*.mk", "justfile", "procfile",
    "dockerfile", "dockerfile.*", "*.dockerfile", "containerfile", "containerfile.*",
    "*.yaml", "*.yml", "*.tpl", ".env", ".env.*", "*.env",
)
# (base-name globs, matched against the lower-cased file name; the extractor for such files). Every row
# whose globs match runs, so a file may be read by more than one extractor. hf.co URLs are looked for in
# every text file besides.
FILE_KINDS: tuple[tuple[tuple[str, ...], Extractor], ...] = (
    (("*.py", "*.pyw"), scan_python_file),
    (("*.ipynb",), scan_notebook),
    (("*.yaml", "*.yml"), scan_yaml),
    (("*.json",), scan_json),
    (("*.toml",), scan_toml),
    (DEPLOY_GLOBS, scan_deploy),
    (("modelfile", "modelfile.*", "*.modelfile"), scan_modelfile),
)


def scan_codebase(root: str, *, exclude: tuple[str, ...] = (), stats: ScanStats | None = None) -> list[Reference]:
    """All model references under `root` (a directory or one file), sorted by file and line.

    `exclude` holds glob patterns matched against '/'-separated paths relative to root and against
    base names ("vendor", "tests/*", "*.ipynb"). `stats`, when given, is filled with what the scan did.
    What the scan could not read or chose to skip is a reference too (kind `unreadable` or `skipped`,
    model None, the reason): it fails closed (resolved False) when it could hold a reference, and is
    only reported (resolved True) when it clearly is not code (a virtualenv, node_modules, .git).
    """
    if not os.path.lexists(root):
        raise InputUnreadable(root, "does not exist")
    stats = stats if stats is not None else ScanStats()
    refs: list[Reference] = []
    if not os.path.isdir(root):
        refs.extend(_scan_file(root, os.path.basename(root), os.path.dirname(os.path.abspath(root)), stats,
                               named=True))
    else:
        for item in walk(root, exclude):
            if isinstance(item, Skipped):
                refs.append(skipped_reference(item))
            else:
                refs.extend(_scan_file(item[0], item[1], root, stats))
    unique = {(r.file, r.line, r.kind, r.model, r.revision, r.reason): r for r in refs}
    return sorted(unique.values(), key=lambda r: (r.file, r.line, r.kind, r.model or "", r.reason or ""))


def could_hold_reference(name: str) -> bool:
    """Is a file of this name one the scanner reads for references (so not reading it must fail closed)?"""
    lower = name.lower()
    return any(fnmatch.fnmatchcase(lower, g) for globs, _ in FILE_KINDS for g in globs)


def skipped_reference(item: Skipped, *, named: bool = False) -> Reference:
    """What the walk passed over, as a reference: model None; resolved (not failing) only when benign.
    A file the user `named` as the root always fails closed when it cannot be read."""
    benign = item.benign or (not named and not item.is_dir and not could_hold_reference(item.rel.rsplit("/", 1)[-1]))
    what = "directory" if item.is_dir else "file"
    consequence = "not scanned" if benign else "references in it are unknown"
    return Reference(None, None, item.rel, 1, item.kind, "", benign, f"{what} {item.reason}; {consequence}")


def _scan_file(path: str, rel: str, root: str, stats: ScanStats, *, named: bool = False) -> list[Reference]:
    try:
        text = read_text(path)
    except InputUnreadable as exc:
        return [skipped_reference(Skipped(rel, "unreadable", f"could not be read: {exc.message}"), named=named)]
    stats.files_read += 1
    file = SourceFile(rel, text, text.splitlines())
    report = own_report(text)
    if report:
        return [skipped_reference(Skipped(rel, "skipped", f"is {report}, written by mlaudit: its models are not "
                                                          "references", benign=True))]
    refs: list[Reference] = []
    for globs, extract in FILE_KINDS:
        if any(fnmatch.fnmatchcase(file.name, g) for g in globs):
            refs.extend(_extract(extract, file, stats))
    # "models/bert" may be a directory of this codebase rather than a Hub repo: the disk decides
    here = os.path.dirname(path)
    refs = [
        r for r in refs
        if r.model is None
        or not (os.path.isdir(os.path.join(root, r.model)) or os.path.isdir(os.path.join(here, r.model)))
    ]
    if "hf.co/" in text or "huggingface.co/" in text:
        refs.extend(_extract(scan_urls, file, stats))
    return refs


def _extract(extract: Extractor, file: SourceFile, stats: ScanStats) -> list[Reference]:
    """One extractor on one file; a file nested too deeply for a parser is a per-file finding, never an abort."""
    try:
        return extract(file, stats)
    except (RecursionError, MemoryError):
        return [file.ref(1, "unreadable", None, reason=(
            "nested too deeply to parse (a parser ran out of stack); references in it are unknown"))]
