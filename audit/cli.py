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


def _fail(exc: Exception) -> "NoReturn":  # type: ignore[name-defined]  # noqa: F821
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


@main.command()
@click.argument("inputs", nargs=-1)
@click.option("--policy", "-p", "policy_path", metavar="FILE", help="Policy YAML (default: the built-in default policy).")
@click.option("--format", "-f", "fmt", type=click.Choice(_format_choices()), default="text", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option("--hf-cache", is_flag=True, help="Audit every model in the local Hugging Face cache.")
@click.option("--cache-dir", metavar="DIR", help="Hugging Face cache directory (default: HF_HUB_CACHE / HF_HOME).")
@click.option("--models-dir", "models_dirs", multiple=True, metavar="DIR",
              help="Local snapshot directories where ancestors (base models) can be found. Repeatable.")
@click.option("--offline", is_flag=True, help="Never contact the Hub (ancestors come from local dirs, cache, registry).")
@click.option("--no-lineage", is_flag=True, help="Do not resolve base models.")
@click.option("--endpoint", metavar="URL", help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co).")
def check(inputs, policy_path, fmt, output, hf_cache, cache_dir, models_dirs, offline, no_lineage, endpoint):
    """Audit models (paths, Hub repo ids org/name[@revision], or --hf-cache) against a policy."""
    from audit.api import Options, audit_loaded, load_inputs
    from audit.errors import AuditError
    from audit.policy.schema import load_policy
    from audit.report import renderer

    if not inputs and not hf_cache:
        raise click.UsageError("give at least one model path or Hub repo id, or --hf-cache")
    try:
        policy = load_policy(policy_path)
    except AuditError as exc:
        _fail(exc)
    offline = offline or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    options = Options(
        hf_cache=hf_cache,
        cache_dir=cache_dir,
        models_dirs=tuple(models_dirs),
        lineage=not no_lineage,
        online=not offline,
        endpoint=endpoint,
    )
    loaded = load_inputs(list(inputs), options)
    report = audit_loaded(loaded, policy, options)
    for e in report.errors:
        _err(f"{e.input}: {e.message}")
    render = renderer(fmt)
    if fmt == "text":
        to_terminal = output in (None, "-")
        text = render(report, color=to_terminal and sys.stdout.isatty(), show_errors=not to_terminal)
    else:
        text = render(report)
    _write(text, output)
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_PASS if report.passed else EXIT_FAIL)


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


# --- identify command ---
