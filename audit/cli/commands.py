"""Command line: settings -> library call (audit.api) -> render -> exit code.

Exit codes: 0 passed; 1 the policy failed (undecidable counts as failed); 2 usage error or invalid
policy/config; 3 an input could not be read.
"""
from __future__ import annotations

import os
import sys

import click

from audit import __version__
from audit.cli.output import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_PASS,
    EXIT_USAGE,
    _echo,
    _err,
    _fail,
    _finish,
    _note,
    _ProgressBar,
    _stdout_failed,
)
from audit.cli.settings import (
    _lock_options,
    _lock_path,
    _own_files,
    _policy,
    _policy_option,
    _report_options,
    _run_options,
    _run_options_for,
    _settings,
    _source_options,
)


class _Group(click.Group):
    """Turns any unexpected exception into one line instead of a traceback (MLAUDIT_DEBUG=1 shows it)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(130)
        except BrokenPipeError as exc:
            _stdout_failed(exc)
        except Exception as exc:  # the last line of defence: a bug must still not print a traceback
            from audit.errors import AuditError

            if isinstance(exc, AuditError):
                _fail(exc)
            if os.environ.get("MLAUDIT_DEBUG"):
                raise
            _err(f"internal error: {type(exc).__name__}: {exc} (set MLAUDIT_DEBUG=1 for details)")
            sys.exit(EXIT_INPUT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="mlaudit", message="%(prog)s %(version)s")
def main() -> None:
    """Audit the license and provenance of open-weight AI models before you deploy them."""


# --- commands --------------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1)
@click.option("--hf-cache", is_flag=True, help="Audit every model in the local Hugging Face cache.")
@_lock_options
@_report_options
@click.pass_context
def check(ctx, inputs, hf_cache, locked, **params):
    """Audit models (paths, Hub repo ids org/name[@revision], Hub URLs, or --hf-cache) against a policy.

    With --locked, audit what mlaudit.lock pins instead, reading nothing from the network."""
    from audit import api

    s = _settings(ctx, params)
    policy = _policy(s)
    if locked:
        if inputs or hf_cache:
            raise click.UsageError("--locked audits what the lockfile pins: give no inputs")
        _finish(api.audit_locked(_lock_path(s), policy, _run_options_for(s)), policy, s)
    cfg = s["config"]
    inputs = inputs or (cfg.get("inputs", ()) if cfg is not None else ())
    if not inputs and not hf_cache:
        raise click.UsageError("give at least one model path or Hub repo id, or --hf-cache")
    bar = _ProgressBar(s, "reading models")
    try:
        report = api.audit(list(inputs), policy, _run_options_for(s, hf_cache=hf_cache), progress=bar)
    finally:
        bar.close()
    _finish(report, policy, s)


@main.command()
@click.argument("path", required=False)
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip paths matching GLOB (relative to PATH, or a file or directory name). Repeatable.")
@_lock_options
@_report_options
@click.pass_context
def scan(ctx, path, locked, **params):
    """Find the models a codebase uses (Python, notebooks, YAML/JSON/TOML, hf.co URLs) and audit each.

    Every reference is reported with file and line (--format json: `references`); one whose model id is
    only known at run time is a `reference-unresolved` finding. With --locked, the models come from
    mlaudit.lock and the network is not used."""
    from audit import api

    s = _settings(ctx, params)
    policy = _policy(s)
    cfg = s["config"]
    root = path or (cfg.get("scan") if cfg is not None else None) or "."
    exclude = tuple(s.get("exclude") or ()) + _own_files(root, s)
    bar = _ProgressBar(s, "reading models")
    try:
        report = api.scan(root, policy, _run_options_for(s), exclude=exclude,
                          lockfile=_lock_path(s) if locked else None, progress=bar)
    finally:
        bar.close()
    _finish(report, policy, s)


@main.command()
@click.argument("inputs", nargs=-1)
@click.option("--scan", "scan_path", metavar="PATH", help="Lock every model the codebase at PATH references.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="With --scan: skip paths matching GLOB. Repeatable.")
@click.option("--hf-cache", is_flag=True, help="Lock every model in the local Hugging Face cache.")
@click.option("--output", "-o", "lockfile", metavar="FILE", help="Where to write the lockfile (default: mlaudit.lock).")
@_policy_option
@_source_options
@_run_options
@click.pass_context
def lock(ctx, inputs, scan_path, hf_cache, **params):
    """Write mlaudit.lock: per model the pinned commit, license keys, verdict and file hashes.

    `mlaudit check --locked` then re-audits exactly these models with no network."""
    from audit import api

    s = _settings(ctx, params)
    policy = _policy(s)
    cfg = s["config"]
    specs = list(inputs)
    if not specs and not scan_path and not hf_cache and cfg is not None:
        specs = list(cfg.get("inputs", ()))
        scan_path = None if specs else cfg.get("scan")
    if not specs and not hf_cache and not scan_path:
        raise click.UsageError("give model paths or Hub repo ids, --scan PATH, or --hf-cache")
    path = _lock_path(s)
    exclude = tuple(s.get("exclude") or ()) + (_own_files(scan_path, s) if scan_path else ())
    bar = _ProgressBar(s, "reading models")
    try:
        result = api.lock(specs, policy, _run_options_for(s, hf_cache=hf_cache), lockfile=path,
                          scan_root=scan_path, exclude=exclude, progress=bar)
    finally:
        bar.close()
    for e in result.report.errors:
        _err(f"{e.input}: {e.message}")
    if result.lockfile is None:
        _err(f"{path}: not written: {len(result.report.errors)} input(s) could not be read")
        sys.exit(EXIT_INPUT)
    entries = result.lockfile.entries
    failed = sum(1 for e in entries if e.verdict != "pass")
    _note(s, f"locked {len(entries)} model(s) in {path}: {len(entries) - failed} pass, "
             f"{failed} fail policy '{policy.name}'")
    if result.unresolved:
        _note(s, f"{result.unresolved} reference(s) in {scan_path} name no model mlaudit can know, so they are not "
                 f"locked (see `mlaudit scan {scan_path}`)")
    sys.exit(EXIT_PASS)


@main.command()
@click.argument("license_id", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every catalogued license with its category.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(license_id, list_all, fmt):
    """What a license allows, requires and forbids (by key, Hub id, SPDX id or common name; a family word such as
    'mistral' lists the matches; a repo id explains its license from the offline registry)."""
    from audit.report.explain import explain_text, render_list

    if list_all or not license_id:
        _echo(render_list(fmt))
        sys.exit(EXIT_PASS)
    text = explain_text(license_id, fmt)
    if text is None:
        _err(f"{license_id}: not a license mlaudit knows (try `mlaudit explain --list`, or a Hub id such as llama3.1)")
        sys.exit(EXIT_USAGE)
    _echo(text)


@main.group()
def policy() -> None:
    """Work with policy files."""


@policy.command("validate")
@click.argument("files", nargs=-1, required=True)
def policy_validate(files):
    """Check policy files; errors name the file and line (exit code 2)."""
    from audit.errors import AuditError
    from audit.policy.schema import load_policy

    bad = False
    for path in files:
        try:
            p = load_policy(path)
        except AuditError as exc:
            _err(f"{exc.input}: {exc.message}")
            bad = True
            continue
        _echo(f"{path}: ok - policy '{p.name}', {len(p.rules)} rules, {len(p.waivers)} waivers\n")
        # the merged result (after `extends`), and every explicit lowering of the fail-closed floor
        for r in p.rules:
            _echo(f"  {r.id}: {r.severity.value} when {dict(r.when)}\n")
        for check_id, sev in sorted(p.allow.items()):
            _echo(f"  allow {check_id}: {sev.value} (lowers the fail-closed floor)\n")
    sys.exit(EXIT_USAGE if bad else EXIT_PASS)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["modified", "unknown"]),
              help="Exit 1 when a text is not an exact copy of a known license (modified), or only when it is not "
                   "one mlaudit recognises (unknown). Default: report only.")
def identify(files, fmt, fail_on):
    """Which license is each text (LICENSE, USE_POLICY.md, ...), which version, and is it intact?"""
    from audit.errors import AuditError
    from audit.licenses.identify import identify_file
    from audit.report.identify import render_identifications

    results = []
    failed = False
    for path in files:
        try:
            results.append((path, identify_file(path)))
        except AuditError as exc:
            _err(f"{exc.input}: {exc.message}")
            failed = True
    _echo(render_identifications(results, fmt))
    if failed:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FAIL if fail_on and any(_identify_fails(idents, fail_on) for _, idents in results) else EXIT_PASS)


def _identify_fails(idents, fail_on: str) -> bool:
    if not idents:
        return True  # no license found in the text: unknown, and so not an intact known license
    if fail_on == "unknown":
        return any(i.verdict == "unknown" or i.key is None for i in idents)
    return any(i.verdict != "exact" for i in idents)


@main.group(invoke_without_command=True)
@click.pass_context
def registry(ctx) -> None:
    """The offline registry of well-known models and datasets; alone, it lists the entries with no catalogued
    license and why."""
    if ctx.invoked_subcommand is None:
        from audit.registry import load_registry, unresolved_lines

        _echo("".join(line + "\n" for line in unresolved_lines(load_registry())))


@registry.command("update")
@click.argument("ids", nargs=-1)
@click.option("--endpoint", metavar="URL", help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co).")
@click.option("--dir", "directory", metavar="DIR", help="Where the user copy lives (default: $MLAUDIT_REGISTRY "
              "or ~/.local/share/mlaudit/registry).")
def registry_update(ids, endpoint, directory):
    """Refresh (or extend with IDS) a user copy of the registry from the Hub; it takes precedence over the
    shipped one. A license that changed since the known one is recorded in the entry's history."""
    from audit.errors import AuditError
    from audit.registry_update import update_user_registry
    from audit.sources.hub import HubClient

    try:
        path, entries, failures = update_user_registry(HubClient(endpoint=endpoint), ids or None, directory)
    except AuditError as exc:
        _fail(exc)
    for line in failures:
        _err(line)
    _echo(f"wrote {path}: {len(entries)} entries, {len(failures)} could not be read\n")
    sys.exit(EXIT_INPUT if failures and not entries else EXIT_PASS)


