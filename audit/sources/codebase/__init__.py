"""Find the models a codebase uses: Hub references in Python code, notebooks, configs and URLs, with file and line.

One module per job: `walk` picks the files, `python` and `notebook` read code with `ast`, `configs` reads
YAML/JSON/TOML model keys, `urls` finds hf.co links and decides what a Hub id is. This module routes each
file to its extractors through FILE_KINDS; a new kind of file (Dockerfiles, shell scripts, manifests)
is one extractor module and one row there.
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
from audit.sources.codebase.sourcefile import Extractor, ScanStats, SourceFile
from audit.sources.codebase.urls import hub_id, scan_urls
from audit.sources.codebase.walk import read_text, walk

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
    """
    if not os.path.exists(root):
        raise InputUnreadable(root, "does not exist")
    stats = stats if stats is not None else ScanStats()
    refs: list[Reference] = []
    if os.path.isfile(root):
        refs.extend(_scan_file(root, os.path.basename(root), os.path.dirname(os.path.abspath(root)), stats))
    else:
        for path, rel in walk(root, exclude):
            refs.extend(_scan_file(path, rel, root, stats))
    unique = {(r.file, r.line, r.kind, r.model, r.revision, r.reason): r for r in refs}
    return sorted(unique.values(), key=lambda r: (r.file, r.line, r.kind, r.model or "", r.reason or ""))


def _scan_file(path: str, rel: str, root: str, stats: ScanStats) -> list[Reference]:
    try:
        text = read_text(path)
    except OSError as exc:
        return [Reference(None, None, rel, 1, "unreadable", "", False,
                          f"file could not be read ({exc.strerror or exc}); references in it are unknown")]
    if text is None:
        return []
    stats.files_read += 1
    file = SourceFile(rel, text, text.splitlines())
    refs: list[Reference] = []
    for globs, extract in FILE_KINDS:
        if any(fnmatch.fnmatchcase(file.name, g) for g in globs):
            refs.extend(extract(file, stats))
    # "models/bert" may be a directory of this codebase rather than a Hub repo: the disk decides
    here = os.path.dirname(path)
    refs = [
        r for r in refs
        if r.model is None
        or not (os.path.isdir(os.path.join(root, r.model)) or os.path.isdir(os.path.join(here, r.model)))
    ]
    if "hf.co/" in text or "huggingface.co/" in text:
        refs.extend(scan_urls(file, stats))
    return refs
