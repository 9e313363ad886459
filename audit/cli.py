"""Command line: options -> library call -> renderer -> exit code. The only module that prints and exits.

Exit codes: 0 passed; 1 the policy failed (undecidable counts as failed); 2 usage error or invalid
policy/config; 3 an input could not be read.
"""
from __future__ import annotations

import os
import sys

import click

from audit import __version__

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


def _err(message: str) -> None:
    click.echo(f"mlaudit: {message}", err=True)


def _fail(exc: Exception) -> NoReturn:  # type: ignore[name-defined]  # noqa: F821
    from audit.errors import AuditError

    if isinstance(exc, AuditError):
        _err(f"{exc.input}: {exc.message}")
        sys.exit(exc.exit_code)
    raise exc


def _write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        _err(f"{output}: cannot write the report ({exc.strerror or exc})")
        sys.exit(EXIT_USAGE)


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


def _format_choices() -> list[str]:
    from audit.report import FORMATS

    return list(FORMATS)


# --- options shared by check, scan and lock ----------------------------------------------------------------

PROGRESS_MIN_MODELS = 3  # a progress bar only for runs over more models than this (and only on a terminal)

# command-line parameter -> configuration key (audit/config.py); the command line wins over the file
_FROM_CONFIG = {
    "policy_path": "policy",
    "fmt": "format",
    "output": "output",
    "writes": "outputs",
    "fail_on": "fail_on",
    "models_dirs": "models_dirs",
    "cache_dir": "cache_dir",
    "offline": "offline",
    "endpoint": "endpoint",
    "baseline": "baseline",
    "exclude": "exclude",
    "lockfile": "lockfile",
}


