"""Command line: options -> library call -> renderer -> exit code. The only module that prints and exits.

Exit codes: 0 passed; 1 the policy failed (undecidable counts as failed); 2 usage error or invalid
policy/config; 3 an input could not be read.
"""
from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from audit import __version__

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


def _err(message: str) -> None:
    click.echo(f"mlaudit: {message}", err=True)


def _fail(exc: Exception) -> NoReturn:
    from audit.errors import AuditError

    if isinstance(exc, AuditError):
        _err(f"{exc.input}: {exc.message}")
        sys.exit(exc.exit_code)
    raise exc


def _stdout_failed(exc: OSError) -> NoReturn:
    """Standard output was closed (a pipe whose reader left) or is full: one line, exit code 2, and no
    second complaint from the interpreter when it flushes stdout at exit."""
    import errno

    why = "no space left" if exc.errno == errno.ENOSPC else "closed" if isinstance(exc, BrokenPipeError) else (
        exc.strerror or str(exc))
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    _err(f"standard output: cannot write the report ({why})")
    sys.exit(EXIT_USAGE)


def _echo(text: str) -> None:
    try:
        click.echo(text, nl=False)
        sys.stdout.flush()
    except OSError as exc:
        _stdout_failed(exc)


def _write(text: str, output: str | None, protected: frozenset[str] = frozenset()) -> None:
    if output in (None, "-"):
        _echo(text)
        return
    if os.path.realpath(output) in protected:
        _err(f"{output}: not written: it is an input of this run (a report never overwrites what it audits)")
        sys.exit(EXIT_USAGE)
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
    from audit.api import load_policy

    return load_policy(s.get("policy_path"), fail_on=s.get("fail_on"))


def _run_options_for(s: dict, hf_cache: bool = False):
    from audit.api import Options

    return Options(
        hf_cache=hf_cache,
        cache_dir=s.get("cache_dir"),
        models_dirs=tuple(s.get("models_dirs") or ()),
        lineage=not s.get("no_lineage"),
        offline=bool(s["offline"]),
        endpoint=s.get("endpoint"),
    )


class _ProgressBar:
    """A progress bar on standard error, only on a terminal and only for runs over PROGRESS_MIN_MODELS inputs."""

    def __init__(self, s: dict, label: str):
        self.enabled = not s.get("quiet") and sys.stderr.isatty()
        self.label = label
        self.bar = None

    def start(self, total: int) -> None:
        if self.enabled and total > PROGRESS_MIN_MODELS:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, spec: str) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


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


def _finish(report, policy, s: dict) -> NoReturn:
    """Baseline, errors, the report(s), the exit code: the same for check and scan."""
    from audit.api import apply_baseline, record_baseline

    protected = _inputs_of(report, s)
    targets = [p for p in (s.get("output"), s.get("write_baseline"), *(p for _, p in s.get("writes") or ())) if p]
    for target in targets:
        if target != "-" and os.path.realpath(target) in protected:
            _err(f"{target}: not written: it is an input of this run (a report never overwrites what it audits)")
            sys.exit(EXIT_USAGE)
    baseline = None
    if s.get("write_baseline"):
        baseline = record_baseline(report, s["write_baseline"])
        _note(s, f"wrote {s['write_baseline']}: {sum(baseline.counts.values())} finding(s) recorded")
    if s.get("baseline") and (baseline is None or os.path.abspath(s["baseline"]) != os.path.abspath(baseline.path)):
        baseline = s["baseline"]
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


def _inputs_of(report, s: dict) -> frozenset[str]:
    """Real paths this run read: the files of every local model audited, the policy, the configuration, the
    baseline and the lockfile. No output may replace one of them."""
    paths = [s.get("policy_path"), s.get("baseline")]
    cfg = s.get("config")
    if cfg is not None:
        paths.append(cfg.path)
    if report.lock is not None:
        paths.append(report.lock.path)
    for m in report.models:
        if m.origin.source == "card":
            paths.append(m.origin.locator)
        elif m.origin.source == "local":
            paths += [os.path.join(m.origin.locator, d.origin.file) for d in m.license.declarations if d.origin.file]
            if m.card is not None and m.card.origin.file:
                paths.append(os.path.join(m.origin.locator, m.card.origin.file))
    return frozenset(os.path.realpath(p) for p in paths if p)


def _lock_path(s: dict) -> str:
    """--lockfile / -o, else the configuration's lockfile, else mlaudit.lock beside the configuration file
    (so a run from a subdirectory finds the project's lock), else in the current directory."""
    from audit.postprocess.lock import DEFAULT_LOCKFILE

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
    _echo(render_license(cat[key], fmt))


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
    _echo(render_identifications(results, fmt))
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
    from audit.registry import update_user_registry
    from audit.sources.hub import HubClient

    try:
        path, entries, failures = update_user_registry(HubClient(endpoint=endpoint), ids or None, directory)
    except AuditError as exc:
        _fail(exc)
    for line in failures:
        _err(line)
    _echo(f"wrote {path}: {len(entries)} entries, {len(failures)} could not be read\n")
    sys.exit(EXIT_INPUT if failures and not entries else EXIT_PASS)