# [index hook] the community lineage index (audit/index); Dask is imported only by `index build`
@main.group()
def index() -> None:
    """The community lineage index: build it from Hub card dumps (on Dask), read its Hub-level figures."""


@index.command("build")
@click.argument("sources", nargs=-1, required=True)
@click.option("--output", "-o", required=True, metavar="INDEX", help="The index file to write or update (SQLite).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Run the per-row stage on a local cluster of N processes (default: in-process).")
@click.option("--scheduler", "address", metavar="tcp://HOST:PORT", help="Run it on an existing Dask cluster.")
@click.option("--name", help="The index's name in evidence, index:<name>@<build date> (default: the file name).")
@click.option("--endpoint", metavar="URL", help="The Hub endpoint hf:// sources are read from (default: HF_ENDPOINT, "
                                                "else https://huggingface.co).")
@click.option("--offline", is_flag=True, help="Read no URL source (as HF_HUB_OFFLINE=1).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def index_build(sources, output, workers, address, name, endpoint, offline, fmt):
    """Index card dumps (parquet, JSON lines, CSV; paths or fsspec URLs such as hf://datasets/...): per model
    its licenses, declared bases and the effective license along its chain. An existing INDEX is updated:
    only rows whose lastModified changed are parsed again. Rows that fail are counted and listed."""
    from audit.errors import AuditError
    from audit.index.build import build_index, render_build

    if workers and address:
        raise click.UsageError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    try:
        result = build_index(list(sources), output, workers=workers, address=address, name=name, endpoint=endpoint,
                             offline=offline or None)
    except AuditError as exc:
        _fail(exc)
    _echo(render_build(result, fmt))
    sys.exit(EXIT_INPUT if result.failed and not result.models else EXIT_PASS)


@index.command("stats")
@click.argument("index_file", metavar="INDEX")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def index_stats(index_file, fmt):
    """Hub-level figures: derivatives with a conflict along their chain, top declared-vs-inherited pairs,
    unknown licenses, by relation."""
    from audit.errors import AuditError
    from audit.index.stats import index_stats as stats

    try:
        text = stats(index_file, fmt)
    except AuditError as exc:
        _fail(exc)
    _echo(text)