def _options(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


_policy_option = click.option("--policy", "-p", "policy_path", metavar="FILE",
                              help="Policy YAML (default: the built-in default policy).")
_source_options = _options(
    click.option("--models-dir", "models_dirs", multiple=True, metavar="DIR",
                 help="Local snapshot directories where models and their base models can be found. Repeatable."),
    click.option("--cache-dir", metavar="DIR", help="Hugging Face cache directory (default: HF_HUB_CACHE / HF_HOME)."),
    click.option("--offline/--online", default=False,
                 help="Never contact the Hub: Hub models come from --models-dir or the HF cache, ancestors also from "
                      "the offline registry (also set by HF_HUB_OFFLINE)."),
    click.option("--no-lineage", is_flag=True, help="Do not resolve base models."),
    click.option("--endpoint", metavar="URL", help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co)."),
)
_run_options = _options(
    click.option("--config", "config_path", metavar="FILE",
                 help="Configuration file (default: .mlaudit.yaml or pyproject.toml [tool.mlaudit], searched from the "
                      "current directory up to the git root)."),
    click.option("--no-config", is_flag=True, help="Ignore configuration files."),
    click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line and errors."),
    click.option("--verbose", "-v", is_flag=True, help="Also print, on standard error, each model's license "
                                                       "declarations, ancestors and where each came from."),
)
_report_options = _options(
    _policy_option,
    click.option("--format", "-f", "fmt", type=click.Choice(_format_choices()), default="text", show_default=True),
    click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output."),
    click.option("--write", "writes", multiple=True, metavar="FORMAT=FILE",
                 help="Also write the report in FORMAT to FILE (e.g. sarif=mlaudit.sarif). Repeatable."),
    click.option("--fail-on", type=click.Choice(["error", "warning", "note"]),
                 help="Lowest severity that fails the run (default: the policy's fail_on)."),
    click.option("--baseline", metavar="FILE", help="Findings recorded in FILE are reported but do not fail the run."),
    click.option("--write-baseline", metavar="FILE",
                 help="Record every current finding in FILE (then only new findings fail)."),
    _source_options,
    _run_options,
)
_lock_options = _options(
    click.option("--locked", is_flag=True,
                 help="Audit the models the lockfile pins, with no network; fail when a file or a license changed."),
    click.option("--lockfile", metavar="FILE", help="The lockfile (default: mlaudit.lock)."),
)


def _config(params: dict):
    from audit.config import discover, load_config

    if params.get("no_config"):
        return None
    if params.get("config_path"):
        return load_config(params["config_path"])
    return discover()


def _settings(ctx: click.Context, params: dict) -> dict:
    """The command line, over the configuration file, over the defaults."""
    from click.core import ParameterSource

    if params.get("quiet") and params.get("verbose"):
        raise click.UsageError("--quiet and --verbose exclude each other")
    cfg = _config(params)
    s = dict(params)
    s["config"] = cfg
    if cfg is not None:
        for name, key in _FROM_CONFIG.items():
            if name in params and key in cfg and ctx.get_parameter_source(name) in (
                ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None
            ):
                s[name] = cfg.get(key)
    if "writes" in s:
        s["writes"] = _parse_writes(s["writes"])
    env_offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    s["offline"] = bool(s.get("offline")) or env_offline
    return s


def _parse_writes(value) -> list[tuple[str, str]]:
    from audit.report import FORMATS

    if isinstance(value, dict):
        return list(value.items())
    out = []
    for item in value or ():
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in FORMATS:
            raise click.BadParameter(f"{item!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}",
                                     param_hint="--write")
        out.append((fmt, path))
    return out


def _policy(s: dict):
    from dataclasses import replace

    from audit.model import Severity
    from audit.policy.schema import load_policy

    policy = load_policy(s.get("policy_path"))
    if s.get("fail_on"):
        policy = replace(policy, fail_on=Severity(s["fail_on"]))
    return policy


def _run_options_for(s: dict, hf_cache: bool = False, online: bool | None = None):
    from audit.api import Options

    return Options(
        hf_cache=hf_cache,
        cache_dir=s.get("cache_dir"),
        models_dirs=tuple(s.get("models_dirs") or ()),
        lineage=not s.get("no_lineage"),
        online=(not s["offline"]) if online is None else online,
        endpoint=s.get("endpoint"),
    )


def _progress(count: int, s: dict, label: str):
    """A progress bar on standard error, only on a terminal and only for long runs."""
    import contextlib

    if s.get("quiet") or count <= PROGRESS_MIN_MODELS or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return click.progressbar(length=count, label=label, file=sys.stderr)


def _tick(bar):
    return (lambda _spec: bar.update(1)) if bar is not None else None


def _note(s: dict, message: str) -> None:
    if not s.get("quiet"):
        click.echo(message, err=True)


# --- rendering and the exit code -------------------------------------------------------------------------

def _render(report, fmt: str, output: str | None, s: dict) -> str:
    from audit.report import renderer

    render = renderer(fmt)
    to_terminal = output in (None, "-")
    if fmt == "json":
        return render(report, pretty=to_terminal and sys.stdout.isatty())
    if fmt != "text":
        return render(report)
    color = to_terminal and sys.stdout.isatty()
    text = render(report, color=color, show_errors=not to_terminal)
    if s.get("quiet"):
        return text.rstrip("\n").rsplit("\n", 1)[-1] + "\n"
    return text


def _verbose(report) -> None:
    """Per model: the declarations and ancestors behind the verdict, each with where it came from."""
    for m in report.models:
        rev = f" @ {m.revision}" if m.revision else ""
        click.echo(f"{m.subject}{rev} ({m.origin.source})", err=True)
        for d in m.license.declarations:
            keys = ", ".join(d.keys) or "unrecognised"
            note = f"; {d.note}" if d.note else ""
            click.echo(f"    declared  {d.kind} {d.value!r} -> {keys}{note}  at {d.origin}", err=True)
        if not m.license.declarations:
            click.echo("    declared  nothing", err=True)
        for a in m.lineage.ancestors:
            keys = ", ".join(a.license.keys) if a.license and a.license.keys else "license unknown"
            how = a.resolved_from or a.problem or "not found"
            where = f"  at {a.evidence[0]}" if a.evidence else ""
            click.echo(f"    ancestor  {'  ' * (a.depth - 1)}{a.subject} ({a.relation}; {keys}; {how}){where}", err=True)
        click.echo(f"    effective {m.effective.expression or ', '.join(m.effective.keys) or 'unknown'}", err=True)
    for r in report.scan.references if report.scan else ():
        what = (r.model + (f"@{r.revision}" if r.revision else "")) if r.model else f"? ({r.reason})"
        click.echo(f"reference {r.file}:{r.line}  {r.kind}  {what}", err=True)


def _finish(report, policy, s: dict) -> NoReturn:  # type: ignore[name-defined]  # noqa: F821
    """Baseline, errors, the report(s), the exit code: the same for check and scan."""
    from audit.baseline import apply_baseline, read_baseline, write_baseline

    baseline = None
    if s.get("write_baseline"):
        baseline = write_baseline(s["write_baseline"], report)
        _note(s, f"wrote {s['write_baseline']}: {sum(baseline.counts.values())} finding(s) recorded")
    if s.get("baseline") and (baseline is None or os.path.abspath(s["baseline"]) != os.path.abspath(baseline.path)):
        baseline = read_baseline(s["baseline"])
    if baseline is not None:
        report = apply_baseline(report, baseline, policy)
    for e in report.errors:
        _err(f"{e.input}: {e.message}")
    _write(_render(report, s["fmt"], s.get("output"), s), s.get("output"))
    for fmt, path in s.get("writes") or ():
        _write(_render(report, fmt, path, {**s, "quiet": False}), path)
    if s.get("verbose"):
        _verbose(report)
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_PASS if report.passed else EXIT_FAIL)


def _lock_path(s: dict) -> str:
    """--lockfile / -o, else the configuration's lockfile, else mlaudit.lock beside the configuration file
    (so a run from a subdirectory finds the project's lock), else in the current directory."""
    from audit.lock import DEFAULT_LOCKFILE

    if s.get("lockfile"):
        return s["lockfile"]
    cfg = s.get("config")
    return os.path.join(os.path.dirname(cfg.path), DEFAULT_LOCKFILE) if cfg is not None else DEFAULT_LOCKFILE


def _own_files(root: str, s: dict) -> tuple[str, ...]:
    """What this run writes, as exclude patterns under root: a report names model URLs, and must not be
    scanned as if it were code on the next run."""
    paths = [s.get("output"), s.get("write_baseline"), s.get("baseline"), _lock_path(s)]
    paths += [p for _, p in s.get("writes") or ()]
    out = []
    real_root = os.path.realpath(root)
    for p in paths:
        if not p or p == "-":
            continue
        rel = os.path.relpath(os.path.realpath(p), real_root)
        if not rel.startswith(os.pardir):
            out.append(rel.replace(os.sep, "/"))
    return tuple(out)


# --- commands --------------------------------------------------------------------------------------------

@main.command()
@click.argument("inputs", nargs=-1)
@click.option("--hf-cache", is_flag=True, help="Audit every model in the local Hugging Face cache.")
@_lock_options
@_report_options
@click.pass_context
def check(ctx, inputs, hf_cache, locked, **params):
    """Audit models (paths, Hub repo ids org/name[@revision], or --hf-cache) against a policy.

    With --locked, audit what mlaudit.lock pins instead, reading nothing from the network."""
    from audit.api import audit_loaded, empty_report, load_each

    s = _settings(ctx, params)
    policy = _policy(s)
    if locked:
        from audit.lock import load_locked, read_lock, verify_locked

        if inputs or hf_cache:
            raise click.UsageError("--locked audits what the lockfile pins: give no inputs")
        lock = read_lock(_lock_path(s))
        options = _run_options_for(s, online=False)
        pairs = load_locked(lock, options)
        items = [snap for _, snap in pairs]
        report = audit_loaded(items, policy, options) if items else empty_report(policy, options)
        report = verify_locked(report, lock, pairs, policy, options)
        _finish(report, policy, s)
    cfg = s["config"]
    inputs = inputs or (cfg.get("inputs", ()) if cfg is not None else ())
    if not inputs and not hf_cache:
        raise click.UsageError("give at least one model path or Hub repo id, or --hf-cache")
    options = _run_options_for(s, hf_cache=hf_cache)
    with _progress(len(inputs), s, "reading models") as bar:
        loaded = load_each(list(inputs), options, _tick(bar))
    report = audit_loaded([item for _, item in loaded], policy, options)
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
    from audit.api import reference_specs, run_scan
    from audit.sources.codebase import scan_codebase

    s = _settings(ctx, params)
    policy = _policy(s)
    cfg = s["config"]
    root = path or (cfg.get("scan") if cfg is not None else None) or "."
    exclude = tuple(s.get("exclude") or ()) + _own_files(root, s)
    refs = scan_codebase(root, exclude=exclude)
    if locked:
        from audit.lock import entries_for_references, load_locked, read_lock, verify_locked

        lock = read_lock(_lock_path(s))
        options = _run_options_for(s, online=False)
        entries, missing = entries_for_references(lock, reference_specs(refs))
        pairs = load_locked(lock, options, entries)
        loaded = [(e.input, snap) for e, snap in pairs] + [(err.input, err) for err in missing]
        report = run_scan(root, policy, options, exclude=exclude, references=refs, loaded=loaded)
        _finish(verify_locked(report, lock, pairs, policy, options), policy, s)
    options = _run_options_for(s)
    with _progress(len(reference_specs(refs)), s, "reading models") as bar:
        report = run_scan(root, policy, options, exclude=exclude, references=refs, progress=_tick(bar))
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
    from audit.api import audit_loaded, empty_report, load_each, reference_specs
    from audit.lock import write_lock

    s = _settings(ctx, params)
    policy = _policy(s)
    cfg = s["config"]
    specs = list(inputs)
    if not specs and not scan_path and not hf_cache and cfg is not None:
        specs = list(cfg.get("inputs", ()))
        scan_path = None if specs else cfg.get("scan")
    unresolved = 0
    if scan_path:
        from audit.sources.codebase import scan_codebase

        refs = scan_codebase(scan_path, exclude=tuple(s.get("exclude") or ()) + _own_files(scan_path, s))
        specs += [x for x in reference_specs(refs) if x not in specs]
        unresolved = sum(1 for r in refs if r.model is None)
    if not specs and not hf_cache and not scan_path:
        raise click.UsageError("give model paths or Hub repo ids, --scan PATH, or --hf-cache")
    options = _run_options_for(s, hf_cache=hf_cache)
    with _progress(len(specs), s, "reading models") as bar:
        loaded = load_each(specs, options, _tick(bar))
    items = [item for _, item in loaded]
    report = audit_loaded(items, policy, options) if items else empty_report(policy, options)
    for e in report.errors:
        _err(f"{e.input}: {e.message}")
    if report.errors:
        _err(f"{_lock_path(s)}: not written: {len(report.errors)} input(s) could not be read")
        sys.exit(EXIT_INPUT)
    path = _lock_path(s)
    written = write_lock(path, report, loaded)
    failed = sum(1 for e in written.entries if e.verdict != "pass")
    _note(s, f"locked {len(written.entries)} model(s) in {path}: {len(written.entries) - failed} pass, "
             f"{failed} fail policy '{policy.name}'")
    if unresolved:
        _note(s, f"{unresolved} reference(s) in {scan_path} name no model mlaudit can know, so they are not locked "
                 f"(see `mlaudit scan {scan_path}`)")
    sys.exit(EXIT_PASS)


@main.command()
@click.argument("license_id")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(license_id, fmt):
    """What a license allows, requires and forbids (by key, Hub id, SPDX id or common name)."""
    from audit.licenses.catalog import catalog
    from audit.report.explain import render_license

    cat = catalog()
    key = license_id if license_id in cat else cat.lookup(license_id)
    if key is None:
        _err(f"{license_id}: not a license mlaudit knows (try a Hub id such as llama3.1, apache-2.0, gemma)")
        sys.exit(EXIT_USAGE)
    click.echo(render_license(cat[key], fmt), nl=False)


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
        click.echo(f"{path}: ok - policy '{p.name}', {len(p.rules)} rules, {len(p.waivers)} waivers")
    sys.exit(EXIT_USAGE if bad else EXIT_PASS)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def identify(files, fmt):
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
    click.echo(render_identifications(results, fmt), nl=False)
    sys.exit(EXIT_INPUT if failed else EXIT_PASS)


@main.group()
def registry() -> None:
    """The offline registry of well-known models and datasets."""


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
    click.echo(f"wrote {path}: {len(entries)} entries, {len(failures)} could not be read")
    sys.exit(EXIT_INPUT if failures and not entries else EXIT_PASS)
